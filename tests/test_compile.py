"""``autograd.compile``: the numpy replay gives what ``backward()`` gives.

The dynamic engine is the referee here (the oracle tests hold it to mpmath
and PyTorch); a replay must agree with it to 1e-12 relative:

    |replayed - dynamic| <= 1e-12 * max(|dynamic|, S)

where S is the sum over paths of |product of edge derivatives| (computed
below by a backward pass on absolute values). S only matters where paths
cancel, and there the two engines add the same terms in different orders.

Covered: random graphs of every op (``strategies.graphs``); each op replayed
at new values on both sides of its branches (relu, abs, the cases of ``**``),
so nothing is frozen at trace time; domain errors raised exactly as the
dynamic engine raises them; the nn losses, cross_entropy with labels changed
after the trace; a training step against PyTorch; what the tape reads and
writes; and what it refuses.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from chainrule.autograd import OPS, CompileError, Op, Value, topological_order
from conftest import require
from hypothesis import given, settings
from op_cases import CASES, engine_keys
from strategies import Graph, build, graphs

from chainrule import autograd

RTOL = 1e-12
GRAPHS = 300


def path_sums(root: Value) -> dict[Value, float]:
    """S for every node: the sum over paths from root of |product of local derivatives|."""
    total = {root: 1.0}
    for node in reversed(topological_order(root)):
        s = total.get(node, 0.0)
        for parent, d in zip(node.parents, node.local_grads(), strict=True):
            total[parent] = total.get(parent, 0.0) + s * abs(d)
    return total


def agree(replayed: float, dynamic: float, scale: float = 0.0) -> bool:
    """Equal within RTOL of the larger of |dynamic| and ``scale``; nan matches nan, inf matches inf."""
    if math.isnan(dynamic) or math.isinf(dynamic):
        return replayed == dynamic or (math.isnan(replayed) and math.isnan(dynamic))
    return abs(replayed - dynamic) <= RTOL * max(abs(dynamic), scale)


def check_against_backward(output: Value, leaves: list[Value]) -> autograd.Tape:
    """Compile, replay, and compare value and every leaf's grad with backward() on the same graph."""
    for leaf in leaves:
        leaf.grad = 0.0
    output.backward()
    expected = [leaf.grad for leaf in leaves]
    scale = path_sums(output)
    tape = autograd.compile(output, leaves)
    for leaf in leaves:
        leaf.grad = 12345.0  # the tape assigns; it must not add to what is there
    value = tape()
    assert agree(value, output.data), (value, output.data)
    for leaf, want in zip(leaves, expected, strict=True):
        assert agree(leaf.grad, want, scale.get(leaf, 0.0)), (leaf, leaf.grad, want)
    return tape


# --- the op table -----------------------------------------------------------------------------------


def test_every_op_in_the_table_has_a_vectorized_rule():
    pytest.importorskip("chainrule.nn.losses")  # nn registers cross_entropy, with its replay, when imported
    missing = sorted(key for key, row in OPS.items() if row.replay is None)
    assert not missing, f"ops compile cannot replay: {missing}"


@settings(max_examples=GRAPHS)
@given(graphs())
def test_random_graphs_replay_exactly_as_backward(graph: Graph):
    built = build(graph)
    tape = check_against_backward(built.output, built.leaves)
    counts: dict[str, int] = {}
    for node in topological_order(built.output):
        if node.parents:
            counts[node.op] = counts.get(node.op, 0) + 1
    assert tape.ops() == counts
    assert tape.nodes == len(topological_order(built.output))


# --- each op, replayed at values other than the traced ones ------------------------------------------
# Each case: a function of a list of leaves giving the list of the op's results, the values to trace
# at, and the values to replay at (crossing every branch of the op). The output is sum((i+1) * r_i), so
# every result has its own weight and a wrong element shows in its own leaf's gradient.

def _make(case):
    return lambda *vs: case.build(*vs, *case.params)


#: row key -> (how to build it from leaves, values to trace at, values to replay at), from tests/op_cases.py
CASES_BY_KEY = {key: (_make(case), list(case.trace), list(case.replay)) for key, case in CASES.items()}


