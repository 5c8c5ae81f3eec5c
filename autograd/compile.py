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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .graph import topological_order
from .ops import Bound, Op, Replay, Segments, call_forward, row_of
from .value import Value, apply

__all__ = ["CompileError", "Replay", "Segments", "Tape", "compile", "replays"]


class CompileError(ValueError):
    """A graph that ``compile`` cannot replay; the message names the op."""


def replays() -> dict[str, Replay]:
    """Every row's numpy kernel, by row key (``"**k"`` for ``a ** k``): what ``compile`` can replay now."""
    from .ops import OPS

    return {key: op.replay for key, op in OPS.items() if op.replay is not None}


def _row_for(node: Value) -> Op:
    """The op-table row whose replay runs ``node``; refuses, naming the op, what it cannot replay."""
    row = row_of(node)
    if row is None:
        raise CompileError(f"compile cannot replay op {node.op!r}: it is not in the op table; use backward()")
    if row.replay is None:
        raise CompileError(
            f"compile cannot replay op {node.op!r}: its op-table row has no numpy replay "
            "(give the row a replay=Replay(...)); use backward() for this graph"
        )
    rule = node._rule
    if not (rule is row.rule or (type(rule) is Bound and rule.op is row)):
        raise CompileError(
            f"compile cannot replay a node of op {node.op!r} whose rule is its own, not the op table's; "
            "use backward() for this graph"
        )
    return row


# --- the tape ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    """The nodes of one row at one level: values[start:stop], and where their parents are.

    A group of a row with ``params`` keeps its nodes' ``Bound`` rules in ``rules``
    (each holds numbers, never a node) and ``constants``, the numbers read from them
    (one array per param), which ``refresh`` reads again before every replay.
    """

    row: Op
    start: int
    stop: int
    parents: Any  # fixed arity: array (arity, n) of positions; n-ary: flat array of positions
    constants: Any  # None; one param: an array of per-node numbers; several: a tuple of arrays
    starts: Any = None  # n-ary only: where each node's parents begin in ``parents``
    sizes: Any = None  # n-ary only: how many parents each node has
    rules: tuple = ()  # with constants: the traced nodes' rules, in the group's order

    @property
    def symbol(self) -> str:
        return self.row.symbol

    @property
    def replay(self) -> Replay:
        return self.row.replay

    def refresh(self, np) -> None:
        """Read each node's numbers from its rule again: one attribute read per node, and only here."""
        table = np.array([rule.params for rule in self.rules], dtype=float).reshape(len(self.rules), -1)
        self.constants = table[:, 0] if table.shape[1] == 1 else tuple(table.T)

    def params_of(self, i: int) -> tuple:
        """Node i's params, as the float forward and rule take them."""
        return self.rules[i].params if self.rules else ()


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
            g.refresh(np)
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
            if not all(np.isfinite(d).all() for d in (local if not g.replay.nary else (local,))):
                self._check_rule(g, x, local)
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
        """
        for g, x in zip(self._groups, saved, strict=True):
            bad = self._np.flatnonzero(~self._np.isfinite(self._values[g.start:g.stop]))
            for i in bad.tolist():
                call_forward(g.row, self._inputs(g, x, i), g.params_of(i))

    def _check_rule(self, g: _Group, x, local) -> None:
        """A local derivative came out inf or nan: ask the float rule, which raises where it overflows.

        Inf and nan are sometimes the right answer (sqrt's vertical slope at 0, a
        nan input), so each such node is rebuilt on scratch leaves and its op's
        float rule is run: if the dynamic engine would raise an OverflowError
        naming the rule and the values, so does the tape.
        """
        np = self._np
        if g.replay.nary:
            flat = np.flatnonzero(~np.isfinite(np.broadcast_to(local, x.values.shape)))
            bad = np.unique(np.searchsorted(g.starts, flat, side="right") - 1)
        else:
            n = g.stop - g.start
            mask = np.zeros(n, dtype=bool)
            for d in local:
                mask |= ~np.isfinite(np.broadcast_to(d, (n,)))
            bad = np.flatnonzero(mask)
        for i in bad.tolist():
            leaves = [Value(v) for v in self._inputs(g, x, i)]
            node = apply(g.row, leaves, data=float(self._values[g.start + i]), params=g.params_of(i))
            node._rule(node)

    @staticmethod
    def _inputs(g: _Group, x, i: int) -> list[float]:
        if g.replay.nary:
            start = int(g.starts[i])
            return x.values[start:start + int(g.sizes[i])].tolist()
        return [float(row[i]) for row in x]


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
    buckets: dict[tuple[int, str], list[Value]] = {}
    for node in order:
        if node.is_leaf:
            level[node] = 0
            continue
        row = _row_for(node)
        here = 1 + max([level[p] for p in node.parents])
        level[node] = here
        buckets.setdefault((here, row.key), []).append(node)

    # Positions: the given leaves first, then the graph's other leaves (constants), then group by group.
    position: dict[Value, int] = {}
    for leaf in leaves:
        position.setdefault(leaf, len(position))
    for node in order:
        if node.is_leaf:
            position.setdefault(node, len(position))
    groups = []
    for key in sorted(buckets):  # level, then the row's key
        members = buckets[key]
        start = len(position)
        for node in members:
            position[node] = len(position)
        groups.append(_make_group(np, row_of(members[0]), members, start, position))

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


def _make_group(np, row: Op, nodes: list, start: int, position: dict) -> _Group:
    stop = start + len(nodes)
    if row.replay.nary:
        flat = [position[p] for node in nodes for p in node.parents]
        sizes = np.array([len(node.parents) for node in nodes], dtype=np.intp)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
        group = _Group(row, start, stop, np.array(flat, dtype=np.intp), None, starts, sizes)
    else:
        # Row j holds every node's parent j (each node's parents read once: a two-input node builds the tuple).
        rows = list(zip(*[[position[p] for p in node.parents] for node in nodes], strict=True))
        group = _Group(row, start, stop, np.array(rows, dtype=np.intp), None)
    if row.params:
        # The rules, not the nodes: a rule holds its numbers only, a node the whole graph below it.
        group.rules = tuple(node._rule for node in nodes)
        group.refresh(np)
    return group
