"""nn.module: neurons, layers and MLPs; names, inits, state, files, and a gradient check."""

from __future__ import annotations

import json
import math
import os
import random
import statistics

import pytest
from chainrule.autograd import Value, gradcheck
from chainrule.nn import MLP, Layer, Module, Neuron, mse
from chainrule.nn.module import initial_weight

from chainrule import autograd

# --- forward: the arithmetic a student would do by hand --------------------------------


def test_neuron_output_is_the_weighted_sum_through_its_activation():
    n = Neuron(3, activation="tanh", seed=0)
    n.w[0].data, n.w[1].data, n.w[2].data, n.b.data = 0.5, -1.0, 2.0, 0.25
    out = n([1.0, 2.0, -0.5])
    # 0.5*1 - 1*2 + 2*(-0.5) + 0.25 = -2.25
    assert out.data == math.tanh(-2.25)
    assert out.op == "tanh" and out.name == "L1.N1.h"
    (z,) = out.parents
    assert z.op == "sum" and z.name == "L1.N1.z" and z.data == -2.25


@pytest.mark.parametrize(
    "activation, f",
    [("relu", lambda z: max(z, 0.0)), ("sigmoid", lambda z: 1 / (1 + math.exp(-z))), ("linear", lambda z: z)],
)
def test_each_activation(activation, f):
    n = Neuron(2, activation=activation, seed=1)
    for x in ([0.3, -0.7], [-2.0, 1.5]):
        expected_z = n.w[0].data * x[0] + n.w[1].data * x[1] + n.b.data
        assert n(x).data == pytest.approx(f(expected_z), rel=1e-15, abs=1e-300)


def test_a_neuron_is_one_sum_node_of_its_products_and_bias():
    n = Neuron(3, activation="linear", seed=0)
    x = [Value(1.0), Value(2.0), Value(3.0)]
    z = n(x)
    assert z.op == "sum" and len(z.parents) == 4
    *products, bias = z.parents
    assert bias is n.b
    for p, w, xi in zip(products, n.w, x, strict=True):
        assert p.op == "*" and p.parents == (w, xi) and p.name is None


def test_inputs_become_leaves_once_per_call_shared_by_the_first_layer():
    model = MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.5])
    first_layer_products = [
        node for node in autograd.topological_order(out)
        if node.op == "*" and node.parents[0].name.startswith("L1.")
    ]
    inputs = {id(p.parents[1]) for p in first_layer_products}
    assert len(first_layer_products) == 6 and len(inputs) == 2
    leaves = [p.parents[1] for p in first_layer_products[:2]]
    assert [v.name for v in leaves] == ["x1", "x2"] and [v.data for v in leaves] == [0.5, -1.5]


def test_mlp_by_hand():
    model = MLP(2, [2, 1], seed=0)
    (l1, l2) = model.layers
    w = [[0.1, -0.2], [0.3, 0.4]]
    for neuron, row, b in zip(l1.neurons, w, [0.05, -0.05], strict=True):
        neuron.w[0].data, neuron.w[1].data = row
        neuron.b.data = b
    l2.neurons[0].w[0].data, l2.neurons[0].w[1].data, l2.neurons[0].b.data = 1.5, -2.0, 0.1
    x = [1.0, 3.0]
    h1 = max(0.0, 0.1 * 1.0 - 0.2 * 3.0 + 0.05)  # relu(-0.45) = 0
    h2 = max(0.0, 0.3 * 1.0 + 0.4 * 3.0 - 0.05)  # relu(1.45) = 1.45
    assert model(x).data == pytest.approx(1.5 * h1 - 2.0 * h2 + 0.1, rel=1e-15)
    assert l2.neurons[0].activation == "linear" and l1.neurons[0].activation == "relu"


def test_outputs_are_a_value_for_one_output_else_a_list():
    assert isinstance(MLP(2, [4, 1], seed=0)([1.0, 2.0]), Value)
    out = MLP(2, [4, 3], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(o, Value) for o in out)
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    assert len(Layer(2, 5, seed=0)([1.0, 2.0])) == 5
    # a hidden layer of width 1 still feeds the next layer
    assert isinstance(MLP(2, [1, 2], seed=0)([1.0, 2.0]), list)


