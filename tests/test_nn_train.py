"""nn.train: fit learns the course's data sets, checks its arguments first, and grad_norms shows vanishing."""

from __future__ import annotations

import io
import math
import random
import statistics

import pytest
from chainrule.autograd import Value
from chainrule.nn import MLP, SGD, Adam, Module, accuracy, fit, grad_norms, make_blobs, make_moons, make_xor, mse
from chainrule.nn.train import predicted_class
from conftest import require

from chainrule import autograd, nn

# --- what the issue asks it to learn ---------------------------------------------------------------


@pytest.mark.slow
def test_moons_reach_97_percent_within_150_steps():
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, loss="hinge", steps=150, progress=False)
    assert len(history.loss) == len(history.accuracy) == 150
    assert max(history.accuracy) >= 0.97
    assert accuracy(model, X, y) >= 0.97  # the trained model, measured after the last step
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_xor_is_learned_completely():
    X, y = make_xor()
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    history = fit(model, X, y, steps=100, progress=False)
    assert accuracy(model, X, y) == 1.0 and history.accuracy[-1] == 1.0


def test_three_blobs_with_cross_entropy_by_default():
    X, y = make_blobs(60, seed=1)
    model = MLP(2, [8, 3], seed=1)
    history = fit(model, X, y, steps=40, progress=False)  # three outputs: cross-entropy is the default
    assert accuracy(model, X, y) >= 0.95
    assert history.loss[0] > 0.5 > history.loss[-1]


@pytest.mark.parametrize("loss, outputs", [("mse", 1), ("mse", 2), ("binary_cross_entropy", 1)])
def test_the_other_losses_train(loss, outputs):
    X, y = make_moons(40, noise=0.1, seed=2)
    model = MLP(2, [8, outputs], seed=2)
    history = fit(model, X, y, loss=loss, steps=30, progress=False)
    assert history.loss[-1] < 0.6 * history.loss[0]
    assert history.accuracy[-1] >= 0.8


# --- the loop itself, against a loop written out by hand -----------------------------------------------


