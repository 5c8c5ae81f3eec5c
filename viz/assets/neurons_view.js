/* chainrule's stepper, the neuron view (stepper_html(loss, view="neurons")).
 *
 * The page's picture is the neuron diagram (viz.neurons: circles x{k}, n{l}_{j}, the loss box,
 * arrows w{l}_{j}_{k} and o{j}) with, hidden inside it, one Graphviz picture per unit (each
 * neuron, and the loss): its scalar nodes with the scalar view's ids v{i}, op{i}, e{i}_{k}, which
 * the stepper (stepper.js) paints at every step like any graph. An input from outside a unit ends
 * in a small dot s{i}_{k}.
 *
 * Clicking a circle opens it in place: its column widens, the circles below it move down, the
 * circles of later columns move right, and the straight arrows are drawn again, each weight's
 * arrow now ending at its dot. Clicking the open unit's heading folds it; with nothing open the
 * picture is exactly Graphviz's again. A closed circle shows its output's value and grad as of
 * the current step (not reached, partial, final) and is marked when the step is inside it.
 *
 * This script runs before stepper.js: it leaves window.chainruleView, which the stepper starts
 * and calls at every repaint. It never computes a number: every value and grad it shows is one the
 * stepper holds now (the recorded pass, or the what-if panel's pass after an input changed), so a
 * closed circle's out, a weight's w and a neuron's "dead" or "saturated" mark follow what-if.
 */
