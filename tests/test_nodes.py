"""The three layouts of a Value (leaf, one-or-many-input node, two-input node) behave as one type."""

from __future__ import annotations

import copy
import math
import pickle
import re

import pytest
from chainrule.autograd import Value

from chainrule import autograd


def _graph():
    """f = sum(a*b, tanh(a), b/c) and the closed-form gradient at a=0.5, b=-1.5, c=2."""
    a, b, c = Value(0.5, name="a"), Value(-1.5, name="b"), Value(2.0, name="c")
    f = autograd.sum([a * b, a.tanh(), b / c])
    t = math.tanh(0.5)
    expected = {"a": -1.5 + (1 - t * t), "b": 0.5 + 1 / 2.0, "c": 1.5 / 4.0}
    return f, (a, b, c), expected


def test_leaves_and_nodes_answer_the_same_questions():
    a, b = Value(2.0), Value(3.0)
    leaf, pair, single, many = a, a * b, a.tanh(), autograd.sum([a, b, a])
    assert leaf.is_leaf and leaf.op == "" and leaf.parents == () and leaf.local_grads() == ()
    assert not pair.is_leaf and pair.parents == (a, b) and (pair.left, pair.right) == (a, b)
    assert pair.local_grads() == (3.0, 2.0)
    assert not single.is_leaf and single.parents == (a,)
    assert not many.is_leaf and many.parents == (a, b, a) and many.local_grads() == (1.0, 1.0, 1.0)
    assert all(isinstance(v, Value) for v in (leaf, pair, single, many))
    # Every two-input node holds its inputs the same way, whichever function made it.
    for two in (autograd.sum([a, b]), autograd.apply(autograd.OPS["*"], [a, b])):
        assert (two.left, two.right) == (a, b) and two.parents == (a, b)


def test_messages_name_the_type_a_user_knows():
    for made in (Value(1.0) * 2, Value(1.0).exp(), autograd.sum([Value(1.0)] * 3)):
        with pytest.raises(TypeError, match="got Value"):
            Value(made)


def test_a_leaf_has_no_op_fields_to_overwrite():
    leaf, pair = Value(1.0), Value(1.0) * Value(2.0)
    with pytest.raises(AttributeError):
        leaf.op = "*"
    with pytest.raises(AttributeError):
        leaf.parents = (pair,)
    with pytest.raises(AttributeError):
        pair.parents = ()  # a two-input node's parents are its left and right
    leaf.name = "x"  # a name is the one label a user gives
    assert leaf.name == "x"


@pytest.mark.parametrize("kind", ["pair", "single", "many"])
def test_a_rule_with_the_wrong_count_is_named_in_every_pass(kind):
    a, b = Value(2.0), Value(3.0)
    node = {"pair": lambda: a * b, "single": lambda: a.exp(), "many": lambda: autograd.sum([a, b, a])}[kind]()
    node._rule = lambda out: (1.0, 2.0, 3.0, 4.0)  # four local derivatives: no node here has four parents
    message = f"the rule of op {node.op!r} gave 4 local derivatives for {len(node.parents)} parents"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        node.backward()
    with pytest.raises(RuntimeError, match="gave 4 local derivatives"):
        list(autograd.backward_steps(node))
    with pytest.raises(RuntimeError, match="gave 4 local derivatives"):
        node.local_grads()


def test_a_square_sends_along_both_edges():
    x = Value(-1.25)
    y = x * x  # left and right are the same leaf
    y.backward()
    assert x.grad == 2 * -1.25


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_copied_graph_differentiates_like_the_original(how):
    f, _, expected = _graph()
    g = pickle.loads(pickle.dumps(f)) if how == "pickle" else copy.deepcopy(f)
    g.backward()
    leaves = {n.name: n for n in autograd.topological_order(g) if n.is_leaf}
    assert set(leaves) == {"a", "b", "c"}
    for name, grad in expected.items():
        assert leaves[name].grad == pytest.approx(grad, rel=1e-15)
    assert [n.op for n in autograd.topological_order(g)] == [n.op for n in autograd.topological_order(f)]


def test_backward_agrees_with_the_closed_form_and_with_central_differences():
    f, leaves, expected = _graph()
    f.backward()
    for leaf in leaves:
        assert leaf.grad == pytest.approx(expected[leaf.name], rel=1e-15)
    numeric = autograd.numerical_grad(lambda: autograd.sum([leaves[0] * leaves[1], leaves[0].tanh(),
                                                             leaves[1] / leaves[2]]), list(leaves))
    assert numeric == pytest.approx([expected[v.name] for v in leaves], rel=1e-7)