def test_predict_equals_the_graph_bit_for_bit():
    rng = random.Random(5)
    for act in ("relu", "tanh", "sigmoid"):
        model = MLP(3, [5, 4, 2], activation=act, seed=3)
        for _ in range(5):
            x = [rng.uniform(-3, 3) for _ in range(3)]
            assert model.predict(x) == [o.data for o in model(x)]
    single = MLP(2, [3, 1], seed=1)
    assert single.predict([0.2, 0.9]) == single([0.2, 0.9]).data
    assert Neuron(2, seed=4).predict([1.0, -1.0]) == Neuron(2, seed=4)([1.0, -1.0]).data


# --- names and order ----------------------------------------------------------------------


def test_parameter_names_and_paths():
    model = MLP(2, [3, 2], seed=0)
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert len(named) == 3 * 3 + 2 * 4
    paths = [path for path, _ in named]
    names = [p.name for _, p in named]
    assert paths[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert names[:3] == ["L1.N1.w1", "L1.N1.w2", "L1.N1.b"]
    assert paths[-4:] == ["layers.1.neurons.1.w.0", "layers.1.neurons.1.w.1", "layers.1.neurons.1.w.2",
                          "layers.1.neurons.1.b"]
    assert names[-4:] == ["L2.N2.w1", "L2.N2.w2", "L2.N2.w3", "L2.N2.b"]
    assert len(set(names)) == len(names)


def test_parameters_keep_micrographs_order():
    model = MLP(2, [3, 1], seed=0)
    expected = []
    for layer in model.layers:
        for neuron in layer.neurons:
            expected += neuron.w + [neuron.b]
    assert model.parameters() == expected
    out = model([1.0, 1.0])
    assert out.name == "L2.N1.z"
    hidden = [n for n in autograd.topological_order(out) if n.op == "relu"]
    assert [h.name for h in hidden] == ["L1.N1.h", "L1.N2.h", "L1.N3.h"]


def test_micrograd_sized_model_and_repr():
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 16 * 3 + 16 * 17 + 17
    assert repr(model) == "MLP(2, [16, 16, 1], activation='relu', init='he')"
    assert "L1.N3" in repr(model.layers[0].neurons[2])


def test_zero_grad():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_bare_module_has_no_parameters():
    assert Module().parameters() == [] and Module().state_dict() == {}


# --- initialisation and seeds ------------------------------------------------------------------


def test_seed_makes_a_model_reproducible():
    a, b, c = MLP(2, [8, 1], seed=7), MLP(2, [8, 1], seed=7), MLP(2, [8, 1], seed=8)
    assert a.state_dict() == b.state_dict() != c.state_dict()
    random.seed(42)
    d = MLP(2, [8, 1])  # no seed: the random module, as in micrograd's demo
    random.seed(42)
    e = MLP(2, [8, 1])
    assert d.state_dict() == e.state_dict()
    assert len({n.w[0].data for n in a.layers[0].neurons}) == 8  # neurons differ from one another


def test_biases_start_at_zero():
    assert all(n.b.data == 0.0 for layer in MLP(3, [4, 2], seed=0).layers for n in layer.neurons)


def test_he_init_has_the_variance_two_over_fan_in():
    rng = random.Random(0)
    nin = 50
    ws = [initial_weight("he", nin, 10, rng) for _ in range(40_000)]
    # sample sd of 40k normals is within about 0.35% of the truth (1 sigma); allow 2%
    assert statistics.pstdev(ws) == pytest.approx(math.sqrt(2 / nin), rel=0.02)
    assert abs(statistics.fmean(ws)) < 0.01


def test_xavier_is_glorot_uniform_and_uniform_is_micrographs():
    rng = random.Random(1)
    a = math.sqrt(6 / (30 + 10))
    ws = [initial_weight("xavier", 30, 10, rng) for _ in range(40_000)]
    assert max(ws) <= a and min(ws) >= -a and max(ws) > 0.99 * a
    assert statistics.pvariance(ws) == pytest.approx(2 / (30 + 10), rel=0.03)
    us = [initial_weight("uniform", 30, 10, rng) for _ in range(40_000)]
    assert max(us) <= 1.0 and min(us) >= -1.0 and statistics.pvariance(us) == pytest.approx(1 / 3, rel=0.03)
    layer = Layer(30, 10, init="xavier", seed=0)
    assert all(abs(w.data) <= a for n in layer.neurons for w in n.w)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MLP(2, [4, 1], activation="softplus"), "unknown activation 'softplus'"),
        (lambda: MLP(2, [4, 1], init="zeros"), "unknown init 'zeros'"),
        (lambda: MLP(0, [4, 1]), "nin must be at least 1"),
        (lambda: MLP(2, []), "non-empty list"),
        (lambda: MLP(2, [4, 0]), r"nouts\[1\] must be at least 1"),
        (lambda: Neuron(2, activation="RELU"), "unknown activation"),
    ],
)
def test_bad_construction_is_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_clear_errors():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="input 2 must be a number"):
        model([1.0, "a"])
    with pytest.raises(TypeError, match="expected a list of 2 inputs"):
        model(1.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        MLP(2, [1], seed="abc")
    assert Neuron(1, seed=0)(2.0).data == Neuron(1, seed=0)([2.0]).data  # one input may be a bare number


# --- state dicts and files ----------------------------------------------------------------------


def outputs(model, points):
    return [model.predict(x) for x in points]


POINTS = [[0.1, 0.2], [-1.0, 2.0], [3.0, -0.5]]


def test_state_dict_round_trip():
    a, b = MLP(2, [4, 2], seed=1), MLP(2, [4, 2], seed=2)
    state = a.state_dict()
    assert list(state) == [path for path, _ in a.named_parameters()]
    json.dumps(state)  # plain data
    b.load_state_dict(state)
    assert outputs(b, POINTS) == outputs(a, POINTS)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), r"missing 1 key\(s\): 'layers.1.neurons.0.b'"),
        (lambda s: s.update({"layers.2.neurons.0.b": 1.0}), r"unexpected 1 key\(s\): 'layers.2.neurons.0.b'"),
        (lambda s: s.update({"layers.0.neurons.0.w.0": "0.5"}), "'layers.0.neurons.0.w.0': not a number"),
        (lambda s: s.update({"layers.0.neurons.0.w.1": True}), "not a number"),
        (lambda s: s.update({"layers.0.neurons.1.b": float("nan")}), "finite number, got nan"),
    ],
)
def test_a_bad_state_dict_changes_nothing(change, message):
    model = MLP(2, [4, 2], seed=1)
    before = model.state_dict()
    state = MLP(2, [4, 2], seed=9).state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    path = tmp_path / "model.json"
    a = MLP(2, [5, 3, 1], activation="tanh", seed=3)
    assert a.save(path) == path
    b = MLP(2, [5, 3, 1], activation="tanh", seed=4)
    assert outputs(b, POINTS) != outputs(a, POINTS)
    b.load(path)
    assert b.state_dict() == a.state_dict()  # floats come back bit for bit
    assert outputs(b, POINTS) == outputs(a, POINTS)
    document = json.loads(path.read_text())
    assert document["architecture"] == {
        "type": "MLP", "sizes": [2, 5, 3, 1], "activations": ["tanh", "tanh", "linear"]
    }
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_failure_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    old = MLP(2, [3, 1], seed=0)
    old.save(path)
    old_text = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk unplugged"):
        MLP(2, [3, 1], seed=1).save(path)
    assert path.read_text() == old_text
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_failure_while_writing_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    old_text = path.read_text()
    real_fsync = os.fsync

    def failing_fsync(fd):
        real_fsync(fd)
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="no space"):
        MLP(2, [3, 1], seed=1).save(path)
    assert path.read_text() == old_text and os.listdir(tmp_path) == ["model.json"]


