"""nn.optim: each update rule against hand arithmetic and against torch.optim."""

from __future__ import annotations

import math

import pytest
from chainrule.autograd import Value
from chainrule.nn import SGD, Adam, clip_grad_norm
from conftest import require


def run(optimizer_class, grads_per_step, start=0.0, **options):
    """Apply the given gradients one step at a time to one parameter; its value after each step."""
    p = Value(start)
    opt = optimizer_class([p], **options)
    seen = []
    for g in grads_per_step:
        opt.zero_grad()
        p.grad = g
        opt.step()
        seen.append(p.data)
    return seen


def test_sgd_step_by_hand():
    # p - lr * g = 1.0 - 0.1 * 0.5
    assert run(SGD, [0.5], start=1.0, lr=0.1) == [pytest.approx(0.95, rel=1e-15)]


def test_sgd_momentum_by_hand():
    # buf: 1.0, then 0.9*1.0 + 1.0 = 1.9, then 0.9*1.9 - 2.0 = -0.29; p -= 0.1 * buf each step
    assert run(SGD, [1.0, 1.0, -2.0], lr=0.1, momentum=0.9) == pytest.approx([-0.1, -0.29, -0.261], rel=1e-14)


def test_adam_by_hand():
    # step 1, g = 2: m = 0.1*2 = 0.2, v = 0.001*4 = 0.004; corrected m = 0.2/0.1 = 2, v = 0.004/0.001 = 4,
    #   so p moves by 0.1 * 2 / (sqrt(4) + 1e-8): the first step of Adam is lr in the direction of -g.
    # step 2, g = -1: m = 0.9*0.2 - 0.1 = 0.08, v = 0.999*0.004 + 0.001 = 0.004996;
    #   corrected m = 0.08/(1 - 0.81) = 8/19, v = 0.004996/(1 - 0.998001) = 4.996/1.999.
    first = 1.0 - 0.1 * 2 / (2 + 1e-8)
    second = first - 0.1 * (8 / 19) / (math.sqrt(4.996 / 1.999) + 1e-8)
    assert run(Adam, [2.0, -1.0], start=1.0, lr=0.1) == pytest.approx([first, second], rel=1e-13)


def test_adam_defaults_are_pytorchs():
    opt = Adam([Value(0.0)])
    assert (opt.lr, opt.betas, opt.eps) == (1e-3, (0.9, 0.999), 1e-8)


def test_zero_grad_clears_every_parameter():
    ps = [Value(1.0), Value(2.0)]
    ps[0].grad, ps[1].grad = 3.0, -4.0
    SGD(ps, lr=0.1).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: SGD(p, lr=0.0), "learning rate lr must be a positive number, got 0.0"),
        (lambda p: SGD(p, lr=-0.1), "got -0.1"),
        (lambda p: SGD(p, lr=math.nan), "got nan"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), r"momentum must be a number in \[0, 1\)"),
        (lambda p: Adam(p, lr=0.1, betas=(0.9,)), "betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9, 1.5)), r"betas\[1\]"),
        (lambda p: Adam(p, eps=-1.0), "eps must be a positive number, got -1.0"),
        (lambda p: Adam(p, eps=0.0), "eps must be a positive number, got 0.0"),
        (lambda p: Adam([]), "empty list of parameters"),
    ],
)
def test_bad_settings_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


def test_parameters_must_be_values():
    with pytest.raises(TypeError, match="parameter 1 is a float"):
        SGD([Value(1.0), 2.0], lr=0.1)


# --- clipping ------------------------------------------------------------------------------------------


def test_clip_grad_norm_by_hand():
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm([a, b], max_norm=1.0) == 5.0  # sqrt(3^2 + 4^2), before clipping
    scale = 1.0 / (5.0 + 1e-6)
    assert (a.grad, b.grad) == (pytest.approx(3.0 * scale, rel=1e-15), pytest.approx(4.0 * scale, rel=1e-15))
    assert math.hypot(a.grad, b.grad) == pytest.approx(1.0, rel=1e-6)


def test_clip_grad_norm_leaves_small_gradients_alone():
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 0.3, -0.4
    assert clip_grad_norm([a, b], max_norm=1.0) == pytest.approx(0.5, rel=1e-15)
    assert (a.grad, b.grad) == (0.3, -0.4)


