"""Gradient checking: central differences, the course's thresholds and the report."""

from __future__ import annotations

import math

import pytest
from chainrule.autograd import Value, gradcheck, numerical_grad
from chainrule.autograd.gradcheck import relative_error, verdict

from chainrule import autograd


def test_numerical_grad_matches_closed_forms_and_restores_params():
    x, y = Value(0.4, name="x"), Value(-1.3, name="y")
    fn = lambda: (x * y).exp() + y.sin()  # noqa: E731
    gx, gy = numerical_grad(fn, [x, y])
    assert gx == pytest.approx(-1.3 * math.exp(0.4 * -1.3), rel=1e-8)
    assert gy == pytest.approx(0.4 * math.exp(0.4 * -1.3) + math.cos(-1.3), rel=1e-8)
    assert (x.data, y.data) == (0.4, -1.3)


def test_params_are_restored_even_when_fn_fails():
    x = Value(1e-6)
    with pytest.raises(ValueError, match="log"):
        numerical_grad(lambda: x.log(), [x], eps=1e-5)
    assert x.data == 1e-6


def test_thresholds_follow_the_course():
    assert verdict(9.9e-6) == "correct"
    assert verdict(1e-5) == "check" and verdict(1e-3) == "check"
    assert verdict(1.01e-3) == "bug" and verdict(math.nan) == "bug"
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 2.1)


def test_a_correct_graph_is_all_correct():
    w, b = Value(0.5, name="w"), Value(-0.2, name="b")
    report = gradcheck(lambda: (w * 1.7 + b).tanh() ** 2, [w, b])
    assert report.ok and [r.name for r in report.rows] == ["w", "b"]
    assert all(r.verdict == "correct" for r in report.rows)
    text = str(report)
    assert "w" in text and "correct" in text and "all gradients correct" in text
    assert w.grad == report.rows[0].analytic  # the analytic grads are left in place


def test_a_broken_rule_is_caught_as_a_bug():
    # tanh with the rule a student might write first: 1 - tanh instead of 1 - tanh^2.
    x = Value(1.5, name="x")
    report = gradcheck(lambda: _tanh_with_wrong_rule(x), [x])
    assert not report.ok and report.rows[0].verdict == "bug"
    assert report.rows[0].numeric == pytest.approx(1 - math.tanh(1.5) ** 2, rel=1e-8)
    assert "not correct" in str(report)


def _tanh_with_wrong_rule(v):
    out = v.tanh()
    out._rule = lambda node: (1.0 - node.data,)  # should be 1 - tanh^2
    return out


def test_nan_rows_are_bugs():
    x = Value(1.0, name="x")
    report = gradcheck(lambda: x * math.nan, [x])
    assert report.rows[0].verdict == "bug" and not report.ok


def test_parse_rebuilds_on_the_same_leaves_for_gradcheck():
    source = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
    e = autograd.parse(source, w=0.8, x=1.5, b=0.1, y=1.0)
    report = gradcheck(lambda: autograd.parse(source, **e.variables).output, list(e.variables.values()))
    assert report.ok and len(report.rows) == 4
