# ruff: noqa: E402  (the path fix below must run before the imports, for `python demos/...py`)
"""The layer-by-layer design with numpy, trained side by side with the scalar engine.

Backpropagation by layers, as the course lays it out: every layer is an
object with two methods.

* ``forward(x)`` computes the layer's output for a whole batch and keeps
  what its backward pass will need (its input, or its output);
* ``backward(upstream)`` takes dL/d(output) for the batch, stores the
  gradients of its own parameters, and returns dL/d(input) for the layer
  below.

A network runs the forwards in order and the backwards in reverse. The
classes below are that design in a few lines of numpy each, written for this
demo. The same network is built a second time from chainrule's scalar
``nn.MLP``, starting from the very same weights, and both are trained with
plain gradient descent on the two-moons data: at every step their gradients
and their losses must agree to rounding, because they are the same chain
rule, once over matrices and once over scalar nodes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chainrule.viz.plots import new_figure
from chainrule.viz.tables import table

from chainrule import nn
from demos.common import heading, run, start


class Linear:
    """z = x W + b on a batch: x is B x nin, W is nin x nout, b has nout entries."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dW, self.db = None, None

    def forward(self, x):
        self.x = x  # dz/dW needs the input
        return x @ self.W + self.b

    def backward(self, upstream):
        # z_bj = sum_i x_bi W_ij + b_j, so dL/dW_ij = sum_b x_bi dL/dz_bj: the batch sum is in the product.
        self.dW = self.x.T @ upstream
        self.db = upstream.sum(axis=0)  # every example uses the same bias
        return upstream @ self.W.T  # dL/dx_bi = sum_j dL/dz_bj W_ij

    def parameters(self) -> list:
        """(array, its gradient) pairs, updated in place by the training loop."""
        return [(self.W, self.dW), (self.b, self.db)]


class ReLU:
    """h = max(0, z); its local derivative is 1 where z > 0 and 0 elsewhere."""

    def forward(self, z):
        self.on = z > 0  # which units let the gradient through
        return z * self.on

    def backward(self, upstream):
        return upstream * self.on

    def parameters(self) -> list:
        return []


class Sigmoid:
    """h = 1 / (1 + e^-z); its local derivative h (1 - h) needs only the output, so that is kept."""

    def forward(self, z):
        import numpy as np

        e = np.exp(-np.abs(z))  # never overflows: e^-|z| <= 1
        self.h = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.h

    def backward(self, upstream):
        return upstream * self.h * (1.0 - self.h)

    def parameters(self) -> list:
        return []


class MeanSquaredError:
    """L = mean((prediction - target)^2) over all entries; dL/dprediction = 2 (prediction - target) / n."""

    def forward(self, prediction, target):
        self.difference = prediction - target
        return float((self.difference**2).mean())

    def backward(self):
        return 2.0 * self.difference / self.difference.size


class Network:
    """Layers in order: forward runs through them, backward comes back through them in reverse."""

    def __init__(self, layers: list):
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, upstream) -> None:
        for layer in reversed(self.layers):
            upstream = layer.backward(upstream)

    def parameters(self) -> list:
        return [pair for layer in self.layers for pair in layer.parameters()]


def copy_of(model: nn.MLP, np) -> Network:
    """A numpy Network with ``model``'s current weights: Linear, ReLU, ..., Linear, then Sigmoid.

    Neuron j of a layer holds column j of W (its weight for input i is W[i, j]).
    """
    layers: list = []
    for k, layer in enumerate(model.layers):
        W = np.array([[neuron.w[i].data for neuron in layer.neurons] for i in range(layer.nin)])
        b = np.array([neuron.b.data for neuron in layer.neurons])
        layers.append(Linear(W, b))
        layers.append(ReLU() if k < len(model.layers) - 1 else Sigmoid())
    return Network(layers)


def scalar_gradients(model: nn.MLP, np) -> list:
    """The scalar model's parameter gradients, arranged like the numpy Network's (dW, db) pairs."""
    grads = []
    for layer in model.layers:
        grads.append(np.array([[neuron.w[i].grad for neuron in layer.neurons] for i in range(layer.nin)]))
        grads.append(np.array([neuron.b.grad for neuron in layer.neurons]))
    return grads


def scalar_order(model: nn.MLP) -> list:
    """The scalar parameters in the numpy Network's order: per layer, W row by row (input i), then b."""
    ordered = []
    for layer in model.layers:
        ordered += [neuron.w[i] for i in range(layer.nin) for neuron in layer.neurons]
        ordered += [neuron.b for neuron in layer.neurons]
    return ordered


