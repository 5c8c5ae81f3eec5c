# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Exercise 5.1: the computational graph of L = (y - ReLU(w2 * ReLU(w1 * x + b1) + b2))^2.

Reading the formula from the inside out gives one node per operation:

    a1 = w1 * x + b1     (a product node, then a sum node)
    h1 = relu(a1)
    a2 = w2 * h1 + b2
    h2 = relu(a2)
    L  = (y - h2)^2      (a difference node, then a square)

Six inputs and eight operations: fourteen nodes. The backward pass walks
them in reverse, and the chain rule written out by hand reads

    dL/dh2 = -2 (y - h2)          dL/da2 = dL/dh2 * [a2 > 0]
    dL/dw2 = dL/da2 * h1          dL/db2 = dL/da2
    dL/dh1 = dL/da2 * w2          dL/da1 = dL/dh1 * [a1 > 0]
    dL/dw1 = dL/da1 * x           dL/db1 = dL/da1          dL/dx = dL/da1 * w1

where [a > 0] is ReLU's local derivative: 1 when the unit is on, 0 when it is off.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import parse, topological_order
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render, stepper_html
from chainrule.viz.tables import forward_table, num, step_table, table

from demos.common import heading, run, start

FORMULA = "a1 = w1*x + b1; h1 = relu(a1); a2 = w2*h1 + b2; h2 = relu(a2); L = (y - h2)**2"
TITLE = "L = (y - ReLU(w2 * ReLU(w1 * x + b1) + b2))^2"
BOTH_ON = {"x": 1.0, "w1": 0.5, "b1": 0.2, "w2": 1.2, "b2": 0.1, "y": 2.0}
INNER_OFF = {**BOTH_ON, "b1": -0.8}  # a1 = 0.5 - 0.8 < 0: the inner unit is off


def by_hand(x: float, w1: float, b1: float, w2: float, b2: float, y: float) -> dict[str, float]:
    """Every input's gradient from the chain rule written out (the module docstring), in plain floats."""
    a1 = w1 * x + b1
    h1 = max(a1, 0.0)
    a2 = w2 * h1 + b2
    h2 = max(a2, 0.0)
    d_a2 = -2.0 * (y - h2) * (1.0 if a2 > 0 else 0.0)
    d_a1 = d_a2 * w2 * (1.0 if a1 > 0 else 0.0)
    return {"x": d_a1 * w1, "w1": d_a1 * x, "b1": d_a1, "w2": d_a2 * h1, "b2": d_a2, "y": 2.0 * (y - h2)}


def compare(e, values: dict[str, float]) -> float:
    """Print backprop's gradients beside the hand-derived ones; return the largest relative difference."""
    exact = by_hand(**values)
    rows, worst = [], 0.0
    for name, leaf in e.variables.items():
        worst = max(worst, relative_error(leaf.grad, exact[name]))
        rows.append((f"dL/d{name}", f"{leaf.grad + 0.0:.8g}", f"{exact[name] + 0.0:.8g}"))
    print(table(("gradient", "backprop", "by hand"), rows))
    return worst


def main(argv: list[str] | None = None) -> None:
    demo = start("exercise_5_1", f"Exercise 5.1: the graph of {TITLE}.", argv)
    values = ", ".join(f"{k} = {v:g}" for k, v in BOTH_ON.items())

    heading(f"The graph of {TITLE}")
    print(f"at {values}")
    e = parse(FORMULA, **BOTH_ON)
    L = e.output
    print(forward_table(L))
    nodes = topological_order(L)
    ops = [n.op for n in nodes if n.op]
    print(f"{len(nodes)} nodes: {len(nodes) - len(ops)} inputs and {len(ops)} operations ({' '.join(ops)})")
    demo.fact("nodes", len(nodes))
    demo.fact("ops", ",".join(ops))

    heading("Backward pass, one node at a time")
    print(step_table(L))
    render(L, demo.path("graph.svg"))
    demo.wrote(demo.path("graph.svg"), "the answer to draw: values, gradients, local derivatives")
    stepper_html(L, demo.path("stepper.html"), title=TITLE)
    demo.wrote(demo.path("stepper.html"), "step through it; the quiz version asks each gradient first")
    stepper_html(L, demo.path("stepper-quiz.html"), quiz=True, title=TITLE)
    demo.wrote(demo.path("stepper-quiz.html"), "the same page as a quiz")

    heading("Backprop against the chain rule by hand")
    worst = compare(e, BOTH_ON)
    print(f"largest relative difference: {worst:.1e}")
    print("Notice: both ReLUs are on (a1, a2 > 0), so each passes its upstream gradient through unchanged.")
    demo.fact("both_on.max_rel_diff", worst)
    demo.fact("both_on.grad_w1", e.variables["w1"].grad)

    heading(f"Switch the inner unit off: b1 = {INNER_OFF['b1']:g}, so a1 = w1*x + b1 < 0")
    off = parse(FORMULA, **INNER_OFF)
    off.output.backward()
    worst_off = compare(off, INNER_OFF)
    dead = [name for name in ("x", "w1", "b1", "w2") if off.variables[name].grad == 0.0]
    print(f"Notice: relu's local derivative is 0 at a1 = {num(off.nodes['a1'].data)}, so nothing reaches "
          f"{', '.join(dead[:3])}: every path to them runs through that 0.")
    print("        dL/dw2 = dL/da2 * h1 is 0 as well, because h1 = relu(a1) = 0: the weight after a")
    print("        silent unit gets no gradient either.")
    print("A unit that stays off for every input learns nothing: a 'dead ReLU'.")
    render(off.output, demo.path("graph-inner-off.svg"))
    demo.wrote(demo.path("graph-inner-off.svg"), "the same graph with the inner unit off")
    demo.fact("inner_off.max_rel_diff", worst_off)
    demo.fact("inner_off.zero_grads", ",".join(dead))
    demo.fact("inner_off.grad_w2", off.variables["w2"].grad)
    demo.finish()


if __name__ == "__main__":
    run(main)
