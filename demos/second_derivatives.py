# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""tanh'' and sigmoid'' as graphs: the gradient is a graph, so it can be differentiated again.

``backward()`` leaves each gradient as a bare number. ``grad(y, [x],
create_graph=True)`` builds it instead from the engine's own nodes, using
each op's derivative formula from the op table (tanh: 1 - out^2, sigmoid:
out (1 - out)). That graph has a value, parents and local derivatives like
any other, so ``grad`` of it is the second derivative:

    y = tanh(x)      y' = 1 - y^2      y'' = -2 y (1 - y^2)
    s = sigmoid(x)   s' = s (1 - s)    s'' = s (1 - s) (1 - 2 s)

The demo draws both second-derivative graphs, checks them on a grid of x
against the closed forms and against central differences of the first
derivative, and plots f, f' and f''.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, grad, topological_order
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import num, table

from demos.common import central_difference, heading, run, start

AT = 0.5  # where the graphs are drawn


def tanh_second(x: float) -> float:
    t = math.tanh(x)
    return -2.0 * t * (1.0 - t * t)


def sigmoid_second(x: float) -> float:
    s = 1.0 / (1.0 + math.exp(-x))
    return s * (1.0 - s) * (1.0 - 2.0 * s)


FUNCTIONS = {
    "tanh": (lambda v: v.tanh(), math.tanh, tanh_second),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1.0 / (1.0 + math.exp(-x)), sigmoid_second),
}


def derivatives(f, x: float, create_graph: bool = False) -> tuple[Value, Value, Value, Value]:
    """x, y = f(x), y' and y'' as Values: y' is a graph; y'' a graph too when ``create_graph``."""
    leaf = Value(x, name="x")
    y = f(leaf)
    y.name = "y"
    (d1,) = grad(y, [leaf], create_graph=True)
    d1.name = "dy/dx"
    (d2,) = grad(d1, [leaf], create_graph=create_graph)
    d2.name = "d2y/dx2"
    return leaf, y, d1, d2


def main(argv: list[str] | None = None) -> None:
    demo = start("second_derivatives", "tanh'' and sigmoid'' as graphs, by grad of grad.", argv)
    if demo.quick:
        points = [-3.0 + 0.75 * i for i in range(9)]
    else:
        points = [-3.0 + 0.375 * i for i in range(17)]

    for name, (f, _, exact) in FUNCTIONS.items():
        heading(f"{name}: the first and the second derivative as graphs, at x = {AT}")
        x, y, d1, d2 = derivatives(f, AT, create_graph=True)
        new_nodes = [n for n in topological_order(d2) if not n.is_leaf]
        print(f"y = {name}(x) = {num(y.data)};  dy/dx = {num(d1.data)};  d2y/dx2 = {num(d2.data)}")
        print(f"the second derivative's graph: {len(new_nodes)} op nodes ({' '.join(n.op for n in new_nodes)})")
        print(f"closed form: {num(exact(AT))}")
        render(d1, demo.path(f"{name}-first.svg"))
        demo.wrote(demo.path(f"{name}-first.svg"), f"d {name}(x)/dx as a graph over the {name} node")
        render(d2, demo.path(f"{name}-second.svg"))
        demo.wrote(demo.path(f"{name}-second.svg"), f"d2 {name}(x)/dx2: the gradient of that graph, as a graph")
        demo.fact(f"{name}.second_at_{AT}", d2.data)
        demo.fact(f"{name}.second_graph_ops", ",".join(n.op for n in new_nodes))

        heading(f"{name}'' on a grid: grad of grad, the closed form, central differences of {name}'")
        rows, worst_exact, worst_numeric = [], 0.0, 0.0
        for p in points:
            second = derivatives(f, p)[3].data
            numeric = central_difference(lambda t, f=f: derivatives(f, t)[2].data, p)
            worst_exact = max(worst_exact, relative_error(second, exact(p)))
            worst_numeric = max(worst_numeric, relative_error(second, numeric))
            rows.append((f"{p:g}", num(second), num(exact(p)), num(numeric)))
        print(table(("x", "grad(grad)", "closed form", "central diff of y'"), rows))
        print(f"largest relative difference: {worst_exact:.1e} from the closed form, "
              f"{worst_numeric:.1e} from central differences")
        demo.fact(f"{name}.points", len(points))
        demo.fact(f"{name}.closed_form_max_rel_diff", worst_exact)
        demo.fact(f"{name}.central_max_rel_diff", worst_numeric)

    print("\nNotice: tanh'' is 0 at x = 0, tanh's steepest point, and largest in size near |x| = 0.66,")
    print("where tanh bends most. sigmoid(x) = (1 + tanh(x/2)) / 2, so sigmoid''(x) = tanh''(x/2) / 8:")
    print("the same shape, twice as wide and eight times flatter.")

    fig = new_figure(9.0, 3.6)
    axes = fig.subplots(1, 2)
    grid = [-4.0 + 0.05 * i for i in range(161)]
    for ax, (name, (f, plain, _)) in zip(axes, FUNCTIONS.items(), strict=True):
        triples = [derivatives(f, t) for t in grid]
        ax.plot(grid, [plain(t) for t in grid], color="#111827", label=f"{name}(x)")
        ax.plot(grid, [d[2].data for d in triples], color="#2563eb", label="first derivative")
        ax.plot(grid, [d[3].data for d in triples], color="#dc2626", label="second derivative (grad of grad)")
        ax.axhline(0.0, color="#9ca3af", linewidth=0.8)
        ax.set(xlabel="x", title=name)
    demo.save_figure(fig, "curves.png", "each function with its first and second derivative", legend_size=8)
    demo.finish()


if __name__ == "__main__":
    run(main)
