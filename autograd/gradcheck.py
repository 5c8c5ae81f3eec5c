"""Gradient checking: compare backprop's gradients with central differences.

The numerical derivative of f at p is

    (f(p + eps) - f(p - eps)) / (2 eps),

which needs two evaluations of f per parameter (2n for n parameters) where
backprop needs one backward pass for all of them. It is slow but hard to get
wrong, which makes it the referee for the fast method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .value import Value

#: Relative errors below this are "correct", above BUG_ABOVE a "bug"; between, "check".
CORRECT_BELOW = 1e-5
BUG_ABOVE = 1e-3


def numerical_grad(fn: Callable[[], Value], params: Sequence[Value], eps: float = 1e-5) -> list[float]:
    """Central-difference estimates of d fn() / d p for each ``p`` in ``params``.

    ``fn()`` must rebuild the graph from the params' current ``.data``. Each
    param is nudged by +eps and -eps in place and always restored.
    """
    if not eps > 0.0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    estimates = []
    for p in params:
        original = p.data
        try:
            p.data = original + eps
            plus = _evaluate(fn)
            p.data = original - eps
            minus = _evaluate(fn)
        finally:
            p.data = original
        estimates.append((plus - minus) / (2.0 * eps))
    return estimates


def _evaluate(fn: Callable[[], Value]) -> float:
    out = fn()
    if not isinstance(out, Value):
        raise TypeError(f"fn() must return a Value, got {type(out).__name__}")
    return out.data


def relative_error(analytic: float, numeric: float) -> float:
    """|a - n| / (|a| + |n| + 1e-8): scale-free, and safe when both are zero."""
    return abs(analytic - numeric) / (abs(analytic) + abs(numeric) + 1e-8)


def verdict(rel_error: float) -> str:
    """The course's reading of a relative error: correct, check, or bug (NaN is a bug)."""
    if rel_error < CORRECT_BELOW:
        return "correct"
    if rel_error <= BUG_ABOVE:
        return "check"
    return "bug"  # also NaN, which fails both comparisons above


@dataclass(frozen=True)
class GradcheckRow:
    name: str
    analytic: float
    numeric: float
    rel_error: float
    verdict: str


@dataclass(frozen=True)
class GradcheckReport:
    rows: tuple[GradcheckRow, ...]

    @property
    def ok(self) -> bool:
        """True when every parameter's gradient is ``correct``."""
        return all(row.verdict == "correct" for row in self.rows)

    def __str__(self) -> str:
        header = ("param", "backprop", "numerical", "rel. error", "verdict")
        lines = [
            (row.name, f"{row.analytic:.8g}", f"{row.numeric:.8g}", f"{row.rel_error:.2e}", row.verdict)
            for row in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
        table = [header, tuple("-" * w for w in widths), *lines]
        text = "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table
        )
        bad = sum(row.verdict != "correct" for row in self.rows)
        summary = "all gradients correct" if self.ok else f"{bad} of {len(self.rows)} not correct"
        return (
            f"{text}\n{summary} (correct < {CORRECT_BELOW:g} <= check <= {BUG_ABOVE:g} < bug)"
        )


def gradcheck(fn: Callable[[], Value], params: Sequence[Value], eps: float = 1e-5) -> GradcheckReport:
    """Backprop's gradients next to central differences, one row per param.

    Zeroes the params' grads, runs one backward pass for the analytic side
    (and leaves those grads in place), then estimates each derivative
    numerically with ``numerical_grad``.
    """
    params = list(params)
    for p in params:
        p.grad = 0.0
    out = fn()
    if not isinstance(out, Value):
        raise TypeError(f"fn() must return a Value, got {type(out).__name__}")
    out.backward()
    analytic = [p.grad for p in params]
    numeric = numerical_grad(fn, params, eps)
    rows = []
    for i, (p, a, n) in enumerate(zip(params, analytic, numeric, strict=True)):
        err = relative_error(a, n) if math.isfinite(a) and math.isfinite(n) else math.nan
        rows.append(GradcheckRow(p.name or f"param {i}", a, n, err, verdict(err)))
    return GradcheckReport(tuple(rows))
