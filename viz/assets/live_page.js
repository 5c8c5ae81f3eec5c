/* chainrule's stepper, live: change an input and every number on the page is computed again.
 *
 * The what-if panel lists the graph's inputs, each with a box to type a value and a slider whose
 * range is shown and can be edited. A change runs the graph again with the op table's formulas
 * (whatif.js) and writes the new numbers into the page's data in place: every value and grad, each
 * forward step, each backward step's upstream gradient, local derivatives, products and sums, the
 * paths of the click view and the update step; then the stepper paints itself again. The structure
 * of the graph never changes.
 *
 * A value outside an op's domain stops that node: it is marked on the graph and in the table, the
 * panel says what happened in the engine's words, and the page keeps working (change the value back).
 *
 * With variants, a student types a seed (a name or a number) and draws their own inputs; the quiz
 * then checks their numbers, and the seed is shown with the score.
 *
 * Adds set(name, value), setMany({name: value}), error() and values() to window.chainrule.
 */
(function () {
  "use strict";

  const stepper = window.chainruleStepper;
  const engine = window.chainruleWhatIf;
  const box = document.getElementById("whatif");
  if (!stepper || !stepper.internals || !engine || !box) return;
  const S = stepper.internals;
  const {DATA, NODES, FORWARD, STEPS, UPDATE, ROOT, fmt, el, clear} = S;
  const N = NODES.length;
  const LEAVES = NODES.map((node, i) => i).filter((i) => !NODES[i].op);
  const ORIGINAL = NODES.map((node) => node.data);
  const program = engine.compile(DATA.ops || {}, NODES);
  const values = Array.from(ORIGINAL); // the inputs now (only the leaves' entries are read)
  let lastError = null;
  let seed = "";

  const byName = new Map(NODES.map((node, i) => [node.name, i]));

  // --- the numbers, computed again ------------------------------------------------------------------

  /** A node's "0.8 × 1.5" with its operands' values now, as viz.tables.math_formula(values=True) writes it. */
  function numbersText(i) {
    const node = NODES[i];
    if (!node.op) return fmt(node.data + 0);
    return node.template.replace(/__v(\d+)__/g, (whole, k) => {
      const part = fmt(NODES[node.parents[Number(k)]].data + 0).replace("-", "\u2212");
      return node.bare || !part.startsWith("\u2212") ? part : "(" + part + ")";
    });
  }

  /** Every path from the output to `wrt`, in the order autograd.iter_paths gives them, with the locals now. */
  function pathsTo(wrt, locals) {
    const reaches = new Array(N).fill(false);
    for (let i = 0; i < N; i++) reaches[i] = i === wrt || NODES[i].parents.some((p) => reaches[p]);
    const found = [];
    const stack = [[[ROOT], []]];
    while (stack.length) {
      const [nodes, ds] = stack.pop();
      const here = nodes[nodes.length - 1];
      if (here === wrt) {
        let product = 1;
        for (const d of ds) product *= d;
        found.push({nodes: nodes, locals: ds, product: product});
        continue;
      }
      const parents = NODES[here].parents;
      for (let k = parents.length - 1; k >= 0; k--) {
        if (reaches[parents[k]]) stack.push([nodes.concat([parents[k]]), ds.concat([locals[here] ? locals[here][k] : NaN])]);
      }
    }
    return found;
  }

  /** Write one run's numbers into the page's data and paint the page again. */
  function apply(result) {
    lastError = result.error;
    for (let i = 0; i < N; i++) {
      NODES[i].data = result.data[i];
      NODES[i].grad = result.grads[i];
      S.dataWords[i] = "data " + (Number.isNaN(result.data[i]) && result.error ? "error" : fmt(result.data[i] + 0));
    }
    for (let i = 0; i < N; i++) NODES[i].numbers = numbersText(i);
    for (const step of FORWARD) {
      step.inputs = NODES[step.node].parents.map((p) => NODES[p].data);
      step.value = NODES[step.node].data;
    }
    const local = (i, k) => (result.locals[i] ? result.locals[i][k] : NaN);
    // The backward steps in the order the page plays them: the recorded edges, the new numbers.
    const g = new Array(N).fill(result.error ? NaN : 0);
    g[ROOT] = result.error ? NaN : 1;
    for (const step of STEPS) {
      step.upstream = g[step.node];
      for (const edge of step.edges) {
        edge.local = local(step.node, edge.k);
        edge.contribution = step.upstream * edge.local;
        edge.before = g[edge.parent];
        edge.after = edge.before + edge.contribution;
        g[edge.parent] = edge.after;
        const text = S.edgeLabel[step.node + "_" + edge.k];
        if (text) pendingLabels.set(text, fmt(edge.local + 0));
      }
    }
    DATA.paths.forEach((form, i) => { if (form.paths) form.paths = pathsTo(i, result.locals); });
    if (DATA.tangent) tangentsAgain(DATA.tangent, local, !!result.error);
    if (UPDATE) updateStep();
    markError();
    S.resetQuiz();
    S.refresh();
    writeLabels();
    paintPanel();
  }

  /** The forward-mode view (tangent=): each input's tangents pushed with the arrows again, from the new
   *  locals, in topological order: tangent(node) = sum over its parents of local × tangent(parent). */
  function tangentsAgain(view, local, failed) {
    view.locals = NODES.map((node, i) => node.parents.map((p, k) => local(i, k)));
    view.values = view.inputs.map((x) => {
      const t = new Array(N).fill(failed ? NaN : 0);
      t[x] = failed ? NaN : 1;
      for (let i = 0; i < N; i++) {
        if (!NODES[i].op || failed) continue;
        let sum = 0;
        NODES[i].parents.forEach((p, k) => { sum += view.locals[i][k] * t[p]; });
        t[i] = sum;
      }
      return t;
    });
  }

  // Each edge's local derivative on the graph: on a large graph, only those in view are written now,
  // the others when they come into view (as the stepper paints its boxes).
  const pendingLabels = new Map(); // <text> -> its new words
  function writeLabels() {
    let list = Array.from(pendingLabels.keys());
    if (S.culling()) {
      const view = S.viewRect();
      list = list.filter((text) => S.inView(text, view)); // every position read before any text is written
    }
    for (const text of list) {
      text.textContent = pendingLabels.get(text);
      pendingLabels.delete(text);
    }
  }
  S.onReveal(writeLabels);

  function updateStep() {
    const after = Array.from(values);
    for (const row of UPDATE.params) {
      row.old = NODES[row.node].data;
      row.grad = NODES[row.node].grad;
      row.new = row.old - UPDATE.lr * row.grad;
      after[row.node] = row.new;
    }
    UPDATE.before = NODES[ROOT].data;
    const next = engine.run(program, after);
    UPDATE.after = next.error ? NaN : next.data[ROOT];
    UPDATE.problem = next.error ? next.error.message : "";
  }

  let marked = -1; // the node outlined for a domain error, or -1
  function markError() {
    const now = lastError ? lastError.node : -1;
    if (now === marked) return;
    for (const [i, bad] of [[marked, false], [now, true]]) {
      if (i < 0) continue;
      if (S.valueBox[i]) S.valueBox[i].classList.toggle("domain-error", bad);
      S.rows[i].classList.toggle("domain-error", bad);
      const op = document.getElementById("op" + i);
      if (op) op.classList.toggle("domain-error", bad);
    }
    marked = now;
    document.body.classList.toggle("whatif-error", !!lastError);
  }

  function recompute() {
    apply(engine.run(program, values));
    return lastError ? {name: NODES[lastError.node].name, message: lastError.message} : null;
  }

  // --- the panel ------------------------------------------------------------------------------------

  const controls = []; // per leaf: {i, input, slider, low, high}
  const message = el("p", {id: "whatif-error", role: "alert", hidden: ""});

  /** A slider's default ends: the value plus and minus twice its size (at least 2), in six digits. */
  function range(v) {
    const span = Math.max(1, Math.abs(v)) * 2;
    const short = (x) => Number(x.toPrecision(6));
    return [short(v - span), short(v + span)];
  }

  function readNumber(text) {
    const x = Number(String(text).trim().replace(/\u2212/g, "-"));
    return String(text).trim() !== "" && Number.isFinite(x) ? x : NaN;
  }

  function buildPanel() {
    const heading = el("h2", {}, "What if? Change an input");
    if (!program.ok) {
      box.append(heading, el("p", {class: "unavailable", id: "whatif-unavailable"},
        "What-if is unavailable for this graph: " + program.why + " (node " + NODES[program.node].name + ")."));
      return;
    }
    box.append(heading, el("p", {class: "hint"}, "Type a value or drag a slider (its ends can be edited): every " +
      "value, local derivative and grad is computed again at once, from the same op table as Python."));
    if (DATA.variants) box.append(seedBox());
    const list = el("div", {class: "leaves"});
    for (const i of LEAVES) {
      const [lo, hi] = range(ORIGINAL[i]);
      const input = el("input", {type: "text", inputmode: "decimal", class: "leaf-value", "data-leaf": NODES[i].name,
        "aria-label": "value of " + NODES[i].name, value: String(ORIGINAL[i])});
      const slider = el("input", {type: "range", class: "leaf-slider", min: String(lo), max: String(hi),
        step: "any", value: String(ORIGINAL[i]), "aria-label": "slider for " + NODES[i].name});
      const low = el("input", {type: "text", inputmode: "decimal", class: "range-end low", value: String(lo),
        "aria-label": "slider start for " + NODES[i].name});
      const high = el("input", {type: "text", inputmode: "decimal", class: "range-end high", value: String(hi),
        "aria-label": "slider end for " + NODES[i].name});
      const c = {i: i, input: input, slider: slider, low: low, high: high, painted: ORIGINAL[i]};
      controls.push(c);
      input.addEventListener("change", () => {
        const x = readNumber(input.value);
        if (Number.isNaN(x)) { input.classList.add("bad"); return; }
        input.classList.remove("bad");
        setLeaf(i, x);
      });
      slider.addEventListener("input", () => dragTo(i, Number(slider.value)));
      for (const end of [low, high]) {
        end.addEventListener("change", () => {
          const a = readNumber(low.value);
          const b = readNumber(high.value);
          const ok = !Number.isNaN(a) && !Number.isNaN(b) && a < b;
          low.classList.toggle("bad", !ok);
          high.classList.toggle("bad", !ok);
          if (ok) { slider.min = String(a); slider.max = String(b); slider.value = String(values[i]); }
        });
      }
      list.append(el("div", {class: "leaf", "data-node": String(i)},
        el("label", {}, el("span", {class: "name"}, NODES[i].name + " = "), input), low, slider, high));
      // Clicking an input's value in the table is clicking into its box here.
      S.dataCells[i].classList.add("editable");
      S.dataCells[i].title = "change this input";
      S.dataCells[i].addEventListener("click", (event) => {
        event.stopPropagation();
        input.focus();
        input.select();
      });
    }
    const reset = el("button", {type: "button", id: "whatif-reset"}, "Back to the original values");
    reset.addEventListener("click", () => {
      for (const i of LEAVES) values[i] = ORIGINAL[i];
      seed = "";
      S.setScoreNote("");
      recompute();
    });
    box.append(list, message, el("div", {class: "buttons"}, reset));
  }

  function seedBox() {
    const input = el("input", {type: "text", id: "seed", "aria-label": "your seed: a name or a number",
      placeholder: "your name or a number"});
    const draw = el("button", {type: "submit", id: "draw"}, "Draw my numbers");
    const note = el("p", {class: "seed-note", id: "seed-note"},
      "Type a seed (your name or a number) to get your own inputs: the same seed always gives the same numbers.");
    const form = el("form", {class: "variants", autocomplete: "off"},
      el("label", {}, "Your seed: ", input), draw, note);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const result = useSeed(input.value);
      note.textContent = result.message;
    });
    return form;
  }

  /** Draw the inputs of seed `text`; returns {ok, message}. */
  function useSeed(text) {
    const typed = String(text).trim();
    if (!typed) return {ok: false, message: "Type a seed first: your name or a number."};
    // The inputs the formula names are drawn; a number written into it (the 2 of 2*x) stays as written.
    const named = LEAVES.filter((i) => NODES[i].user !== null && NODES[i].user !== undefined);
    const drawn = engine.seededValues(program, ORIGINAL, typed, named.length ? named : LEAVES);
    if (!drawn.values) {
      for (const i of LEAVES) values[i] = ORIGINAL[i];
      seed = "";
      S.setScoreNote("");
      recompute();
      return {ok: false, message: "No numbers for seed \u201c" + typed + "\u201d kept every op in its domain after " +
        drawn.tries + " draws: the original values are back."};
    }
    for (const i of LEAVES) values[i] = drawn.values[i];
    seed = typed;
    S.setScoreNote(typed);
    recompute();
    for (const c of controls) {
      const [lo, hi] = range(values[c.i]);
      c.slider.min = String(lo);
      c.slider.max = String(hi);
      c.low.value = String(lo);
      c.high.value = String(hi);
      c.painted = NaN; // the slider's range moved: paint its value again
    }
    paintPanel();
    return {ok: true, message: "Your numbers, seed \u201c" + typed + "\u201d: " +
      LEAVES.map((i) => NODES[i].name + " = " + values[i]).join(", ") + "."};
  }

  // A dragged slider sends more input events than the screen shows frames: compute once a frame, the last value.
  let dragged = null;
  function dragTo(i, x) {
    const first = dragged === null;
    dragged = [i, x];
    if (!first) return;
    requestAnimationFrame(() => {
      const [j, y] = dragged;
      dragged = null;
      setLeaf(j, y);
    });
  }

  function setLeaf(i, x) {
    values[i] = x;
    return recompute();
  }

  function paintPanel() {
    for (const c of controls) {
      if (c.painted === values[c.i] && document.activeElement !== c.input) continue; // unchanged: untouched
      c.painted = values[c.i];
      if (document.activeElement !== c.input) c.input.value = String(values[c.i]);
      if (document.activeElement !== c.slider) {
        if (values[c.i] < Number(c.slider.min)) { c.slider.min = String(values[c.i]); c.low.value = String(values[c.i]); }
        if (values[c.i] > Number(c.slider.max)) { c.slider.max = String(values[c.i]); c.high.value = String(values[c.i]); }
        c.slider.value = String(values[c.i]);
      }
    }
    if (lastError) {
      message.hidden = false;
      message.textContent = NODES[lastError.node].name + ": " + lastError.message +
        ". Nothing below it can be computed; change a value to go on.";
    } else {
      message.hidden = true;
      message.textContent = "";
    }
  }

  buildPanel();

  // --- the page's JavaScript API, completed --------------------------------------------------------

  const api = window.chainrule;
  /** Change the input called `name` to `value` and compute everything again.
   * Returns null, or {name, message} when some op's domain is left (the page shows it too). */
  /** The leaf called `name`, and `value` as a finite number, or an error that says what is wrong. */
  function checked(name, value) {
    if (!program.ok) throw new Error("what-if is unavailable for this graph: " + program.why);
    const i = byName.get(String(name));
    if (i === undefined) throw new Error("no node is called " + JSON.stringify(String(name)));
    if (NODES[i].op) throw new Error(name + " is computed from other nodes; only an input can be set");
    const x = typeof value === "number" ? value : readNumber(value);
    if (!Number.isFinite(x)) throw new Error("the value of " + name + " must be a finite number, got " + String(value));
    return [i, x];
  }
  api.set = (name, value) => {
    const [i, x] = checked(name, value);
    const error = setLeaf(i, x);
    paintPanel();
    return error;
  };
  /** Change many inputs at once, {name: value, ...}, and compute everything again once (set() in a loop
   * would compute and paint the whole page once per input). Every name and value is checked before any
   * is changed. Returns what set() returns. */
  api.setMany = (mapping) => {
    const changes = Object.entries(mapping || {}).map(([name, value]) => checked(name, value));
    for (const [i, x] of changes) values[i] = x;
    const error = recompute();
    paintPanel();
    return error;
  };
  /** The domain error of the current values, {name, message}, or null. */
  api.error = () => (lastError ? {name: NODES[lastError.node].name, message: lastError.message} : null);
  /** The inputs now, name -> value. */
  api.values = () => Object.fromEntries(LEAVES.map((i) => [NODES[i].name, values[i]]));
  /** Whether what-if works for this graph, and why not. */
  api.whatIf = () => ({available: program.ok, why: program.ok ? "" : program.why});
  /** Variants: draw the inputs of a seed, as the seed box does. */
  if (DATA.variants) api.seed = (text) => useSeed(text);
  api.seedText = () => seed;
})();
