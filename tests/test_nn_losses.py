"""nn.losses: values and gradients against hand arithmetic, mpmath, the unfused graph and PyTorch."""

from __future__ import annotations

import math

import mpmath
import pytest
from chainrule.autograd import OPS, Value, backward_steps, gradcheck, topological_order
from chainrule.nn import binary_cross_entropy, cross_entropy, hinge, mse, softmax
from chainrule.nn.losses import set_label
from conftest import require

from chainrule import autograd

mpmath.mp.dps = 50


def grads(values):
    return [v.grad for v in values]


# --- mse -----------------------------------------------------------------------------------------


def test_mse_by_hand():
    pred = [Value(1.0), Value(2.0), Value(4.0)]
    loss = mse(pred, [0.5, 2.0, 1.0])
    assert loss.data == pytest.approx((0.25 + 0.0 + 9.0) / 3, rel=1e-15)
    loss.backward()
    # dL/dpred_i = 2 (pred_i - y_i) / n
    assert grads(pred) == pytest.approx([2 * 0.5 / 3, 0.0, 2 * 3.0 / 3], rel=1e-15)


def test_mse_of_one_prediction():
    p = Value(3.0)
    loss = mse(p, 1.0)
    loss.backward()
    assert (loss.data, p.grad) == (4.0, 4.0)


@pytest.mark.parametrize(
    "pred, target, message",
    [([Value(1.0)], [1.0, 2.0], "1 predictions but 2 targets"), ([], [], "no predictions"),
     ([Value(1.0)], 2.0, "single target"), (Value(1.0), [1.0], "one prediction but 1 targets")],
)
def test_mse_mismatched_lengths(pred, target, message):
    with pytest.raises(ValueError, match=message):
        mse(pred, target)


# --- binary cross-entropy ---------------------------------------------------------------------------


def mp_bce(z, y):
    """-(y log s + (1-y) log(1-s)) with s = sigmoid(z), and its derivative sigmoid(z) - y, in mpmath.

    log s = -log(1 + e^-z) and log(1 - s) = -log(1 + e^z): no 1 - s to round to 0, and no difference
    of two large numbers, so the working precision is enough at any z.
    """
    z = mpmath.mpf(z)
    loss = y * mpmath.log1p(mpmath.exp(-z)) + (1 - y) * mpmath.log1p(mpmath.exp(z))
    return loss, (1 - y) / (1 + mpmath.exp(-z)) - y / (1 + mpmath.exp(z))


@pytest.mark.parametrize(
    "z, y",
    [(-3.0, 1), (0.5, 0), (0.0, 1), (40.0, 0), (40.0, 1), (-800.0, 1), (800.0, 0), (2.5, 0.3), (-1.0, 0.75),
     (1e-10, 0), (-1e-10, 1), (-37.0, 0), (700.0, 1), (-700.0, 0), (1e5, 0.3), (-1e5, 0.7), (1e300, 1)],
)
def test_bce_from_a_sigmoid_is_stable_and_exact(z, y):
    score = Value(z)
    p = score.sigmoid()
    loss = binary_cross_entropy(p, y)
    loss.backward()
    with mpmath.workdps(60):
        exact_loss, exact_grad = mp_bce(z, y)
    # relative accuracy everywhere, even where the loss is tiny: log(1 + e^-700) is 1e-304, and the
    # engine's softplus (max(z, 0) + log1p(e^-|z|)) gets it to the last bits
    assert loss.data == pytest.approx(float(exact_loss), rel=1e-15, abs=0.0)
    # dL/dz = sigmoid(z) - y
    assert score.grad == pytest.approx(float(exact_grad), rel=1e-15, abs=0.0)
    assert p not in set(topological_order(loss))  # computed from the score, not the rounded probability


@pytest.mark.parametrize("y, ops", [(0, ["", "softplus"]), (1, ["", "neg", "softplus"]),
                                    (0.3, ["", "softplus", "", "*", "-"])])
def test_bce_from_a_score_is_a_small_graph(y, ops):
    # softplus(z) for y = 0, softplus(-z) for y = 1, softplus(z) - y z between: one softplus node each
    loss = binary_cross_entropy(Value(2.0).sigmoid(), y)
    assert [node.op for node in topological_order(loss)] == ops


