"""Walking the graph: topological order, the backward pass, its step-through, and paths.

The chain rule lives in one function, ``_send``: a node multiplies its upstream
gradient dL/d(node) by each local derivative d(node)/d(parent) and adds the
product to the parent's grad. Adding is what makes the multi-path chain rule
work: a parent reached along several paths collects one product per path.
``backward`` calls ``_send`` for every node; ``backward_steps`` does the same,
one node at a time, recording what happened.

Every traversal here is a loop over an explicit stack, never recursion, so a
graph may be as deep as memory allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .names import display_names, operand_rule
from .ops import wrong_count
from .value import Value, _Pair


def topological_order(root: Value) -> list[Value]:
    """Every node below ``root`` once, each after all of its parents (root last).

    Depth-first and iterative, so any depth fits; parents are visited in their
    recorded order, so the order is the same on every run.
    """
    return _depth_first(root, with_leaves=True)


def _depth_first(root: Value, with_leaves: bool) -> list[Value]:
    """The topological order, leaves included or (for the backward pass, which skips them) left out.

    A node is expanded when first popped: its unseen parents are pushed above
    it, and under them the ``_EMIT`` marker, which says "the node below me is
    done" once it comes back to the top. A node with no parent left to visit
    is done at once. The stack holds only nodes and the marker, never a new
    object per node: on a chain of a million nodes that spares Python's
    garbage collector a million short-lived tuples (measured: (node, done)
    pairs instead made W3, the wide sum, about 65% slower).
    """
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list = [root]
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())  # every parent is in the order now
            continue
        if node in seen:
            continue
        seen.add(node)
        waiting = False
        for parent in reversed(node.parents):
            if (with_leaves or not parent.is_leaf) and parent not in seen:
                if not waiting:  # the first parent to wait for: the node and its marker go below it
                    stack.append(node)
                    stack.append(_EMIT)
                    waiting = True
                stack.append(parent)
        if not waiting and (with_leaves or not node.is_leaf):
            order.append(node)  # a leaf, or a node whose parents are all in the order
    return order


_EMIT = object()


def _send(node: Value) -> tuple[float, ...]:
    """The chain rule at one node: parent.grad += dL/d(node) * d(node)/d(parent).

    The only place in the engine that multiplies by the upstream gradient.
    Returns the local derivatives it used. (It calls the node's rule itself
    rather than ``node.local_grads()``: the same rule and the same check, one
    call fewer on the hottest path of the engine.)
    """
    local = node._rule(node)
    upstream = node.grad
    if type(node) is _Pair:
        # Two inputs, as most nodes have: the loop below, written out for them without a tuple
        # (measured: without this branch W3 took 15% to 2x longer and W1 12-23%).
        if len(local) != 2:
            raise wrong_count(node, local)
        d_left, d_right = local
        node.left.grad += upstream * d_left
        node.right.grad += upstream * d_right
        return local
    parents = node.parents
    if len(local) != len(parents):
        raise wrong_count(node, local)
    # Lengths were just checked; zip(..., strict=...) would cost a keyword call on the hottest loop.
    for parent, d in zip(parents, local):  # noqa: B905
        parent.grad += upstream * d
    return local


def _prepare(root: Value) -> list[Value]:
    """The nodes that have parents, in topological order, with this pass started.

    Their grads are set to 0 and the root's to 1: interior nodes hold this
    pass's gradient only, while leaves keep what earlier passes left (they
    accumulate, as in PyTorch, until zeroed). Leaves have nothing to send,
    so the pass never needs to visit them.
    """
    interior = _depth_first(root, with_leaves=False)
    for node in interior:
        node.grad = 0.0
    root.grad = 1.0
    return interior


def backward(root: Value) -> None:
    """Reverse-mode differentiation: dL/d(node) for every node below ``root``.

    Visits nodes in reverse topological order, so a node's gradient is
    complete (every child has sent its share) before it is passed on.
    """
    for node in reversed(_prepare(root)):
        _send(node)


def zero_grad(root: Value) -> None:
    """Set ``grad = 0.0`` on ``root`` and every node below it."""
    for node in topological_order(root):
        node.grad = 0.0


# --- the forward pass one step at a time ----------------------------------------


@dataclass(frozen=True)
class ForwardStep:
    """One op node's turn in the forward pass: its value, computed from its parents' values."""

    index: int  # 0-based
    node: Value
    inputs: tuple[float, ...]  # the parents' values, in order
    value: float  # the node's value
    tangent: float | None = None  # forward mode: d(node) along the seeded direction (None when not asked)


def forward_steps(root: Value, tangents: Mapping[Value, float] | None = None) -> Iterator[ForwardStep]:
    """The forward pass that built ``root``, one op node at a time, parents first.

    The values were computed when the graph was built; this walks them in the
    order a person would compute them by hand. Leaves have no step (their value
    is given), so there is one step per node that has parents.

    With ``tangents`` (a seed per input that moves, e.g. ``{x: 1.0}``), each
    step also carries its forward-mode tangent: the node's derivative along
    that direction (``autograd.forward``), beside its value.
    """
    swept = None
    if tangents is not None:
        from .forward import forward_sweep  # forward builds on this module

        swept = forward_sweep(root, tangents)
    index = 0
    for node in topological_order(root):
        if node.is_leaf:
            continue
        tangent = None if swept is None else swept[node]
        yield ForwardStep(index, node, tuple(p.data for p in node.parents), node.data, tangent)
        index += 1


# --- the backward pass one step at a time ---------------------------------------


@dataclass(frozen=True)
class Edge:
    """What one step sent along one edge node -> parent."""

    parent: Value
    local: float  # d(node)/d(parent)
    contribution: float  # upstream * local
    before: float  # the parent's grad before this edge
    after: float  # ... and after: before + contribution


@dataclass(frozen=True)
class Step:
    """One node's turn in the backward pass."""

    index: int  # 0-based
    node: Value
    upstream: float  # dL/d(node), final when the step runs
    edges: tuple[Edge, ...]
    rule: str  # the local rule with the operands' display names, e.g. "d(w*x)/dw = x; d(w*x)/dx = w"


