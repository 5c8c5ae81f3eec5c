/* chainrule's backward stepper: the page's behaviour.
 *
 * The data block (id "data") holds one backward pass, recorded in Python by
 * autograd.backward_steps: the nodes in topological order, then one step per
 * node that has parents, in the order backward() visits them. "Position" p is
 * how many steps have been applied: p = 0 is the start (only the output has a
 * gradient, dL/dL = 1), p = steps.length is the end of the pass.
 *
 * Every grad the page shows is recomputed from the steps, never guessed: at
 * position p a node's grad is the "after" of the last edge into it among the
 * first p steps. It is "final" once every child has sent its share.
 *
 * User text (names, the title) is only ever placed with textContent.
 */
(function () {
  "use strict";

  // --- the data --------------------------------------------------------------------

  // Python writes inf and nan as {"float": "inf"}; JSON has no such numbers.
  function revive(key, value) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) &&
        typeof value.float === "string" && Object.keys(value).length === 1) {
      return {inf: Infinity, "-inf": -Infinity}[value.float] ?? NaN;
    }
    return value;
  }

  const DATA = JSON.parse(document.getElementById("data").textContent, revive);
  const NODES = DATA.nodes;
  const STEPS = DATA.steps;
  const ROOT = DATA.root;
  const N = NODES.length;
  const QUIZ = DATA.quiz;
  const TOLERANCE = 1e-3; // quiz answers: relative error allowed

  // incoming[i]: every edge that sends gradient into node i, in the order the pass sends it.
  const incoming = NODES.map(() => []);
  const stepOf = new Array(N).fill(-1); // the step in which node i sends its gradient
  STEPS.forEach((step, s) => {
    stepOf[step.node] = s;
    step.edges.forEach((edge) => incoming[edge.parent].push({s: s, edge: edge}));
  });
  // A node is reached after its first incoming step and final after its last.
  const firstAt = incoming.map((list) => (list.length ? list[0].s + 1 : Infinity));
  const finalAt = incoming.map((list) => (list.length ? list[list.length - 1].s + 1 : Infinity));
  firstAt[ROOT] = 0;
  finalAt[ROOT] = 0;

  // --- numbers and names -----------------------------------------------------------

  /** x as Python's format(x, ".4g") writes it, so the page agrees with the graph and the tables. */
  function fmt(x) {
    if (Number.isNaN(x)) return "nan";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const [mantissa, exponent] = x.toExponential(3).split("e");
    const e = parseInt(exponent, 10);
    if (e < -4 || e >= 4) {
      return strip(mantissa) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
    }
    return strip(x.toFixed(3 - e));
  }

  function strip(text) {
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  const label = (i) => NODES[i].label;
  const dL = (i) => "dL/d" + wrap(label(i));
  function wrap(text) {
    // dL/dw, dL/d(-), dL/d(my name): brackets only where the name needs them.
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) || /^\([^()]*\)$/.test(text) ? text : "(" + text + ")";
  }

  // --- small DOM helpers: text only, never markup ---------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  const num = (x, cls) => el("span", {class: "num" + (cls ? " " + cls : ""), "data-value": String(x)}, fmt(x));
  const name = (i) => el("span", {class: "name"}, label(i));

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const $ = (id) => document.getElementById(id);

  // --- the state of the pass at position p -------------------------------------------

  /** Each node's grad after the first p steps: replay their edges (each edge records "after"). */
  function gradsAt(p) {
    const grads = new Array(N).fill(0);
    grads[ROOT] = 1;
    for (let s = 0; s < p; s++) {
      for (const edge of STEPS[s].edges) grads[edge.parent] = edge.after;
    }
    return grads;
  }

  function stateAt(i, p) {
    if (p >= finalAt[i]) return "final";
    if (p >= firstAt[i]) return "partial";
    return "none";
  }

  // --- the graph ----------------------------------------------------------------------

  const graphBox = $("graph");
  const svg = graphBox.querySelector("svg");
  const valueBox = new Array(N).fill(null);
  const gradText = new Array(N).fill(null);
  const boxWidth = new Array(N).fill(0);
  if (svg) {
    svg.setAttribute("role", "img");
    svg.dataset.width = svg.getAttribute("width") || "";
    svg.dataset.height = svg.getAttribute("height") || "";
    for (let i = 0; i < N; i++) {
      const group = svg.getElementById ? svg.getElementById("v" + i) : document.getElementById("v" + i);
      if (!group) continue;
      valueBox[i] = group;
      const texts = Array.from(group.querySelectorAll("text"));
      gradText[i] = texts.reverse().find((t) => t.textContent.startsWith("grad")) || null;
      const shape = group.querySelector("polygon");
      if (shape) boxWidth[i] = shape.getBBox ? shape.getBBox().width : 0;
      const title = group.querySelector("title");
      if (title) title.textContent = label(i) + " = " + NODES[i].formula;
    }
    for (const group of svg.querySelectorAll("g.node")) group.classList.add("clickable");
  }

  function gradWords(grad, state) {
    if (state === "none") return "grad \u2014";
    if (state === "partial") return "grad " + fmt(grad) + "\u2026";
    return "grad " + fmt(grad);
  }

  const shown = new Array(N).fill(null); // what each box shows now, to touch only what changes

  function paintGraph(p, grads) {
    const changed = [];
    for (let i = 0; i < N; i++) {
      const state = stateAt(i, p);
      const words = gradWords(grads[i], state);
      if (shown[i] === words + state) continue;
      shown[i] = words + state;
      const group = valueBox[i];
      if (!group) continue;
      group.classList.remove("g-none", "g-partial", "g-final");
      group.classList.add("g-" + state);
      if (gradText[i]) {
        gradText[i].textContent = words;
        gradText[i].removeAttribute("textLength");
        changed.push(i);
      }
    }
    // Squeeze a grad that outgrew its box (bold and "..." are wider than what dot measured).
    for (const i of changed) {
      const room = boxWidth[i] - 6;
      if (room > 0 && gradText[i].getComputedTextLength() > room) {
        gradText[i].setAttribute("textLength", String(room));
        gradText[i].setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    }
  }

  let hot = [];

  function highlight(s) {
    for (const [node, cls] of hot) node.classList.remove(cls);
    hot = [];
    const mark = (id, cls) => {
      const node = document.getElementById(id);
      if (node) {
        node.classList.add(cls);
        hot.push([node, cls]);
      }
    };
    if (s < 0) {
      mark("v" + ROOT, "current");
      return;
    }
    const i = STEPS[s].node;
    mark("v" + i, "current");
    mark("op" + i, "current");
    mark("e" + i, "sending");
    for (const edge of STEPS[s].edges) {
      mark("e" + i + "_" + edge.k, "sending");
      mark("v" + edge.parent, "receiving");
    }
    for (const [row, cls] of rowsFor(s)) {
      row.classList.add(cls);
      hot.push([row, cls]);
    }
  }

  function rowsFor(s) {
    const out = [[rows[STEPS[s].node], "current"]];
    for (const edge of STEPS[s].edges) out.push([rows[edge.parent], "receiving"]);
    return out;
  }

  // --- the table of every node's grad -------------------------------------------------

  const rows = [];
  const gradCells = [];
  (function buildTable() {
    const body = $("grads").querySelector("tbody");
    for (let i = 0; i < N; i++) {
      const cell = el("td", {class: "grad"});
      const row = el("tr", {"data-node": String(i)},
        el("td", {class: "idx"}, String(i)),
        el("td", {class: "label"}, label(i)),
        el("td", {class: "formula"}, NODES[i].formula),
        el("td", {class: "data"}, num(NODES[i].data)),
        cell);
      row.addEventListener("click", () => showNode(i));
      rows.push(row);
      gradCells.push(cell);
      body.append(row);
    }
  })();

  function paintTable(p, grads) {
    for (let i = 0; i < N; i++) {
      const state = stateAt(i, p);
      const cell = gradCells[i];
      const text = state === "none" ? "\u2014" : state === "partial" ? "partial " + fmt(grads[i]) + "\u2026"
        : "final " + fmt(grads[i]);
      if (cell.textContent !== text || cell.dataset.state !== state) {
        cell.textContent = text;
        cell.className = "grad g-" + state;
      }
      cell.dataset.state = state;
      cell.dataset.grad = state === "none" ? "" : String(grads[i]);
    }
  }

  // --- the explanation of one step ----------------------------------------------------

  const explain = $("explain");
  const verdicts = {}; // quiz answers per step, shown with the step's explanation

  function letter(i, k) {
    return NODES[i].op === "sum" ? "a" + (k + 1) : ["a", "b", "c", "d"][k] || "input " + (k + 1);
  }

  function letters(i) {
    // Which parent plays "a", "b" ... in the rule text.
    const node = NODES[i];
    if (node.op === "sum") return el("p", {class: "where"}, "where a1 \u2026 an are the terms");
    const names = ["a", "b", "c", "d"];
    const parts = node.parents.map((parent, k) => names[k] + " = " + label(parent) + " (" + fmt(NODES[parent].data) + ")");
    return el("p", {class: "where"}, "where " + parts.join(", "));
  }

  function explainStart() {
    clear(explain);
    explain.append(
      el("h2", {}, "Start"),
      el("p", {}, "The backward pass begins at the output ", name(ROOT), ": its grad is ",
        el("b", {}, dL(ROOT) + " = 1"), ": nudging " + label(ROOT) + " moves " + label(ROOT) + " by exactly as much."),
      el("p", {}, STEPS.length
        ? "Every other node waits for its children. Press Next (or the \u2192 key) to let " + label(STEPS[0].node) +
          " send gradient to its parents."
        : "The output has no parents: there is nothing to send."));
  }

  function explainStep(s) {
    const step = STEPS[s];
    const i = step.node;
    clear(explain);
    explain.append(el("h2", {}, "Step " + (s + 1) + " of " + STEPS.length + ": ", name(i),
      " = " + NODES[i].formula));
    explain.append(el("p", {}, "Upstream gradient ", el("b", {}, dL(i) + " = "), num(step.upstream, "upstream"),
      i === ROOT ? " (the output: 1 by definition)" : " (final: every child of " + label(i) + " has sent its share)"));
    const list = el("ol", {class: "edges"});
    step.edges.forEach((edge) => list.append(explainEdge(step, edge)));
    explain.append(list);
    if (verdicts[s]) explain.append(verdictBox(verdicts[s]));
    if (s === STEPS.length - 1) {
      explain.append(el("p", {class: "done"}, "Done: every grad is final. These are the numbers backward() leaves."));
    }
  }

  function explainEdge(step, edge) {
    const i = step.node;
    const p = edge.parent;
    const d = "d" + wrap(label(i)) + "/d" + wrap(label(p));
    const item = el("li", {class: "edge-info", "data-parent": String(p)},
      el("div", {}, "to ", name(p), ", the " + letter(i, edge.k) + " in ", el("code", {}, edge.rule)),
      el("div", {}, "local " + d + " = ", num(edge.local, "local")),
      el("div", {}, "upstream \u00d7 local = " + fmt(step.upstream) + " \u00d7 " + fmt(edge.local) + " = ",
        num(edge.contribution, "contribution")),
      el("div", {}, label(p) + ".grad: ", num(edge.before, "before"), " \u2192 ", num(edge.after, "after")));
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

  function verdictBox(list) {
    const box = el("div", {class: "verdicts"}, el("h3", {}, "Your answers"));
    for (const v of list) {
      box.append(el("p", {class: v.right ? "right" : "wrong"},
        (v.right ? "\u2714 right: " : "\u2718 wrong: ") + label(v.parent) + ".grad = " + fmt(v.expected) +
        (v.right ? "" : " (you typed " + (v.typed === "" ? "nothing" : v.typed) + ")")));
    }
    return box;
  }

  // --- quiz: the next step as a question -------------------------------------------------

  const quizBox = $("quizbox");

  function expectedAnswers(s) {
    // One answer per distinct parent: its grad after the whole step (x*x adds twice).
    const answers = new Map();
    for (const edge of STEPS[s].edges) {
      const before = answers.has(edge.parent) ? answers.get(edge.parent).before : edge.before;
      answers.set(edge.parent, {before: before, expected: edge.after});
    }
    return answers;
  }

  function isRight(typed, expected) {
    const answer = Number(typed);
    if (typed.trim() === "" || Number.isNaN(answer)) return Number.isNaN(expected) && typed.trim() === "nan";
    if (!Number.isFinite(expected)) return answer === expected;
    return Math.abs(answer - expected) <= TOLERANCE * Math.abs(expected);
  }

  function paintQuiz(p) {
    quizBox.hidden = !QUIZ || p >= STEPS.length;
    if (quizBox.hidden) return;
    clear(quizBox);
    const step = STEPS[p];
    const i = step.node;
    quizBox.append(el("h2", {}, "Your turn: step " + (p + 1) + " of " + STEPS.length));
    quizBox.append(el("p", {}, name(i), " = " + NODES[i].formula + " sends its gradient ",
      el("b", {}, dL(i) + " = " + fmt(step.upstream)), " to its parents."));
    quizBox.append(el("p", {class: "rule"}, "Local rule: ", el("code", {}, step.rule)), letters(i));
    quizBox.append(el("p", {}, "Multiply the upstream gradient by each local derivative and add it to the parent\u2019s grad. " +
      "What is each parent\u2019s grad after this step?"));
    const form = el("form", {class: "quiz", autocomplete: "off"});
    const inputs = [];
    for (const [parent, answer] of expectedAnswers(p)) {
      const input = el("input", {type: "text", inputmode: "decimal", "data-parent": String(parent),
        "aria-label": label(parent) + ".grad after this step"});
      inputs.push([parent, input, answer]);
      form.append(el("label", {}, el("span", {}, label(parent) + ".grad (now " + fmt(answer.before) + ") \u2192 "), input));
    }
    const check = el("button", {type: "submit", id: "check"}, "Check");
    const reveal = el("button", {type: "button", id: "reveal"}, "Show the answer");
    form.append(el("div", {class: "buttons"}, check, reveal));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      verdicts[p] = inputs.map(([parent, input, answer]) => ({
        parent: parent, typed: input.value.trim(), expected: answer.expected,
        right: isRight(input.value, answer.expected),
      }));
      go(p + 1);
      // Ready for the next answer, without scrolling the verdicts away.
      const next = quizBox.querySelector("input");
      if (next) next.focus({preventScroll: true});
    });
    reveal.addEventListener("click", () => go(p + 1));
    quizBox.append(form);
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
    clear(nodeView);
    const close = el("button", {type: "button", class: "close", "aria-label": "close"}, "\u00d7");
    close.addEventListener("click", () => { viewing = -1; paintNode(); });
    nodeView.append(close, el("h2", {}, "The gradient of ", name(i), " two ways"));
    if (QUIZ && pos < finalAt[i]) {
      nodeView.append(el("p", {}, "Quiz mode: this is shown once the pass has finished " + label(i) +
        " (after step " + finalAt[i] + ")."));
      return;
    }
    nodeView.append(el("p", {}, dL(i) + " = ", num(NODES[i].grad, "grad"),
      pos < finalAt[i] ? " once the pass is over (" + label(i) + " is final after step " + finalAt[i] +
        "; the graph shows step " + pos + ")" : ""));
    nodeView.append(localForm(i), globalForm(i));
  }

  function localForm(i) {
    const box = el("div", {class: "form local"}, el("h3", {}, "Local form: a sum over its children"));
    if (i === ROOT) {
      box.append(el("p", {}, label(i) + " is the output: " + dL(i) + " = 1."));
      return box;
    }
    box.append(el("p", {class: "math"}, dL(i) + " = \u03a3 over children c of dL/dc \u00d7 dc/d" + wrap(label(i))));
    const list = el("ul", {class: "terms"});
    let sum = 0;
    for (const {s, edge} of incoming[i]) {
      const child = STEPS[s].node;
      sum += edge.contribution;
      list.append(el("li", {class: "term"}, "from ", name(child), " (step " + (s + 1) + "): ",
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
    const count = form.count.toLocaleString("en");
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
    box.append(el("p", {class: "path-count"}, form.count === 1 ? "1 path:" : form.count + " paths:"), list,
      el("p", {class: "sum"}, "sum = ", num(sum, "global-sum")));
    return box;
  }

  if (svg) {
    svg.addEventListener("click", (event) => {
      const group = event.target.closest("g.node");
      const match = group && /^(?:v|op)(\d+)$/.exec(group.id);
      if (match) showNode(Number(match[1]));
    });
  }

  // --- controls ------------------------------------------------------------------------

  let pos = 0;
  let timer = null;
  const slider = $("slider");
  slider.max = String(STEPS.length);

  function go(p) {
    pos = Math.max(0, Math.min(STEPS.length, p));
    if (pos >= STEPS.length) stop();
    paint();
  }

  function paint() {
    const grads = gradsAt(pos);
    paintGraph(pos, grads);
    paintTable(pos, grads);
    highlight(pos - 1);
    if (pos === 0) explainStart();
    else explainStep(pos - 1);
    paintQuiz(pos);
    paintNode();
    slider.value = String(pos);
    $("position").textContent = pos === 0 ? "start (step 0 of " + STEPS.length + ")"
      : "step " + pos + " of " + STEPS.length;
    $("prev").disabled = pos === 0;
    $("reset").disabled = pos === 0;
    $("next").disabled = pos === STEPS.length;
    document.body.dataset.position = String(pos);
    if (graphBox.classList.contains("full") && pos > 0) {
      // Centre the op between the node stepping now and its parents; only the graph scrolls, not the page.
      const op = document.getElementById("op" + STEPS[pos - 1].node);
      if (op) centre(op);
    }
  }

  function centre(element) {
    const box = graphBox.getBoundingClientRect();
    const r = element.getBoundingClientRect();
    graphBox.scrollLeft += r.left + r.width / 2 - (box.left + box.width / 2);
    graphBox.scrollTop += r.top + r.height / 2 - (box.top + box.height / 2);
  }

  function play() {
    if (pos >= STEPS.length) go(0);
    $("play").textContent = "\u275a\u275a Pause";
    timer = setInterval(() => go(pos + 1), 1200);
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("play").textContent = "\u25b6 Play";
  }

  $("next").addEventListener("click", () => go(pos + 1));
  $("prev").addEventListener("click", () => go(pos - 1));
  $("reset").addEventListener("click", () => { stop(); go(0); });
  $("play").addEventListener("click", () => (timer === null ? play() : stop()));
  slider.addEventListener("input", () => go(Number(slider.value)));

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const actions = {
      ArrowRight: () => go(pos + 1),
      ArrowLeft: () => go(pos - 1),
      Home: () => go(0),
      End: () => go(STEPS.length),
      " ": () => (timer === null ? play() : stop()),
    };
    const action = actions[event.key];
    if (!action) return;
    if (event.key === " " && target && target.tagName === "BUTTON") return; // the button itself handles space
    event.preventDefault();
    action();
  });

  // Fit the graph to the window, or show it at Graphviz's size and scroll.
  function setZoom(full) {
    graphBox.classList.toggle("full", full);
    if (svg) {
      if (full) {
        svg.setAttribute("width", svg.dataset.width);
        svg.setAttribute("height", svg.dataset.height);
      } else {
        svg.removeAttribute("width");
        svg.removeAttribute("height");
      }
    }
    $("zoom").textContent = full ? "Fit to window" : "Full size";
  }

  $("zoom").addEventListener("click", () => setZoom(!graphBox.classList.contains("full")));
  // A big graph squeezed to the window is unreadable: start it at full size.
  const naturalWidth = svg ? parseFloat(svg.dataset.width) * 4 / 3 : 0; // pt -> px
  setZoom(naturalWidth > 3 * Math.max(graphBox.clientWidth, 320));

  if (QUIZ) $("play").hidden = true; // playing would reveal every answer
  // For the browser console (and the tests): the number format, and moving to a position.
  window.chainruleStepper = {fmt: fmt, go: go, position: () => pos, steps: STEPS.length};
  go(0);
  document.body.dataset.ready = "true";
})();