def test_bce_from_a_probability():
    p = Value(0.8)
    loss = binary_cross_entropy(p, 1)
    loss.backward()
    assert loss.data == pytest.approx(-math.log(0.8), rel=1e-15)
    assert p.grad == pytest.approx(-1 / 0.8, rel=1e-15)
    q = Value(0.8)
    soft = binary_cross_entropy(q, 0.25)
    soft.backward()
    assert soft.data == pytest.approx(-(0.25 * math.log(0.8) + 0.75 * math.log(0.2)), rel=1e-14)
    # d/dp -(y log p + (1-y) log(1-p)) = -y/p + (1-y)/(1-p)
    assert q.grad == pytest.approx(-0.25 / 0.8 + 0.75 / 0.2, rel=1e-14)
    assert binary_cross_entropy(Value(1.0), 1).data == 0.0  # only the term that counts is taken


def test_bce_mean_over_a_list():
    zs = [Value(-1.0), Value(2.0)]
    loss = binary_cross_entropy([z.sigmoid() for z in zs], [0, 1])
    expected = (float(mp_bce(-1.0, 0)[0]) + float(mp_bce(2.0, 1)[0])) / 2
    assert loss.data == pytest.approx(expected, rel=1e-14)


def test_bce_errors():
    with pytest.raises(ValueError, match="log"):
        binary_cross_entropy(Value(0.0), 1)  # log(0): the probability has rounded away, use the score
    with pytest.raises(ValueError, match="not a probability"):
        binary_cross_entropy(Value(1.5), 1)
    with pytest.raises(ValueError, match="target 2.0 is not between 0 and 1"):
        binary_cross_entropy(Value(0.0).sigmoid(), 2)


# --- softmax -----------------------------------------------------------------------------------------


def mp_softmax(zs):
    exps = [mpmath.exp(mpmath.mpf(z)) for z in zs]
    total = mpmath.fsum(exps)
    return [e / total for e in exps]


def test_softmax_values_and_gradients():
    zs = [Value(1.0), Value(-0.5), Value(2.0)]
    p = softmax(zs)
    exact = mp_softmax([1.0, -0.5, 2.0])
    assert [q.data for q in p] == pytest.approx([float(e) for e in exact], rel=1e-14)
    assert math.fsum(q.data for q in p) == pytest.approx(1.0, rel=1e-15)
    p[0].backward()
    # d p_0 / d z_j = p_0 (delta_0j - p_j)
    expected = [float(exact[0] * ((1 if j == 0 else 0) - exact[j])) for j in range(3)]
    assert grads(zs) == pytest.approx(expected, rel=1e-12)


def test_softmax_is_stable_for_large_logits():
    p = softmax([1000.0, 1001.0, 999.0])
    assert [q.data for q in p] == pytest.approx([float(e) for e in mp_softmax([0.0, 1.0, -1.0])], rel=1e-14)


# --- the fused cross-entropy -----------------------------------------------------------------------------


def mp_cross_entropy(zs, label):
    log_total = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(z)) for z in zs))
    return log_total - zs[label]


def unfused_cross_entropy(zs, label):
    """-log softmax(z)[label] from the engine's own ops: exp, sum, log, minus."""
    return autograd.sum([z.exp() for z in zs]).log() - zs[label]


CASES = [([2.0, 1.0, 0.1], 0), ([2.0, 1.0, 0.1], 2), ([-1.5, 0.3, 4.0, 0.0], 1), ([0.7, -0.7], 1)]


@pytest.mark.parametrize("logits, label", CASES)
def test_cross_entropy_is_one_node_with_local_gradients_p_minus_y(logits, label):
    zs = [Value(z) for z in logits]
    loss = cross_entropy(zs, label)
    assert loss.op == "cross_entropy" and loss.parents == tuple(zs)
    assert loss.data == pytest.approx(float(mp_cross_entropy(logits, label)), rel=1e-14)
    p = mp_softmax(logits)
    expected = [float(p[i] - (1 if i == label else 0)) for i in range(len(logits))]
    assert loss.local_grads() == pytest.approx(expected, rel=1e-13, abs=1e-16)
    loss.backward()
    assert grads(zs) == pytest.approx(expected, rel=1e-13, abs=1e-16)


@pytest.mark.parametrize("logits, label", CASES)
def test_fused_and_unfused_cross_entropy_agree(logits, label):
    fused_in, unfused_in = [Value(z) for z in logits], [Value(z) for z in logits]
    fused, unfused = cross_entropy(fused_in, label), unfused_cross_entropy(unfused_in, label)
    fused.backward()
    unfused.backward()
    assert fused.data == pytest.approx(unfused.data, rel=1e-14)
    assert grads(fused_in) == pytest.approx(grads(unfused_in), rel=1e-12, abs=1e-15)
    assert len(topological_order(fused)) == len(logits) + 1 < len(topological_order(unfused))


