# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/seed_example.py`)
"""The course's worked example, L = (y - sigmoid(w*x + b))^2, from every side.

* the forward values and the graph (an SVG, and the HTML stepper to click through);
* the backward pass one node at a time: each node multiplies the gradient
  that reached it, dL/d(node), by its local derivative d(node)/d(parent);
* the chain rule in its two forms, which must agree:
    local:  dL/dv = sum over v's children c of  dL/dc * dc/dv
    global: dL/dv = sum over paths from L to v of the product of the local derivatives on the path
  first on the course's graph (one path per input), then with a weight
  penalty 0.1*w^2 added, which gives w a second path to L;
* the gradient check (central differences) and the closed form, side by side.

The closed form, from the chain rule by hand, with h = sigmoid(w*x + b):

    dL/dh = -2 (y - h),   dh/dz = h (1 - h),   so
    dL/dw = -2 (y - h) h (1 - h) x,   dL/db = -2 (y - h) h (1 - h),
    dL/dx = -2 (y - h) h (1 - h) w,   dL/dy = 2 (y - h).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import gradcheck, parse, paths
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render, stepper_html
from chainrule.viz.tables import forward_table, label, num, step_table, table

from demos.common import heading, local_form, run, start

FORMULA = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
TWO_PATHS = "z = w*x + b; h = sigmoid(z); L = (y - h)**2 + 0.1*w**2"
VALUES = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}


def closed_form(x: float, w: float, b: float, y: float, penalty: float = 0.0) -> dict[str, float]:
    """The gradient of (y - sigmoid(w x + b))^2 + penalty * w^2, by hand (see the module docstring)."""
    h = 1.0 / (1.0 + math.exp(-(w * x + b)))
    dz = -2.0 * (y - h) * h * (1.0 - h)  # dL/dz = dL/dh * dh/dz
    return {"w": dz * x + 2.0 * penalty * w, "x": dz * w, "b": dz, "y": 2.0 * (y - h)}


def show_paths(root, leaf, name: str) -> float:
    """Print every path from ``root`` to ``leaf`` with its product; return their sum."""
    found = paths(root, leaf)
    rows = []
    for n, path in enumerate(found, start=1):
        route = " -> ".join(label(node) for node in path.nodes)
        rows.append((str(n), route, " * ".join(num(d) for d in path.locals), num(path.product)))
    print(table(("path", "route", "local derivatives", "product"), rows))
    total = math.fsum(p.product for p in found)
    print(f"global form: sum over {len(found)} path(s) = {num(total)};  "
          f"backprop's dL/d{name} = {num(leaf.grad)}")
    return total


def show_local(root, leaf, name: str) -> float:
    """Print the local form at ``leaf``: one term per child; return their sum."""
    terms = local_form(root, leaf)
    parts = [f"{num(t.upstream)} * {num(t.local)}" for t in terms]
    total = math.fsum(t.contribution for t in terms)
    children = ", ".join(label(t.child) for t in terms)
    print(f"local form:  dL/d{name} = {' + '.join(parts)} = {num(total)}   (children: {children})")
    return total


def forms_disagree(root, leaves) -> float:
    """The largest gap, over ``leaves``, between backprop's grad and the local and the global form."""
    worst = 0.0
    for leaf in leaves:
        local = math.fsum(t.contribution for t in local_form(root, leaf))
        over_paths = math.fsum(p.product for p in paths(root, leaf))
        worst = max(worst, abs(local - leaf.grad), abs(over_paths - leaf.grad))
    return worst


def main(argv: list[str] | None = None) -> None:
    demo = start("seed_example", "The course's example L = (y - sigmoid(w*x + b))^2, end to end.", argv)
    values = ", ".join(f"{k} = {v:g}" for k, v in VALUES.items())

    heading(f"Forward pass: {FORMULA}  at {values}")
    e = parse(FORMULA, **VALUES)
    L = e.output
    print(forward_table(L))
    print("Notice: the forward pass keeps every intermediate value; the backward pass will need them.")

    heading("Backward pass, one node at a time (upstream = dL/dnode, local = dnode/dparent)")
    print(step_table(L))  # runs the pass; leaves the same grads as L.backward()
    print("Notice: every step multiplies upstream by local and adds the product to the parent's grad.")

    render(L, demo.path("graph.svg"))
    demo.wrote(demo.path("graph.svg"), "the graph, each edge labelled with its local derivative")
    stepper_html(L, demo.path("stepper.html"), title="L = (y - sigmoid(w*x + b))^2")
    demo.wrote(demo.path("stepper.html"), "open it in a browser and press Next")

    heading("The chain rule in two forms, for dL/dw")
    w = e.variables["w"]
    local_w = show_local(L, w, "w")
    global_w = show_paths(L, w, "w")
    print("Notice: in this graph w reaches L along one path, so both forms are the same single product.")
    worst_forms = forms_disagree(L, e.variables.values())
    demo.fact("course.local_form_w", local_w)
    demo.fact("course.global_form_w", global_w)

    heading(f"Two paths: {TWO_PATHS}")
    e2 = parse(TWO_PATHS, **VALUES)
    L2 = e2.output
    L2.backward()
    w2 = e2.variables["w"]
    local_w2 = show_local(L2, w2, "w")
    global_w2 = show_paths(L2, w2, "w")
    print("Notice: w now feeds two children, w*x and w**2. Backprop adds their contributions at w;")
    print("        the path sum adds the same two products. The penalty's share is 0.2*w = "
          f"{num(0.2 * VALUES['w'])}.")
    worst_forms = max(worst_forms, forms_disagree(L2, e2.variables.values()))
    render(L2, demo.path("graph-two-paths.svg"))
    demo.wrote(demo.path("graph-two-paths.svg"), "w has two arrows out: two paths to L")
    demo.fact("two_paths.paths_to_w", len(paths(L2, w2)))
    demo.fact("two_paths.local_form_w", local_w2)
    demo.fact("two_paths.global_form_w", global_w2)
    demo.fact("forms_max_abs_diff", worst_forms)

    heading("Gradient check: backprop against central differences (eps = 1e-5)")
    leaves = e.variables
    report = gradcheck(lambda: parse(FORMULA, **leaves).output, list(leaves.values()))
    print(report)
    demo.fact("gradcheck.verdicts", ",".join(f"{row.name}:{row.verdict}" for row in report.rows))

    heading("Closed form (worked out by hand), backprop and numerical, side by side")
    exact = closed_form(**VALUES)
    exact2 = closed_form(**VALUES, penalty=0.1)
    rows = []
    worst = 0.0
    for row in report.rows:
        worst = max(worst, relative_error(row.analytic, exact[row.name]))
        rows.append((f"dL/d{row.name}", f"{exact[row.name]:.10f}", f"{row.analytic:.10f}",
                     f"{row.numeric:.10f}"))
        demo.fact(f"course.grad_{row.name}", row.analytic)
    rows.append(("dL/dw, two paths", f"{exact2['w']:.10f}", f"{w2.grad:.10f}", ""))
    worst = max(worst, relative_error(w2.grad, exact2["w"]))
    print(table(("gradient", "closed form", "backprop", "numerical"), rows))
    print(f"largest relative difference, backprop vs closed form: {worst:.1e}")
    print("Notice: backprop is exact up to rounding; the numerical estimate agrees to about 10 digits.")
    demo.fact("closed_form_max_rel_diff", worst)
    demo.fact("two_paths.grad_w", w2.grad)
    demo.finish()


if __name__ == "__main__":
    run(main)
