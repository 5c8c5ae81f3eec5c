"""Gradients that are graphs (``autograd.higher``): grad, grad of grad, hessian, hvp.

Oracles: closed forms worked out here; central differences of the gradient
(for the Hessian); the engine's own ``backward()`` for first derivatives;
mpmath and PyTorch for second derivatives on random graphs (further below).
"""

from __future__ import annotations

import collections
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
from chainrule.autograd import Value, backward_steps, grad, hessian, hvp, parse, topological_order
from conftest import require
from hypothesis import given, settings
from strategies import MODELS, Const, Graph, Node, build, graphs
from test_oracle_mpmath import DIGITS, MP
from test_oracle_torch import torch_ops

from chainrule import autograd


def second(f, x: float) -> float:
    """d2f/dx2 at x by grad of grad."""
    v = Value(x)
    (d,) = grad(f(v), [v], create_graph=True)
    (dd,) = grad(d, [v])
    return dd.data


# --- closed forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 1.9])
def test_second_derivatives_of_the_activations(x):
    t = math.tanh(x)
    assert second(lambda v: v.tanh(), x) == pytest.approx(-2 * t * (1 - t * t), rel=1e-13, abs=1e-300)
    s = 1 / (1 + math.exp(-x))
    assert second(lambda v: v.sigmoid(), x) == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12, abs=1e-17)
    assert second(lambda v: v.sin(), x) == pytest.approx(-math.sin(x), rel=1e-15, abs=1e-300)
    assert second(lambda v: v.cos(), x) == pytest.approx(-math.cos(x), rel=1e-15)
    assert second(lambda v: v.exp(), x) == pytest.approx(math.exp(x), rel=1e-15)
    assert second(lambda v: v**3, x) == pytest.approx(6 * x, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("x", [0.3, 1.0, 2.5])
def test_second_derivatives_on_positive_domains(x):
    assert second(lambda v: v.log(), x) == pytest.approx(-1 / x**2, rel=1e-15)
    assert second(lambda v: v.sqrt(), x) == pytest.approx(-0.25 * x**-1.5, rel=1e-14)
    assert second(lambda v: 1 / v, x) == pytest.approx(2 / x**3, rel=1e-14)
    assert second(lambda v: v**v, x) == pytest.approx(x**x * ((math.log(x) + 1) ** 2 + 1 / x), rel=1e-13)
    assert second(lambda v: 2.0**v, x) == pytest.approx(2.0**x * math.log(2.0) ** 2, rel=1e-14)


def test_piecewise_linear_ops_have_no_curvature():
    for x in (-1.5, 0.5):
        assert second(lambda v: v.relu(), x) == 0.0
        assert second(lambda v: abs(v), x) == 0.0
        assert second(lambda v: -v + 3, x) == 0.0


def test_third_and_fourth_derivatives_by_grad_again_and_again():
    x = Value(1.3)
    y = x**4 + x.sin()
    d1 = grad(y, [x], create_graph=True)[0]
    d2 = grad(d1, [x], create_graph=True)[0]
    d3 = grad(d2, [x], create_graph=True)[0]
    d4 = grad(d3, [x])[0]
    assert d1.data == pytest.approx(4 * 1.3**3 + math.cos(1.3), rel=1e-15)
    assert d2.data == pytest.approx(12 * 1.3**2 - math.sin(1.3), rel=1e-15)
    assert d3.data == pytest.approx(24 * 1.3 - math.cos(1.3), rel=1e-15)
    assert d4.data == pytest.approx(24 + math.sin(1.3), rel=1e-15)


def test_hessian_closed_form():
    # f = x^2 y + exp(x y): H = [[2y + y^2 e, 2x + e (1 + xy)], [., x^2 e]] with e = exp(xy)
    x, y = 0.7, -1.1
    e = math.exp(x * y)
    expected = [[2 * y + y * y * e, 2 * x + e * (1 + x * y)], [2 * x + e * (1 + x * y), x * x * e]]
    H = hessian(lambda a, b: a * a * b + (a * b).exp(), [x, y])
    for row, exact in zip(H, expected, strict=True):
        assert row == pytest.approx(exact, rel=1e-14)
    assert H[0][1] == H[1][0] or H[0][1] == pytest.approx(H[1][0], rel=1e-15)


def test_hessian_against_central_differences_of_the_gradient():
    def f(a, b, c):
        return (a * b).tanh() + (b - c) ** 2 * a.sigmoid() + (c * c + 1).log()

    point = [0.4, -0.9, 1.3]
    H = hessian(f, point)
    eps = 1e-5
    for j in range(3):
        up, down = list(point), list(point)
        up[j] += eps
        down[j] -= eps

        def gradient(p):
            leaves = [Value(v) for v in p]
            return [g.data for g in grad(f(*leaves), leaves)]

        column = [(u - d) / (2 * eps) for u, d in zip(gradient(up), gradient(down), strict=True)]
        assert [H[i][j] for i in range(3)] == pytest.approx(column, rel=1e-7, abs=1e-9)


def test_hvp_is_the_hessian_times_the_vector():
    def f(a, b, c):
        return a * b * c + (a - c).exp() * b.sin()

    point, v = [0.2, 1.1, -0.5], [1.0, -2.0, 0.5]
    H = hessian(f, point)
    expected = [math.fsum(H[i][j] * v[j] for j in range(3)) for i in range(3)]
    assert hvp(f, point, v) == pytest.approx(expected, rel=1e-13)


def test_gradient_penalty_is_differentiable():
    # L = w1^2 w2 + sin(w2); grad L = (2 w1 w2, w1^2 + cos w2); P = |grad L|^2.
    # dP/dw = 2 H grad L with H = [[2 w2, 2 w1], [2 w1, -sin w2]].
    w1, w2 = 0.8, -0.6
    W = [Value(w1), Value(w2)]
    L = W[0] ** 2 * W[1] + W[1].sin()
    g = grad(L, W, create_graph=True)
    P = autograd.sum([gi * gi for gi in g])
    g_exact = [2 * w1 * w2, w1 * w1 + math.cos(w2)]
    assert P.data == pytest.approx(g_exact[0] ** 2 + g_exact[1] ** 2, rel=1e-15)
    H = [[2 * w2, 2 * w1], [2 * w1, -math.sin(w2)]]
    expected = [2 * (H[i][0] * g_exact[0] + H[i][1] * g_exact[1]) for i in range(2)]
    P.backward()  # an ordinary backward pass through the gradient's graph
    assert [w.grad for w in W] == pytest.approx(expected, rel=1e-14)


# --- the contract: what grad touches and returns ------------------------------------------------


def test_grad_without_create_graph_gives_leaves_and_touches_no_grad():
    e = parse("z = w*x + b; L = (y - sigmoid(z))**2", w=0.8, x=1.5, b=0.1, y=1.0)
    nodes = topological_order(e.output)
    leaves = list(e.variables.values())
    found = grad(e.output, leaves)
    assert all(g.is_leaf for g in found)
    assert all(node.grad == 0.0 for node in nodes)
    e.output.backward()
    assert [g.data for g in found] == [leaf.grad for leaf in leaves]


def test_grad_with_create_graph_touches_no_grad_and_builds_engine_ops():
    e = parse("z = w*x + b; L = (y - tanh(z))**2", w=0.8, x=1.5, b=0.1, y=1.0)
    before = set(topological_order(e.output))
    g = grad(e.output, [e.variables["w"]], create_graph=True)[0]
    assert all(node.grad == 0.0 for node in topological_order(g))
    assert not g.is_leaf
    new = [n for n in topological_order(g) if n not in before and not n.is_leaf]
    assert new and all(n.op in autograd.OPS or n.op == "**" for n in new)
    # the gradient graph reads the original nodes (the tanh node's value, w's partner x), not copies
    assert e.nodes["z"] in set(topological_order(g)) or any(n.op == "tanh" for n in topological_order(g))
    # it can be stepped through like any graph: the steps' grads equal grad's
    steps = list(backward_steps(g))
    assert steps and steps[-1].index == len(steps) - 1


def test_grad_of_a_node_with_respect_to_itself_an_unused_input_and_an_interior_node():
    x, y, unused = Value(2.0), Value(3.0), Value(5.0)
    h = x * y
    out = h.sin()
    dx, dunused, dh, dout = grad(out, [x, unused, h, out], create_graph=True)
    assert dx.data == pytest.approx(math.cos(6.0) * 3.0, rel=1e-15)
    assert dunused.data == 0.0 and dunused.is_leaf
    assert dh.data == pytest.approx(math.cos(6.0), rel=1e-15)
    assert dout.data == 1.0
    assert [g.data for g in grad(out, [x, unused, h])] == [dx.data, 0.0, dh.data]


def test_fan_out_sums_where_paths_meet():
    x = Value(1.5)
    y = x * x * x  # x read three times
    (d,) = grad(y, [x], create_graph=True)
    assert d.data == pytest.approx(3 * 1.5**2, rel=1e-15)
    assert grad(d, [x])[0].data == pytest.approx(6 * 1.5, rel=1e-15)


def test_grad_refuses_what_is_not_a_value():
    x = Value(1.0)
    with pytest.raises(TypeError, match="output must be a Value"):
        grad(3.0, [x])
    with pytest.raises(TypeError, match="inputs must be Values"):
        grad(x * 2, [1.0])
    with pytest.raises(TypeError, match="must return a Value"):
        hessian(lambda a: 3.0, [1.0])
    with pytest.raises(ValueError, match="one vector entry per input"):
        hvp(lambda a: a * a, [1.0], [1.0, 2.0])


def test_the_drawn_gradient_graph_renders():
    from chainrule.viz import to_dot

    x = Value(0.5, name="x")
    (d,) = grad(x.tanh(), [x], create_graph=True)
    d.name = "dy/dx"
    source = to_dot(d).source
    assert "tanh" in source and "dy/dx" in source


# --- random graphs: first derivatives as graphs equal backward() ----------------------------------


def test_random_graphs_grad_equals_backward_with_and_without_create_graph():
    @settings(max_examples=100)
    @given(graphs(max_ops=SECOND_MAX_OPS))
    def check(graph: Graph):
        built = build(graph)
        plain = grad(built.output, built.leaves)
        graphed = grad(built.output, built.leaves, create_graph=True)
        assert all(node.grad == 0.0 for node in topological_order(built.output))
        built.output.backward()
        for leaf, p, g in zip(built.leaves, plain, graphed, strict=True):
            assert p.data == leaf.grad
            assert g.data == pytest.approx(leaf.grad, rel=1e-12, abs=1e-12 * max(1.0, abs(leaf.grad)))

    check()


# --- random graphs: second derivatives against mpmath and PyTorch --------------------------------
#
# The graphs are ``strategies.graphs`` with at most 25 ops (the first-order oracles draw up to 90):
# every op of the table still appears, and 1,000 graphs per oracle fit in the time a suite may take.
#
# Where the terms of a second derivative cancel, two correct computations round differently, by an
# amount that scales with the size of the terms, not of the small result. ``second_order_scale``
# measures that size, S2, independently of the engine's rules: an absolute second-order forward
# sweep, H(node) = sum_p |f_p| H(p) + sum_pq |f_pq| T(p) T(q) with T(node) = sum_p |f_p| T(p), whose
# local partials f_p, f_pq are central differences of each op's float model (strategies.MODELS).
# It is a scale for a tolerance, good to a few digits, never an oracle.

SECOND_GRAPHS = 1_000
SECOND_MAX_OPS = 25
MP_RTOL = 1e-9
MP_RESIDUE = 1e-40
TORCH_RTOL = 1e-12
FLOOR = 1e-13  # times S2
TORCH_GRAPHS = 1_000  # each graph's whole Hessian: one torch double backward per leaf


def partials(model, args: list[float], exponent) -> tuple[list[float], list[list[float]]]:
    """First and second partial derivatives of an op's float model by central differences."""
    extra = [exponent] if exponent is not None else []

    def f(point):
        return model.value(*point, *extra)

    n = len(args)
    h = [1e-4 * max(abs(a), 1.0) for a in args]

    def at(*moves):
        point = list(args)
        for k, sign in moves:
            point[k] += sign * h[k]
        return f(point)

    first = [(at((p, 1)) - at((p, -1))) / (2 * h[p]) for p in range(n)]
    second = [[0.0] * n for _ in range(n)]
    for p in range(n):
        second[p][p] = (at((p, 1)) - 2 * f(args) + at((p, -1))) / h[p] ** 2
        for q in range(p + 1, n):
            mixed = (at((p, 1), (q, 1)) - at((p, 1), (q, -1)) - at((p, -1), (q, 1)) + at((p, -1), (q, -1)))
            second[p][q] = second[q][p] = mixed / (4 * h[p] * h[q])
    return first, second


def second_order_scale(graph: Graph) -> list[list[float]]:
    """S2[j][k]: the size of the terms that make up d2 output / dx_j dx_k (see above)."""
    n = len(graph.leaves)
    values = list(graph.leaves)
    T = [[float(i == j) for j in range(n)] for i in range(n)]
    H = [[[0.0] * n for _ in range(n)] for _ in range(n)]
    for node in graph.nodes:
        model = MODELS[node.kind]
        args = [a.value if isinstance(a, Const) else values[a] for a in node.args]
        values.append(model.value(*args, *([node.exponent] if node.exponent is not None else [])))
        d1, d2 = partials(model, args, node.exponent)
        slots = [(p, a) for p, a in enumerate(node.args) if not isinstance(a, Const)]
        t = [math.fsum(abs(d1[p]) * T[a][j] for p, a in slots) for j in range(n)]
        h = [[math.fsum(abs(d1[p]) * H[a][j][k] for p, a in slots)
              + math.fsum(abs(d2[p][q]) * T[a][j] * T[b][k] for p, a in slots for q, b in slots)
              for k in range(n)] for j in range(n)]
        T.append(t)
        H.append(h)
    return H[-1]


def test_the_scale_on_a_graph_worked_by_hand():
    # f = x*y + sin(x): f_xx = -sin x, f_xy = 1, f_yy = 0; S2 adds sizes: |sin x|, 1, 0.
    x, y = 1.2, -0.7
    graph = Graph((x, y), (Node("*", (0, 1)), Node("sin", (0,)), Node("+", (2, 3))))
    S2 = second_order_scale(graph)
    assert S2[0][0] == pytest.approx(abs(math.sin(x)), rel=1e-5)
    assert S2[0][1] == pytest.approx(1.0, rel=1e-5) and S2[1][0] == pytest.approx(1.0, rel=1e-5)
    assert S2[1][1] == pytest.approx(0.0, abs=1e-6)


def mp_output(graph: Graph, leaves: list) -> object:
    """The graph's output in mpmath (the ops as ``test_oracle_mpmath.MP`` writes them)."""
    values = list(leaves)
    for node in graph.nodes:
        f = MP[node.kind](node)
        args = [mpmath.mpf(a.value) if isinstance(a, Const) else values[a] for a in node.args]
        values.append(f(*args))
    return values[-1]


def test_random_graphs_grad_of_grad_equals_mpmath_second_derivative():
    seen = collections.Counter()

    @settings(max_examples=SECOND_GRAPHS)
    @given(graphs(max_ops=SECOND_MAX_OPS))
    def check(graph: Graph):
        # The leaf with the most paths to the output: the one most likely to enter non-linearly.
        counts = graph.path_counts()[: len(graph.leaves)]
        i = max(range(len(counts)), key=lambda j: (counts[j], -j))
        built = build(graph)
        x = built.leaves[i]
        (d,) = grad(built.output, [x], create_graph=True)
        ours = grad(d, [x])[0].data
        with mpmath.workdps(DIGITS):
            point = [mpmath.mpf(v) for v in graph.leaves]

            def along(t):
                moved = list(point)
                moved[i] = t
                return mp_output(graph, moved)

            exact = mpmath.diff(along, point[i], 2)
        s2 = second_order_scale(graph)[i][i]
        # MP_RESIDUE: mpmath.diff's own error at 50 digits (a true 0 comes back as about 1e-64).
        assert abs(ours - exact) <= max(MP_RTOL * abs(exact), FLOOR * s2, MP_RESIDUE), (i, ours, exact, s2)
        seen["graphs"] += 1
        seen["nonzero"] += abs(exact) > FLOOR * s2
        seen.update(node.kind for node in graph.nodes)

    check()
    print(f"\nsecond derivatives against mpmath: {dict(seen)}")
    assert seen["graphs"] >= SECOND_GRAPHS
    assert seen["nonzero"] >= SECOND_GRAPHS // 2  # most graphs curve along the chosen leaf
    assert set(MODELS) <= set(seen)  # every kind of node took part


def test_random_graphs_hessians_equal_torch_double_backward():
    require("torch")
    import torch

    ops = torch_ops(torch)
    seen = collections.Counter()

    @settings(max_examples=TORCH_GRAPHS)
    @given(graphs(max_ops=SECOND_MAX_OPS))
    def check(graph: Graph):
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph.leaves]
        values = list(leaves)
        for node in graph.nodes:
            args = [a.value if isinstance(a, Const) else values[a] for a in node.args]
            values.append(ops[node.kind](node)(*args))
        first = torch.autograd.grad(values[-1], leaves, create_graph=True, allow_unused=True)
        built = build(graph)
        ours_first = grad(built.output, built.leaves, create_graph=True)
        s2 = None  # the tolerance's scale, worked out only for an entry the strict 1e-12 does not settle
        for j, (theirs_j, ours_j) in enumerate(zip(first, ours_first, strict=True)):
            if theirs_j is None or not theirs_j.requires_grad:  # torch: d output/dx_j does not depend on x
                row = [0.0] * len(leaves)
            else:
                row = [0.0 if r is None else r.item()
                       for r in torch.autograd.grad(theirs_j, leaves, retain_graph=True, allow_unused=True)]
            ours = [g.data for g in grad(ours_j, built.leaves)]
            for k, (o, t) in enumerate(zip(ours, row, strict=True)):
                if abs(o - t) > TORCH_RTOL * abs(t):
                    s2 = s2 or second_order_scale(graph)
                    assert abs(o - t) <= FLOOR * s2[j][k], (j, k, o, t, s2[j][k])
                seen["mixed" if j != k else "diagonal"] += t != 0.0
        seen["graphs"] += 1
        seen.update(node.kind for node in graph.nodes)

    check()
    print(f"\nHessians against torch {torch.__version__} double backward: {dict(seen)}")
    assert seen["graphs"] >= TORCH_GRAPHS
    assert seen["mixed"] >= TORCH_GRAPHS // 2
    assert set(MODELS) <= set(seen)  # every kind of node took part


# --- the documentation page -------------------------------------------------------------------------


def test_the_page_snippets_run_and_its_pictures_exist(tmp_path):
    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "higher-order.md").read_text(encoding="utf-8")
    snippets = re.findall(r"^```python\n(.*?)^```", page, re.S | re.M)
    assert len(snippets) >= 5
    for snippet in snippets:
        result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd=tmp_path,
                                env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
        assert result.returncode == 0, f"{snippet}\n{result.stderr}"
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
    assert {"img/tanh-second.svg", "img/sigmoid-second.svg", "img/modes.png", "img/newton.png"} <= set(pictures)
    for picture in pictures:
        assert (root / "docs" / picture).is_file(), picture
