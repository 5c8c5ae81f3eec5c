# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Exercise 5.3: backprop for a 3-layer network, verified by gradient checking; then a planted bug.

The network is ``nn.MLP(2, [4, 4, 1], activation="tanh")``: three layers of
weights, 37 parameters. For each parameter the gradient check compares
backprop's dL/dp with the central difference (L(p + eps) - L(p - eps)) / (2 eps)
and reads the relative error |a - n| / (|a| + |n| + 1e-8) as the course does:

    below 1e-5: correct      1e-5 to 1e-3: check      above 1e-3: bug

tanh is smooth, so the central difference is a fair referee everywhere. (With
ReLU, a pre-activation within eps of 0 makes the two sides of the difference
straddle the kink, and a correct gradient can be flagged.)

Then the experiment every student should run once: break one local
derivative and watch the check catch it. The tanh node of layer 2, neuron 1
gets a rule with the square forgotten, 1 - t instead of 1 - t^2. The forward
pass is untouched, so the numerical side still measures the true slope;
only backprop's answer changes. Exactly the parameters whose gradient flows
back through that node are flagged.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import OPS, count_paths, gradcheck, topological_order
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import table

from chainrule import nn
from demos.common import heading, run, start

BROKEN = "L2.N1.h"  # the tanh output of layer 2, neuron 1, as nn names it


def forgot_the_square(out) -> tuple[float, ...]:
    """A wrong local derivative for tanh: 1 - t, where the right one is 1 - t^2."""
    t = out.data
    return (1.0 - t,)


def plant_bug(loss):
    """Give every node named BROKEN the wrong rule; return those nodes.

    A node's local derivatives come from the rule it recorded when the op made
    it (``local_grads()`` calls it); swapping that rule changes what backprop
    multiplies by at this node and nothing else. The forward values stay right.
    """
    nodes = [node for node in topological_order(loss) if node.name == BROKEN]
    for node in nodes:
        node._rule = forgot_the_square  # the plant (the engine has no public way to swap a node's rule)
    return nodes


def verdict_counts(report) -> str:
    counts = {}
    for row in report.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))


def plot_errors(demo, report, bad, reaches, params) -> None:
    """Each parameter's relative error, healthy and with the bug, on a log axis with the two thresholds."""
    fig = new_figure(7.5, 3.8)
    ax = fig.subplots()
    index = range(1, len(params) + 1)
    floor = 1e-17  # an exact match (error 0) still needs a place on a log axis
    ax.semilogy(index, [max(r.rel_error, floor) for r in report.rows], "o", color="#16a34a", label="healthy")
    ax.semilogy(index, [max(r.rel_error, floor) for r in bad.rows], "x", color="#dc2626",
                label=f"bug planted in {BROKEN}")
    ax.axhline(1e-5, color="#ca8a04", linestyle="--", linewidth=1, label="1e-5: correct below")
    ax.axhline(1e-3, color="#dc2626", linestyle=":", linewidth=1, label="1e-3: bug above")
    last_reaching = max(i for i, p in enumerate(params, start=1) if p in reaches)
    ax.axvspan(0.5, last_reaching + 0.5, color="#dc2626", alpha=0.06)
    ax.set(xlabel=f"parameter (1 = L1.N1.w1 ... {len(params)} = {params[-1].name}; shaded: through {BROKEN})",
           ylabel="relative error", title="Gradient check, parameter by parameter")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center right")
    demo.save_figure(fig, "gradcheck.png", "each parameter's relative error, healthy and broken")


def main(argv: list[str] | None = None) -> None:
    demo = start("exercise_5_3_gradcheck", "Exercise 5.3: gradient checking a 3-layer network, then a "
                 "planted bug.", argv)
    points = 4 if demo.quick else 16
    X, y = nn.make_moons(points, noise=0.1, seed=demo.seed)
    targets = [float(t) for t in y]
    model = nn.MLP(2, [4, 4, 1], activation="tanh", seed=demo.seed)
    params = model.parameters()

    def loss():
        return nn.mse([model(x) for x in X], targets)

    heading(f"{model}: {len(params)} parameters, mse on {points} moons points")
    report = gradcheck(loss, params)
    print(report)
    print(f"\nNotice: {verdict_counts(report)}. Each row costs two forward passes on the numerical side;")
    print(f"backprop found all {len(params)} gradients in one backward pass.")
    demo.fact("healthy.params", len(params))
    demo.fact("healthy.correct", sum(row.verdict == "correct" for row in report.rows))
    demo.fact("healthy.ok", report.ok)
    demo.fact("healthy.max_rel_error", max(row.rel_error for row in report.rows))

    heading(f"A planted bug: the tanh nodes named {BROKEN} get a wrong local derivative")
    print(f"the op table's rule:  {OPS['tanh'].text[0]}")
    print("the planted rule:")
    print(inspect.getsource(forgot_the_square).rstrip())

    def broken_loss():
        out = loss()
        plant_bug(out)
        return out

    broken_nodes = plant_bug(loss())
    # One sample's node is enough: every sample's copy of it sits above the same parameters.
    reaches = {p for p in params if count_paths(broken_nodes[0], p) > 0}
    bad = gradcheck(broken_loss, params)
    rows = []
    for p, row in zip(params, bad.rows, strict=True):
        numbers = (f"{row.analytic:.6g}", f"{row.numeric:.6g}", f"{row.rel_error:.1e}")
        rows.append((row.name, *numbers, row.verdict, "yes" if p in reaches else "no"))
    print(table(("param", "backprop", "numerical", "rel. error", "verdict", f"through {BROKEN}?"), rows))
    flagged = {p for p, row in zip(params, bad.rows, strict=True) if row.verdict != "correct"}
    print(f"\n{verdict_counts(bad)}. Notice: only the parameters whose gradient passes through {BROKEN}")
    print(f"(layer 1, and {BROKEN[:5]}'s own weights and bias) can be wrong; the check flags {len(flagged)} "
          f"of those {len(reaches)},")
    print("and every other parameter stays correct.")
    print("A real bug hunt goes the same way: the flagged rows point at the node whose rule is wrong.")
    demo.fact("broken.reaching", len(reaches))
    demo.fact("broken.flagged", len(flagged))
    demo.fact("broken.flagged_all_reach", flagged <= reaches)
    unaffected = [row for p, row in zip(params, bad.rows, strict=True) if p not in reaches]
    demo.fact("broken.unaffected_all_correct", all(row.verdict == "correct" for row in unaffected))
    demo.fact("broken.own_verdicts",
              ",".join(row.verdict for row in bad.rows if row.name.startswith(BROKEN[:5] + ".")))
    plot_errors(demo, report, bad, reaches, params)
    demo.write_text("gradcheck.txt", f"{report}\n\nwith the planted bug:\n{bad}\n", "both reports as text")
    demo.finish()


if __name__ == "__main__":
    run(main)
