"""The op table: every operation the engine knows, declared once.

An op is four things:

* its ``symbol`` (what a graph shows and ``Value.op`` holds),
* ``forward``: plain floats in, a float out, raising a clear error outside
  the op's domain,
* ``rule``: given the output node, the *local* derivatives
  d(out)/d(parent_i), one per parent, read from the node's parents and its
  own value,
* ``text``: the rule written for people, one line per input.

Nothing here knows about upstream gradients. Multiplying a local derivative
by dL/d(out) and summing where paths meet happens in exactly one place,
``autograd.graph``. Adding an op is one ``register`` call: the engine, the
step-through, the graphs and the tests all read this table.

Rules are plain module-level functions shared by every node of that op, so a
node never refers to itself through its rule (no reference cycles, nothing
for Python's cyclic garbage collector to chase).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

LARGEST_FLOAT = "about 1.8e308"
INF = math.inf


@dataclass(frozen=True)
class Op:
    """One row of the op table."""

    symbol: str
    forward: Callable[..., float]
    rule: Callable  # rule(out) -> tuple[float, ...], one local derivative per parent
    text: tuple[str, ...]  # the rule for each input, as a person would write it
    arity: int  # number of inputs; -1 for n-ary ops such as sum


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the table (one symbol, one row) and return it."""
    if op.symbol in OPS:
        raise ValueError(f"op {op.symbol!r} is already registered")
    OPS[op.symbol] = op
    return op


def fmt(x: float) -> str:
    """Format a number for an error message: short, but exact enough to recognise."""
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


# --- forward functions: floats in, float out, clear errors -------------------


# + - * / and sum would overflow to inf silently, as floats do; like exp and **,
# they say so instead when every input was finite. (An input that is already
# inf or NaN propagates, as IEEE says.)


def _overflow(what: str) -> OverflowError:
    return OverflowError(f"{what} overflows a float (the largest is {LARGEST_FLOAT})")


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


# --- local-derivative rules: rule(out) -> one d(out)/d(parent) per parent ----
# Each reads the node's parents (and its own data where that is cheaper). A
# node with two inputs names them ``left`` and ``right``, which is quicker
# than building its ``parents`` tuple on every call.


def _add_rule(out):
    return (1.0, 1.0)


def _sub_rule(out):
    return (1.0, -1.0)


def _mul_rule(out):
    return (out.right.data, out.left.data)


def _div_rule(out):
    a, b = out.left, out.right
    return (1.0 / b.data, -a.data / (b.data * b.data))


def _pow_rule(out):
    # a ** b with both a Value: d/da = b a^(b-1), d/db = a^b log(a).
    a, b = out.left, out.right
    if a.data > 0.0:
        d_exponent = out.data * math.log(a.data)
    elif a.data == 0.0:
        d_exponent = 0.0  # the limit of a^b log(a) as a -> 0+ for b > 0
    else:
        d_exponent = math.nan  # a^b is not differentiable in b for a < 0 (as in PyTorch)
    return (_pow_derivative(a.data, b.data), d_exponent)


def _pow_derivative(a: float, k: float) -> float:
    """d(a**k)/da = k a^(k-1).

    Two edges: ``a ** 0`` is a constant (derivative 0, even at a = 0), and at
    a = 0 with 0 < k < 1 the slope is vertical (infinite, as for sqrt).
    """
    if k == 0.0:
        return 0.0
    if a == 0.0 and k < 1.0:
        return math.inf
    return k * math.pow(a, k - 1.0)


class PowerRule:
    """The rule of ``a ** k`` for a constant number ``k``: d/da = k a^(k-1).

    The one rule that must carry something besides the node: its exponent.
    It holds the number, never the node, so still no cycle.
    """

    __slots__ = ("exponent",)

    def __init__(self, exponent: float):
        self.exponent = exponent

    def __call__(self, out):
        (a,) = out.parents
        return (_pow_derivative(a.data, self.exponent),)


def _neg_rule(out):
    return (-1.0,)


def _exp_rule(out):
    return (out.data,)


def _log_rule(out):
    return (1.0 / out.parents[0].data,)


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


# --- the table ---------------------------------------------------------------

ADD = register(Op("+", _add, _add_rule, ("d(a+b)/da = 1", "d(a+b)/db = 1"), 2))
SUB = register(Op("-", _sub, _sub_rule, ("d(a-b)/da = 1", "d(a-b)/db = -1"), 2))
MUL = register(Op("*", _mul, _mul_rule, ("d(a*b)/da = b", "d(a*b)/db = a"), 2))
DIV = register(Op("/", _div, _div_rule, ("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"), 2))
POW = register(Op("**", _pow, _pow_rule, ("d(a**b)/da = b*a^(b-1)", "d(a**b)/db = a^b*log(a)"), 2))
NEG = register(Op("neg", _neg, _neg_rule, ("d(-a)/da = -1",), 1))
EXP = register(Op("exp", _exp, _exp_rule, ("d exp(a)/da = exp(a)",), 1))
LOG = register(Op("log", _log, _log_rule, ("d log(a)/da = 1/a",), 1))
TANH = register(Op("tanh", _tanh, _tanh_rule, ("d tanh(a)/da = 1 - tanh(a)^2",), 1))
SIGMOID = register(
    Op("sigmoid", _sigmoid, _sigmoid_rule, ("d sigmoid(a)/da = sigmoid(a)*(1 - sigmoid(a))",), 1)
)
RELU = register(Op("relu", _relu, _relu_rule, ("d relu(a)/da = 1 if a > 0 else 0",), 1))
SIN = register(Op("sin", _trig("sin", math.sin), _sin_rule, ("d sin(a)/da = cos(a)",), 1))
COS = register(Op("cos", _trig("cos", math.cos), _cos_rule, ("d cos(a)/da = -sin(a)",), 1))
SQRT = register(Op("sqrt", _sqrt, _sqrt_rule, ("d sqrt(a)/da = 1/(2*sqrt(a))",), 1))
ABS = register(Op("abs", _abs, _abs_rule, ("d|a|/da = sign(a)",), 1))
SUM = register(Op("sum", _sum, _sum_rule, ("d(a1+...+an)/dai = 1",), -1))

#: Text of the rule for ``a ** k`` when ``k`` is a number (shown with k filled in).
POWER_TEXT = "d(a**{k})/da = {k}*a^{k_minus_1}"


def wrong_count(node, local: tuple) -> RuntimeError:
    """The error for a rule that gave other than one local derivative per parent (the engine checks)."""
    return RuntimeError(
        f"the rule of op {node.op!r} gave {len(local)} local derivatives for {len(node.parents)} parents"
    )


def power_exponent(node) -> float | None:
    """The number k of a node made by ``a ** k`` with a number k; None for any other node."""
    return node._rule.exponent if isinstance(node._rule, PowerRule) else None


def rule_text(node) -> str:
    """The local-derivative rule of ``node``'s op as text, e.g. ``d(a*b)/da = b; d(a*b)/db = a``."""
    if node.is_leaf:
        return ""
    k = power_exponent(node)
    if k is not None:
        return POWER_TEXT.format(k=_short(k), k_minus_1=_short(k - 1))
    return "; ".join(OPS[node.op].text)


def _short(x: float) -> str:
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)
