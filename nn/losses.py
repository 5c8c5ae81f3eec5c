"""Loss functions: one number that says how wrong the predictions are.

Each loss takes one prediction and its target, or lists of them, in which
case it returns the mean over the list. Targets are numbers (class indices
for the classification losses); predictions are Values (numbers are
accepted and become leaves), and the result is a Value to call
``backward()`` on.

``mse``, ``binary_cross_entropy`` and ``hinge`` also take a target that is a
Value: it enters the graph as it is, a leaf like any other, instead of a
constant made from a number. A compiled tape (``autograd.compile``) can then
read a new target from it on every call, which is how ``fit(...,
compiled=True)`` replays one traced step for every batch of the same size.

``cross_entropy`` is a single node of its own (op ``cross_entropy``, a row
of the engine's op table registered in ``nn.fused``): the softmax, the log
and the pick of the true class fused into one step whose local derivatives
are simply p_i - y_i. Its label is the op's parameter, held by the node's
rule, not by a leaf; ``set_label`` changes it, and a compiled tape reads it
again at every call.
The other losses are compositions of the engine's ops, so their graphs show
every step.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from chainrule.autograd import Value, apply
from chainrule.autograd.ops import Bound

from chainrule import autograd

from .fused import CROSS_ENTROPY

# --- helpers -----------------------------------------------------------------------


def _value(x, what: str) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(f"{what} must be a Value or a number, got {type(x).__name__} {x!r:.40}")


def _target(y, what: str) -> Value | float:
    """A target as the graph will use it: a Value stays itself (a leaf to refill), a number a float."""
    if isinstance(y, Value):
        return y
    if isinstance(y, numbers.Real) and not isinstance(y, bool):
        return float(y)
    raise TypeError(f"{what} must be a number or a Value, got {type(y).__name__} {y!r:.40}")


def _is_list(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _pairs(pred, target, loss: str) -> list[tuple]:
    """Prediction/target pairs: one pair, or the pairs of two lists of equal, non-zero length."""
    if not _is_list(pred):
        if _is_list(target):
            raise ValueError(f"{loss}: one prediction but {len(target)} targets")
        return [(pred, target)]
    if not _is_list(target):
        raise ValueError(f"{loss}: {len(pred)} predictions but a single target {target!r:.40}")
    if len(pred) != len(target):
        raise ValueError(f"{loss}: {len(pred)} predictions but {len(target)} targets")
    if not pred:
        raise ValueError(f"{loss}: no predictions (an empty list has no mean)")
    return list(zip(pred, target, strict=True))


def mean(terms: list[Value]) -> Value:
    """(t1 + ... + tn) / n as one sum node and one division; a single term is returned as is."""
    if len(terms) == 1:
        return terms[0]
    return autograd.sum(terms) / len(terms)


# --- mean squared error ----------------------------------------------------------------


def mse(pred, target) -> Value:
    """Mean squared error, (1/n) * sum_i (pred_i - target_i)^2.

    Its gradient is d/d pred_i = 2 (pred_i - target_i) / n. A number target
    becomes a constant leaf; a Value target is used as it is, so it gets the
    gradient d/d target_i = -2 (pred_i - target_i) / n too.
    """
    pairs = _pairs(pred, target, "mse")
    return mean([(_value(p, "mse: a prediction") - _target(t, "mse: a target")) ** 2 for p, t in pairs])


# --- binary cross-entropy -------------------------------------------------------------


def binary_cross_entropy(p, y) -> Value:
    """-(y log p + (1 - y) log(1 - p)) for a probability p and a target y in [0, 1].

    Stable: when ``p`` was made by ``sigmoid(z)`` (as a model's probability
    usually is), the loss is computed from the score z as
    softplus(z) - y z, which equals the formula above but never takes the
    log of a probability that has rounded to 0 or 1. Its gradient is then
    dL/dz = sigmoid(z) - y. The graph goes from z straight to the loss; the
    sigmoid node is not part of it.

    For any other ``p`` the formula is used as written (only the terms whose
    weight y or 1 - y is not zero), and a p of exactly 0 or 1 where its log is
    needed is a ``ValueError`` from ``log``.

    A target ``y`` that is a Value (holding a number in [0, 1]) is a leaf of
    the graph: both terms are kept, weighted by y and 1 - y, since the value
    it holds may change (from a score: y softplus(-z) + (1 - y) softplus(z),
    exactly the number form's value for y = 0 or 1). Its gradient is
    dL/dy = -z from a score, -log(p / (1 - p)) from a probability.
    """
    terms = []
    for prob, target in _pairs(p, y, "binary_cross_entropy"):
        prob = _value(prob, "binary_cross_entropy: a probability")
        t = _target(target, "binary_cross_entropy: a target")
        held = t.data if isinstance(t, Value) else t
        if not 0.0 <= held <= 1.0:
            raise ValueError(f"binary_cross_entropy: target {held!r} is not between 0 and 1")
        if prob.op == "sigmoid":
            terms.append(_bce_from_score(prob.parents[0], t))
        else:
            terms.append(_bce_from_probability(prob, t))
    return mean(terms)


def _bce_from_score(z: Value, t: Value | float) -> Value:
    # -(t log s(z) + (1-t) log(1 - s(z))) with log s(z) = -softplus(-z) and log(1 - s(z)) = -softplus(z).
    # softplus is one op of the engine, log(1 + e^a) computed as max(a, 0) + log1p(e^-|a|): exact to the
    # last bit for every score, and one node in the graph (its local derivative is sigmoid).
    if isinstance(t, Value):  # a leaf whose number may change: keep both terms
        return t * (-z).softplus() + (1 - t) * z.softplus()
    # A number drops the term it weights by 0, and folds the two into one where
    # neither weight is 0 (softplus(-z) = softplus(z) - z).
    if t == 1.0:
        return (-z).softplus()
    if t == 0.0:
        return z.softplus()
    return z.softplus() - t * z


def _bce_from_probability(p: Value, t: Value | float) -> Value:
    if not 0.0 <= p.data <= 1.0:
        raise ValueError(f"binary_cross_entropy: {p.data!r} is not a probability (it must be in [0, 1])")
    if isinstance(t, Value):  # a leaf whose number may change: keep both terms
        return -(t * p.log() + (1 - t) * (1 - p).log())
    if t == 1.0:
        return -p.log()
    if t == 0.0:
        return -(1 - p).log()
    return -(t * p.log() + (1 - t) * (1 - p).log())


# --- softmax and the fused cross-entropy --------------------------------------------------


def _logits(logits, what: str) -> list:
    if not _is_list(logits) or not logits:
        raise ValueError(f"{what} needs a non-empty list of logits, got {logits!r:.60}")
    return list(logits)


def softmax(logits: Sequence) -> list[Value]:
    """p_i = e^(z_i - m) / sum_j e^(z_j - m) with m = max z: probabilities that sum to 1.

    Subtracting the largest logit changes nothing mathematically (it cancels
    in the ratio) but keeps every exponent <= 0, so exp cannot overflow. It is
    subtracted as a number, a constant of the graph.
    """
    zs = [_value(z, "softmax: a logit") for z in _logits(logits, "softmax")]
    m = max(z.data for z in zs)
    exps = [(z - m).exp() for z in zs]
    total = autograd.sum(exps)
    return [e / total for e in exps]


#: The rule a cross_entropy node records: its op-table row and its label (``rule.label``), never a node.
CrossEntropyRule = Bound


def _class_index(label, classes: int) -> int:
    """``label`` as an int class index of ``classes`` logits, or the error that says why not."""
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise TypeError(f"cross_entropy: the label must be a class index, an int, not {type(label).__name__}")
    if not 0 <= label < classes:
        raise ValueError(f"cross_entropy: label {label} is not a class of {classes} logits (0 .. {classes - 1})")
    return int(label)


def _cross_entropy_one(logits, label) -> Value:
    zs = [_value(z, "cross_entropy: a logit") for z in _logits(logits, "cross_entropy")]
    label = _class_index(label, len(zs))
    return apply(CROSS_ENTROPY, zs, params=(label,))


def cross_entropy(logits, label) -> Value:
    """-log softmax(logits)[label], as one node whose local derivatives are p_i - y_i.

    ``cross_entropy([z0, z1, z2], 2)`` for one example; a list of logit lists
    and a list of labels give the mean over the examples.
    """
    if _is_list(logits) and logits and _is_list(logits[0]):
        if not _is_list(label):
            raise ValueError(f"cross_entropy: {len(logits)} rows of logits but a single label {label!r:.40}")
        if len(label) != len(logits):
            raise ValueError(f"cross_entropy: {len(logits)} rows of logits but {len(label)} labels")
        return mean([_cross_entropy_one(z, c) for z, c in zip(logits, label, strict=True)])
    return _cross_entropy_one(logits, label)


def set_label(node: Value, label: int) -> None:
    """Make ``label`` the true class of a node made by ``cross_entropy``.

    The label lives in the node's rule, not in a leaf, so this is how a
    compiled tape (``autograd.compile``) is given the labels of a new batch:
    the tape reads each cross_entropy node's label again at every call, and
    replays -log softmax(z)[label] with local derivatives p_i - y_i for the
    new one-hot y. Only the label changes: the node's ``.data`` keeps the
    value it was built with, as every node of a traced graph keeps its value
    when its leaves are refilled (the tape recomputes, the graph does not).

    Raises ``ValueError`` for a node that is not a cross_entropy node of its
    own (or a label that is not a class of its logits), ``TypeError`` for a
    label that is not an int.
    """
    if not isinstance(node, Value) or node.op != "cross_entropy":
        what = f"op {node.op!r}" if isinstance(node, Value) else type(node).__name__
        raise ValueError(f"set_label needs a node made by cross_entropy, got {what}")
    if type(node._rule) is not Bound:  # a rule of its own, set by hand: it holds no label
        raise ValueError("set_label: this cross_entropy node has a rule of its own; make it with cross_entropy()")
    node._rule.label = _class_index(label, len(node.parents))


# --- hinge ----------------------------------------------------------------------------------


def hinge_sign(label) -> float:
    """The y of the hinge loss for a class label: +1.0 for label 1, -1.0 for label 0 (a -1 stays -1)."""
    t = _target(label, "hinge: a label")
    t = t.data if isinstance(t, Value) else t
    if t not in (0.0, 1.0, -1.0):
        raise ValueError(f"hinge: label {label!r} must be 0 or 1 (or -1 for the negative class)")
    return 1.0 if t == 1.0 else -1.0


def _sign_leaf(y: Value) -> Value:
    if y.data not in (1.0, -1.0):
        raise ValueError(f"hinge: a Value label is the sign y itself and must hold -1.0 or 1.0, got {y.data!r} "
                         "(give the class as a number, 0 or 1, to have it mapped)")
    return y


def hinge(score, y) -> Value:
    """max(0, 1 - y * score), with y = -1 or +1: zero once a point is on the right side by a margin of 1.

    Class indices are mapped: label 0 means y = -1 and label 1 means y = +1
    (a -1 is taken as it is). Its gradient is -y where the margin is violated
    (y * score < 1) and 0 elsewhere.

    A label that is a Value is the sign y itself (it must hold -1 or +1) and
    multiplies the score in the graph as it is, where a number's sign becomes
    a constant leaf; the graph has the same shape either way.
    """
    terms = []
    for s, label in _pairs(score, y, "hinge"):
        sign = _sign_leaf(label) if isinstance(label, Value) else hinge_sign(label)
        terms.append((1 - sign * _value(s, "hinge: a score")).relu())
    return mean(terms)
