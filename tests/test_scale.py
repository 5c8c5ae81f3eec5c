"""Big graphs at Python's default recursion limit: a million-node chain, a million-term sum, 2^200 paths.

Each graph is checked against its closed form (mpmath at 50 digits where the
float result is not exact). Nothing here is timed: how long these take and how
much memory they use is the benchmark's business. What is tested is that they
work at all in one process without raising the recursion limit (every
traversal in the engine is a loop), that the answers are right, and that
``paths`` refuses the ladder with the exact count instead of trying.
"""

from __future__ import annotations

import gc
import math
import sys

import mpmath
import pytest
from chainrule.autograd import TooManyPaths, Value, backward_steps, count_paths, paths, topological_order

from chainrule import autograd

MILLION = 1_000_000
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def default_recursion_limit():
    # The point of these tests: nothing here may need more than Python's default stack of frames.
    assert sys.getrecursionlimit() <= 1000
    yield
    gc.collect()


def test_a_million_node_chain():
    # v = x * c * c * ... * c, one multiplication node after another: the chain is a million deep,
    # and c feeds every link (a million children, a million contributions to its gradient).
    x, c = Value(0.5, name="x"), Value(1 + 1e-7, name="c")
    v = x
    for _ in range(MILLION):
        v = v * c
    v.backward()
    with mpmath.workdps(50):
        X, C = mpmath.mpf(x.data), mpmath.mpf(c.data)
        # a million roundings in a row: the float result drifts by at most about 1e6 ulps
        assert v.data == pytest.approx(float(X * C**MILLION), rel=1e-9)
        assert x.grad == pytest.approx(float(C**MILLION), rel=1e-9)
        assert c.grad == pytest.approx(float(MILLION * X * C ** (MILLION - 1)), rel=1e-9)
    assert len(topological_order(v)) == MILLION + 2
    del v  # freeing a million-deep chain must not recurse either
    gc.collect()
    assert x.grad > 0.0


def test_a_million_term_sum():
    xs = [Value(i * 1e-6) for i in range(MILLION)]
    s = autograd.sum(xs)
    loss = s * s
    loss.backward()
    exact = math.fsum(x.data for x in xs)  # fsum: the correctly rounded sum
    assert s.op == "sum" and len(s.parents) == MILLION
    assert s.data == pytest.approx(exact, rel=1e-12)
    assert s.grad == 2 * s.data  # d(s^2)/ds
    assert all(x.grad == s.grad for x in xs)  # the sum's local derivative is 1 for every term


def diamond_ladder(levels: int, x: Value, p: Value, q: Value) -> Value:
    """y <- y*p + y*q, ``levels`` times: every level doubles the paths from the top down to x."""
    y = x
    for _ in range(levels):
        y = y * p + y * q
    return y


def test_a_200_level_diamond_ladder():
    x, p, q = Value(1.5, name="x"), Value(0.3, name="p"), Value(0.705, name="q")
    y = diamond_ladder(200, x, p, q)
    assert count_paths(y, x) == 2**200
    with pytest.raises(TooManyPaths) as info:
        paths(y, x)
    assert info.value.count == 2**200 and info.value.limit == 10_000
    assert f"{2**200:,}" in str(info.value)
    # backward is linear: one step per op node, 3 per level (two products and their sum)
    steps = list(backward_steps(y))
    assert len(steps) == 3 * 200 and len(topological_order(y)) == 3 * 200 + 3
    with mpmath.workdps(50):
        X, P, Q = (mpmath.mpf(v.data) for v in (x, p, q))
        assert y.data == pytest.approx(float(X * (P + Q) ** 200), rel=1e-12)
        assert x.grad == pytest.approx(float((P + Q) ** 200), rel=1e-12)
        # d/dp of x (p + q)^200 = 200 x (p + q)^199, and the same for q
        assert p.grad == pytest.approx(float(200 * X * (P + Q) ** 199), rel=1e-12)
        assert q.grad == pytest.approx(float(200 * X * (P + Q) ** 199), rel=1e-12)
    # p reaches the top along 2^200 - 1 paths: 2^(k-1) from the level-k product it feeds, summed over k
    assert count_paths(y, p) == 2**200 - 1


def test_more_paths_than_python_can_print_is_still_too_many_paths():
    """Past 10^4300 paths Python's int-to-text limit raised a plain ValueError from the message (issue 18, 13)."""
    x, p, q = Value(1.5, name="x"), Value(0.5, name="p"), Value(0.5, name="q")
    y = diamond_ladder(15_000, x, p, q)  # 2^15000 paths, about 10^4515
    with pytest.raises(TooManyPaths) as info:
        paths(y, x)
    assert info.value.count == 2**15_000
    exponent = math.floor(15_000 * math.log10(2))
    mantissa = float(mpmath.mpf(2) ** 15_000 / mpmath.mpf(10) ** exponent)
    assert f"about {mantissa:.1f} × 10^{exponent} paths" in str(info.value)


def test_paths_and_count_paths_refuse_a_name_for_wrt():
    """``paths(c, "a")`` returned [] and ``count_paths`` 0 (issue 18, 18): a name is not a node."""
    a = Value(2.0, name="a")
    c = a * a
    for call in (paths, count_paths):
        with pytest.raises(TypeError, match="wrt must be a Value .* got str 'a'"):
            call(c, "a")
        with pytest.raises(TypeError, match="root must be a Value"):
            call(2.0, a)
    assert count_paths(c, a) == 2 and len(paths(c, a)) == 2
