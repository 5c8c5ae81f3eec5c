# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""The local gradients of the course's layers, each checked on the engine.

For every layer the course gives a backward formula: what dL/d(input) is
once dL/d(output) is known. Here each layer is built from engine nodes (nn's
building blocks where nn has them), an arbitrary upstream gradient g is
attached by taking L = sum_i g_i * out_i (so that dL/d out_i = g_i), one
backward pass runs, and the gradients it leaves are compared with the
course's formula evaluated in plain floats, and with central differences:

    linear   z = W x + b          dL/dW = g x^T,  dL/db = g,  dL/dx = W^T g
    ReLU     h = max(0, z)        dL/dz = g * [z > 0]
    sigmoid  h = 1/(1 + e^-z)     dL/dz = g * h (1 - h)
    tanh     h = tanh(z)          dL/dz = g * (1 - h^2)
    softmax + cross-entropy       dL/dz = p - y     (p = softmax(z), y one-hot)
    MSE      L = (1/n) sum (y_hat - y)^2          dL/dy_hat = 2 (y_hat - y) / n

Softmax with cross-entropy is checked twice: as nn's fused node, whose rule
*is* p - y, and the long way round (softmax node by node, then -log p_label),
where p - y has to come out of the engine's chain rule on its own.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.autograd import Value, numerical_grad
from chainrule.autograd.gradcheck import relative_error
from chainrule.viz import render
from chainrule.viz.tables import table

from chainrule import autograd, nn
from demos.common import heading, max_abs, run, start


@dataclass
class Case:
    """One random instance of a layer: its input leaves, how to build L from them, the formula's answer."""

    leaves: list[Value]
    build: Callable[[], Value]  # rebuilds L from the leaves' current data
    formula: list[float]  # the course's dL/d(leaf), one per leaf, in plain floats


def with_upstream(outputs: list[Value], g: list[float]) -> Value:
    """L = sum_i g_i * out_i: a scalar whose gradient with respect to out_i is exactly g_i."""
    return autograd.sum([gi * o for gi, o in zip(g, outputs, strict=True)])


def away_from_zero(rng: random.Random, n: int) -> list[float]:
    """n numbers in [-3, 3], none within 0.05 of ReLU's kink at 0 (where it has no derivative)."""
    values = []
    while len(values) < n:
        z = rng.uniform(-3.0, 3.0)
        if abs(z) > 0.05:
            values.append(z)
    return values


def linear_case(rng: random.Random) -> Case:
    nin, nout = 3, 2
    layer = nn.Layer(nin, nout, activation="linear", seed=rng.randrange(2**31))
    x = [Value(rng.uniform(-2, 2)) for _ in range(nin)]
    g = [rng.uniform(-1, 1) for _ in range(nout)]
    W = [[w.data for w in neuron.w] for neuron in layer.neurons]  # row j: neuron j's weights
    leaves, formula = [], []
    for j, neuron in enumerate(layer.neurons):
        leaves += neuron.w + [neuron.b]
        formula += [g[j] * x[i].data for i in range(nin)] + [g[j]]  # (g x^T)[j][i], then g[j]
    leaves += x
    formula += [math.fsum(W[j][i] * g[j] for j in range(nout)) for i in range(nin)]  # (W^T g)[i]
    return Case(leaves, lambda: with_upstream(layer.forward(x), g), formula)


def activation_case(rng: random.Random, name: str, slope: Callable[[float, float], float]) -> Case:
    """An elementwise activation h = f(z): dL/dz = g * slope(z, h)."""
    zs = [Value(z) for z in away_from_zero(rng, 6)]
    g = [rng.uniform(-1, 1) for _ in zs]
    f = getattr(autograd, name)
    formula = [gi * slope(z.data, f(z.data).data) for z, gi in zip(zs, g, strict=True)]
    return Case(zs, lambda: with_upstream([f(z) for z in zs], g), formula)


def softmax_floats(zs: list[float]) -> list[float]:
    m = max(zs)
    e = [math.exp(z - m) for z in zs]
    total = math.fsum(e)
    return [v / total for v in e]


def cross_entropy_case(rng: random.Random, fused: bool) -> Case:
    k = 4
    zs = [Value(rng.uniform(-3, 3)) for _ in range(k)]
    label = rng.randrange(k)
    p = softmax_floats([z.data for z in zs])
    formula = [p[i] - (1.0 if i == label else 0.0) for i in range(k)]
    if fused:
        return Case(zs, lambda: nn.cross_entropy(zs, label), formula)
    return Case(zs, lambda: -nn.softmax(zs)[label].log(), formula)


