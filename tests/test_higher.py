"""Gradients that are graphs (``autograd.higher``): grad, grad of grad, hessian, hvp.

Oracles: closed forms worked out here; central differences of the gradient
(for the Hessian); the engine's own ``backward()`` for first derivatives;
mpmath and PyTorch for second derivatives on random graphs (further below).
"""

from __future__ import annotations

import math

import pytest
from chainrule.autograd import Value, backward_steps, grad, hessian, hvp, parse, topological_order
from hypothesis import given, settings
from strategies import Graph, build, graphs

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
    @settings(max_examples=150)
    @given(graphs())
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
