/* The duty manager's live display.
 *
 * One source of truth: the hub's display object. It arrives as `event: display` on the
 * server-sent event stream /api/stream whenever it changes. While the stream is down the page
 * says so ("Connection lost — reconnecting…"), keeps reconnecting, and polls /api/display every
 * 5 s meanwhile. Each section is redrawn only when its own data changed, so screen readers
 * announce changes, not every event. Everything the hub sends is written as text, never as HTML.
 * The display names members by role and number within their group ("Adult 1"), never by band.
 *
 * Words: every word the page shows goes through `_("English", {name: value})` (or `_both`, Chinese
 * with the English beside it, for headings); the hub serves the page with its string table in
 * `<script id="words">` for the page's language (`<html lang>`: `?lang=`, the browser's language,
 * else the hub's `[hub] language`), and asks the hub's API in that language. A new word needs
 * its Chinese in gate/i18n/locale/zh_CN/LC_MESSAGES/display.po (tests/test_i18n.py finds it).
 *
 * The page says "Live" only while the hub's figures are live (`headcount.live`: the hub is on
 * its broker and hears its gates). Otherwise the figures are greyed with their age ("Figures
 * 3 min old"), the badge says "Not live", and an empty alert list is never "All clear".
 *
 * For tests and operators: `window.__loads` counts page loads in this tab (1 unless the page was
 * reloaded), `window.__updates` the display objects drawn, `document.body.dataset.link` is
 * "connecting", "live", "polling" (stream down, poll answering) or "lost" (neither answers): the
 * page's own stream to the hub; `document.body.dataset.figures` is "live" or "stale": the hub's.
 */
