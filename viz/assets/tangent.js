/* chainrule's stepper: the forward-mode view (stepper_html(..., tangent="x")).
 *
 * Forward-mode AD seeds one input x with dx/dx = 1 (every other input 0) and
 * pushes that tangent with the arrows: at each op node
 *
 *   d(node)/dx = sum over its parents p of  d(node)/dp * dp/dx,
 *
 * the local derivatives the backward pass uses, read from the inputs' side.
 * Python (autograd.forward) computed every input's tangents; this script only
 * shows them: a line "∂/∂x 0.8" in every value box under its data, a column of
 * the table, the products on the arrows into the node computed now, the sum in
 * the step's explanation, and, when the backward pass is over, the tangent at
 * the output beside the grad the backward pass left on x. The select re-seeds:
 * one input at a time.
 *
 * It paints after stepper.js, on its "chainrule:paint" event. User text only
 * ever goes in with textContent.
 */
(function () {
  "use strict";

  const API = window.chainrule;
  const DATA = API && API.data;
  const VIEW = DATA && DATA.tangent;
  if (!VIEW) return;

  const fmt = API.fmt;
  const NODES = DATA.nodes;
  const FORWARD = DATA.forward || [];
  const ROOT = DATA.root;
  const N = NODES.length;
  const F = FORWARD.length;
  const B = DATA.steps.length;
  // A quiz on local derivatives: the arrows and the sums would give its answers away, so only tangents show.
  const HIDE_LOCALS = DATA.quiz === "local" || DATA.quiz === "all";
  let seed = VIEW.seed; // which of VIEW.inputs is seeded

  const label = (i) => NODES[i].label;
  const wrap = (text) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : "(" + text + ")");
  const d = (i, j) => "\u2202" + wrap(label(i)) + "/\u2202" + wrap(label(j)); // ∂i/∂j
  const x = () => VIEW.inputs[seed];
  const tangent = (i) => VIEW.values[seed][i];

  // computedAt[i]: how many forward steps it takes until node i is known (inputs: none).
  const computedAt = NODES.map((node) => (node.op ? Infinity : 0));
  FORWARD.forEach((step, k) => { computedAt[step.node] = k + 1; });

  const el = window.chainrulePage.el;
  const num = (value, cls) => el("span", {class: "num " + cls, "data-value": String(value)}, fmt(value));
  /** A factor of a product: negative numbers in brackets, as the captions write them. */
  const factor = (value) => (fmt(value).startsWith("-") ? "(" + fmt(value).replace("-", "\u2212") + ")" : fmt(value));

  // --- the select: which input is seeded -------------------------------------------------

  const select = el("select", {id: "seed", "aria-label": "forward mode: the input whose tangent is 1"});
  VIEW.inputs.forEach((i, k) => select.append(el("option", {value: String(k)}, label(i))));
  select.value = String(seed);
  select.addEventListener("change", () => { seed = Number(select.value); paint(API.position(), API.phase()); });
  // The arrows change the seed here, not the step.
  select.addEventListener("keydown", (event) => { if (event.key.startsWith("Arrow")) event.stopPropagation(); });
  const controls = document.getElementById("controls");
  if (controls) {
    controls.append(el("span", {class: "group tangent-seed", title: "forward mode: seed one input at a time"},
      el("label", {for: "seed"}, "Forward mode: \u2202/\u2202 "), select));
  }

  // --- the graph's boxes, the table, the arrows ------------------------------------------

  const boxText = new Array(N).fill(null);
  const boxWidth = new Array(N).fill(0);
  for (let i = 0; i < N; i++) {
    const group = document.getElementById("v" + i);
    if (!group) continue;
    boxText[i] = Array.from(group.querySelectorAll("text")).find((t) => t.textContent.startsWith("\u2202/\u2202")) || null;
    const shape = group.querySelector("polygon");
    if (shape && shape.getBBox) boxWidth[i] = shape.getBBox().width;
  }

  const cells = new Array(N).fill(null);
  const table = document.getElementById("grads");
  if (table) {
    const head = table.querySelector("thead tr");
    const valueHead = head && head.children[3];
    const th = el("th", {class: "tangent"}, "");
    if (valueHead) valueHead.after(th);
    for (const row of table.querySelectorAll("tbody tr[data-node]")) {
      const i = Number(row.dataset.node);
      cells[i] = el("td", {class: "tangent"});
      row.querySelector("td.data").after(cells[i]);
    }
    cells.head = th;
  }

  // Python drew each arrow's label as wide as its longest product: show the local derivative there again.
  for (let i = 0; i < N; i++) {
    NODES[i].parents.forEach((parent, k) => {
      const group = document.getElementById("e" + i + "_" + k);
      const text = group && group.querySelector("text");
      if (text) text.textContent = fmt(VIEW.locals[i][k]);
    });
  }

  let flowing = []; // edge label texts showing a product now: [text, its own words]

  function paintArrows(current) {
    for (const [text, words] of flowing) {
      text.textContent = words;
      text.style.removeProperty("visibility");
      text.removeAttribute("data-tangent-flow");
    }
    flowing = [];
    if (current < 0 || HIDE_LOCALS) return;
    NODES[current].parents.forEach((parent, k) => {
      const group = document.getElementById("e" + current + "_" + k);
      const text = group && group.querySelector("text");
      if (!text) return;
      flowing.push([text, text.textContent]);
      const local = VIEW.locals[current][k];
      text.textContent = fmt(local) + " \u00d7 " + fmt(tangent(parent)) + " = " + fmt(local * tangent(parent));
      text.style.visibility = "visible"; // the forward pass hides locals; this one is the step's own
      text.setAttribute("data-tangent-flow", String(local * tangent(parent)));
    });
  }

  function paintBoxes(known) {
    const words = VIEW.words[seed];
    for (let i = 0; i < N; i++) {
      const text = boxText[i];
      const shown = known(i) ? words + " " + fmt(tangent(i)) : words + " ?";
      if (cells[i]) {
        cells[i].textContent = known(i) ? fmt(tangent(i)) : "?";
        cells[i].dataset.tangent = known(i) ? String(tangent(i)) : "";
      }
      if (!text) continue;
      text.dataset.tangent = known(i) ? String(tangent(i)) : "";
      if (text.textContent === shown) continue;
      text.textContent = shown;
      text.removeAttribute("textLength");
      const room = boxWidth[i] - 6;
      if (room > 0 && text.getComputedTextLength() > room) {
        text.setAttribute("textLength", String(room));
        text.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    }
    if (cells.head) cells.head.textContent = "tangent " + words;
  }

  // --- the explanation -----------------------------------------------------------------

  function explainStart(box) {
    const others = VIEW.inputs.filter((i) => i !== x());
    box.append(el("p", {}, "Seeded with " + label(x()) + ": " + d(x(), x()) + " = 1" +
      (others.length ? ", and " + others.map((i) => d(i, x())).join(", ") + " = 0" : "") +
      ". Each node gets its tangent beside its value, computed with the arrows: " +
      "\u2202node/\u2202" + wrap(label(x())) + " = \u03a3 over parents p of \u2202node/\u2202p \u00d7 \u2202p/\u2202" +
      wrap(label(x())) + ". Choose another input above to seed it instead."));
  }

  function explainStep(box, k) {
    const i = FORWARD[k].node;
    const node = NODES[i];
    const equation = el("p", {class: "equation tangent-equation"}, d(i, x()) + " = ");
    if (!HIDE_LOCALS) {
      const terms = node.parents.map((p) => d(i, p) + " \u00d7 " + d(p, x()));
      const numbers = node.parents.map((p, k2) => factor(VIEW.locals[i][k2]) + " \u00d7 " + factor(tangent(p)));
      equation.append(terms.join(" + ") + " = " + numbers.join(" + ") + " = ");
    }
    equation.append(num(tangent(i), "tangent"));
    box.append(equation);
    if (k === F - 1) {
      box.append(el("p", {class: "tangent-output"}, "One forward sweep gave " + d(ROOT, x()) + " = ",
        num(tangent(ROOT), "tangent-root"), ". Each other input needs a sweep of its own (choose it above); " +
        "the backward pass next gives every input\u2019s gradient in one sweep."));
    }
  }

  function explainAgreement(box) {
    box.append(el("p", {class: "tangent-check"}, "Both modes agree: forward mode seeded with " + label(x()) +
      " gave " + d(ROOT, x()) + " = ", num(tangent(ROOT), "tangent-root"), "; the backward pass left grad ",
      num(NODES[x()].grad, "grad-of-seed"), " on " + label(x()) + "."));
  }

  function paint(position, ph) {
    const k = ph.kind === "forward" ? ph.k : F;
    const known = (i) => computedAt[i] <= k;
    paintBoxes(known);
    paintArrows(ph.kind === "forward" && ph.k > 0 ? FORWARD[ph.k - 1].node : -1);
    const explain = document.getElementById("explain");
    const old = document.getElementById("tangent-explain");
    if (old) old.remove();
    if (!explain) return;
    const box = el("div", {id: "tangent-explain", class: "tangent-view"},
      el("h3", {}, "Forward mode: the tangent \u2202/\u2202" + wrap(label(x()))));
    if (ph.kind === "forward" && ph.k === 0) explainStart(box);
    else if (ph.kind === "forward") explainStep(box, ph.k - 1);
    else if (ph.kind === "update" || ph.p === B) explainAgreement(box);
    else return;
    const verdicts = explain.querySelector(".verdicts");
    if (verdicts) verdicts.before(box);
    else explain.append(box);
  }

  document.addEventListener("chainrule:paint", (event) => paint(event.detail.position, event.detail.phase));
  paint(API.position(), API.phase());
  document.body.dataset.tangent = "true";
})();
