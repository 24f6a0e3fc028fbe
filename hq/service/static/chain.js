// The chain's page: every venue's row from /api/venues, every few seconds, with the token the
// page was opened with (#token=..., kept in this tab's session storage). Its words come from
// the page (data-words), translated by head office as it served it.
"use strict";
(function () {
  const said = JSON.parse(document.body.dataset.words);
  const say = (key, values) =>
    said[key].replace(/\{(\w+)\}/g, (_m, name) => String(values[name]));
  const match = /token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("hq-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem("hq-token");
  const status = document.getElementById("status");
  const body = document.querySelector("#venues tbody");

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function show(venues) {
    body.replaceChildren();
    status.textContent = venues.length ? "" : say("none", {});
    for (const v of venues) {
      const tr = document.createElement("tr");
      tr.dataset.venue = v.venue;
      tr.className = (v.stale ? "stale" : "live") + (v.unaccompanied_children ? " alone" : "");
      const name = cell(tr, v.venue);
      const state = document.createElement("span");
      state.className = "state " + (v.stale ? "stale" : "live");
      state.textContent = say(v.stale ? "stale" : "live", {});
      name.appendChild(state);
      const inside = cell(tr, String(v.inside), "count inside");
      if (v.disagree) {
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = say("hub_says", {
          inside: v.hub.inside, children: v.hub.children, alone: v.hub.unaccompanied_children,
        });
        inside.appendChild(note);
      }
      cell(tr, String(v.children), "count children");
      cell(tr, String(v.unaccompanied_children), "count alone");
      cell(tr, String(v.alerts.count), "alerts");
      cell(tr, v.age_s === null ? say("never", {}) : say("seconds_ago", { n: Math.round(v.age_s) }), "heard");
      const behind = (v.entries_at_hub || 0) - v.entries_at_hq;
      cell(tr, String(v.entries_at_hq) + (behind > 0 ? " (" + say("behind", { n: behind }) + ")" : ""), "entries");
      body.appendChild(tr);
    }
  }

  const FIELDS = ["entries", "exits", "temporary_exits", "reentries", "overrides",
    "unaccompanied_flags", "peak"];
  const sheets = document.querySelector("#sheets tbody");

  function sheetRow(name, sheet, className) {
    const tr = document.createElement("tr");
    tr.dataset.venue = name;
    if (className) tr.className = className;
    cell(tr, name);
    for (const field of FIELDS) cell(tr, String(sheet[field]), "count " + field);
    sheets.appendChild(tr);
  }

  async function showSheets() {
    try {
      const day = new URLSearchParams(location.search).get("day");  // else today, hq's
      const url = "/api/sheets" + (day ? "?day=" + encodeURIComponent(day) : "");
      const answer = await fetch(url, { headers: { Authorization: "Bearer " + token } });
      if (!answer.ok) return;
      const data = await answer.json();
      document.getElementById("day").textContent = data.day;
      sheets.replaceChildren();
      for (const [venue, sheet] of Object.entries(data.venues)) sheetRow(venue, sheet);
      sheetRow(say("chain", {}), data.chain, "total");
    } catch (e) {
      status.textContent = String(e);
    }
    setTimeout(showSheets, 30000);
  }

  async function tick() {
    if (!token) {
      status.textContent = say("no_token", {});
      return;
    }
    try {
      const answer = await fetch("/api/venues", { headers: { Authorization: "Bearer " + token } });
      if (answer.status === 401) {
        status.textContent = say("refused", {});
        return;
      }
      show((await answer.json()).venues);
    } catch (e) {
      status.textContent = String(e);
    }
    setTimeout(tick, 2000);
  }
  tick();
  if (token) showSheets();
})();
