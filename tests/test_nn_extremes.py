"""nn's losses at the ends of the float range: logits and scores of +-1000, probabilities a hair
from 0 and 1, and NaN.

The oracle is mpmath. Each loss is written here as its textbook formula, with none of the
stabilising tricks nn uses: softmax as e^z_i / sum_j e^z_j, cross-entropy as -log softmax,
binary cross-entropy as -(t log p + (1 - t) log(1 - p)) with p = 1 / (1 + e^-z), hinge as
max(0, 1 - y s), mse as the mean of squares. mpmath's exponents are unbounded, so e^1000 is
just a number. Each gradient is ``mpmath.diff`` of the formula (numerical differentiation, no
derivative written by hand). The results are good to at least 50 digits: the oracle works at
500, because the textbook BCE at z = 1000 takes 1 - sigmoid(1000) = 5e-435, which needs 435
digits before its first significant one.

Every value and gradient must be finite and within

    |ours - exact| <= 1e-14 |exact| + 4 eps S

where eps = 2^-52 and S is the size of the terms the float computation adds: the largest
|input| for a loss that adds a logit or a score to a log (log-sum-exp is m + log sum e^(z - m),
softplus is max(z, 0) + log1p(e^-|z|)), 1 for probabilities, and 1 for the gradients of softmax,
cross-entropy and BCE, which are differences of probabilities (p - y). The floor is what the
float formulas can give: log(1 + e^-37) is 8.5e-17 exactly, but 1 + e^-37 rounds to 1, so a
log-sum-exp comes out as 0 there (an error of 0.4 eps), as PyTorch's float64 cross_entropy does.
Binary cross-entropy goes through the engine's softplus op, whose log1p keeps such tiny losses
to relative accuracy (tests/test_nn_losses.py holds it to that).

NaN: the losses built from the engine's ops follow IEEE (NaN in, NaN out, in values and
gradients, except where a rule says otherwise: relu'(NaN) = 0, so hinge's gradient at a NaN
score is 0, as torch.clamp(min=0) gives). Where a loss refuses NaN, it says so by name: the fused
cross_entropy refuses non-finite logits, binary_cross_entropy refuses a NaN probability (as
torch does) and a NaN target, hinge a NaN label. PyTorch is the oracle for the NaN cases
(skipped without torch on a laptop, required with CI=true).
"""

from __future__ import annotations

import collections
import itertools
import math
import sys

import mpmath
import pytest
from chainrule.autograd import Value
from conftest import require
from mpmath import mp, mpf

from chainrule import nn

EPS = sys.float_info.epsilon
RTOL = 1e-14
DIGITS = 500  # working digits of the oracle; see the module docstring
NAN = float("nan")
#: kind -> the largest relative error seen, and the largest error in units of eps S where the relative
#: test alone would not hold (the results below the floor); printed by test_worst_errors_seen.
WORST_RELATIVE: dict[str, float] = collections.defaultdict(float)
WORST_FLOORED: dict[str, float] = collections.defaultdict(float)


def assert_close(kind: str, ours: float, exact, scale: float) -> None:
    """``ours`` finite and within RTOL |exact| + 4 eps scale of the mpmath value ``exact``."""
    assert math.isfinite(ours), (kind, ours, exact)
    error = abs(mpf(ours) - exact)
    tolerance = RTOL * abs(exact) + 4 * EPS * scale
    assert error <= tolerance, (kind, ours, mpmath.nstr(exact, 20), float(error / tolerance))
    if error <= RTOL * abs(exact):
        WORST_RELATIVE[kind] = max(WORST_RELATIVE[kind], float(error / abs(exact)) if error else 0.0)
    else:
        WORST_FLOORED[kind] = max(WORST_FLOORED[kind], float(error / (EPS * scale)))


def partials(f, point: list[float]) -> list:
    """Each partial derivative of ``f`` at ``point``, by mpmath's numerical differentiation."""
    at = [mpf(x) for x in point]
    n = len(at)
    return [mpmath.diff(f, at, tuple(int(k == j) for k in range(n))) for j in range(n)]


# --- the textbook formulas, in mpmath --------------------------------------------------------------


def mp_softmax(zs, i):
    return mpmath.exp(zs[i]) / mpmath.fsum(mpmath.exp(z) for z in zs)


def mp_cross_entropy(zs, label):
    return -mpmath.log(mp_softmax(zs, label))


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def mp_bce(p, t):
    # Only the terms whose weight is not zero, as nn (and the formula's limit) take them.
    loss = 0
    if t != 0:
        loss -= t * mpmath.log(p)
    if t != 1:
        loss -= (1 - t) * mpmath.log(1 - p)
    return loss


