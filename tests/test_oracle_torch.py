"""Oracle 2: thousands of random graphs against PyTorch in float64.

The same kind of graphs as the mpmath oracle (``strategies.graphs``), built a
second time with torch tensors (``requires_grad`` leaves, float64) and
differentiated by ``torch.autograd.grad``. Both sides are float64, so they
must agree far more tightly than with an exact oracle:

    |ours - torch| <= max(1e-12 * |torch|, 1e-13 * S),

where S is the sum over paths of |product of edge derivatives|. The floor
only matters where paths cancel: there both sides round differently (torch
adds a node's incoming gradients in its own order, and its exp, tanh, sin ...
differ from Python's math module in the last bit), and the rounding scales
with S, not with the small result. S is computed from torch's own local
derivatives: each node's op re-applied by torch to fresh leaves.

Forward values agree within a relative 1e-12 (the output, a sum of the loose
ends, relative to the sum of its terms' sizes).

torch is an optional oracle (``pip install -e '.[oracle]'``): without it the
test is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import collections

from conftest import require
from hypothesis import given, settings
from op_cases import CASES
from strategies import MODELS, Const, Graph, build, graphs

GRAPHS = 2_000
RTOL = 1e-12
FLOOR = 1e-13  # times S, the sum of |path products|
VALUE_RTOL = 1e-12


def torch_ops(torch) -> dict:
    """Each kind of node written with torch, from tests/op_cases.py: given the node, a function of its operands."""

    def bind(f, node):
        return f if node.exponent is None else (lambda *xs: f(*xs, node.exponent))

    functions = {key: case.torch(torch) for key, case in CASES.items()}
    return {key: (lambda node, f=f: bind(f, node)) for key, f in functions.items()}


def local_derivatives(torch, f, args: list) -> list[float]:
    """d f / d(each tensor operand), one per operand slot (x * x gives two), from torch."""
    slots = [torch.tensor(a.item(), dtype=torch.float64, requires_grad=True) if torch.is_tensor(a) else a
             for a in args]
    inputs = [s for s in slots if torch.is_tensor(s)]
    return [d.item() for d in torch.autograd.grad(f(*slots), inputs)]


def in_torch(torch, ops: dict, graph: Graph) -> tuple[list[float], list[float], list[float]]:
    """Values, gradients d(output)/d(leaf) and path scales S per leaf, by torch."""
    n = len(graph.leaves)
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph.leaves]
    values = list(leaves)
    scale = [[float(i == j) for j in range(n)] for i in range(n)]
    for node in graph.nodes:
        f = ops[node.kind](node)
        args = [a.value if isinstance(a, Const) else values[a] for a in node.args]
        values.append(f(*args))
        s = [0.0] * n
        for ref, d in zip(node.refs, local_derivatives(torch, f, args), strict=True):
            for j in range(n):
                s[j] += abs(d) * scale[ref][j]
        scale.append(s)
    grads = torch.autograd.grad(values[-1], leaves, allow_unused=True)
    return (
        [v.item() for v in values],
        [0.0 if g is None else g.item() for g in grads],  # None: the output does not depend on that leaf
        scale[-1],
    )


def size(graph: Graph, values: list[float], i: int) -> float:
    """The scale to judge value ``i`` by: its size, or for the output (a sum) the sum of its terms' sizes."""
    if i == graph.output and graph.nodes[-1].kind == "sum":
        return sum(abs(values[j]) for j in graph.nodes[-1].refs)
    return abs(values[i])


def test_the_torch_table_covers_every_modeled_kind():
    require("torch")
    import torch

    assert set(torch_ops(torch)) == set(MODELS)


def test_random_graphs_agree_with_torch_float64():
    require("torch")
    import torch

    ops = torch_ops(torch)
    seen = collections.Counter()
    worst = [0.0, 0.0]  # relative difference where the relative test governs; difference / S

    @settings(max_examples=GRAPHS)
    @given(graphs())
    def check(graph: Graph):
        values, grads, scales = in_torch(torch, ops, graph)
        built = build(graph)
        built.output.backward()
        for i, (v, theirs) in enumerate(zip(built.values, values, strict=True)):
            assert abs(v.data - theirs) <= VALUE_RTOL * size(graph, values, i), (i, v.data, theirs)
        for i, (leaf, theirs, s) in enumerate(zip(built.leaves, grads, scales, strict=True)):
            error = abs(leaf.grad - theirs)
            assert error <= max(RTOL * abs(theirs), FLOOR * s), (i, leaf.grad, theirs, s)
            if theirs != 0 and RTOL * abs(theirs) >= FLOOR * s:
                worst[0] = max(worst[0], error / abs(theirs))
            worst[1] = max(worst[1], error / s if s else 0.0)
            seen["gradients"] += 1
            seen["under the floor"] += RTOL * abs(theirs) < FLOOR * s
        seen["graphs"] += 1
        seen["nodes"] += len(graph.nodes)

    check()
    print(f"\ntorch {torch.__version__} float64 oracle: {dict(seen)}; "
          f"worst relative difference {worst[0]:.2e}, worst difference / S {worst[1]:.2e}")
    assert seen["graphs"] >= GRAPHS