def test_cross_entropy_inside_a_larger_graph_passes_gradcheck():
    w = [Value(0.3, name="w0"), Value(-1.2, name="w1"), Value(0.8, name="w2")]

    def loss():
        x = 1.5
        return cross_entropy([w[0] * x, (w[1] * x).tanh(), w[2] * w[0]], 1)

    report = gradcheck(loss, w)
    assert report.ok, str(report)


def test_cross_entropy_is_stable_where_the_unfused_graph_overflows():
    zs = [Value(1000.0), Value(0.0), Value(1001.0)]
    loss = cross_entropy(zs, 0)
    assert loss.data == pytest.approx(float(mp_cross_entropy([1000.0, 0.0, 1001.0], 0)), rel=1e-14)
    loss.backward()
    p = mp_softmax([0.0, -1000.0, 1.0])
    assert grads(zs) == pytest.approx([float(p[0] - 1), float(p[1]), float(p[2])], rel=1e-13, abs=1e-300)
    with pytest.raises(OverflowError, match="exp"):
        unfused_cross_entropy([Value(1000.0), Value(0.0)], 0)


def test_cross_entropy_in_the_op_table_and_the_step_table():
    op = OPS["cross_entropy"]
    assert op.arity == -1 and op.text == ("d CE/dz_i = p_i - y_i",)
    assert op.forward(2.0, 1.0, 0.1) == pytest.approx(float(mp_cross_entropy([2.0, 1.0, 0.1], 0)), rel=1e-14)
    zs = [Value(2.0), Value(1.0)]
    (step,) = list(backward_steps(cross_entropy(zs, 1)))
    assert step.rule == "d CE/dz_i = p_i - y_i"
    assert [e.local for e in step.edges] == pytest.approx([float(p) for p in mp_softmax([2.0, 1.0])][:1] + [
        float(mp_softmax([2.0, 1.0])[1] - 1)], rel=1e-14)
    assert isinstance(cross_entropy(zs, 1)._rule.label, int)  # a number, not a node: no reference cycle


def test_cross_entropy_mean_over_a_batch():
    rows = [[Value(1.0), Value(2.0)], [Value(0.5), Value(-0.5)]]
    loss = cross_entropy(rows, [0, 0])
    expected = (mp_cross_entropy([1.0, 2.0], 0) + mp_cross_entropy([0.5, -0.5], 0)) / 2
    assert loss.data == pytest.approx(float(expected), rel=1e-14)
    loss.backward()
    p = mp_softmax([1.0, 2.0])
    assert grads(rows[0]) == pytest.approx([float((p[0] - 1) / 2), float(p[1] / 2)], rel=1e-13)


@pytest.mark.parametrize(
    "logits, label, error, message",
    [
        ([1.0, 2.0], 2, ValueError, r"label 2 is not a class of 2 logits \(0 .. 1\)"),
        ([1.0, 2.0], -1, ValueError, "label -1"),
        ([1.0, 2.0], True, TypeError, "class index"),
        ([1.0, 2.0], 1.0, TypeError, "class index"),
        ([], 0, ValueError, "non-empty list of logits"),
        ([1.0, math.inf], 0, ValueError, "logit 1 is inf"),
        ([[1.0, 2.0]], [0, 1], ValueError, "1 rows of logits but 2 labels"),
    ],
)
def test_cross_entropy_errors(logits, label, error, message):
    with pytest.raises(error, match=message):
        cross_entropy(logits, label)


@pytest.mark.parametrize("logits, first, then", [([2.0, 1.0, 0.1], 0, 2), ([-1.5, 0.3, 4.0, 0.0], 3, 1)])
def test_set_label_gives_the_node_the_rule_of_the_new_class(logits, first, then):
    zs = [Value(z) for z in logits]
    loss = cross_entropy(zs, first)
    set_label(loss, then)
    assert loss._rule.label == then and isinstance(loss._rule.label, int)
    # The node's value stays as built; its local derivatives are now p_i - y_i for the new one-hot y.
    assert loss.data == pytest.approx(float(mp_cross_entropy(logits, first)), rel=1e-14)
    p = mp_softmax(logits)
    expected = [float(p[i] - (1 if i == then else 0)) for i in range(len(logits))]
    assert loss.local_grads() == pytest.approx(expected, rel=1e-13, abs=1e-16)


