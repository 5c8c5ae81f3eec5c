"""Forward mode (``autograd.forward``): jvp, the forward sweep, tangents in forward_steps, sweep costs.

The oracle for the random graphs is the engine's reverse mode (``backward()``,
itself held to mpmath and PyTorch by the oracle suites): the directional
derivative along t must equal the gradient dotted with t. The two sweeps add
the same path products in opposite orders, so where paths cancel they round
differently; the check is

    |jvp - grad . t| <= 1e-12 * S,

where S >= |grad . t| is the sum over paths of |product of edge derivatives|
times |t| of the path's input (a forward sweep with every local derivative
and tangent replaced by its absolute value). Where nothing cancels, S equals
|grad . t| and this is the plain relative test.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chainrule.autograd import ForwardStep, Value, forward_steps, grad, jvp, parse
from chainrule.autograd.forward import SweepCost, forward_sweep, jacobian_forward, jacobian_reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import MODELS, Graph, build, graphs

from chainrule import autograd

GRAPHS = 1_000
MAX_OPS = 25  # ops per graph (the first-order oracles draw up to 90); every op still takes part
RTOL = 1e-12
# A tangent is 0 (that input stays put) or at least 1e-3 in size: a subnormal tangent such as 5e-324
# makes every product round at the bottom of the float range, where no relative tolerance holds.
TANGENT = st.one_of(st.just(0.0), st.floats(1e-3, 2.0), st.floats(-2.0, -1e-3))


def absolute_sweep(output: Value, seeds: dict[Value, float]) -> float:
    """S: the forward sweep with |local| and |tangent| everywhere (the sum of |path products| * |t|)."""
    scale: dict[Value, float] = {}
    for node in autograd.topological_order(output):
        if node in seeds:
            scale[node] = abs(seeds[node])
        elif node.is_leaf:
            scale[node] = 0.0
        else:
            scale[node] = math.fsum(abs(d) * scale[p] for p, d in zip(node.parents, node.local_grads(), strict=True))
    return scale[output]


def test_random_graphs_jvp_equals_the_reverse_gradient_dotted_with_the_tangent():
    checked = {"graphs": 0}
    kinds: set[str] = set()

    @settings(max_examples=GRAPHS)
    @given(graphs(max_ops=MAX_OPS), st.lists(TANGENT, min_size=6, max_size=6))
    def check(graph: Graph, direction: list[float]):
        built = build(graph)
        built.output.backward()
        t = direction[: len(built.leaves)]
        expected = math.fsum(leaf.grad * ti for leaf, ti in zip(built.leaves, t, strict=True))
        seeds = dict(zip(built.leaves, t, strict=True))
        tangent = forward_sweep(built.output, seeds)[built.output]
        s = absolute_sweep(built.output, seeds)
        assert abs(tangent - expected) <= RTOL * s, (tangent, expected, s)
        # jvp itself: the same graph rebuilt by a function of the primals.
        value, tangent2 = jvp(lambda *xs: build(graph, list(xs)).output, list(graph.leaves), t)
        assert value == built.output.data
        assert tangent2 == tangent
        checked["graphs"] += 1
        kinds.update(node.kind for node in graph.nodes)

    check()
    assert checked["graphs"] >= GRAPHS
    assert set(MODELS) <= kinds  # every kind of node took part


def test_jvp_on_closed_forms():
    # f(x, y) = x^2 y + sin(y): grad = (2xy, x^2 + cos y).
    x, y, tx, ty = 1.5, -0.7, 0.3, 2.0
    value, tangent = jvp(lambda a, b: a**2 * b + b.sin(), [x, y], [tx, ty])
    assert value == pytest.approx(x * x * y + math.sin(y), rel=1e-15)
    assert tangent == pytest.approx(2 * x * y * tx + (x * x + math.cos(y)) * ty, rel=1e-14)
    # one input, a unit tangent: the ordinary derivative, d tanh/dx = 1 - tanh^2
    _, d = jvp(autograd.tanh, [0.4], [1.0])
    assert d == pytest.approx(1 - math.tanh(0.4) ** 2, rel=1e-15)


def test_jvp_with_several_outputs_gives_one_column_of_the_jacobian():
    values, tangents = jvp(lambda x: [x.exp(), x * x, x.sin()], [0.5], [1.0])
    assert values == pytest.approx([math.exp(0.5), 0.25, math.sin(0.5)], rel=1e-15)
    assert tangents == pytest.approx([math.exp(0.5), 1.0, math.cos(0.5)], rel=1e-15)


def test_jvp_of_an_output_that_ignores_an_input_and_of_a_constant():
    assert jvp(lambda x, y: x * 3, [2.0, 5.0], [0.0, 1.0]) == (6.0, 0.0)
    assert jvp(lambda x: Value(4.0), [2.0], [1.0]) == (4.0, 0.0)


def test_jvp_fan_out_adds_both_paths():
    # x*x reads x twice: d/dx = x + x.
    assert jvp(lambda x: x * x, [3.0], [1.0]) == (9.0, 6.0)
    assert jvp(lambda x: x + x + x, [3.0], [2.0]) == (9.0, 6.0)
    x = Value(3.0)  # a Value given as a primal is the leaf itself
    assert jvp(lambda v: v * x, [x], [1.0]) == (9.0, 6.0)


@pytest.mark.parametrize("primals, tangents, words", [
    ([1.0, 2.0], [1.0], "one tangent per primal"),
    ([1.0], [math.nan], "finite number"),
    ([1.0], ["1"], "finite number"),
])
def test_jvp_refuses_bad_tangents(primals, tangents, words):
    with pytest.raises(ValueError, match=words):
        jvp(lambda *xs: xs[0], primals, tangents)


def test_the_forward_sweep_touches_no_grad_and_leaves_the_values():
    e = parse("z = w*x + b; L = (1 - tanh(z))**2", w=0.8, x=1.5, b=0.1)
    before = [(n.data, n.grad) for n in autograd.topological_order(e.output)]
    forward_sweep(e.output, {e.variables["w"]: 1.0})
    assert [(n.data, n.grad) for n in autograd.topological_order(e.output)] == before


def test_a_seeded_interior_node_acts_as_an_input():
    x = Value(2.0)
    h = x * x  # seeded directly: its own parents are not read
    out = h.exp()
    tangents = forward_sweep(out, {h: 1.0})
    assert tangents[out] == math.exp(4.0)
    assert tangents[x] == 0.0


def test_forward_steps_show_the_tangent_beside_each_value():
    e = parse("z = w*x + b; h = tanh(z)", w=0.5, x=2.0, b=-0.3)
    w = e.variables["w"]
    steps = list(forward_steps(e.output, {w: 1.0}))
    assert [s.node.op for s in steps] == ["*", "+", "tanh"]
    z = 0.5 * 2.0 - 0.3
    # d(w*x)/dw = x; d(z)/dw = x; d tanh(z)/dw = (1 - tanh^2 z) x
    assert [s.tangent for s in steps] == pytest.approx([2.0, 2.0, (1 - math.tanh(z) ** 2) * 2.0], rel=1e-15)
    assert steps[-1].value == e.output.data
    # without tangents the steps are as before, with tangent None
    plain = list(forward_steps(e.output))
    assert [s.tangent for s in plain] == [None, None, None]
    assert [(s.index, s.node, s.inputs, s.value) for s in plain] == [(s.index, s.node, s.inputs, s.value)
                                                                      for s in steps]
    assert ForwardStep(0, w, (), 0.5).tangent is None  # the old four-field form still works


def test_sweep_costs_many_inputs_one_output():
    n = 6
    xs = [Value(0.1 * (i + 1)) for i in range(n)]
    loss = autograd.sum([(x * x).tanh() for x in xs])
    op_nodes = sum(1 for node in autograd.topological_order(loss) if not node.is_leaf)
    forward = jacobian_forward([loss], xs)
    reverse = jacobian_reverse([loss], xs)
    assert (forward.sweeps, reverse.sweeps) == (n, 1)
    assert (forward.ops, reverse.ops) == (n * op_nodes, op_nodes)
    exact = [2 * x.data * (1 - math.tanh(x.data**2) ** 2) for x in xs]
    assert forward.jacobian[0] == pytest.approx(exact, rel=1e-14)
    assert reverse.jacobian[0] == pytest.approx(exact, rel=1e-14)
    assert isinstance(forward, SweepCost) and forward.mode == "forward" and reverse.mode == "reverse"


def test_sweep_costs_one_input_many_outputs():
    m = 5
    x = Value(0.7)
    s = x.sin()  # shared by every output
    outputs = [s * float(k + 1) + x for k in range(m)]
    forward = jacobian_forward(outputs, [x])
    reverse = jacobian_reverse(outputs, [x])
    assert (forward.sweeps, reverse.sweeps) == (1, m)
    # forward: each op node once (sin, m products, m sums); reverse: each output's own graph (sin, *, +)
    assert forward.ops == 1 + 2 * m
    assert reverse.ops == 3 * m
    exact = [(k + 1) * math.cos(0.7) + 1 for k in range(m)]
    assert [row[0] for row in forward.jacobian] == pytest.approx(exact, rel=1e-15)
    assert [row[0] for row in reverse.jacobian] == pytest.approx(exact, rel=1e-15)


def test_reverse_columns_match_grad():
    e = parse("a*b + sin(a)", a=0.3, b=-1.2)
    a, b = e.variables["a"], e.variables["b"]
    row = jacobian_reverse([e.output], [a, b]).jacobian[0]
    assert row == [g.data for g in grad(e.output, [a, b])]


# --- the command: chainrule modes ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def chainrule(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def row(stdout: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first`` (cells are separated by 2+ spaces)."""
    for line in stdout.splitlines():
        if line.startswith(first + " ") or line == first:
            return re.split(r"\s{2,}", line.strip())
    raise AssertionError(f"no row {first!r} in:\n{stdout}")


