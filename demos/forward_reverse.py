# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Forward mode or reverse mode? Section 5.1's cost argument, counted.

Both modes apply the chain rule to the same graph with the same local
derivatives; they differ in which end they start from.

* Forward mode seeds one input with tangent 1 and pushes tangents up to the
  outputs: one sweep gives d(every output)/d(that input), one column of the
  Jacobian. n inputs need n sweeps.
* Reverse mode (backpropagation) seeds one output with gradient 1 and sends
  gradients down: one sweep gives d(that output)/d(every input), one row.
  m outputs need m sweeps.

A loss has millions of inputs (the weights) and one output, so reverse mode
wins by a factor of n; that is why training runs backward. A curve x ->
(y1, ..., ym) has one input and many outputs, and there forward mode wins by
a factor of m. This demo builds both shapes at growing sizes, counts the op
nodes each mode evaluates (every sweep evaluates each op node's local
derivatives once), times both, and checks that they give the same numbers.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, topological_order
from chainrule.autograd.forward import jacobian_forward, jacobian_reverse
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import table

from chainrule import autograd
from demos.common import heading, run, start

SIZES = (2, 8, 32, 128)
QUICK_SIZES = (2, 8, 32)


def many_inputs(n: int, seed: int) -> tuple[list[Value], list[Value]]:
    """n inputs, one output: L = (sum_i tanh(x_i * x_(i+1)))^2, a loss-like scalar of every input."""
    xs = [Value(0.3 + 0.1 * ((i * 7 + seed) % 11), name=f"x{i}") for i in range(n)]
    terms = [(xs[i] * xs[(i + 1) % n]).tanh() for i in range(n)]
    return xs, [autograd.sum(terms) ** 2]


TRUNK = 10  # layers of the shared trunk, two op nodes each


def many_outputs(m: int, seed: int) -> tuple[list[Value], list[Value]]:
    """One input, m outputs: a shared trunk h = sin(1.3 h) ten times over, then y_k = sin(k h) for k = 1..m."""
    x = Value(0.4 + 0.01 * seed, name="x")
    h = x
    for _ in range(TRUNK):
        h = (h * 1.3).sin()
    return [x], [(h * float(k)).sin() for k in range(1, m + 1)]


def op_nodes(outputs: list[Value]) -> int:
    seen = set()
    for y in outputs:
        seen.update(node for node in topological_order(y) if not node.is_leaf)
    return len(seen)


def fastest(work, *args, repeats: int = 3):
    """``work(*args)``'s result and the shortest of a few timings of it, in seconds."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def largest_difference(a: list[list[float]], b: list[list[float]]) -> float:
    """The largest relative difference between two Jacobians, entry by entry."""
    worst = 0.0
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            if x != y:
                worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def compare(demo, key: str, shape, sizes) -> list[tuple[int, int, int, float, float]]:
    """Both modes on ``shape(size)`` for each size; prints a table and records facts. Returns the rows."""
    rows, results, worst, exact_counts = [], [], 0.0, True
    for size in sizes:
        inputs, outputs = shape(size, demo.seed)
        forward, t_forward = fastest(jacobian_forward, outputs, inputs)
        reverse, t_reverse = fastest(jacobian_reverse, outputs, inputs)
        worst = max(worst, largest_difference(forward.jacobian, reverse.jacobian))
        nodes = op_nodes(outputs)
        # Forward: every sweep covers the whole graph. Reverse: each sweep covers what lies below its output.
        below = [op_nodes([y]) for y in outputs]
        exact_counts = exact_counts and forward.ops == len(inputs) * nodes and reverse.ops == sum(below)
        results.append((size, forward.ops, reverse.ops, t_forward, t_reverse))
        rows.append((str(size), str(nodes), f"{forward.sweeps} / {reverse.sweeps}", f"{forward.ops:,}",
                     f"{reverse.ops:,}", f"{t_forward * 1e3:.2f} ms", f"{t_reverse * 1e3:.2f} ms"))
    print(table(("size", "op nodes", "sweeps fwd / rev", "ops forward", "ops reverse", "time forward",
                 "time reverse"), rows))
    print(f"largest relative difference between the two Jacobians: {worst:.1e}")
    demo.fact(f"{key}.sizes", ",".join(str(s) for s in sizes))
    demo.fact(f"{key}.forward_ops", ",".join(str(r[1]) for r in results))
    demo.fact(f"{key}.reverse_ops", ",".join(str(r[2]) for r in results))
    demo.fact(f"{key}.counts_match_the_graph", exact_counts)
    demo.fact(f"{key}.max_rel_diff", worst)
    demo.fact(f"{key}.largest_time_ratio", results[-1][3] / results[-1][4])
    return results


def main(argv: list[str] | None = None) -> None:
    demo = start("forward_reverse", "Forward mode against reverse mode: sweeps and ops counted, "
                 "for many inputs and for many outputs.", argv)
    sizes = QUICK_SIZES if demo.quick else SIZES

    heading("n inputs, one output: L = (sum_i tanh(x_i x_(i+1)))^2, the whole gradient")
    wide = compare(demo, "many_inputs", many_inputs, sizes)
    print("Notice: forward mode needs n sweeps over the whole graph, reverse mode one. The ops column")
    print("grows as n^2 forward (n sweeps of a graph of size ~n) and as n backward: training runs backward.")

    heading(f"one input, m outputs: a shared trunk of {2 * TRUNK} op nodes, then y_k = sin(k h), every dy_k/dx")
    tall = compare(demo, "many_outputs", many_outputs, sizes)
    print("Notice: now it is the other way round. One forward sweep carries dx through the shared trunk")
    print("to every output; reverse mode walks the trunk again for each of the m outputs.")

    fig = new_figure(9.0, 3.8)
    left, right = fig.subplots(1, 2)
    for ax, results, title, x_label in (
        (left, wide, "n inputs, 1 output", "inputs n"),
        (right, tall, "1 input, m outputs", "outputs m"),
    ):
        xs = [r[0] for r in results]
        ax.loglog(xs, [r[1] for r in results], "o-", color="#dc2626", label="forward mode")
        ax.loglog(xs, [r[2] for r in results], "s-", color="#2563eb", label="reverse mode")
        ax.set(xlabel=x_label, ylabel="op nodes evaluated", title=title)
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs], minor=False)
        ax.set_xticks([], minor=True)  # the sizes themselves, not log-scale clutter between them
        ax.grid(alpha=0.3)
        ax.legend()
    demo.save_figure(fig, "modes.png", "ops evaluated by each mode, for both shapes of Jacobian")
    demo.finish()


if __name__ == "__main__":
    run(main)
