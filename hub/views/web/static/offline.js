/* Offline mode on the wall display (离线模式): while an outage is open — the broker down for the
   hub, or gates cut off from it — a banner says since when and which gates are cut off, and the
   figures are marked provisional (the cut-off gates decide alone; their scans reach the hub when
   they are back). A drill under way is said in the same banner. Reads the `offline` part of
   /api/display every few seconds (hub/views/offline.py). Self-contained: the page loads it
   beside display.js and nothing else depends on it. `document.body.dataset.offline` is
   "provisional", "drill" or "" for tests. */
(function () {
  "use strict";

  var EVERY_MS = 3000;

  /** `english` in the page's language, from the string table the hub served the page with. */
  function _(english) {
    try {
      var table = JSON.parse(document.getElementById("words").textContent) || {};
      return typeof table[english] === "string" && table[english] ? table[english] : english;
    } catch (err) {
      return english; // a page served without its table: English
    }
  }

  function hhmm(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function banner() {
    var found = document.getElementById("offline-mode");
    if (found) return found;
    var box = document.createElement("div");
    box.id = "offline-mode";
    box.className = "banner banner-stale";
    box.setAttribute("role", "alert");
    box.hidden = true;
    var main = document.getElementById("main");
    main.parentNode.insertBefore(box, main);
    return box;
  }

  function note() {
    var found = document.getElementById("inside-provisional");
    if (found) return found;
    var p = document.createElement("p");
    p.id = "inside-provisional";
    p.className = "tile-note";
    p.hidden = true;
    var tile = document.getElementById("inside").parentNode;
    tile.appendChild(p);
    return p;
  }

  function draw(mode) {
    var box = banner(), provisional = note();
    var said = [];
    if (mode.provisional) {
      said.push(_("Offline mode since {time}: gates cut off: {gates}. The headcount is provisional.")
        .replace("{time}", hhmm(mode.since_ms)).replace("{gates}", mode.gates.join(" ") || "?"));
    }
    if (mode.drill) {
      said.push(_("DRILL under way: {kind} at gate {gate}.")
        .replace("{kind}", mode.drill.kind).replace("{gate}", mode.drill.gate));
    }
    box.textContent = said.join(" ");
    box.hidden = !said.length;
    provisional.textContent = mode.provisional ? _("provisional") : "";
    provisional.hidden = !mode.provisional;
    document.body.dataset.offline = mode.provisional ? "provisional" : (mode.drill ? "drill" : "");
  }

  function load() {
    var lang = document.documentElement.lang || "en";
    fetch("/api/display?lang=" + encodeURIComponent(lang), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.offline) draw(data.offline); })
      .catch(function () { /* the hub is out of reach: display.js says so */ });
  }

  function start() {
    load();
    setInterval(load, EVERY_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