def _run_case(make, trace: list, replay: list) -> None:
    width = len(trace[0])  # every case's values are tuples, one number per input
    flat = [x for row in trace for x in row]
    leaves = [Value(x) for x in flat]
    groups = [leaves[i:i + width] for i in range(0, len(leaves), width)]
    output = autograd.sum([(i + 1) * make(*g) for i, g in enumerate(groups)])
    tape = autograd.compile(output, leaves)
    new = [x for row in replay for x in row]
    for leaf, x in zip(leaves, new, strict=True):
        leaf.data = x
    value = tape()
    replayed = [leaf.grad for leaf in leaves]
    # the oracle: the same formula built afresh at the new values
    fresh = [Value(x) for x in new]
    groups = [fresh[i:i + width] for i in range(0, len(fresh), width)]
    again = autograd.sum([(i + 1) * make(*g) for i, g in enumerate(groups)])
    again.backward()
    assert agree(value, again.data), (value, again.data)
    scale = path_sums(again)
    for got, leaf in zip(replayed, fresh, strict=True):
        assert agree(got, leaf.grad, scale.get(leaf, 0.0)), (got, leaf.grad, new)


def test_every_op_of_the_engine_has_a_replay_case():
    assert set(CASES_BY_KEY) == engine_keys()


@pytest.mark.parametrize("key", sorted(CASES_BY_KEY))
def test_each_op_replays_per_element_at_new_values(key):
    make, trace, replay = CASES_BY_KEY[key]
    trace = (trace * len(replay))[:len(replay)]
    _run_case(make, trace, replay)


def test_relu_is_not_frozen_at_trace_time():
    # Traced where every relu passes its input, replayed where half of them block it.
    xs = [Value(x) for x in (1.0, 2.0, 3.0, 4.0)]
    out = autograd.sum([(i + 1) * x.relu() for i, x in enumerate(xs)])
    tape = autograd.compile(out, xs)
    for x, new in zip(xs, (-1.0, 2.0, -3.0, 0.0), strict=True):
        x.data = new
    assert tape() == 2 * 2.0  # only the second relu passes
    assert [x.grad for x in xs] == [0.0, 2.0, 0.0, 0.0]  # d/dx_i = (i+1) where x_i > 0, else 0


def test_powers_with_number_exponents_each_keep_their_own():
    # x ** k for several k in one group: 0 (a constant), whole, negative, fractional; closed forms.
    x = Value(2.0)
    ks = [0, 1, 2, 3, -1, 0.5, -2.5]
    out = autograd.sum([x**k for k in ks])
    tape = autograd.compile(out, [x])
    for a in (2.0, 0.75, 5.0):
        x.data = a
        value = tape()
        assert value == pytest.approx(sum(a**k for k in ks), rel=RTOL)
        assert x.grad == pytest.approx(sum(k * a ** (k - 1) if k else 0.0 for k in ks), rel=RTOL)


def test_sum_nodes_of_different_widths_in_one_group():
    xs = [Value(float(i + 1)) for i in range(6)]
    parts = [autograd.sum(xs[:1]), autograd.sum(xs[1:3]), autograd.sum(xs[3:])]
    out = autograd.sum([p * p for p in parts])  # d/dx_j = 2 * (its part's sum)
    tape = autograd.compile(out, xs)
    assert tape() == 1.0**2 + 5.0**2 + 15.0**2
    assert [x.grad for x in xs] == [2.0, 10.0, 10.0, 30.0, 30.0, 30.0]


# --- domain errors: raised as the dynamic engine raises them -------------------------------------------

DOMAIN_ERRORS = [
    ("log", lambda a, b: a.log(), (2.0, 1.0), (-1.0, 1.0)),
    ("sqrt", lambda a, b: a.sqrt(), (4.0, 1.0), (-4.0, 1.0)),
    ("exp", lambda a, b: a.exp(), (1.0, 1.0), (1000.0, 1.0)),
    ("/", lambda a, b: a / b, (1.0, 2.0), (1.0, 0.0)),
    ("**", lambda a, b: a**0.5, (4.0, 1.0), (-8.0, 1.0)),
    ("** by a Value", lambda a, b: a**b, (2.0, 2.0), (0.0, -1.0)),
    ("** overflow", lambda a, b: a**b, (2.0, 2.0), (10.0, 400.0)),
    ("sin", lambda a, b: a.sin(), (1.0, 1.0), (math.inf, 1.0)),
    ("* overflow", lambda a, b: a * b, (1.0, 2.0), (1e200, 1e200)),
    ("+ overflow", lambda a, b: a + b, (1.0, 2.0), (1.7e308, 1.7e308)),
    ("sum overflow", lambda a, b: autograd.sum([a, b, a]), (1.0, 2.0), (1e308, 1e308)),
]