def test_save_refuses_a_diverged_model(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[1].b.data = math.inf
    with pytest.raises(ValueError, match="layers.0.neurons.1.b"):
        model.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def _saved(tmp_path, model) -> dict:
    model.save(tmp_path / "good.json")
    return json.loads((tmp_path / "good.json").read_text())


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"format": "chainrule.nn", "version": 1, "architec', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2, 3]", "not a chainrule model file"),
        ('{"weights": [1, 2]}', "not a chainrule model file"),
        ('{"format": "chainrule.nn", "version": 99}', "file version 99"),
    ],
)
def test_load_refuses_broken_files_and_changes_nothing(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message) as info:
        model.load(path)
    assert str(path) in str(info.value)
    assert model.state_dict() == before


def test_load_refuses_another_shape(tmp_path):
    MLP(2, [4, 1], seed=0).save(tmp_path / "m.json")
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"shape mismatch: the file holds MLP\(sizes=\[2, 4, 1\]"):
        model.load(tmp_path / "m.json")
    assert model.state_dict() == before
    MLP(2, [3, 1], activation="tanh", seed=1).save(tmp_path / "tanh.json")
    with pytest.raises(ValueError, match=r"\['tanh', 'linear'\]\) but this model is .*\['relu', 'linear'\]"):
        model.load(tmp_path / "tanh.json")
    assert model.state_dict() == before