def test_clip_grad_norm_refuses_nan_and_a_bad_max():
    a = Value(0.0, name="L1.N1.w1")
    a.grad = math.nan
    with pytest.raises(ValueError, match="gradient of L1.N1.w1 is nan"):
        clip_grad_norm([a], 1.0)
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        clip_grad_norm([Value(0.0)], 0.0)


# --- torch.optim as the oracle -------------------------------------------------------------------------


@pytest.fixture
def torch():
    require("torch")
    import torch

    return torch


START = [0.5, -1.5, 2.0]


def our_loss(ps):
    # a bowl with a bend, so the gradient changes from step to step:
    # sum_i (i+1) p_i^2 + p_0 p_1 p_2 + sin(p_1)
    return sum((i + 1) * p * p for i, p in enumerate(ps)) + ps[0] * ps[1] * ps[2] + ps[1].sin()


def their_loss(torch, t):
    return sum((i + 1) * t[i] * t[i] for i in range(3)) + t[0] * t[1] * t[2] + torch.sin(t[1])


@pytest.mark.parametrize(
    "ours, theirs, options",
    [
        (SGD, "SGD", {"lr": 0.05}),
        (SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
        (Adam, "Adam", {"lr": 0.1}),
        (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    ],
)
def test_steps_match_torch_optim(torch, ours, theirs, options):
    ps = [Value(x) for x in START]
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = ours(ps, **options)
    ref = getattr(torch.optim, theirs)([t], **options)
    for _ in range(6):
        opt.zero_grad()
        our_loss(ps).backward()
        opt.step()
        ref.zero_grad()
        their_loss(torch, t).backward()
        ref.step()
        assert [p.data for p in ps] == pytest.approx(t.detach().tolist(), rel=1e-12)


def test_clip_grad_norm_matches_torch(torch):
    grads = [0.7, -2.5, 1.25, 3.0]
    ours = [Value(0.0) for _ in grads]
    for p, g in zip(ours, grads, strict=True):
        p.grad = g
    t = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(grads, dtype=torch.float64)
    norm = clip_grad_norm(ours, 2.0)
    ref = torch.nn.utils.clip_grad_norm_([t], 2.0)
    assert norm == pytest.approx(ref.item(), rel=1e-15)
    assert [p.grad for p in ours] == pytest.approx(t.grad.tolist(), rel=1e-15)


# --- the extremes (issue 18, items 6 and 7) ---------------------------------------------------------------


def test_clip_grad_norm_scales_gradients_whose_squares_overflow():
    ps = [Value(0.0), Value(0.0)]
    ps[0].grad, ps[1].grad = 3e200, 4e200
    norm = clip_grad_norm(ps, 1.0)
    assert norm == pytest.approx(5e200, rel=1e-15)  # the 3-4-5 triangle, scaled
    assert [p.grad for p in ps] == pytest.approx([0.6, 0.8], rel=1e-12)


def test_clip_grad_norm_past_the_largest_float_returns_inf_and_still_scales():
    ps = [Value(0.0) for _ in range(4)]
    for p in ps:
        p.grad = 1e308  # the true norm is 2e308, more than any float
    assert clip_grad_norm(ps, 2.0) == math.inf
    assert [p.grad for p in ps] == pytest.approx([1.0] * 4, rel=1e-12)


def test_clip_grad_norm_of_tiny_gradients_is_not_zero():
    ps = [Value(0.0), Value(0.0)]
    ps[0].grad, ps[1].grad = 3e-200, 4e-200
    assert clip_grad_norm(ps, 1.0) == pytest.approx(5e-200, rel=1e-15)
    assert [p.grad for p in ps] == [3e-200, 4e-200]  # far below max_norm: untouched


def test_adam_with_a_dead_parameter_steps_finitely():
    alive, dead = Value(1.0), Value(2.0)
    opt = Adam([alive, dead], lr=0.1)
    for _ in range(3):
        alive.grad, dead.grad = 0.5, 0.0  # a dead ReLU's weight gets 0 every step
        opt.step()
    assert dead.data == 2.0 and math.isfinite(alive.data) and alive.data < 1.0
