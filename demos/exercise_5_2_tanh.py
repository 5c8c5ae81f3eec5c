# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Exercise 5.2: the backward pass of tanh, derived and then checked.

The derivation is printed step by step (see DERIVATION). Three checks follow:

1. the engine's tanh node, whose local derivative is 1 - t^2 read off its own
   output t, against central differences of ``math.tanh`` over a range of x;
2. the same tanh built from the definition out of exp, -, + and / nodes: the
   engine, knowing nothing of tanh, backpropagates through the pieces and
   must land on the same number, which is the derivation done by machine;
3. a picture: tanh, its slope 1 - tanh^2 with the numerical slopes on top,
   and sigmoid's slope for comparison (at most 1/4, where tanh's reaches 1).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, count_paths, exp, topological_order
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import num, step_table, table

from demos.common import central_difference, heading, run, start

DERIVATION = """\
Write t = tanh(a) = s / c  with  s = e^a - e^-a  and  c = e^a + e^-a.

  1. Differentiate the pieces:  ds/da = e^a + e^-a = c   and   dc/da = e^a - e^-a = s.
  2. Quotient rule:             dt/da = (ds/da * c - s * dc/da) / c^2 = (c^2 - s^2) / c^2.
  3. Split the fraction:        dt/da = 1 - (s/c)^2 = 1 - tanh(a)^2 = 1 - t^2.

Backward pass: a tanh node that receives upstream = dL/dt sends back

      dL/da = dL/dt * (1 - t^2),

using only its own output t, saved in the forward pass: no exponential is
computed again (sigmoid does the same with h(1 - h))."""


def engine_slope(x: float) -> float:
    """d tanh(a)/da at a = x, from one backward pass through the engine's tanh node."""
    a = Value(x)
    a.tanh().backward()
    return a.grad


def tanh_from_exp(a: Value) -> Value:
    """tanh written out from its definition: (e^a - e^-a) / (e^a + e^-a), one node per operation."""
    up, down = exp(a), exp(-a)
    s = up - down
    s.name = "s"
    c = up + down
    c.name = "c"
    t = s / c
    t.name = "t"
    return t


def main(argv: list[str] | None = None) -> None:
    demo = start("exercise_5_2_tanh", "Exercise 5.2: the backward pass of tanh, derived and checked.", argv)

    heading("Deriving d tanh(a)/da")
    print(DERIVATION)

    count = 17 if demo.quick else 81
    xs = [-4.0 + 8.0 * i / (count - 1) for i in range(count)]
    heading(f"Check 1: the engine's rule against central differences, {count} points in [-4, 4]")
    rows, worst = [], 0.0
    for x in xs:
        engine = engine_slope(x)
        numeric = central_difference(math.tanh, x)
        formula = 1.0 - math.tanh(x) ** 2
        worst = max(worst, relative_error(engine, numeric))
        if x in (-4.0, -2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 4.0):
            rows.append((f"{x:g}", f"{engine:.10f}", f"{formula:.10f}", f"{numeric:.10f}"))
    print(table(("x", "engine: 1 - t^2", "formula", "central difference"), rows))
    print(f"largest relative difference over all {count} points: {worst:.1e}")
    print("Notice: the slope is 1 at x = 0 and falls towards 0 as |x| grows: a saturated tanh passes")
    print("almost no gradient back, the seed of vanishing gradients in deep tanh networks.")
    demo.fact("points", count)
    demo.fact("engine_vs_central_max_rel_diff", worst)
    demo.fact("slope_at_0", engine_slope(0.0))

    heading("Check 2: backprop through tanh's definition, built from exp, -, + and /")
    a = Value(0.5, name="a")
    t = tanh_from_exp(a)
    print(step_table(t))
    ops = [node for node in topological_order(t) if node.op]
    edges = sum(len(node.parents) for node in ops)
    routes = count_paths(t, a)
    render(t, demo.path("tanh-from-exp.svg"))
    demo.wrote(demo.path("tanh-from-exp.svg"), f"tanh as {len(ops)} operations, {routes} paths from a to t")
    single = engine_slope(0.5)
    print(f"through the pieces: dt/da = {a.grad:.15f}")
    print(f"one tanh node:      dt/da = {single:.15f}   (1 - tanh(0.5)^2 = {1 - math.tanh(0.5) ** 2:.15f})")
    print(f"Notice: the pieces need {edges} local derivatives and a sum over {routes} paths (a feeds both")
    print("exps, each exp feeds s and c); the tanh node does the same work in one multiplication.")
    worst_pieces = 0.0
    for x in xs:
        leaf = Value(x)
        tanh_from_exp(leaf).backward()
        worst_pieces = max(worst_pieces, relative_error(leaf.grad, engine_slope(x)))
    print(f"largest relative difference, pieces vs one node, over the {count} points: {worst_pieces:.1e}")
    demo.fact("pieces_vs_node_max_rel_diff", worst_pieces)
    demo.fact("pieces.paths", routes)

    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    fine = [-4.0 + 8.0 * i / 400 for i in range(401)]
    ax.plot(fine, [math.tanh(x) for x in fine], color="#2563eb", label="tanh(x)")
    ax.plot(fine, [1 - math.tanh(x) ** 2 for x in fine], color="#16a34a", label="1 - tanh(x)^2")
    ax.plot(xs, [central_difference(math.tanh, x) for x in xs], "o", color="#16a34a", markersize=3.5,
            label="central differences")
    sigmoid_slope = [math.exp(-abs(x)) / (1 + math.exp(-abs(x))) ** 2 for x in fine]
    ax.plot(fine, sigmoid_slope, "--", color="#dc2626", label="sigmoid's slope (at most 1/4)")
    ax.set(xlabel="x", title="tanh and its derivative")
    demo.save_figure(fig, "tanh.png", "tanh, its slope and the numerical slopes on top", legend_size=8)
    print(f"\nAt x = 2 the slope is already {num(1 - math.tanh(2) ** 2)}; at x = 4 it is "
          f"{num(1 - math.tanh(4) ** 2)}.")
    demo.finish()


if __name__ == "__main__":
    run(main)