def test_load_refuses_bad_values_and_keys_in_a_good_looking_file(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    document = _saved(tmp_path, MLP(2, [3, 1], seed=5))
    path = tmp_path / "edited.json"

    for edit, message in [
        (lambda d: d["parameters"].pop("layers.1.neurons.0.w.2"), "missing 1 key"),
        (lambda d: d["parameters"].__setitem__("layers.0.neurons.0.w.0", [1.0]), "not a number"),
        (lambda d: d.__setitem__("parameters", [1.0, 2.0]), "must be a dict"),
    ]:
        edited = json.loads(json.dumps(document))
        edit(edited)
        path.write_text(json.dumps(edited))
        with pytest.raises(ValueError, match=message):
            model.load(path)
        assert model.state_dict() == before
    weight = repr(document["parameters"]["layers.0.neurons.2.w.1"])
    path.write_text(json.dumps(document).replace(weight, "NaN"))
    with pytest.raises(ValueError, match="NaN, not a finite number"):
        model.load(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a text file"):
        model.load(path)
    assert model.state_dict() == before
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.json")


# --- gradients through a whole network (the course's Exercise 5.3) ------------------------------


def test_gradcheck_of_a_three_layer_tanh_network():
    model = MLP(3, [4, 4, 1], activation="tanh", seed=11)
    rng = random.Random(11)
    X = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(6)]
    y = [rng.uniform(-1, 1) for _ in range(6)]
    for p in model.parameters():  # biases away from zero, so every parameter matters
        p.data += rng.uniform(-0.1, 0.1)

    report = gradcheck(lambda: mse([model(x) for x in X], y), model.parameters())
    assert len(report.rows) == len(model.parameters()) == 4 * 4 + 4 * 5 + 5
    assert [row.name for row in report.rows] == [p.name for p in model.parameters()]
    assert report.ok, str(report)
    assert all(row.verdict == "correct" for row in report.rows)
    assert max(abs(row.analytic) for row in report.rows) > 1e-3  # the check compared real gradients


# --- micrograd's demo code runs after swapping the imports ----------------------------------------


def micrograd_demo_steps(MLP_, Value_, X, y, steps):
    """The training loop of micrograd's demo notebook, condensed: hinge loss, L2, SGD with decay."""
    model = MLP_(2, [16, 16, 1])
    losses = []
    for k in range(steps):
        inputs = [list(map(Value_, row)) for row in X]
        scores = list(map(model, inputs))
        losses.append(_demo_update(model, scores, y, k))
    return model, losses


def _demo_update(model, scores, y, k) -> float:
    data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)) * (1.0 / len(scores))
    total = data_loss + 1e-4 * sum(p * p for p in model.parameters())
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= (1.0 - 0.9 * k / 100) * p.grad
    return total.data