# --- softmax and cross-entropy ---------------------------------------------------------------------

LOGITS = [
    [1000.0, -1000.0, 0.0],
    [1000.0, 1000.0],
    [-1000.0, -1000.0, -1000.0],
    [1000.0, 999.5, -1000.0],
    [-1000.0, 0.25],
    [1000.0, 960.0],  # p = e^-40: 1 - p rounds to 1
    [1000.0, 260.0, 0.0],  # p = e^-740: a subnormal probability
    [745.25, 0.0, -745.25],
    [0.0, 0.0, 0.0, 1000.0],
    [-1000.0, 1000.0, 3.0],
]


@pytest.mark.parametrize("logits", LOGITS)
def test_softmax_at_1000(logits):
    with mp.workdps(DIGITS):
        for i in range(len(logits)):
            zs = [Value(z) for z in logits]
            p = nn.softmax(zs)
            assert math.fsum(q.data for q in p) == pytest.approx(1.0, rel=4 * EPS)
            p[i].backward()
            assert_close("softmax value", p[i].data, mp_softmax([mpf(z) for z in logits], i), 1.0)
            exact = partials(lambda *z, i=i: mp_softmax(z, i), logits)
            for z, d in zip(zs, exact, strict=True):
                assert_close("softmax gradient", z.grad, d, 1.0)


@pytest.mark.parametrize("logits", LOGITS)
def test_cross_entropy_at_1000(logits):
    scale = max(1.0, *map(abs, logits))
    with mp.workdps(DIGITS):
        for label in range(len(logits)):
            zs = [Value(z) for z in logits]
            loss = nn.cross_entropy(zs, label)
            loss.backward()
            exact = mp_cross_entropy([mpf(z) for z in logits], label)
            assert_close("cross_entropy value", loss.data, exact, scale)
            exact = partials(lambda *z, label=label: mp_cross_entropy(z, label), logits)
            for z, d in zip(zs, exact, strict=True):
                assert_close("cross_entropy gradient", z.grad, d, 1.0)


def test_cross_entropy_over_a_batch_at_1000():
    rows, labels = LOGITS[:4], [1, 0, 2, 2]
    zs = [[Value(z) for z in row] for row in rows]
    loss = nn.cross_entropy(zs, labels)
    loss.backward()
    with mp.workdps(DIGITS):
        pairs = zip(rows, labels, strict=True)
        exact = mpmath.fsum(mp_cross_entropy([mpf(z) for z in row], c) for row, c in pairs) / 4
        assert_close("cross_entropy value", loss.data, exact, 1000.0)
        for row, c, values in zip(rows, labels, zs, strict=True):
            for v, d in zip(values, partials(lambda *z, c=c: mp_cross_entropy(z, c) / 4, row), strict=True):
                assert_close("cross_entropy gradient", v.grad, d, 1.0)


# --- binary cross-entropy -----------------------------------------------------------------------------

SCORES = [1000.0, -1000.0, 745.0, -745.0, 709.0, 37.0, -37.0, 20.0, -20.0, 0.5]
TARGETS = [0.0, 1.0, 0.5, 0.3]


@pytest.mark.parametrize(("z", "t"), list(itertools.product(SCORES, TARGETS)))
def test_binary_cross_entropy_from_a_sigmoid_at_1000(z, t):
    score = Value(z)
    loss = nn.binary_cross_entropy(score.sigmoid(), t)
    loss.backward()
    with mp.workdps(DIGITS):
        f = lambda a: mp_bce(mp_sigmoid(a), mpf(t))  # noqa: E731 - the formula, as written
        assert_close("bce(sigmoid) value", loss.data, f(mpf(z)), max(1.0, abs(z)))
        assert_close("bce(sigmoid) gradient", score.grad, mpmath.diff(f, mpf(z)), 1.0)


PROBABILITIES = [1e-300, 1e-100, 1e-10, 0.25, 0.5, 1 - 1e-10, 1 - 2**-53]


@pytest.mark.parametrize(("p", "t"), list(itertools.product(PROBABILITIES, TARGETS)))
def test_binary_cross_entropy_from_a_probability_near_0_and_1(p, t):
    prob = Value(p)
    loss = nn.binary_cross_entropy(prob, t)
    loss.backward()
    with mp.workdps(DIGITS):
        f = lambda a: mp_bce(a, mpf(t))  # noqa: E731
        assert_close("bce(p) value", loss.data, f(mpf(p)), 1.0)
        # -t/p + (1-t)/(1-p): 1 - p is exact in floats here (Sterbenz), so only relative error remains.
        assert_close("bce(p) gradient", prob.grad, mpmath.diff(f, mpf(p)), 0.0)


