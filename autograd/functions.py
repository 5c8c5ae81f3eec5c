"""The engine's functions as plain calls: ``autograd.tanh(v)`` as well as ``v.tanh()``.

Each accepts a Value or a real number (which becomes a new leaf) and returns a Value.
One function per named row of the op table (``ops.formula_functions()``); a test
holds the two to each other.
"""

from __future__ import annotations

from .ops import MAX, MIN
from .value import Value, as_value, call, sum  # noqa: F401 - sum is re-exported as autograd.sum


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


def abs(x: Value | float) -> Value:  # noqa: A001 - the formula language's abs, as a Value's abs()
    """|x|."""
    return as_value(x).__abs__()


def sign(x: Value | float) -> Value:
    """1, -1 or 0 by the sign of x (its local derivative is 0)."""
    return as_value(x).sign()


def softplus(x: Value | float) -> Value:
    """log(1 + e^x), a smooth relu; its derivative is sigmoid(x)."""
    return as_value(x).softplus()


def leaky_relu(x: Value | float, slope: float = 0.01) -> Value:
    """x for x > 0, slope * x otherwise."""
    return as_value(x).leaky_relu(slope)


def max(a: Value | float, b: Value | float) -> Value:  # noqa: A001 - the formula language's max(a, b)
    """The larger of a and b, one node; at a tie each input gets local derivative 1/2."""
    return call(MAX, a, b)


def min(a: Value | float, b: Value | float) -> Value:  # noqa: A001 - the formula language's min(a, b)
    """The smaller of a and b, one node; at a tie each input gets local derivative 1/2."""
    return call(MIN, a, b)
