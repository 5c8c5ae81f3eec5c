# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""Batch matrix calculus: the scalar engine's gradients are the course's matrix formulas.

A linear layer on a batch of B examples computes Z = X W + b, with

    X: B x n (one example per row),  W: n x m,  b: m,  Z: B x m.

The course's backward formulas for it, given G = dL/dZ (B x m), are

    dL/dW = X^T G        (n x m)   each weight collects over the whole batch
    dL/dX = G W^T        (B x n)   each example gets its own input gradient
    dL/db = sum of G's rows (m)    a bias is shared by every example

The scalar engine knows none of this: it sees B * m separate neurons'
outputs and adds up contributions wherever a weight is used more than once.
This demo builds the batch with nn.Layer (neuron j's weights are column j of
W), adds a loss L = mean((tanh(Z) - T)^2), runs one backward pass, and
compares every gradient with the formulas evaluated by numpy, with
G = 2 (tanh(Z) - T) (1 - tanh(Z)^2) / (B m) worked out by hand.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value
from chainrule.viz import render, to_dot

from chainrule import autograd, nn
from demos.common import heading, run, start


def batch(B: int, n: int, m: int, seed: int):
    """A linear layer of m neurons on B random examples of n inputs, and L = mean((tanh(Z) - T)^2).

    Returns (layer, X, T, Z, L): X holds B rows of n leaf Values, T the B x m
    targets as floats, Z the B rows of m pre-activations.
    """
    rng = random.Random(seed)
    layer = nn.Layer(n, m, activation="linear", seed=seed)
    for neuron in layer.neurons:  # nonzero biases, so b takes part in the numbers
        neuron.b.data = rng.uniform(-0.5, 0.5)
    X = [[Value(rng.uniform(-1, 1), name=f"x{r + 1},{i + 1}") for i in range(n)] for r in range(B)]
    T = [[rng.uniform(-1, 1) for _ in range(m)] for _ in range(B)]
    Z = [layer.forward(row) for row in X]  # B lists of m Values
    terms = [(z.tanh() - t) ** 2 for zs, ts in zip(Z, T, strict=True) for z, t in zip(zs, ts, strict=True)]
    L = autograd.sum(terms) / (B * m)
    L.name = "L"
    return layer, X, T, Z, L


def main(argv: list[str] | None = None) -> None:
    import numpy as np  # the matrix side only; the engine itself needs no numpy

    demo = start("batch_gradients", "The scalar engine's batch gradients against X^T dZ, dZ W^T and the "
                 "batch sum.", argv)
    B, n, m = (4, 3, 2) if demo.quick else (8, 5, 3)
    heading(f"Scalar engine: a batch of B = {B} examples, n = {n} inputs, m = {m} outputs")
    layer, X, T, Z, L = batch(B, n, m, demo.seed)
    L.backward()
    nodes = len(autograd.topological_order(L))
    print(f"L = mean((tanh(Z) - T)^2) = {L.data:.6f}; one backward pass over {nodes} scalar nodes")
    small = batch(2, 2, 2, demo.seed)[-1]  # the same construction, small enough to read as a picture
    small.backward()
    render(to_dot(small, group_modules=True), demo.path("batch-graph.svg"))
    demo.wrote(demo.path("batch-graph.svg"), "a batch of 2: each weight feeds 2 products, one per example")

    Xm = np.array([[x.data for x in row] for row in X])
    Wm = np.array([[neuron.w[i].data for neuron in layer.neurons] for i in range(n)])  # column j: neuron j
    Zm = Xm @ Wm + np.array([neuron.b.data for neuron in layer.neurons])
    G = 2.0 * (np.tanh(Zm) - np.array(T)) * (1.0 - np.tanh(Zm) ** 2) / (B * m)  # dL/dZ by hand

    engine = {
        "dL/dZ": np.array([[z.grad for z in zs] for zs in Z]),
        "dL/dW": np.array([[neuron.w[i].grad for neuron in layer.neurons] for i in range(n)]),
        "dL/dX": np.array([[x.grad for x in row] for row in X]),
        "dL/db": np.array([neuron.b.grad for neuron in layer.neurons]),
    }
    matrix = {
        "dL/dZ": G,
        "dL/dW": Xm.T @ G,
        "dL/dX": G @ Wm.T,
        "dL/db": G.sum(axis=0),
    }
    formula = {"dL/dZ": "2 (tanh Z - T)(1 - tanh^2 Z) / (B m)", "dL/dW": "X^T dZ", "dL/dX": "dZ W^T",
               "dL/db": "sum over the batch of dZ"}

    heading("The same gradients from the matrix formulas (numpy)")
    np.set_printoptions(precision=5, suppress=True, linewidth=100)
    print("dL/dW from the engine (row i: input i, column j: neuron j):")
    print(engine["dL/dW"])
    print("X^T @ dZ:")
    print(matrix["dL/dW"])
    print()
    worst = 0.0
    for key in ("dL/dZ", "dL/dW", "dL/dX", "dL/db"):
        diff = float(np.max(np.abs(engine[key] - matrix[key])))
        worst = max(worst, diff)
        shape = " x ".join(str(s) for s in matrix[key].shape)
        print(f"{key} = {formula[key]:<38} ({shape}): largest |engine - matrix| = {diff:.1e}")
        demo.fact(f"{key.replace('dL/d', 'd')}.max_abs_diff", diff)
    print("\nNotice: dL/dW adds one contribution per example (the sum hidden in X^T dZ); the engine gets")
    print("the same sum because the weight node is a parent of B product nodes and backprop adds what")
    print("each one sends. The bias is shared the same way, so its gradient is the batch sum.")
    demo.fact("batch", B)
    demo.fact("max_abs_diff", worst)
    demo.finish()


if __name__ == "__main__":
    run(main)
