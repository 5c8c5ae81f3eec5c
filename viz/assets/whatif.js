/* chainrule's what-if: the page computes its graph again, from the op table's own formula strings.
 *
 * Python writes every row of the op table into the page (autograd/ops.py: each row's `formula` and
 * `derivatives`, strings in the formula language over a, b, out, ai and the row's params). This file
 * compiles those strings into JavaScript closures (a small recursive-descent parser; never eval, never
 * new Function) and runs them: forward values, each edge's local derivative, and the backward pass.
 *
 * The formula language's functions (exp, log, sigmoid, ...) and operators (+ - * / ^) are the
 * primitives below, written as the Python engine's float forwards are written: the same stable forms,
 * the same domain checks, and the same words when a value leaves an op's domain ("log(-1): log is
 * defined only for positive numbers"). Forward values are computed strictly (a domain error stops the
 * node); local derivatives with plain IEEE arithmetic (an infinite slope stays infinite, as the
 * engine's rules return it). A function a row calls that is not a primitive is another row: its
 * formula is compiled in place, so a new op whose formula uses known functions needs no JavaScript.
 *
 * window.chainruleWhatIf = {compile, run, fmt6, seededValues, attach}; the stepper (stepper.js) calls
 * attach() with its state, and the what-if panel and window.chainrule.set() are built there.
 */