def test_fit_is_the_loop_written_by_hand():
    X, y = make_moons(20, noise=0.1, seed=3)
    fitted, by_hand = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    history = fit(fitted, X, y, steps=4, progress=False)  # defaults: hinge, Adam(lr=0.05), full batch

    opt = Adam(by_hand.parameters(), lr=0.05)
    losses, accuracies = [], []
    for _ in range(4):
        scores = [by_hand(x) for x in X]
        loss = nn.hinge(scores, y)
        hits = sum((s.data > 0) == (label == 1) for s, label in zip(scores, y, strict=True))
        accuracies.append(hits / len(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert history.loss == losses and history.accuracy == accuracies
    assert fitted.state_dict() == by_hand.state_dict()


def test_fit_with_an_optimizer_object_and_a_loss_function():
    X, y = make_moons(16, noise=0.1, seed=4)
    targets = [2.0 * label - 1.0 for label in y]
    model = MLP(2, [4, 1], seed=4)
    start = model.state_dict()
    calls = []

    def squared(predictions, t):
        calls.append(len(predictions))
        return mse(predictions, [2.0 * label - 1.0 for label in t])

    opt = SGD(model.parameters(), lr=0.1)
    history = fit(model, X, y, loss=squared, optimizer=opt, steps=1, progress=False)
    fresh = MLP(2, [4, 1], seed=4)
    fresh.load_state_dict(start)
    assert history.loss == [mse([fresh(x) for x in X], targets).data]
    assert calls == [1, 16]  # one probe of the first point before training, then the step


def test_minibatches_cover_every_point_once_per_epoch():
    X = [[i / 10, -i / 10] for i in range(10)]
    y = list(range(10))  # a loss function sees the labels as given: here, each point's index
    seen = []

    def record(predictions, targets):
        seen.append(list(targets))
        return mse(predictions, [0.0] * len(predictions))

    model = MLP(2, [2, 1], seed=0)
    history = fit(model, X, y, loss=record, steps=7, batch_size=3, progress=False, seed=5)
    batches = seen[1:]  # after the probe
    assert len(history.loss) == 7 and [len(b) for b in batches] == [3, 3, 3, 1, 3, 3, 3]
    assert sorted(sum(batches[:4], [])) == list(range(10))  # epoch 1: every point once
    assert batches[:4] != batches[4:8]  # reshuffled for epoch 2
    again = []
    fit(MLP(2, [2, 1], seed=0), X, y, loss=lambda p, t: again.append(list(t)) or mse(p, [0.0] * len(p)),
        steps=7, batch_size=3, progress=False, seed=5)
    assert again[1:] == batches  # the seed fixes the order


def test_the_history_records_each_step_before_its_update():
    X, y = make_xor()
    model = MLP(2, [3, 1], seed=1)
    before = accuracy(model, X, y)
    history = fit(model, X, y, steps=3, progress=False)
    assert history.accuracy[0] == before and len(history) == 3
    assert all(isinstance(v, float) for v in history.loss + history.accuracy)


def test_accuracy_and_predicted_class():
    assert predicted_class(0.2) == 1 and predicted_class(-0.2) == 0 and predicted_class(0.4, 0.5) == 0
    assert predicted_class([0.1, 3.0, -1.0]) == 1
    model = MLP(1, [1], activation="linear", seed=0)
    model.layers[0].neurons[0].w[0].data, model.layers[0].neurons[0].b.data = 1.0, 0.0  # the identity
    assert accuracy(model, [[-1.0], [2.0], [3.0]], [0, 1, 0]) == pytest.approx(2 / 3)
    assert accuracy(model, [[-1.0], [2.0]], [-1, 1]) == 1.0  # -1/+1 labels work too


def test_mse_on_real_valued_targets_has_no_accuracy():
    X = [[0.0, 1.0], [1.0, 0.0]]
    history = fit(MLP(2, [2, 1], seed=0), X, [0.3, 2.5], loss="mse", steps=2, progress=False)
    assert all(math.isnan(a) for a in history.accuracy)


# --- arguments are checked before the first step ---------------------------------------------------------


@pytest.mark.parametrize(
    "X, y, options, message",
    [
        ([], [], {}, "the data set is empty"),
        ([[0.0, 1.0, 2.0]], [1], {}, r"X\[0\] has 3 numbers but the model takes 2 inputs"),
        ([[0.0, 1.0], [1.0]], [1, 0], {}, r"X\[1\] has 1 numbers"),
        ([[0.0, math.nan]], [1], {}, r"X\[0\]\[1\] must be a finite number"),
        ([[0.0, 1.0], [1.0, 0.0]], [1], {}, "X has 2 points but y has 1 labels"),
        ([[0.0, 1.0]], [2], {"loss": "hinge"}, r"y\[0\] = 2 does not fit loss 'hinge'"),
        ([[0.0, 1.0]], [0.5], {"loss": "hinge"}, "must be 0 or 1"),
        ([[0.0, 1.0]], [3], {"loss": "binary_cross_entropy"}, "does not fit loss 'binary_cross_entropy'"),
        ([[0.0, 1.0]], [1], {"loss": "cross_entropy"}, "needs one output per class"),
        ([[0.0, 1.0]], [1], {"loss": "l1"}, "unknown loss 'l1'"),
        ([[0.0, 1.0]], [1], {"lr": 0.0}, "learning rate lr must be a positive number, got 0.0"),
        ([[0.0, 1.0]], [1], {"lr": -0.01}, "got -0.01"),
        ([[0.0, 1.0]], [1], {"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ([[0.0, 1.0]], [1], {"steps": 0}, "steps must be at least 1, got 0"),
        ([[0.0, 1.0]], [1], {"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ([[0.0, 1.0]], [1], {"batch_size": 2}, r"batch_size 2 is larger than the data set \(1 points\)"),
        ([[0.0, 1.0]], [1], {"loss": lambda p, t: 1.0}, "the loss must return a Value, got float"),
    ],
)
def test_bad_arguments_fail_before_any_step(X, y, options, message):
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, progress=False, **options)
    assert model.state_dict() == before


def test_multi_output_argument_errors():
    model = MLP(2, [3, 3], seed=0)
    with pytest.raises(ValueError, match="'hinge' needs a model with 1 output"):
        fit(model, [[0.0, 1.0]], [1], loss="hinge", progress=False)
    with pytest.raises(ValueError, match=r"y\[0\] = 3 does not fit loss 'cross_entropy'.*0 \.\. 2"):
        fit(model, [[0.0, 1.0]], [3], progress=False)


def test_an_optimizer_object_and_lr_together_is_an_error():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="give lr or an optimizer object, not both"):
        fit(model, [[0.0, 1.0]], [1], optimizer=SGD(model.parameters(), lr=0.1), lr=0.5, progress=False)
    with pytest.raises(ValueError, match="no parameters"):
        fit(Module(), [[0.0, 1.0]], [1], progress=False)


# --- the progress bar ---------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_no_progress_bar_when_output_is_not_a_terminal(capsys):
    fit(MLP(2, [2, 1], seed=0), *make_xor(), steps=3)
    assert capsys.readouterr().out == ""


def test_a_progress_bar_with_loss_and_accuracy_on_a_terminal(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    fit(MLP(2, [2, 1], seed=0), *make_xor(), steps=3)
    text = screen.getvalue()
    assert "3/3" in text and "loss=" in text and "acc=" in text
    quiet = Terminal()
    monkeypatch.setattr("sys.stdout", quiet)
    fit(MLP(2, [2, 1], seed=0), *make_xor(), steps=3, progress=False)
    assert quiet.getvalue() == ""


# --- compiled replay --------------------------------------------------------------------------------------



MOONS, BLOBS = make_moons(30, noise=0.1, seed=6), make_blobs(30, seed=6)
# Each case: loss, outputs of the model, data, and labels made from the data's class indices.
COMPILED_CASES = [
    ("hinge", 1, MOONS, None),
    ("binary_cross_entropy", 1, MOONS, None),
    ("mse", 1, MOONS, None),
    ("mse", 3, BLOBS, None),  # class indices stand for one-hot rows
    ("mse", 3, BLOBS, lambda c: [0.5 * (c == j) - 0.25 for j in range(3)]),  # rows of targets
    ("mse", 1, MOONS, lambda c: 2.0 * c - 0.5),  # real-valued targets
    ("cross_entropy", 3, BLOBS, None),
]


def relabel(data, change):
    X, y = data
    return X, (y if change is None else [change(c) for c in y])


@pytest.fixture
def traces(monkeypatch):
    """Every graph fit hands to autograd.compile: (its size in nodes, how many leaves the tape reads)."""
    seen = []
    compile_for_real = autograd.compile

    def counting(output, leaves, **options):
        tape = compile_for_real(output, leaves, **options)
        seen.append((tape.nodes, len(tape.leaves)))
        return tape

    monkeypatch.setattr(autograd, "compile", counting)
    return seen


def fit_both(loss, outputs, X, y, seed=6, **options):
    """The same training twice from the same weights, dynamic and compiled: both histories and models."""
    dynamic, compiled = MLP(2, [6, 6, outputs], seed=seed), MLP(2, [6, 6, outputs], seed=seed)
    a = fit(dynamic, X, y, loss=loss, progress=False, **options)
    b = fit(compiled, X, y, loss=loss, progress=False, compiled=True, **options)
    return a, b, dynamic, compiled


def assert_same_training(a, b, dynamic, compiled):
    assert b.loss == pytest.approx(a.loss, rel=1e-10)
    assert b.accuracy == a.accuracy  # NaN-free here: every case has classes
    trained = [p.data for p in dynamic.parameters()]
    assert [p.data for p in compiled.parameters()] == pytest.approx(trained, rel=1e-9)


@pytest.mark.parametrize("loss, outputs, data, change", COMPILED_CASES)
@pytest.mark.parametrize("batch_size", [None, 8])
def test_compiled_fit_matches_the_dynamic_one(loss, outputs, data, change, batch_size):
    # 30 points in batches of 8: 8, 8, 8 and a last batch of 6 each epoch; 10 steps see both sizes twice.
    X, y = relabel(data, change)
    a, b, dynamic, compiled = fit_both(loss, outputs, X, y, steps=10, batch_size=batch_size)
    assert len(b) == 10
    assert_same_training(a, b, dynamic, compiled)


@pytest.mark.parametrize("loss, outputs, data, change", COMPILED_CASES)
def test_one_trace_per_batch_size_for_every_named_loss(loss, outputs, data, change, traces):
    X, y = relabel(data, change)
    params = len(MLP(2, [6, 6, outputs]).parameters())  # 67 or 81
    for batch_size, sizes in [(8, [8, 6]), (10, [10]), (None, [30])]:
        traces.clear()
        fit(MLP(2, [6, 6, outputs], seed=6), X, y, loss=loss, steps=12, batch_size=batch_size, progress=False,
            compiled=True)
        # One tape per batch size, in the order the sizes first come: 12 steps of 8, 8, 8, 6, ... trace
        # twice, of 10 (which divides 30) or of everything once. Each tape reads the parameters, 2 inputs
        # per point and one target leaf per number the loss compares with (none for cross_entropy,
        # whose labels are refilled in its nodes' rules).
        targets = {"mse": outputs, "cross_entropy": 0}.get(loss, 1)
        assert [leaves for _, leaves in traces] == [params + (2 + targets) * n for n in sizes]


def test_cross_entropy_refills_the_labels_where_its_function_form_traces_again(traces):
    X, y = BLOBS
    # The same loss given as a function: fit cannot know where it keeps the labels, so every batch of 8
    # whose shuffled labels differ from the traced ones is traced again. That proves the labels change.
    a, b, dynamic, compiled = fit_both(nn.cross_entropy, 3, X, y, steps=12, batch_size=8)
    assert 2 < len(traces) <= 12
    assert_same_training(a, b, dynamic, compiled)
    # By name: one tape per batch size, the labels set in the traced nodes, the same training.
    traces.clear()
    c, d, by_name, compiled_by_name = fit_both("cross_entropy", 3, X, y, steps=12, batch_size=8)
    assert len(traces) == 2
    assert_same_training(c, d, by_name, compiled_by_name)
    assert d.loss == pytest.approx(b.loss, rel=1e-10)  # the function form and the name train alike


def test_a_loss_function_traces_again_when_the_labels_change(traces):
    X, y = MOONS
    same_labels = [1] * len(X)

    def squared(predictions, labels):  # its targets are numbers the function computes: constants of the trace
        return mse(predictions, [2.0 * label - 1.0 for label in labels])

    a, b, dynamic, compiled = fit_both(squared, 1, X, same_labels, steps=12, batch_size=8)
    assert len(traces) == 2  # one per batch size: the labels never change
    assert_same_training(a, b, dynamic, compiled)
    traces.clear()
    a, b, dynamic, compiled = fit_both(squared, 1, X, y, steps=12, batch_size=8)
    assert 2 < len(traces) <= 12
    assert_same_training(a, b, dynamic, compiled)


def scaled_line(w: float, b: float) -> MLP:
    """A one-input linear model, score = w x + b."""
    model = MLP(1, [1], activation="linear", seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.b.data = w, b
    return model


def test_binary_cross_entropy_traces_once_for_scores_on_either_side(traces):
    # binary cross-entropy from a score z is softplus(z) - y z, and softplus is one op of the engine,
    # max(z, 0) + log1p(e^-|z|), with no branch taken while the graph is built: one tape serves batches
    # of one point whose scores alternate between about +800 and -800, and the numbers are the dynamic loop's.
    X, y = [[800.0], [-800.0]], [0, 1]
    options = {"loss": "binary_cross_entropy", "steps": 6, "batch_size": 1, "progress": False, "seed": 2}
    dynamic, compiled = scaled_line(1.0, 0.0), scaled_line(1.0, 0.0)
    a = fit(dynamic, X, y, optimizer=SGD(dynamic.parameters(), lr=1e-7), **options)
    b = fit(compiled, X, y, optimizer=SGD(compiled.parameters(), lr=1e-7), compiled=True, **options)
    # softplus(800) = 800 to the last digit; dL/dw = x (sigmoid(z) - y) = 800 moves a score by 0.064
    assert a.loss[0] == pytest.approx(800.0, rel=1e-3) and all(v > 790.0 for v in a.loss)
    assert b.loss == pytest.approx(a.loss, rel=1e-12)
    assert [p.data for p in compiled.parameters()] == pytest.approx([p.data for p in dynamic.parameters()],
                                                                    rel=1e-12)
    assert len(traces) == 1


def test_a_branch_traced_on_one_side_is_traced_again_on_the_other(traces):
    # A loss function of your own may branch on a value while it builds the graph, and the branch stays
    # in the tape. This one is log(1 + e^z) written the safe way for the sign z has: traced at z = +800,
    # the tape's form overflows at z = -800, so the step is traced again, and the numbers are the dynamic loop's.
    def softplus_by_hand(predictions, labels):
        z = predictions[0]
        if z.data > 0.0:
            return z + (1 + (-z).exp()).log()
        return (1 + z.exp()).log()

    X, y = [[800.0], [-800.0]], [0, 0]  # the labels never change, so only the overflow can trace again
    options = {"loss": softplus_by_hand, "steps": 6, "batch_size": 1, "progress": False, "seed": 2}
    dynamic, compiled = scaled_line(1.0, 0.0), scaled_line(1.0, 0.0)
    a = fit(dynamic, X, y, optimizer=SGD(dynamic.parameters(), lr=1e-7), **options)
    b = fit(compiled, X, y, optimizer=SGD(compiled.parameters(), lr=1e-7), compiled=True, **options)
    assert sorted(a.loss)[-1] == pytest.approx(800.0, rel=1e-3) and min(a.loss) == 0.0  # log(1 + e^-800)
    assert b.loss == pytest.approx(a.loss, rel=1e-12)
    assert [p.data for p in compiled.parameters()] == pytest.approx([p.data for p in dynamic.parameters()],
                                                                    rel=1e-12)
    assert len(traces) > 1  # traced again: the first tape overflows on the other side


def test_a_genuine_domain_error_is_the_dynamic_loops_error():
    # The loss log(score) with SGD: dL/dw = x / score pushes the score down, by lr x^2 / score per step,
    # past 0 at the 4th update (score 1, 0.5, -0.5: log of a negative number).
    def log_score(predictions, labels):
        return predictions[0].log()

    errors, states = [], []
    for compiled in (False, True):
        model = scaled_line(1.0, 0.0)
        with pytest.raises(ValueError) as caught:
            fit(model, [[1.0]], [0], loss=log_score, optimizer=SGD(model.parameters(), lr=0.5), steps=10,
                progress=False, compiled=compiled)
        errors.append(str(caught.value))
        states.append(model.state_dict())
    assert "log" in errors[0] and errors[1] == errors[0]
    assert states[1] == states[0]


# --- gradient norms and the vanishing gradient (the course's Exercise 5.4) -------------------------------


def test_grad_norms_by_hand():
    model = MLP(1, [2, 1], seed=0)
    (n1, n2), (out,) = model.layers[0].neurons, model.layers[1].neurons
    n1.w[0].data, n1.b.data = 2.0, 0.5  # z1 = 2x + 0.5 > 0 at x = 1: h1 = 2.5
    n2.w[0].data, n2.b.data = -1.0, 0.0  # z2 = -1 < 0: h2 = 0, relu blocks the gradient
    out.w[0].data, out.w[1].data, out.b.data = 3.0, 4.0, 0.1
    model([1.0]).backward()
    # layer 2: dL/dv = (h1, h2) = (2.5, 0), dL/dc = 1;
    # layer 1: dL/dw1 = v1 x = 3, dL/db1 = v1 = 3, and neuron 2 is blocked (all 0)
    assert grad_norms(model) == pytest.approx([math.sqrt(3**2 + 3**2), math.sqrt(2.5**2 + 1)], rel=1e-15)
    assert grad_norms(n1) == pytest.approx([math.sqrt(18)], rel=1e-15)


def last_over_first(activation: str, seed: int, depth: int = 12, width: int = 16, points: int = 100) -> float:
    """Gradient norm of the last layer over the first, for MSE on random points at initialisation."""
    rng = random.Random(seed)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(points)]
    y = [rng.uniform(-1, 1) for _ in range(points)]
    model = MLP(2, [width] * (depth - 1) + [1], activation=activation, init="he", seed=seed)
    mse([model(x) for x in X], y).backward()
    norms = grad_norms(model)
    assert len(norms) == depth
    return norms[-1] / norms[0]


@pytest.mark.slow
def test_sigmoid_gradients_vanish_in_a_deep_network():
    # each sigmoid layer scales the gradient by at most 1/4 times its weights: over 11 layers it dies away
    assert statistics.median(last_over_first("sigmoid", seed) for seed in range(10)) > 1_000


@pytest.mark.slow
def test_relu_with_he_init_keeps_them_alive():
    assert statistics.median(last_over_first("relu", seed) for seed in range(10)) < 10


def test_grad_norms_of_a_model_without_layers():
    neuron = nn.Neuron(2, seed=0)
    out = neuron([1.0, -2.0])
    out.backward()
    assert grad_norms(neuron) == pytest.approx([math.sqrt(sum(p.grad**2 for p in neuron.parameters()))])
    assert isinstance(out, Value)


# --- divergence and the extremes (issue 18, items 6 and 11, and --noise) -------------------------------


def test_fit_stops_at_the_first_non_finite_loss_naming_the_step():
    from chainrule.nn.train import TrainingDiverged

    X, y = make_moons(20, noise=0.1, seed=0)
    model = MLP(2, [8, 1], seed=0)
    with pytest.raises(TrainingDiverged, match=r"at step (\d+) is (nan|inf).*smaller than 1e\+308") as info:
        fit(model, X, y, steps=50, lr=1e308, progress=False)
    assert info.value.step >= 2 and not math.isfinite(info.value.loss)
    # The step before the one that diverged had a finite loss: it is the first non-finite one.
    fresh = MLP(2, [8, 1], seed=0)
    history = fit(fresh, X, y, steps=info.value.step - 1, lr=1e308, progress=False)
    assert all(math.isfinite(v) for v in history.loss)


def test_grad_norms_neither_underflow_nor_overflow():
    model = MLP(2, [2, 1], seed=0)
    for layer, scale in zip(model.layers, (1e-200, 1e200), strict=True):
        for p in layer.parameters():
            p.grad = 3.0 * scale
    n0, n1 = (len(layer.parameters()) for layer in model.layers)
    assert grad_norms(model) == pytest.approx([3e-200 * math.sqrt(n0), 3e200 * math.sqrt(n1)], rel=1e-14)


def test_grad_norms_of_a_300_layer_sigmoid_net_are_tiny_but_not_zero():
    X, y = make_moons(4, noise=0.1, seed=0)
    model = MLP(2, [4] * 300 + [1], activation="sigmoid", seed=0)
    mse([model(x) for x in X], [float(t) for t in y]).backward()
    norms = grad_norms(model)
    assert 0.0 < norms[0] < 1e-100 and all(math.isfinite(n) and n > 0 for n in norms)


def test_noise_past_its_limit_is_refused_by_name():
    with pytest.raises(ValueError, match="noise must be a number >= 0 .* at most 1e\\+06, got 1e\\+308"):
        make_moons(10, noise=1e308)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_vanish_norms_agree_with_torch(activation):
    """The vanishing-gradient experiment (cli vanish, demo 5.4): per-layer norms against PyTorch in float64."""
    require("torch")
    import torch
    from chainrule.nn.train import after_one_pass, vanish_norms

    X, y = make_moons(8, noise=0.1, seed=3)
    model = after_one_pass(X, y, depth=5, width=4, activation=activation, init="he", seed=3)
    assert any(p.grad != 0.0 for p in model.layers[-1].parameters())  # a real backward pass ran

    act = {"sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
    weights = [(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True),
                torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True))
               for layer in model.layers]
    h = torch.tensor(X, dtype=torch.float64)
    for i, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if i < len(weights) - 1:  # the output layer is linear
            h = act(h)
    ((h[:, 0] - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    expected = [math.sqrt(float((W.grad**2).sum() + (b.grad**2).sum())) for W, b in weights]

    assert vanish_norms(X, y, 5, 4, activation, "he", 3) == pytest.approx(expected, rel=1e-12)
    assert grad_norms(model) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("options, error, message", [
    ({"steps": 2.5}, TypeError, "steps must be a whole number, got float 2.5"),
    ({"steps": True}, TypeError, "steps must be a whole number, got bool True"),
    ({"batch_size": "4"}, TypeError, "batch_size must be a whole number, got str '4'"),
    ({"record": 0}, ValueError, r"record \(every k-th step\) must be at least 1, got 0"),
])
def test_counts_are_checked_as_everywhere_in_nn(options, error, message):
    # one policy (nn.checks.check_count): the wrong type is a TypeError, too small a ValueError
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(error, match=message):
        fit(model, [[0.0, 1.0]], [1], progress=False, **options)
