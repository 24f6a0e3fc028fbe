/* Today's headcount curve on the wall display: who was inside, hour by hour, as a small inline
   SVG line under the figures. Reads /api/headcount/today (counts only) once a minute; draws
   nothing until the day has a point, and keeps the last curve when the hub cannot be reached.
   Self-contained: the page loads it beside display.js and nothing else depends on it. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var W = 600, H = 120, LEFT = 36, RIGHT = 8, TOP = 8, BOTTOM = 20;
  var EVERY_MS = 60000;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }

  /** `english` in the page's language, from the string table the hub served the page with. */
  function _(english) {
    try {
      var table = JSON.parse(document.getElementById("words").textContent) || {};
      return typeof table[english] === "string" && table[english] ? table[english] : english;
    } catch (err) {
      return english; // a page served without its table: English
    }
  }

  function hhmm(iso) {
    return String(iso).slice(11, 16); // the venue's wall time, as the hub wrote it
  }

  function section() {
    var found = document.getElementById("curve");
    if (found) return found;
    var box = document.createElement("section");
    box.id = "curve";
    box.className = "panel";
    box.hidden = true;
    box.style.gridColumn = "1 / -1";
    box.style.gridRow = "5"; /* under the page's four rows of panels, across the whole width */
    box.setAttribute("aria-labelledby", "curve-title");
    var title = document.createElement("h2");
    title.id = "curve-title";
    title.textContent = _("Inside today, hour by hour");
    box.appendChild(title);
    var svg = el("svg", { id: "curve-svg", viewBox: "0 0 " + W + " " + H, role: "img",
                          "aria-label": _("People inside today, hour by hour"),
                          preserveAspectRatio: "xMinYMid meet" });
    svg.style.width = "100%";
    svg.style.height = "auto";
    svg.style.maxHeight = "22vh";
    box.appendChild(svg);
    var main = document.getElementById("main") || document.body;
    main.appendChild(box);
    return box;
  }

  function draw(data) {
    var points = (data && data.points) || [];
    var box = section();
    if (points.length < 2) { box.hidden = true; return; }
    var svg = document.getElementById("curve-svg");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var top = Math.max(1, Math.max.apply(null, points.map(function (p) { return p.inside; })));
    var t0 = Date.parse(points[0].at), t1 = Date.parse(points[points.length - 1].at);
    var span = Math.max(1, t1 - t0);
    function x(p) { return LEFT + (Date.parse(p.at) - t0) / span * (W - LEFT - RIGHT); }
    function y(n) { return TOP + (1 - n / top) * (H - TOP - BOTTOM); }
    var muted = "#aab6c8";
    el("line", { x1: LEFT, y1: y(0), x2: W - RIGHT, y2: y(0), stroke: muted }, svg);
    [0, top].forEach(function (n) {
      var label = el("text", { x: LEFT - 4, y: y(n) + 4, fill: muted, "font-size": 11,
                               "text-anchor": "end" }, svg);
      label.textContent = String(n);
    });
    [points[0], points[points.length - 1]].forEach(function (p, i) {
      var label = el("text", { x: x(p), y: H - 4, fill: muted, "font-size": 11,
                               "text-anchor": i ? "end" : "start" }, svg);
      label.textContent = hhmm(p.at);
    });
    var d = points.map(function (p, i) {
      return (i ? "L" : "M") + x(p).toFixed(1) + "," + y(p.inside).toFixed(1);
    }).join(" ");
    el("path", { id: "curve-line", d: d, fill: "none", stroke: "#93c5fd", "stroke-width": 2.5,
                 "stroke-linejoin": "round" }, svg);
    var last = points[points.length - 1];
    el("circle", { cx: x(last), cy: y(last.inside), r: 4, fill: "#93c5fd" }, svg);
    box.hidden = false;
  }

  function load() {
    fetch("/api/headcount/today", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) draw(data); })
      .catch(function () { /* the hub is out of reach: keep the last curve */ });
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
