/* chainrule's training recording page. Reads the recording from #data and draws every view
   for the step the slider picks: curves with the step marked, the decision boundary, the
   neuron view with heat, the per-layer gradient norms. No network, no libraries. */
(() => {
  "use strict";
  const D = window.chainrulePage.data; // read by page_kit.js
  const NS = "http://www.w3.org/2000/svg";
  const HEAT = ["#d1d5db", "#fcd34d", "#f59e0b", "#ea580c", "#b91c1c"]; // as viz.drawing.HEAT_COLOURS
  const CLASS_FILL = ["#bfdbfe", "#fed7aa", "#bbf7d0", "#fbcfe8", "#ddd6fe"];
  const CLASS_INK = ["#1d4ed8", "#c2410c", "#15803d", "#be185d", "#6d28d9"];
  const SATURATION = 1e-3; // as viz.neurons.SATURATION
  const L = D.activations.length;
  // Each step's parameters travel exactly: little-endian float64s, base64 (training.py's _exact).
  D.params = D.params.map((row) => {
    if (typeof row !== "string") return row;
    const bytes = Uint8Array.from(atob(row), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(8 * i, true));
  });

  function el(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  /* A number as the pictures print it (viz.drawing.num): Python's "%.4g", and 0 for -0. */
  const fmt = (x) => (x === null || x === undefined ? "\u2014" : window.chainrulePage.gformat(x + 0, 4));

  // --- the model at a step ---------------------------------------------------------------

  /* The flat parameter list (layer by layer, each neuron's weights then its bias) as W[l][j][k], B[l][j]. */
  function unpack(flat) {
    const W = [], B = [];
    let at = 0;
    for (let l = 0; l < L; l++) {
      const nin = D.sizes[l], nout = D.sizes[l + 1];
      W.push([]); B.push([]);
      for (let j = 0; j < nout; j++) {
        W[l].push(flat.slice(at, at + nin));
        B[l].push(flat[at + nin]);
        at += nin + 1;
      }
    }
    return { W, B };
  }

  const ACT = {
    relu: (z) => (z > 0 ? z : 0),
    tanh: Math.tanh,
    sigmoid: (z) => 1 / (1 + Math.exp(-z)),
    linear: (z) => z,
  };

  /* Each layer's sums z and outputs h for one input (plain loops: the boundary calls this thousands of times). */
  function forward(model, x) {
    const zs = [], hs = [];
    let values = x;
    for (let l = 0; l < L; l++) {
      const f = ACT[D.activations[l]], W = model.W[l], B = model.B[l], n = W.length, m = values.length;
      const z = new Float64Array(n), h = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        const w = W[j];
        let s = B[j];
        for (let k = 0; k < m; k++) s += w[k] * values[k];
        z[j] = s;
        h[j] = f(s);
      }
      values = h;
      zs.push(z); hs.push(h);
    }
    return { zs, hs };
  }

  function predicted(out) {
    if (out.length === 1) return out[0] > 0 ? 1 : 0;
    let best = 0;
    for (let i = 1; i < out.length; i++) if (out[i] > out[best]) best = i;
    return best;
  }

  // --- curves ----------------------------------------------------------------------------

  const PAD = { left: 46, right: 12, top: 10, bottom: 22 };

  function curve(svg, values, label, fixed) {
    const w = +svg.getAttribute("width"), h = +svg.getAttribute("height");
    const finite = values.filter((v) => v !== null);
    let lo = fixed ? fixed[0] : Math.min(...finite), hi = fixed ? fixed[1] : Math.max(...finite);
    if (hi <= lo) hi = lo + 1;
    const n = Math.max(values.length - 1, 1);
    const X = (i) => PAD.left + (i / n) * (w - PAD.left - PAD.right);
    const Y = (v) => h - PAD.bottom - ((v - lo) / (hi - lo)) * (h - PAD.top - PAD.bottom);
    el("line", { class: "axis", x1: PAD.left, y1: h - PAD.bottom, x2: w - PAD.right, y2: h - PAD.bottom }, svg);
    el("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: h - PAD.bottom }, svg);
    el("text", { x: 2, y: PAD.top + 10 }, svg).textContent = fmt(hi);
    el("text", { x: 2, y: h - PAD.bottom }, svg).textContent = fmt(lo);
    el("text", { x: w - PAD.right, y: h - 4, "text-anchor": "end" }, svg).textContent = `step ${values.length - 1}`;
    let d = "";
    values.forEach((v, i) => { if (v !== null) d += `${d ? "L" : "M"}${X(i).toFixed(1)},${Y(v).toFixed(1)}`; });
    el("path", { class: "curve", d, stroke: label === "loss" ? "#1d4ed8" : "#15803d" }, svg);
    const marker = el("line", { class: "marker", y1: PAD.top, y2: h - PAD.bottom }, svg);
    const readout = el("text", { class: "readout", y: PAD.top + 10 }, svg);
    return (step) => {
      marker.setAttribute("x1", X(step)); marker.setAttribute("x2", X(step));
      readout.setAttribute("x", Math.min(X(step) + 6, w - 120));
      readout.textContent = `${label} ${fmt(values[step])}`;
      svg.dataset.step = step;
    };
  }

  // --- gradient norms ----------------------------------------------------------------------

  function normBars(svg) {
    const w = +svg.getAttribute("width");
    const all = D.norms.flat().filter((v) => v !== null && v > 0);
    const lo = Math.log10(Math.min(...all, 1)), hi = Math.log10(Math.max(...all, 1e-12));
    const row = 24, bars = [], texts = [];
    for (let l = 0; l < L; l++) {
      el("text", { x: 2, y: 18 + l * row }, svg).textContent = `L${l + 1}`;
      bars.push(el("rect", { x: 36, y: 6 + l * row, height: 16, fill: "#6d28d9" }, svg));
      texts.push(el("text", { y: 18 + l * row }, svg));
    }
    el("text", { x: 2, y: 18 + L * row, class: "note" }, svg).textContent = "bar length: log10 of the norm";
    svg.setAttribute("height", 26 + L * row);
    return (k) => {
      D.norms[k].forEach((v, l) => {
        const f = v > 0 && hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 0;
        const len = 4 + Math.max(0, Math.min(1, f)) * (w - 150);
        bars[l].setAttribute("width", len.toFixed(1));
        texts[l].setAttribute("x", 42 + len);
        texts[l].textContent = fmt(v);
      });
      svg.dataset.step = D.steps[k];
    };
  }

  // --- decision boundary ---------------------------------------------------------------------

  function boundary(canvas, overlay) {
    const note = document.getElementById("boundary-note");
    if (D.sizes[0] !== 2) {
      note.textContent = `The data has ${D.sizes[0]} inputs; the boundary is drawn for 2-D data only.`;
      canvas.hidden = true;
      return (k) => { canvas.dataset.step = D.steps[k]; };
    }
    const xs = D.X.map((p) => p[0]), ys = D.X.map((p) => p[1]);
    const padx = 0.1 * (Math.max(...xs) - Math.min(...xs) || 1), pady = 0.1 * (Math.max(...ys) - Math.min(...ys) || 1);
    const box = [Math.min(...xs) - padx, Math.max(...xs) + padx, Math.min(...ys) - pady, Math.max(...ys) + pady];
    const W = canvas.width, H = canvas.height, cell = 8;
    Object.assign(canvas.dataset, { xmin: box[0], xmax: box[1], ymin: box[2], ymax: box[3], cell });
    const toPx = (x, y) => [((x - box[0]) / (box[1] - box[0])) * W, H - ((y - box[2]) / (box[3] - box[2])) * H];
    D.X.forEach((p, i) => {
      const [px, py] = toPx(p[0], p[1]);
      const c = Number.isInteger(D.y[i]) ? D.y[i] : D.y[i] > 0 ? 1 : 0;
      el("circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: 3.5, fill: CLASS_INK[c % 5], stroke: "white" }, overlay);
    });
    note.textContent = "Background: the class the model predicts there at this step; dots: the training points.";
    // willReadFrequently: a test (or a teacher's script) reads the pixels back at every step
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return (k) => {
      const model = unpack(D.params[k]);
      for (let py = 0; py < H; py += cell) {
        for (let px = 0; px < W; px += cell) {
          const x = box[0] + ((px + cell / 2) / W) * (box[1] - box[0]);  // the cell's centre
          const y = box[2] + ((H - py - cell / 2) / H) * (box[3] - box[2]);
          const out = forward(model, [x, y]).hs[L - 1];
          ctx.fillStyle = CLASS_FILL[predicted(out) % 5];
          ctx.fillRect(px, py, cell, cell);
        }
      }
      canvas.dataset.step = D.steps[k];
    };
  }

  // --- the neuron view ---------------------------------------------------------------------

  function network(svg) {
    const COL = 170, ROW = 40, R = 17, TOP = 34;
    const tallest = Math.max(...D.sizes);
    const height = TOP + tallest * ROW + 110, width = (L + 1) * COL + 140;
    svg.setAttribute("width", width); svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const pos = D.sizes.map((n, c) => Array.from({ length: n }, (_, r) => [
      40 + c * COL, TOP + (tallest - n) * ROW / 2 + r * ROW + ROW / 2]));
    const lines = el("g", {}, svg), circles = el("g", {}, svg);
    D.sizes.forEach((n, c) => {
      const head = c === 0 ? "inputs" : `L${c} (${D.activations[c - 1]})`;
      el("text", { x: pos[c][0][0], y: 14, "text-anchor": "middle" }, svg).textContent = head;
    });
    const edges = [];  // [l][j][k] -> {line, title}
    for (let l = 0; l < L; l++) {
      edges.push([]);
      for (let j = 0; j < D.sizes[l + 1]; j++) {
        edges[l].push([]);
        for (let k = 0; k < D.sizes[l]; k++) {
          const [x1, y1] = pos[l][k], [x2, y2] = pos[l + 1][j];
          const line = el("line", { class: "weight", id: `w${l + 1}_${j + 1}_${k + 1}`, x1, y1, x2, y2 }, lines);
          edges[l][j].push({ line, title: el("title", {}, line) });
        }
      }
    }
    const units = [];
    D.sizes.forEach((n, c) => {
      units.push([]);
      for (let r = 0; r < n; r++) {
        const [x, y] = pos[c][r];
        const id = c === 0 ? `x${r + 1}` : `n${c}_${r + 1}`;
        const g = el("g", { class: c === 0 ? "input" : "neuron", id }, circles);
        el("circle", { cx: x, cy: y, r: R }, g);
        const text = el("text", { x, y: y + 4, "text-anchor": "middle" }, g);
        text.textContent = c === 0 ? `x${r + 1}` : "";
        units[c].push({ g, text, title: el("title", {}, g) });
      }
    });
    const last = pos[L];
    const lossAt = [L * COL + 40 + 110, TOP + tallest * ROW / 2];
    last.forEach(([x, y]) => el("line", { x1: x, y1: y, x2: lossAt[0] - 40, y2: lossAt[1], stroke: "#6b7280",
                                          "stroke-dasharray": "4 3" }, lines));
    const lossBox = el("g", { class: "loss", id: "loss" }, circles);
    el("rect", { x: lossAt[0] - 40, y: lossAt[1] - 22, width: 80, height: 44, rx: 6 }, lossBox);
    const lossText = el("text", { x: lossAt[0], y: lossAt[1] + 4, "text-anchor": "middle" }, lossBox);
    // the legend: three sample edges, coolest to hottest
    const legendY = TOP + tallest * ROW + 20;
    el("text", { x: 10, y: legendY }, svg).textContent = "heat: log10 |dL/dw| at this step";
    const legend = [0, 0.5, 1].map((f, i) => {
      const y = legendY + 20 + i * 22;
      const line = el("line", { x1: 10, x2: 120, y1: y, y2: y, class: "weight" }, svg);
      const t = el("text", { x: 130, y: y + 4 }, svg);
      return { f, line, t };
    });

    function style(f) {
      const width = 0.5 + f * 5.5;
      return [width.toFixed(2), HEAT[Math.min(HEAT.length - 1, Math.floor(f * HEAT.length))]];
    }

    return (k) => {
      const model = unpack(D.params[k]), grads = unpack(D.grads[k]);
      const logs = [];
      grads.W.forEach((layer) => layer.forEach((ws) => ws.forEach((g) => {
        if (g !== null && Math.abs(g) > 0) logs.push(Math.log10(Math.abs(g)));
      })));
      const lo = logs.length ? Math.min(...logs) : 0, hi = logs.length ? Math.max(...logs) : 0;
      const frac = (g) => {
        if (g === null || !(Math.abs(g) > 0)) return 0;
        if (hi <= lo) return 1;
        return Math.min(1, Math.max(0, (Math.log10(Math.abs(g)) - lo) / (hi - lo)));
      };
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < D.sizes[l + 1]; j++) {
          for (let k2 = 0; k2 < D.sizes[l]; k2++) {
            const e = edges[l][j][k2], w = model.W[l][j][k2], g = grads.W[l][j][k2];
            const [width, colour] = style(frac(g));
            e.line.setAttribute("stroke-width", width);
            e.line.setAttribute("stroke", colour);
            e.title.textContent = `L${l + 1}.N${j + 1}.w${k2 + 1}: w ${fmt(w)}, dL/dw ${fmt(g)}`;
          }
        }
      }
      // each neuron's mean output over the data, and whether it is dead or saturated for all of it
      const runs = D.X.map((x) => forward(model, x));
      for (let l = 0; l < L; l++) {
        const act = D.activations[l];
        units[l + 1].forEach((u, j) => {
          const hs = runs.map((r) => r.hs[l][j]), zs = runs.map((r) => r.zs[l][j]);
          const mean = hs.reduce((a, b) => a + b, 0) / hs.length;
          const dead = act === "relu" && zs.every((z) => z <= 0);
          const low = act === "sigmoid" ? 0 : -1;
          const saturated = (act === "sigmoid" || act === "tanh") &&
            hs.every((h) => h - low < SATURATION || 1 - h < SATURATION);
          u.g.setAttribute("class", "neuron" + (dead ? " dead" : saturated ? " saturated" : ""));
          u.text.textContent = fmt(Number(mean.toPrecision(2)));
          u.title.textContent = `L${l + 1}.N${j + 1} (${act}): mean output ${fmt(mean)} over ${hs.length} points, ` +
            `b ${fmt(model.B[l][j])}, dL/db ${fmt(grads.B[l][j])}` +
            (dead ? "; dead: its input is <= 0 for every point" : "") +
            (saturated ? "; saturated: its output is within 1e-3 of a bound for every point" : "");
        });
      }
      legend.forEach(({ f, line, t }) => {
        const [width, colour] = style(f);
        line.setAttribute("stroke-width", width); line.setAttribute("stroke", colour);
        t.textContent = logs.length ? `1e${(lo + f * (hi - lo) >= 0 ? "+" : "")}${(lo + f * (hi - lo)).toFixed(1)}` : "no gradient";
      });
      lossText.textContent = `loss ${fmt(D.loss[D.steps[k]])}`;
      svg.dataset.step = D.steps[k];
    };
  }

  // --- the slider ------------------------------------------------------------------------------

  const slider = document.getElementById("slider");
  const position = document.getElementById("position");
  const playButton = document.getElementById("play");
  const lossCurve = curve(document.getElementById("loss-view"), D.loss, "loss");
  const accCurve = curve(document.getElementById("acc-view"), D.accuracy, "accuracy", [0, 1]);
  const views = [
    (k) => lossCurve(D.steps[k]),
    (k) => accCurve(D.steps[k]),
    normBars(document.getElementById("norm-view")),
    boundary(document.getElementById("boundary-view"), document.getElementById("points")),
    network(document.getElementById("net-view")),
  ];
  slider.max = D.steps.length - 1;
  let current = -1;

  function show(k) {
    k = Math.max(0, Math.min(D.steps.length - 1, k | 0));
    if (k === current) return;
    current = k;
    slider.value = k;
    const t0 = performance.now();
    views.forEach((view) => view(k));
    document.body.dataset.drawMs = (performance.now() - t0).toFixed(1);  // read by the benchmark
    const s = D.steps[k];
    position.textContent = `step ${s} of 0\u2013${D.loss.length - 1}: loss ${fmt(D.loss[s])}, ` +
      `accuracy ${D.accuracy[s] === null ? "\u2014" : (100 * D.accuracy[s]).toFixed(1) + "%"}`;
    document.body.dataset.step = s;
  }

  let timer = null;
  function stop() {
    if (timer !== null) play();
  }
  function play() {
    if (timer !== null) { clearInterval(timer); timer = null; playButton.textContent = "\u25B6 Play"; return; }
    if (current >= D.steps.length - 1) show(0);
    playButton.textContent = "\u23F8 Pause";
    timer = setInterval(() => {
      if (current >= D.steps.length - 1) { play(); return; }
      show(current + 1);
    }, 80);
  }

  slider.addEventListener("input", () => show(+slider.value));
  playButton.addEventListener("click", play);
  document.addEventListener("keydown", (e) => {
    if (e.target === slider) return;
    if (e.key === " ") { e.preventDefault(); play(); }
    if (e.key === "ArrowRight") show(current + 1);
    if (e.key === "ArrowLeft") show(current - 1);
  });
  // --- the stepper at a step ------------------------------------------------------------------
  // Python wrote, for each chosen point, the stepper page of that point's loss (gzip-compressed); the
  // browser decompresses it into a frame. Live pages (D.stepperLive) are opened at any step: every weight
  // and bias leaf is set to that step's recorded value through the frame's window.chainrule.setMany,
  // which computes the whole page again. Otherwise (a loss without what-if) each page is one step's.

  const STEPPERS = D.steppers || [];
  const LIVE = !!D.stepperLive;
  const pointBox = document.getElementById("stepper-point");
  const openButton = document.getElementById("open-stepper");
  const note = document.getElementById("stepper-note");
  const frameBox = document.getElementById("stepper-frame");
  const frame = document.getElementById("stepper-view");
  const points = Array.from(new Set(STEPPERS.map((s) => s.point)));
  for (const i of points) {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = `${i}: (${D.X[i].map(fmt).join(", ")}), label ${D.y[i]}`;
    pointBox.appendChild(option);
  }
  const stepsWith = () => STEPPERS.filter((s) => s.point === +pointBox.value).map((s) => s.index);

  function stepperHere() {
    const point = +pointBox.value;
    return STEPPERS.find((s) => s.point === point && (LIVE || s.index === current)) || null;
  }

  function nearest() {
    const list = stepsWith();
    return list.reduce((best, k) => (Math.abs(k - current) < Math.abs(best - current) ? k : best), list[0]);
  }

  function paintStepper() {
    if (!STEPPERS.length) {
      document.getElementById("stepper-controls").hidden = true;
      return;
    }
    const here = stepperHere();
    if (here) {
      openButton.textContent = `Open the stepper: point ${here.point} at step ${D.steps[current]}`;
      note.textContent = "";
    } else {
      openButton.textContent = `Go to step ${D.steps[nearest()]}, which has the stepper`;
      note.textContent = `The stepper is here at steps ${stepsWith().map((k) => D.steps[k]).join(", ")}.`;
    }
  }

  async function unpack64(text) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }

  /** Show `here`'s page in the frame (decompressed once per point while it stays open) and wait for it. */
  async function load(here) {
    if (frame.dataset.page === String(STEPPERS.indexOf(here)) && frame.contentWindow.chainrule) return;
    frame.dataset.page = "";
    const text = await unpack64(here.page);
    await new Promise((resolve) => {
      frame.addEventListener("load", resolve, { once: true });
      frame.srcdoc = text;
    });
    frame.dataset.page = String(STEPPERS.indexOf(here));
  }

  async function openStepper() {
    const here = stepperHere();
    if (!here) { show(nearest()); return; }
    stop();
    const k = current, step = D.steps[k];
    document.getElementById("stepper-title").textContent =
      `Point ${here.point} at step ${step}: the chain rule through this step's weights`;
    frameBox.hidden = false;
    frame.dataset.step = "";
    await load(here);
    if (LIVE) {
      const page = frame.contentWindow.chainrule;
      const weights = Object.fromEntries(D.names.map((name, j) => [name, D.params[k][j]]));
      const problem = page.setMany(weights);
      note.textContent = problem ? `At step ${step}, ${problem.name}: ${problem.message}` : "";
    }
    frame.dataset.step = String(step);
    frame.dataset.point = String(here.point);
  }

  function closeStepper() {
    frameBox.hidden = true;
    openButton.focus();
  }

  openButton.addEventListener("click", openStepper);
  pointBox.addEventListener("change", paintStepper);
  document.getElementById("close-stepper").addEventListener("click", closeStepper);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !frameBox.hidden) closeStepper(); });
  views.push(paintStepper);

  window.chainrule = { step: show, steps: () => D.steps.slice(), current: () => current,
                       openStepper: openStepper };
  show(0);
  document.body.dataset.ready = "true";
})();