def test_set_label_on_a_tape_replays_the_new_class_against_mpmath():
    zs = [Value(z) for z in (2.0, 1.0, 0.1)]
    loss = cross_entropy(zs, 0)
    tape = autograd.compile(loss * 2.0, zs)
    for label in (2, 1, 0):
        set_label(loss, label)
        assert tape() == pytest.approx(2 * float(mp_cross_entropy([2.0, 1.0, 0.1], label)), rel=1e-14)
        p = mp_softmax([2.0, 1.0, 0.1])
        expected = [2 * float(p[i] - (1 if i == label else 0)) for i in range(3)]
        assert grads(zs) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    "make, label, error, message",
    [
        (lambda zs: cross_entropy(zs, 0), 2, ValueError, r"label 2 is not a class of 2 logits \(0 .. 1\)"),
        (lambda zs: cross_entropy(zs, 0), -1, ValueError, "label -1"),
        (lambda zs: cross_entropy(zs, 0), True, TypeError, "class index"),
        (lambda zs: cross_entropy(zs, 0), 1.0, TypeError, "class index"),
        (lambda zs: zs[0] + zs[1], 0, ValueError, "made by cross_entropy, got op '\\+'"),
        (lambda zs: 0.5, 0, ValueError, "made by cross_entropy, got float"),
        # a node given a rule of its own by hand holds no label to change
        (lambda zs: autograd.apply(OPS["cross_entropy"], zs, rule=lambda out: (0.0, 0.0)), 1, ValueError,
         "rule of its own"),
    ],
)
def test_set_label_errors(make, label, error, message):
    node = make([Value(1.0), Value(2.0)])
    with pytest.raises(error, match=message):
        set_label(node, label)
    if isinstance(node, Value) and node.op == "cross_entropy" and hasattr(node._rule, "params"):
        assert node._rule.label == 0  # unchanged
    assert OPS["cross_entropy"].defaults == (0,)


def test_a_label_set_out_of_range_behind_set_labels_back_is_refused_by_the_tape():
    # Without the check the replay would pick a logit of the next node in the group.
    rows = [[Value(1.0), Value(2.0)], [Value(0.5), Value(-0.5)]]
    nodes = [cross_entropy(row, 0) for row in rows]
    tape = autograd.compile(autograd.sum(nodes), [z for row in rows for z in row])
    nodes[0]._rule.label = 2
    with pytest.raises(ValueError, match=r"cross_entropy: label 2 is not a class of 2 logits \(0 .. 1\)"):
        tape()


# --- hinge -----------------------------------------------------------------------------------------------


def test_hinge_by_hand():
    s = [Value(0.3), Value(0.3), Value(2.0), Value(-0.5)]
    loss = hinge(s, [1, 0, 1, -1])
    # max(0, 1 - y s) with y = +1, -1, +1, -1: 0.7, 1.3, 0, 0.5
    assert loss.data == pytest.approx((0.7 + 1.3 + 0.0 + 0.5) / 4, rel=1e-15)
    loss.backward()
    # -y / n where the margin is violated, 0 where it is not
    assert grads(s) == [-0.25, 0.25, 0.0, 0.25]


def test_hinge_labels_must_be_binary():
    with pytest.raises(ValueError, match="label 2 must be 0 or 1"):
        hinge(Value(1.0), 2)


# --- targets that are Values: leaves a compiled tape refills --------------------------------------------


def same_shape(a: Value, b: Value) -> bool:
    """Two graphs with the same ops wired the same way (leaves may differ)."""
    order_a, order_b = topological_order(a), topological_order(b)
    index_a, index_b = {v: i for i, v in enumerate(order_a)}, {v: i for i, v in enumerate(order_b)}
    return len(order_a) == len(order_b) and all(
        u.op == v.op and [index_a[p] for p in u.parents] == [index_b[p] for p in v.parents]
        for u, v in zip(order_a, order_b, strict=True)
    )


