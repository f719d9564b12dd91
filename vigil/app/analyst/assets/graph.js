// Force-directed view of ads linked by shared entities: drag nodes, wheel to zoom, drag to pan.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var TYPE_COLORS = { phone: "#4e79a7", email: "#59a14f", wallet: "#edc948", handle: "#b07aa1", onion: "#9c755f" };
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var svg = document.getElementById("network");
  var tip = document.getElementById("network-tip");
  if (!svg || !data.nodes.length) { return; }

  var width = 900, height = 560;
  var viewport = document.createElementNS(NS, "g");
  var linkLayer = document.createElementNS(NS, "g");
  var nodeLayer = document.createElementNS(NS, "g");
  linkLayer.setAttribute("class", "links");
  nodeLayer.setAttribute("class", "nodes");
  viewport.appendChild(linkLayer);
  viewport.appendChild(nodeLayer);
  svg.appendChild(viewport);

  function riskColor(risk) {
    var r = Math.max(0, Math.min(100, risk)) / 100;
    var hue = 120 - 120 * r;
    return "hsl(" + hue.toFixed(0) + ",70%,45%)";
  }

  var byId = {};
  var nodes = data.nodes.map(function (n, i) {
    var angle = i * 2.399963;
    var radius = 12 * Math.sqrt(i + 1);
    var node = {
      data: n, x: width / 2 + radius * Math.cos(angle), y: height / 2 + radius * Math.sin(angle),
      vx: 0, vy: 0, fixed: false, degree: 0, neighbours: []
    };
    byId[n.id] = node;
    return node;
  });
  var links = [];
  data.links.forEach(function (l) {
    var s = byId[l.source], t = byId[l.target];
    if (!s || !t) { return; }
    s.degree += 1; t.degree += 1;
    s.neighbours.push(t); t.neighbours.push(s);
    links.push({ source: s, target: t });
  });

  links.forEach(function (l) {
    var line = document.createElementNS(NS, "line");
    line.setAttribute("class", "link");
    linkLayer.appendChild(line);
    l.el = line;
  });
  nodes.forEach(function (n) {
    var c = document.createElementNS(NS, "circle");
    var isAd = n.data.kind === "ad";
    n.r = isAd ? 6 : Math.min(4 + n.degree, 12);
    c.setAttribute("r", n.r);
    c.setAttribute("class", "node " + (isAd ? "ad" : "entity " + n.data.kind) + (n.data.escalate ? " escalate" : ""));
    c.setAttribute("fill", isAd ? riskColor(n.data.risk) : (TYPE_COLORS[n.data.kind] || "#999"));
    nodeLayer.appendChild(c);
    n.el = c;
    c.addEventListener("pointerenter", function (ev) { showTip(n, ev); });
    c.addEventListener("pointermove", function (ev) { moveTip(ev); });
    c.addEventListener("pointerleave", hideTip);
    c.addEventListener("pointerdown", function (ev) { startDrag(n, ev); });
  });

  function describe(n) {
    var d = n.data, lines = [];
    if (d.kind === "ad") {
      lines.push(d.label || d.id);
      lines.push("site " + d.site + " · " + (d.country || "?") + " · risk " + d.risk + (d.escalate ? " · ESCALATE" : ""));
    } else {
      lines.push(d.kind + ": " + d.label);
      lines.push("shared by " + n.degree + " ads");
    }
    return lines;
  }
  function showTip(n, ev) {
    tip.textContent = "";
    describe(n).forEach(function (line, i) {
      var div = document.createElement("div");
      div.textContent = line;
      if (i === 0) { div.className = "tip-title"; }
      tip.appendChild(div);
    });
    tip.hidden = false;
    moveTip(ev);
    n.el.classList.add("hover");
    n.neighbours.forEach(function (m) { m.el.classList.add("near"); });
  }
  function moveTip(ev) {
    var box = svg.getBoundingClientRect();
    tip.style.left = (ev.clientX - box.left + 14) + "px";
    tip.style.top = (ev.clientY - box.top + 14) + "px";
  }
  function hideTip() {
    tip.hidden = true;
    nodes.forEach(function (m) { m.el.classList.remove("hover"); m.el.classList.remove("near"); });
  }

  var view = { x: 0, y: 0, k: 1 };
  function applyView() {
    viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
  }
  function toGraph(ev) {
    var box = svg.getBoundingClientRect();
    var sx = (ev.clientX - box.left) * width / box.width, sy = (ev.clientY - box.top) * height / box.height;
    return { x: (sx - view.x) / view.k, y: (sy - view.y) / view.k, sx: sx, sy: sy };
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var p = toGraph(ev);
    var k = Math.max(0.2, Math.min(6, view.k * (ev.deltaY < 0 ? 1.15 : 1 / 1.15)));
    view.x = p.sx - p.x * k; view.y = p.sy - p.y * k; view.k = k;
    applyView();
  }, { passive: false });

  var drag = null;
  function startDrag(n, ev) {
    ev.stopPropagation();
    drag = { node: n };
    n.fixed = true;
    svg.setPointerCapture(ev.pointerId);
    reheat(0.3);
  }
  svg.addEventListener("pointerdown", function (ev) {
    var p = toGraph(ev);
    drag = { pan: true, sx: p.sx, sy: p.sy, x: view.x, y: view.y };
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener("pointermove", function (ev) {
    if (!drag) { return; }
    var p = toGraph(ev);
    if (drag.node) {
      drag.node.x = p.x; drag.node.y = p.y; drag.node.vx = 0; drag.node.vy = 0;
      draw();
    } else {
      view.x = drag.x + p.sx - drag.sx; view.y = drag.y + p.sy - drag.sy;
      applyView();
    }
  });
  function endDrag() {
    if (drag && drag.node) { drag.node.fixed = false; }
    drag = null;
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  var alpha = 1;
  function tick() {
    var i, j, a, b, dx, dy, d2, d, f;
    var repulse = 900 * alpha;
    for (i = 0; i < nodes.length; i++) {
      a = nodes[i];
      for (j = i + 1; j < nodes.length; j++) {
        b = nodes[j];
        dx = a.x - b.x; dy = a.y - b.y;
        d2 = dx * dx + dy * dy + 0.01;
        if (d2 > 40000) { continue; }
        f = repulse / d2;
        a.vx += dx * f / 10; a.vy += dy * f / 10;
        b.vx -= dx * f / 10; b.vy -= dy * f / 10;
      }
    }
    links.forEach(function (l) {
      dx = l.target.x - l.source.x; dy = l.target.y - l.source.y;
      d = Math.sqrt(dx * dx + dy * dy) || 1;
      f = (d - 40) / d * 0.08 * alpha;
      l.source.vx += dx * f; l.source.vy += dy * f;
      l.target.vx -= dx * f; l.target.vy -= dy * f;
    });
    nodes.forEach(function (n) {
      n.vx += (width / 2 - n.x) * 0.008 * alpha;
      n.vy += (height / 2 - n.y) * 0.008 * alpha;
      if (n.fixed) { n.vx = 0; n.vy = 0; return; }
      n.vx *= 0.6; n.vy *= 0.6;
      n.x = Math.max(12, Math.min(width - 12, n.x + n.vx));
      n.y = Math.max(12, Math.min(height - 12, n.y + n.vy));
    });
    alpha *= 0.985;
  }
  function draw() {
    links.forEach(function (l) {
      l.el.setAttribute("x1", l.source.x.toFixed(1)); l.el.setAttribute("y1", l.source.y.toFixed(1));
      l.el.setAttribute("x2", l.target.x.toFixed(1)); l.el.setAttribute("y2", l.target.y.toFixed(1));
    });
    nodes.forEach(function (n) {
      n.el.setAttribute("cx", n.x.toFixed(1)); n.el.setAttribute("cy", n.y.toFixed(1));
    });
  }
  var running = false;
  function loop() {
    tick();
    draw();
    if (alpha > 0.02 || drag) { window.requestAnimationFrame(loop); } else { running = false; }
  }
  function reheat(level) {
    alpha = Math.max(alpha, level);
    if (!running) { running = true; window.requestAnimationFrame(loop); }
  }
  for (var warm = 0; warm < 60; warm++) { tick(); }
  draw();
  applyView();
  reheat(alpha);
  svg.setAttribute("data-ready", "true");
})();
