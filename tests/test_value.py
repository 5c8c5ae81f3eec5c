"""Value: construction, operators, comparisons, micrograd names, and clear errors."""

from __future__ import annotations

import fractions
import math

import pytest
from chainrule.autograd import Value

from chainrule import autograd


@pytest.mark.parametrize("given, expected", [(3, 3.0), (2.5, 2.5), (True, 1.0), (fractions.Fraction(1, 4), 0.25)])
def test_real_numbers_become_floats(given, expected):
    v = Value(given)
    assert type(v.data) is float and v.data == expected
    assert v.grad == 0.0 and v.op == "" and v.parents == () and v.name is None


@pytest.mark.parametrize("bad", ["3", b"3", None, 1j, [1.0], Value(1.0)])
def test_anything_else_is_a_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_name_must_be_text():
    assert Value(1.0, name="w").name == "w"
    with pytest.raises(TypeError, match="name"):
        Value(1.0, name=3)


def test_operators_with_numbers_on_either_side():
    x = Value(4.0)
    cases = {
        x + 2: (6.0, "+"), 2 + x: (6.0, "+"), x - 1: (3.0, "-"), 10 - x: (6.0, "-"),
        x * 3: (12.0, "*"), 3 * x: (12.0, "*"), x / 8: (0.5, "/"), 2 / x: (0.5, "/"),
        x**0.5: (2.0, "**"), 2**x: (16.0, "**"), -x: (-4.0, "neg"), abs(-x): (4.0, "abs"),
    }
    for node, (data, op) in cases.items():
        assert node.data == data and node.op == op
    # the Value stays on its own side: 10 - x has parents (10, x)
    assert (10 - x).parents[1] is x and (10 - x).parents[0].data == 10.0
    assert float(x) == 4.0


def test_unsupported_operands_are_a_type_error():
    with pytest.raises(TypeError):
        Value(1.0) + "a"
    with pytest.raises(TypeError):
        [1] * Value(2.0)


def test_methods_and_module_functions_agree():
    for name in ["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt"]:
        method = getattr(Value(0.7), name)()
        function = getattr(autograd, name)(Value(0.7))
        from_number = getattr(autograd, name)(0.7)
        assert method.data == function.data == from_number.data
        assert method.op == function.op == name


def test_comparisons_read_data_and_equality_is_identity():
    a, b = Value(1.0), Value(1.0)
    assert a < 2 and a <= b and b >= a and Value(3.0) > a
    assert a != b and a == a
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_micrograd_names():
    x = Value(2.0)
    y = x * x
    assert y._op == "*" and y._prev == {x}
    z = x + Value(1.0)
    assert z._prev == set(z.parents)


def test_sum_is_one_node_with_a_unit_local_derivative_per_term():
    xs = [Value(float(i)) for i in range(5)]
    s = autograd.sum(xs + [10])
    assert s.op == "sum" and len(s.parents) == 6 and s.data == 20.0
    assert s.local_grads() == (1.0,) * 6
    assert autograd.sum([]).data == 0.0


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Value(-1.0).log(), ValueError, ["log", "-1"]),
        (lambda: Value(0.0).log(), ValueError, ["log", "0"]),
        (lambda: Value(-1.0).sqrt(), ValueError, ["sqrt", "-1"]),
        (lambda: Value(3.0) / 0, ZeroDivisionError, ["3", "/ 0"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["0", "-1"]),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, ["-8", "whole-number"]),
        (lambda: Value(1000.0).exp(), OverflowError, ["exp", "1000"]),
        (lambda: Value(10.0) ** 400, OverflowError, ["10", "400"]),
        (lambda: Value(math.inf).sin(), ValueError, ["sin", "inf"]),
    ],
)
def test_domain_errors_name_the_op_and_the_value(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_repr_shows_data_grad_and_name():
    text = repr(Value(1.5, name="w"))
    assert "1.5" in text and "w" in text and "grad" in text


def test_apply_makes_a_node_of_a_registered_op():
    a, b = Value(2.0), Value(5.0)
    node = autograd.apply(autograd.OPS["*"], [a, b])
    assert node.data == 10.0 and node.op == "*" and node.parents == (a, b)
    assert node.local_grads() == (5.0, 2.0)
    custom = autograd.apply(autograd.OPS["tanh"], [a], data=0.5, rule=lambda out: (3.0,))
    assert custom.data == 0.5 and custom.local_grads() == (3.0,)
    with pytest.raises(ValueError, match="takes 2 inputs"):
        autograd.apply(autograd.OPS["*"], [a])
    with pytest.raises(TypeError, match="must be Values"):
        autograd.apply(autograd.OPS["+"], [a, 1.0])
    with pytest.raises(ValueError, match="register"):
        autograd.apply(autograd.Op("cube", lambda x: x**3, lambda out: (0.0,), ("d a^3/da = 3a^2",), 1), [a])


def test_comparisons_read_numbers_and_refuse_the_rest():
    x = Value(2.0)
    assert x > 1 and x >= 2.0 and x < Value(3.0) and x <= fractions.Fraction(2)
    with pytest.raises(TypeError, match="cannot compare a Value with str"):
        x < "3"  # noqa: B015 - the comparison itself is the test
