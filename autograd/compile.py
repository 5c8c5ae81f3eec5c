"""``compile``: replay a graph of fixed shape with numpy, forward and backward.

A training loop builds the same graph again and again: the same ops wired the
same way, only the numbers differ. ``compile(output, leaves)`` walks such a
graph once and flattens it into arrays; the ``Tape`` it returns recomputes
the whole graph from the leaves' current ``.data`` with a few numpy calls per
level instead of a few Python calls per node.

How the graph is flattened:

* Every node gets a *level*: 0 for a leaf, and for an op node one more than
  the highest level among its parents. A node depends only on lower levels,
  so every node of one level can be computed at the same time.
* The nodes of one level that share an op form a *group*. The group's values
  sit in one slice of a flat array of all values, and the group keeps its
  parents' positions in that array.
* Forward: level by level, each group gathers its parents' values and runs
  its op's vectorized forward on them, one numpy call for all its nodes.
  Data-dependent ops (relu, abs, the branches of ``**``) decide per element
  from the values of this call, never from the values seen at trace time.
* Backward: the chain rule once more, on arrays. Level by level from the top,
  each group multiplies its nodes' gradients dL/d(node) by its local
  derivatives d(node)/d(parent) and scatter-adds the products into the
  parents' gradients (``np.add.at``); a parent reached along several edges
  collects one product per edge, the multi-path sum. This is the only place
  in this module that multiplies by an upstream gradient (``_backward``).

The vectorized rules in ``REPLAYS`` are the op table's rules (``autograd.ops``)
written for arrays; the tests hold every one of them to the table's scalar rule.
An op with no vectorized rule, or a node that carries a rule of its own, is
refused at compile time with a ``CompileError`` that names the op.

numpy is imported inside ``compile``, so ``import autograd`` stays free of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .graph import topological_order
from .ops import OPS, power_exponent
from .value import Value


class CompileError(ValueError):
    """A graph that ``compile`` cannot replay; the message names the op."""


@dataclass(frozen=True)
class Replay:
    """One op on whole arrays at once: the vectorized twin of an op-table row.

    For an op with a fixed number of inputs, ``forward(np, x, k)`` gets
    ``x``, one array per input position (``x[0]`` holds the first parent of
    every node in the group), and returns the group's values;
    ``local(np, x, k, out)`` returns d(out)/d(input_j) for each position j,
    as arrays or plain floats. ``k`` is the per-node number the rule carries
    (the exponent of ``a ** k``) or None.

    For an n-ary op (``nary=True``) ``x`` is a ``Segments``: every node's
    parents one after another in one flat array, and ``local`` returns one
    local derivative per parent in that same flat order.

    ``constant``, when given, reads that per-node number off the node's rule
    object (``rule.exponent``, nn's ``rule.label``); ops without it must use
    the op table's shared rule. The tape keeps those rule objects and reads
    the numbers again on every call, so a number changed in a traced node's
    rule (a new label for a new batch) is replayed without tracing again.
    """

    forward: Callable[..., Any]
    local: Callable[..., Any]
    nary: bool = False
    constant: Callable[[Any], float] | None = None


@dataclass(frozen=True)
class Segments:
    """The parents of an n-ary group laid end to end: node i owns values[starts[i]:starts[i] + sizes[i]]."""

    values: Any  # flat array of parent values
    starts: Any  # where each node's parents begin
    sizes: Any  # how many parents each node has (at least one)


# --- the vectorized rules, in the op table's order -------------------------------------------------
# Each forward matches the op's float forward in autograd.ops element by element; each local matches
# its rule. Domain errors are not raised here: Tape checks any non-finite result against the float
# forward, which raises exactly the error the dynamic engine would.


def _sigmoid(np, x, k):
    # The two stable forms of the float forward, chosen per element: exp only sees -|a|.
    a = x[0]
    e = np.exp(-np.abs(a))
    return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _pow_derivative(np, a, k):
    """d(a**k)/da = k a^(k-1), with the op table's two edges: 0 where k = 0, inf at a = 0 for k < 1."""
    slope = k * np.power(a, k - 1.0)
    return np.where(k == 0.0, 0.0, np.where((a == 0.0) & (k < 1.0), np.inf, slope))


def _pow_local(np, x, k, out):
    # a ** b with both Values: d/db = a^b log(a) for a > 0, 0 at a = 0, nan below (as the table says).
    a, b = x
    d_exponent = np.where(a > 0.0, out * np.log(np.where(a > 0.0, a, 1.0)), np.where(a == 0.0, 0.0, np.nan))
    return (_pow_derivative(np, a, b), d_exponent)


REPLAYS: dict[str, Replay] = {
    "+": Replay(lambda np, x, k: x[0] + x[1], lambda np, x, k, out: (1.0, 1.0)),
    "-": Replay(lambda np, x, k: x[0] - x[1], lambda np, x, k, out: (1.0, -1.0)),
    "*": Replay(lambda np, x, k: x[0] * x[1], lambda np, x, k, out: (x[1], x[0])),
    "/": Replay(lambda np, x, k: x[0] / x[1], lambda np, x, k, out: (1.0 / x[1], -x[0] / (x[1] * x[1]))),
    "**": Replay(lambda np, x, k: np.power(x[0], x[1]), _pow_local),
    "neg": Replay(lambda np, x, k: -x[0], lambda np, x, k, out: (-1.0,)),
    "exp": Replay(lambda np, x, k: np.exp(x[0]), lambda np, x, k, out: (out,)),
    "log": Replay(lambda np, x, k: np.log(x[0]), lambda np, x, k, out: (1.0 / x[0],)),
    "tanh": Replay(lambda np, x, k: np.tanh(x[0]), lambda np, x, k, out: (1.0 - out * out,)),
    "sigmoid": Replay(_sigmoid, lambda np, x, k, out: (out * (1.0 - out),)),
    # relu as its float forward is written, so NaN stays NaN and -0.0 becomes 0.0
    "relu": Replay(
        lambda np, x, k: np.where(x[0] <= 0.0, 0.0, x[0]),
        lambda np, x, k, out: (np.where(x[0] > 0.0, 1.0, 0.0),),
    ),
    "sin": Replay(lambda np, x, k: np.sin(x[0]), lambda np, x, k, out: (np.cos(x[0]),)),
    "cos": Replay(lambda np, x, k: np.cos(x[0]), lambda np, x, k, out: (-np.sin(x[0]),)),
    "sqrt": Replay(
        lambda np, x, k: np.sqrt(x[0]),
        lambda np, x, k, out: (np.where(out != 0.0, 0.5 / out, np.inf),),
    ),
    "abs": Replay(
        lambda np, x, k: np.abs(x[0]),
        lambda np, x, k, out: (np.where(x[0] > 0.0, 1.0, np.where(x[0] < 0.0, -1.0, 0.0)),),
    ),
    "sum": Replay(lambda np, x, k: np.add.reduceat(x.values, x.starts), lambda np, x, k, out: 1.0, nary=True),
}

def _exponent(rule) -> float:
    """The k of ``a ** k``, as its ``PowerRule`` holds it."""
    return rule.exponent


#: ``a ** k`` with a number k: one parent, the exponent carried per node by its rule.
POWER_BY_NUMBER = Replay(
    lambda np, x, k: np.power(x[0], k),
    lambda np, x, k, out: (_pow_derivative(np, x[0], k),),
    constant=_exponent,
)


def register_replay(symbol: str, replay: Replay) -> Replay:
    """Teach ``compile`` an op declared outside ``autograd.ops`` (one vectorized rule per symbol)."""
    if symbol not in OPS:
        raise ValueError(f"op {symbol!r} is not in the op table; register the op first")
    if symbol in REPLAYS:
        raise ValueError(f"op {symbol!r} already has a vectorized rule")
    REPLAYS[symbol] = replay
    return replay


def _replay_for(node: Value) -> Replay:
    """The vectorized rule for ``node``; refuses, naming the op, what it cannot replay."""
    if power_exponent(node) is not None:
        return POWER_BY_NUMBER
    replay = REPLAYS.get(node.op)
    if replay is None:
        raise CompileError(
            f"compile cannot replay op {node.op!r}: it has no vectorized rule "
            "(see autograd.compile.REPLAYS); use backward() for this graph"
        )
    if replay.constant is None and node._rule is not OPS[node.op].rule:
        raise CompileError(
            f"compile cannot replay a node of op {node.op!r} whose rule is its own, not the op table's; "
            "use backward() for this graph"
        )
    return replay


# --- the tape ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    """The nodes of one op at one level: values[start:stop], and where their parents are.

    A group whose replay has a ``constant`` keeps its nodes' rule objects in ``rules``
    (each holds one number, never a node) and ``constants``, the numbers read from them,
    which ``refresh`` reads again before every replay.
    """

    symbol: str
    replay: Replay
    start: int
    stop: int
    parents: Any  # fixed arity: array (arity, n) of positions; n-ary: flat array of positions
    constants: Any  # array of per-node numbers, or None
    starts: Any = None  # n-ary only: where each node's parents begin in ``parents``
    sizes: Any = None  # n-ary only: how many parents each node has
    rules: tuple = ()  # with constants: the traced nodes' rules, in the group's order

    def refresh(self) -> None:
        """Read each node's number from its rule again: one attribute read per node, and only here."""
        read = self.replay.constant
        self.constants[:] = [read(rule) for rule in self.rules]


class Tape:
    """A graph flattened for replay; ``tape()`` runs forward and backward on its leaves' current data.

    Only the leaves given to ``compile`` are read and written: every other
    leaf is a constant frozen at its traced value, and the traced graph's own
    nodes are not touched (the tape keeps no reference to them). A node whose
    rule carries a number (the k of ``a ** k``, nn's cross_entropy label) is
    the one exception that is read: the tape keeps that rule object, not the
    node, and uses the number it holds at each call.
    """

    def __init__(self, np, leaves: list[Value], leaf_positions, values, groups: list[_Group], output: int,
                 levels: int, nodes: int, watched):
        self._np = np
        self.leaves = leaves  #: the Values read and written on every call, in the order given
        self._leaf_positions = leaf_positions
        self._values = values  # every node's value (and any given leaf outside the graph); constants in place
        self._groups = groups  # level by level, parents' levels first
        self._numbered = [g for g in groups if g.constants is not None]  # groups that read numbers from rules
        self._output = output
        self.levels = levels  #: the longest path from a leaf to the output, in edges
        self.nodes = nodes  #: how many nodes the traced graph has, leaves included
        self._watched = watched  # positions of the nodes given to compile as ``watch``

    def ops(self) -> dict[str, int]:
        """How many nodes of each op the tape replays."""
        counts: dict[str, int] = {}
        for g in self._groups:
            counts[g.symbol] = counts.get(g.symbol, 0) + g.stop - g.start
        return counts

    def __repr__(self) -> str:
        return (f"Tape(nodes={self.nodes}, levels={self.levels}, groups={len(self._groups)}, "
                f"leaves={len(self.leaves)})")

    def __call__(self) -> float:
        """Read the leaves' ``.data``, replay forward and backward, return the output's value.

        Every leaf given to ``compile`` gets ``.grad`` *assigned* d(output)/d(leaf)
        from this replay alone (what a fresh ``backward()`` leaves on zeroed
        grads); nothing accumulates across calls. A domain error in the
        forward pass raises the same error ``backward``'s graph would have
        raised when it was built, naming the op and the value.
        """
        np = self._np
        values = self._values
        values[self._leaf_positions] = np.fromiter((v.data for v in self.leaves), float, len(self.leaves))
        for g in self._numbered:
            g.refresh()
        with np.errstate(all="ignore"):  # inf and nan are checked below, against the float forward
            saved = self._forward(values)
            if not np.isfinite(values).all():
                self._raise_domain_error(saved)
            grads = self._backward(saved)
        for leaf, g in zip(self.leaves, grads[self._leaf_positions].tolist(), strict=True):
            leaf.grad = g
        return float(values[self._output])

    def watched(self) -> list[float]:
        """The values the last call gave the nodes passed to ``compile`` as ``watch``, in that order."""
        return self._values[self._watched].tolist()

    def _forward(self, values) -> list:
        """Each group's inputs, computed level by level; the groups' values are written into ``values``."""
        saved = []
        for g in self._groups:
            if g.replay.nary:
                x = Segments(values[g.parents], g.starts, g.sizes)
            else:
                x = values[g.parents]  # one gather: row j holds every node's parent j
            values[g.start:g.stop] = g.replay.forward(self._np, x, g.constants)
            saved.append(x)
        return saved

    def _backward(self, saved: list):
        """The chain rule on arrays: parent.grad += dL/d(node) * d(node)/d(parent), edge by edge."""
        np = self._np
        values = self._values
        grads = np.zeros(len(values))
        grads[self._output] = 1.0
        for g, x in zip(reversed(self._groups), reversed(saved), strict=True):
            upstream = grads[g.start:g.stop]  # complete: every child sits at a higher level, already done
            local = g.replay.local(np, x, g.constants, values[g.start:g.stop])
            if g.replay.nary:
                np.add.at(grads, g.parents, np.repeat(upstream, g.sizes) * local)
            else:
                for positions, d in zip(g.parents, local, strict=True):
                    np.add.at(grads, positions, upstream * d)
        return grads

    def _raise_domain_error(self, saved: list) -> None:
        """Find a non-finite result whose float forward raises, and raise that error.

        A non-finite value is not always an error (nan in, nan out; an inf input
        gives an inf result), so each one is put to the op table's float forward
        with the same inputs, which raises exactly what the dynamic engine raises.
        (An n-ary op whose nodes carry a number of their own, such as nn's
        cross_entropy, has no common float signature and is not re-checked.)
        """
        np = self._np
        for g, x in zip(self._groups, saved, strict=True):
            bad = np.flatnonzero(~np.isfinite(self._values[g.start:g.stop]))
            forward = OPS[g.symbol].forward
            for i in bad.tolist():
                if g.replay.nary:
                    if g.constants is not None:
                        break
                    start = int(g.starts[i])
                    forward(*x.values[start:start + int(g.sizes[i])].tolist())
                    continue
                args = [float(row[i]) for row in x]
                if g.constants is not None:
                    args.append(float(g.constants[i]))
                forward(*args)


def compile(output: Value, leaves: Sequence[Value], watch: Sequence[Value] = ()) -> Tape:  # noqa: A001 - the contract's name
    """Trace the graph below ``output`` once and flatten it into a ``Tape`` for numpy replay.

    ``leaves`` are the inputs the tape reads (``.data``) and differentiates
    (``.grad``) on every call, typically a model's parameters, plus the data
    leaves a training loop refills between batches. Every other leaf keeps the
    value it has now. Raises ``CompileError`` (a ``ValueError``) naming any op
    without a vectorized rule, ``ValueError`` if a given leaf was made by an op,
    and ``TypeError`` for something that is not a Value.

    ``watch``: nodes of the graph whose values each call should keep for
    ``tape.watched()`` (a training loop's model outputs, for its accuracy),
    so that reading them needs no second forward pass.

    The replay pays off for wide, shallow graphs such as an MLP's training
    step: its cost grows with the number of levels, not of nodes.
    """
    import numpy as np

    if not isinstance(output, Value):
        raise TypeError(f"compile needs the output Value, got {type(output).__name__}")
    leaves = list(leaves)
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, Value):
            raise TypeError(f"compile: leaves[{i}] is a {type(leaf).__name__}, not a Value")
        if not leaf.is_leaf:
            raise ValueError(f"compile: leaves[{i}] was made by op {leaf.op!r}; only leaves can be fed in")

    order = topological_order(output)
    # Levels: a leaf is 0, an op node one above its highest parent.
    level: dict[Value, int] = {}
    buckets: dict[tuple[int, str, bool], list[tuple[Value, Replay]]] = {}
    for node in order:
        if node.is_leaf:
            level[node] = 0
            continue
        replay = _replay_for(node)
        here = 1 + max([level[p] for p in node.parents])
        level[node] = here
        key = (here, node.op, replay is POWER_BY_NUMBER)
        buckets.setdefault(key, []).append((node, replay))

    # Positions: the given leaves first, then the graph's other leaves (constants), then group by group.
    position: dict[Value, int] = {}
    for leaf in leaves:
        position.setdefault(leaf, len(position))
    for node in order:
        if node.is_leaf:
            position.setdefault(node, len(position))
    groups = []
    for key in sorted(buckets):  # level, then op symbol, then the power-by-number flag
        members = buckets[key]
        start = len(position)
        for node, _ in members:
            position[node] = len(position)
        groups.append(_make_group(np, key[1], members, start, position))

    values = np.zeros(len(position))
    for node, i in position.items():
        if node.is_leaf:
            values[i] = node.data
    leaf_positions = np.array([position[leaf] for leaf in leaves], dtype=np.intp)
    watched = []
    for i, node in enumerate(watch):
        if node not in level:
            raise ValueError(f"compile: watch[{i}] is not a node of the graph below the output")
        watched.append(position[node])
    return Tape(np, leaves, leaf_positions, values, groups, position[output], max(level.values()), len(order),
                np.array(watched, dtype=np.intp))


def _make_group(np, symbol: str, members: list, start: int, position: dict) -> _Group:
    replay = members[0][1]
    nodes = [node for node, _ in members]
    stop = start + len(members)
    if replay.nary:
        flat = [position[p] for node in nodes for p in node.parents]
        sizes = np.array([len(node.parents) for node in nodes], dtype=np.intp)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
        group = _Group(symbol, replay, start, stop, np.array(flat, dtype=np.intp), None, starts, sizes)
    else:
        # Row j holds every node's parent j (each node's parents read once: a two-input node builds the tuple).
        rows = list(zip(*[[position[p] for p in node.parents] for node in nodes], strict=True))
        group = _Group(symbol, replay, start, stop, np.array(rows, dtype=np.intp), None)
    if replay.constant is not None:
        # The rules, not the nodes: a rule holds its number only, a node the whole graph below it.
        group.rules = tuple(node._rule for node in nodes)
        group.constants = np.zeros(len(nodes))
        group.refresh()
    return group
