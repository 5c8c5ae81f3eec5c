"""NaN, infinities and the ends of the float range, op by op, and in gradients.

Every op of the engine meets a grid of awkward inputs (NaN, +-inf, +-0,
the largest and the smallest floats, +-1000 and a few ordinary numbers). The
oracle is IEEE 754 arithmetic as numpy computes it in float64: its result,
and the exceptions it signals (invalid, divide-by-zero, overflow; underflow
to a subnormal or 0 is a result, not an error). The rules checked:

* where IEEE signals nothing, the engine gives IEEE's result: NaN in, NaN out
  (or IEEE's number, as for nan ** 0 = 1), exp(-inf) = 0, tanh(inf) = 1 ...;
* on finite inputs, where IEEE signals invalid (log(-1), sqrt(-1), a negative
  base to a fractional power) or divide-by-zero (log(0), 0 ** -1), the engine
  raises its clear error (ValueError or ZeroDivisionError) naming the op and
  the value, as the contract says;
* on infinite inputs that IEEE calls invalid (inf - inf, 0 * inf, sin(inf)),
  the engine gives NaN or raises that same clear error;
* division by zero is always ZeroDivisionError, whatever the numerator (the
  contract's rule, stricter than IEEE's inf / 0 = inf);
* overflow from finite inputs is an OverflowError naming the op (exp(1000),
  10.0 ** 400).

Gradients through NaN and infinity follow the same arithmetic, worked by hand
below. ``gradcheck`` calls a NaN row a bug. sigmoid, tanh and exp stay finite
at +-1000 and agree with mpmath.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from chainrule.autograd import Value, gradcheck
from op_cases import CASES, engine_keys

from chainrule import autograd

NAN, INF = math.nan, math.inf
SPECIAL = [NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.5, 1e308, -1e308, 5e-324, 1000.0, -1000.0]


def _grid_entry(case):
    """(the op through the public API, its numpy float64 reference, how many grid positions it takes).

    The grid runs over an op's inputs, and over its params too where the case says so (the k of a ** k);
    other params keep the case's values.
    """
    n = case.arity + (len(case.params) if case.grid_params else 0)
    if case.grid_params:
        return (lambda *vs: case.build(*vs[:case.arity], *[v.data for v in vs[case.arity:]]), case.ieee, n)
    # without params the reference is numpy's own function, so ieee() can tell np.power by identity
    reference = case.ieee if not case.params else (lambda *xs: case.ieee(*xs, *case.params))
    return (lambda *vs: case.build(*vs, *case.params), reference, n)


#: row key -> the grid's view of it, for every op of the engine (nary ops with two terms)
GRID = {key: _grid_entry(case) for key, case in CASES.items()}
GRID["sum"] = (lambda a, b: autograd.sum([a, b]), np.add, 2)


#: Ops whose overflow from finite inputs is silent: IEEE's inf, not the contract's OverflowError.
#: An engine gap, reported: see test_overflow_of_arithmetic_is_an_overflow_error.
SILENT_OVERFLOW = {"+", "-", "*", "/", "sum"}


def ieee(f, *xs: float) -> tuple[float, set[str]]:
    """IEEE 754's float64 result of f(*xs), and the exceptions it signals (underflow is not one).

    Where C99 Annex F lets a conforming libm raise a flag or not ("may raise"), the flag is
    fixed here, so the expectation does not depend on the platform: pow(+-0, -inf) is +inf
    and *may* raise divide-by-zero; the engine calls it a division by zero (as it does
    0 ** -1), so the flag is set.
    """
    args = [np.float64(x) for x in xs]
    with np.errstate(all="ignore"):
        result = float(f(*args))
    flags = set()
    for flag in ("invalid", "divide", "over"):
        with np.errstate(all="ignore", **{flag: "raise"}):
            try:
                f(*args)
            except FloatingPointError:
                flags.add(flag)
    if not all(math.isfinite(x) for x in xs):
        flags.discard("over")  # x ** inf = inf is exact, not an overflow (numpy flags it anyway)
    if f is np.power and len(xs) == 2 and xs[0] == 0.0 and xs[1] == -math.inf:
        flags.add("divide")  # C99's "may raise", decided one way for every platform
    return result, flags


def same(ours: float, theirs: float) -> bool:
    """Equal as IEEE sees it: NaN matches NaN, infinities and zeros exactly, else within 2 ulps."""
    if math.isnan(theirs):
        return math.isnan(ours)
    if math.isinf(theirs) or theirs == 0.0:
        return ours == theirs
    return abs(ours - theirs) <= 2 * math.ulp(theirs)


def run(op, *xs: float):
    """The engine's result for op(*xs) on new leaves: a float, or the exception it raised."""
    try:
        return op(*[Value(x) for x in xs]).data
    except (ValueError, ArithmeticError) as e:
        return e


