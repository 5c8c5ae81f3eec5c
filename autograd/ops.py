"""The op table: every operation the engine knows, declared once, one row per op.

A row (``Op``) holds everything the rest of chainrule needs to know about an op:

* ``symbol`` (what a graph shows and ``Value.op`` holds) and ``arity``;
* ``forward``: plain floats in, a float out, raising a clear error outside
  the op's domain;
* ``rule``: given the output node, the *local* derivatives d(out)/d(parent_i),
  one per parent, read from the node's parents and its own value (the fast path
  every backward pass takes);
* ``replay``: the same forward and rule on whole numpy arrays, for ``compile``;
* ``text``: the rule written for people, one line per input, with the letters
  ``a``, ``b`` for the operands (``a1 .. an`` and ``ai`` for an n-ary op);
* ``formula`` and ``derivatives``: the same math once more as formula-language
  strings over ``a``, ``b`` and ``out`` (the node's own value), for the code
  that builds derivative graphs (``grad(create_graph=True)``) and the live page;
* ``name``: the function name formulas call it by (None for ``+ - * / **``);
* ``method``: the name of the ``Value`` method that makes it, if any;
* ``params`` and ``defaults``: constant numbers the op carries besides its
  inputs (the k of ``a ** k``, the slope of ``leaky_relu``, a loss's label).

Nothing here knows about upstream gradients. Multiplying a local derivative by
dL/d(out) and summing where paths meet happens in exactly one place,
``autograd.graph``. Adding an op is one ``register`` call: the engine, the
step-through, the paths, the gradient check, ``compile``, the formula language
and the pictures all read this table.

Rules are plain module-level functions shared by every node of that op, so a
node never refers to itself through its rule (no reference cycles, nothing for
Python's cyclic garbage collector to chase). A node of an op with ``params``
records a ``Bound`` rule instead: the row and the numbers, never a node.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LARGEST_FLOAT = "about 1.8e308"
INF = math.inf


@dataclass(frozen=True)
class Replay:
    """One op on whole arrays at once: the numpy twin of a row's forward and rule.

    For an op with a fixed number of inputs, ``forward(np, x, k)`` gets ``x``,
    one array per input position (``x[0]`` holds the first input of every node
    in a group), and returns the group's values; ``local(np, x, k, out)``
    returns d(out)/d(input_j) for each position j, as arrays or plain floats.
    ``k`` is None for an op without ``params``, the array of each node's number
    for an op with one, and a tuple of such arrays for an op with several.

    For an n-ary op (``nary=True``) ``x`` is a ``Segments``: every node's
    inputs one after another in one flat array, and ``local`` returns one local
    derivative per input in that same flat order.

    ``numpy`` is handed in as ``np``, so the table itself never imports it.
    """

    forward: Callable[..., Any]
    local: Callable[..., Any]
    nary: bool = False


@dataclass(frozen=True)
class Segments:
    """The inputs of an n-ary group laid end to end: node i owns values[starts[i]:starts[i] + sizes[i]]."""

    values: Any  # flat array of input values
    starts: Any  # where each node's inputs begin
    sizes: Any  # how many inputs each node has (at least one)


@dataclass(frozen=True)
class Op:
    """One row of the op table (see the module's docstring for what each part is for).

    The first five fields are positional, as they were before rows grew the
    rest: ``Op("cube", forward, rule, ("d a^3/da = 3*a^2",), 1)`` is a row.
    """

    symbol: str
    forward: Callable[..., float]
    rule: Callable  # rule(out, *params) -> tuple[float, ...], one local derivative per parent
    text: tuple[str, ...]  # the rule for each input, as a person would write it
    arity: int  # number of inputs; -1 for n-ary ops such as sum
    formula: str | None = None  # the forward in the formula language, over a, b (and the params' names)
    derivatives: tuple[str, ...] | None = None  # one formula per input over a, b, out (n-ary: one, for ai)
    name: str | None = None  # the function name in formulas; None for infix operators
    method: str | None = None  # the Value method that makes this op, if there is one
    replay: Replay | None = None  # the numpy kernel for compile; None: compile refuses the op
    params: tuple[str, ...] = ()  # names of constant numbers a node carries (given to forward by keyword)
    defaults: tuple[float, ...] = ()  # default values for the last len(defaults) params
    key: str = ""  # the row's key in OPS; the symbol unless two rows share one (a ** b and a ** k)
    explain: Callable[[tuple], tuple[str, ...]] | None = field(default=None, compare=False)
    # explain(params) -> the text with the numbers filled in, for an op whose text needs more than str.format

    def __post_init__(self):
        if not self.key:
            object.__setattr__(self, "key", self.symbol)


OPS: dict[str, Op] = {}
_hooks: list[Callable[[Op], None]] = []  # called for every row registered (value.py installs Value methods)


def register(op: Op) -> Op:
    """Add ``op`` to the table and return it: from then on every part of chainrule knows it.

    Checks the row is whole: one text line and one derivative formula per
    input (one for an n-ary op), a formula name no other row uses, defaults
    for at most every param.
    """
    if not isinstance(op, Op):
        raise TypeError(f"register needs an Op row, got {type(op).__name__}")
    if op.key in OPS:
        raise ValueError(f"op {op.key!r} is already registered")
    if not (op.arity >= 1 or op.arity == -1):
        raise ValueError(f"op {op.symbol!r}: arity must be at least 1, or -1 for any number of inputs")
    lines = 1 if op.arity == -1 else op.arity
    if len(op.text) != lines:
        raise ValueError(f"op {op.symbol!r} needs {lines} line(s) of rule text, got {len(op.text)}")
    if op.derivatives is not None and len(op.derivatives) != lines:
        raise ValueError(f"op {op.symbol!r} needs {lines} derivative formula(s), got {len(op.derivatives)}")
    if len(op.defaults) > len(op.params):
        raise ValueError(f"op {op.symbol!r} has more defaults than params")
    if op.name is not None and op.name in formula_functions():
        raise ValueError(f"a formula function named {op.name!r} already exists")
    OPS[op.key] = op
    for hook in _hooks:
        hook(op)
    return op


def formula_functions() -> dict[str, Op]:
    """The functions the formula language can call, name -> row: every row with a ``name``.

    Read at each call, so an op registered at run time is known to ``parse`` at once.
    """
    return {op.name: op for op in OPS.values() if op.name is not None}


class Bound:
    """The rule of a node whose op carries numbers: the row and the numbers, never a node.

    Calling it runs ``row.rule(out, *params)``. The numbers read by name too
    (``rule.k``, ``rule.label``) and may be changed that way, which is how a
    compiled tape is handed a new label for a new batch.
    """

    __slots__ = ("op", "params")

    def __init__(self, op: Op, params: tuple):
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "params", tuple(params))

    def __call__(self, out):
        return self.op.rule(out, *self.params)

    def __getattr__(self, name: str):
        try:
            names = object.__getattribute__(self, "op").params
        except AttributeError:  # not built yet (while unpickling)
            raise AttributeError(name) from None
        if name in names:
            return self.params[names.index(name)]
        raise AttributeError(f"op {self.op.symbol!r} has no parameter {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in ("op", "params"):
            object.__setattr__(self, name, tuple(value) if name == "params" else value)
            return
        names = self.op.params
        if name not in names:
            raise AttributeError(f"op {self.op.symbol!r} has no parameter {name!r}")
        params = list(self.params)
        params[names.index(name)] = value
        object.__setattr__(self, "params", tuple(params))

    def __reduce__(self):
        # The row by its key, not by value: a row holds functions that pickle cannot always carry.
        return (_bound, (self.op.key, self.params))

    def __repr__(self) -> str:
        return f"Bound({self.op.key!r}, {self.params!r})"


def _bound(key: str, params: tuple) -> Bound:
    return Bound(OPS[key], params)


def row_of(node) -> Op | None:
    """The op-table row that made ``node``; None for a leaf."""
    if node.is_leaf:
        return None
    rule = node._rule
    if type(rule) is Bound:
        return rule.op
    return OPS.get(node.op)


def node_params(node) -> tuple:
    """The numbers ``node``'s op carries (``(2.0,)`` for ``x ** 2``); () for a node whose op carries none."""
    rule = None if node.is_leaf else node._rule
    return rule.params if type(rule) is Bound else ()


def fmt(x: float) -> str:
    """Format a number for an error message: short, but exact enough to recognise."""
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


# --- forward functions: floats in, float out, clear errors -------------------


# + - * / and sum would overflow to inf silently, as floats do; like exp and **,
# they say so instead when every input was finite. (An input that is already
# inf or NaN propagates, as IEEE says.)


def _overflow(what: str) -> OverflowError:
    return OverflowError(f"{what} overflows a float (the largest is {LARGEST_FLOAT})")


def _derivative_overflow(rule: str, **values: float) -> OverflowError:
    """A local derivative too large for a float, named by its rule and the values it was taken at."""
    at = ", ".join(f"{k} = {fmt(v)}" for k, v in values.items())
    return _overflow(f"the local derivative {rule} at {at}")


def _add(a: float, b: float) -> float:
    r = a + b
    if (r == INF or r == -INF) and math.isfinite(a) and math.isfinite(b):
        raise _overflow(f"{fmt(a)} + {fmt(b)}")
    return r


def _sub(a: float, b: float) -> float:
    r = a - b
    if (r == INF or r == -INF) and math.isfinite(a) and math.isfinite(b):
        raise _overflow(f"{fmt(a)} - {fmt(b)}")
    return r


def _mul(a: float, b: float) -> float:
    r = a * b
    if (r == INF or r == -INF) and math.isfinite(a) and math.isfinite(b):
        raise _overflow(f"{fmt(a)} * {fmt(b)}")
    return r


def _div(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero in {fmt(a)} / {fmt(b)}")
    r = a / b
    if (r == INF or r == -INF) and math.isfinite(a) and math.isfinite(b):
        raise _overflow(f"{fmt(a)} / {fmt(b)}")
    return r


def _pow(a: float, k: float) -> float:
    if a == 0.0 and k < 0:
        raise ZeroDivisionError(f"{fmt(a)} ** {fmt(k)}: zero cannot be raised to a negative power")
    if a < 0.0 and math.isfinite(a) and math.isfinite(k) and k != int(k):
        raise ValueError(f"{fmt(a)} ** {fmt(k)}: a negative base needs a whole-number exponent")
    try:
        return math.pow(a, k)
    except OverflowError:
        raise OverflowError(
            f"{fmt(a)} ** {fmt(k)} overflows a float (the largest is {LARGEST_FLOAT})"
        ) from None


def _neg(a: float) -> float:
    return -a


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(f"exp({fmt(a)}) overflows a float (the largest is {LARGEST_FLOAT})") from None


def _log(a: float) -> float:
    if not a > 0.0 and not math.isnan(a):
        raise ValueError(f"log({fmt(a)}): log is defined only for positive numbers")
    return math.log(a)


def _tanh(a: float) -> float:
    return math.tanh(a)


def _sigmoid(a: float) -> float:
    # Two forms of the same function, so exp never sees a large positive number:
    # 1 / (1 + e^-a) for a >= 0, e^a / (1 + e^a) for a < 0.
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _relu(a: float) -> float:
    return 0.0 if a <= 0.0 else a  # written this way round so NaN stays NaN


def _trig(name: str, f: Callable[[float], float]) -> Callable[[float], float]:
    def forward(a: float) -> float:
        if math.isinf(a):
            raise ValueError(f"{name}({fmt(a)}) is undefined")
        return f(a)

    forward.__name__ = name
    return forward


def _sqrt(a: float) -> float:
    if a < 0.0:
        raise ValueError(f"sqrt({fmt(a)}): sqrt is defined only for numbers >= 0")
    return math.sqrt(a)


def _abs(a: float) -> float:
    return abs(a)


def _sum(*xs: float) -> float:
    r = sum(xs, 0.0)
    if (r == INF or r == -INF) and all(math.isfinite(x) for x in xs):
        raise _overflow(f"the sum of {len(xs)} terms")
    return r


def _sign(a: float) -> float:
    return 1.0 if a > 0.0 else -1.0 if a < 0.0 else a * 0.0  # +-0 for +-0, NaN for NaN


def _softplus(a: float) -> float:
    # log(1 + e^a) = max(a, 0) + log(1 + e^-|a|): exp only ever sees -|a|, so nothing overflows.
    if a != a:
        return a
    return (a if a > 0.0 else 0.0) + math.log1p(math.exp(-abs(a)))


def _leaky_relu(a: float, slope: float = 0.01) -> float:
    return a if a > 0.0 else slope * a


def _max(a: float, b: float) -> float:
    if a != a or b != b:
        return a + b  # NaN in, NaN out (as torch.maximum)
    return a if a >= b else b


def _min(a: float, b: float) -> float:
    if a != a or b != b:
        return a + b
    return a if a <= b else b


# --- local-derivative rules: rule(out, *params) -> one d(out)/d(parent) per parent ----
# Each reads the node's parents (and its own data where that is cheaper). A
# node with two inputs names them ``left`` and ``right``, which is quicker
# than building its ``parents`` tuple on every call. Where a true derivative
# is finite but too large for a float, the rule says so (OverflowError naming
# the rule and the values) rather than handing inf down the graph.


def _add_rule(out):
    return (1.0, 1.0)


def _sub_rule(out):
    return (1.0, -1.0)


def _mul_rule(out):
    return (out.right.data, out.left.data)


def _div_rule(out):
    # d/db = -a/b^2 computed as -(a/b)/b: b*b underflows to 0 for |b| < 1e-162, a/b (the node's own value) does not.
    b = out.right.data
    d_a = 1.0 / b
    d_b = -out.data / b
    if (d_a in (INF, -INF) or d_b in (INF, -INF)) and math.isfinite(out.left.data) and math.isfinite(b):
        raise _derivative_overflow("of a/b", a=out.left.data, b=b)
    return (d_a, d_b)


def _pow_rule(out):
    # a ** b with both a Value: d/da = b a^(b-1), d/db = a^b log(a).
    a, b = out.left.data, out.right.data
    if a > 0.0:
        d_exponent = out.data * math.log(a)
        if d_exponent in (INF, -INF) and math.isfinite(out.data) and math.isfinite(b):
            raise _derivative_overflow("d(a**b)/db = a^b*log(a)", a=a, b=b)
    elif a == 0.0:
        d_exponent = 0.0  # the limit of a^b log(a) as a -> 0+ for b > 0
    else:
        d_exponent = math.nan  # a^b is not differentiable in b for a < 0 (as in PyTorch)
    return (_pow_derivative(a, b, "b"), d_exponent)


def _pow_derivative(a: float, k: float, letter: str = "k") -> float:
    """d(a**k)/da = k a^(k-1).

    Two edges: ``a ** 0`` is a constant (derivative 0, even at a = 0), and at
    a = 0 with k < 1 the slope is vertical (infinite, as for sqrt). A slope
    that is finite but too big for a float is an OverflowError naming a and k.
    """
    if k == 0.0:
        return 0.0
    if a == 0.0 and k < 1.0:
        return math.inf
    try:
        d = k * math.pow(a, k - 1.0)
    except OverflowError:
        d = INF
    if d in (INF, -INF) and math.isfinite(a) and math.isfinite(k):
        rule = f"d(a**{letter})/da = {letter}*a^({letter}-1)"
        raise _derivative_overflow(rule, **{"a": a, letter: k})
    return d


def _pow_k_rule(out, k):
    return (_pow_derivative(out.parents[0].data, k),)


def _neg_rule(out):
    return (-1.0,)


def _exp_rule(out):
    return (out.data,)


def _log_rule(out):
    a = out.parents[0].data
    d = 1.0 / a
    if d == INF:  # a subnormal a: its log is fine, 1/a is not
        raise _derivative_overflow("d log(a)/da = 1/a", a=a)
    return (d,)


def _tanh_rule(out):
    t = out.data
    return (1.0 - t * t,)


def _sigmoid_rule(out):
    s = out.data
    return (s * (1.0 - s),)


def _relu_rule(out):
    return (1.0 if out.parents[0].data > 0.0 else 0.0,)


def _sin_rule(out):
    return (math.cos(out.parents[0].data),)


def _cos_rule(out):
    return (-math.sin(out.parents[0].data),)


def _sqrt_rule(out):
    return (0.5 / out.data if out.data != 0.0 else math.inf,)


def _abs_rule(out):
    a = out.parents[0].data
    return (1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0,)


def _sum_rule(out):
    return (1.0,) * len(out.parents)


def _sign_rule(out):
    return (0.0,)


def _softplus_rule(out):
    return (_sigmoid(out.parents[0].data),)


def _leaky_relu_rule(out, slope):
    return (1.0 if out.parents[0].data > 0.0 else slope,)


def _max_rule(out):
    # The subgradient at a tie: half to each input (torch.maximum does the same), so max + min has slope 1 in each.
    a, b = out.left.data, out.right.data
    if a > b:
        return (1.0, 0.0)
    if a < b:
        return (0.0, 1.0)
    if a == b:
        return (0.5, 0.5)
    return (math.nan, math.nan)


def _min_rule(out):
    d_a, d_b = _max_rule(out)
    return (d_b, d_a)


# --- numpy replays: each forward and rule again, on arrays ------------------------------------------
# Each forward matches the op's float forward element by element; each local matches its rule. Domain
# errors are not raised here: compile checks any non-finite result against the float forward (and the
# float rule), which raise exactly the errors the dynamic engine would.


def _np_sigmoid(np, x, k):
    a = x[0]
    e = np.exp(-np.abs(a))  # the two stable forms of the float forward, chosen per element
    return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_pow_derivative(np, a, k):
    """d(a**k)/da = k a^(k-1), with the float rule's two edges: 0 where k = 0, inf at a = 0 for k < 1."""
    slope = k * np.power(a, k - 1.0)
    return np.where(k == 0.0, 0.0, np.where((a == 0.0) & (k < 1.0), np.inf, slope))


def _np_pow_local(np, x, k, out):
    # a ** b with both Values: d/db = a^b log(a) for a > 0, 0 at a = 0, nan below (as the float rule says).
    a, b = x
    d_exponent = np.where(a > 0.0, out * np.log(np.where(a > 0.0, a, 1.0)), np.where(a == 0.0, 0.0, np.nan))
    return (_np_pow_derivative(np, a, b), d_exponent)


def _np_div_local(np, x, k, out):
    return (1.0 / x[1], -out / x[1])


def _np_sign(np, a):
    return np.where(a > 0.0, 1.0, np.where(a < 0.0, -1.0, a * 0.0))


def _np_softplus(np, x, k):
    a = x[0]
    return np.where(a > 0.0, a, 0.0) + np.log1p(np.exp(-np.abs(a))) + a * 0.0  # + a*0: NaN stays NaN


def _np_max(np, x, k):
    a, b = x
    return np.where(np.isnan(a) | np.isnan(b), a + b, np.where(a >= b, a, b))


def _np_min(np, x, k):
    a, b = x
    return np.where(np.isnan(a) | np.isnan(b), a + b, np.where(a <= b, a, b))


def _np_max_local(np, x, k, out):
    a, b = x
    d = np.where(a > b, 1.0, np.where(a < b, 0.0, np.where(a == b, 0.5, np.nan)))
    return (d, np.where(np.isnan(d), np.nan, 1.0 - d))


def _np_min_local(np, x, k, out):
    d_b, d_a = _np_max_local(np, x, k, out)
    return (d_a, d_b)


# --- the table ---------------------------------------------------------------


def _short(x: float) -> str:
    """A number in a rule's text: 2 rather than 2.0; inf and nan as Python writes them."""
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _power_text(params: tuple) -> tuple[str, ...]:
    k = params[0]
    return (f"d(a**{_short(k)})/da = {_short(k)}*a^{_short(k - 1)}",)


def _leaky_text(params: tuple) -> tuple[str, ...]:
    s = _short(params[0])
    return (f"d leaky_relu(a, {s})/da = 1 if a > 0 else {s}",)


ADD = register(Op(
    "+", _add, _add_rule, ("d(a+b)/da = 1", "d(a+b)/db = 1"), 2, "a + b", ("1", "1"), method="__add__",
    replay=Replay(lambda np, x, k: x[0] + x[1], lambda np, x, k, out: (1.0, 1.0)),
))
SUB = register(Op(
    "-", _sub, _sub_rule, ("d(a-b)/da = 1", "d(a-b)/db = -1"), 2, "a - b", ("1", "-1"), method="__sub__",
    replay=Replay(lambda np, x, k: x[0] - x[1], lambda np, x, k, out: (1.0, -1.0)),
))
MUL = register(Op(
    "*", _mul, _mul_rule, ("d(a*b)/da = b", "d(a*b)/db = a"), 2, "a*b", ("b", "a"), method="__mul__",
    replay=Replay(lambda np, x, k: x[0] * x[1], lambda np, x, k, out: (x[1], x[0])),
))
DIV = register(Op(
    "/", _div, _div_rule, ("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"), 2, "a/b", ("1/b", "-out/b"), method="__truediv__",
    replay=Replay(lambda np, x, k: x[0] / x[1], _np_div_local),
))
POW = register(Op(
    "**", _pow, _pow_rule, ("d(a**b)/da = b*a^(b-1)", "d(a**b)/db = a^b*log(a)"), 2, "a^b",
    ("b*a^(b-1)", "out*log(a)"), method="__pow__",
    replay=Replay(lambda np, x, k: np.power(x[0], x[1]), _np_pow_local),
))
#: ``a ** k`` with a number k: one input, the exponent a constant of the node (x**2 has one parent).
POW_K = register(Op(
    "**", _pow, _pow_k_rule, ("d(a**k)/da = k*a^(k-1)",), 1, "a^k", ("k*a^(k-1)",),
    replay=Replay(lambda np, x, k: np.power(x[0], k), lambda np, x, k, out: (_np_pow_derivative(np, x[0], k),)),
    method="__pow__", params=("k",), key="**k", explain=_power_text,
))
NEG = register(Op(
    "neg", _neg, _neg_rule, ("d(-a)/da = -1",), 1, "-a", ("-1",), method="__neg__",
    replay=Replay(lambda np, x, k: -x[0], lambda np, x, k, out: (-1.0,)),
))
EXP = register(Op(
    "exp", _exp, _exp_rule, ("d exp(a)/da = exp(a)",), 1, "exp(a)", ("out",), name="exp", method="exp",
    replay=Replay(lambda np, x, k: np.exp(x[0]), lambda np, x, k, out: (out,)),
))
LOG = register(Op(
    "log", _log, _log_rule, ("d log(a)/da = 1/a",), 1, "log(a)", ("1/a",), name="log", method="log",
    replay=Replay(lambda np, x, k: np.log(x[0]), lambda np, x, k, out: (1.0 / x[0],)),
))
TANH = register(Op(
    "tanh", _tanh, _tanh_rule, ("d tanh(a)/da = 1 - tanh(a)^2",), 1, "tanh(a)", ("1 - out^2",),
    name="tanh", method="tanh",
    replay=Replay(lambda np, x, k: np.tanh(x[0]), lambda np, x, k, out: (1.0 - out * out,)),
))
SIGMOID = register(Op(
    "sigmoid", _sigmoid, _sigmoid_rule, ("d sigmoid(a)/da = sigmoid(a)*(1 - sigmoid(a))",), 1, "sigmoid(a)",
    ("out*(1 - out)",), name="sigmoid", method="sigmoid",
    replay=Replay(_np_sigmoid, lambda np, x, k, out: (out * (1.0 - out),)),
))
RELU = register(Op(
    "relu", _relu, _relu_rule, ("d relu(a)/da = 1 if a > 0 else 0",), 1, "relu(a)", ("sign(out)",),
    name="relu", method="relu",
    # as the float forward is written, so NaN stays NaN and -0.0 becomes 0.0
    replay=Replay(lambda np, x, k: np.where(x[0] <= 0.0, 0.0, x[0]),
                  lambda np, x, k, out: (np.where(x[0] > 0.0, 1.0, 0.0),)),
))
SIN = register(Op(
    "sin", _trig("sin", math.sin), _sin_rule, ("d sin(a)/da = cos(a)",), 1, "sin(a)", ("cos(a)",),
    name="sin", method="sin",
    replay=Replay(lambda np, x, k: np.sin(x[0]), lambda np, x, k, out: (np.cos(x[0]),)),
))
COS = register(Op(
    "cos", _trig("cos", math.cos), _cos_rule, ("d cos(a)/da = -sin(a)",), 1, "cos(a)", ("-sin(a)",),
    name="cos", method="cos",
    replay=Replay(lambda np, x, k: np.cos(x[0]), lambda np, x, k, out: (-np.sin(x[0]),)),
))
SQRT = register(Op(
    "sqrt", _sqrt, _sqrt_rule, ("d sqrt(a)/da = 1/(2*sqrt(a))",), 1, "sqrt(a)", ("0.5/out",),
    name="sqrt", method="sqrt",
    replay=Replay(lambda np, x, k: np.sqrt(x[0]),
                  lambda np, x, k, out: (np.where(out != 0.0, 0.5 / np.where(out != 0.0, out, 1.0), np.inf),)),
))
ABS = register(Op(
    "abs", _abs, _abs_rule, ("d|a|/da = sign(a)",), 1, "abs(a)", ("sign(a)",), name="abs", method="__abs__",
    replay=Replay(lambda np, x, k: np.abs(x[0]),
                  lambda np, x, k, out: (np.where(x[0] > 0.0, 1.0, np.where(x[0] < 0.0, -1.0, 0.0)),)),
))
SUM = register(Op(
    "sum", _sum, _sum_rule, ("d(a1+...+an)/dai = 1",), -1, "a1 + ... + an", ("1",), name="sum",
    replay=Replay(lambda np, x, k: np.add.reduceat(x.values, x.starts), lambda np, x, k, out: 1.0, nary=True),
))
SIGN = register(Op(
    "sign", _sign, _sign_rule, ("d sign(a)/da = 0",), 1, "sign(a)", ("0",), name="sign", method="sign",
    replay=Replay(lambda np, x, k: _np_sign(np, x[0]), lambda np, x, k, out: (0.0,)),
))
SOFTPLUS = register(Op(
    "softplus", _softplus, _softplus_rule, ("d softplus(a)/da = sigmoid(a)",), 1, "softplus(a)", ("sigmoid(a)",),
    name="softplus", method="softplus",
    replay=Replay(_np_softplus, lambda np, x, k, out: (_np_sigmoid(np, x, k),)),
))
LEAKY_RELU = register(Op(
    "leaky_relu", _leaky_relu, _leaky_relu_rule, ("d leaky_relu(a, slope)/da = 1 if a > 0 else slope",), 1,
    "leaky_relu(a, slope)", ("slope + (1 - slope)*sign(relu(a))",), name="leaky_relu", method="leaky_relu",
    replay=Replay(lambda np, x, k: np.where(x[0] > 0.0, x[0], k * x[0]),
                  lambda np, x, k, out: (np.where(x[0] > 0.0, 1.0, k),)),
    params=("slope",), defaults=(0.01,), explain=_leaky_text,
))
MAX = register(Op(
    "max", _max, _max_rule,
    ("d max(a,b)/da = 1 if a > b, 1/2 if a = b, 0 if a < b", "d max(a,b)/db = 1 if b > a, 1/2 if a = b, 0 if b < a"),
    2, "max(a, b)", ("(1 + sign(a - b))/2", "(1 - sign(a - b))/2"), name="max",
    replay=Replay(_np_max, _np_max_local),
))
MIN = register(Op(
    "min", _min, _min_rule,
    ("d min(a,b)/da = 1 if a < b, 1/2 if a = b, 0 if a > b", "d min(a,b)/db = 1 if b < a, 1/2 if a = b, 0 if b > a"),
    2, "min(a, b)", ("(1 - sign(a - b))/2", "(1 + sign(a - b))/2"), name="min",
    replay=Replay(_np_min, _np_min_local),
))


def wrong_count(node, local: tuple) -> RuntimeError:
    """The error for a rule that gave other than one local derivative per parent (the engine checks)."""
    return RuntimeError(
        f"the rule of op {node.op!r} gave {len(local)} local derivatives for {len(node.parents)} parents"
    )


def power_exponent(node) -> float | None:
    """The number k of a node made by ``a ** k`` with a number k; None for any other node."""
    rule = None if node.is_leaf else node._rule
    return rule.params[0] if type(rule) is Bound and rule.op is POW_K else None


def rule_text(node) -> str:
    """The local-derivative rule of ``node``'s op as text, e.g. ``d(a*b)/da = b; d(a*b)/db = a``.

    For an op that carries numbers, the numbers are filled in: ``d(a**2)/da = 2*a^1``.
    """
    if node.is_leaf:
        return ""
    row = row_of(node)
    if row is None:
        return ""
    params = node_params(node)
    if params and row.explain is not None:
        return "; ".join(row.explain(params))
    if params:
        named = {n: _short(v) for n, v in zip(row.params, params, strict=True)}
        return "; ".join(line.format(**named) for line in row.text)
    return "; ".join(row.text)


def call_forward(op: Op, inputs: list[float], params: tuple) -> float:
    """``op``'s float forward of these inputs, its params given by name."""
    if op.params:
        return op.forward(*inputs, **dict(zip(op.params, params, strict=True)))
    return op.forward(*inputs)
