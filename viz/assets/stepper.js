/* chainrule's stepper: the page's behaviour.
 *
 * The data block (id "data") holds one pass through a graph, recorded in Python:
 * the nodes in topological order (each with its display name: its own, or mul1,
 * add2 ...), the forward steps (one per op node, parents first), the backward
 * steps (autograd.backward_steps: one per op node, output first) and, when asked
 * for, one gradient-descent update.
 *
 * The page is a timeline of positions t = 0 ... LAST:
 *   forward   t = 0 is "inputs given", t = k (1..F) means k forward steps are done;
 *   backward  t = FB + p, where p backward steps have been applied (p = 0: dL/dL = 1);
 *   update    t = LAST, when there is an update step.
 * Every number the page shows is read from the recorded steps, never guessed: at
 * backward position p a node's grad is the "after" of the last edge into it among
 * the first p steps, and it is "final" once every child has sent its share.
 *
 * A quiz asks about the step from t to t + 1 before showing it; Next is locked
 * until every question is answered right or "Show the answer" is pressed.
 *
 * User text (names, the title) is only ever placed with textContent.
 */
(function () {
  "use strict";

  // --- the data --------------------------------------------------------------------

  const DATA = window.chainrulePage.data; // read once by page_kit.js, inf and nan revived
  const NODES = DATA.nodes;
  const FORWARD = DATA.forward || [];
  const STEPS = DATA.steps;
  const UPDATE = DATA.update;
  const ROOT = DATA.root;
  const N = NODES.length;
  const QUIZ = DATA.quiz || ""; // "", "grad", "local", "forward" or "all"
  const ASKS = {
    forward: QUIZ === "forward" || QUIZ === "all",
    local: QUIZ === "local" || QUIZ === "all",
    grad: QUIZ === "grad" || QUIZ === "all",
  };
  const RELATIVE = 1e-3; // quiz answers: right within a relative 1e-3 ...
  const ABSOLUTE = 1e-6; // ... or an absolute 1e-6 (for answers that are 0)

  const F = FORWARD.length;
  const B = STEPS.length;
  const FB = F ? F + 1 : 0; // the position where the backward pass starts
  const LAST = FB + B + (UPDATE ? 1 : 0);

  /** What position t shows: {kind: "forward", k} | {kind: "backward", p} | {kind: "update"}. */
  function phase(t) {
    if (F && t <= F) return {kind: "forward", k: t};
    const p = t - FB;
    if (p <= B) return {kind: "backward", p: p};
    return {kind: "update"};
  }

  // incoming[i]: every edge that sends gradient into node i, in the order the pass sends it.
  const incoming = NODES.map(() => []);
  STEPS.forEach((step, s) => {
    step.edges.forEach((edge) => incoming[edge.parent].push({s: s, edge: edge}));
  });
  // A node is reached after its first incoming step and final after its last.
  const firstAt = incoming.map((list) => (list.length ? list[0].s + 1 : Infinity));
  const finalAt = incoming.map((list) => (list.length ? list[list.length - 1].s + 1 : Infinity));
  firstAt[ROOT] = 0;
  finalAt[ROOT] = 0;
  // computedAt[i]: the forward position from which node i's value is known (inputs: from the start).
  const computedAt = NODES.map((node) => (node.op ? Infinity : 0));
  FORWARD.forEach((step, k) => { computedAt[step.node] = k + 1; });
  if (!F) computedAt.fill(0);

  // --- numbers and names -----------------------------------------------------------

  /** x as the graph and the tables write it (viz.drawing.num): 4 significant digits, and -0 as 0. */
  const fmt = (x) => window.chainrulePage.gformat(x + 0, 4);

  const label = (i) => NODES[i].label;
  function wrap(text) {
    // ∂L/∂w, ∂L/∂(my name): brackets only where the name needs them.
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : "(" + text + ")";
  }
  const dL = (i) => "\u2202" + wrap(label(ROOT)) + "/\u2202" + wrap(label(i));
  const opWord = (op) => ({"*": "\u00d7", "-": "\u2212", "sigmoid": "\u03c3", "": "input"}[op] ?? op);

  // --- small DOM helpers: text only, never markup ---------------------------------------

  const el = window.chainrulePage.el;

  const num = (x, cls) => el("span", {class: "num" + (cls ? " " + cls : ""), "data-value": String(x)}, fmt(x));
  const name = (i) => el("span", {class: "name"}, label(i));

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const $ = (id) => document.getElementById(id);

  // --- the state of the pass at position t -------------------------------------------

  /** Each node's grad after the first p backward steps: replay their edges (each edge records "after"). */
  function gradsAt(p) {
    const grads = new Array(N).fill(0);
    grads[ROOT] = 1;
    for (let s = 0; s < p; s++) {
      for (const edge of STEPS[s].edges) grads[edge.parent] = edge.after;
    }
    return grads;
  }

  function stateAt(i, t) {
    const ph = phase(t);
    if (ph.kind === "forward") return "none"; // no gradient yet: the forward pass comes first
    const p = ph.kind === "update" ? B : ph.p;
    if (p >= finalAt[i]) return "final";
    if (p >= firstAt[i]) return "partial";
    return "none";
  }

  const known = (i, t) => (phase(t).kind !== "forward" || t >= computedAt[i]);

  // --- the graph ----------------------------------------------------------------------

  const graphBox = $("graph");
  const svg = graphBox.querySelector("svg");
  // A view drawn over the graph (the neuron view, assets/neurons_view.js) hears of every repaint,
  // says what to scroll to, and tells us when it has changed the picture's size.
  const overlay = window.chainruleView || null;
  const valueBox = new Array(N).fill(null);
  const gradText = new Array(N).fill(null);
  const dataText = new Array(N).fill(null);
  const dataWords = new Array(N).fill("");
  const boxWidth = new Array(N).fill(0);
  const fontSize = new Array(N).fill(0);
  const edgeLabel = {}; // "i_k" -> the <text> of the local derivative on edge e{i}_{k}
  if (svg) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "the computational graph of " + label(ROOT));
    for (let i = 0; i < N; i++) {
      const group = svg.getElementById ? svg.getElementById("v" + i) : document.getElementById("v" + i);
      if (!group) continue;
      valueBox[i] = group;
      const texts = Array.from(group.querySelectorAll("text"));
      gradText[i] = texts.slice().reverse().find((t) => t.textContent.startsWith("grad")) || null;
      dataText[i] = texts.find((t) => t.textContent.startsWith("data ")) || null;
      if (dataText[i]) dataWords[i] = dataText[i].textContent;
      if (gradText[i]) fontSize[i] = parseFloat(gradText[i].getAttribute("font-size")) || 14;
      const shape = group.querySelector("polygon");
      if (shape) boxWidth[i] = shape.getBBox ? shape.getBBox().width : 0;
    }
    for (const group of svg.querySelectorAll("g.edge")) {
      const match = /^e(\d+)_(\d+)$/.exec(group.id);
      const text = group.querySelector("text");
      if (match && text) edgeLabel[match[1] + "_" + match[2]] = text;
    }
    for (const group of svg.querySelectorAll("g.node")) group.classList.add("clickable");
  }

  function gradWords(grad, state) {
    if (state === "none") return "grad \u2014";
    if (state === "partial") return "grad " + fmt(grad) + "\u2026";
    return "grad " + fmt(grad);
  }

  const shown = new Array(N).fill(null); // what each box shows now, to touch only what changes

  // On a large graph only the boxes in view (and half a screen around) are painted; the others are painted
  // when they scroll or zoom into view. A what-if change rewrites every box, and laying out a thousand
  // SVG texts costs the browser far more than computing their numbers.
  const CULL_FROM = 300;
  let culling = N >= CULL_FROM && !!svg;
  let lastPainted = null; // [t, grads] of the last paint, for boxes that come into view later
  const revealHooks = [];

  function viewRect() {
    const r = graphBox.getBoundingClientRect();
    return {left: r.left - r.width / 2, right: r.right + r.width / 2, top: r.top - r.height / 2,
      bottom: r.bottom + r.height / 2};
  }

  function inView(element, view) {
    const r = element.getBoundingClientRect();
    return r.right >= view.left && r.left <= view.right && r.bottom >= view.top && r.top <= view.bottom;
  }

  let revealing = false;
  function reveal() {
    if (!culling || revealing) return;
    revealing = true;
    requestAnimationFrame(() => {
      revealing = false;
      if (lastPainted) paintGraph(lastPainted[0], lastPainted[1]);
      for (const hook of revealHooks) hook();
    });
  }

  function paintGraph(t, grads) {
    lastPainted = [t, grads];
    const changed = [];
    const view = culling ? viewRect() : null;
    const visible = view ? valueBox.map((group) => !!group && inView(group, view)) : null; // all reads first
    for (let i = 0; i < N; i++) {
      const state = stateAt(i, t);
      const words = gradWords(grads[i], state);
      const isKnown = known(i, t);
      const key = words + state + isKnown;
      if (shown[i] === key) continue;
      if (visible && !visible[i]) { shown[i] = null; continue; } // stale until it comes into view
      shown[i] = key;
      const group = valueBox[i];
      if (!group) continue;
      group.classList.remove("g-none", "g-partial", "g-final");
      group.classList.add("g-" + state);
      group.classList.toggle("unknown", !isKnown);
      if (dataText[i]) dataText[i].textContent = isKnown ? dataWords[i] : "data ?";
      if (gradText[i]) {
        gradText[i].textContent = words;
        gradText[i].removeAttribute("textLength");
        changed.push(i);
      }
      setTitle(group, tooltip(i, isKnown, state, grads[i]));
    }
    // Squeeze a grad that outgrew its box (bold and "..." are wider than what dot measured).
    // Measuring a text costs a layout: only a text that might not fit is measured (0.7 em a character is
    // wider than any of Helvetica's, bold ones included), and all before any is changed.
    const mightNotFit = (i) => gradText[i].textContent.length * 0.7 * (fontSize[i] || 14) > boxWidth[i] - 6;
    const over = changed.filter((i) => boxWidth[i] - 6 > 0 && mightNotFit(i) &&
      gradText[i].getComputedTextLength() > boxWidth[i] - 6);
    for (const i of over) {
      gradText[i].setAttribute("textLength", String(boxWidth[i] - 6));
      gradText[i].setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  /** The hover text of a node: its name, op, value and grad as of now; never an internal id. */
  function tooltip(i, isKnown, state, grad) {
    const node = NODES[i];
    return [
      label(i) + (node.op ? " = " + node.math : " (input)"),
      "op: " + opWord(node.op),
      "value: " + (isKnown ? fmt(node.data) : "not computed yet"),
      "grad: " + (state === "none" ? "not reached yet" : fmt(grad) + (state === "partial" ? " (partial)" : "")),
    ].join("\n");
  }

  function setTitle(group, text) {
    let title = group.querySelector("title");
    if (!title) {
      title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      group.prepend(title);
    }
    title.textContent = text;
  }

  if (svg) {
    // Graphviz titles are internal ids ("op3", "v0->op1"): say what each op and edge is instead.
    for (let i = 0; i < N; i++) {
      const op = document.getElementById("op" + i);
      if (op) setTitle(op, "op " + opWord(NODES[i].op) + " making " + label(i) + " = " + NODES[i].math);
      const out = document.getElementById("e" + i);
      if (out) setTitle(out, "op " + opWord(NODES[i].op) + " \u2192 " + label(i));
    }
  }

  const edgesHidden = new Array(B).fill(null); // what each step's edges show now, to touch only what changes

  function paintEdges(t) {
    // No local derivative during the forward pass (they come with the backward pass, and would give
    // values away), nor while one is asked for.
    const forward = phase(t).kind === "forward";
    for (const [s, step] of STEPS.entries()) {
      const hide = forward || (ASKS.local && !answered(FB + s));
      if (edgesHidden[s] === hide) continue;
      edgesHidden[s] = hide;
      for (const edge of step.edges) {
        const key = step.node + "_" + edge.k;
        const text = edgeLabel[key];
        if (text) text.classList.toggle("hidden-local", hide);
        const group = document.getElementById("e" + key);
        if (group) {
          setTitle(group, label(edge.parent) + " \u2192 " + label(step.node) + ": local \u2202" +
            wrap(label(step.node)) + "/\u2202" + wrap(label(edge.parent)) + " = " + (hide ? "?" : fmt(edge.local)));
        }
      }
    }
  }

  let hot = [];

  function highlight(t) {
    for (const [node, cls] of hot) node.classList.remove(cls);
    hot = [];
    const mark = (id, cls) => {
      const node = document.getElementById(id);
      if (node) {
        node.classList.add(cls);
        hot.push([node, cls]);
      }
    };
    const markRow = (i, cls) => { rows[i].classList.add(cls); hot.push([rows[i], cls]); };
    const ph = phase(t);
    if (ph.kind === "forward" && ph.k > 0) {
      const i = FORWARD[ph.k - 1].node;
      mark("v" + i, "current");
      mark("op" + i, "current");
      markRow(i, "current");
      NODES[i].parents.forEach((parent, k) => {
        mark("e" + i + "_" + k, "feeding");
        mark("v" + parent, "receiving");
        markRow(parent, "receiving");
      });
      return;
    }
    if (ph.kind === "update") {
      for (const row of UPDATE.params) { mark("v" + row.node, "current"); markRow(row.node, "current"); }
      return;
    }
    if (ph.kind === "forward" || ph.p === 0) {
      mark("v" + ROOT, "current"); // the start: the output, the goal of the forward and backward pass
      markRow(ROOT, "current");
      return;
    }
    const step = STEPS[ph.p - 1];
    const i = step.node;
    mark("v" + i, "current");
    mark("op" + i, "current");
    mark("e" + i, "sending");
    markRow(i, "current");
    for (const edge of step.edges) {
      mark("e" + i + "_" + edge.k, "sending");
      mark("v" + edge.parent, "receiving");
      markRow(edge.parent, "receiving");
    }
  }

  /** The ids of what position t is about: the node stepping and its parents. */
  function focusIds(t) {
    const ph = phase(t);
    if (ph.kind === "forward" && ph.k > 0) {
      const i = FORWARD[ph.k - 1].node;
      return ["v" + i, "op" + i].concat(NODES[i].parents.map((p) => "v" + p));
    }
    if (ph.kind === "backward" && ph.p > 0) {
      const step = STEPS[ph.p - 1];
      return ["v" + step.node, "op" + step.node].concat(step.edges.map((e) => "v" + e.parent));
    }
    if (ph.kind === "update") return UPDATE.params.map((row) => "v" + row.node);
    return ["v" + ROOT];
  }

  // --- the table of every node ---------------------------------------------------------

  const rows = [];
  const gradCells = [];
  const dataCells = [];
  (function buildTable() {
    const body = $("grads").querySelector("tbody");
    for (let i = 0; i < N; i++) {
      const cell = el("td", {class: "grad"});
      const data = el("td", {class: "data"}, num(NODES[i].data));
      const row = el("tr", {"data-node": String(i)},
        el("td", {class: "idx"}, String(i)),
        el("td", {class: "label"}, label(i)),
        el("td", {class: "formula"}, NODES[i].op ? NODES[i].math : "input"),
        data,
        cell);
      row.addEventListener("click", () => showNode(i));
      rows.push(row);
      gradCells.push(cell);
      dataCells.push(data);
      body.append(row);
    }
  })();

  function paintTable(t, grads) {
    for (let i = 0; i < N; i++) {
      const state = stateAt(i, t);
      const cell = gradCells[i];
      const text = state === "none" ? "\u2014" : state === "partial" ? "partial " + fmt(grads[i]) + "\u2026"
        : "final " + fmt(grads[i]);
      if (cell.textContent !== text || cell.dataset.state !== state) {
        cell.textContent = text;
        cell.className = "grad g-" + state;
      }
      cell.dataset.state = state;
      cell.dataset.grad = state === "none" ? "" : String(grads[i]);
      const isKnown = known(i, t);
      if (dataCells[i].dataset.known !== String(isKnown)) {
        clear(dataCells[i]);
        dataCells[i].append(isKnown ? num(NODES[i].data) : "?");
        dataCells[i].dataset.known = String(isKnown);
      }
    }
  }

  // --- the explanation of one position ----------------------------------------------------

  const explain = $("explain");

  function explainAt(t) {
    clear(explain);
    const ph = phase(t);
    if (ph.kind === "forward") {
      if (ph.k === 0) explainForwardStart();
      else explainForward(ph.k - 1);
    } else if (ph.kind === "update") {
      explainUpdate();
    } else if (ph.p === 0) {
      explainBackwardStart();
    } else {
      explainStep(ph.p - 1);
    }
    const mine = verdicts[t - 1];
    if (mine) explain.append(verdictBox(mine));
  }

  function explainForwardStart() {
    const inputs = NODES.map((node, i) => i).filter((i) => !NODES[i].op);
    explain.append(
      el("h2", {}, "Forward pass: the inputs are given"),
      el("p", {}, "Inputs: " + inputs.map((i) => label(i) + " = " + fmt(NODES[i].data)).join(", ") + "."),
      el("p", {}, "Each op node computes its value from its parents\u2019 values, inputs first, until the output ",
        name(ROOT), ". Press Next (or \u2192)."));
  }

  function explainForward(k) {
    const step = FORWARD[k];
    const i = step.node;
    const node = NODES[i];
    explain.append(
      el("h2", {}, "Forward step " + (k + 1) + " of " + F + ": ", name(i)),
      el("p", {class: "equation"}, label(i) + " = " + node.math + " = " + node.numbers + " = ", num(step.value, "value")),
      el("p", {class: "where"}, "Its parents: " + node.parents.map((p) => label(p) + " = " + fmt(NODES[p].data)).join(", ")));
    if (k === F - 1) {
      explain.append(el("p", {class: "done"}, "The forward pass is done: " + label(ROOT) + " = " + fmt(NODES[ROOT].data) +
        ". Next comes the backward pass."));
    }
  }

  function explainBackwardStart() {
    explain.append(
      el("h2", {}, "Backward pass: start"),
      el("p", {}, "The backward pass begins at the output ", name(ROOT), ": its grad is ",
        el("b", {}, dL(ROOT) + " = 1"), ": nudging " + label(ROOT) + " moves " + label(ROOT) + " by exactly as much."),
      el("p", {}, B
        ? "Every other node waits for its children. Press Next (or the \u2192 key) to let " + label(STEPS[0].node) +
          " send gradient to its parents."
        : "The output has no parents: there is nothing to send."));
  }

  function explainStep(s) {
    const step = STEPS[s];
    const i = step.node;
    explain.append(el("h2", {}, "Backward step " + (s + 1) + " of " + B + ": ", name(i),
      " = " + NODES[i].math));
    explain.append(el("p", {}, "Upstream gradient ", el("b", {}, dL(i) + " = "), num(step.upstream, "upstream"),
      i === ROOT ? " (the output: 1 by definition)" : " (final: every child of " + label(i) + " has sent its share)"));
    const list = el("ol", {class: "edges"});
    step.edges.forEach((edge) => list.append(explainEdge(step, edge)));
    explain.append(list);
    if (s === B - 1) {
      explain.append(el("p", {class: "done"}, "Done: every grad is final. These are the numbers backward() leaves."));
    }
  }

  function explainEdge(step, edge) {
    const i = step.node;
    const p = edge.parent;
    const d = "\u2202" + wrap(label(i)) + "/\u2202" + wrap(label(p));
    const item = el("li", {class: "edge-info", "data-parent": String(p)},
      el("div", {}, "to ", name(p), ": ", el("code", {}, edge.math)),
      el("div", {}, "local " + d + " = ", num(edge.local, "local")),
      el("div", {}, "upstream \u00d7 local = " + fmt(step.upstream) + " \u00d7 " + fmt(edge.local) + " = ",
        num(edge.contribution, "contribution")),
      el("div", {}, dL(p) + ": ", num(edge.before, "before"), " \u2192 ", num(edge.after, "after")));
    if (edge.arrival > 1) {
      item.append(el("div", {class: "multipath"},
        "This is the multi-path sum: " + label(p) + " already held " + fmt(edge.before) + " from " +
        (edge.arrival - 1) + (edge.arrival === 2 ? " earlier contribution" : " earlier contributions") +
        "; gradients arriving along different paths add up."));
    }
    const left = edge.arrivals - edge.arrival;
    item.append(el("div", {class: "status"}, left === 0
      ? label(p) + "\u2019s grad is now final."
      : label(p) + " is waiting for " + left + " more " + (left === 1 ? "contribution" : "contributions") + "."));
    return item;
  }

  function explainUpdate() {
    explain.append(el("h2", {}, "Update: one step of gradient descent"),
      el("p", {}, "Each parameter moves against its gradient: new = old \u2212 lr \u00d7 grad, with lr = " +
        fmt(UPDATE.lr) + "."));
    const table = el("table", {class: "update"},
      el("thead", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "old"), el("th", {}, "grad"),
        el("th", {}, "new = old \u2212 lr \u00d7 grad"))));
    const body = el("tbody");
    for (const row of UPDATE.params) {
      body.append(el("tr", {"data-node": String(row.node)}, el("td", {}, label(row.node)), el("td", {}, num(row.old, "old")),
        el("td", {}, num(row.grad, "grad")),
        el("td", {}, fmt(row.old) + " \u2212 " + fmt(UPDATE.lr) + " \u00d7 " + fmt(row.grad) + " = ", num(row.new, "new"))));
    }
    table.append(body);
    explain.append(table);
    if (UPDATE.problem) {
      explain.append(el("p", {class: "loss"}, "The loss cannot be computed at the new values: " + UPDATE.problem));
      return;
    }
    const down = UPDATE.after < UPDATE.before;
    explain.append(el("p", {class: "loss"}, label(ROOT) + " before: ", num(UPDATE.before, "loss-before"),
      " \u2192 after: ", num(UPDATE.after, "loss-after"),
      down ? " (down by " + fmt(UPDATE.before - UPDATE.after) + ")" : " (not down: try a smaller lr)"));
  }

  // --- quiz: the next step as questions ---------------------------------------------------

  const quizBox = $("quizbox");
  const verdicts = {}; // position t -> the questions of the step t -> t + 1, once settled
  const attempts = {}; // position t -> the questions being worked on
  const RANK = {first: 0, retry: 1, revealed: 2};

  /** The questions about the step from t to t + 1: [{key, text, expected}], empty when nothing is asked. */
  function questions(t) {
    if (!QUIZ || t >= LAST) return [];
    const ph = phase(t + 1);
    const list = [];
    if (ph.kind === "forward" && ASKS.forward) {
      const i = FORWARD[ph.k - 1].node;
      list.push({key: "v" + i, kind: "forward", text: label(i) + " = " + NODES[i].math + " = ?", expected: NODES[i].data});
    }
    if (ph.kind === "backward" && ph.p > 0) {
      const step = STEPS[ph.p - 1];
      const i = step.node;
      if (ASKS.local) {
        for (const edge of step.edges) {
          list.push({key: "l" + edge.k, kind: "local", text: "local \u2202" + wrap(label(i)) + "/\u2202" + wrap(label(edge.parent)),
            expected: edge.local});
        }
      }
      if (ASKS.grad) {
        const seen = new Map(); // one answer per distinct parent: its grad after the whole step (x*x adds twice)
        for (const edge of step.edges) {
          const before = seen.has(edge.parent) ? seen.get(edge.parent).before : edge.before;
          seen.set(edge.parent, {before: before, after: edge.after});
        }
        for (const [parent, g] of seen) {
          list.push({key: "g" + parent, kind: "grad", text: dL(parent) + " (now " + fmt(g.before) + ") \u2192",
            expected: g.after});
        }
      }
    }
    return list;
  }

  const answered = (t) => questions(t).length === 0 || verdicts[t] !== undefined;

  /** The furthest position the student may reach: up to the first step whose questions are open. */
  function reachable() {
    for (let t = 0; t < LAST; t++) if (!answered(t)) return t;
    return LAST;
  }

  /** A typed answer as a number: decimals, 1e-3, and fractions such as -3/4. NaN when it is neither. */
  function parseAnswer(typed) {
    const text = typed.trim().replace(/\u2212/g, "-");
    const fraction = /^([-+]?[0-9.]+(?:e[-+]?\d+)?)\s*\/\s*([-+]?[0-9.]+(?:e[-+]?\d+)?)$/i.exec(text);
    if (fraction) return Number(fraction[1]) / Number(fraction[2]);
    if (text === "" || !/^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?\d+)?$|^[-+]?inf$|^nan$/i.test(text)) return NaN;
    if (/inf$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
    if (/^nan$/i.test(text)) return NaN;
    return Number(text);
  }

  function isRight(typed, expected) {
    const answer = parseAnswer(typed);
    if (Number.isNaN(expected)) return /^\s*nan\s*$/i.test(typed);
    if (Number.isNaN(answer)) return false;
    if (!Number.isFinite(expected)) return answer === expected;
    const error = Math.abs(answer - expected);
    return error <= ABSOLUTE || error <= RELATIVE * Math.abs(expected);
  }

  function settle(t, list) {
    const worst = list.reduce((a, q) => (RANK[q.outcome] > RANK[a] ? q.outcome : a), "first");
    verdicts[t] = {outcome: worst, questions: list};
    delete attempts[t];
    go(t + 1);
    const next = quizBox.querySelector("input");
    if (next && !quizBox.hidden) next.focus({preventScroll: true});
  }

  function paintQuiz(t) {
    const list = questions(t);
    quizBox.hidden = !list.length || verdicts[t] !== undefined;
    if (quizBox.hidden) return;
    if (!attempts[t]) attempts[t] = list.map((q) => Object.assign({tries: 0, outcome: null, typed: ""}, q));
    const work = attempts[t];
    clear(quizBox);
    const ph = phase(t + 1);
    quizBox.append(el("h2", {}, "Your turn: " + (ph.kind === "forward" ? "forward step " + ph.k + " of " + F
      : "backward step " + ph.p + " of " + B)));
    if (ph.kind === "forward") {
      quizBox.append(el("p", {}, "Compute the value of ", name(FORWARD[ph.k - 1].node), " from its parents\u2019 values."));
    } else {
      const step = STEPS[ph.p - 1];
      const i = step.node;
      quizBox.append(el("p", {}, name(i), " = " + NODES[i].math + " sends its gradient ",
        el("b", {}, dL(i) + " = " + fmt(step.upstream)), " to its parents."));
      if (!ASKS.local) quizBox.append(el("p", {class: "rule"}, "Local rule: ", el("code", {}, step.math)));
      quizBox.append(el("p", {}, ASKS.local && ASKS.grad
        ? "Give each local derivative, then each parent\u2019s grad after this step (upstream \u00d7 local, added)."
        : ASKS.local ? "Give each edge\u2019s local derivative." : "Multiply the upstream gradient by each local " +
          "derivative and add it to the parent\u2019s grad. What is each parent\u2019s grad after this step?"));
    }
    const form = el("form", {class: "quiz", autocomplete: "off"});
    const inputs = [];
    for (const q of work) {
      const input = el("input", {type: "text", inputmode: "decimal", "data-key": q.key, "data-kind": q.kind,
        "aria-label": q.text});
      if (q.key.startsWith("g")) input.setAttribute("data-parent", q.key.slice(1));
      input.value = q.typed;
      const mark = q.outcome ? el("span", {class: "mark right"}, "\u2714 " + fmt(q.expected))
        : q.tries ? el("span", {class: "mark wrong"}, "\u2718 not " + q.typed + ": try again") : null;
      if (q.outcome) input.disabled = true;
      inputs.push([q, input]);
      form.append(el("label", {}, el("span", {}, q.text + " "), input, mark));
    }
    const check = el("button", {type: "submit", id: "check"}, "Check");
    const reveal = el("button", {type: "button", id: "reveal"}, "Show the answer");
    form.append(el("div", {class: "buttons"}, check, reveal));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      for (const [q, input] of inputs) {
        if (q.outcome) continue;
        q.typed = input.value.trim();
        if (isRight(q.typed, q.expected)) q.outcome = q.tries ? "retry" : "first";
        else q.tries += 1;
      }
      if (work.every((q) => q.outcome)) settle(t, work);
      else paint();
    });
    reveal.addEventListener("click", () => {
      for (const q of work) if (!q.outcome) q.outcome = "revealed";
      settle(t, work);
    });
    quizBox.append(form);
  }

  function verdictBox(v) {
    const box = el("div", {class: "verdicts"}, el("h3", {}, "Your answers"));
    for (const q of v.questions) {
      const words = {first: "\u2714 right first time: ", retry: "\u2714 right after a retry: ",
        revealed: "\u2794 revealed: "}[q.outcome];
      box.append(el("p", {class: q.outcome}, words + q.text.replace(/ = \?$/, "").replace(/ \(now .*$/, "") +
        " = " + fmt(q.expected)));
    }
    return box;
  }

  // --- the score at the end --------------------------------------------------------------

  const scoreBox = $("scorebox");
  let scoreNote = ""; // the seed of a student's own numbers (variants), shown with the score

  function paintScore(t) {
    const gated = [];
    for (let s = 0; s < LAST; s++) if (questions(s).length) gated.push(s);
    scoreBox.hidden = !QUIZ || t !== LAST || !gated.length;
    if (scoreBox.hidden) return;
    clear(scoreBox);
    const count = {first: 0, retry: 0, revealed: 0};
    const list = el("ol", {class: "per-step"});
    for (const s of gated) {
      const v = verdicts[s];
      count[v.outcome] += 1;
      const ph = phase(s + 1);
      const what = ph.kind === "forward" ? "forward step " + ph.k + ": " + label(FORWARD[ph.k - 1].node)
        : "backward step " + ph.p + ": " + label(STEPS[ph.p - 1].node);
      list.append(el("li", {class: v.outcome, "data-outcome": v.outcome}, what + " \u2014 " +
        {first: "right first time", retry: "right after a retry", revealed: "revealed"}[v.outcome]));
    }
    const restart = el("button", {type: "button", id: "restart"}, "Restart the quiz");
    restart.addEventListener("click", () => {
      for (const key of Object.keys(verdicts)) delete verdicts[key];
      for (const key of Object.keys(attempts)) delete attempts[key];
      go(0);
    });
    scoreBox.append(el("h2", {}, "Your score"),
      el("p", {class: "score", "data-first": String(count.first), "data-retry": String(count.retry),
        "data-revealed": String(count.revealed)},
        count.first + " of " + gated.length + " steps right first time, " + count.retry + " right after a retry, " +
        count.revealed + " revealed."), list, restart);
    if (scoreNote) restart.before(el("p", {class: "seed", "data-seed": scoreNote}, "Your numbers: seed " + scoreNote));
  }

  // --- the click view: one node's gradient, locally and globally --------------------------

  const nodeView = $("nodeview");
  let viewing = -1;

  function showNode(i) {
    viewing = i;
    paintNode();
    nodeView.scrollIntoView({block: "nearest"});
  }

  function paintNode() {
    nodeView.hidden = viewing < 0;
    if (viewing < 0) return;
    const i = viewing;
    const p = phase(pos).kind === "backward" ? phase(pos).p : phase(pos).kind === "update" ? B : 0;
    clear(nodeView);
    const close = el("button", {type: "button", class: "close", "aria-label": "close"}, "\u00d7");
    close.addEventListener("click", () => { viewing = -1; paintNode(); });
    nodeView.append(close, el("h2", {}, "The gradient of ", name(i), " two ways"));
    if (QUIZ && p < finalAt[i]) {
      nodeView.append(el("p", {}, "Quiz mode: this is shown once the backward pass has finished " + label(i) +
        " (after backward step " + finalAt[i] + ")."));
      return;
    }
    nodeView.append(el("p", {}, dL(i) + " = ", num(NODES[i].grad, "grad"),
      p < finalAt[i] ? " once the pass is over (" + label(i) + " is final after backward step " + finalAt[i] +
        "; the graph shows backward step " + p + ")" : ""));
    nodeView.append(localForm(i), globalForm(i));
  }

  function localForm(i) {
    const box = el("div", {class: "form local"}, el("h3", {}, "Local form: a sum over its children"));
    if (i === ROOT) {
      box.append(el("p", {}, label(i) + " is the output: " + dL(i) + " = 1."));
      return box;
    }
    box.append(el("p", {class: "math"}, dL(i) + " = \u03a3 over children c of \u2202" + wrap(label(ROOT)) +
      "/\u2202c \u00d7 \u2202c/\u2202" + wrap(label(i))));
    const list = el("ul", {class: "terms"});
    let sum = 0;
    for (const {s, edge} of incoming[i]) {
      const child = STEPS[s].node;
      sum += edge.contribution;
      list.append(el("li", {class: "term"}, "from ", name(child), " (backward step " + (s + 1) + "): ",
        num(STEPS[s].upstream, "upstream"), " \u00d7 ", num(edge.local, "local"), " = ",
        num(edge.contribution, "product")));
    }
    box.append(list, el("p", {class: "sum"}, "sum = ", num(sum, "local-sum")));
    return box;
  }

  function globalForm(i) {
    const form = DATA.paths[i];
    const box = el("div", {class: "form global"}, el("h3", {}, "Global form: a sum over paths from " + label(ROOT)));
    box.append(el("p", {class: "math"}, dL(i) + " = \u03a3 over paths of the product of the local derivatives along it"));
    const count = form.countText;  // exact, or "about 1.4 × 10^331": never a rounded float
    if (!form.paths) {
      const why = {
        "too many": "more than " + DATA.pathLimit + " to list here",
        "too long": "too long to list here",
        "large graph": "not listed on a graph this large",
      }[form.why] || "not listed";
      box.append(el("p", {class: "path-count"}, "There " + (form.count === 1 ? "is 1 path" : "are " + count + " paths") +
        " from " + label(ROOT) + " to " + label(i) + ": " + why + ". Backprop never lists them: " +
        "the local form above adds the same products in one pass."));
      return box;
    }
    const list = el("ol", {class: "paths"});
    let sum = 0;
    for (const path of form.paths) {
      sum += path.product;
      const route = path.nodes.map(label).join(" \u2192 ");
      const factors = path.locals.length ? path.locals.map(fmt).join(" \u00d7 ") : "(no edges)";
      list.append(el("li", {class: "path"}, el("div", {class: "route"}, route),
        el("div", {}, factors + " = ", num(path.product, "product"))));
    }
    box.append(el("p", {class: "path-count"}, form.count === 1 ? "1 path:" : count + " paths:"), list,
      el("p", {class: "sum"}, "sum = ", num(sum, "global-sum")));
    return box;
  }

  let dragged = false; // a pan just ended: the click that ends it is not a click on a node
  if (svg) {
    svg.addEventListener("click", (event) => {
      if (dragged) return;
      const group = event.target.closest("g.node");
      const match = group && /^(?:v|op)(\d+)$/.exec(group.id);
      if (match) showNode(Number(match[1]));
    });
  }

  // --- zoom and pan ------------------------------------------------------------------------

  // The SVG is drawn at `scale` CSS px per Graphviz unit, as real width and height: the box
  // scrolls, browser zoom enlarges it like any other content, and text heights are exact.
  const view = svg && svg.viewBox && svg.viewBox.baseVal;
  let W = view && view.width ? view.width : 1;
  let H = view && view.height ? view.height : 1;
  let scale = 1;
  let smallestText = 0; // the height of the smallest text, in Graphviz units

  function measureText() {
    let smallest = Infinity;
    if (svg) {
      for (const text of svg.querySelectorAll("text")) {
        const h = text.getBBox().height;
        if (h > 0 && h < smallest) smallest = h;
      }
    }
    return Number.isFinite(smallest) ? smallest : 14;
  }

  function setScale(s) {
    scale = Math.min(12, Math.max(0.05, s));
    if (!svg) return;
    svg.setAttribute("width", String(W * scale));
    svg.setAttribute("height", String(H * scale));
    svg.style.width = W * scale + "px";
    svg.style.height = H * scale + "px";
    graphBox.dataset.scale = String(scale);
    reveal();
  }

  const roomWidth = () => Math.max(200, graphBox.clientWidth - 4);
  const roomHeight = () => Math.max(200, Math.min(graphBox.clientHeight || Infinity, window.innerHeight * 0.62) - 4);
  const fitScale = () => Math.min(roomWidth() / W, roomHeight() / H);
  /** The scale at which the smallest text is `px` CSS pixels tall. */
  const textScale = (px) => px / smallestText;

  /** The default zoom: text at 16 px or more for a graph of up to 16 nodes, 12 px for a larger one. */
  function defaultScale() {
    if (N <= 16) return Math.max(textScale(17), Math.min(fitScale(), textScale(26)));
    return Math.max(textScale(13), Math.min(fitScale(), textScale(16.5)));
  }

  /** Zoom to s keeping the graph point under (cx, cy) where it is on the screen. */
  function zoomAt(s, cx, cy) {
    if (!svg) return;
    const before = svg.getBoundingClientRect();
    const ux = (cx - before.left) / scale;
    const uy = (cy - before.top) / scale;
    setScale(s);
    const after = svg.getBoundingClientRect();
    graphBox.scrollLeft += after.left + ux * scale - cx;
    graphBox.scrollTop += after.top + uy * scale - cy;
  }

  function zoomBy(factor) {
    const box = graphBox.getBoundingClientRect();
    zoomAt(scale * factor, box.left + box.width / 2, box.top + box.height / 2);
  }

  function fit() {
    setScale(fitScale());
  }

  graphBox.addEventListener("scroll", reveal, {passive: true});
  window.addEventListener("resize", reveal);
  window.addEventListener("beforeprint", () => { // paper shows every box
    culling = false;
    paint();
    for (const hook of revealHooks) hook();
  });
  window.addEventListener("afterprint", () => { culling = N >= CULL_FROM && !!svg; });

  graphBox.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return; // a plain wheel scrolls; Ctrl+wheel (and a trackpad's pinch) zooms
    event.preventDefault();
    zoomAt(scale * Math.exp(-event.deltaY * 0.002), event.clientX, event.clientY);
  }, {passive: false});

  // Drag to pan (mouse and pen); two fingers pinch to zoom.
  const pointers = new Map();
  let drag = null;
  let pinch = null;
  graphBox.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    if (pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      pinch = {distance: Math.hypot(a.x - b.x, a.y - b.y), scale: scale};
      drag = null;
      return;
    }
    if (event.pointerType === "touch" || event.button !== 0) return;
    drag = {x: event.clientX, y: event.clientY, left: graphBox.scrollLeft, top: graphBox.scrollTop, moved: false};
    dragged = false;
  });
  graphBox.addEventListener("pointermove", (event) => {
    if (pointers.has(event.pointerId)) pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    if (pinch && pointers.size === 2) {
      const [a, b] = Array.from(pointers.values());
      zoomAt(pinch.scale * Math.hypot(a.x - b.x, a.y - b.y) / pinch.distance, (a.x + b.x) / 2, (a.y + b.y) / 2);
      return;
    }
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 5) return;
    drag.moved = true;
    graphBox.classList.add("panning");
    graphBox.scrollLeft = drag.left - dx;
    graphBox.scrollTop = drag.top - dy;
  });
  function release(event) {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag) {
      dragged = drag.moved;
      graphBox.classList.remove("panning");
      drag = null;
      setTimeout(() => { dragged = false; }, 0);
    }
  }
  graphBox.addEventListener("pointerup", release);
  graphBox.addEventListener("pointercancel", release);

  /** Scroll the graph so the elements with these ids are in view: all of them if they fit, else the first;
   * with `centre`, in the middle of the box even if they were in view already. */
  function bringIntoView(ids, centre) {
    const rects = ids.map((id) => document.getElementById(id)).filter(Boolean).map((e) => e.getBoundingClientRect());
    if (!rects.length) return;
    const box = graphBox.getBoundingClientRect();
    const inner = {left: box.left + 4, top: box.top + 4, right: box.left + graphBox.clientWidth - 4,
      bottom: box.top + graphBox.clientHeight - 4};
    let r = {left: Math.min(...rects.map((q) => q.left)), top: Math.min(...rects.map((q) => q.top)),
      right: Math.max(...rects.map((q) => q.right)), bottom: Math.max(...rects.map((q) => q.bottom))};
    const shrink = Math.min((inner.right - inner.left) / (r.right - r.left), (inner.bottom - inner.top) / (r.bottom - r.top));
    if (shrink < 1) {
      // The step does not fit (a phone, a wide node): zoom out until it does, while text stays readable.
      const s = Math.max(textScale(9), scale * shrink * 0.95);
      if (s < scale) {
        setScale(s);
        bringIntoView(ids, centre);
        return;
      }
      r = rects[0];
    }
    const visible = r.left >= inner.left && r.right <= inner.right && r.top >= inner.top && r.bottom <= inner.bottom;
    if (visible && !centre) return;
    graphBox.scrollLeft += (r.left + r.right) / 2 - (inner.left + inner.right) / 2;
    graphBox.scrollTop += (r.top + r.bottom) / 2 - (inner.top + inner.bottom) / 2;
  }

  // --- controls ------------------------------------------------------------------------

  let pos = 0;
  let timer = null;
  let opened = false;
  const slider = $("slider");
  slider.max = String(LAST);

  function go(t) {
    pos = Math.max(0, Math.min(LAST, reachable(), t));
    if (pos >= LAST) stop();
    paint();
  }

  function paint() {
    const ph = phase(pos);
    const grads = gradsAt(ph.kind === "backward" ? ph.p : ph.kind === "update" ? B : 0);
    paintGraph(pos, grads);
    paintEdges(pos);
    paintTable(pos, grads);
    highlight(pos);
    if (overlay) overlay.paint({phase: ph, grads: grads, state: (i) => stateAt(i, pos), known: (i) => known(i, pos),
      data: (i) => NODES[i].data});
    explainAt(pos);
    paintQuiz(pos);
    paintScore(pos);
    paintNode();
    slider.value = String(pos);
    $("position").textContent = positionWords(pos);
    $("prev").disabled = pos === 0;
    $("reset").disabled = pos === 0;
    $("next").disabled = pos >= LAST || !answered(pos);
    $("next").title = answered(pos) ? "next step (Right arrow)" : "answer the question first, or press \u201cShow the answer\u201d";
    document.body.dataset.position = String(pos);
    document.body.dataset.phase = ph.kind;
    bringIntoView(overlay ? overlay.focus(focusIds(pos)) : focusIds(pos), !opened); // the page opens centred on the step (a large graph starts zoomed in)
    opened = true;
    // Views painted by other assets (tangent.js) draw on top of this.
    document.dispatchEvent(new CustomEvent("chainrule:paint", {detail: {position: pos, phase: ph}}));
  }

  function positionWords(t) {
    const ph = phase(t);
    if (ph.kind === "forward") return "forward " + ph.k + " of " + F;
    if (ph.kind === "update") return "update";
    return "backward " + ph.p + " of " + B;
  }

  function play() {
    if (pos >= LAST) go(0);
    $("play").textContent = "\u275a\u275a Pause";
    $("play").setAttribute("aria-pressed", "true");
    timer = setInterval(() => {
      if (pos >= Math.min(LAST, reachable())) stop(); // at the end, or at a question
      else go(pos + 1);
    }, 1200);
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("play").textContent = "\u25b6 Play";
    $("play").setAttribute("aria-pressed", "false");
  }

  const togglePlay = () => (timer === null ? play() : stop());

  $("next").addEventListener("click", () => go(pos + 1));
  $("prev").addEventListener("click", () => go(pos - 1));
  $("reset").addEventListener("click", () => { stop(); go(0); });
  $("play").addEventListener("click", togglePlay);
  slider.addEventListener("input", () => go(Number(slider.value)));
  $("zoom-in").addEventListener("click", () => zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => zoomBy(0.8));
  $("zoom-fit").addEventListener("click", fit);

  // Themes: follow the system (light or dark) until the toggle picks one; high contrast is the third.
  const THEMES = ["light", "dark", "contrast"];
  function setTheme(theme) {
    document.documentElement.dataset.theme = theme;
    $("theme").textContent = "Theme: " + theme;
  }
  $("theme").addEventListener("click", () => {
    const now = document.documentElement.dataset.theme ||
      (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    setTheme(THEMES[(THEMES.indexOf(now) + 1) % THEMES.length]);
  });

  function togglePresent() {
    document.body.classList.toggle("present");
    $("present").setAttribute("aria-pressed", String(document.body.classList.contains("present")));
    paint();
  }
  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  }
  $("present").addEventListener("click", togglePresent);
  $("fullscreen").addEventListener("click", toggleFullscreen);

  const isAnswerBox = (target) => target && (target.tagName === "TEXTAREA" || target.isContentEditable ||
    (target.tagName === "INPUT" && target.type !== "range"));

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (isAnswerBox(target)) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target && target.type === "range" && event.key.startsWith("Arrow")) return; // the slider steps itself
    const actions = {
      ArrowRight: () => go(pos + 1),
      ArrowDown: () => go(pos + 1),
      ArrowLeft: () => go(pos - 1),
      ArrowUp: () => go(pos - 1),
      Home: () => go(0),
      End: () => go(LAST),
      " ": togglePlay,
      "+": () => zoomBy(1.25),
      "=": () => zoomBy(1.25),
      "-": () => zoomBy(0.8),
      "0": fit,
      f: toggleFullscreen,
      p: togglePresent,
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault(); // Space on a focused button would click it as well: play/pause only
    action();
  });
  // A button activates on Space's keyup: already handled on keydown.
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && !isAnswerBox(event.target)) event.preventDefault();
  });

  if (overlay) {
    overlay.start({fmt: fmt, gradWords: gradWords, resized: () => {
      W = view.width;
      H = view.height;
      setScale(scale);
    }});
  }
  smallestText = measureText();
  setScale(defaultScale());

  // For the browser console, course sites and the tests.
  window.chainrule = {
    /** Every node in topological order: display name, op, value and (final) grad. */
    nodes: () => NODES.map((node) => ({name: node.name, op: node.op, data: node.data, grad: node.grad})),
    /** Go to position k (0 is the start); returns where the page is (a quiz may hold it back). */
    step: (k) => { go(k); return pos; },
    /** How many steps the page has: positions run from 0 to steps(). */
    steps: () => LAST,
    position: () => pos,
    phase: () => phase(pos),
    fmt: fmt,
    /** The recorded pass, as the page read it (inf and nan revived): for views in other assets. */
    data: DATA,
  };
  window.chainruleStepper = {fmt: fmt, go: go, position: () => pos, steps: LAST};
  // What the what-if panel (live_page.js) needs: the data it recomputes in place, and a repaint.
  window.chainruleStepper.internals = {
    DATA: DATA, NODES: NODES, FORWARD: FORWARD, STEPS: STEPS, UPDATE: UPDATE, ROOT: ROOT,
    fmt: fmt, el: el, clear: clear, dataWords: dataWords, edgeLabel: edgeLabel, valueBox: valueBox,
    rows: rows, dataCells: dataCells,
    /** Large graphs paint only what is in view: culling(), viewRect(), inView(element, view), and
     * onReveal(hook) to paint more when the view moves. */
    culling: () => culling, viewRect: viewRect, inView: inView, onReveal: (hook) => revealHooks.push(hook),
    /** Everything painted again from the data, as if the page had just opened at this position. */
    refresh: () => {
      shown.fill(null);
      edgesHidden.fill(null);
      dataCells.forEach((cell, i) => { // the values in place: a thousand new elements cost more than new text
        const shownValue = cell.firstElementChild;
        if (!shownValue) return;
        shownValue.textContent = fmt(NODES[i].data);
        shownValue.dataset.value = String(NODES[i].data);
      });
      go(pos);
    },
    /** New numbers make old answers meaningless: the quiz starts again. */
    resetQuiz: () => {
      for (const key of Object.keys(verdicts)) delete verdicts[key];
      for (const key of Object.keys(attempts)) delete attempts[key];
    },
    setScoreNote: (text) => { scoreNote = text; },
  };
  go(0);
  document.body.dataset.ready = "true";
})();
