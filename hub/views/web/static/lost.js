/* Lost children and separated families on the wall display (家长与孩子走失): while an incident
   is open (`hub incident open`, POST /api/incidents), a red panel shows its family — the group,
   each member by role and number with its state, last gate and time — the family's last gate and
   time, and how long it has been open. Reads the `lost_children` part of /api/display every few
   seconds (hub/views/lost_children.py). Self-contained: the page loads it beside display.js.
   `document.body.dataset.lost` is the number of open incidents, for tests. */
(function () {
  "use strict";

  var EVERY_MS = 3000;
  var STATES = {
    inside: N_("inside"),
    temp_out: N_("temporarily out"),
    exited: N_("left the venue"),
    bound: N_("not come in yet"),
  };
  var KINDS = { lost_child: N_("lost child"), separated_family: N_("separated family") };

  function table() {
    try {
      return JSON.parse(document.getElementById("words").textContent) || {};
    } catch (err) {
      return {}; // a page served without its table: English
    }
  }

  var WORDS = null;

  /** `english` in the page's language, its {placeholders} filled from `values`. */
  function _(english, values) {
    WORDS = WORDS || table();
    var text = typeof WORDS[english] === "string" && WORDS[english] ? WORDS[english] : english;
    return String(text).replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }

  function N_(english) {
    return english;
  }

  function memberName(text) {
    var m = /^(adult|child) (\d+)$/.exec(String(text));
    if (!m) return String(text);
    return m[1] === "adult" ? _("Adult {n}", { n: m[2] }) : _("Child {n}", { n: m[2] });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(i) {
    var box = el("article", "group");
    box.dataset.incident = String(i.id);
    box.dataset.group = i.group;
    box.append(el("h3", "", _("{kind}: group {group}", { kind: _(KINDS[i.kind] || i.kind), group: i.group })));
    box.append(el("p", "lost-since", _("open {minutes} min, since {time}", {
      minutes: i.minutes_open, time: i.opened_time,
    })));
    box.append(el("p", "lost-last", _("last seen at {gate} {time}", {
      gate: i.last_gate || "?", time: i.last_time,
    })));
    var ul = el("ul", "lost-members");
    i.members.forEach(function (m) {
      var state = STATES[m.state] ? _(STATES[m.state]) : m.state;
      var li = el("li");
      li.append(el("span", "member", memberName(m.member)));
      li.append(document.createTextNode(" — " + state + ", " + m.last_gate + " " + m.last_time));
      ul.append(li);
    });
    box.append(ul);
    return box;
  }

  function draw(found) {
    var panel = document.getElementById("lost-children");
    var list = document.getElementById("lost-children-list");
    if (!panel || !list) return;
    list.replaceChildren.apply(list, found.map(card));
    panel.hidden = found.length === 0;
    document.body.dataset.lost = String(found.length);
  }

  function load() {
    var lang = document.documentElement.lang || "en";
    fetch("/api/display?lang=" + encodeURIComponent(lang), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) draw(data.lost_children || []); })
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