def test_mse_with_value_targets():
    preds, numbers = [1.0, 2.0, 4.0], [0.5, 2.0, 1.0]
    with_numbers, with_values = [Value(p) for p in preds], [Value(p) for p in preds]
    targets = [Value(t) for t in numbers]
    a, b = mse(with_numbers, numbers), mse(with_values, targets)
    a.backward()
    b.backward()
    assert b.data == a.data == pytest.approx((0.25 + 0.0 + 9.0) / 3, rel=1e-15)
    assert grads(with_values) == grads(with_numbers)
    # d/dt_i (1/n) sum (p_i - t_i)^2 = -2 (p_i - t_i) / n
    assert grads(targets) == pytest.approx([-2 * 0.5 / 3, 0.0, -2 * 3.0 / 3], rel=1e-15)
    assert same_shape(a, b)  # a number target is a constant leaf where a Value is a leaf


def test_hinge_with_value_signs():
    scores, labels, signs = [0.3, 0.3, 2.0, -0.5], [1, 0, 1, -1], [1.0, -1.0, 1.0, -1.0]
    with_labels, with_signs = [Value(s) for s in scores], [Value(s) for s in scores]
    ys = [Value(y) for y in signs]
    a, b = hinge(with_labels, labels), hinge(with_signs, ys)
    a.backward()
    b.backward()
    assert b.data == a.data == pytest.approx((0.7 + 1.3 + 0.0 + 0.5) / 4, rel=1e-15)
    assert grads(with_signs) == grads(with_labels) == [-0.25, 0.25, 0.0, 0.25]
    # d/dy max(0, 1 - y s) / n = -s / n where the margin is violated, 0 elsewhere
    assert grads(ys) == [-0.3 / 4, -0.3 / 4, 0.0, 0.5 / 4]
    assert same_shape(a, b)


def test_a_value_label_of_hinge_is_the_sign_itself():
    with pytest.raises(ValueError, match=r"a Value label is the sign y itself and must hold -1.0 or 1.0, got 0.0"):
        hinge(Value(1.0), Value(0.0))


@pytest.mark.parametrize("z", [-800.0, -3.0, 0.0, 0.5, 40.0, 800.0])
@pytest.mark.parametrize("t", [0.0, 1.0])
def test_bce_with_a_value_target_is_the_number_form_exactly(z, t):
    # y softplus(-z) + (1 - y) softplus(z) keeps both terms; at y = 0 or 1 one of them is multiplied by 0
    number_score, value_score, y = Value(z), Value(z), Value(t)
    a = binary_cross_entropy(number_score.sigmoid(), t)
    b = binary_cross_entropy(value_score.sigmoid(), y)
    a.backward()
    b.backward()
    assert b.data == a.data and value_score.grad == number_score.grad
    assert y.grad == pytest.approx(-z, rel=1e-15)  # d/dy (softplus(z) - y z) = -z


def test_bce_with_a_soft_value_target():
    zs, targets = [2.5, -1.0], [0.3, 0.75]
    scores, ys = [Value(z) for z in zs], [Value(t) for t in targets]
    loss = binary_cross_entropy([s.sigmoid() for s in scores], ys)
    loss.backward()
    exact = [mp_bce(z, mpmath.mpf(t)) for z, t in zip(zs, targets, strict=True)]
    assert loss.data == pytest.approx(float((exact[0][0] + exact[1][0]) / 2), rel=1e-14)
    assert grads(scores) == pytest.approx([float(g / 2) for _, g in exact], rel=1e-13)  # (sigmoid(z) - y) / n
    assert grads(ys) == pytest.approx([-z / 2 for z in zs], rel=1e-14)


def test_bce_from_a_probability_with_a_value_target():
    p, y = Value(0.8), Value(0.25)
    loss = binary_cross_entropy(p, y)
    loss.backward()
    assert loss.data == pytest.approx(-(0.25 * math.log(0.8) + 0.75 * math.log(0.2)), rel=1e-14)
    assert p.grad == pytest.approx(-0.25 / 0.8 + 0.75 / 0.2, rel=1e-14)
    assert y.grad == pytest.approx(-math.log(0.8 / 0.2), rel=1e-14)  # d/dy = -log(p / (1 - p))
    with pytest.raises(ValueError, match="target 1.5 is not between 0 and 1"):
        binary_cross_entropy(Value(0.0).sigmoid(), Value(1.5))
    with pytest.raises(TypeError, match="a target must be a number or a Value, got str"):
        mse(Value(0.0), "1")


