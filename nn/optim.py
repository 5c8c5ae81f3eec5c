"""Optimizers: turn the gradients a backward pass left on the parameters into a step.

Both follow PyTorch's update rules and defaults, so a step here and a step of
``torch.optim`` from the same numbers give the same numbers. Use them the
PyTorch way::

    opt.zero_grad()     # leaves accumulate gradients, so clear last step's
    loss.backward()
    opt.step()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from chainrule.autograd import Value


def _parameters(params: Iterable[Value]) -> list[Value]:
    params = list(params)
    if not params:
        raise ValueError("the optimizer got an empty list of parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Value")
    return params


def _positive(what: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{what} must be a positive number, got {x!r}")
    return float(x)


def _fraction(what: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= x < 1.0:
        raise ValueError(f"{what} must be a number in [0, 1), got {x!r}")
    return float(x)


class Optimizer:
    """What every optimizer has: its parameters and ``zero_grad``."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = _parameters(params)
        self.lr = _positive("learning rate lr", lr)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0, ready for the next backward pass."""
        for p in self.params:
            p.grad = 0.0


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum.

    Without momentum: p <- p - lr * g.
    With momentum mu, a velocity buffer per parameter (PyTorch's form):

        buf <- mu * buf + g        (buf starts at 0, so the first buf is g)
        p   <- p - lr * buf

    The buffer is a running sum of past gradients, each one weighted by a
    further factor mu per step, so steady directions build up speed.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _fraction("momentum", momentum)
        self.buffers = [0.0] * len(self.params)

    def step(self) -> None:
        """Move every parameter one step against its gradient."""
        lr, mu = self.lr, self.momentum
        if mu == 0.0:
            for p in self.params:
                p.data -= lr * p.grad
            return
        for i, p in enumerate(self.params):
            self.buffers[i] = mu * self.buffers[i] + p.grad
            p.data -= lr * self.buffers[i]

    def __repr__(self) -> str:
        return f"SGD({len(self.params)} params, lr={self.lr}, momentum={self.momentum})"


class Adam(Optimizer):
    """Adam: a step per parameter scaled by running estimates of the gradient's mean and size.

    With g the gradient at step t = 1, 2, ...:

        m <- b1 m + (1 - b1) g          running mean of g
        v <- b2 v + (1 - b2) g^2        running mean of g^2
        m_hat = m / (1 - b1^t)          bias correction: m and v start at 0,
        v_hat = v / (1 - b2^t)          which would shrink the first steps
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    The last line is evaluated in PyTorch's order (lr / (1 - b1^t) times m,
    over sqrt(v) / sqrt(1 - b2^t) + eps), so the floats match torch.optim.Adam.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (b1, b2), got {betas!r}")
        self.betas = (_fraction("betas[0]", betas[0]), _fraction("betas[1]", betas[1]))
        # eps keeps the step finite where a gradient has been 0 all along (a dead ReLU): v = 0 there,
        # and eps = 0 would divide 0 by 0.
        self.eps = _positive("eps", eps)
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        """One Adam update of every parameter."""
        b1, b2 = self.betas
        self.t += 1
        step_size = self.lr / (1.0 - b1**self.t)
        correction2_sqrt = math.sqrt(1.0 - b2**self.t)
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / correction2_sqrt + self.eps)

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} params, lr={self.lr}, betas={self.betas}, eps={self.eps})"


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale the gradients down so their joint length is at most ``max_norm``; return the length before.

    The norm is sqrt(sum of g^2) over all the parameters, taken as one vector.
    When that factor max_norm / (norm + 1e-6) is below 1 (PyTorch's test; the
    1e-6 guards a zero norm) every gradient is multiplied by it, which keeps
    the direction and shortens the step. The norm is computed so that it does
    not overflow or underflow where the gradients do not (see ``vector_norm``);
    a norm past the largest float is returned as inf, and the gradients are
    still scaled, each by max_norm over the true length.

    A gradient that is inf or NaN raises ``ValueError`` naming the parameter:
    scaling it would only spread the NaN.
    """
    params = list(params)
    max_norm = _positive("max_norm", max_norm)
    for i, p in enumerate(params):
        if not math.isfinite(p.grad):
            raise ValueError(f"cannot clip: the gradient of {p.name or f'parameter {i}'} is {p.grad!r}")
    grads = [p.grad for p in params]
    norm = vector_norm(grads)
    if math.isinf(norm):
        # Longer than any float: g * max_norm / norm, computed as (g / biggest) * max_norm / (norm / biggest).
        biggest = max(abs(g) for g in grads)
        relative = math.sqrt(math.fsum((g / biggest) ** 2 for g in grads))  # norm / biggest, in [1, sqrt(n)]
        for p in params:
            p.grad = (p.grad / biggest) * (max_norm / relative)
        return norm
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return norm


def vector_norm(xs: Iterable[float]) -> float:
    """sqrt(sum of x^2), without the overflow or underflow of squaring each x.

    The plain sum of squares is exact enough and matches PyTorch, so it is used
    whenever it is safe. When a square overflows (3e200 squared is inf) or
    underflows (1e-200 squared is 0), each x is divided by the largest |x|
    first, as LAPACK's nrm2 does: sqrt(sum (x/m)^2) * m.
    """
    xs = list(xs)
    plain = math.sqrt(math.fsum(x * x for x in xs))
    if 1e-150 < plain < 1e150 or not xs:
        return plain
    biggest = max(abs(x) for x in xs)
    if biggest == 0.0 or not math.isfinite(biggest):
        return biggest
    return biggest * math.sqrt(math.fsum((x / biggest) ** 2 for x in xs))
