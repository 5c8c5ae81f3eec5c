"""One test case per row of the op table, keyed by the row's key: every per-op suite reads this module.

A ``Case`` says, for one op, everything a test needs that the op table must
not be trusted to say about itself:

* ``build``: how a user writes it (the public API), from Values, then its params;
* ``mp``: its forward in mpmath, and ``closed``: its local derivatives in
  closed form, also in mpmath (independent of the engine's rules);
* ``domains``: hypothesis strategies for points where both are smooth;
* ``ieee``: the op on numpy float64, the reference for the IEEE edge grid;
* ``torch``: the op in PyTorch, given the torch module;
* what the random graphs need (``accepts``, ``const_sides``, ``zero_ok``,
  ``rounding``; see tests/strategies.py);
* ``trace`` and ``replay``: input tuples for compile, crossing every branch.

``params`` are the op's constant numbers used by these tests (the exponent of
``a ** k``, leaky_relu's slope); ``param_domains`` draws them where a test
draws points. Rows that nn registers (its fused loss) are nn's to test, so
``engine_keys()`` leaves them out, and a test checks every other row has a case.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
from chainrule.autograd import OPS
from hypothesis import strategies as st

from chainrule import autograd

mpf = mpmath.mpf


def floats(lo: float, hi: float):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float, gap: float = 1e-3):
    return floats(lo, hi).filter(lambda v: abs(v) > gap)


def _always(*_: float) -> bool:
    return True


def _whole(k: float) -> bool:
    return float(k).is_integer()


def _mp_sigmoid(a):
    return 1 / (1 + mpmath.exp(-a))


def _mp_sign(a):
    return mpf(1) if a > 0 else mpf(-1) if a < 0 else mpf(0)


def _np_sigmoid(a):
    # numpy has no sigmoid, and the obvious formulas flag overflow; mpmath has no flags to raise.
    if math.isnan(a):
        return a
    with mpmath.workdps(50):
        return np.float64(float(_mp_sigmoid(mpf(float(a)))))


def _np_softplus(a):
    return np.logaddexp(np.float64(0.0), a)


#: Two inputs that are never close: a is at least 1 away from 0, b within 0.5 of it (either order).
APART = (st.one_of(floats(1.0, 1e3), floats(-1e3, -1.0)), floats(-0.5, 0.5))


def _torch_softplus(torch):
    return lambda a: torch.nn.functional.softplus(a, beta=1.0, threshold=1000.0)  # no linear cut-off at 20


def _gap(a: float, b: float, gap: float = 0.1) -> bool:
    return abs(a - b) >= gap * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class Case:
    key: str  # the row's key in autograd.OPS
    build: Callable  # build(*values, *params) -> Value, as a user writes it
    mp: Callable  # mp(*inputs, *params) -> mpf
    closed: Callable  # closed(*inputs, *params) -> tuple of d/d input_i, in mpmath
    domains: tuple  # a strategy per input
    ieee: Callable  # ieee(*np.float64 inputs, *params) -> np.float64
    torch: Callable  # torch(torch_module) -> f(*tensors, *params)
    params: tuple = ()
    param_domains: tuple = ()
    accepts: Callable = _always  # random graphs: accepts(*inputs, *params)
    const_sides: tuple = (0, 1)
    zero_ok: bool = False
    rounding: float = 1.0
    trace: tuple = ()  # compile: input tuples to trace at ...
    replay: tuple = ()  # ... and to replay at, crossing every branch of the op
    grid_params: bool = False  # the IEEE edge grid runs over the params too (the k of a ** k)

    @property
    def row(self):
        return OPS[self.key]

    @property
    def arity(self) -> int:
        return len(self.domains)


def _case_list() -> list[Case]:
    two = (floats(-1e3, 1e3), floats(-1e3, 1e3))
    return [
        Case("+", lambda a, b: a + b, lambda a, b: a + b, lambda a, b: (mpf(1), mpf(1)), two, np.add,
             lambda t: lambda a, b: a + b, trace=((1.0, 2.0),), replay=((-3.0, 0.5),)),
        Case("-", lambda a, b: a - b, lambda a, b: a - b, lambda a, b: (mpf(1), mpf(-1)), two, np.subtract,
             lambda t: lambda a, b: a - b, trace=((1.0, 2.0),), replay=((-3.0, 0.5),)),
        Case("*", lambda a, b: a * b, lambda a, b: a * b, lambda a, b: (b, a), two, np.multiply,
             lambda t: lambda a, b: a * b, trace=((1.0, 2.0),), replay=((-3.0, 0.5),)),
        Case("/", lambda a, b: a / b, lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2),
             (floats(-1e3, 1e3), away_from_zero(-1e3, 1e3, 1e-2)), np.divide, lambda t: lambda a, b: a / b,
             accepts=lambda a, b: abs(b) >= 0.25, trace=((1.0, 2.0), (3.0, 4.0)), replay=((-3.0, 0.5), (0.0, -8.0))),
        # a ** b with b a Value (or a number base, 2 ** x): a > 0, and log(a) not near 0 in random graphs.
        Case("**", lambda a, b: a**b, mpmath.power, lambda a, b: (b * a ** (b - 1), a**b * mpmath.log(a)),
             (floats(0.05, 20.0), floats(-3.0, 3.0)), np.power, lambda t: lambda a, b: a**b,
             accepts=lambda a, b: a >= 0.1 and abs(math.log(a)) >= 0.1 and abs(b) <= 10, const_sides=(0,),
             trace=((2.0, 3.0),) * 4, replay=((1.5, 2.5), (0.0, 2.0), (-2.0, 3.0), (5.0, 0.0))),
        # a ** k with k a number: part of the op, one parent.
        Case("**k", lambda a, k: a**k, lambda a, k: mpmath.power(a, k), lambda a, k: (k * a ** (k - 1),),
             (floats(0.05, 20.0),), np.power, lambda t: lambda a, k: a**k, params=(2.5,),
             param_domains=(floats(-3.0, 3.0),),
             accepts=lambda a, k: (k >= 0 or abs(a) >= 0.25) if _whole(k) else a >= 0.1,
             trace=((2.0,),) * 3, replay=((0.0,), (0.25,), (9.0,)), grid_params=True),
        Case("neg", lambda a: -a, lambda a: -a, lambda a: (mpf(-1),), (floats(-1e3, 1e3),), np.negative,
             lambda t: lambda a: -a, rounding=0.0, trace=((1.0,), (2.0,)), replay=((-3.0,), (0.0,))),
        Case("exp", autograd.exp, mpmath.exp, lambda a: (mpmath.exp(a),), (floats(-50.0, 50.0),), np.exp,
             lambda t: t.exp, trace=((0.5,), (1.0,)), replay=((-700.0,), (3.0,))),
        Case("log", autograd.log, mpmath.log, lambda a: (1 / a,), (floats(1e-3, 1e6),), np.log, lambda t: t.log,
             accepts=lambda a: a >= 0.1, trace=((1.0,), (2.0,)), replay=((1e-300,), (7.5,))),
        # 1 - t^2 and s(1 - s) come from the output: random graphs keep them out of saturation, where they cancel.
        Case("tanh", autograd.tanh, mpmath.tanh, lambda a: (1 - mpmath.tanh(a) ** 2,), (floats(-20.0, 20.0),),
             np.tanh, lambda t: t.tanh, accepts=lambda a: abs(a) <= 3.0, trace=((0.1,), (0.2,)),
             replay=((-20.0,), (0.7,))),
        Case("sigmoid", autograd.sigmoid, _mp_sigmoid, lambda a: (_mp_sigmoid(a) * (1 - _mp_sigmoid(a)),),
             (floats(-30.0, 30.0),), _np_sigmoid, lambda t: t.sigmoid, accepts=lambda a: -12.0 <= a <= 5.0,
             rounding=3.0, trace=((0.1,), (0.2,)) * 2, replay=((-800.0,), (800.0,), (-3.0,), (2.0,))),
        Case("relu", autograd.relu, lambda a: a if a > 0 else mpf(0), lambda a: (mpf(1) if a > 0 else mpf(0),),
             (away_from_zero(-1e3, 1e3),), lambda a: np.maximum(a, 0.0), lambda t: t.relu,
             accepts=lambda a: abs(a) >= 0.1, zero_ok=True, rounding=0.0,
             trace=((1.0,), (2.0,), (3.0,), (4.0,)), replay=((-1.5,), (0.0,), (-0.0,), (2.5,))),
        # The local derivative cos(a) (or sin(a)) must not sit near a zero, where a's error would swamp it.
        Case("sin", autograd.sin, mpmath.sin, lambda a: (mpmath.cos(a),), (floats(-100.0, 100.0),), np.sin,
             lambda t: t.sin, accepts=lambda a: abs(a * math.tan(a)) <= 100.0, trace=((0.1,), (0.2,)),
             replay=((-4.0,), (100.0,))),
        Case("cos", autograd.cos, mpmath.cos, lambda a: (-mpmath.sin(a),), (floats(-100.0, 100.0),), np.cos,
             lambda t: t.cos, accepts=lambda a: abs(a) <= 100.0 * abs(math.tan(a)), trace=((0.1,), (0.2,)),
             replay=((-4.0,), (100.0,))),
        Case("sqrt", autograd.sqrt, mpmath.sqrt, lambda a: (1 / (2 * mpmath.sqrt(a)),), (floats(1e-3, 1e6),),
             np.sqrt, lambda t: t.sqrt, accepts=lambda a: a >= 0.1, trace=((1.0,), (4.0,)), replay=((0.0,), (9.0,))),
        Case("abs", abs, mpmath.fabs, lambda a: (_mp_sign(a),), (away_from_zero(-1e3, 1e3),), np.abs,
             lambda t: t.abs, accepts=lambda a: abs(a) >= 0.1, rounding=0.0,
             trace=((1.0,), (2.0,), (3.0,)), replay=((-2.0,), (0.0,), (5.0,))),
        Case("sum", lambda *xs: autograd.sum(xs), lambda *xs: mpmath.fsum(xs), lambda *xs: (mpf(1),) * len(xs),
             (floats(-1e3, 1e3),) * 4, lambda *xs: np.sum(xs), lambda t: lambda *xs: t.stack(xs).sum(),
             trace=((1.0, 2.0, 3.0, 4.0),), replay=((-3.0, 0.5, 1e3, 0.0),)),
        Case("sign", autograd.sign, _mp_sign, lambda a: (mpf(0),), (away_from_zero(-1e3, 1e3),), np.sign,
             lambda t: t.sign, accepts=lambda a: abs(a) >= 0.1, rounding=0.0,
             trace=((1.0,), (2.0,), (3.0,)), replay=((-2.0,), (0.0,), (5.0,))),
        Case("softplus", autograd.softplus, lambda a: mpmath.log(1 + mpmath.exp(a)),
             lambda a: (_mp_sigmoid(a),), (floats(-30.0, 30.0),), _np_softplus, _torch_softplus,
             # its derivative is sigmoid(a), whose own derivative s(1 - s) cancels above 5: kept out, as sigmoid is
             accepts=lambda a: -12.0 <= a <= 5.0, rounding=2.0,
             trace=((0.1,), (0.2,)) * 2, replay=((-800.0,), (800.0,), (-3.0,), (0.0,))),
        Case("leaky_relu", lambda a, s: autograd.leaky_relu(a, s), lambda a, s: a if a > 0 else s * a,
             lambda a, s: (mpf(1) if a > 0 else mpf(s),), (away_from_zero(-1e3, 1e3),),
             lambda a, s: np.where(a > 0, a, s * a)[()], lambda t: t.nn.functional.leaky_relu, params=(0.1,),
             param_domains=(floats(0.0, 0.9),), accepts=lambda a, s: abs(a) >= 0.1,
             trace=((1.0,), (2.0,), (3.0,)), replay=((-2.0,), (0.0,), (5.0,))),
        Case("max", autograd.max, lambda a, b: mpmath.mpf(max(a, b)),
             lambda a, b: (mpf(1), mpf(0)) if a > b else (mpf(0), mpf(1)) if a < b else (mpf(0.5), mpf(0.5)),
             APART, np.maximum, lambda t: t.maximum, accepts=_gap, const_sides=(),
             trace=((1.0, 2.0),) * 3, replay=((3.0, -1.0), (2.0, 2.0), (-5.0, 4.0))),
        Case("min", autograd.min, lambda a, b: mpmath.mpf(min(a, b)),
             lambda a, b: (mpf(1), mpf(0)) if a < b else (mpf(0), mpf(1)) if a > b else (mpf(0.5), mpf(0.5)),
             APART, np.minimum, lambda t: t.minimum, accepts=_gap, const_sides=(),
             trace=((1.0, 2.0),) * 3, replay=((3.0, -1.0), (2.0, 2.0), (-5.0, 4.0))),
    ]


CASES: dict[str, Case] = {case.key: case for case in _case_list()}


def engine_keys() -> set[str]:
    """The rows the engine itself defines: every row but those nn registers (nn's tests check those)."""
    return {key for key, row in OPS.items() if not row.forward.__module__.startswith("chainrule.nn.")}


def params_for(case: Case, draw=None) -> tuple:
    """The case's params: drawn with ``draw`` (hypothesis's) where the case has domains for them."""
    if draw is None or not case.param_domains:
        return case.params
    return tuple(draw(d) for d in case.param_domains)