@pytest.mark.parametrize(
    "loss, prediction, numbers",
    [
        (hinge, lambda s: s, [1.0, -1.0, -1.0, 1.0]),
        (mse, lambda s: s, [0.5, -2.0, 3.0, 0.0]),
        (binary_cross_entropy, lambda s: s.sigmoid(), [1.0, 0.0, 0.0, 0.3]),
    ],
)
def test_a_tape_reads_new_targets_from_value_targets(loss, prediction, numbers):
    # One trace; then for each target the replay equals the loss built with that number as target.
    score, target = Value(0.4), Value(numbers[0])
    tape = autograd.compile(loss(prediction(score), target), [score, target])
    for t, s in zip(numbers, [0.4, 1.7, -0.2, -2.5], strict=True):
        score.data, target.data = s, t
        replayed, slope = tape(), score.grad
        fresh = Value(s)
        built = loss(prediction(fresh), t if loss is not hinge else (1 if t == 1.0 else 0))
        built.backward()
        assert replayed == pytest.approx(built.data, rel=1e-12)
        assert slope == pytest.approx(fresh.grad, rel=1e-12)



# --- PyTorch as a second oracle --------------------------------------------------------------------------


@pytest.fixture
def torch():
    require("torch")
    import torch

    return torch


def torch_leaf(torch, xs):
    return torch.tensor(xs, dtype=torch.float64, requires_grad=True)


def test_losses_match_torch(torch):
    F = torch.nn.functional
    xs = [0.3, -1.7, 2.4, 0.05]
    targets = [1.0, 0.0, 0.0, 1.0]

    ours = [Value(x) for x in xs]
    theirs = torch_leaf(torch, xs)
    loss = mse(ours, [0.5, -1.0, 2.0, 0.0])
    loss.backward()
    ref = F.mse_loss(theirs, torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    assert grads(ours) == pytest.approx(theirs.grad.tolist(), rel=1e-14)

    ours = [Value(x) for x in xs]
    theirs = torch_leaf(torch, xs)
    loss = binary_cross_entropy([v.sigmoid() for v in ours], targets)
    loss.backward()
    ref = F.binary_cross_entropy_with_logits(theirs, torch.tensor(targets, dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    assert grads(ours) == pytest.approx(theirs.grad.tolist(), rel=1e-13)

    probs = [0.2, 0.9, 0.55, 0.01]
    ours = [Value(p) for p in probs]
    theirs = torch_leaf(torch, probs)
    loss = binary_cross_entropy(ours, targets)
    loss.backward()
    ref = F.binary_cross_entropy(theirs, torch.tensor(targets, dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    assert grads(ours) == pytest.approx(theirs.grad.tolist(), rel=1e-13)

    ours = [Value(x) for x in xs]
    theirs = torch_leaf(torch, xs)
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
    loss = hinge(ours, [1, 0, 0, 1])
    loss.backward()
    ref = torch.clamp(1 - signs * theirs, min=0).mean()
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-15)
    assert grads(ours) == pytest.approx(theirs.grad.tolist(), rel=1e-15)


def test_softmax_and_cross_entropy_match_torch(torch):
    F = torch.nn.functional
    rows = [[2.0, 1.0, 0.1, -3.0], [0.0, 0.0, 5.0, 1.0], [-1.0, 2.5, 2.4, 0.3]]
    labels = [0, 3, 2]
    ours = [[Value(z) for z in row] for row in rows]
    theirs = torch_leaf(torch, rows)
    loss = cross_entropy(ours, labels)
    loss.backward()
    ref = F.cross_entropy(theirs, torch.tensor(labels))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    for row, ref_row in zip(ours, theirs.grad.tolist(), strict=True):
        assert grads(row) == pytest.approx(ref_row, rel=1e-12, abs=1e-16)

    zs = [Value(z) for z in rows[2]]
    p = softmax(zs)
    ref = F.softmax(torch.tensor(rows[2], dtype=torch.float64), 0)
    assert [q.data for q in p] == pytest.approx(ref.tolist(), rel=1e-14)


def test_a_label_that_is_not_a_number_is_refused_by_name():
    with pytest.raises(TypeError, match="hinge: a label must be a number or a Value, got str '1'"):
        hinge(Value(1.0), "1")
    with pytest.raises(TypeError, match="hinge: a label must be a number or a Value, got bool True"):
        hinge(Value(1.0), True)  # a bool is a slip, as for every number nn reads
    assert hinge(Value(0.25), 1).data == 0.75 and hinge(Value(0.25), 0).data == 1.25  # max(0, 1 - y*s)
