"""W1: one training step of micrograd's two-moons demo, in both engines.

The step is the demo's: an MLP(2, [16, 16, 1]) scores 100 points, the loss is
the mean hinge loss max(0, 1 - y*score) plus 1e-4 times the sum of squared
parameters, then zero_grad, backward, and an SGD update with the demo's
learning rate 1 - 0.9*k/100. Both engines start from the same weights (copied
from chainrule's model into micrograd's), and ``check_same_losses`` proves they
still agree after five steps, so the timings compare the same arithmetic.
"""

from __future__ import annotations

import gc
import time

from chainrule.autograd import Value

from chainrule import autograd, nn

SIZES = [2, 16, 16, 1]
POINTS = 100
ALPHA = 1e-4  # weight of the L2 penalty, as in micrograd's demo


def moons_data(seed: int = 0) -> tuple[list[tuple[float, float]], list[int]]:
    """The demo's 100 two-moons points with noise 0.1, from ``nn.make_moons``; labels 0 and 1."""
    return nn.make_moons(POINTS, noise=0.1, seed=seed)


def learning_rate(k: int) -> float:
    """The demo's schedule: 1.0 at step 0, falling linearly by 0.9 over 100 steps."""
    return 1.0 - 0.9 * k / 100


class ChainruleMoons:
    """The demo's training step with ``nn``: MLP, hinge loss, L2 penalty, SGD; dynamic graph."""

    def __init__(self, seed: int = 0):
        self.X, self.y = moons_data(seed)
        self.model = nn.MLP(SIZES[0], SIZES[1:], seed=seed)
        self.params = self.model.parameters()
        self.optimizer = nn.SGD(self.params, lr=learning_rate(0))

    def loss(self) -> Value:
        scores = [self.model(x) for x in self.X]
        return nn.hinge(scores, self.y) + ALPHA * autograd.sum([p * p for p in self.params])

    def step(self, k: int) -> float:
        total = self.loss()
        self.optimizer.zero_grad()
        total.backward()
        self.optimizer.lr = learning_rate(k)
        self.optimizer.step()
        return total.data


class CompiledMoons(ChainruleMoons):
    """The same step replayed by ``autograd.compile``: traced once, then numpy only."""

    def __init__(self, seed: int = 0):
        super().__init__(seed)
        traced = self.loss()
        start = time.perf_counter()
        self.tape = autograd.compile(traced, self.params)
        self.compile_seconds = time.perf_counter() - start  # the trace and flattening, once

    def step(self, k: int) -> float:
        self.optimizer.zero_grad()
        loss = self.tape()  # assigns .grad on every parameter
        self.optimizer.lr = learning_rate(k)
        self.optimizer.step()
        return loss


class MicrogradMoons:
    """The demo's step on micrograd 0.1.0 as installed, from chainrule's initial weights."""

    def __init__(self, weights: list[float]):
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP

        self.Value = MValue
        self.X, labels = moons_data()
        self.y = [2.0 * label - 1.0 for label in labels]  # hinge's -1 and +1, as the demo maps them
        self.model = MLP(SIZES[0], SIZES[1:])
        self.params = self.model.parameters()
        if len(weights) != len(self.params):
            raise ValueError(f"{len(weights)} weights for micrograd's {len(self.params)} parameters")
        for p, w in zip(self.params, weights, strict=True):
            p.data = w

    def loss(self):
        inputs = [[self.Value(a), self.Value(b)] for a, b in self.X]
        scores = [self.model(x) for x in inputs]
        hinge = [(1 + -yi * score).relu() for yi, score in zip(self.y, scores, strict=True)]
        data_loss = sum(hinge) * (1.0 / len(hinge))
        return data_loss + ALPHA * sum(p * p for p in self.params)

    def graph_size(self) -> int:
        """Nodes in one step's graph, counted without recursion (micrograd's own walk would overflow)."""
        seen, stack = set(), [self.loss()]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(node._prev)
        return len(seen)

    def step(self, k: int) -> float:
        total = self.loss()
        self.model.zero_grad()
        total.backward()
        lr = learning_rate(k)
        for p in self.params:
            p.data -= lr * p.grad
        return total.data


class MicrogradNoGC(MicrogradMoons):
    """micrograd with Python's cyclic garbage collector off during the step.

    The cycles each step leaves are collected after the step, outside the
    timed region: this shows what micrograd's engine costs without the
    collector, so a speed-up over it is the engine's own.
    """

    def step(self, k: int) -> float:
        gc.disable()
        try:
            return super().step(k)
        finally:
            gc.enable()

    def after_step(self) -> None:
        gc.collect()


def graph_sizes(seed: int = 0) -> dict:
    """Nodes in one step's graph (leaves included) in each engine."""
    chainrule = ChainruleMoons(seed)
    micro = MicrogradMoons([p.data for p in chainrule.params])
    return {"chainrule": len(autograd.topological_order(chainrule.loss())), "micrograd": micro.graph_size()}


def check_same_losses(steps: int = 5, seed: int = 0) -> dict:
    """Train fresh copies in every engine for ``steps`` steps; the losses must agree.

    Returns the losses per engine and the largest relative difference to
    micrograd; raises ``RuntimeError`` if any differs by more than 1e-9.
    """
    dynamic = ChainruleMoons(seed)
    compiled = CompiledMoons(seed)
    micro = MicrogradMoons([p.data for p in dynamic.params])
    losses = {"chainrule": [], "chainrule compiled": [], "micrograd": []}
    for k in range(steps):
        losses["chainrule"].append(dynamic.step(k))
        losses["chainrule compiled"].append(compiled.step(k))
        losses["micrograd"].append(micro.step(k))
    reference = losses["micrograd"][-1]
    worst = max(abs(v[-1] - reference) / abs(reference) for v in losses.values())
    if worst > 1e-9:
        raise RuntimeError(f"the engines disagree after {steps} steps: {losses}")
    return {"steps": steps, "losses": losses, "max_relative_difference": worst}
