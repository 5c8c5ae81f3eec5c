"""Toy data sets in the plane, for training small networks in class.

Each function returns ``(X, y)``: ``X`` a list of n points ``[x1, x2]`` and
``y`` a list of n class indices ``0 .. k-1``. Points are drawn from a seeded
``random.Random`` (the same seed gives the same data on every machine),
``noise`` is the standard deviation of the Gaussian jitter added to each
coordinate, and the points are shuffled, so any slice mixes the classes.
"""

from __future__ import annotations

import math
import numbers
import random

from .checks import check_count

#: The largest jitter: the sets live within a few units of the origin, so a standard deviation of a
#: million already hides them completely; far beyond it (1e308) the jittered points overflow to inf.
MAX_NOISE = 1e6


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0.0 <= noise <= MAX_NOISE:
        raise ValueError(f"noise must be a number >= 0 (a standard deviation) and at most {MAX_NOISE:g}, "
                         f"got {noise!r}")
    return float(noise)


def _counts(n: int, k: int) -> list[int]:
    """n points shared among k classes as evenly as possible (the first classes get the remainder)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _spaced(j: int, count: int) -> float:
    """The j-th of ``count`` evenly spaced numbers from 0 to 1 (0 when there is only one)."""
    return j / (count - 1) if count > 1 else 0.0


def _finish(points: list[tuple[float, float, int]], noise: float, rng: random.Random):
    """Add the jitter, shuffle, and split into (X, y)."""
    rng.shuffle(points)
    X = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] if noise else [x, y] for x, y, _ in points]
    labels = [c for _, _, c in points]
    return X, labels


def make_moons(n: int = 100, noise: float = 0.1, seed: int | None = 0):
    """Two interleaving half circles: a classic set that no straight line separates.

    Class 0 lies on the upper half of the unit circle, (cos t, sin t), class 1
    on a lower half circle shifted right and down, (1 - cos t, 0.5 - sin t),
    for t evenly spaced in [0, pi]; the same shapes as scikit-learn's.
    """
    n = check_count("n", n, least=2, why="one point per class")
    noise = _check_noise(noise)
    rng = random.Random(seed)
    outer, inner = _counts(n, 2)
    points = []
    for j in range(outer):
        t = math.pi * _spaced(j, outer)
        points.append((math.cos(t), math.sin(t), 0))
    for j in range(inner):
        t = math.pi * _spaced(j, inner)
        points.append((1.0 - math.cos(t), 0.5 - math.sin(t), 1))
    return _finish(points, noise, rng)


def make_xor(n: int = 4, noise: float = 0.0, seed: int | None = 0):
    """Exclusive or: the corners (0,0) and (1,1) are class 0, (0,1) and (1,0) class 1.

    The n points go round the four corners in turn, so ``make_xor()`` is the
    truth table itself (shuffled) and larger n with noise gives four clouds.
    """
    n = check_count("n", n, least=4, why="one point per class")
    noise = _check_noise(noise)
    rng = random.Random(seed)
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    points = []
    for i in range(n):
        a, b = corners[i % 4]
        points.append((float(a), float(b), a ^ b))
    return _finish(points, noise, rng)


def make_spirals(n: int = 100, noise: float = 0.05, seed: int | None = 0, classes: int = 2):
    """``classes`` spiral arms winding out from the origin, one per class.

    Arm c starts at angle 2 pi c / classes; a point at radius r in [0.05, 1]
    sits at that angle plus 2 pi r, so each arm makes one full turn.
    """
    k = check_count("classes", classes, least=2)
    n = check_count("n", n, least=k, why="one point per class")
    noise = _check_noise(noise)
    rng = random.Random(seed)
    points = []
    for c, count in enumerate(_counts(n, k)):
        for j in range(count):
            r = 0.05 + 0.95 * _spaced(j, count)
            angle = 2.0 * math.pi * (c / k + r)
            points.append((r * math.cos(angle), r * math.sin(angle), c))
    return _finish(points, noise, rng)


def make_blobs(n: int = 100, noise: float = 0.5, seed: int | None = 0, centers: int = 3):
    """``centers`` round clouds of points, one per class, centred evenly on a circle of radius 2."""
    k = check_count("centers", centers, least=2)
    n = check_count("n", n, least=k, why="one point per class")
    noise = _check_noise(noise)
    rng = random.Random(seed)
    points = []
    for c, count in enumerate(_counts(n, k)):
        angle = 2.0 * math.pi * c / k
        cx, cy = 2.0 * math.cos(angle), 2.0 * math.sin(angle)
        points.extend((cx, cy, c) for _ in range(count))
    return _finish(points, noise, rng)
