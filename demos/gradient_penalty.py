# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""The gradient penalty: ||grad L||^2 used as a loss, and differentiated.

Some training objectives contain a gradient. A WGAN critic is penalised for
the size of its gradient; "flat minimum" methods penalise the gradient of the
loss itself. Here the model is tiny, L(w) = mean over points of
(w2 tanh(w0 x + w1) - y)^2, and the penalty is

    P(w) = ||dL/dw||^2 = sum_i (dL/dw_i)^2.

To train on P we need dP/dw, a derivative of a derivative. With
``grad(L, w, create_graph=True)`` the gradient dL/dw is a graph of the
engine's own nodes, so P is an ordinary Value and ``P.backward()`` gives
dP/dw. The chain rule says what that must be:

    dP/dw = 2 H(w) dL/dw,        H the Hessian of L,

which the demo checks, with ``hessian``, and against central differences of P.
Then it trains two ways from the same start: on L alone, and on L + lambda P.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, grad, hessian, numerical_grad
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render
from chainrule.viz.plots import new_figure
from chainrule.viz.tables import num, table

from chainrule import autograd
from demos.common import heading, run, start

POINTS = [(-1.5, -0.9), (-0.7, -0.5), (0.0, 0.1), (0.6, 0.6), (1.2, 0.8), (2.0, 0.9)]
START = [0.3, -0.2, 0.5]
LAMBDA = 0.5
LR = 0.2


def loss(w: list[Value], points=POINTS) -> Value:
    """L(w) = mean of (w2 tanh(w0 x + w1) - y)^2 over the points."""
    terms = [(w[2] * (w[0] * x + w[1]).tanh() - y) ** 2 for x, y in points]
    return autograd.sum(terms) / len(points)


def penalty(w: list[Value], points=POINTS) -> tuple[Value, list[Value]]:
    """P(w) = ||dL/dw||^2 as a graph, and the gradient dL/dw it is made of."""
    g = grad(loss(w, points), w, create_graph=True)
    return autograd.sum([gi * gi for gi in g]), g


def train(weights: list[float], steps: int, lam: float) -> list[tuple[float, float]]:
    """Gradient descent on L + lam P; (L, |dL/dw|) after each step."""
    w = [Value(v) for v in weights]
    history = []
    for _ in range(steps):
        P, g = penalty(w)
        L = loss(w)
        objective = L + lam * P if lam else L
        for p in w:
            p.grad = 0.0
        objective.backward()
        history.append((L.data, math.sqrt(P.data)))
        for p in w:
            p.data -= LR * p.grad
    return history


def main(argv: list[str] | None = None) -> None:
    demo = start("gradient_penalty", "The gradient penalty ||grad L||^2 as a loss, differentiated.", argv)

    heading(f"P(w) = ||dL/dw||^2 at w = {START}")
    w = [Value(v, name=f"w{i}") for i, v in enumerate(START)]
    P, g = penalty(w)
    P.backward()
    ours = [p.grad for p in w]
    H = hessian(lambda *ws: loss(list(ws)), START)
    gL = [gi.data for gi in g]
    by_chain_rule = [2 * math.fsum(H[i][j] * gL[j] for j in range(3)) for i in range(3)]

    def rebuild():
        return penalty(w)[0]

    numeric = numerical_grad(rebuild, w)
    rows, worst_h, worst_n = [], 0.0, 0.0
    for i in range(3):
        worst_h = max(worst_h, relative_error(ours[i], by_chain_rule[i]))
        worst_n = max(worst_n, relative_error(ours[i], numeric[i]))
        rows.append((f"w{i}", num(gL[i]), num(ours[i]), num(by_chain_rule[i]), num(numeric[i])))
    print(f"L = {num(loss([Value(v) for v in START]).data)},  P = {num(P.data)}")
    print(table(("weight", "dL/dw", "dP/dw by backward()", "2 H dL/dw", "central differences"), rows))
    print(f"largest relative difference: {worst_h:.1e} from 2 H grad L, {worst_n:.1e} from central differences")
    demo.fact("P", P.data)
    demo.fact("chain_rule_max_rel_diff", worst_h)
    demo.fact("central_max_rel_diff", worst_n)
    asymmetry = max(relative_error(H[i][j], H[j][i]) for i in range(3) for j in range(3))
    demo.fact("hessian_max_asymmetry", asymmetry)

    # One point's penalty is small enough to draw: the gradient's graph, then its square.
    one = [Value(v, name=f"w{i}") for i, v in enumerate(START)]
    small, _ = penalty(one, POINTS[:1])
    small.name = "P"
    small.backward()
    render(small, demo.path("penalty-graph.svg"))
    demo.wrote(demo.path("penalty-graph.svg"), "P for one point: the loss, its gradient as nodes, their squares")

    steps = 60 if demo.quick else 200
    heading(f"{steps} steps of gradient descent (lr {LR}) on L, and on L + {LAMBDA} P")
    plain = train(START, steps, 0.0)
    penalised = train(START, steps, LAMBDA)
    rows = []
    for k in (0, steps // 4, steps // 2, steps - 1):
        rows.append((str(k + 1), num(plain[k][0]), num(plain[k][1]), num(penalised[k][0]), num(penalised[k][1])))
    print(table(("step", "L (on L)", "|dL/dw| (on L)", f"L (on L + {LAMBDA} P)", "|dL/dw| (on L + P)"), rows))
    print("Notice: with the penalty, |dL/dw| falls faster. The penalty's own gradient, 2 H dL/dw, pushes")
    print("hardest along the directions where L curves most. (Here L ends lower too; in general the")
    print("penalty may trade some of L for flatness.)")
    demo.fact("plain.first_loss", plain[0][0])
    demo.fact("plain.last_loss", plain[-1][0])
    demo.fact("plain.last_grad_norm", plain[-1][1])
    demo.fact("penalised.first_loss", penalised[0][0])
    demo.fact("penalised.last_loss", penalised[-1][0])
    demo.fact("penalised.last_grad_norm", penalised[-1][1])

    fig = new_figure(8.5, 3.4)
    left, right = fig.subplots(1, 2)
    for history, label, color in ((plain, "on L", "#2563eb"), (penalised, f"on L + {LAMBDA} P", "#dc2626")):
        left.semilogy([h[0] for h in history], color=color, label=label)
        right.semilogy([h[1] for h in history], color=color, label=label)
    left.set(xlabel="step", ylabel="L", title="The loss")
    right.set(xlabel="step", ylabel="|dL/dw|", title="The gradient's size (P = its square)")
    demo.save_figure(fig, "penalty.png", "L and |dL/dw| per step, with and without the penalty", legend_size=8)
    demo.finish()


if __name__ == "__main__":
    run(main)
