# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Why backpropagation: numerical gradients cost 2n forward passes, backprop costs one backward pass.

The central difference for parameter theta_i,

    dL/dtheta_i ~ (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps),

evaluates the whole loss twice per parameter: 2n forward passes for n
parameters. Backpropagation gets all n derivatives from one forward pass
(which records the graph) and one backward pass over it, whose cost is a
small constant times the forward pass, whatever n is.

This demo trains nothing. It takes MLPs of growing width on a few moons
points, counts the forward passes each method makes (by wrapping the loss
function in a counter), times both, and checks that they agree.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import numerical_grad
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import table

from chainrule import nn
from demos.common import heading, run, start

WIDTHS = (2, 4, 8, 16, 24)
QUICK_WIDTHS = (2, 4, 8)
POINTS = 8


class CountingLoss:
    """The batch loss of ``model`` as a function of its current weights, counting how often it runs."""

    def __init__(self, model: nn.MLP, X: list, y: list):
        self.model, self.X, self.targets = model, X, [float(t) for t in y]
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return nn.mse([self.model(x) for x in self.X], self.targets)


def fastest(run, repeats: int = 3) -> float:
    """The shortest of a few timings of ``run()``, in seconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def backprop_once(model: nn.MLP, loss: CountingLoss) -> None:
    """One forward pass and one backward pass: every parameter's gradient."""
    model.zero_grad()
    loss().backward()


def main(argv: list[str] | None = None) -> None:
    demo = start("cost_of_numerical_gradients", "Forward passes and time: 2n for numerical gradients, "
                 "one backward pass for backprop.", argv)
    widths = QUICK_WIDTHS if demo.quick else WIDTHS
    X, y = nn.make_moons(POINTS, noise=0.1, seed=demo.seed)

    heading(f"MLP(2, [k, k, 1]) with tanh, mse on {POINTS} points: all n gradients, two ways")
    rows, sizes, t_numeric, t_backprop = [], [], [], []
    passes_ok, worst = True, 0.0
    for k in widths:
        model = nn.MLP(2, [k, k, 1], activation="tanh", seed=demo.seed)
        params = model.parameters()
        n = len(params)
        loss = CountingLoss(model, X, y)

        # Backprop: one forward pass records the graph, one backward pass fills every grad.
        backprop_once(model, loss)
        analytic = [p.grad for p in params]
        backprop_passes = loss.calls

        loss.calls = 0
        t0 = time.perf_counter()
        numeric = numerical_grad(loss, params)
        t_n = time.perf_counter() - t0
        numeric_passes = loss.calls
        passes_ok = passes_ok and numeric_passes == 2 * n and backprop_passes == 1
        worst = max(worst, *(relative_error(a, b) for a, b in zip(analytic, numeric, strict=True)))

        t_b = fastest(partial(backprop_once, model, loss))
        sizes.append(n)
        t_numeric.append(t_n)
        t_backprop.append(t_b)
        rows.append((str(k), str(n), f"{numeric_passes:,}", f"{t_n * 1e3:,.1f} ms", f"{t_b * 1e3:.2f} ms",
                     f"{t_n / t_b:,.0f}x"))
    print(table(("k", "params n", "numerical: forward passes", "numerical", "backprop: 1 fwd + 1 bwd",
                 "ratio"), rows))
    print(f"\nlargest relative difference between the two gradients: {worst:.1e}")
    print("Notice: the forward passes are exactly 2n. The ratio of the times grows with n, because")
    print("backprop's cost is a fixed multiple of one forward pass while the numerical one is 2n of them.")
    print("A network with a million parameters would need two million forward passes per training step.")

    fig = new_figure(5.6, 4.0)
    ax = fig.subplots()
    ax.loglog(sizes, t_numeric, "o-", color="#dc2626", label="numerical: 2n forward passes")
    ax.loglog(sizes, t_backprop, "s-", color="#2563eb", label="backprop: 1 forward + 1 backward")
    ax.set(xlabel="number of parameters n", ylabel="seconds for all n gradients",
           title="The cost of a gradient")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    demo.save_figure(fig, "cost.png", "time against n, log-log: numerical grows with n, backprop far lower")

    demo.fact("param_counts", ",".join(str(n) for n in sizes))
    demo.fact("forward_passes_are_2n", passes_ok)
    demo.fact("max_rel_diff", worst)
    demo.fact("largest_time_ratio", t_numeric[-1] / t_backprop[-1])
    demo.finish()


if __name__ == "__main__":
    run(main)