def names_op_and_value(error: Exception, key: str, xs) -> bool:
    """The message says which op ("division" for /) and shows at least one input as %.6g prints it."""
    message = str(error)
    op_named = ("division" if key == "/" else autograd.OPS[key].symbol) in message
    return op_named and any(f"{x:.6g}" in message for x in xs)


def cases():
    """Every (key, op, numpy op, inputs) of the grid: each op over SPECIAL to the power of its positions."""
    for key, (op, ref, n) in GRID.items():
        for xs in itertools.product(SPECIAL, repeat=n):
            yield key, op, ref, xs


def grid_size() -> int:
    return sum(len(SPECIAL) ** n for _, _, n in GRID.values())


def describe(symbol, xs) -> str:
    return f"{symbol}({', '.join(repr(x) for x in xs)})"


def test_the_grid_covers_every_op_of_the_engine_but_nns():
    assert set(GRID) == engine_keys()
    # ieee() fixes C99's "may raise" for pow(+-0, -inf) by knowing np.power: both power rows must be it
    assert [key for key, (_, ref, _) in GRID.items() if ref is np.power] == ["**", "**k"]


def test_where_ieee_signals_nothing_the_engine_gives_ieees_result():
    wrong, checked = [], 0
    for symbol, op, ref, xs in cases():
        theirs, flags = ieee(ref, *xs)
        if flags or (symbol == "/" and xs[1] == 0.0) or is_pow_of_minus_infinity(symbol, xs):
            continue
        ours = run(op, *xs)
        if isinstance(ours, Exception) or not same(ours, theirs):
            wrong.append(f"{describe(symbol, xs)}: ours {ours!r}, IEEE {theirs!r}")
        checked += 1
    assert wrong == []
    assert checked >= 0.6 * grid_size()


def test_nan_in_is_nan_out_and_never_an_error():
    checked = 0
    for symbol, op, ref, xs in cases():
        if any(math.isnan(x) for x in xs) and not (symbol == "/" and xs[1] == 0.0):
            ours = run(op, *xs)
            theirs, _ = ieee(ref, *xs)
            assert not isinstance(ours, Exception), describe(symbol, xs)
            assert same(ours, theirs), describe(symbol, xs)  # NaN, or IEEE's 1.0 for nan ** 0 and 1 ** nan
            checked += 1
    # each one-position op once; 29 pairs with a NaN per two-position op; but nan / 0 and nan / -0
    with_nan = {n: len(SPECIAL) ** n - (len(SPECIAL) - 1) ** n for _, _, n in GRID.values()}
    assert checked == sum(with_nan[n] for _, _, n in GRID.values()) - 2


def test_domain_errors_on_finite_inputs_are_clear_errors():
    seen = 0
    for symbol, op, ref, xs in cases():
        _, flags = ieee(ref, *xs)
        if not all(math.isfinite(x) for x in xs) or not flags & {"invalid", "divide"}:
            continue
        ours = run(op, *xs)
        assert isinstance(ours, (ValueError, ZeroDivisionError)), (describe(symbol, xs), ours)
        assert names_op_and_value(ours, symbol, xs), (describe(symbol, xs), str(ours))
        seen += 1
    assert seen >= 40  # log, sqrt of negatives and 0; 0 ** negative; negative ** fraction; x / 0