(() => {
  "use strict";

  const LANG = document.documentElement.lang || "en";
  const WORDS = readWords();
  const STREAM_URL = `/api/stream?lang=${encodeURIComponent(LANG)}`;
  const DISPLAY_URL = `/api/display?lang=${encodeURIComponent(LANG)}`;
  const POLL_MS = 5000;
  const TICK_MS = 1000;
  const QUIET_MS = 45000; // nothing on an open stream for this long: open it again
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 15000;
  const LOADS_KEY = "wristgate.display.loads";
  const CAPACITY_WARNING = 0.9;
  const SKEW_WARNING_S = 2;
  const BACKLOG_WARNING = 10;

  window.__loads = countLoad();
  window.__updates = 0;

  let display = null;
  let receivedAt = 0; // our clock when the last display object arrived
  let clockOffsetMs = 0; // the hub's clock minus ours
  let source = null;
  let streamOpen = false;
  let lastStreamAt = 0;
  let retryMs = RETRY_MIN_MS;
  let retryTimer = 0;
  let pollTimer = 0;
  let pollOk = null; // null: not polled since the stream dropped
  let timeZone = "UTC";
  const drawn = {}; // section name -> the JSON it was last drawn from

  const $ = (id) => document.getElementById(id);

  // --- words -------------------------------------------------------------------------------

  function readWords() {
    try {
      const table = JSON.parse(document.getElementById("words").textContent);
      return table && typeof table === "object" ? table : {};
    } catch (err) {
      return {}; // served without a table (a file opened as it is): English
    }
  }

  /** `english` in the page's language, its {placeholders} filled from `values`. */
  function _(english, values) {
    const text = typeof WORDS[english] === "string" && WORDS[english] ? WORDS[english] : english;
    return fill(text, values);
  }

  /** Chinese with the English beside it ("在馆人数 Inside now"); English alone in English. */
  function _both(english, values) {
    const local = _(english, values);
    const original = fill(english, values);
    return local === original ? original : `${local} ${original}`;
  }

  /** Marks a word to translate where it is shown, not where it is written. */
  function N_(english) {
    return english;
  }

  function fill(text, values) {
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
  }

  function countLoad() {
    try {
      const n = Number(sessionStorage.getItem(LOADS_KEY) || 0) + 1;
      sessionStorage.setItem(LOADS_KEY, String(n));
      return n;
    } catch (err) {
      return 1;
    }
  }

  // --- connection --------------------------------------------------------------------------

  function openStream() {
    clearTimeout(retryTimer);
    if (source) source.close();
    const es = new EventSource(STREAM_URL);
    source = es;
    es.onopen = () => {
      if (source !== es) return;
      streamOpen = true;
      lastStreamAt = Date.now();
      retryMs = RETRY_MIN_MS;
      stopPolling();
      showLink();
    };
    es.addEventListener("display", (event) => {
      if (source !== es) return;
      lastStreamAt = Date.now();
      if (!streamOpen) {
        streamOpen = true;
        stopPolling();
      }
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      accept(data);
    });
    es.onerror = () => {
      if (source !== es) return;
      streamOpen = false;
      if (es.readyState === EventSource.CLOSED) {
        // the browser gave up on this stream (an error status, say): try again ourselves
        es.close();
        source = null;
        retryTimer = setTimeout(openStream, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
      startPolling();
      showLink();
    };
  }

  function startPolling() {
    if (pollTimer) return;
    pollOk = null;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
    pollOk = null;
  }

  async function poll() {
    try {
      const reply = await fetch(DISPLAY_URL, { cache: "no-store" });
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      const data = await reply.json();
      pollOk = true;
      if (!streamOpen) accept(data);
      if (!source) openStream(); // the hub answers again: no need to wait for the back-off
    } catch (err) {
      pollOk = false;
    }
    showLink();
  }

  function linkState() {
    if (streamOpen) return "live";
    if (!pollTimer) return "connecting"; // the stream has not failed yet
    return pollOk === false ? "lost" : "polling";
  }

  /** The hub's figures are live: the hub is on its broker and hears its gates. */
  function figuresLive() {
    return Boolean(display && display.headcount && display.headcount.live === true);
  }

  function showLink() {
    const state = linkState();
    document.body.dataset.link = state;
    const pill = $("link");
    const shown = state === "live" && !figuresLive() ? "stale" : state;
    pill.className = `link link-${shown}`;
    const words = {
      live: _("Live"),
      stale: _("Not live"),
      polling: _("Reconnecting…"),
      lost: _("Offline — reconnecting…"),
      connecting: _("Connecting…"),
    };
    setText($("link-text"), words[shown]);

    const banner = $("connection-lost");
    const down = state === "polling" || state === "lost";
    banner.hidden = !down;
    banner.classList.toggle("banner-offline", state === "lost");
    const last = display ? clockTime(receivedAt + clockOffsetMs) : null;
    let detail = "";
    if (state === "polling") {
      detail = _("The live stream dropped; figures refresh every {s} s meanwhile.", {
        s: POLL_MS / 1000,
      });
    } else if (state === "lost") {
      detail = last
        ? _("The hub does not answer. Figures below are from {time} and may be out of date.", {
            time: last,
          })
        : _("The hub does not answer.");
    }
    setText($("connection-detail"), detail);
    $("main").classList.toggle("stale", state === "lost");
  }

  // --- data in -----------------------------------------------------------------------------

  function accept(data) {
    if (!data || typeof data !== "object" || !data.headcount) return;
    display = data;
    receivedAt = Date.now();
    const hubNow = parseTime(data.venue && data.venue.now);
    if (hubNow !== null) clockOffsetMs = hubNow - receivedAt;
    draw(data);
    window.__updates += 1;
    $("main").setAttribute("aria-busy", "false");
    showLink();
  }

  function draw(data) {
    const venue = data.venue || {};
    timeZone = validZone(venue.timezone) || "UTC";
    section("venue", venue, drawVenue);
    section("headcount", data.headcount, drawNumbers);
    section("unaccompanied", data.unaccompanied || [], drawUnaccompanied);
    section("sweep", data.sweep || null, drawSweep);
    section("announcements", data.announcements || [], drawAnnouncements);
    const live = data.headcount.live === true;
    section("alerts", { alerts: data.alerts || [], live }, drawAlerts);
    section("gates", { gates: data.gates || {}, live }, drawGates);
    document.title = _("{n} inside · {venue}", {
      n: num(data.headcount.inside),
      venue: venue.name || _("Venue headcount"),
    });
    showFigures(data.headcount);
    const asOf = parseTime(data.headcount.as_of);
    setText($("as-of"), asOf === null ? "–" : clockTime(asOf));
    $("updated").dataset.since = String(receivedAt + clockOffsetMs);
    tick();
  }

  function section(name, value, drawFn) {
    const json = JSON.stringify(value, (key, v) => (key === "now" ? undefined : v));
    if (drawn[name] === json) return;
    drawn[name] = json;
    drawFn(value);
  }

  /** Greyed figures with their age while the hub's figures are not live. */
  function showFigures(h) {
    const live = h.live === true;
    document.body.dataset.figures = live ? "live" : "stale";
    $("numbers").classList.toggle("not-live", !live);
    const banner = $("figures-stale");
    banner.hidden = live;
    const age = $("figures-age");
    const since = parseTime(h.stale_since) ?? parseTime(h.as_of);
    if (live || since === null) {
      delete age.dataset.since;
      setText(age, live ? "" : _("Figures of unknown age"));
      setText($("figures-detail"), "");
      return;
    }
    age.dataset.since = String(since);
    age.dataset.template = _("Figures {age} old");
    setText(
      $("figures-detail"),
      _("The hub has heard no gate since {time}: these figures may be wrong. See the alerts.", {
        time: clockTime(since, false),
      }),
    );
  }

  // --- the sections ------------------------------------------------------------------------

  function drawVenue(venue) {
    setText($("venue-name"), venue.name || _("Venue headcount"));
    setText($("venue-tz"), _("venue time, {zone}", { zone: timeZone }));
  }

  function drawNumbers(h) {
    setText($("inside"), num(h.inside));
    setText($("adults"), num(h.adults));
    setText($("children"), num(h.children));
    const groups = Number(h.groups_inside) || 0;
    setText(
      $("groups-inside"),
      groups === 1 ? _("1 group inside") : _("{n} groups inside", { n: groups }),
    );
    const alone = Number(h.unaccompanied_children) || 0;
    const note = $("unaccompanied-count");
    setText(note, alone ? _("{n} with no adult of theirs", { n: alone }) : "");
    note.classList.toggle("bad", alone > 0);

    const tile = $("capacity-tile");
    const bar = $("capacity-bar");
    const capacity = Number(h.capacity) || 0;
    const inside = Number(h.inside) || 0;
    tile.classList.remove("level-ok", "level-warn", "level-full", "level-none");
    if (!capacity) {
      tile.classList.add("level-none");
      setText($("capacity-percent"), "–");
      setText($("capacity-note"), _("No capacity limit set"));
      bar.setAttribute("aria-valuenow", "0");
      bar.setAttribute("aria-valuetext", _("No capacity limit set"));
      $("capacity-fill").style.width = "0";
      return;
    }
    const percent = Math.floor((100 * inside) / capacity);
    const level =
      inside >= capacity ? "full" : inside >= CAPACITY_WARNING * capacity ? "warn" : "ok";
    tile.classList.add(`level-${level}`);
    setText($("capacity-percent"), `${percent}%`);
    const left = capacity - inside;
    const n = { inside, capacity, left };
    const words = {
      ok: _("{inside} of {capacity} · {left} places left", n),
      warn: _("Nearly full: {inside} of {capacity} · {left} left", n),
      full:
        left < 0
          ? _("Over capacity: {n} too many", { n: -left })
          : _("Full: {inside} of {capacity}", n),
    };
    setText($("capacity-note"), words[level]);
    bar.setAttribute("aria-valuenow", String(Math.min(percent, 100)));
    bar.setAttribute("aria-valuetext", _("{percent}%, {inside} of {capacity} places", { percent, ...n }));
    $("capacity-fill").style.width = `${Math.min(percent, 100)}%`;
  }

  function drawUnaccompanied(groups) {
    const panel = $("unaccompanied");
    const list = $("unaccompanied-list");
    panel.hidden = groups.length === 0;
    list.replaceChildren(
      ...groups.map((g) => {
        const children = g.children || g.children_inside || [];
        const adults = g.adults || [];
        const card = el("article", { class: "group", "data-group": g.group });
        card.append(el("h3", {}, _("Group {group}", { group: g.group })));
        const dl = el("dl");
        dl.append(
          el(
            "dt",
            {},
            children.length === 1
              ? _("Child inside")
              : _("{n} children", { n: children.length }),
          ),
          el("dd", {}, memberList(children, childWords)),
          el("dt", {}, adults.length === 1 ? _("Their adult") : _("Their adults")),
          el("dd", {}, adults.length ? memberList(adults, adultWords) : _("none bound")),
        );
        card.append(dl);
        return card;
      }),
    );
  }

  const STATES = {
    inside: N_("inside"),
    temp_out: N_("temporarily out"),
    exited: N_("left the venue"),
    bound: N_("not come in yet"),
  };

  function childWords(c) {
    const solo = c.role === "solo_child" ? _(" (came alone)") : "";
    const place = where(c);
    const at = place ? _(" — in at {place}", { place }) : "";
    return solo + at;
  }

  function adultWords(a) {
    const place = where(a);
    const state = STATES[a.state] ? _(STATES[a.state]) : a.state || _("unknown");
    const last = place ? _(", last at {place}", { place }) : "";
    return " — " + state + last;
  }

  /** "X1, 10:05:01" from a member's last gate and time (either may be missing). */
  function where(m) {
    const at = parseTime(m.last_at);
    return [m.last_gate, at === null ? null : clockTime(at)].filter(Boolean).join(", ");
  }

  function memberList(members, words) {
    const ul = el("ul");
    for (const m of members) {
      const li = el("li");
      li.append(el("span", { class: "member" }, memberName(m.member || m.role || "?")), document.createTextNode(words(m)));
      ul.append(li);
    }
    return ul;
  }

  function drawSweep(sweep) {
    const panel = $("sweep");
    panel.hidden = !sweep;
    $("main").classList.toggle("has-sweep", Boolean(sweep));
    if (!sweep) return;
    const children = sweep.children || [];
    const closes = parseTime(sweep.closes_at);
    const minutes = Number(sweep.minutes_left);
    const count =
      children.length === 0
        ? _("no children inside")
        : children.length === 1
          ? _("1 child still inside")
          : _("{n} children still inside", { n: children.length });
    const when =
      closes === null ? _("Closing soon") : _("Closes at {time}", { time: clockTime(closes, false) });
    const closed = sweep.phase === "after";
    panel.classList.toggle("sweep-critical", sweep.level === "critical");
    setText(
      $("sweep-summary"),
      closed
        ? _("Closed at {time} — {n} min ago · {count}", {
            time: closes === null ? "–" : clockTime(closes, false),
            n: Number(sweep.minutes_past),
            count,
          })
        : _("{when} — {n} min left · {count}", { when, n: minutes, count }),
    );
    const flagged = (c) => Boolean(c.unaccompanied ?? c.children_unaccompanied);
    const solo = (c) => c.role === "solo_child";
    const alone = (c) => flagged(c) || (!solo(c) && !c.adult_inside);
    // flagged or otherwise alone first, then children who came alone, then the rest
    const rank = (c) => (flagged(c) ? 0 : alone(c) ? 1 : solo(c) ? 2 : 3);
    const rows = [...children].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        String(a.group).localeCompare(String(b.group)) ||
        String(a.member).localeCompare(String(b.member), "en", { numeric: true }),
    );
    $("sweep-rows").replaceChildren(
      ...rows.map((c) => {
        const adult = flagged(c)
          ? _("No — unaccompanied")
          : c.adult_inside
            ? _("Yes")
            : solo(c)
              ? _("Came alone: guardian pickup")
              : _("No adult inside");
        const tr = el("tr", { class: alone(c) ? "alone" : "" });
        tr.append(
          el("td", {}, c.group || "–"),
          el("td", {}, memberName(c.member || "?")),
          el("td", {}, c.role === "solo_child" ? _("came alone") : _("child")),
          el("td", {}, adult),
        );
        return tr;
      }),
    );
  }

  // The broadcast room's prompts (闭园温馨提示): the hub words them in every language.
  function drawAnnouncements(said) {
    $("announcements").hidden = !said.length;
    $("announcements-list").replaceChildren(
      ...said.map((a) => {
        const text = (a.text && (a.text[LANG] || a.text.en)) || "";
        return el("li", { class: `announcement announcement-${a.level === "critical" ? "critical" : "info"}` }, text);
      }),
    );
  }

  const LEVELS = { critical: 0, warning: 1, info: 2 };
  const LEVEL_WORDS = { critical: N_("critical"), warning: N_("warning"), info: N_("info") };

  function drawAlerts({ alerts, live }) {
    const list = $("alerts-list");
    if (!alerts.length) {
      list.replaceChildren(
        live
          ? el("li", { class: "alert alert-none" }, _("All clear: no alerts"))
          : el("li", { class: "alert alert-unknown" }, _("No alerts, but the figures are not live")),
      );
      return;
    }
    const sorted = [...alerts].sort((a, b) => (LEVELS[a.level] ?? 3) - (LEVELS[b.level] ?? 3));
    list.replaceChildren(
      ...sorted.map((a) => {
        const level = a.level in LEVELS ? a.level : "info";
        const li = el("li", { class: `alert alert-${level}`, "data-kind": a.kind || "" });
        li.append(el("span", { class: "alert-level" }, _(LEVEL_WORDS[level])), el("span", { class: "alert-text" }, a.text || a.kind || ""));
        return li;
      }),
    );
  }

  const READER = {
    searching: [N_("Ready"), ""],
    connected: [N_("Reading a band"), ""],
    stopped: [N_("Stopped"), "warn"],
    absent: [N_("Not found — retrying"), "bad"],
    failed: [N_("Failed — retrying"), "bad"],
  };

  function drawGates({ gates, live }) {
    const ids = Object.keys(gates).sort();
    const list = $("gates-list");
    if (!ids.length) {
      list.replaceChildren(el("li", { class: "empty" }, _("No gate has reported yet")));
      return;
    }
    const hubNow = receivedAt + clockOffsetMs;
    list.replaceChildren(
      ...ids.map((id) => {
        const g = gates[id] || {};
        // while the hub hears nothing, a gate it last knew online is unheard, not online
        const health = !g.online ? "offline" : live ? "online" : "unheard";
        const li = el("li", { class: `gate gate-${health}` });
        li.dataset.gate = id;
        const head = el("div", { class: "gate-head" });
        const pillWords = { online: _("Online"), offline: _("Offline"), unheard: _("Not heard") };
        head.append(el("h3", {}, id), el("span", { class: `pill pill-${health}` }, pillWords[health]));
        const dl = el("dl");
        const seen = parseTime(g.last_seen);
        const seenDd = el("dd", { class: g.online ? "" : "bad" }, seen === null ? _("never") : "");
        if (seen !== null) seenDd.dataset.since = String(seen);
        const backlog = Number(g.backlog) || 0;
        const version = g.allowlist_version;
        const stale = g.stale_allowlist === true;
        const age = Number(g.allowlist_age_s);
        const listDd = el("dd", { class: stale ? "warn" : "" }, version == null ? _("none yet") : `v${version}`);
        if (version != null && stale && Number.isFinite(age)) {
          const span = el("span");
          span.dataset.since = String(hubNow - age * 1000);
          span.dataset.template = _(", out of date for {age}");
          listDd.append(span);
        } else if (version != null && Number.isFinite(age) && age > 0) {
          const span = el("span");
          span.dataset.since = String(hubNow - age * 1000);
          span.dataset.template = _(", {age} old");
          listDd.append(span);
        } else if (version != null && !stale) {
          listDd.append(document.createTextNode(_(" (current)")));
        }
        const [readerWords, readerLevel] = READER[g.reader]
          ? [_(READER[g.reader][0]), READER[g.reader][1]]
          : [g.reader || _("unknown"), g.reader ? "" : "warn"];
        const skew = g.clock_skew_s;
        const skewBad = typeof skew === "number" && Math.abs(skew) > SKEW_WARNING_S;
        dl.append(
          el("dt", {}, _("Last seen")),
          seenDd,
          el("dt", {}, _("Backlog")),
          backlogDd(g, health, backlog),
          el("dt", {}, _("Allowlist")),
          listDd,
          el("dt", {}, _("Reader")),
          el("dd", { class: readerLevel }, readerWords),
          el("dt", {}, _("Clock")),
          el("dd", { class: skewBad ? "warn" : "" }, typeof skew === "number" ? skewWords(skew) : "–"),
        );
        li.append(head, dl);
        return li;
      }),
    );
  }

  /** Online: what waits now. Otherwise the last known backlog and when it was known: the gate
   * journals on meanwhile, so there may be more. */
  function backlogDd(g, health, backlog) {
    const warn = backlog >= BACKLOG_WARNING ? "warn" : "";
    if (health === "online") return el("dd", { class: warn }, backlog ? _("{n} waiting", { n: backlog }) : "0");
    const at = parseTime(g.status_at) ?? parseTime(g.last_seen);
    const known =
      at === null
        ? _("last known: {n}", { n: backlog })
        : _("last known: {n} at {time}", { n: backlog, time: clockTime(at, false) });
    return el("dd", { class: warn, "data-backlog": "last-known" }, known);
  }

  function skewWords(s) {
    if (Math.abs(s) < 0.5) return _("in step");
    const amount =
      Math.abs(s) < 60 ? _("{s} s", { s: Math.abs(s).toFixed(1) }) : ago(Math.abs(s) * 1000);
    return s > 0 ? _("{amount} ahead", { amount }) : _("{amount} behind", { amount });
  }

  // --- time --------------------------------------------------------------------------------

  function tick() {
    const now = Date.now() + clockOffsetMs;
    setText($("clock"), clockTime(now));
    for (const node of document.querySelectorAll("[data-since]")) {
      const since = Number(node.dataset.since);
      const template = node.dataset.template || _("{age} ago");
      setText(node, fill(template, { age: ago(Math.max(0, now - since)) }));
    }
  }

  function ago(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60) return _("{s} s", { s });
    const m = Math.floor(s / 60);
    if (m < 60) return _("{m} min", { m });
    const h = Math.floor(m / 60);
    return _("{h} h {m} min", { h, m: m % 60 });
  }

  const formats = {};

  function clockTime(ms, seconds = true) {
    const key = `${timeZone}|${seconds}`;
    if (!formats[key]) {
      formats[key] = new Intl.DateTimeFormat("en-GB", {
        timeZone,
        hour: "2-digit",
        minute: "2-digit",
        second: seconds ? "2-digit" : undefined,
        hourCycle: "h23",
      });
    }
    return formats[key].format(new Date(ms));
  }

  function validZone(zone) {
    if (!zone) return null;
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone });
      return zone;
    } catch (err) {
      return null;
    }
  }

  /** Milliseconds since the epoch of an ISO-8601 time (a space for the T, any fraction), or null. */
  function parseTime(text) {
    if (typeof text !== "string" || !text) return null;
    const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(
      text.trim(),
    );
    const iso = m ? `${m[1]}T${m[2]}.${(m[3] || "0").slice(0, 3).padEnd(3, "0")}${m[4] || "Z"}` : text;
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? null : ms;
  }

  // --- DOM helpers -------------------------------------------------------------------------

  function el(tag, attrs = {}, content) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value !== "" && value != null) node.setAttribute(name, value);
    }
    if (content instanceof Node) node.append(content);
    else if (content != null) node.textContent = String(content);
    return node;
  }

  /** "Child 2" from the hub's "child 2", "Adult 1" from "adult 1", in the page's language. */
  function memberName(text) {
    const m = /^(adult|child) (\d+)$/.exec(String(text));
    if (!m) return String(text);
    return m[1] === "adult" ? _("Adult {n}", { n: m[2] }) : _("Child {n}", { n: m[2] });
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function num(value) {
    const n = Number(value);
    return Number.isFinite(n) ? n.toLocaleString("en-GB") : "–";
  }

  // --- start -------------------------------------------------------------------------------

  function watch() {
    tick();
    if (streamOpen && Date.now() - lastStreamAt > QUIET_MS) {
      openStream(); // a stream that went silent without an error: a proxy or a dead peer
    }
  }

  async function firstLook() {
    try {
      const reply = await fetch(DISPLAY_URL, { cache: "no-store" });
      if (reply.ok && !display) accept(await reply.json());
    } catch (err) {
      // the stream's error handler takes it from here
    }
  }

  showLink();
  firstLook(); // the first picture at once, whatever the stream does
  openStream();
  setInterval(watch, TICK_MS);
})();
