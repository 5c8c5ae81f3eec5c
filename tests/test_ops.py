"""Every op's forward value and local derivatives against independent oracles.

The table of cases below gives each op a domain to draw from and its math
written in mpmath. Hypothesis draws points; each op's ``local_grads`` must agree
with mpmath's own numerical differentiation at 50 digits and with a central
difference of our float forward. A test checks the table covers every op, so a
new op without a case fails here.
"""

from __future__ import annotations

import math

import mpmath
import pytest
from chainrule.autograd import OPS, Value
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import autograd

mpmath.mp.dps = 50


def floats(lo: float, hi: float):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float, gap: float = 1e-3):
    return floats(lo, hi).filter(lambda v: abs(v) > gap)


# symbol -> (how to build the node from leaves, mpmath function of the same inputs, strategies per input)
CASES = {
    "+": (lambda a, b: a + b, lambda a, b: a + b, (floats(-1e3, 1e3), floats(-1e3, 1e3))),
    "-": (lambda a, b: a - b, lambda a, b: a - b, (floats(-1e3, 1e3), floats(-1e3, 1e3))),
    "*": (lambda a, b: a * b, lambda a, b: a * b, (floats(-1e3, 1e3), floats(-1e3, 1e3))),
    "/": (lambda a, b: a / b, lambda a, b: a / b, (floats(-1e3, 1e3), away_from_zero(-1e3, 1e3, 1e-2))),
    "**": (lambda a, b: a**b, lambda a, b: a**b, (floats(0.05, 20.0), floats(-3.0, 3.0))),
    "neg": (lambda a: -a, lambda a: -a, (floats(-1e3, 1e3),)),
    "exp": (lambda a: a.exp(), mpmath.exp, (floats(-50.0, 50.0),)),
    "log": (lambda a: a.log(), mpmath.log, (floats(1e-3, 1e6),)),
    "tanh": (lambda a: a.tanh(), mpmath.tanh, (floats(-20.0, 20.0),)),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + mpmath.exp(-a)), (floats(-30.0, 30.0),)),
    "relu": (lambda a: a.relu(), lambda a: mpmath.mpf(a) if a > 0 else mpmath.mpf(0), (away_from_zero(-1e3, 1e3),)),
    "sin": (lambda a: a.sin(), mpmath.sin, (floats(-100.0, 100.0),)),
    "cos": (lambda a: a.cos(), mpmath.cos, (floats(-100.0, 100.0),)),
    "sqrt": (lambda a: a.sqrt(), mpmath.sqrt, (floats(1e-3, 1e6),)),
    "abs": (lambda a: abs(a), abs, (away_from_zero(-1e3, 1e3),)),
    "sum": (lambda *xs: autograd.sum(xs), lambda *xs: mpmath.fsum(xs), (floats(-1e3, 1e3),) * 4),
}


def test_every_op_in_the_table_has_a_case():
    engine_ops = {symbol for symbol in OPS if symbol != "cross_entropy"}  # nn's fused loss is tested in nn
    assert set(CASES) == engine_ops


def mp_partial(f, point: list[float], i: int):
    """d f / d x_i at ``point`` by mpmath's numerical differentiation at 50 digits."""

    def along(t):
        args = [mpmath.mpf(v) for v in point]
        args[i] = t
        return f(*args)

    return mpmath.diff(along, mpmath.mpf(point[i]))


def close(ours: float, exact, rel: float = 1e-12, floor: float = 1e-300) -> bool:
    exact = float(exact)
    return abs(ours - exact) <= rel * max(abs(exact), floor) + 1e-300


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_forward_and_local_grads_match_mpmath(symbol):
    build, exact, domains = CASES[symbol]

    @settings(max_examples=60)
    @given(st.tuples(*domains))
    def check(point):
        leaves = [Value(v) for v in point]
        node = build(*leaves)
        assert node.op == symbol
        assert node.parents == tuple(leaves)
        assert close(node.data, exact(*point), rel=1e-14)
        local = node.local_grads()
        assert len(local) == len(leaves)
        for i, d in enumerate(local):
            expected = mp_partial(exact, list(point), i)
            assert abs(d - float(expected)) <= 1e-10 * max(1.0, abs(float(expected))), (symbol, point, i)

    check()


@pytest.mark.parametrize("symbol", sorted(CASES))
def test_local_grads_match_central_differences(symbol):
    build, _, domains = CASES[symbol]

    @settings(max_examples=40)
    @given(st.tuples(*domains))
    def check(point):
        leaves = [Value(v) for v in point]
        local = build(*leaves).local_grads()
        for i in range(len(point)):
            h = 1e-6 * max(1.0, abs(point[i]))
            up = list(point)
            down = list(point)
            up[i] += h
            down[i] -= h
            f_up = build(*[Value(v) for v in up]).data
            f_down = build(*[Value(v) for v in down]).data
            numeric = (f_up - f_down) / (up[i] - down[i])
            scale = max(1.0, abs(numeric), abs(build(*leaves).data))
            assert abs(local[i] - numeric) <= 1e-5 * scale, (symbol, point, i, local[i], numeric)

    check()


def test_number_exponent_is_part_of_the_op():
    x = Value(3.0)
    y = x**2
    assert y.op == "**" and y.parents == (x,)
    assert y.local_grads() == (6.0,)
    assert autograd.rule_text(y) == "d(a**2)/da = 2*a^1"
    assert autograd.power_exponent(y) == 2.0
    z = x**-0.5
    assert z.local_grads()[0] == pytest.approx(-0.5 * 3.0**-1.5, rel=1e-15)
    assert (x**0).local_grads() == (0.0,)


def test_rule_text_for_every_op_names_its_inputs():
    for symbol, op in OPS.items():
        assert op.text, symbol
        for line in op.text:
            assert line.startswith("d") and "=" in line, line
    a, b = Value(2.0), Value(5.0)
    assert autograd.rule_text(a * b) == "d(a*b)/da = b; d(a*b)/db = a"
    assert autograd.rule_text(a.tanh()) == "d tanh(a)/da = 1 - tanh(a)^2"
    assert autograd.rule_text(a) == ""


def test_register_refuses_a_second_row_for_a_symbol():
    with pytest.raises(ValueError, match="already registered"):
        autograd.register(OPS["+"])


def test_sigmoid_is_stable_far_out():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-745.0).sigmoid().data == pytest.approx(math.exp(-745.0), rel=1e-6)
    assert Value(-1000.0).sigmoid().local_grads() == (0.0,)


def test_kinks_use_the_subgradient_pytorch_uses():
    assert Value(0.0).relu().local_grads() == (0.0,)
    assert abs(Value(0.0)).local_grads() == (0.0,)
    assert Value(0.0).sqrt().local_grads() == (math.inf,)