def test_invalid_operations_on_infinities_give_nan_or_a_clear_error():
    outcomes = {"nan": 0, "error": 0}
    for symbol, op, ref, xs in cases():
        _, flags = ieee(ref, *xs)
        if all(math.isfinite(x) for x in xs) or "invalid" not in flags:
            continue
        if symbol.startswith("**") and xs[0] == -INF:
            continue  # numpy flags (-inf) ** 0.5, but C99 Annex F defines it (+inf): checked below
        ours = run(op, *xs)
        if isinstance(ours, Exception):
            assert isinstance(ours, ValueError) and names_op_and_value(ours, symbol, xs), describe(symbol, xs)
            outcomes["error"] += 1  # sin(inf), log(-inf), sqrt(-inf), (-inf) ** 0.5 ...
        else:
            assert math.isnan(ours), describe(symbol, xs)
            outcomes["nan"] += 1  # inf - inf, 0 * inf, inf / inf
    assert outcomes["nan"] > 0 and outcomes["error"] > 0


def test_division_by_zero_is_always_a_zero_division_error():
    for a in SPECIAL:
        for zero in (0.0, -0.0):
            ours = run(lambda p, q: p / q, a, zero)
            assert isinstance(ours, ZeroDivisionError) and "division by zero" in str(ours), a


def test_overflow_of_exp_and_powers_is_an_overflow_error():
    for symbol in ("exp", "**", "**k"):
        op, ref, arity = GRID[symbol]
        hits = 0
        for xs in itertools.product(SPECIAL, repeat=arity):
            _, flags = ieee(ref, *xs)
            if "over" in flags:
                ours = run(op, *xs)
                assert isinstance(ours, OverflowError), (describe(symbol, xs), ours)
                assert "overflow" in str(ours), str(ours)
                assert names_op_and_value(ours, symbol, xs), str(ours)
                hits += 1
        assert hits > 0, symbol


@pytest.mark.parametrize("symbol", sorted(SILENT_OVERFLOW))
def test_overflow_of_arithmetic_is_an_overflow_error(symbol):
    op = GRID[symbol][0]
    ours = run(op, 1e308, 1e308) if symbol != "-" else run(op, 1e308, -1e308)
    if symbol == "/":
        ours = run(op, 1e308, 0.5)
    assert isinstance(ours, OverflowError)


def is_pow_of_minus_infinity(symbol, xs) -> bool:
    fractional = math.isfinite(xs[-1]) and not float(xs[-1]).is_integer()
    return symbol.startswith("**") and xs[0] == -INF and fractional


@pytest.mark.parametrize("k", [-2.5, 0.5, 5e-324])
def test_minus_infinity_to_a_fractional_power_follows_ieee(k):
    # C99 Annex F (IEEE pow): pow(-inf, y) is +0 for y < 0 and +inf for y > 0 unless y is an odd integer.
    expected = 0.0 if k < 0 else INF
    assert math.pow(-INF, k) == expected
    assert run(lambda a, b: a ** b.data, -INF, k) == expected


# --- gradients through NaN and infinity, by hand ---------------------------------------------------


@pytest.mark.parametrize(
    "x, build, value, grad",
    [
        # (leaf value, the function, its value, d/dx), each worked out with IEEE arithmetic by hand
        (NAN, lambda x: x * 2.0, NAN, 2.0),  # d(a*b)/da = b = 2: the NaN never enters the gradient
        (NAN, lambda x: x * x, NAN, NAN),  # x + x with x = NaN
        (NAN, lambda x: x.exp(), NAN, NAN),
        (NAN, lambda x: x.relu(), NAN, 0.0),  # relu'(a) is 1 only where a > 0, and NaN > 0 is false
        (INF, lambda x: x.tanh(), 1.0, 0.0),  # 1 - tanh^2 = 1 - 1
        (INF, lambda x: x.sigmoid(), 1.0, 0.0),  # s (1 - s) = 1 * 0
        (-INF, lambda x: x.sigmoid(), 0.0, 0.0),
        (INF, lambda x: (-x).exp(), 0.0, 0.0),  # exp(-inf) * -1 = -0.0
        (INF, lambda x: x - x, NAN, 0.0),  # inf - inf is NaN, but 1 + (-1) = 0
        (INF, lambda x: x * 0.0, NAN, 0.0),  # d/dx = the other factor, 0
        (INF, lambda x: 1.0 / x, 0.0, 0.0),  # -1 / inf^2 = -0.0
        (INF, lambda x: x.sqrt(), INF, 0.0),  # 0.5 / sqrt(inf)
        (INF, lambda x: x.log(), INF, 0.0),  # 1 / inf
        (INF, lambda x: x.relu(), INF, 1.0),
        (-INF, lambda x: abs(x), INF, -1.0),
        (INF, lambda x: x**2, INF, INF),  # 2 * inf
        (-INF, lambda x: x**3, -INF, INF),  # 3 * inf^2
        (1e200, lambda x: x * 1e-200, 1.0, 1e-200),  # huge times tiny: fine both ways
    ],
)
def test_gradients_through_nan_and_infinity(x, build, value, grad):
    leaf = Value(x)
    out = build(leaf)
    out.backward()
    assert same(out.data, value) and same(leaf.grad, grad), (out.data, leaf.grad)