def main(argv: list[str] | None = None) -> None:
    import numpy as np  # numpy is this demo's subject; the engine itself does not need it

    demo = start("layerwise_numpy", "The layer-wise numpy design against the scalar MLP, same weights, same "
                 "steps.", argv)
    points, steps, lr = (16, 20, 0.5) if demo.quick else (64, 150, 0.5)
    X, y = nn.make_moons(points, noise=0.1, seed=demo.seed)
    model = nn.MLP(2, [8, 8, 1], activation="relu", seed=demo.seed)
    network = copy_of(model, np)
    Xa = np.array(X)
    Ya = np.array([[float(t)] for t in y])
    loss_fn = MeanSquaredError()
    optimizer = nn.SGD(model.parameters(), lr=lr)

    heading(f"Training both on {points} moons points: {steps} steps of gradient descent, lr = {lr}")
    print("numpy:  " + " -> ".join(type(layer).__name__ for layer in network.layers) + " -> MeanSquaredError")
    print(f"scalar: {model} -> sigmoid -> nn.mse, {len(model.parameters())} parameter Values")
    scalar_losses, numpy_losses = [], []
    worst_grad, worst_loss = 0.0, 0.0
    scalar_time = numpy_time = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = nn.mse([model(x).sigmoid() for x in X], [float(t) for t in y])
        optimizer.zero_grad()
        loss.backward()
        t1 = time.perf_counter()
        numpy_loss = loss_fn.forward(network.forward(Xa), Ya)
        network.backward(loss_fn.backward())
        t2 = time.perf_counter()
        scalar_time += t1 - t0
        numpy_time += t2 - t1

        pairs = network.parameters()
        for (_, grad), engine_grad in zip(pairs, scalar_gradients(model, np), strict=True):
            worst_grad = max(worst_grad, float(np.max(np.abs(grad - engine_grad))))
        worst_loss = max(worst_loss, abs(loss.data - numpy_loss))
        scalar_losses.append(loss.data)
        numpy_losses.append(numpy_loss)

        optimizer.step()
        for array, grad in pairs:
            array -= lr * grad  # in place: the layers hold these very arrays

    rows = [(str(s + 1), f"{scalar_losses[s]:.10f}", f"{numpy_losses[s]:.10f}")
            for s in sorted({0, 1, steps // 2, steps - 1})]
    print(table(("step", "scalar engine loss", "numpy layers loss"), rows))
    final = [float(v) for v in np.concatenate([a.ravel() for a, _ in network.parameters()])]
    weights_diff = max(abs(a - p.data) for a, p in zip(final, scalar_order(model), strict=True))
    print(f"\nlargest gradient difference over all {steps} steps: {worst_grad:.1e}")
    print(f"largest loss difference:                     {worst_loss:.1e}")
    print(f"largest weight difference after training:    {weights_diff:.1e}")
    print(f"time per step: scalar engine {1e3 * scalar_time / steps:.1f} ms, "
          f"numpy {1e3 * numpy_time / steps:.2f} ms")
    print("Notice: the two are the same algorithm; only the bookkeeping differs. The numpy layers")
    print("multiply whole matrices (X^T dZ, dZ W^T), the scalar engine visits one node at a time and")
    print("adds up what each sends. Same numbers, to the last few bits; numpy is far faster.")

    fig = new_figure(6.0, 3.8)
    ax = fig.subplots()
    ticks = range(1, steps + 1)
    ax.plot(ticks, scalar_losses, color="#2563eb", linewidth=3, alpha=0.5, label="scalar nn.MLP")
    ax.plot(ticks, numpy_losses, "--", color="#dc2626", linewidth=1.3, label="numpy layers")
    ax.set(xlabel="step", ylabel="mse loss", title="Same weights, same steps: the curves coincide")
    ax.grid(alpha=0.3)
    ax.legend()
    demo.save_figure(fig, "loss.png", "both loss curves, one on top of the other")

    demo.fact("steps", steps)
    demo.fact("max_grad_diff", worst_grad)
    demo.fact("max_loss_diff", worst_loss)
    demo.fact("max_weight_diff", weights_diff)
    demo.fact("first_loss", scalar_losses[0])
    demo.fact("last_loss", scalar_losses[-1])
    demo.finish()


if __name__ == "__main__":
    run(main)
