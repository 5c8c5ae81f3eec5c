"""nn's fused op, ``cross_entropy``, as one row of the engine's op table.

-log softmax(z)[label] is one node whose local derivatives are p_i - y_i
(y the one-hot vector of the label): the softmax, the log and the pick of the
true class fused into one step. It is registered the way any op from outside
the engine is, through ``autograd.register``, with its label as the op's one
parameter: each node's rule holds its own label (``node._rule.label``), a
number, never a node.

The row carries the float forward and rule, and the numpy replay ``compile``
runs for a whole group of such nodes at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chainrule.autograd import OPS, Op, register
from chainrule.autograd.ops import Replay


def softmax_floats(zs: Sequence[float]) -> tuple[list[float], float]:
    """(softmax(z), log sum_j e^z_j) in floats, with the max subtracted."""
    m = max(zs)
    exps = [math.exp(z - m) for z in zs]
    total = math.fsum(exps)
    return [e / total for e in exps], m + math.log(total)


def _forward(*logits: float, label: int = 0) -> float:
    """CE = -log p_label = log sum_j e^z_j - z_label (the log-sum-exp with its max subtracted)."""
    for i, z in enumerate(logits):
        if not math.isfinite(z):
            raise ValueError(f"cross_entropy: logit {i} is {z!r}; the logits must be finite")
    if not 0 <= label < len(logits) or label != int(label):
        raise ValueError(f"cross_entropy: label {label!r} is not a class of {len(logits)} logits "
                         f"(0 .. {len(logits) - 1})")
    _, log_total = softmax_floats(logits)
    label = int(label)
    loss = log_total - logits[label]
    if math.isinf(loss):  # finite logits, an infinite loss: overflow, which the engine's ops refuse too
        raise OverflowError(f"cross_entropy: log-sum-exp {log_total!r} - logit {label} ({logits[label]!r}) "
                            "overflows a float (the largest is about 1.8e308)")
    return loss


def _rule(out, label: int) -> tuple[float, ...]:
    """d CE / d z_i = p_i - y_i: p_i for every logit but the label's, p_label - 1 for the label's."""
    p, _ = softmax_floats([z.data for z in out.parents])
    p[int(label)] -= 1.0
    return tuple(p)


# --- the same on arrays, for compile: every node's logits end to end (x.values, node i owning
# x.values[x.starts[i]:x.starts[i] + x.sizes[i]]) and one label per node (k).


def _replay_softmax(np, x):
    """Every node's softmax, end to end like its logits, and every node's log-sum-exp."""
    m = np.maximum.reduceat(x.values, x.starts)  # each node's largest logit
    exps = np.exp(x.values - np.repeat(m, x.sizes))
    totals = np.add.reduceat(exps, x.starts)
    return exps / np.repeat(totals, x.sizes), m + np.log(totals)


def _picked(np, x, labels):
    """Where each node's true-class logit sits in x.values.

    The labels are read from the nodes' rules at every call, so a label set
    there directly (not through ``set_label``) is checked here: out of range,
    it would pick another node's logit.
    """
    bad = (labels < 0) | (labels >= x.sizes) | (labels != np.floor(labels))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"cross_entropy: label {float(labels[i]):g} is not a class of {int(x.sizes[i])} logits "
                         f"(0 .. {int(x.sizes[i]) - 1})")
    return x.starts + labels.astype(np.intp)


def _replay_forward(np, x, labels):
    _, log_total = _replay_softmax(np, x)
    return log_total - x.values[_picked(np, x, labels)]


def _replay_local(np, x, labels, out):
    p, _ = _replay_softmax(np, x)
    p[_picked(np, x, labels)] -= 1.0  # p - y, y one-hot at the label
    return p


CROSS_ENTROPY = OPS.get("cross_entropy") or register(Op(
    "cross_entropy", _forward, _rule, ("d CE/dz_i = p_i - y_i",), -1,
    # No formula strings: the pick of one input by a number is not something the formula language can say.
    params=("label",), defaults=(0,),
    replay=Replay(_replay_forward, _replay_local, nary=True),
))