def test_gradcheck_marks_a_nan_row_as_a_bug():
    x = Value(NAN, name="x")
    report = gradcheck(lambda: x * x, [x])
    (row,) = report.rows
    assert math.isnan(row.analytic) and math.isnan(row.numeric) and math.isnan(row.rel_error)
    assert row.verdict == "bug" and not report.ok and "bug" in str(report) and "nan" in str(report)


def test_gradcheck_marks_a_nan_gradient_beside_a_finite_estimate_as_a_bug():
    # |x| ** 0.5 at x = 0: backprop multiplies the infinite slope of the root by abs's 0 and gets NaN;
    # the central difference is (sqrt(eps) - sqrt(eps)) / (2 eps) = 0. Not differentiable, so a bug row.
    x = Value(0.0, name="x")
    y = Value(2.0, name="y")
    report = gradcheck(lambda: abs(x) ** 0.5 + y * y, [x, y])
    by_name = {row.name: row for row in report.rows}
    assert math.isnan(by_name["x"].analytic) and by_name["x"].numeric == 0.0 and by_name["x"].verdict == "bug"
    assert by_name["y"].analytic == 4.0 and by_name["y"].verdict == "correct"  # the other row is unharmed
    assert not report.ok


def test_gradcheck_marks_an_infinite_gradient_as_a_bug():
    x = Value(1.0, name="x")
    report = gradcheck(lambda: x * INF, [x])
    (row,) = report.rows
    assert row.analytic == INF and math.isnan(row.numeric) and row.verdict == "bug"


# --- the saturating functions at +-1000 ------------------------------------------------------------


@pytest.mark.parametrize("x", [-1000.0, -745.5, -745.0, -709.0, -30.0, 30.0, 709.0, 1000.0])
def test_sigmoid_stays_finite_and_matches_mpmath(x):
    leaf = Value(x)
    out = leaf.sigmoid()
    out.backward()
    with mpmath.workdps(50):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(x)))
        exact_grad = s * (1 - s)
        assert math.isfinite(out.data) and math.isfinite(leaf.grad)
        assert abs(out.data - s) <= max(2 * math.ulp(float(s)), 5e-324)
        if x < 0:  # s is small and exact to the last bits, so is s (1 - s); below 1e-308 floats thin out
            assert abs(leaf.grad - exact_grad) <= max(1e-14 * exact_grad, 1e-323)
        else:
            # s (1 - s) is computed from the rounded s, so 1 - s carries s's rounding, half an ulp of 1:
            # an absolute error under 1.2e-16 (at x = 1000, s rounds to 1 and the gradient to 0).
            assert abs(leaf.grad - exact_grad) <= math.ulp(1.0) / 2


@pytest.mark.parametrize("x", [-1000.0, 1000.0])
def test_tanh_and_exp_at_a_thousand(x):
    t = Value(x)
    out = t.tanh()
    out.backward()
    assert out.data == math.copysign(1.0, x) and t.grad == 0.0
    e = Value(-abs(x))
    out = e.exp()
    out.backward()
    assert out.data == 0.0 and e.grad == 0.0  # e^-1000 underflows to 0, as in IEEE
    with pytest.raises(OverflowError, match="exp"):
        Value(abs(x)).exp()
