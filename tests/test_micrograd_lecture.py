"""chainrule used the way the "building micrograd" lecture writes its code.

The lecture names nodes with ``label=``, walks the backward pass by hand with
``_backward()``, hangs its own attributes on Values, and trains a small MLP with
tanh on every layer. Each test below is written in that style, with chainrule's
Value as the only change; the numbers it checks come from closed forms, central
differences or PyTorch, never from chainrule itself.
"""

from __future__ import annotations

import math
import random

import pytest
from chainrule.autograd import numerical_grad, topological_order

from chainrule import MLP, Value
from tests.conftest import require

# The lecture's neuron: two inputs, two weights and a bias picked so that tanh(n) = 1/sqrt(2).
BIAS = 6.8813735870195432


def lecture_neuron(tanh_by_exp: bool = False):
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(BIAS, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if tanh_by_exp:  # the lecture's second version: tanh written out with exp
        e = (2 * n).exp()
        e.label = "e"
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return locals()


def test_label_is_another_word_for_name():
    x = Value(2.0, label="x1")
    assert x.label == x.name == "x1"
    x.label = "e"
    assert x.name == "e"
    x.name = "f"
    assert x.label == "f"
    assert Value(1.0, name="a", label="a").name == "a"
    with pytest.raises(TypeError, match="two different names"):
        Value(1.0, name="a", label="b")
    with pytest.raises(TypeError, match="label must be a str"):
        x.label = 3


def test_the_lecture_neuron_by_hand_with_backward_underscore():
    g = lecture_neuron()
    assert g["o"].data == pytest.approx(1 / math.sqrt(2), rel=1e-15)  # 0.7071067811865476
    # The lecture's manual walk: the output's grad is 1, then each node in reverse order sends to its parents.
    g["o"].grad = 1.0
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1", "x1", "w1", "x2", "w2"):
        g[name]._backward()  # on a leaf it does nothing
    n_grad = 1 - g["o"].data ** 2  # d tanh(n)/dn = 1 - tanh(n)^2 = 0.5
    assert g["n"].grad == pytest.approx(0.5, rel=1e-12) == n_grad
    assert g["x1"].grad == pytest.approx(-1.5, rel=1e-12)  # w1 * dL/dn
    assert g["w1"].grad == pytest.approx(1.0, rel=1e-12)  # x1 * dL/dn
    assert g["x2"].grad == pytest.approx(0.5, rel=1e-12)  # w2 * dL/dn
    assert g["w2"].grad == 0.0  # x2 is 0
    assert g["b"].grad == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("tanh_by_exp", [False, True])
def test_backward_underscore_in_reverse_topological_order_equals_backward(tanh_by_exp):
    by_hand, automatic = lecture_neuron(tanh_by_exp), lecture_neuron(tanh_by_exp)
    by_hand["o"].grad = 1.0
    for node in reversed(topological_order(by_hand["o"])):
        node._backward()
    automatic["o"].backward()
    for name in ("x1", "x2", "w1", "w2", "b", "n"):
        assert by_hand[name].grad == automatic[name].grad, name
    assert automatic["x1"].grad == pytest.approx(-1.5, rel=1e-12)
    assert automatic["w1"].grad == pytest.approx(1.0, rel=1e-12)


def test_the_lectures_two_bugs_that_accumulation_fixes():
    a = Value(3.0, label="a")
    b = a + a
    b.backward()
    assert a.grad == 2.0  # d(a + a)/da, both paths
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    f = (a * b) * (a + b)
    f.backward()
    # f = (a*b)*(a+b): df/da = b(a+b) + ab, df/db = a(a+b) + ab, one term per path
    assert (a.grad, b.grad) == (3.0 * 1.0 + (-6.0), -2.0 * 1.0 + (-6.0)) == (-3.0, -8.0)


def test_values_take_attributes_of_their_own():
    p = Value(0.5, label="w")
    p.m, p.v = 0.0, 0.0
    p.m = 0.9 * p.m + 0.1 * 2.0
    assert (p.m, p.v) == (pytest.approx(0.2), 0.0)
    node = p * 2
    node.note = "made by *"
    assert node.note == "made by *"
    with pytest.raises(AttributeError):  # the engine's own fields of a leaf stay read-only
        p.op = "*"


def adamw_in_the_wild(params, grads_per_step, lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1):
    """An AdamW that keeps its state on the parameters, as EurekaLabs' micrograd does."""
    for p in params:
        p.m, p.v = 0.0, 0.0
    for t, grads in enumerate(grads_per_step, start=1):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
            p.m = betas[0] * p.m + (1 - betas[0]) * p.grad
            p.v = betas[1] * p.v + (1 - betas[1]) * p.grad ** 2
            m_hat = p.m / (1 - betas[0] ** t)
            v_hat = p.v / (1 - betas[1] ** t)
            p.data -= lr * (m_hat / (math.sqrt(v_hat) + eps) + weight_decay * p.data)
    return [p.data for p in params]


def test_an_optimizer_that_keeps_state_on_values_matches_torch():
    require("torch")
    import torch

    start = [0.5, -1.25, 2.0]
    grads = [[0.3, -0.1, 0.05], [0.2, 0.4, -0.6], [-0.7, 0.1, 0.0]]
    ours = adamw_in_the_wild([Value(x) for x in start], grads)
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.AdamW([theirs], lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    for g in grads:
        theirs.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    # torch decays the weight, then takes the Adam step; the wild AdamW subtracts both at once: the same update.
    assert ours == pytest.approx(theirs.detach().tolist(), rel=1e-12)


def test_numpy_zero_dimensional_arrays_are_numbers():
    np = pytest.importorskip("numpy")
    assert Value(np.array(1.5)).data == 1.5
    assert Value(np.float64(2.5)).data == 2.5
    assert Value(np.array(3, dtype=np.int64)).data == 3.0
    for bad in (np.array([1.5]), np.array(1 + 2j), np.array("x")):
        with pytest.raises(TypeError, match="ndarray|real number"):
            Value(bad)


def test_a_torch_tensor_is_refused_with_a_hint():
    require("torch")
    import torch

    with pytest.raises(TypeError, match=r"\.item\(\)"):
        Value(torch.tensor(1.0))


# --- the lecture's MLP and its training loop ---------------------------------------------


class LectureNeuron:
    def __init__(self, nin, rng):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(rng.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)  # noqa: B905 - the lecture's own line
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class LectureLayer:
    def __init__(self, nin, nout, rng):
        self.neurons = [LectureNeuron(nin, rng) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class LectureMLP:
    def __init__(self, nin, nouts, rng):
        sz = [nin] + nouts
        self.layers = [LectureLayer(sz[i], sz[i + 1], rng) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def train(model, steps=20, lr=0.1):
    losses = []
    for _ in range(steps):
        ypred = [model(x) for x in XS]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))  # noqa: B905
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data += -lr * p.grad
        losses.append(loss.data)
    return losses


def test_the_lecture_training_loop_learns():
    losses = train(LectureMLP(3, [4, 4, 1], random.Random(1337)))
    assert losses[-1] < 0.1 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))  # noqa: B905 - steady descent