def test_a_probability_that_has_rounded_to_0_or_1_is_a_clear_error():
    # sigmoid(1000) is 1.0 in floats. As a plain probability it can only be refused where log(1 - p)
    # is needed; as the sigmoid's own node, it is computed from the score (above).
    saturated = Value(1000.0).sigmoid().data
    assert saturated == 1.0
    with pytest.raises(ValueError, match=r"log\(0\)"):
        nn.binary_cross_entropy(Value(saturated), 0.0)
    with pytest.raises(ValueError, match=r"log\(0\)"):
        nn.binary_cross_entropy(Value(Value(-1000.0).sigmoid().data), 1.0)
    p = Value(saturated)
    loss = nn.binary_cross_entropy(p, 1.0)  # log(1 - p) has weight 0: not taken
    loss.backward()
    assert (loss.data, p.grad) == (0.0, -1.0)  # -log(1) and -1/p


def test_binary_cross_entropy_over_a_batch_at_1000():
    scores, targets = [1000.0, -1000.0, 37.0, -745.0], [0.0, 0.0, 1.0, 0.3]
    zs = [Value(z) for z in scores]
    loss = nn.binary_cross_entropy([z.sigmoid() for z in zs], targets)
    loss.backward()
    with mp.workdps(DIGITS):
        def terms(*a):
            return mpmath.fsum(mp_bce(mp_sigmoid(z), mpf(t)) for z, t in zip(a, targets, strict=True)) / 4

        assert_close("bce(sigmoid) value", loss.data, terms(*map(mpf, scores)), 1000.0)
        for z, d in zip(zs, partials(terms, scores), strict=True):
            assert_close("bce(sigmoid) gradient", z.grad, d, 1.0)


# --- hinge and mse ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("s", "label"), list(itertools.product([1000.0, -1000.0, 999.5, -0.25], [0, 1, -1])))
def test_hinge_at_1000(s, label):
    score = Value(s)
    loss = nn.hinge(score, label)
    loss.backward()
    y = 1 if label == 1 else -1
    with mp.workdps(DIGITS):
        f = lambda a: mpmath.mpf(max(0, 1 - y * a))  # noqa: E731 - away from the kink at y s = 1
        assert_close("hinge value", loss.data, f(mpf(s)), 0.0)
        assert_close("hinge gradient", score.grad, mpmath.diff(f, mpf(s)), 0.0)


def test_mse_at_1000():
    preds, targets = [1000.0, -1000.0, 999.75, -0.5], [0.0, 1000.0, -1000.0, 1.0]
    zs = [Value(p) for p in preds]
    loss = nn.mse(zs, targets)
    loss.backward()
    with mp.workdps(DIGITS):
        def f(*a):
            return mpmath.fsum((p - t) ** 2 for p, t in zip(a, targets, strict=True)) / 4

        assert_close("mse value", loss.data, f(*map(mpf, preds)), 0.0)
        for z, d in zip(zs, partials(f, preds), strict=True):
            assert_close("mse gradient", z.grad, d, 0.0)


def test_worst_errors_seen():
    # Runs after the checks above (file order): what they measured, for the README (pytest -s).
    if not WORST_RELATIVE:
        pytest.skip("run with the rest of the file")
    lines = [f"{kind:24s} worst relative error {WORST_RELATIVE[kind]:.1e}"
             + (f"; below the floor, {WORST_FLOORED[kind]:.2f} eps S" if kind in WORST_FLOORED else "")
             for kind in sorted(WORST_RELATIVE)]
    print("\n" + "\n".join(lines))
    # The tolerance allows 4 eps S below the floor; what the engine gives is within one.
    assert max(WORST_FLOORED.values(), default=0) <= 1


# --- NaN ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    require("torch")
    import torch

    return torch


def tensors(torch, xs):
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]


def same(ours: float, theirs: float) -> bool:
    """Equal as IEEE values: NaN matches NaN, and -0.0 matches 0.0."""
    return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs


@pytest.mark.parametrize("logits", [[NAN, 1.0, 2.0], [1.0, NAN], [1000.0, NAN, -1000.0]])
def test_softmax_propagates_nan_to_every_probability_and_gradient(logits, torch):
    for i in range(len(logits)):
        zs = [Value(z) for z in logits]
        p = nn.softmax(zs)
        p[i].backward()
        ts = tensors(torch, logits)
        q = torch.softmax(torch.stack(ts), 0)
        q[i].backward()
        assert all(math.isnan(v.data) for v in p) and torch.isnan(q).all()
        assert [z.grad for z in zs] == pytest.approx([t.grad.item() for t in ts], nan_ok=True)
        assert all(math.isnan(z.grad) for z in zs)


def test_cross_entropy_that_overflows_a_float_says_so():
    # Logits of +-1e308 are finite, but -log p of the small one is 2e308: like the engine's own ops, the
    # fused node refuses a result that overflows instead of returning inf.
    with pytest.raises(OverflowError, match=r"cross_entropy: .* overflows a float"):
        nn.cross_entropy([Value(1e308), Value(-1e308)], 1)
    zs = [Value(1e308), Value(-1e308)]
    loss = nn.cross_entropy(zs, 0)  # the large one's loss is log(1 + e^-2e308) = 0: fine
    loss.backward()
    assert (loss.data, zs[0].grad, zs[1].grad) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
def test_cross_entropy_refuses_a_non_finite_logit_by_name(bad):
    # The fused node computes its loss in floats and refuses what it cannot compute exactly:
    # torch would give NaN (or inf) here.
    with pytest.raises(ValueError, match=rf"cross_entropy: logit 1 is {bad!r}; the logits must be finite"):
        nn.cross_entropy([Value(1.0), Value(bad), Value(1000.0)], 0)


@pytest.mark.parametrize("t", [0.0, 1.0, 0.3])
def test_binary_cross_entropy_from_a_nan_score_is_nan(t, torch):
    score = Value(NAN)
    loss = nn.binary_cross_entropy(score.sigmoid(), t)
    loss.backward()
    (z,) = tensors(torch, [NAN])
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(t, dtype=torch.float64))
    theirs.backward()
    assert math.isnan(loss.data) and math.isnan(theirs.item())
    assert math.isnan(score.grad) and math.isnan(z.grad.item())


def test_binary_cross_entropy_refuses_a_nan_probability_or_target(torch):
    with pytest.raises(ValueError, match="binary_cross_entropy: nan is not a probability"):
        nn.binary_cross_entropy(Value(NAN), 1.0)
    with pytest.raises(RuntimeError, match="between 0 and 1"):  # torch refuses it too
        torch.nn.functional.binary_cross_entropy(torch.tensor(NAN, dtype=torch.float64),
                                                 torch.tensor(1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="binary_cross_entropy: target nan is not between 0 and 1"):
        nn.binary_cross_entropy(Value(0.0).sigmoid(), NAN)


@pytest.mark.parametrize("label", [0, 1])
def test_hinge_at_a_nan_score_is_nan_with_the_relu_rules_gradient(label, torch):
    score = Value(NAN)
    loss = nn.hinge(score, label)
    loss.backward()
    y = 1.0 if label == 1 else -1.0
    (s,) = tensors(torch, [NAN])
    theirs = torch.clamp(1 - y * s, min=0)  # max(0, 1 - y s), whose gradient is 0 unless 1 - y s > 0
    theirs.backward()
    assert math.isnan(loss.data) and math.isnan(theirs.item())
    assert same(score.grad, s.grad.item()) and score.grad == 0.0  # relu'(NaN) = 0: NaN > 0 is false
    with pytest.raises(ValueError, match="hinge: label nan must be 0 or 1"):
        nn.hinge(Value(1.0), NAN)


@pytest.mark.parametrize(("preds", "targets"), [([NAN, 1.0], [0.0, 0.0]), ([1.0, 2.0], [NAN, 0.0]),
                                                ([1000.0, NAN], [-1000.0, 1.0])])
def test_mse_propagates_nan(preds, targets, torch):
    zs = [Value(p) for p in preds]
    loss = nn.mse(zs, targets)
    loss.backward()
    ts = tensors(torch, preds)
    theirs = torch.nn.functional.mse_loss(torch.stack(ts), torch.tensor(targets, dtype=torch.float64))
    theirs.backward()
    assert math.isnan(loss.data) and math.isnan(theirs.item())
    # d/dp_i = 2 (p_i - t_i) / n: NaN only where p_i or t_i is NaN
    for z, t, p, target in zip(zs, ts, preds, targets, strict=True):
        assert same(z.grad, t.grad.item())
        assert math.isnan(z.grad) == (math.isnan(p) or math.isnan(target))