@pytest.mark.parametrize("name, make, good, bad", DOMAIN_ERRORS, ids=[c[0] for c in DOMAIN_ERRORS])
def test_a_domain_error_in_the_replay_is_the_dynamic_engines_error(name, make, good, bad):
    a, b = Value(good[0]), Value(good[1])
    tape = autograd.compile(make(a, b) * 3.0, [a, b])
    with pytest.raises(Exception) as dynamic:
        make(Value(bad[0]), Value(bad[1]))
    a.data, b.data = bad
    with pytest.raises(type(dynamic.value)) as replayed:
        tape()
    assert str(replayed.value) == str(dynamic.value)


def test_nan_and_inf_inputs_flow_through_as_they_do_dynamically():
    # Not every non-finite value is an error: nan in gives nan out, and an inf input gives inf.
    a, b = Value(1.0), Value(2.0)
    tape = autograd.compile(a.log() + a * b, [a, b])
    a.data, b.data = math.nan, 2.0
    assert math.isnan(tape()) and math.isnan(a.grad)
    a.data, b.data = math.inf, 2.0
    assert tape() == math.inf
    dynamic_a, dynamic_b = Value(math.inf), Value(2.0)
    (dynamic_a.log() + dynamic_a * dynamic_b).backward()
    assert (a.grad, b.grad) == (dynamic_a.grad, dynamic_b.grad)


# --- what a tape reads and writes --------------------------------------------------------------------


def test_leaves_are_read_each_call_and_grads_assigned_fresh():
    x, y = Value(2.0, name="x"), Value(3.0, name="y")
    tape = autograd.compile(x * y + x.sin(), [x, y])
    for a, b in [(2.0, 3.0), (-1.0, 0.5), (0.25, -4.0)]:
        x.data, y.data = a, b
        x.grad, y.grad = 99.0, -99.0
        assert tape() == pytest.approx(a * b + math.sin(a), rel=RTOL)
        assert x.grad == pytest.approx(b + math.cos(a), rel=RTOL)  # d/dx = y + cos x
        assert y.grad == a  # d/dy = x, exactly


def test_unlisted_leaves_are_constants_and_interior_nodes_are_left_alone():
    x, c = Value(2.0), Value(10.0)
    h = x * c
    out = h + 1
    tape = autograd.compile(out, [x])
    c.data = 1000.0  # not given to compile: frozen at 10
    x.data = 3.0
    assert tape() == 31.0 and x.grad == 10.0
    assert c.grad == 0.0 and h.data == 20.0 and h.grad == 0.0  # the traced graph is not touched


def test_a_leaf_the_output_does_not_depend_on_gets_zero_and_repeats_are_fine():
    x, unused = Value(2.0), Value(5.0)
    unused.grad = 7.0
    tape = autograd.compile(x * x, [x, unused, x])
    assert tape() == 4.0 and x.grad == 4.0 and unused.grad == 0.0


def test_fan_out_and_the_same_parent_twice():
    x = Value(0.7)
    a = x * x  # one parent twice
    b = a + a
    out = (b * x).tanh() + a.exp()
    check_against_backward(out, [x])


def test_the_output_may_be_a_leaf():
    x = Value(4.0)
    tape = autograd.compile(x, [x])
    x.data = 6.0
    assert tape() == 6.0 and x.grad == 1.0
    assert tape.levels == 0


def test_a_deep_chain_replays_level_by_level():
    x = Value(0.5)
    y = x
    for _ in range(2000):
        y = (y * 1.01 + 0.01).tanh()
    tape = autograd.compile(y, [x])
    assert tape.levels == 6000
    x.data = 0.3
    value = tape()
    expected, t = 1.0, 0.3  # d/dx by the chain rule in plain floats
    for _ in range(2000):
        t = math.tanh(t * 1.01 + 0.01)
        expected *= (1.0 - t * t) * 1.01
    assert value == pytest.approx(t, rel=RTOL)
    assert x.grad == pytest.approx(expected, rel=1e-9)