(function () {
  "use strict";

  const DATA = window.chainrulePage.data; // the one copy every script of the page works on
  const VIEW = DATA.neurons;
  const NODES = DATA.nodes;
  const STEPS = DATA.steps;
  const FORWARD = DATA.forward || [];
  const ROOT = DATA.root;
  const OWNER = VIEW.owner;
  const UNITS = {};
  for (const unit of VIEW.units) UNITS[unit.id] = unit;

  const svg = document.querySelector("#graph svg");
  const graph = svg && svg.querySelector("g.graph");
  const opened = new Set();
  let api = null;
  let last = null; // the stepper's last state, to repaint after opening or folding

  // --- geometry, in the coordinates of Graphviz's top group -----------------------------------

  function boxOf(element) {
    const b = element.getBBox();
    const m = graph.getScreenCTM().inverse().multiply(element.getScreenCTM());
    const point = (x, y) => {
      const p = svg.createSVGPoint();
      p.x = x;
      p.y = y;
      return p.matrixTransform(m);
    };
    const a = point(b.x, b.y);
    const c = point(b.x + b.width, b.y + b.height);
    const x = Math.min(a.x, c.x);
    const y = Math.min(a.y, c.y);
    return {x: x, y: y, w: Math.abs(c.x - a.x), h: Math.abs(c.y - a.y), cx: (a.x + c.x) / 2, cy: (a.y + c.y) / 2};
  }

  const base = {}; // diagram node id -> {group, box, column, round}
  const arrows = []; // {id, group, path, head polygon, tail id, head id, d, points}
  const labels = []; // the text of weight arrows (small networks): {group, arrow, t}
  const expansion = {}; // unit id -> {group, w, h}
  let original = null; // Graphviz's own viewBox, transform and background, restored when all is folded

  function columnOf(id) {
    if (/^x\d+$/.test(id)) return 0;
    const m = /^n(\d+)_\d+$/.exec(id);
    if (m) return Number(m[1]);
    return Infinity; // the loss: the last column
  }

  function measure() {
    for (const group of graph.querySelectorAll(":scope > g.node")) {
      const id = group.id;
      if (/^(x\d+|n\d+_\d+|loss)$/.test(id)) {
        base[id] = {group: group, box: boxOf(group), column: columnOf(id), round: id !== "loss"};
      }
    }
    const layers = Object.keys(base).map(columnOf).filter(Number.isFinite);
    const lastLayer = Math.max(...layers);
    for (const id of Object.keys(base)) if (base[id].column === Infinity) base[id].column = lastLayer + 1;
    for (const group of graph.querySelectorAll(":scope > g.edge")) {
      let tail = null;
      let head = null;
      let m = /^w(\d+)_(\d+)_(\d+)$/.exec(group.id);
      if (m) {
        head = "n" + m[1] + "_" + m[2];
        tail = m[1] === "1" ? "x" + m[3] : "n" + (Number(m[1]) - 1) + "_" + m[3];
      } else if ((m = /^o(\d+)$/.exec(group.id))) {
        head = "loss";
        tail = "n" + lastLayer + "_" + m[1];
      }
      const path = group.querySelector("path");
      const tip = group.querySelector("polygon");
      if (!head || !path || !base[head] || !base[tail]) continue;
      arrows.push({id: group.id, group: group, path: path, tip: tip, tail: tail, head: head,
        d: path.getAttribute("d"), points: tip ? tip.getAttribute("points") : null});
    }
    const byId = {};
    for (const arrow of arrows) byId[arrow.id] = arrow;
    for (const group of graph.querySelectorAll(":scope > g.node.weight-label")) {
      const arrow = byId[group.id.slice(1)];
      if (!arrow) continue;
      const a = base[arrow.tail].box;
      const b = base[arrow.head].box;
      const here = boxOf(group);
      const t = Math.abs(b.cx - a.cx) > 1e-6 ? (here.cx - a.cx) / (b.cx - a.cx) : 0.5;
      labels.push({group: group, arrow: arrow, t: t, box: here});
    }
    for (const group of svg.querySelectorAll("g.expansion")) {
      expansion[group.dataset.unit] = {group: group, w: Number(group.dataset.width), h: Number(group.dataset.height)};
    }
    const background = graph.querySelector(":scope > polygon");
    original = {viewBox: svg.getAttribute("viewBox"), transform: graph.getAttribute("transform"),
      background: background, points: background ? background.getAttribute("points") : null};
  }

  // --- opening and folding ---------------------------------------------------------------------

  /** Where each diagram node's centre goes with the units in `opened` open, and each open unit's box. */
  function place() {
    const columns = Array.from(new Set(Object.values(base).map((b) => b.column))).sort((a, b) => a - b);
    const wider = {};
    for (const id of opened) {
      const c = base[id].column;
      wider[c] = Math.max(wider[c] || 0, expansion[id].w - base[id].box.w);
    }
    const shiftX = {};
    let run = 0;
    for (const c of columns) {
      const extra = wider[c] || 0;
      shiftX[c] = run + extra / 2;
      run += extra;
    }
    const centre = {};
    for (const c of columns) {
      const ids = Object.keys(base).filter((id) => base[id].column === c).sort((a, b) => base[a].box.cy - base[b].box.cy);
      const taller = (id) => (opened.has(id) ? Math.max(0, expansion[id].h - base[id].box.h) : 0);
      let down = -ids.reduce((sum, id) => sum + taller(id), 0) / 2;
      for (const id of ids) {
        const extra = taller(id);
        centre[id] = {x: base[id].box.cx + shiftX[c], y: base[id].box.cy + down + extra / 2};
        down += extra;
      }
    }
    return centre;
  }

  function unitPoint(unitId, nodeIndex, centre) {
    // the output box v{i} of an open unit: its right middle, where its arrows leave
    const e = expansion[unitId];
    const group = e.group.querySelector("#v" + nodeIndex) || e.group.querySelector("#v" + UNITS[unitId].outputs[0]);
    const b = boxOf(group);
    return {x: b.x + b.w, y: b.cy};
  }

  function edgeOf(b, centre, from, entering) {
    // where a line towards `from` meets the circle (or the loss box) centred at `centre`
    const dx = from.x - centre.x;
    const dy = from.y - centre.y;
    const length = Math.hypot(dx, dy) || 1;
    if (b.round) {
      const r = b.box.w / 2;
      return {x: centre.x + dx / length * r, y: centre.y + dy / length * r};
    }
    const t = Math.min(Math.abs(b.box.w / 2 / (dx || 1e-9)), Math.abs(b.box.h / 2 / (dy || 1e-9)));
    return {x: centre.x + dx * t, y: centre.y + dy * t};
  }

  function drawArrow(arrow, group, from, to) {
    const path = group.querySelector("path");
    const tip = group.querySelector("polygon");
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    const length = Math.hypot(dx, dy) || 1;
    const ux = dx / length;
    const uy = dy / length;
    const back = {x: to.x - ux * 6, y: to.y - uy * 6};
    path.setAttribute("d", "M" + from.x.toFixed(2) + "," + from.y.toFixed(2) + "L" + back.x.toFixed(2) + "," + back.y.toFixed(2));
    if (tip) {
      const side = 2.6;
      tip.setAttribute("points", [[to.x, to.y], [back.x - uy * side, back.y + ux * side], [back.x + uy * side, back.y - ux * side],
        [to.x, to.y]].map((p) => p[0].toFixed(2) + "," + p[1].toFixed(2)).join(" "));
    }
  }

  function layout() {
    for (const extra of graph.querySelectorAll("g.edge.extra")) extra.remove();
    // Arrows into or out of an open unit are drawn over it (they end at its dots); the others under it.
    const layer = graph.querySelector(":scope > g#expansions");
    const firstNode = graph.querySelector(":scope > g.node");
    for (const arrow of arrows) {
      const over = opened.has(arrow.tail) || opened.has(arrow.head);
      const above = Boolean(layer.compareDocumentPosition(arrow.group) & Node.DOCUMENT_POSITION_FOLLOWING);
      if (over && !above) graph.append(arrow.group);
      if (!over && above) graph.insertBefore(arrow.group, firstNode);
    }
    const centre = place();
    for (const [id, b] of Object.entries(base)) {
      const dx = centre[id].x - b.box.cx;
      const dy = centre[id].y - b.box.cy;
      b.group.setAttribute("transform", opened.size ? "translate(" + dx.toFixed(2) + " " + dy.toFixed(2) + ")" : "");
      b.group.setAttribute("visibility", opened.has(id) ? "hidden" : "visible");
    }
    for (const [id, e] of Object.entries(expansion)) {
      const open = opened.has(id);
      e.group.setAttribute("visibility", open ? "visible" : "hidden");
      if (open) {
        const x = centre[id].x - e.w / 2;
        const y = centre[id].y - e.h / 2;
        e.group.setAttribute("transform", "translate(" + x.toFixed(2) + " " + y.toFixed(2) + ")");
      }
    }
    if (!opened.size) {
      restore();
      return;
    }
    for (const arrow of arrows) {
      const ends = []; // [from, to] pairs: one per dot the arrow feeds (one per sample), or circle to circle
      const tailOpen = opened.has(arrow.tail);
      const headOpen = opened.has(arrow.head);
      const stubs = headOpen ? UNITS[arrow.head].stubs.filter((s) => s.arrow === arrow.id) : [null];
      for (const stub of stubs) {
        let to;
        if (stub) {
          const dot = expansion[arrow.head].group.querySelector("#" + stub.id);
          const b = boxOf(dot);
          to = {x: b.cx - b.w / 2, y: b.cy};
        }
        let from;
        if (tailOpen) from = unitPoint(arrow.tail, stub ? stub.parent : -1, centre);
        else from = edgeOf(base[arrow.tail], centre[arrow.tail], to || centre[arrow.head]);
        if (!to) to = edgeOf(base[arrow.head], centre[arrow.head], from);
        ends.push([from, to]);
      }
      arrow.group.setAttribute("visibility", ends.length ? "visible" : "hidden");
      ends.forEach(([from, to], n) => {
        let group = arrow.group;
        if (n > 0) {
          group = arrow.group.cloneNode(true);
          group.removeAttribute("id");
          group.classList.add("extra");
          arrow.group.after(group);
        }
        drawArrow(arrow, group, from, to);
        if (n === 0) arrow.ends = [from, to];
      });
    }
    // A weight's text that would sit on an open unit (its arrow passes under it) is hidden; hover the arrow.
    const under = (x, y) => Array.from(opened).some((id) => Math.abs(x - centre[id].x) < expansion[id].w / 2 + 20 &&
      Math.abs(y - centre[id].y) < expansion[id].h / 2 + 12);
    for (const label of labels) {
      const ends = label.arrow.ends;
      const x = ends ? ends[0].x + label.t * (ends[1].x - ends[0].x) : 0;
      const y = ends ? ends[0].y + label.t * (ends[1].y - ends[0].y) : 0;
      const over = opened.has(label.arrow.tail) || opened.has(label.arrow.head);
      const show = label.arrow.group.getAttribute("visibility") !== "hidden" && ends && (over || !under(x, y));
      label.group.setAttribute("visibility", show ? "visible" : "hidden");
      if (!show) continue;
      label.group.setAttribute("transform", "translate(" + (x - label.box.cx).toFixed(2) + " " + (y - label.box.cy).toFixed(2) + ")");
    }
    frame();
  }

  /** Fit the viewBox round what is shown now. */
  function frame() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const take = (b) => {
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y); x1 = Math.max(x1, b.x + b.w); y1 = Math.max(y1, b.y + b.h);
    };
    for (const b of Object.values(base)) if (b.group.getAttribute("visibility") !== "hidden") take(boxOf(b.group));
    for (const [id, e] of Object.entries(expansion)) if (opened.has(id)) take(boxOf(e.group));
    for (const arrow of arrows) if (arrow.group.getAttribute("visibility") !== "hidden") take(boxOf(arrow.group));
    for (const label of labels) if (label.group.getAttribute("visibility") !== "hidden") take(boxOf(label.group));
    const pad = 8;
    graph.setAttribute("transform", "translate(" + (pad - x0).toFixed(2) + " " + (pad - y0).toFixed(2) + ")");
    svg.setAttribute("viewBox", "0 0 " + (x1 - x0 + 2 * pad).toFixed(2) + " " + (y1 - y0 + 2 * pad).toFixed(2));
    if (original.background) {
      original.background.setAttribute("points", [[x0 - pad, y0 - pad], [x1 + pad, y0 - pad], [x1 + pad, y1 + pad],
        [x0 - pad, y1 + pad]].map((p) => p[0].toFixed(2) + "," + p[1].toFixed(2)).join(" "));
    }
    if (api) api.resized();
  }

  function restore() {
    for (const arrow of arrows) {
      arrow.path.setAttribute("d", arrow.d);
      if (arrow.tip) arrow.tip.setAttribute("points", arrow.points);
      arrow.group.setAttribute("visibility", "visible");
    }
    for (const label of labels) {
      label.group.removeAttribute("transform");
      label.group.setAttribute("visibility", "visible");
    }
    for (const b of Object.values(base)) b.group.removeAttribute("transform");
    svg.setAttribute("viewBox", original.viewBox);
    graph.setAttribute("transform", original.transform);
    if (original.background) original.background.setAttribute("points", original.points);
    if (api) api.resized();
  }

  function toggle(id) {
    if (opened.has(id)) opened.delete(id);
    else opened.add(id);
    layout();
    document.body.dataset.open = Array.from(opened).sort().join(" ");
    if (last) paint(last);
    const target = opened.has(id) ? expansion[id].group : base[id].group;
    target.scrollIntoView({block: "nearest", inline: "nearest"});
  }

  // --- painting each step ----------------------------------------------------------------------

  const circleText = {}; // unit id -> {out: <text>, outWords, grad: <text>}
  let hot = [];

  function findTexts() {
    for (const unit of VIEW.units) {
      const b = base[unit.id];
      if (!b) continue;
      const texts = Array.from(b.group.querySelectorAll("text"));
      const grad = texts.find((t) => t.textContent.startsWith("grad")) || null;
      let out = texts.find((t) => t.textContent.startsWith("out ")) || null;
      if (unit.id === "loss") out = texts.find((t) => t !== grad && t.textContent !== "loss") || null;
      const relu = unit.id === "loss" ? undefined : unit.nodes.find((i) => NODES[i].op === "relu");
      const squash = unit.id === "loss" ? undefined : unit.nodes.find((i) => SQUASHES[NODES[i].op]);
      circleText[unit.id] = {out: out, grad: grad, shape: b.group.querySelector("ellipse"), lines: texts,
        z: relu === undefined ? -1 : NODES[relu].parents[0], h: squash === undefined ? -1 : squash,
        marks: {dead: texts.find((t) => t.textContent === "dead") || null,
                saturated: texts.find((t) => t.textContent === "saturated") || null}};
    }
    for (const label of labels) {
      const texts = Array.from(label.group.querySelectorAll("text"));
      label.grad = texts.find((t) => t.textContent.startsWith("dL/dw")) || null;
      label.w = texts.find((t) => t.textContent.startsWith("w ")) || null;
    }
  }

  // sigmoid and tanh: their lower bounds; an output within VIEW.saturation of a bound has a slope of about 0
  const SQUASHES = {sigmoid: {low: 0}, tanh: {low: -1}};

  /** The mark a neuron's circle carries now, as viz.neurons draws it: "dead" for a ReLU neuron whose
   * input z is <= 0 (it passes no gradient), "saturated" for a sigmoid or tanh neuron whose output is
   * within VIEW.saturation of a bound (its slope is about 0), or "" for none. */
  function markOf(words, state) {
    if (words.z >= 0 && state.data(words.z) <= 0) return "dead";
    if (words.h >= 0) {
      const out = state.data(words.h);
      const low = SQUASHES[NODES[words.h].op].low;
      if (out - low < VIEW.saturation || 1 - out < VIEW.saturation) return "saturated";
    }
    return "";
  }

  /** Fill the circle, dash it if dead, and show the one line that names the mark (adding it below the
   * circle's last line the first time it is needed); or undo that. */
  function markUnit(unit, words, now) {
    const b = base[unit.id];
    if ((b.group.dataset.mark || "") === now) return;
    b.group.dataset.mark = now;
    b.group.classList.toggle("dead", now === "dead");
    b.group.classList.toggle("saturated", now === "saturated");
    if (words.shape) {
      words.shape.setAttribute("fill", now ? VIEW.fills[now] : VIEW.fills.live);
      if (now === "dead") words.shape.setAttribute("stroke-dasharray", "5,2");
      else words.shape.removeAttribute("stroke-dasharray");
    }
    const drawn = Object.values(words.marks).find((t) => t) || null;
    if (now && !words.marks[now] && words.lines.length > 1) {
      const lines = words.lines;
      const last = drawn ? lines[lines.indexOf(drawn) - 1] : lines[lines.length - 1];
      const before = lines[lines.indexOf(last) - 1];
      const gap = Number(last.getAttribute("y")) - Number(before.getAttribute("y"));
      words.marks[now] = last.cloneNode(false);
      words.marks[now].setAttribute("y", (Number(last.getAttribute("y")) + gap).toFixed(2));
      words.marks[now].textContent = now;
      last.after(words.marks[now]);
    }
    for (const [kind, text] of Object.entries(words.marks)) {
      if (text) text.setAttribute("visibility", kind === now ? "visible" : "hidden");
    }
  }

  function combined(states) {
    if (states.every((s) => s === "final")) return "final";
    if (states.every((s) => s === "none")) return "none";
    return "partial";
  }

  /** The node stepping at this position and the parents it sends to (or reads, going forward). */
  function stepping(phase) {
    if (phase.kind === "forward" && phase.k > 0) {
      const i = FORWARD[phase.k - 1].node;
      return {node: i, parents: NODES[i].parents, kind: "feeding"};
    }
    if (phase.kind === "backward" && phase.p > 0) {
      const step = STEPS[phase.p - 1];
      return {node: step.node, parents: step.edges.map((e) => e.parent), ks: step.edges.map((e) => e.k), kind: "sending"};
    }
    return {node: ROOT, parents: [], kind: ""};
  }

  function paint(state) {
    last = state;
    for (const unit of VIEW.units) {
      const words = circleText[unit.id];
      const b = base[unit.id];
      if (!words || !b) continue;
      const now = combined(unit.outputs.map(state.state));
      const grad = unit.outputs.reduce((sum, i) => sum + state.grads[i], 0);
      const known = unit.outputs.every(state.known);
      if (words.grad) words.grad.textContent = api.gradWords(grad, now);
      const out = unit.outputs.reduce((sum, i) => sum + state.data(i), 0) / unit.outputs.length;
      const prefix = unit.id === "loss" ? "" : "out ";
      if (words.out) words.out.textContent = prefix + (known ? api.fmt(out + 0) : "?");
      if (words.z >= 0 || words.h >= 0) markUnit(unit, words, markOf(words, state));
      b.group.classList.remove("g-none", "g-partial", "g-final");
      b.group.classList.add("g-" + now);
      b.group.classList.toggle("unknown", !known);
    }
    for (const label of labels) {
      const i = VIEW.weights[label.arrow.id];
      if (label.w && i !== undefined) label.w.textContent = "w " + api.fmt(state.data(i) + 0);
      if (label.grad && i !== undefined) {
        const s = state.state(i);
        label.grad.textContent = "dL/dw " + (s === "none" ? "\u2014" : api.fmt(state.grads[i]) + (s === "partial" ? "\u2026" : ""));
      }
    }
    for (const [element, cls] of hot) element.classList.remove(cls);
    hot = [];
    const mark = (element, cls) => {
      if (element) {
        element.classList.add(cls);
        hot.push([element, cls]);
      }
    };
    const now = stepping(state.phase);
    const home = OWNER[now.node];
    if (home && !opened.has(home)) mark(base[home] && base[home].group, "current");
    now.parents.forEach((p, n) => {
      const there = OWNER[p];
      if (there && there !== home && !opened.has(there)) mark(base[there] && base[there].group, "receiving");
      if (!home || there === home || !now.kind) return;
      const k = now.ks ? now.ks[n] : NODES[now.node].parents.indexOf(p);
      const stub = UNITS[home].stubs.find((s) => s.node === now.node && s.k === k);
      if (stub && stub.arrow) mark(document.getElementById(stub.arrow), now.kind);
    });
  }

  function focus(ids) {
    const out = [];
    for (const id of ids) {
      const m = /^(?:v|op)(\d+)$/.exec(id);
      const unit = m ? OWNER[Number(m[1])] : "";
      const mapped = unit && !opened.has(unit) ? unit : id;
      if (!out.includes(mapped)) out.push(mapped);
    }
    return out;
  }

  // --- clicks -------------------------------------------------------------------------------------

  let down = null;
  function listen() {
    svg.addEventListener("pointerdown", (event) => { down = {x: event.clientX, y: event.clientY}; });
    svg.addEventListener("click", (event) => {
      if (down && Math.hypot(event.clientX - down.x, event.clientY - down.y) > 5) return; // the end of a pan
      const fold = event.target.closest("g.fold");
      if (fold) {
        toggle(fold.dataset.unit);
        return;
      }
      const group = event.target.closest("g.node");
      if (group && expansion[group.id] && base[group.id] && !opened.has(group.id)) toggle(group.id);
    });
  }

  window.chainruleView = {
    start: (stepper) => {
      api = stepper;
      if (!graph) return;
      measure();
      findTexts();
      listen();
      document.body.dataset.view = "neurons";
      document.body.dataset.open = "";
    },
    paint: paint,
    focus: focus,
  };
  // For the tests and the console: open or fold a unit by id (n1_3, loss), and what is open.
  window.chainruleNeurons = {
    toggle: (id) => { if (expansion[id] && base[id]) toggle(id); return Array.from(opened); },
    opened: () => Array.from(opened),
    units: () => VIEW.units.map((u) => u.id),
  };
})();
