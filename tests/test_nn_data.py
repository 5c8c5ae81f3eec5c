"""nn.data: shapes, labels, seeds, and the geometry of each set."""

from __future__ import annotations

import math
import statistics

import pytest
from chainrule.nn.data import make_blobs, make_moons, make_spirals, make_xor

MAKERS = [
    (make_moons, 2),
    (make_xor, 2),
    (lambda n, noise, seed: make_spirals(n, noise, seed, classes=3), 3),
    (lambda n, noise, seed: make_blobs(n, noise, seed, centers=4), 4),
]


@pytest.mark.parametrize("make, k", MAKERS)
def test_shapes_labels_and_balance(make, k):
    X, y = make(101, 0.1, 0)
    assert len(X) == len(y) == 101
    assert all(isinstance(row, list) and len(row) == 2 for row in X)
    assert all(isinstance(v, float) for row in X for v in row)
    assert all(type(label) is int for label in y)
    counts = [y.count(c) for c in range(k)]
    assert sum(counts) == 101 and max(counts) - min(counts) <= 1  # every class, evenly


@pytest.mark.parametrize("make, k", MAKERS)
def test_seeded(make, k):
    assert make(60, 0.2, 3) == make(60, 0.2, 3)
    assert make(60, 0.2, 3) != make(60, 0.2, 4)


@pytest.mark.parametrize("make, k", MAKERS)
def test_shuffled(make, k):
    _, y = make(100, 0.1, 0)
    assert len(set(y[:10])) > 1  # the classes are mixed, not in blocks


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(50, noise=0.0, seed=0)
    for (a, b), label in zip(X, y, strict=True):
        if label == 0:  # (cos t, sin t), t in [0, pi]
            assert math.hypot(a, b) == pytest.approx(1.0, abs=1e-12) and b >= -1e-12
        else:  # (1 - cos t, 0.5 - sin t)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0, abs=1e-12) and b <= 0.5 + 1e-12
    ends = sorted(tuple(row) for row, label in zip(X, y, strict=True) if label == 0)
    assert ends[0] == pytest.approx((-1.0, 0.0), abs=1e-12)
    assert ends[-1] == pytest.approx((1.0, 0.0), abs=1e-12)


def test_noise_is_gaussian_with_the_given_deviation():
    clean, _ = make_moons(4000, noise=0.0, seed=1)
    noisy, _ = make_moons(4000, noise=0.2, seed=1)
    # same shuffle, so the difference is the noise alone
    deltas = [n[i] - c[i] for n, c in zip(noisy, clean, strict=True) for i in range(2)]
    assert statistics.pstdev(deltas) == pytest.approx(0.2, rel=0.03)
    assert abs(statistics.fmean(deltas)) < 0.01


def test_xor_is_the_truth_table():
    X, y = make_xor()
    table = sorted(zip(map(tuple, X), y, strict=True))
    assert table == [((0.0, 0.0), 0), ((0.0, 1.0), 1), ((1.0, 0.0), 1), ((1.0, 1.0), 0)]
    X, y = make_xor(40, noise=0.05, seed=2)
    for (a, b), label in zip(X, y, strict=True):
        assert label == (round(a) ^ round(b))


def test_spiral_arms_turn_once():
    X, y = make_spirals(40, noise=0.0, seed=0, classes=2)
    for (a, b), label in zip(X, y, strict=True):
        r = math.hypot(a, b)
        assert 0.05 - 1e-12 <= r <= 1.0 + 1e-12
        # the angle of a point at radius r on arm c is 2 pi (c / 2 + r), modulo a full turn
        expected = 2 * math.pi * (label / 2 + r)
        assert math.cos(math.atan2(b, a) - expected) == pytest.approx(1.0, abs=1e-9)


def test_blobs_gather_round_their_centres():
    X, y = make_blobs(3000, noise=0.3, seed=0, centers=3)
    for c in range(3):
        pts = [row for row, label in zip(X, y, strict=True) if label == c]
        centre = (2 * math.cos(2 * math.pi * c / 3), 2 * math.sin(2 * math.pi * c / 3))
        assert statistics.fmean(p[0] for p in pts) == pytest.approx(centre[0], abs=0.04)
        assert statistics.fmean(p[1] for p in pts) == pytest.approx(centre[1], abs=0.04)
        assert statistics.pstdev(p[0] for p in pts) == pytest.approx(0.3, rel=0.08)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: make_moons(1), ValueError, "at least 2"),
        (lambda: make_moons(2.5), TypeError, "whole number"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise must be a number >= 0"),
        (lambda: make_xor(3), ValueError, "at least 4"),
        (lambda: make_spirals(10, classes=1), ValueError, "classes must be at least 2, got 1"),
        (lambda: make_spirals(10, classes=2.0), TypeError, "classes must be a whole number, got float 2.0"),
        (lambda: make_blobs(2, centers=3), ValueError, r"n must be at least 3 \(one point per class\), got 2"),
        (lambda: make_blobs(10, centers=0), ValueError, "centers"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