def test_modes_many_inputs_one_output():
    result = chainrule("modes", "z = w*x + b; L = (y - sigmoid(z))**2", "--at", "w=0.8,x=1.5,b=0.1,y=1")
    assert result.returncode == 0, result.stderr
    # five op nodes: *, +, sigmoid, -, **2; four inputs
    assert row(result.stdout, "forward")[:3] == ["forward", "4 (one per input)", "20"]
    assert row(result.stdout, "reverse")[:3] == ["reverse", "1 (one per output)", "5"]
    w, x, b, y = 0.8, 1.5, 0.1, 1.0
    h = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (h - y) * h * (1 - h)
    for name, exact in {"w": dz * x, "x": dz * w, "b": dz, "y": 2 * (y - h)}.items():
        _, forward, reverse = row(result.stdout, f"dL/d{name}")
        assert float(forward) == pytest.approx(exact, rel=1e-3)
        assert forward == reverse
    assert "Cheaper here: reverse" in result.stdout
    # the tangent column of the forward sweep seeded with dw = 1: dz/dw = x, dL/dw at the end
    assert float(row(result.stdout, "z")[3]) == pytest.approx(x, rel=1e-3)
    assert float(row(result.stdout, "L")[3]) == pytest.approx(dz * x, rel=1e-3)


