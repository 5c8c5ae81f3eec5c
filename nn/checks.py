"""Checking the counts nn is given: layer widths, steps, batch sizes, points, classes.

One function and one policy, so every count is refused the same way: a value
of the wrong type (``2.5``, ``"3"``, ``True``) is a ``TypeError``, a whole
number that is too small is a ``ValueError``, and both messages name the
argument and the value.
"""

from __future__ import annotations

import numbers


def check_count(what: str, n, least: int = 1, why: str = "") -> int:
    """``n`` as an int, when it is a whole number of at least ``least``; else a clear error.

    ``bool`` is refused although Python counts it as an int: ``MLP(True, ...)``
    is a slip, not a network with one input. ``why`` (``"one point per class"``)
    goes into the message in brackets.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be a whole number, got {type(n).__name__} {n!r:.40}")
    if n < least:
        because = f" ({why})" if why else ""
        raise ValueError(f"{what} must be at least {least}{because}, got {n}")
    return int(n)
