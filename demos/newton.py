# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Newton's method against gradient descent, with second derivatives from the engine.

Gradient descent steps against the gradient, by a fixed learning rate:

    x <- x - lr * f'(x)

Newton's method divides by the curvature instead, jumping to the minimum of
the parabola that matches f's value, slope and curvature at x:

    x <- x - f'(x) / f''(x)            (one input)
    x <- x - H(x)^-1 grad f(x)          (several inputs: H is the Hessian)

Near a minimum, Newton's error squares at every step (the digits double),
while gradient descent's shrinks by a constant factor. The price is the
second derivative, which ``grad(..., create_graph=True)`` and ``hessian``
give from the same graph. Two functions, side by side in iterations:

* 1-D: f(x) = e^x - 2x, minimum at x = ln 2;
* 2-D: f(x, y) = (1 - x)^2 + 5 (y - x^2)^2, a curved valley (Rosenbrock's),
  minimum at (1, 1).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, grad, hessian
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import table

from demos.common import heading, run, start

TOLERANCE = 1e-10  # stop when the gradient's size falls below this
MAX_STEPS = 5_000


def f1(x):
    return x.exp() - 2 * x


def f2(x, y):
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def gradient(f, point: list[float]) -> list[float]:
    leaves = [Value(p) for p in point]
    return [g.data for g in grad(f(*leaves), leaves)]


def solve(H: list[list[float]], g: list[float]) -> list[float]:
    """H^-1 g for a 1x1 or 2x2 matrix, by the formula for the inverse (what a student would write)."""
    if len(g) == 1:
        return [g[0] / H[0][0]]
    (a, b), (c, d) = H
    det = a * d - b * c
    return [(d * g[0] - b * g[1]) / det, (a * g[1] - c * g[0]) / det]


def newton(f, start: list[float], limit: int) -> list[list[float]]:
    """The points Newton's method visits until the gradient is below TOLERANCE (or ``limit`` steps)."""
    path = [list(start)]
    for _ in range(limit):
        g = gradient(f, path[-1])
        if math.hypot(*g) < TOLERANCE:
            break
        step = solve(hessian(f, path[-1]), g)
        path.append([p - s for p, s in zip(path[-1], step, strict=True)])
    return path


def descent(f, start: list[float], lr: float, limit: int) -> list[list[float]]:
    """The points gradient descent visits until the gradient is below TOLERANCE (or ``limit`` steps)."""
    path = [list(start)]
    for _ in range(limit):
        g = gradient(f, path[-1])
        if math.hypot(*g) < TOLERANCE:
            break
        path.append([p - lr * gi for p, gi in zip(path[-1], g, strict=True)])
    return path


def error(point: list[float], best: list[float]) -> float:
    return math.hypot(*(p - b for p, b in zip(point, best, strict=True)))


def report(demo, key: str, f, start: list[float], best: list[float], lr: float, limit: int):
    n_path = newton(f, start, limit)
    d_path = descent(f, start, lr, limit)
    rows = []
    for k in range(min(8, max(len(n_path), len(d_path)))):
        n_err = f"{error(n_path[k], best):.2e}" if k < len(n_path) else "(done)"
        d_err = f"{error(d_path[k], best):.2e}" if k < len(d_path) else "(done)"
        rows.append((str(k), n_err, d_err))
    print(table(("iteration", "Newton: distance to the minimum", f"gradient descent (lr {lr:g})"), rows))
    n_steps, d_steps = len(n_path) - 1, len(d_path) - 1
    capped = " (stopped at the limit)" if d_steps >= limit else ""
    print(f"iterations to |gradient| < {TOLERANCE:g}: Newton {n_steps}, gradient descent {d_steps:,}{capped}")
    demo.fact(f"{key}.newton_steps", n_steps)
    demo.fact(f"{key}.descent_steps", d_steps)
    demo.fact(f"{key}.newton_final", ",".join(repr(p) for p in n_path[-1]))
    demo.fact(f"{key}.descent_final", ",".join(repr(p) for p in d_path[-1]))
    return n_path, d_path


def main(argv: list[str] | None = None) -> None:
    demo = start("newton", "Newton's method against gradient descent, in iterations, on a 1-D and a 2-D function.",
                 argv)
    limit = 2_000 if demo.quick else MAX_STEPS

    heading("1-D: f(x) = e^x - 2x from x = 2; the minimum is at x = ln 2")
    one = report(demo, "one_d", f1, [2.0], [math.log(2.0)], 0.3, limit)
    print("Notice: Newton's error roughly squares each step (1e-2, 1e-4, 1e-8, ...); gradient descent's")
    print("shrinks by about the same factor every step.")

    heading("2-D: f(x, y) = (1 - x)^2 + 5 (y - x^2)^2 from (-1.2, 1); the minimum is at (1, 1)")
    start2 = [-1.2, 1.0]
    two = report(demo, "two_d", f2, start2, [1.0, 1.0], 0.02, limit)
    H = hessian(f2, [1.0, 1.0])
    print(f"the Hessian at the minimum: {H}  (closed form [[42, -20], [-20, 10]])")
    demo.fact("two_d.hessian_at_minimum", ",".join(repr(h) for row in H for h in row))
    print("Notice: the valley is curved and narrow. Gradient descent must take small steps (a larger lr")
    print("bounces across the valley) and crawls along its floor; Newton's step uses the curvature to")
    print("follow it.")

    fig = new_figure(9.5, 3.8)
    left, right = fig.subplots(1, 2)
    for label, (n_path, d_path), best, style in (
        ("1-D", one, [math.log(2.0)], "-"),
        ("2-D", two, [1.0, 1.0], "--"),
    ):
        left.semilogy([max(error(p, best), 1e-17) for p in n_path], "o" + style, color="#dc2626",
                      label=f"Newton, {label}")
        left.semilogy([max(error(p, best), 1e-17) for p in d_path], style, color="#2563eb",
                      label=f"gradient descent, {label}")
    left.set(xlabel="iteration", ylabel="distance to the minimum", title="Convergence", xscale="symlog")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)

    xs = [-1.6 + 3.2 * i / 120 for i in range(121)]
    ys = [-0.6 + 2.4 * j / 120 for j in range(121)]
    levels = [[(1 - x) ** 2 + 5 * (y - x * x) ** 2 for x in xs] for y in ys]
    right.contour(xs, ys, levels, levels=[0.05, 0.3, 1, 3, 10, 30], colors="#9ca3af", linewidths=0.8)
    n_path, d_path = two
    right.plot([p[0] for p in d_path], [p[1] for p in d_path], "-", color="#2563eb", linewidth=1,
               label=f"gradient descent ({len(d_path) - 1:,} steps)")
    right.plot([p[0] for p in n_path], [p[1] for p in n_path], "o-", color="#dc2626",
               label=f"Newton ({len(n_path) - 1} steps)")
    right.plot([1.0], [1.0], "k*", markersize=10)
    right.set(xlabel="x", ylabel="y", title="2-D: the paths in the valley")
    right.legend(fontsize=8, loc="upper left")
    demo.save_figure(fig, "newton.png", "distance to the minimum per iteration, and the 2-D paths")
    demo.finish()


if __name__ == "__main__":
    run(main)
