/*
 * The desk's console (/desk/<gate>): a tablet beside the desk's reader.
 *
 * - The desk token: typed once on the tablet (or given as /desk/D1#token=...), kept in this
 *   browser's localStorage and sent as `Authorization: Bearer` with every request; never in
 *   the address, never in a cookie. A 401 asks for it again.
 * - Every 2 s: GET /api/desk/<gate> (the binding in progress, the staff badge tapped at the
 *   desk, the families left short), drawn here.
 * - Each action form posts {"action", "args"} to /api/desk/<gate>/actions; the hub asks the
 *   desk, which decides (a staff badge tapped on its reader authorises it) and journals it;
 *   the outcome is asked for by its request id until it is known. Revoke and restore, and a
 *   lost-child incident opened or closed, are desk actions like the others (journalled at the
 *   desk with the staff badge). Every call names the page's language (?lang=): what the hub
 *   refuses is said in the console's words.
 * - A walk-in child's pickup code: the first answer that says the walk-in was decided holds it
 *   (`pickup`: printed at the desk? sent to the guardian's phone, masked?), shown here once
 *   for the staff who asked and taken away with the next action; the hub forgets it then.
 * - Words: `<script id="words">` (the hub's string table in the page's language), as the
 *   display's (hub/views/web/page.py).
 */