# --- what compile refuses ----------------------------------------------------------------------------


def test_a_node_with_a_rule_of_its_own_is_refused_by_op():
    x = Value(1.5)
    out = x.tanh()
    out._rule = lambda node: (1.0 - node.data,)  # not the op table's rule
    with pytest.raises(CompileError, match="'tanh'"):
        autograd.compile(out * 2, [x])


def test_an_op_without_a_vectorized_rule_is_refused_by_name():
    def _cube_rule(out):
        (a,) = out.parents
        return (3 * a.data**2,)

    cube = autograd.register(Op("cube", lambda a: a**3, _cube_rule, ("d a^3/da = 3a^2",), 1))
    try:
        x = Value(2.0)
        out = autograd.apply(cube, [x]) + 1
        with pytest.raises(CompileError, match="'cube'") as info:
            autograd.compile(out, [x])
        assert isinstance(info.value, ValueError) and "backward()" in str(info.value)
    finally:
        del OPS["cube"]


def test_leaves_must_be_leaves_and_values():
    x = Value(1.0)
    y = x * 2
    with pytest.raises(ValueError, match=r"leaves\[1\] was made by op '\*'"):
        autograd.compile(y + 1, [x, y])
    with pytest.raises(TypeError, match=r"leaves\[0\] is a float"):
        autograd.compile(y, [1.0])
    with pytest.raises(TypeError, match="output Value"):
        autograd.compile(3.0, [x])


# --- nn: its losses, and a training step against PyTorch ----------------------------------------------


def _nn_cases():
    nn = pytest.importorskip("chainrule.nn")
    X, y = nn.make_blobs(12, seed=3, centers=3)
    Xm, ym = nn.make_moons(12, seed=4)
    return nn, {
        "cross_entropy": (nn.MLP(2, [6, 3], seed=1), X, y, nn.cross_entropy),
        "hinge": (nn.MLP(2, [6, 1], seed=2), Xm, ym, nn.hinge),
        "mse": (nn.MLP(2, [6, 1], seed=3), Xm, ym, nn.mse),
        "binary_cross_entropy": (nn.MLP(2, [6, 1], activation="tanh", seed=4), Xm, ym,
                                 lambda p, t: nn.binary_cross_entropy([q.sigmoid() for q in p], t)),
    }


@pytest.mark.parametrize("loss", ["cross_entropy", "hinge", "mse", "binary_cross_entropy"])
def test_nn_losses_replay_as_backward_over_training_steps(loss):
    nn, cases = _nn_cases()
    model, X, y, fn = cases[loss]
    params = model.parameters()
    tape = autograd.compile(fn([model(x) for x in X], y), params)
    optimizer = nn.SGD(params, lr=0.1)
    for _ in range(3):
        value = tape()
        replayed = [p.grad for p in params]
        dynamic = fn([model(x) for x in X], y)  # the oracle: the graph rebuilt at the new weights
        optimizer.zero_grad()
        dynamic.backward()
        scale = path_sums(dynamic)
        assert agree(value, dynamic.data)
        for p, got in zip(params, replayed, strict=True):
            assert agree(got, p.grad, scale.get(p, 0.0)), (loss, p.name, got, p.grad)
        optimizer.step()


def test_a_tape_picks_up_changed_cross_entropy_labels():
    # Traced once with the first labels; then new weights and new labels every call (set in the traced
    # nodes by nn.losses.set_label), and each replay must equal a fresh dynamic graph built with them.
    nn = pytest.importorskip("chainrule.nn")
    from chainrule.nn.losses import set_label

    X, y = nn.make_blobs(12, seed=3, centers=3)
    model = nn.MLP(2, [6, 3], seed=1)
    params = model.parameters()
    nodes = [nn.cross_entropy(model(x), c) for x, c in zip(X, y, strict=True)]
    tape = autograd.compile(autograd.sum(nodes) / len(nodes), params)
    optimizer = nn.SGD(params, lr=0.1)
    relabellings = [[(c + 1) % 3 for c in y], [2] * len(y), [(c * 2 + i) % 3 for i, c in enumerate(y)], y]
    for labels in relabellings:
        for node, label in zip(nodes, labels, strict=True):
            set_label(node, label)
        value = tape()
        replayed = [p.grad for p in params]
        dynamic = nn.cross_entropy([model(x) for x in X], labels)  # the oracle: built with these labels
        optimizer.zero_grad()
        dynamic.backward()
        scale = path_sums(dynamic)
        assert agree(value, dynamic.data), (labels, value, dynamic.data)
        for p, got in zip(params, replayed, strict=True):
            assert agree(got, p.grad, scale.get(p, 0.0)), (labels, p.name, got, p.grad)
        optimizer.step()