def test_modes_one_input_many_outputs():
    result = chainrule("modes", "s = sin(x); a = s*x; b = s + x; c = exp(s)", "--at", "x=0.5",
                       "--outputs", "a,b,c")
    assert result.returncode == 0, result.stderr
    assert row(result.stdout, "forward")[:3] == ["forward", "1 (one per input)", "4"]
    assert row(result.stdout, "reverse")[:3] == ["reverse", "3 (one per output)", "6"]  # sin+* , sin++ , sin+exp
    x = 0.5
    exact = {"a": math.cos(x) * x + math.sin(x), "b": math.cos(x) + 1, "c": math.exp(math.sin(x)) * math.cos(x)}
    for name, value in exact.items():
        _, forward, reverse = row(result.stdout, f"d{name}/dx")
        assert float(forward) == pytest.approx(value, rel=1e-3) and forward == reverse
    assert "Cheaper here: forward" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["x*", "--at", "x=1"], "line 1, column 3"),
    (["2*3"], "no inputs"),
    (["a = x*2; x*a", "--at", "x=1", "--outputs", "q"], "--outputs: q is not an assigned name"),
    (["x*2", "--at", "x=1", "--outputs", ","], "--outputs"),
])
def test_modes_bad_input_is_one_short_error(args, words):
    result = chainrule("modes", *args)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
