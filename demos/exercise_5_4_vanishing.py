# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Exercise 5.4: vanishing (and exploding) gradients in a deep network, and what helps.

The gradient reaching layer 1 of a deep network is a product with one factor
per layer above it:

    dL/dh1 = dL/dh_L * (dh_L/dh_{L-1}) * ... * (dh_2/dh_1),
    each factor = W_l^T times the activation's slope at layer l.

sigmoid's slope is at most 1/4, so twelve sigmoid layers can shrink the
gradient by up to (1/4)^12 ~ 6e-8 unless the weights make up for it: the
first layers barely learn. tanh's slope reaches 1 and ReLU's is exactly 1
where the unit is on, so with weights of the right size the product stays
near 1. "The right size" is the initialization's job: He's normal with
variance 2/nin keeps a ReLU layer's signal level; weights that are too large
(micrograd's U(-1, 1) on 16 inputs) make every factor larger than 1, and the
gradients explode instead.

The demo measures the gradient norm of each layer after one backward pass
(``nn.grad_norms``) in an MLP with 12 hidden layers of 16 units, for
sigmoid, tanh and ReLU; then ReLU with three initializations; then gradient
clipping (``nn.clip_grad_norm``) on the exploding one. The third remedy in the
course, normalization layers, is not part of chainrule's nn.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.nn.train import after_one_pass, vanish_norms
from chainrule.viz import grad_norms_plot, tables
from chainrule.viz.tables import num, table

from chainrule import nn
from demos.common import heading, run, start

DEPTH, WIDTH = 12, 16  # hidden layers and their width: 13 layers of weights with the output


def deep_model(activation: str, init: str, seed: int, X: list, y: list) -> nn.MLP:
    """A fresh deep MLP after one backward pass of the mse on (X, y): its grads are in place."""
    return after_one_pass(X, y, DEPTH, WIDTH, activation, init, seed)


def ratio(norms: list[float]) -> float:
    """How much the gradient shrinks from the output layer back to the first: last / first."""
    return norms[-1] / norms[0] if norms[0] else float("inf")


def norms_table(columns: dict[str, list[float]]) -> str:
    """The norms per layer, and under them how much each column shrinks: last / first."""
    return tables.norms_table(columns, [("last / first", *(num(ratio(norms)) for norms in columns.values()))])


def main(argv: list[str] | None = None) -> None:
    demo = start("exercise_5_4_vanishing", "Exercise 5.4: per-layer gradient norms in a 13-layer MLP, "
                 "sigmoid against tanh and ReLU, and the remedies.", argv)
    points, seeds = (8, 1) if demo.quick else (16, 5)
    X, y = nn.make_moons(points, noise=0.1, seed=demo.seed)

    heading(f"Gradient norm per layer: MLP(2, [{WIDTH}] * {DEPTH} + [1]), He init, mse on {points} points")
    activations = ("sigmoid", "tanh", "relu")
    norms = {a: vanish_norms(X, y, DEPTH, WIDTH, a, "he", demo.seed) for a in activations}
    print(norms_table(norms))
    print(f"\nsigmoid's slope is at most 1/4: {DEPTH} layers of it can cost up to (1/4)^{DEPTH} = "
          f"{0.25 ** DEPTH:.1e}.")
    print("Notice: the sigmoid column falls by orders of magnitude towards the input: layer 1 gets a")
    print("gradient far too small to learn from. tanh and ReLU keep the norms within a small factor.")
    grad_norms_plot(norms, demo.path("vanishing.png"),
                    title=f"{DEPTH} hidden layers of {WIDTH}, He init: gradient norm per layer")
    demo.wrote(demo.path("vanishing.png"), "one line per activation, log scale")

    if seeds > 1:
        heading(f"The ratio last / first over {seeds} seeds (different weights, same data)")
        spread = {}
        for a in activations:  # the first seed's network is the one measured above
            others = [deep_model(a, "he", demo.seed + s, X, y) for s in range(1, seeds)]
            spread[a] = sorted([ratio(norms[a])] + [ratio(nn.grad_norms(m)) for m in others])
        print(table(("activation", "smallest", "median", "largest"),
                    [(a, num(r[0]), num(statistics.median(r)), num(r[-1])) for a, r in spread.items()]))
        medians = {a: statistics.median(r) for a, r in spread.items()}
    else:
        medians = {a: ratio(norms[a]) for a in activations}
    for a in activations:
        demo.fact(f"{a}.ratio", medians[a])

    heading("Remedy 1, initialization: ReLU with three inits")
    inits = {"uniform U(-1,1)": "uniform", "xavier": "xavier"}  # and He, the ReLU network measured above
    models = {label: deep_model("relu", init, demo.seed, X, y) for label, init in inits.items()}
    by_init = {f"relu, {label}": nn.grad_norms(m) for label, m in models.items()} | {"relu, he": norms["relu"]}
    exploding = by_init["relu, uniform U(-1,1)"]
    print(norms_table(by_init))
    print(f"\nNotice: U(-1, 1) has variance 1/3; with {WIDTH} inputs and half the units off, each layer")
    print(f"multiplies the signal's variance by {WIDTH} * (1/3) / 2 = {WIDTH / 3 / 2:.2f}, and every norm is "
          f"above {min(exploding):,.0f}:")
    print("the gradients explode. Xavier's variance 2/(nin + nout) is half of what ReLU needs here, so")
    print("the gradient shrinks towards the input. He's 2/nin is made for ReLU: within a small factor.")
    demo.fact("relu_uniform.smallest_norm", min(exploding))
    demo.fact("relu_he.ratio", ratio(by_init["relu, he"]))

    heading("Remedy 2, clipping: nn.clip_grad_norm on the exploding network, max_norm = 1")
    params = models["uniform U(-1,1)"].parameters()
    before = nn.clip_grad_norm(params, 1.0)
    clipped = nn.grad_norms(models["uniform U(-1,1)"])
    after = nn.clip_grad_norm(params, 1.0)  # clipping again changes nothing: it returns the norm as it is
    print(f"total gradient norm before clipping: {before:.4g}; after: {after:.4g}")
    print(norms_table({"relu, uniform": exploding, "... clipped to 1": clipped}))
    print("\nNotice: clipping divides every gradient by the same factor, so a training step can no")
    print("longer be enormous, but the shape across layers is unchanged (the same last / first).")
    print("It tames exploding gradients; it cannot rescue vanishing ones.")
    demo.fact("clip.before", before)
    demo.fact("clip.after", after)
    demo.fact("clip.ratio_before", ratio(exploding))
    demo.fact("clip.ratio_after", ratio(clipped))

    grad_norms_plot({**by_init, "relu, uniform, clipped to 1": clipped}, demo.path("remedies.png"),
                    title="ReLU: initialization and clipping")
    demo.wrote(demo.path("remedies.png"), "ReLU under three inits, and the clipped gradients")
    demo.fact("layers", len(norms["sigmoid"]))
    demo.finish()


if __name__ == "__main__":
    run(main)