def mse_case(rng: random.Random) -> Case:
    n = 5
    y_hat = [Value(rng.uniform(-2, 2)) for _ in range(n)]
    y = [rng.uniform(-2, 2) for _ in range(n)]
    formula = [2.0 * (p.data - t) / n for p, t in zip(y_hat, y, strict=True)]
    return Case(y_hat, lambda: nn.mse(y_hat, y), formula)


# (fact key, name shown, the course's formula, a maker of random cases)
LAYERS = (
    ("linear", "linear", "dL/dW = g x^T, dL/db = g, dL/dx = W^T g", linear_case),
    ("relu", "ReLU", "dL/dz = g * [z > 0]",
     lambda rng: activation_case(rng, "relu", lambda z, h: 1.0 if z > 0 else 0.0)),
    ("sigmoid", "sigmoid", "dL/dz = g * h (1 - h)",
     lambda rng: activation_case(rng, "sigmoid", lambda z, h: h * (1.0 - h))),
    ("tanh", "tanh", "dL/dz = g * (1 - h^2)",
     lambda rng: activation_case(rng, "tanh", lambda z, h: 1.0 - h * h)),
    ("cross_entropy", "softmax+CE, fused node", "dL/dz = p - y",
     lambda rng: cross_entropy_case(rng, fused=True)),
    ("softmax_log", "softmax+CE, node by node", "dL/dz = p - y",
     lambda rng: cross_entropy_case(rng, fused=False)),
    ("mse", "MSE", "dL/dy_hat = 2 (y_hat - y) / n", mse_case),
)


def check(case: Case) -> tuple[float, float]:
    """(largest |engine - formula|, largest relative error of the formula against central differences)."""
    for leaf in case.leaves:
        leaf.grad = 0.0
    case.build().backward()
    engine = [leaf.grad for leaf in case.leaves]
    numeric = numerical_grad(case.build, case.leaves)
    formula_vs_engine = max_abs(e - f for e, f in zip(engine, case.formula, strict=True))
    formula_vs_numeric = max(relative_error(f, n) for f, n in zip(case.formula, numeric, strict=True))
    return formula_vs_engine, formula_vs_numeric


def draw_cross_entropy(demo) -> None:
    """The two softmax + cross-entropy graphs for three logits, to put side by side."""
    logits = [Value(2.0, name="z1"), Value(1.0, name="z2"), Value(0.1, name="z3")]
    fused = nn.cross_entropy(logits, 0)
    fused.name = "CE"
    fused.backward()
    render(fused, demo.path("cross-entropy-fused.svg"))
    demo.wrote(demo.path("cross-entropy-fused.svg"), "one node; its edges carry p - y")
    for z in logits:
        z.grad = 0.0
    long_way = -nn.softmax(logits)[0].log()
    long_way.name = "CE"
    long_way.backward()
    render(long_way, demo.path("cross-entropy-node-by-node.svg"))
    demo.wrote(demo.path("cross-entropy-node-by-node.svg"), "the same loss in exp, sum, / and log nodes")


def main(argv: list[str] | None = None) -> None:
    demo = start("local_gradients", "Each layer's local gradient formula from the course, checked on the "
                 "engine.", argv)
    trials = 5 if demo.quick else 50
    rng = random.Random(demo.seed)
    heading(f"The course's formula against the engine and against central differences, {trials} cases each")
    rows = []
    for key, name, formula, make in LAYERS:
        results = [check(make(rng)) for _ in range(trials)]
        engine = max(r[0] for r in results)
        numeric = max(r[1] for r in results)
        rows.append((name, formula, f"{engine:.1e}", f"{numeric:.1e}"))
        demo.fact(f"{key}.engine_max_abs_diff", engine)
        demo.fact(f"{key}.numeric_max_rel_error", numeric)
    header = ("layer", "course's backward formula", "|engine - formula|", "rel. error vs numerical")
    print(table(header, rows))
    print("\nNotice: the engine matches each formula to float rounding (1e-16 is the last digit of a")
    print("double); central differences agree to 1e-7 or better, their own truncation error. The softmax")
    print("built node by node has no idea of 'p - y', yet the chain rule through its exp, sum, division")
    print("and log nodes lands exactly on it.")
    draw_cross_entropy(demo)
    demo.fact("trials", trials)
    demo.finish()


if __name__ == "__main__":
    run(main)