def backward_steps(root: Value) -> Iterator[Step]:
    """The backward pass of ``backward(root)``, yielded one node at a time.

    When a Step is yielded, its edges have already been applied. Leaves have
    no step. Running every step leaves exactly the grads ``backward`` leaves.
    """
    index = 0
    names = display_names(topological_order(root))  # the rules name the real operands: d(w*x)/dw = x
    for node in reversed(_prepare(root)):
        before = [p.grad for p in node.parents]
        local = _send(node)
        edges = []
        running: dict[Value, float] = {}
        for parent, grad_before, d in zip(node.parents, before, local, strict=True):
            start = running.get(parent, grad_before)  # x*x: the second edge starts where the first ended
            contribution = node.grad * d
            running[parent] = start + contribution
            edges.append(Edge(parent, d, contribution, start, start + contribution))
        yield Step(index, node, node.grad, tuple(edges), operand_rule(node, names))
        index += 1


# --- the chain rule as a sum over paths ----------------------------------------------


class TooManyPaths(ValueError):
    """Raised by ``paths`` when the graph has more paths than asked for."""

    def __init__(self, count: int, limit: int):
        self.count = count
        self.limit = limit
        super().__init__(
            f"there are {count_text(count)} paths, more than the limit of {limit:,}; "
            "backward() still computes the gradient in one linear pass"
        )


@dataclass(frozen=True)
class Path:
    """One route from the output down to a leaf, and the product of its edge derivatives."""

    nodes: tuple[Value, ...]  # root ... wrt
    locals: tuple[float, ...]  # one local derivative per edge
    product: float


def count_text(count: int) -> str:
    """A path count for people: exact with thousands separators, or ``about 1.4 × 10^331`` when longer.

    Python refuses to turn an int of more than 4,300 digits into text, and a
    graph can have more paths than that; a float would round or overflow.
    """
    if count < 10**100:
        return f"{count:,}"
    exponent = math.floor(math.log10(count))  # log10 takes ints of any size
    mantissa = 10 ** (math.log10(count) - exponent)
    if round(mantissa, 1) >= 10.0:  # 9.97 would print as 10.0
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"about {mantissa:.1f} × 10^{exponent}"


def _check_wrt(root, wrt) -> None:
    if not isinstance(root, Value) or not isinstance(wrt, Value):
        bad, what = (root, "root") if not isinstance(root, Value) else (wrt, "wrt")
        raise TypeError(f"paths: {what} must be a Value (the node itself, not its name), "
                        f"got {type(bad).__name__} {bad!r:.40}")


def count_paths(root: Value, wrt: Value) -> int:
    """How many distinct paths lead from ``root`` down to ``wrt``, without listing them."""
    _check_wrt(root, wrt)
    return path_counts(root).get(wrt, 0)


def path_counts(root: Value) -> dict[Value, int]:
    """For every node below ``root``, how many distinct paths lead to it from ``root``, in one pass.

    Counted child to parent in reverse topological order: each node passes its
    count to every parent edge (a parent listed twice, as in x*x, gets it twice).
    """
    counts: dict[Value, int] = {root: 1}
    for node in reversed(topological_order(root)):
        n = counts.get(node, 0)
        if n:
            for parent in node.parents:
                counts[parent] = counts.get(parent, 0) + n
    return counts


def paths(root: Value, wrt: Value, limit: int = 10_000) -> list[Path]:
    """Every path from ``root`` down to ``wrt``, with each edge's local derivative.

    The multi-path chain rule says dL/d(wrt) is the sum over these paths of the
    product of the local derivatives along each; after ``root.backward()`` the
    products add up to ``wrt.grad``.
    """
    count = count_paths(root, wrt)
    if count > limit:
        raise TooManyPaths(count, limit)
    return list(iter_paths(root, wrt))


def iter_paths(root: Value, wrt: Value) -> Iterator[Path]:
    """The paths of ``paths``, one at a time and in the same order, with no limit: stop when you have enough."""
    _check_wrt(root, wrt)
    reaches = _nodes_reaching(root, wrt)
    # Each stack entry is a partial path from the root: its nodes and locals so far.
    stack: list[tuple[tuple[Value, ...], tuple[float, ...]]] = [((root,), ())]
    while stack:
        nodes, local = stack.pop()
        node = nodes[-1]
        if node is wrt:
            product = 1.0
            for d in local:
                product *= d
            yield Path(nodes, local, product)
            continue
        edges = list(zip(node.parents, node.local_grads(), strict=True))
        for parent, d in reversed(edges):  # reversed: pop in parent order
            if parent in reaches:
                stack.append((nodes + (parent,), local + (d,)))


def _nodes_reaching(root: Value, wrt: Value) -> set[Value]:
    """The nodes below ``root`` from which ``wrt`` can be reached (``wrt`` included)."""
    reaches: set[Value] = set()
    for node in topological_order(root):  # parents first, so their answer is ready
        if node is wrt or any(p in reaches for p in node.parents):
            reaches.add(node)
    return reaches