def test_the_lecture_gradients_match_central_differences():
    model = LectureMLP(3, [4, 4, 1], random.Random(7))
    params = model.parameters()

    def loss_fn():
        return sum((model(x) - y) ** 2 for x, y in zip(XS, YS))  # noqa: B905

    loss = loss_fn()
    loss.backward()
    numeric = numerical_grad(loss_fn, params)
    for p, n in zip(params, numeric, strict=True):
        assert p.grad == pytest.approx(n, rel=1e-6, abs=1e-8)


def test_our_mlp_with_tanh_output_is_the_lecture_mlp():
    lecture = LectureMLP(3, [4, 4, 1], random.Random(42))
    ours = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh")
    assert len(ours.parameters()) == len(lecture.parameters())  # the same order: each neuron's weights, then bias
    for mine, theirs in zip(ours.parameters(), lecture.parameters(), strict=True):
        mine.data = theirs.data
    assert train(ours) == pytest.approx(train(lecture), rel=1e-12)
    assert "output_activation='tanh'" in repr(ours)


def test_the_lecture_loop_matches_torch():
    require("torch")
    import torch

    lecture = LectureMLP(3, [4, 4, 1], random.Random(3))
    weights = [[(torch.tensor([p.data for p in n.w], dtype=torch.float64, requires_grad=True),
                 torch.tensor(n.b.data, dtype=torch.float64, requires_grad=True)) for n in layer.neurons]
               for layer in lecture.layers]
    ours = train(lecture, steps=10)
    theirs = []
    for _ in range(10):
        loss = 0.0
        for x, y in zip(XS, YS):  # noqa: B905
            h = torch.tensor(x, dtype=torch.float64)
            for layer in weights:
                h = torch.stack([torch.tanh((w * h).sum() + b) for w, b in layer])
            loss = loss + (h[0] - y) ** 2
        for layer in weights:
            for w, b in layer:
                w.grad = b.grad = None
        loss.backward()
        with torch.no_grad():
            for layer in weights:
                for w, b in layer:
                    w -= 0.1 * w.grad
                    b -= 0.1 * b.grad
        theirs.append(loss.item())
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_micrograd_nonlin_keyword():
    from chainrule.nn import Layer, Neuron

    assert Neuron(3, nonlin=False).activation == "linear"
    assert Neuron(3, nonlin=True).activation == "relu"
    assert Layer(3, 2, nonlin=False).neurons[1].activation == "linear"
    assert Layer(3, 2, activation="tanh", nonlin=True).activation == "tanh"
    with pytest.raises(ValueError, match="nonlin=True"):
        Neuron(3, activation="linear", nonlin=True)
    with pytest.raises(TypeError, match="nonlin"):
        Neuron(3, nonlin="yes")
