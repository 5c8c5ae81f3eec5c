# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Training on two moons: the whole loop, a loss curve and a decision boundary.

Two interleaved half circles cannot be split by a straight line; an MLP with
two hidden layers of 16 ReLU units learns a curved boundary. ``nn.fit`` runs
the loop the course describes: forward pass over the batch, hinge loss
max(0, 1 - y * score), zero_grad, backward, an Adam step, and records the loss
and the accuracy at every step (a tqdm progress bar shows them when the
output is a terminal).

The same training then runs again from the same initial weights with
``compiled=True``: ``autograd.compile`` records the step's graph once and
replays forward and backward with numpy. Same numbers, less time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.viz import decision_boundary, loss_curve

from chainrule import nn
from demos.common import heading, max_abs, run, start


def main(argv: list[str] | None = None) -> None:
    demo = start("moons", "Train an MLP on two moons: progress bar, loss curve, decision boundary.", argv)
    points, steps, resolution = (40, 15, 25) if demo.quick else (100, 100, 60)
    X, y = nn.make_moons(points, noise=0.1, seed=demo.seed)

    model = nn.MLP(2, [16, 16, 1], seed=demo.seed)
    heading(f"{model}, {len(model.parameters())} parameters: hinge loss, Adam, {steps} steps")
    if not sys.stdout.isatty():
        print("(run this in a terminal to see fit's progress bar; it stays quiet when the output is piped)")
    t0 = time.perf_counter()
    history = nn.fit(model, X, y, loss="hinge", steps=steps, seed=demo.seed)
    dynamic_time = time.perf_counter() - t0
    acc = nn.accuracy(model, X, y)
    print(f"loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f}; accuracy {history.accuracy[0]:.0%} -> "
          f"{acc:.0%} on all {points} points ({dynamic_time:.1f} s)")
    print("Notice: the hinge loss reaches 0 for a point once it is on the right side by a margin of 1;")
    print("the points still inside the margin are the ones that keep pushing the boundary.")
    loss_curve(history, demo.path("loss.png"), title="Two moons")
    demo.wrote(demo.path("loss.png"), "loss and accuracy per step")
    decision_boundary(model, X, y, demo.path("boundary.png"), resolution=resolution, title="Two moons")
    demo.wrote(demo.path("boundary.png"), "the plane coloured by the predicted class, the data on top")

    heading("The same training, compiled: autograd.compile replays each step with numpy")
    twin = nn.MLP(2, [16, 16, 1], seed=demo.seed)  # the same seed: the same initial weights
    t0 = time.perf_counter()
    replayed = nn.fit(twin, X, y, loss="hinge", steps=steps, seed=demo.seed, compiled=True)
    compiled_time = time.perf_counter() - t0
    loss_gap = max_abs(a - b for a, b in zip(history.loss, replayed.loss, strict=True))
    weight_gap = max_abs(a.data - b.data for a, b in zip(model.parameters(), twin.parameters(), strict=True))
    speedup = dynamic_time / compiled_time
    print(f"{compiled_time:.2f} s instead of {dynamic_time:.2f} s ({speedup:.1f}x faster)")
    print(f"largest loss difference {loss_gap:.1e}, largest weight difference {weight_gap:.1e}")
    print("Notice: compiling changes how the arithmetic is scheduled, not what it is: the two runs")
    print("agree to rounding.")

    demo.fact("points", points)
    demo.fact("first_loss", history.loss[0])
    demo.fact("last_loss", history.loss[-1])
    demo.fact("accuracy", acc)
    demo.fact("compiled.max_loss_diff", loss_gap)
    demo.fact("compiled.max_weight_diff", weight_gap)
    demo.finish()


if __name__ == "__main__":
    run(main)
