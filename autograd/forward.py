"""Forward mode: carry a tangent along with every value, inputs to output.

Reverse mode (``autograd.graph``) starts at the output with dL/dL = 1 and
sends gradients back towards the inputs. Forward mode goes the other way:
pick a direction ``t`` in input space (a *tangent*, one number per input),
and push it forward through the graph. Every node gets

    tangent(node) = sum over its parents p of  d(node)/d(p) * tangent(p)

the chain rule read from the inputs' side. At the output that is the
directional derivative: the gradient dotted with ``t``. This is the dual
number a + b·ε, computed with the same local derivatives the backward pass
reads (``node.local_grads()``, from the op table): no op is written twice.

The cost argument of the course, made exact:

* one forward sweep gives one *column* of the Jacobian (d every output / d one
  input), so n inputs need n sweeps for the gradient;
* one reverse sweep gives one *row* (d one output / d every input), so m
  outputs need m sweeps.

A loss has many inputs and one output: reverse mode wins by a factor of n.
A curve ``x -> (f1(x), ..., fm(x))`` has one input and many outputs: forward
mode wins by a factor of m. ``sweep_costs`` counts both.

Everything here reads a graph already built (the values were computed when the
Values were made); only the tangents flow, one node at a time, parents first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .graph import topological_order
from .higher import adjoints
from .value import Value, as_value


def push_tangent(node: Value, tangents: Mapping[Value, float]) -> float:
    """The forward chain rule at one node: sum of d(node)/d(parent) * tangent(parent).

    A parent without a tangent contributes nothing (a constant, or an input
    outside the chosen direction). The one place forward mode multiplies
    by a local derivative, as ``graph._send`` is for reverse mode.
    """
    total = 0.0
    for parent, local in zip(node.parents, node.local_grads(), strict=True):
        total += local * tangents.get(parent, 0.0)
    return total


def forward_sweep(outputs: Value | Sequence[Value], seeds: Mapping[Value, float]) -> dict[Value, float]:
    """One forward-mode sweep: the tangent of every node below ``outputs``.

    ``seeds`` gives the tangent of the inputs that move (usually leaves; any
    node may be seeded, and then its own parents are ignored, as if it were a
    leaf). Nodes are visited in topological order, so each parent's tangent is
    final before its children read it. Returns a dict node -> tangent that
    includes every node of the graph.
    """
    roots = [outputs] if isinstance(outputs, Value) else list(outputs)
    tangents: dict[Value, float] = {}
    for node in nodes_below(roots):
        if node in seeds:
            tangents[node] = float(seeds[node])
        elif node.is_leaf:
            tangents[node] = 0.0
        else:
            tangents[node] = push_tangent(node, tangents)
    return tangents


def nodes_below(roots: Sequence[Value]) -> list[Value]:
    """Every node below any of ``roots``, each once, parents before children."""
    if len(roots) == 1:
        return topological_order(roots[0])
    # One traversal for all the roots, from a stand-in node whose parents are the roots (it is not a
    # Value and computes nothing: the traversal reads only ``parents`` and ``is_leaf``).
    return topological_order(_Roots(tuple(roots)))[:-1]


class _Roots:
    """A stand-in above several outputs, so one topological traversal orders them all."""

    __slots__ = ("parents",)
    is_leaf = False

    def __init__(self, parents: tuple):
        self.parents = parents


def jvp(fn: Callable[..., Value | Sequence[Value]], primals: Sequence[float],
        tangents: Sequence[float]) -> tuple:
    """Jacobian-vector product: ``fn``'s value at ``primals`` and its derivative along ``tangents``.

    ``fn(*values)`` builds the graph from one Value per primal (a primal that
    is already a Value is used as its own leaf) and returns a Value (or a list
    of Values: then both results are lists, one entry per output). The
    tangent is sum_i d fn/d x_i * t_i, found in one forward sweep, as
    ``jax.jvp`` finds it.

    >>> jvp(lambda x, y: x * y + x, [3.0, 2.0], [1.0, 0.0])  # d/dx (xy + x) = y + 1
    (9.0, 3.0)
    """
    primals, tangents = list(primals), list(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp needs one tangent per primal: got {len(primals)} primals and {len(tangents)} "
                         "tangents")
    for t in tangents:
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
            raise ValueError(f"jvp: a tangent must be a finite number, got {t!r}")
    leaves = [p if isinstance(p, Value) else Value(p) for p in primals]
    result = fn(*leaves)
    many = not isinstance(result, Value)
    outputs = [as_value(r) for r in result] if many else [result]
    seeds = {leaf: float(t) for leaf, t in zip(leaves, tangents, strict=True)}
    swept = forward_sweep(outputs, seeds)
    values = [out.data for out in outputs]
    derivatives = [swept[out] for out in outputs]
    if many:
        return values, derivatives
    return values[0], derivatives[0]


# --- the cost argument, counted ----------------------------------------------------------------


@dataclass(frozen=True)
class SweepCost:
    """A full Jacobian found one way: how many sweeps, how many local-derivative evaluations."""

    mode: str  # "forward" or "reverse"
    sweeps: int  # forward: one per input; reverse: one per output
    ops: int  # op nodes evaluated (each evaluates its local derivatives once per sweep)
    jacobian: list[list[float]]  # jacobian[i][j] = d output_i / d input_j


def jacobian_forward(outputs: Sequence[Value], inputs: Sequence[Value]) -> SweepCost:
    """The Jacobian column by column: one forward sweep per input, seeded with that input's unit tangent."""
    outputs, inputs = list(outputs), list(inputs)
    nodes = nodes_below(outputs)
    op_nodes = sum(1 for n in nodes if not n.is_leaf)
    columns = []
    for x in inputs:
        swept = forward_sweep(outputs, {x: 1.0})
        columns.append([swept[out] for out in outputs])
    jacobian = [[columns[j][i] for j in range(len(inputs))] for i in range(len(outputs))]
    return SweepCost("forward", len(inputs), op_nodes * len(inputs), jacobian)


def jacobian_reverse(outputs: Sequence[Value], inputs: Sequence[Value]) -> SweepCost:
    """The Jacobian row by row: one reverse sweep (a backward pass) per output.

    Uses ``higher.adjoints``, a backward pass that writes no ``.grad``, so
    the graph is left as it was found.
    """
    outputs, inputs = list(outputs), list(inputs)
    rows, ops = [], 0
    for out in outputs:
        grads = adjoints(out)
        ops += sum(1 for node in grads if not node.is_leaf)
        rows.append([grads.get(x, 0.0) for x in inputs])
    return SweepCost("reverse", len(outputs), ops, rows)

