"""The engine's functions as plain calls: ``autograd.tanh(v)`` as well as ``v.tanh()``.

Each accepts a Value or a real number (which becomes a new leaf) and returns a Value.
"""

from __future__ import annotations

from .value import Value, as_value, sum  # noqa: F401 - sum is re-exported as autograd.sum


def exp(x: Value | float) -> Value:
    """e^x."""
    return as_value(x).exp()


def log(x: Value | float) -> Value:
    """The natural logarithm of x > 0."""
    return as_value(x).log()


def tanh(x: Value | float) -> Value:
    """The hyperbolic tangent, in (-1, 1)."""
    return as_value(x).tanh()


def sigmoid(x: Value | float) -> Value:
    """The logistic function 1 / (1 + e^-x), in (0, 1)."""
    return as_value(x).sigmoid()


def relu(x: Value | float) -> Value:
    """max(0, x)."""
    return as_value(x).relu()


def sin(x: Value | float) -> Value:
    return as_value(x).sin()


def cos(x: Value | float) -> Value:
    return as_value(x).cos()


def sqrt(x: Value | float) -> Value:
    """The square root of x >= 0."""
    return as_value(x).sqrt()