def test_a_tape_keeps_the_rules_that_hold_labels_but_not_their_nodes():
    import gc

    nn = pytest.importorskip("chainrule.nn")
    zs = [Value(1.0), Value(-2.0), Value(0.5)]
    node = nn.cross_entropy([z * 2.0 for z in zs], 1)
    node.name = "ce-node-the-tape-must-not-keep"
    tape = autograd.compile(node + zs[0] ** 3, zs)  # a ** k group and a cross_entropy group
    del node
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, Value) and o.name == "ce-node-the-tape-must-not-keep"]
    assert alive == []
    # ... and still replays: d/dz_i = 2 (p_i - y_i) with p = softmax(2 z), plus 3 z_0^2 for z_0.
    zs[0].data = 0.5
    value = tape()
    e = [math.exp(2 * z.data) for z in zs]
    p = [v / sum(e) for v in e]
    assert value == pytest.approx(-math.log(p[1]) + 0.125, rel=RTOL)
    assert [z.grad for z in zs] == pytest.approx([2 * p[0] + 0.75, 2 * (p[1] - 1), 2 * p[2]], rel=RTOL)


def test_a_training_step_against_pytorch():
    require("torch")
    import torch

    nn = pytest.importorskip("chainrule.nn")
    model = nn.MLP(2, [8, 8, 1], seed=5)
    X, y = nn.make_moons(20, seed=6)
    params = model.parameters()
    loss = nn.hinge([model(x) for x in X], y) + 1e-4 * autograd.sum([p * p for p in params])
    tape = autograd.compile(loss, params)
    value = tape()
    ours = [p.grad for p in params]

    # The same network in torch, float64, weights copied layer by layer.
    weights, biases = [], []
    for layer in model.layers:
        weights.append(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64,
                                    requires_grad=True))
        biases.append(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64,
                                   requires_grad=True))
    h = torch.tensor(X, dtype=torch.float64)
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = torch.relu(h)
    signs = torch.tensor([1.0 if t == 1 else -1.0 for t in y], dtype=torch.float64)
    reference = torch.relu(1 - signs * h[:, 0]).mean()
    squares = sum((W**2).sum() + (b**2).sum() for W, b in zip(weights, biases, strict=True))
    reference = reference + 1e-4 * squares
    reference.backward()
    assert value == pytest.approx(reference.item(), rel=RTOL)
    theirs = []
    for W, b in zip(weights, biases, strict=True):
        for j in range(W.shape[0]):
            theirs.extend(W.grad[j].tolist())
            theirs.append(b.grad[j].item())
    scale = path_sums(loss)  # torch adds in its own order (matrix products), so cancelling paths round apart
    for p, got, want in zip(params, ours, theirs, strict=True):
        assert agree(got, want, scale.get(p, 0.0)), (p.name, got, want)


# --- the cost of importing ---------------------------------------------------------------------------


def test_import_autograd_does_not_import_numpy():
    code = "import sys, autograd; assert callable(autograd.compile); print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_watched_nodes_give_their_values_from_the_last_call():
    a, b = Value(2.0), Value(3.0)
    h = (a * b).tanh()
    p = h * a
    tape = autograd.compile(p * p, [a, b], watch=[h, p, a])
    for x, y in [(0.5, 3.0), (-1.25, 0.4), (2.0, -0.1)]:
        a.data, b.data = x, y
        tape()
        t = math.tanh(x * y)  # the closed form of each watched node
        assert tape.watched() == pytest.approx([t, t * x, x], rel=1e-15)
    with pytest.raises(ValueError, match=r"watch\[1\] is not a node"):
        autograd.compile(p * p, [a, b], watch=[h, Value(1.0)])