(function () {
  "use strict";

  const LARGEST = "about 1.8e308";
  const fin = Number.isFinite;

  /** x as Python's f"{x:.6g}" writes it (-0 kept): how the engine's error messages show numbers. */
  const fmt6 = (x) => window.chainrulePage.gformat(x, 6);

  /** A value outside an op's domain, worded as the Python engine words it. */
  class DomainError extends Error {}
  /** A formula the page cannot compile: what-if is unavailable for the graph. */
  class Unavailable extends Error {}

  const overflow = (what) => new DomainError(what + " overflows a float (the largest is " + LARGEST + ")");
  const infinite = (r) => r === Infinity || r === -Infinity;

  // --- the primitives: each as the engine's float forward (strict) and as plain IEEE (lenient) ---------

  function sigmoid(a) {
    // 1 / (1 + e^-a) for a >= 0, e^a / (1 + e^a) below: exp never sees a large positive number.
    if (a >= 0) return 1 / (1 + Math.exp(-a));
    const e = Math.exp(a);
    return e / (1 + e);
  }
  function softplus(a) {
    if (a !== a) return a;
    return (a > 0 ? a : 0) + Math.log1p(Math.exp(-Math.abs(a)));
  }
  const sign = (a) => (a > 0 ? 1 : a < 0 ? -1 : a * 0);
  const relu = (a) => (a <= 0 ? 0 : a);
  const leaky = (a, slope) => (a > 0 ? a : (slope === undefined ? 0.01 : slope) * a);
  const max = (a, b) => (a !== a || b !== b ? a + b : a >= b ? a : b);
  const min = (a, b) => (a !== a || b !== b ? a + b : a <= b ? a : b);

  const BINARY = {
    "+": {
      strict: (a, b) => { const r = a + b; if (infinite(r) && fin(a) && fin(b)) throw overflow(fmt6(a) + " + " + fmt6(b)); return r; },
      lenient: (a, b) => a + b,
    },
    "-": {
      strict: (a, b) => { const r = a - b; if (infinite(r) && fin(a) && fin(b)) throw overflow(fmt6(a) + " - " + fmt6(b)); return r; },
      lenient: (a, b) => a - b,
    },
    "*": {
      strict: (a, b) => { const r = a * b; if (infinite(r) && fin(a) && fin(b)) throw overflow(fmt6(a) + " * " + fmt6(b)); return r; },
      // In a derivative, a zero factor makes the product zero even beside inf or NaN, as the engine's rules
      // say: d(a**0)/da = 0 at a = 0, and d(a**b)/db = a^b log(a) is 0 at a = 0.
      lenient: (a, b) => ((a === 0 && !fin(b)) || (b === 0 && !fin(a)) ? 0 : a * b),
    },
    "/": {
      strict: (a, b) => {
        if (b === 0) throw new DomainError("division by zero in " + fmt6(a) + " / " + fmt6(b));
        const r = a / b;
        if (infinite(r) && fin(a) && fin(b)) throw overflow(fmt6(a) + " / " + fmt6(b));
        return r;
      },
      lenient: (a, b) => a / b,
    },
    "^": {
      strict: (a, k) => {
        const said = fmt6(a) + " ** " + fmt6(k);
        if (a === 0 && k < 0) throw new DomainError(said + ": zero cannot be raised to a negative power");
        if (a < 0 && fin(a) && fin(k) && k !== Math.trunc(k)) {
          throw new DomainError(said + ": a negative base needs a whole-number exponent");
        }
        const r = Math.pow(a, k);
        if (infinite(r) && fin(a) && fin(k)) throw overflow(said);
        return r;
      },
      lenient: (a, k) => Math.pow(a, k),
    },
  };

  function trig(name, f) {
    return (a) => { if (infinite(a)) throw new DomainError(name + "(" + fmt6(a) + ") is undefined"); return f(a); };
  }

  const FUNCTIONS = {
    exp: {
      strict: (a) => { const r = Math.exp(a); if (r === Infinity && fin(a)) throw overflow("exp(" + fmt6(a) + ")"); return r; },
      lenient: Math.exp,
    },
    log: {
      strict: (a) => {
        if (!(a > 0) && a === a) throw new DomainError("log(" + fmt6(a) + "): log is defined only for positive numbers");
        return Math.log(a);
      },
      lenient: Math.log,
    },
    sqrt: {
      strict: (a) => {
        if (a < 0) throw new DomainError("sqrt(" + fmt6(a) + "): sqrt is defined only for numbers >= 0");
        return Math.sqrt(a);
      },
      lenient: Math.sqrt,
    },
    sin: {strict: trig("sin", Math.sin), lenient: Math.sin},
    cos: {strict: trig("cos", Math.cos), lenient: Math.cos},
    tanh: {strict: Math.tanh, lenient: Math.tanh},
    sigmoid: {strict: sigmoid, lenient: sigmoid},
    relu: {strict: relu, lenient: relu},
    abs: {strict: Math.abs, lenient: Math.abs},
    sign: {strict: sign, lenient: sign},
    softplus: {strict: softplus, lenient: softplus},
    leaky_relu: {strict: leaky, lenient: leaky},
    max: {strict: max, lenient: max},
    min: {strict: min, lenient: min},
    sum: {
      nary: true,
      strict: (xs) => {
        let r = 0;
        for (const x of xs) r += x;
        if (infinite(r) && xs.every(fin)) throw overflow("the sum of " + xs.length + " terms");
        return r;
      },
      lenient: (xs) => { let r = 0; for (const x of xs) r += x; return r; },
    },
  };
  const CONSTANTS = {pi: Math.PI, e: Math.E};

  // --- the formula language: text -> tree -> closure ------------------------------------------------

  function tokenize(text) {
    const tokens = [];
    const re = /\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/^(),]))/y;
    let at = 0;
    while (at < text.length) {
      if (/^\s*$/.test(text.slice(at))) break;
      re.lastIndex = at;
      const m = re.exec(text);
      if (!m) throw new Unavailable("cannot read the formula " + JSON.stringify(text) + " at column " + (at + 1));
      at = re.lastIndex;
      if (m[1] !== undefined) tokens.push({t: "num", v: Number(m[1])});
      else if (m[2] !== undefined) tokens.push({t: "name", v: m[2]});
      else tokens.push({t: "op", v: m[3] === "**" ? "^" : m[3]});
    }
    return tokens;
  }

  /** The tree of one formula: {num}, {name}, {neg}, {bin op l r}, {call f args}. Python's precedence. */
  function parse(text) {
    const tokens = tokenize(text);
    let i = 0;
    const peek = () => tokens[i];
    const isOp = (v) => tokens[i] && tokens[i].t === "op" && tokens[i].v === v;
    const fail = (why) => { throw new Unavailable("cannot read the formula " + JSON.stringify(text) + ": " + why); };
    function expect(v) { if (!isOp(v)) fail("expected " + v); i++; }
    function sum() {
      let left = product();
      while (isOp("+") || isOp("-")) { const op = tokens[i++].v; left = {t: "bin", op: op, l: left, r: product()}; }
      return left;
    }
    function product() {
      let left = unary();
      while (isOp("*") || isOp("/")) { const op = tokens[i++].v; left = {t: "bin", op: op, l: left, r: unary()}; }
      return left;
    }
    function unary() {
      if (isOp("-")) { i++; return {t: "neg", x: unary()}; }
      if (isOp("+")) { i++; return unary(); }
      return power();
    }
    function power() {
      const base = atom();
      if (isOp("^")) { i++; return {t: "bin", op: "^", l: base, r: unary()}; } // right-assoc; -a^2 = -(a^2)
      return base;
    }
    function atom() {
      const tok = peek();
      if (!tok) fail("it ends too soon");
      i++;
      if (tok.t === "num") return {t: "num", v: tok.v};
      if (tok.t === "name") {
        if (!isOp("(")) return {t: "name", v: tok.v};
        i++;
        const args = [];
        if (!isOp(")")) {
          args.push(sum());
          while (isOp(",")) { i++; args.push(sum()); }
        }
        expect(")");
        return {t: "call", f: tok.v, args: args};
      }
      if (tok.v === "(") { const inner = sum(); expect(")"); return inner; }
      return fail("unexpected " + tok.v);
    }
    const tree = sum();
    if (i !== tokens.length) fail("unexpected " + tokens[i].v);
    return tree;
  }

  const MAX_NESTING = 16; // rows whose formulas call rows: deep enough for any honest table

  /**
   * One formula as a closure over an environment object (env.a, env.b, env.out, env.ai, params).
   * `byName` maps a function name to its row, for calls that are not primitives; `strict` picks the
   * primitives' domain-checking forms; `chain` names the rows being compiled (a row that calls
   * itself has no formula the page can use).
   */
  function compileFormula(text, byName, strict, chain, bound) {
    if (chain.length > MAX_NESTING) throw new Unavailable("the formula " + JSON.stringify(text) + " nests rows too deeply");
    const mode = strict ? "strict" : "lenient";
    function walk(node) {
      switch (node.t) {
        case "num": { const v = node.v; return () => v; }
        case "name": {
          const n = node.v;
          if (bound.includes(n)) return (env) => env[n];
          if (n in CONSTANTS) { const v = CONSTANTS[n]; return () => v; }
          throw new Unavailable("the formula " + JSON.stringify(text) + " names " + n + ", which is not bound");
        }
        case "neg": { const x = walk(node.x); return (env) => -x(env); }
        case "bin": {
          const f = BINARY[node.op][mode];
          const l = walk(node.l);
          const r = walk(node.r);
          return (env) => f(l(env), r(env));
        }
        case "call": return call(node);
      }
      throw new Unavailable("the formula " + JSON.stringify(text) + " is outside the formula language");
    }
    function call(node) {
      const args = node.args.map(walk);
      const prim = FUNCTIONS[node.f];
      if (prim) {
        const f = prim[mode];
        if (prim.nary) return (env) => f(args.map((g) => g(env)));
        if (args.length === 1) { const [x] = args; return (env) => f(x(env)); }
        if (args.length === 2) { const [x, y] = args; return (env) => f(x(env), y(env)); }
        return (env) => f(...args.map((g) => g(env)));
      }
      const row = byName[node.f];
      if (row && chain.includes(node.f)) {
        throw new Unavailable("op " + node.f + " is written in terms of itself (" + JSON.stringify(row.formula) +
          "): the page needs its formula in other functions, such as a^3 for a cube");
      }
      if (!row || !row.formula || row.arity < 1) {
        throw new Unavailable("the formula " + JSON.stringify(text) + " calls " + node.f +
          ", which the page cannot compute (no formula string in its row)");
      }
      // Another row: its formula, compiled in place, with its inputs and params bound to the arguments.
      const names = ["a", "b"].slice(0, row.arity).concat(row.params);
      const inner = compileFormula(row.formula, byName, strict, chain.concat([node.f]), names);
      const defaults = row.defaults.map(revive);
      const firstDefault = names.length - defaults.length;
      if (args.length < row.arity || args.length > names.length) {
        throw new Unavailable("the formula " + JSON.stringify(text) + " calls " + node.f + " with " + args.length + " arguments");
      }
      return (env) => {
        const sub = {};
        for (let j = 0; j < names.length; j++) sub[names[j]] = j < args.length ? args[j](env) : defaults[j - firstDefault];
        return inner(sub);
      };
    }
    return walk(parse(text));
  }

  function revive(x) {
    if (x !== null && typeof x === "object" && typeof x.float === "string") {
      return {inf: Infinity, "-inf": -Infinity}[x.float] ?? NaN;
    }
    return x;
  }

  /** One row as {forward(xs, ps), locals(xs, ps, out)}, or throws Unavailable saying why. */
  function compileRow(key, rows, byName) {
    const row = rows[key];
    if (!row) throw new Unavailable("op " + key + " is not in the page's op table");
    if (!row.formula || !row.derivatives) {
      throw new Unavailable("op " + row.symbol + " states no formula strings in its row");
    }
    const params = row.params;
    if (row.arity === -1) {
      const prim = row.name && FUNCTIONS[row.name];
      if (!prim || !prim.nary) throw new Unavailable("op " + row.symbol + " takes any number of inputs, which the page can only compute for sum");
      const d = compileFormula(row.derivatives[0], byName, false, [row.name], ["ai", "out"].concat(params));
      return {
        forward: (xs) => prim.strict(xs),
        locals: (xs, ps, out) => {
          const env = {out: out};
          params.forEach((p, j) => { env[p] = ps[j]; });
          return xs.map((x) => { env.ai = x; return d(env); });
        },
      };
    }
    const inputs = ["a", "b"].slice(0, row.arity);
    // A row named like a primitive (log, sigmoid ...) is that primitive; any other is its formula.
    const chain = row.name && !FUNCTIONS[row.name] ? [row.name] : [];
    const f = compileFormula(row.formula, byName, true, chain, inputs.concat(params));
    const ds = row.derivatives.map((text) => compileFormula(text, byName, false, chain, inputs.concat(params, ["out"])));
    function env(xs, ps) {
      const e = {a: xs[0], b: xs[1]};
      for (let j = 0; j < params.length; j++) e[params[j]] = ps[j];
      return e;
    }
    return {
      forward: (xs, ps) => f(env(xs, ps)),
      locals: (xs, ps, out) => { const e = env(xs, ps); e.out = out; return ds.map((d) => d(e)); },
    };
  }

  /**
   * A graph made ready to run: `nodes` in topological order ({name, op, key, params, parents}),
   * `rows` the op table. Returns {ok: true, ...} or {ok: false, why, node} when some op cannot be
   * computed in the page.
   */
  function compile(rows, nodes) {
    const byName = {};
    for (const key of Object.keys(rows)) if (rows[key].name) byName[rows[key].name] = rows[key];
    const compiled = {};
    const ops = new Array(nodes.length).fill(null);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (!node.op) continue;
      try {
        if (!(node.key in compiled)) compiled[node.key] = compileRow(node.key, rows, byName);
        ops[i] = compiled[node.key];
      } catch (error) {
        if (!(error instanceof Unavailable)) throw error;
        return {ok: false, why: error.message, node: i};
      }
    }
    const root = nodes.length - 1;
    return {
      ok: true,
      n: nodes.length,
      root: root,
      ops: ops,
      parents: nodes.map((node) => node.parents),
      params: nodes.map((node) => (node.params || []).map(revive)),
      leaves: nodes.map((node, i) => i).filter((i) => !nodes[i].op),
    };
  }

  /**
   * Run a compiled graph at `values` (one number per node; only the inputs' are read):
   * {data, locals, grads, error}. A domain error stops the node that raised it and every node that
   * needs it (their data NaN) and leaves no gradient (all NaN); `error` is {node, message}.
   * Gradients accumulate in reverse topological order, as backward() does.
   */
  function run(program, values) {
    const n = program.n;
    const data = new Float64Array(n);
    const locals = new Array(n);
    const grads = new Float64Array(n);
    let error = null;
    for (let i = 0; i < n; i++) {
      const op = program.ops[i];
      if (!op) { data[i] = values[i]; continue; }
      const parents = program.parents[i];
      const xs = parents.map((p) => data[p]);
      if (error && xs.some((x) => Number.isNaN(x))) { data[i] = NaN; continue; }
      try {
        data[i] = op.forward(xs, program.params[i]);
        locals[i] = op.locals(xs, program.params[i], data[i]);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        if (!error) error = {node: i, message: e.message};
        data[i] = NaN;
      }
    }
    if (error) {
      grads.fill(NaN);
      return {data: data, locals: locals, grads: grads, error: error};
    }
    grads[program.root] = 1;
    for (let i = n - 1; i >= 0; i--) {
      const local = locals[i];
      if (!local) continue;
      const parents = program.parents[i];
      const g = grads[i];
      for (let k = 0; k < parents.length; k++) grads[parents[k]] += g * local[k];
    }
    return {data: data, locals: locals, grads: grads, error: null};
  }

  // --- variants: each student's own inputs from a seed ----------------------------------------------

  /** A 32-bit hash of the typed seed (a name or a number), then mulberry32: the same seed, the same draws. */
  function prng(seed) {
    let h = 2166136261;
    for (const ch of String(seed).trim().toLowerCase()) { h ^= ch.codePointAt(0); h = Math.imul(h, 16777619); }
    let state = h >>> 0;
    return function () {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const TRIES = 200;

  /**
   * New input values from `seed`: each input keeps its sign and moves to between half and one and a
   * half times its size (0 draws from -1 .. 1), rounded to a number a student can work with. A draw
   * that takes some op out of its domain, or gives a value or gradient that is not finite, is drawn
   * again, up to TRIES times. `which` lists the inputs to draw (default: every input). Returns
   * {values, tries} or {values: null, tries} when none worked.
   */
  function seededValues(program, original, seed, which) {
    const random = prng(seed);
    for (let t = 1; t <= TRIES; t++) {
      const values = Array.from(original);
      for (const i of which || program.leaves) {
        const v = original[i];
        const drawn = v === 0 ? 2 * random() - 1 : v * (0.5 + random());
        values[i] = roundNicely(drawn);
      }
      const result = run(program, values);
      if (!result.error && result.data.every(fin) && result.grads.every(fin)) return {values: values, tries: t};
    }
    return {values: null, tries: TRIES};
  }

  /** Two significant digits, never 0: 1.3, 0.27, -4.1, 12. */
  function roundNicely(x) {
    if (x === 0) return 0.1;
    const digits = Math.max(0, 1 - Math.floor(Math.log10(Math.abs(x))));
    const r = Number(x.toFixed(Math.min(digits, 12)));
    return r === 0 ? (x > 0 ? 0.1 : -0.1) : r;
  }

  window.chainruleWhatIf = {compile: compile, run: run, fmt6: fmt6, seededValues: seededValues, prng: prng};
})();
