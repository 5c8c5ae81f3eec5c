"""Random computational graphs, drawn with hypothesis, for the oracle and property tests.

A graph is drawn as plain data first: a ``Graph`` holds the leaf values and a
list of ``Node`` records in the order they were made, each naming its op and
its operands (indices of earlier values, or plain numbers). The same data is
then built three ways: with chainrule's public API (``build``, below), in
mpmath (``test_oracle_mpmath``) and in PyTorch (``test_oracle_torch``). The
oracles only ever see this data, never our rules.

Every op the engine knows has a ``Model`` here, made from its case in
tests/op_cases.py: its math in plain floats, when it accepts its inputs, and
how a user writes it. While a graph
is drawn, each candidate node is evaluated with the model and kept only when

* its inputs are inside the op's domain and away from its kinks: relu and abs
  at least ``KINK`` from 0, log, sqrt and non-integer powers at least ``DOMAIN``
  above 0, denominators and negative powers at least ``DENOM`` from 0;
* its local derivatives are well conditioned: tanh and sigmoid stay out of
  saturation (where 1 - t^2 and s(1 - s) cancel), sin and cos stay away from
  points where their derivative is 0, and a power's base stays away from 1
  when the exponent is a Value (d/db = a^b log a);
* its value lies in [VMIN, VMAX] in size, so nothing overflows and no value
  used as a local derivative is the rounding residue of a cancellation
  (relu's flat side, an exact 0, is the one allowed zero).

The float model is only a guide for choosing inputs; the tests compare the
engine with an oracle, never with the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chainrule.autograd import OPS, Value
from chainrule.autograd.ops import call_forward
from hypothesis import strategies as st
from op_cases import CASES

MAX_DEPTH = 50  # the longest leaf-to-output path, in edges
MAX_OPS = 90  # nodes drawn per graph, before the output node that gathers the loose ends
VMAX = 100.0  # every node's value stays within +-VMAX ...
VMIN = 0.01  # ... and at least VMIN away from 0
KINK = 0.1  # relu and abs: |input| >= KINK
DOMAIN = 0.1  # log, sqrt, non-integer powers, a Value exponent's base: input >= DOMAIN
DENOM = 0.25  # division and negative whole powers: |denominator| >= DENOM
MAX_ERROR = 100.0  # bound on a value's accumulated rounding error, in ulps (100 ulps ~ 1.1e-14 relative)
ATTEMPTS = 6  # draws of a node before falling back to neg, which is always valid

#: Ops in ``autograd.OPS`` that these graphs do not model, and why. Only ops that nn
#: registers belong here; ``test_random_graphs`` checks this list is exact.
SKIPPED = {"cross_entropy": "the fused loss node of nn; nn's own tests check it"}


@dataclass(frozen=True)
class Const:
    """A plain number written into a formula, such as the 2 of ``2 * x``: not a leaf we differentiate."""

    value: int | float


@dataclass(frozen=True)
class Node:
    """One op applied to earlier values: ``args`` are their indices in ``Graph`` order, or ``Const``."""

    kind: str  # a key of MODELS: an op-table row's key, such as "*", or "**k" for a power with a number exponent
    args: tuple[int | Const, ...]
    exponent: int | float | None = None  # the number an op carries: the k of a ** k, leaky_relu's slope

    @property
    def refs(self) -> list[int]:
        """The indices of the values this node reads (constants left out, repeats kept)."""
        return [a for a in self.args if not isinstance(a, Const)]


@dataclass(frozen=True)
class Graph:
    """Leaves, then nodes in the order they were made; the last node is the output."""

    leaves: tuple[float, ...]
    nodes: tuple[Node, ...]

    @property
    def output(self) -> int:
        return len(self.leaves) + len(self.nodes) - 1

    def depths(self) -> list[int]:
        """For each value, the number of edges on its longest path down to a leaf."""
        depth = [0] * len(self.leaves)
        for node in self.nodes:
            depth.append(1 + max((depth[i] for i in node.refs), default=0))
        return depth

    def uses(self) -> list[int]:
        """For each value, how many operand slots read it (x * x counts twice)."""
        count = [0] * (len(self.leaves) + len(self.nodes))
        for node in self.nodes:
            for i in node.refs:
                count[i] += 1
        return count

    def path_counts(self) -> list[int]:
        """For each value, how many distinct paths lead from the output down to it.

        Counted on the data, independently of the engine: a value collects the
        count of every node that reads it, once per operand slot.
        """
        count = [0] * (len(self.leaves) + len(self.nodes))
        count[self.output] = 1
        for j in range(len(self.nodes) - 1, -1, -1):
            here = count[len(self.leaves) + j]
            for i in self.nodes[j].refs:
                count[i] += here
        return count


@dataclass(frozen=True)
class Model:
    """How the tests know an op: its float math, its safe inputs, and how a user writes it."""

    kind: str
    symbol: str  # the op's symbol in autograd.OPS
    arity: int  # 1, 2, or -1 for any number of terms
    value: Callable[..., float]  # plain floats (and the exponent, for "**k")
    accepts: Callable[..., bool]  # inputs in the domain, away from kinks, locals well conditioned
    build: Callable[..., Value]  # the engine's public API
    const_sides: tuple[int, ...] = (0, 1)  # operand positions that may be a plain number (binary ops)
    zero_ok: bool = False  # an exact 0.0 result is fine (relu's flat side)
    rounding: float = 1.0  # ulps the op itself may add (sum: one per addition)


def _model(case) -> Model:
    """A random-graph model of one op-table row, from its case in tests/op_cases.py.

    An op that carries a number (the k of ``a ** k``, leaky_relu's slope) gets it
    drawn per node and passed after the inputs, as ``Node.exponent``.
    """
    row = case.row
    n = case.arity

    def value(*args: float) -> float:
        inputs = len(args) if row.arity == -1 else n  # an n-ary op (sum) takes no params: all are inputs
        return call_forward(row, list(args[:inputs]), tuple(args[inputs:]))

    return Model(case.key, row.symbol, row.arity, value, case.accepts, case.build, case.const_sides,
                 case.zero_ok, case.rounding)


#: One model per row of the engine's op table, keyed by the row's key ("**k" for a number exponent).
MODELS: dict[str, Model] = {key: _model(case) for key, case in CASES.items()}
KINDS = sorted(MODELS)


def modeled_symbols() -> set[str]:
    return {m.kind for m in MODELS.values()}


def unmodeled_ops() -> set[str]:
    """Keys of the engine's op table that no model covers (``SKIPPED`` says which may be)."""
    return set(OPS) - modeled_symbols()


# --- drawing ------------------------------------------------------------------------

_LEAF = st.one_of(st.floats(0.1, 4.0), st.floats(-4.0, -0.1))
_CONST = st.one_of(st.sampled_from([2, 3, -1, 10, 0.5, -2.5]), _LEAF)
# Exponents: whole numbers, halves, or any float with 0.05 <= |k| <= 3. Not a tiny k such as 1e-300:
# a ** 1e-300 is 1 to 300 digits, and no 50-digit oracle can see its slope.
_EXPONENT = st.one_of(
    st.sampled_from([2, 3, -1, -2, 0, 1, 0.5, -0.5, 1.5, 2.0, 3.0]),
    st.floats(0.05, 3.0),
    st.floats(-3.0, -0.05),
)


def _assess(model: Model, inputs: Sequence[float], errors: Sequence[float], exponent=None):
    """The node's value and a bound on its rounding error, or None if the node is not acceptable.

    The bound is first-order error analysis in units of float64's relative
    precision (ulps): the node's own rounding, plus each input's error times
    the op's relative condition number |x f'(x) / f| in that input. The
    condition number is measured with a central difference of the float model,
    so no derivative formula is needed here; it is a guide, not an oracle.
    """
    args = [*inputs] + ([exponent] if exponent is not None else [])
    try:
        if not model.accepts(*args):
            return None
        v = model.value(*args)
    except (ValueError, ArithmeticError):
        return None
    if not math.isfinite(v) or abs(v) > VMAX:
        return None
    if v == 0.0:
        return (0.0, 0.0) if model.zero_ok else None  # relu's flat side is exact whatever the input's error
    if abs(v) < VMIN:
        return None
    error = float(max(len(inputs) - 1, 1)) if model.arity == -1 else model.rounding
    for i, (x, e) in enumerate(zip(inputs, errors, strict=True)):
        if e == 0.0:
            continue  # an exact input (a leaf, a constant) passes on no error
        h = 1e-6 * abs(x)
        up, down = list(args), list(args)
        up[i], down[i] = x + h, x - h
        try:
            slope = (model.value(*up) - model.value(*down)) / (2.0 * h)
        except (ValueError, ArithmeticError):
            return None
        error += abs(x * slope / v) * e
    if not error <= MAX_ERROR:
        return None
    return v, error


def _pick(draw, depth: list[int], limit: int) -> int:
    """An earlier value whose depth leaves room for one more node.

    Half the time the deepest such value (so graphs grow deep), otherwise any
    earlier value, leaf or interior node (so values are read again: fan-out).
    One draw either way, which keeps big graphs cheap to generate.
    """
    eligible = [i for i, d in enumerate(depth) if d < limit]
    r = draw(st.integers(0, 2 * len(eligible) - 1))
    if r < len(eligible):
        return eligible[r]
    return max(eligible, key=lambda i: (depth[i], i))


def _draw_operands(draw, model: Model, depth: list[int], limit: int) -> tuple:
    if model.arity == 1:
        return (_pick(draw, depth, limit),)
    if model.arity == -1:
        return tuple(_pick(draw, depth, limit) for _ in range(draw(st.integers(1, 5))))
    first = _pick(draw, depth, limit)
    how = draw(st.integers(0, 9))  # 0-1: x op x, 2-3: a plain number on one side, else two values
    if how <= 1:
        return (first, first)
    if how <= 3 and model.const_sides:
        side = model.const_sides[how % len(model.const_sides)]
        return (Const(draw(_CONST)), first) if side == 0 else (first, Const(draw(_CONST)))
    second = _pick(draw, depth, limit)
    return (first, second) if how % 2 else (second, first)


def _draw_param(draw, kind: str):
    """The number a node of ``kind`` carries, or None: exponents from ``_EXPONENT``, others from their case."""
    if kind == "**k":
        return draw(_EXPONENT)
    domains = CASES[kind].param_domains
    return draw(domains[0]) if domains else None


@st.composite
def graphs(draw, max_ops: int = MAX_OPS, max_depth: int = MAX_DEPTH) -> Graph:
    """A random graph: 2 to 6 leaves, up to ``max_ops`` nodes of every modeled kind, depth <= ``max_depth``.

    Nodes read the deepest value half the time and any earlier value (interior
    nodes included) otherwise, and may read one value twice, so graphs are
    both deep and full of shared subexpressions. Values nothing reads are
    gathered by one final ``sum`` node, the output, so every node drawn is in
    the graph; leaves nothing reads stay as unused inputs (gradient 0).
    """
    leaves = [draw(_LEAF) for _ in range(draw(st.integers(2, 6)))]
    n_leaves = len(leaves)
    value = list(leaves)
    error = [0.0] * n_leaves  # leaves are exact
    depth = [0] * n_leaves
    read = [0] * n_leaves
    nodes: list[Node] = []
    limit = max_depth - 1  # leave a level for the final sum
    for _ in range(draw(st.integers(1, max_ops))):
        node, assessed = None, None
        for _ in range(ATTEMPTS):
            model = MODELS[draw(st.sampled_from(KINDS))]
            args = _draw_operands(draw, model, depth, limit)
            exponent = _draw_param(draw, model.kind)
            inputs = [a.value if isinstance(a, Const) else value[a] for a in args]
            errors = [0.0 if isinstance(a, Const) else error[a] for a in args]
            assessed = _assess(model, inputs, errors, exponent)
            if assessed is not None:
                node = Node(model.kind, args, exponent)
                break
        if node is None:  # neg keeps any valid value valid
            i = max((i for i, d in enumerate(depth) if d < limit), key=lambda i: (depth[i], i))
            node, assessed = Node("neg", (i,)), (-value[i], error[i])
        for i in node.refs:
            read[i] += 1
        nodes.append(node)
        value.append(assessed[0])
        error.append(assessed[1])
        depth.append(1 + max((depth[i] for i in node.refs), default=0))
        read.append(0)
    loose = [i for i in range(n_leaves, len(value)) if read[i] == 0]
    if len(loose) > 1:
        nodes.append(Node("sum", tuple(loose)))
    return Graph(tuple(leaves), tuple(nodes))


# --- building with the engine ---------------------------------------------------------


@dataclass
class Built:
    """A graph built from Values: the output, the leaves, and every value in ``Graph`` order."""

    output: Value
    leaves: list[Value]
    values: list[Value]


def leaf_names(graph: Graph) -> list[str]:
    return [f"x{i}" for i in range(len(graph.leaves))]


def build(graph: Graph, leaves: Sequence[Value] | None = None) -> Built:
    """Build ``graph`` with the public API, on new leaves or on the ``leaves`` given.

    Passing the same leaves again rebuilds the graph at their current
    ``.data``, which is what ``gradcheck`` needs.
    """
    if leaves is None:
        leaves = [Value(x, name=n) for x, n in zip(graph.leaves, leaf_names(graph), strict=True)]
    values = list(leaves)
    for node in graph.nodes:
        model = MODELS[node.kind]
        operands = [a.value if isinstance(a, Const) else values[a] for a in node.args]
        if node.exponent is not None:
            operands.append(node.exponent)
        values.append(model.build(*operands))
    return Built(values[-1], list(leaves), values)