def test_micrographs_demo_loop_runs_on_our_mlp():
    from chainrule.nn.data import make_moons

    X, labels = make_moons(30, noise=0.1, seed=0)
    y = [2 * c - 1 for c in labels]
    random.seed(1337)
    model, losses = micrograd_demo_steps(MLP, Value, X, y, steps=3)
    assert len(model.parameters()) == 337 and losses[-1] < losses[0]


def test_same_weights_give_micrographs_losses():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from chainrule.nn.data import make_moons

    X, labels = make_moons(20, noise=0.1, seed=0)
    y = [2 * c - 1 for c in labels]
    ours = MLP(2, [16, 16, 1], init="uniform", seed=3)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        q.data = p.data

    def run(model, V):
        losses = []
        for k in range(3):
            scores = [model(list(map(V, row))) for row in X]
            losses.append(_demo_update(model, scores, y, k))
        return losses

    ours_run = run(ours, Value)
    theirs_run = run(theirs, micrograd_engine.Value)
    assert ours_run == pytest.approx(theirs_run, rel=1e-12)
    ours_after, theirs_after = [p.data for p in ours.parameters()], [q.data for q in theirs.parameters()]
    assert ours_after == pytest.approx(theirs_after, rel=1e-9, abs=1e-12)


# --- hostile model files (issue 18, items 2 and 5) ------------------------------------------------------


def saved_model(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    path = model.save(tmp_path / "model.json")
    return model, path, [p.data for p in model.parameters()]


def edited(path, replace: str, by: str) -> None:
    text = path.read_text()
    assert replace in text
    path.write_text(text.replace(replace, by, 1))


@pytest.mark.parametrize("digits", [400, 5_000, 50_000])
def test_a_huge_integer_in_the_file_is_a_value_error_naming_the_file(tmp_path, digits):
    model, path, before = saved_model(tmp_path)
    key = next(iter(model.state_dict()))
    edited(path, f'"{key}": {model.state_dict()[key]!r}', f'"{key}": {"9" * digits}')
    with pytest.raises(ValueError, match="model.json: .*finite number") as info:
        model.load(path)
    assert type(info.value) is ValueError
    assert [p.data for p in model.parameters()] == before


def test_deeply_nested_json_is_a_value_error(tmp_path):
    model, path, before = saved_model(tmp_path)
    path.write_text("[" * 20_000 + "]" * 20_000)  # within the size limit
    with pytest.raises(ValueError, match="model.json: .*nested too deeply") as info:
        model.load(path)
    assert type(info.value) is ValueError and [p.data for p in model.parameters()] == before


def test_an_endless_file_is_refused_after_reading_just_past_what_the_model_could_need(tmp_path):
    model, _, before = saved_model(tmp_path)
    with pytest.raises(ValueError, match="/dev/zero: larger than .* bytes"):
        model.load("/dev/zero")
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(8 * 2**30)  # an 8 GB sparse file: reading it whole would exhaust memory
    with pytest.raises(ValueError, match="big.json: larger than"):
        model.load(big)
    assert [p.data for p in model.parameters()] == before


def test_a_saved_model_is_far_below_its_size_limit(tmp_path):
    model = MLP(2, [64, 64, 1], seed=1)
    path = model.save(tmp_path / "m.json")
    assert path.stat().st_size * 2 < model._file_size_limit()
    model.load(path)


def test_load_state_dict_with_a_huge_integer_is_a_value_error():
    model = MLP(2, [3, 1], seed=0)
    before = [p.data for p in model.parameters()]
    state = {**model.state_dict(), next(iter(model.state_dict())): 10**400}
    with pytest.raises(ValueError, match="about 10\\^400, too large for a float") as info:
        model.load_state_dict(state)
    assert type(info.value) is ValueError and [p.data for p in model.parameters()] == before


def test_save_through_a_symlink_updates_the_target_and_keeps_the_link(tmp_path):
    old = MLP(2, [3, 1], seed=0)
    old.save(tmp_path / "weights.json")
    (tmp_path / "current.json").symlink_to(tmp_path / "weights.json")
    new = MLP(2, [3, 1], seed=7)
    new.save(tmp_path / "current.json")
    assert (tmp_path / "current.json").is_symlink()
    old.load(tmp_path / "weights.json")
    assert old.state_dict() == new.state_dict()
