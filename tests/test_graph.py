"""The backward pass, its step-through and the chain rule over paths."""

from __future__ import annotations

import gc
import math
import sys

import pytest
from chainrule.autograd import TooManyPaths, Value, backward_steps, paths, topological_order
from course import course, sig

from chainrule import autograd


def test_course_example_against_the_closed_form():
    L, v, *_ = course()
    L.backward()
    s = sig(0.8 * 1.5 + 0.1)
    common = 2 * (s - 1.0) * s * (1 - s)  # dL/dz
    assert v["w"].grad == pytest.approx(common * 1.5, rel=1e-14)
    assert v["x"].grad == pytest.approx(common * 0.8, rel=1e-14)
    assert v["b"].grad == pytest.approx(common, rel=1e-14)
    assert v["y"].grad == pytest.approx(2 * (1.0 - s), rel=1e-14)


def test_topological_order_puts_parents_first_once_each():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e and len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for p in node.parents:
            assert position[p] < position[node]


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda a: a * a, lambda x: 2 * x),  # one parent twice
        (lambda a: a + a, lambda x: 2.0),
        (lambda a: (a + a) + (a + a), lambda x: 4.0),
        (lambda a: a * a * a, lambda x: 3 * x * x),
        (lambda a: (a.exp() + a.sin()) * a.tanh(),  # a diamond: a reaches the product by three paths
         lambda x: (math.exp(x) + math.cos(x)) * math.tanh(x) + (math.exp(x) + math.sin(x)) * (1 - math.tanh(x) ** 2)),
    ],
)
def test_fan_out_sums_over_paths(build, expected):
    a = Value(0.7)
    build(a).backward()
    assert a.grad == pytest.approx(expected(0.7), rel=1e-14)


def test_b_is_a_plus_a_and_c_is_b_plus_b():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_unused_input_and_constant_output():
    x, unused = Value(2.0), Value(5.0)
    y = x * 3
    y.backward()
    assert x.grad == 3.0 and unused.grad == 0.0
    c = Value(7.0)
    c.backward()
    assert c.grad == 1.0
    z = (x - x) * 0
    z.backward()
    assert z.data == 0.0 and x.grad == 3.0  # leaves accumulate: 3 + 0


def test_leaves_accumulate_interior_nodes_do_not():
    x = Value(2.0)
    h = x * x
    y = h + 1
    y.backward()
    y.backward()
    assert x.grad == 8.0  # 4 + 4: leaves accumulate across calls, as in PyTorch
    assert h.grad == 1.0  # interior: this pass only
    assert y.grad == 1.0  # the root is set, never accumulated
    y.zero_grad()
    assert x.grad == h.grad == y.grad == 0.0


def test_a_second_root_over_shared_nodes_starts_interior_grads_fresh():
    x = Value(1.5)
    h = x.tanh()
    first, second = h * 2, h * 5
    first.backward()
    second.backward()
    assert h.grad == 5.0


def test_steps_leave_exactly_the_grads_backward_leaves():
    def build():
        L, leaves, *_ = course()
        return L, [*topological_order(L)]

    L1, nodes1 = build()
    L1.backward()
    L2, nodes2 = build()
    steps = list(backward_steps(L2))
    assert [n.grad for n in nodes1] == [n.grad for n in nodes2]  # exact, not approximate
    assert [s.index for s in steps] == list(range(len(steps)))
    assert len(steps) == sum(1 for n in nodes2 if n.parents)


def test_each_step_is_applied_when_yielded_and_reads_like_the_course():
    L, v, *_ = course()
    steps = backward_steps(L)
    first = next(steps)
    assert first.node is L and first.upstream == 1.0
    (edge,) = first.edges
    diff = edge.parent
    assert diff.grad == edge.after == edge.contribution == pytest.approx(2 * diff.data)
    assert edge.before == 0.0 and edge.local == pytest.approx(2 * diff.data)
    assert first.rule == "d(sub1**2)/dsub1 = 2*sub1^1"  # the unnamed y - h is sub1
    rest = list(steps)
    mul = rest[-1]
    assert mul.node.op == "*" and mul.rule == "d(w*x)/dw = x; d(w*x)/dx = w"
    w_edge, x_edge = mul.edges
    assert w_edge.parent is v["w"] and w_edge.local == 1.5 and x_edge.local == 0.8
    assert w_edge.contribution == mul.upstream * 1.5


def test_steps_for_a_parent_used_twice_chain_before_and_after():
    x = Value(3.0)
    (step,) = backward_steps(x * x)
    first, second = step.edges
    assert (first.before, first.after) == (0.0, 3.0)
    assert (second.before, second.after) == (3.0, 6.0)
    assert x.grad == 6.0


def test_step_table_is_the_same_on_every_run():
    def table():
        L, *_ = course()
        return [(s.node.op, s.upstream, tuple((e.parent.name, e.local) for e in s.edges)) for s in backward_steps(L)]

    assert table() == table() == table()


def test_paths_products_sum_to_the_gradient():
    a, b = Value(0.3, name="a"), Value(-1.2, name="b")
    c = a * b
    d = c.tanh() + c.exp()
    out = d * a + b.sigmoid()
    out.backward()
    found = paths(out, a)
    assert len(found) == autograd.count_paths(out, a) == 3
    for p in found:
        assert p.nodes[0] is out and p.nodes[-1] is a
        assert len(p.locals) == len(p.nodes) - 1
        assert p.product == pytest.approx(math.prod(p.locals), rel=1e-15)
    assert math.fsum(p.product for p in found) == pytest.approx(a.grad, rel=1e-13)
    for p in paths(out, b):
        assert p.nodes[-1] is b
    assert math.fsum(p.product for p in paths(out, b)) == pytest.approx(b.grad, rel=1e-13)


def test_x_times_x_has_two_paths():
    x = Value(3.0)
    y = x * x
    y.backward()
    found = paths(y, x)
    assert [p.product for p in found] == [3.0, 3.0] and x.grad == 6.0
    assert paths(y, Value(1.0)) == []


def test_too_many_paths_says_how_many_without_listing_them():
    x = Value(0.5)
    node = x
    for _ in range(40):  # each level doubles the paths: 2**40 of them
        node = node + node
    with pytest.raises(TooManyPaths) as info:
        paths(node, x, limit=1000)
    assert info.value.count == 2**40
    assert "1,099,511,627,776" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_million_node_chain_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y.tanh()
    y.backward()
    # d/dx of tanh applied n times: product of (1 - tanh^2) along the chain; a float loop is the oracle
    expected, t = 1.0, 0.5
    for _ in range(1_000_000):
        t = math.tanh(t)
        expected *= 1.0 - t * t
    assert x.grad == pytest.approx(expected, rel=1e-9)
    del y
    gc.collect()  # freeing a million-deep chain must not overflow the C stack