(function () {
  "use strict";

  const TOKEN_KEY = "wristgate.desk.token";
  const EVERY_MS = 2000;
  const OUTCOME_EVERY_MS = 1000;
  const OUTCOME_TRIES = 120;
  const $ = (id) => document.getElementById(id);
  const gate = decodeURIComponent(location.pathname.replace(/^\/desk\//, "").replace(/\/$/, ""));
  let WORDS = {};
  let timer = null;

  // --- words -------------------------------------------------------------------------------

  function readWords() {
    try {
      const table = JSON.parse($("words").textContent);
      return table && typeof table === "object" ? table : {};
    } catch (err) {
      return {};
    }
  }

  function _(english, values) {
    const text = typeof WORDS[english] === "string" && WORDS[english] ? WORDS[english] : english;
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
  }

  function N_(english) {
    return english;
  }

  const ROLES = { adult: N_("adult"), child: N_("child"), solo_child: N_("child alone") };
  const STATES = {
    bound: N_("not come in yet"),
    inside: N_("inside"),
    temp_out: N_("temporarily out"),
    exited: N_("left the venue"),
  };
  const ASKED = {
    pending: N_("Asked the desk: {action}…"),
    unanswered: N_("{action}: the desk did not answer: {reason}"),
    refused: N_("{action} not done: {reason}"),
    done: N_("{action}: done"),
  };

  // --- the token -----------------------------------------------------------------------------

  function token() {
    try {
      return localStorage.getItem(TOKEN_KEY) || "";
    } catch (err) {
      return "";
    }
  }

  function keepToken(value) {
    try {
      localStorage.setItem(TOKEN_KEY, value);
    } catch (err) {
      /* a private window: asked again next time */
    }
  }

  function askToken(why) {
    $("console").hidden = true;
    $("token-box").hidden = false;
    const error = $("token-error");
    error.hidden = !why;
    error.textContent = why || "";
  }

  async function api(path, options) {
    const headers = Object.assign({ Authorization: `Bearer ${token()}` }, (options || {}).headers);
    // the page's language, so that what the hub refuses is said in the console's words
    const lang = document.documentElement.lang || "";
    const spoken = lang ? `${path}${path.includes("?") ? "&" : "?"}lang=${encodeURIComponent(lang)}` : path;
    const answer = await fetch(spoken, Object.assign({}, options, { headers, cache: "no-store" }));
    let body = null;
    try {
      body = await answer.json();
    } catch (err) {
      body = { error: `${answer.status}` };
    }
    return { status: answer.status, body };
  }

  // --- drawing -------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  function missingText(m) {
    const parts = [];
    if (m.adults) parts.push(_("{n} adult(s)", { n: m.adults }));
    if (m.children) parts.push(_("{n} child(ren)", { n: m.children }));
    return parts.join(_(", "));
  }

  function draw(view) {
    $("desk-gate").textContent = view.gate;
    const link = $("desk-link");
    link.textContent = view.online === false ? _("The desk is offline") : _("The desk is online");
    link.className = view.online === false ? "link link-off" : "link link-on";

    const staff = view.staff || {};
    const left = staff.until ? Math.max(0, Math.round((staff.until - Date.now()) / 1000)) : null;
    $("staff-text").textContent = staff.ready
      ? _("Staff badge tapped: actions are authorised ({s} s left)", { s: left === null ? "?" : left })
      : _("Tap a staff badge on this desk's reader first");
    $("staff").className = staff.ready ? "card staff staff-ready" : "card staff";

    const b = view.binding;
    $("binding-none").hidden = !!b;
    $("binding").hidden = !b;
    if (b) {
      $("binding-ticket").textContent = b.ticket;
      $("binding-product").textContent = b.solo ? _("child alone") : b.product || "";
      $("slots-adults").textContent = `${b.adults.bound}/${b.adults.of}`;
      $("slots-children").textContent = `${b.children.bound}/${b.children.of}`;
      const who = missingText(b.missing);
      $("binding-missing").textContent = who
        ? _("Still to bind: {who}", { who })
        : _("Every band of this ticket is bound");
      $("binding-missing").className = who ? "missing" : "missing complete";
      $("binding-members").replaceChildren(
        ...b.members.map((m) =>
          el("li", {}, `${_(ROLES[m.role] || m.role)} · ${m.uid} · ${_(STATES[m.state] || m.state)}`)
        )
      );
    }

    const short = view.incomplete || [];
    $("short-none").hidden = short.length > 0;
    $("short-list").replaceChildren(
      ...short.map((m) =>
        el(
          "li",
          { class: m.here ? "here" : "" },
          el("strong", {}, m.group),
          " ",
          _("incomplete: {who} not bound", { who: missingText(m) })
        )
      )
    );
  }

  async function refresh() {
    if (!token()) {
      askToken("");
      return;
    }
    try {
      const { status, body } = await api(`/api/desk/${encodeURIComponent(gate)}`);
      if (status === 401) {
        askToken(_("The hub did not take this token: type it again"));
        return;
      }
      if (status !== 200) {
        $("desk-link").textContent = body.error || String(status);
        $("desk-link").className = "link link-off";
        return;
      }
      $("token-box").hidden = true;
      $("console").hidden = false;
      draw(body);
    } catch (err) {
      $("desk-link").textContent = _("The hub cannot be reached; trying again");
      $("desk-link").className = "link link-off";
    }
  }

  // --- actions -------------------------------------------------------------------------------

  function say(text, kind) {
    const out = $("outcome");
    out.hidden = false;
    out.textContent = text;
    out.className = `outcome outcome-${kind}`;
  }

  function handOver(pickup) {
    const out = $("pickup");
    out.textContent = "";
    out.hidden = !pickup;
    if (!pickup) return;
    if (pickup.shown) {
      out.textContent = _("The pickup code was shown once already: see the desk's receipt");
      return;
    }
    const where = [];
    if (pickup.printed) where.push(_("printed at the desk"));
    if (pickup.sent) where.push(_("sent to {phone}", { phone: pickup.to }));
    if (!where.length) where.push(_("not printed, not sent: write it down for the guardian"));
    out.textContent = _("Pickup code {code} for {group} ({where}): give it to the guardian", {
      code: pickup.code,
      group: pickup.group,
      where: where.join("; "),
    });
  }

  function argsOf(form) {
    const args = {};
    for (const field of form.querySelectorAll("input, textarea, select")) {
      const value = field.value.trim();
      if (!value) continue;
      args[field.name] =
        field.tagName === "TEXTAREA" ? value.split(/\n+/).map((v) => v.trim()).filter(Boolean) : value;
    }
    return args;
  }

  async function follow(request, action) {
    for (let i = 0; i < OUTCOME_TRIES; i += 1) {
      await new Promise((r) => setTimeout(r, OUTCOME_EVERY_MS));
      const { status, body } = await api(
        `/api/desk/${encodeURIComponent(gate)}/requests/${encodeURIComponent(request)}`
      );
      if (status !== 200) {
        say(_(ASKED.refused, { action, reason: body.error || status }), "refused");
        return;
      }
      if (body.state === "decided") {
        const code = body.label && body.label !== body.code ? `${body.label} (${body.code})` : body.code;
        say(`${action}: ${code}: ${body.message}`, body.granted ? "granted" : "denied");
        handOver(body.pickup);
        refresh();
        return;
      }
      if (body.state === "refused" || body.state === "unanswered") {
        say(_(ASKED[body.state], { action, reason: body.reason }), "refused");
        return;
      }
    }
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    const action = form.dataset.action;
    const args = argsOf(form);
    const shown = form.querySelector("h3").textContent;
    const path = `/api/desk/${encodeURIComponent(gate)}/actions`;
    const body = { action, args };
    say(_(ASKED.pending, { action: shown }), "pending");
    handOver(null);
    try {
      const answer = await api(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (answer.status === 401) {
        askToken(_("The hub did not take this token: type it again"));
        return;
      }
      if (answer.status >= 300) {
        say(_(ASKED.refused, { action: shown, reason: answer.body.error || answer.status }), "refused");
        return;
      }
      if (answer.body.request) {
        follow(answer.body.request, shown);
      } else {
        say(_(ASKED.done, { action: shown }), "granted");
      }
    } catch (err) {
      say(_("The hub cannot be reached; trying again"), "refused");
    }
  }

  // --- start ---------------------------------------------------------------------------------

  function start() {
    WORDS = readWords();
    const given = /(?:^|&)token=([^&]+)/.exec(location.hash.replace(/^#/, ""));
    if (given) {
      keepToken(decodeURIComponent(given[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      keepToken($("token-input").value.trim());
      $("token-input").value = "";
      refresh();
    });
    for (const form of document.querySelectorAll("form.action")) {
      form.addEventListener("submit", submit);
    }
    refresh();
    timer = setInterval(refresh, EVERY_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("pagehide", () => timer && clearInterval(timer));
})();
