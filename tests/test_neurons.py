"""The neuron view: one circle per neuron, one arrow per weight, heat, dead and saturated units.

Values are checked against a forward pass written out here in plain floats,
and against the model's own parameters; the heat against the order of |dL/dw|.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chainrule.autograd import Value
from chainrule.nn import MLP, mse
from chainrule.viz import draw, render, to_dot
from chainrule.viz.drawing import num
from chainrule.viz.neurons import SATURATION, network
from conftest import require

NODE = re.compile(r"^\t(\w+) \[(.*)\]$", re.M)
EDGE = re.compile(r"^\t(\w+) -> (\w+) \[(.*)\]$", re.M)


def attr(attrs: str, key: str) -> str | None:
    m = re.search(rf'(?:^| ){key}=("(?:[^"\\]|\\.)*"|\S+)', attrs)
    return None if m is None else m.group(1).strip('"')


def parse(source: str):
    """(nodes, edges): DOT id -> attribute text, from the DOT source."""
    nodes = {name: attrs for name, attrs in NODE.findall(source) if name not in ("graph", "node", "edge")}
    edges = {attr(a, "id"): (tail, head, a) for tail, head, a in EDGE.findall(source)}
    return nodes, edges


def by_hand(model: MLP, x: list[float]) -> list[list[float]]:
    """Each layer's outputs for one input, from the weights as plain floats (the oracle)."""
    act = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
           "linear": lambda z: z}
    outs, values = [], x
    for layer in model.layers:
        values = [act[n.activation](sum(w.data * v for w, v in zip(n.w, values, strict=True)) + n.b.data)
                  for n in layer.neurons]
        outs.append(values)
    return outs


def test_one_circle_per_neuron_and_one_arrow_per_weight_with_the_models_values():
    model = MLP(3, [4, 5, 2], seed=1)
    x = [0.5, -1.0, 2.0]
    out = model(x)
    loss = (out[0] - 1.0) ** 2 + out[1] ** 2
    loss.backward()
    nodes, edges = parse(to_dot(loss, view="neurons").source)
    expected = {f"n{li + 1}_{j + 1}" for li, layer in enumerate(model.layers) for j in range(len(layer.neurons))}
    assert {n for n in nodes if n.startswith("n")} == expected
    assert {n for n in nodes if n.startswith("x")} == {"x1", "x2", "x3"}
    assert "loss" in nodes
    hand = by_hand(model, x)
    weights = 0
    for li, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            label = attr(nodes[f"n{li + 1}_{j + 1}"], "label")
            assert f"out {num(hand[li][j])}" in label
            for k, w in enumerate(neuron.w):
                tail, head, a = edges[f"w{li + 1}_{j + 1}_{k + 1}"]
                assert head == f"n{li + 1}_{j + 1}"
                assert tail == (f"x{k + 1}" if li == 0 else f"n{li}_{k + 1}")
                assert f"w {num(w.data)}, dL/dw {num(w.grad)}" in attr(a, "tooltip")
                weights += 1
    assert weights == len([p for p in model.parameters() if not p.name.endswith(".b")])
    assert len([e for e in edges if e.startswith("w")]) == weights
    # dL/d(out) of the output neurons, by hand: 2*(o0 - 1) and 2*o1
    o = hand[-1]
    assert f"grad {num(2 * (o[0] - 1))}" in attr(nodes["n3_1"], "label")
    assert f"grad {num(2 * o[1])}" in attr(nodes["n3_2"], "label")


def test_the_model_alone_draws_the_same_weights_and_no_activations():
    model = MLP(2, [3, 1], seed=2)
    nodes, edges = parse(to_dot(model, view="neurons").source)
    assert len([n for n in nodes if n.startswith("n")]) == 4 and "loss" not in nodes
    assert len([e for e in edges if e.startswith("w")]) == 2 * 3 + 3
    w = model.layers[1].neurons[0].w[2]
    assert f"w {num(w.data)}" in attr(edges["w2_1_3"][2], "tooltip")
    assert "out" not in attr(nodes["n1_1"], "label")
    svg = draw(model, view="neurons").svg()
    assert 'id="n2_1"' in svg and 'id="w2_1_3"' in svg


def test_a_batch_shows_the_mean_output_and_the_summed_gradient():
    model = MLP(2, [2, 1], activation="tanh", seed=3)
    X = [[0.1, 0.2], [-1.0, 0.5], [2.0, -0.3]]
    outs = [model(x) for x in X]
    loss = mse(outs, [1.0, -1.0, 0.5])
    loss.backward()
    net = network(loss)
    assert [len(xs) for xs in net.inputs] == [3, 3]
    unit = net.layers[0][1]
    hand = [by_hand(model, x)[0][1] for x in X]
    nodes, _ = parse(to_dot(loss, view="neurons").source)
    assert f"out {num(sum(hand) / 3)}" in attr(nodes["n1_2"], "label")
    assert f"grad {num(sum(h.grad for h in unit.outputs))}" in attr(nodes["n1_2"], "label")
    assert "3 samples" in attr(nodes["x1"], "label")


def widths(source: str, prefix: str) -> dict[str, float]:
    return {i: float(attr(a, "penwidth")) for i, (_, _, a) in parse(source)[1].items()
            if i.startswith(prefix) and attr(a, "penwidth")}


def test_heat_widths_grow_with_the_size_of_the_gradient():
    model = MLP(2, [3, 1], seed=4)
    grads = [1e-6, -3e-4, 2e-3, -0.05, 0.7, -4.0, 9.0, 0.0, 1e-2]
    weights = [w for layer in model.layers for n in layer.neurons for w in n.w]
    for w, g in zip(weights, grads, strict=True):
        w.grad = g
    source = to_dot(model, view="neurons", heat="grad").source
    found = widths(source, "w")
    ids = [f"w{li + 1}_{j + 1}_{k + 1}" for li, layer in enumerate(model.layers)
           for j, n in enumerate(layer.neurons) for k in range(len(n.w))]
    ranked = sorted(zip(grads, ids, strict=True), key=lambda t: abs(t[0]))
    got = [found[i] for _, i in ranked]
    assert got == sorted(got)
    # distinct non-zero |grad|, distinct widths; a zero gradient is drawn as thin as the smallest
    assert len(set(got[1:])) == len(got) - 1 and got[0] == got[1] == 0.5
    assert "heat: log10 |dL/dw|" in source


def test_scalar_heat_follows_upstream_times_local():
    a, b = Value(3.0, name="a"), Value(-0.001, name="b")
    c = a * b + a.tanh() * 50.0
    c.backward()
    source = to_dot(c, heat="grad").source
    edges = {i: float(attr(x, "penwidth")) for t, h, x in EDGE.findall(source)
             if (i := attr(x, "id")).startswith("e") and "_" in i and attr(x, "penwidth")}
    from chainrule.autograd import topological_order

    order = topological_order(c)
    carried = {f"e{i}_{k}": abs(n.grad * d) for i, n in enumerate(order) for k, d in enumerate(n.local_grads())}
    assert set(edges) == set(carried)
    ranked = [edges[e] for e in sorted(carried, key=carried.get)]
    assert ranked == sorted(ranked)
    assert "|upstream x local|" in source


def test_dead_and_saturated_units_are_marked():
    model = MLP(1, [3, 1], seed=5)
    first = model.layers[0].neurons
    first[0].w[0].data, first[0].b.data = 1.0, -10.0  # z = x - 10 <= 0 for every x below: dead
    first[1].w[0].data, first[1].b.data = 1.0, 0.0  # z = x > 0 for x = 2: alive
    first[2].w[0].data, first[2].b.data = -1.0, 1.5  # z = 1.5 - x: > 0 only for x = 1
    X = [[1.0], [2.0], [3.0]]
    loss = mse([model(x) for x in X], [0.0, 1.0, 0.0])
    loss.backward()
    nodes, _ = parse(to_dot(loss, view="neurons").source)
    assert attr(nodes["n1_1"], "class") == "neuron dead" and "dead" in attr(nodes["n1_1"], "label")
    assert attr(nodes["n1_2"], "class") == "neuron"
    assert attr(nodes["n1_3"], "class") == "neuron"  # off for two samples of three: not dead

    sig = MLP(1, [3, 1], activation="sigmoid", seed=6)
    s = sig.layers[0].neurons
    s[0].w[0].data, s[0].b.data = 1.0, 20.0  # sigmoid(>= 21) within 1e-3 of 1 (1 - 7.6e-10)
    s[1].w[0].data, s[1].b.data = 0.0, -6.0  # sigmoid(-6) = 0.00247: not within 1e-3
    s[2].w[0].data, s[2].b.data = -1.0, -8.0  # sigmoid(<= -9) = 1.2e-4: within 1e-3 of 0
    loss = mse([sig(x) for x in X], [0.0, 1.0, 0.0])
    loss.backward()
    nodes, _ = parse(to_dot(loss, view="neurons").source)
    assert 1 / (1 + math.exp(6)) > SATURATION and 1 / (1 + math.exp(9)) < SATURATION
    assert [attr(nodes[f"n1_{j}"], "class") for j in (1, 2, 3)] == ["neuron saturated", "neuron",
                                                                       "neuron saturated"]

    th = MLP(1, [2, 1], activation="tanh", seed=7)
    t = th.layers[0].neurons
    t[0].w[0].data, t[0].b.data = 0.0, -4.0  # tanh(-4) = -0.99933: within 1e-3 of -1
    t[1].w[0].data, t[1].b.data = 0.0, 3.0  # tanh(3) = 0.99505: not
    loss = mse([th(x) for x in X], [0.0, 1.0, 0.0])
    loss.backward()
    nodes, _ = parse(to_dot(loss, view="neurons").source)
    assert [attr(nodes[f"n1_{j}"], "class") for j in (1, 2)] == ["neuron saturated", "neuron"]


def test_a_network_with_more_weights_than_max_edges_is_refused():
    from chainrule.viz import GraphTooLarge

    model = MLP(2, [3, 1], seed=0)  # 9 weights and one arrow to the loss
    loss = (model([1.0, 2.0]) - 1.0) ** 2
    assert to_dot(loss, view="neurons", max_edges=10).source
    with pytest.raises(GraphTooLarge, match=r"10 edges, more than max_edges=9: one arrow per weight"):
        to_dot(loss, view="neurons", max_edges=9)


def test_a_graph_without_nn_names_is_refused_with_advice():
    x = Value(1.0, name="x")
    with pytest.raises(ValueError, match="no nn neurons.*view='scalar'"):
        to_dot(x * 2, view="neurons")
    with pytest.raises(ValueError, match="view must be"):
        to_dot(x * 2, view="layers")
    with pytest.raises(TypeError, match="nn model"):
        to_dot(42, view="neurons")


def test_mlp_2_16_16_1_is_readable_at_1920x1080(tmp_path, browser):
    """Every label of a neuron and input is at least 12 px tall at the browser's default zoom."""
    require("dot")
    model = MLP(2, [16, 16, 1], seed=0)
    loss = (model([0.3, -0.7]) - 1.0) ** 2
    loss.backward()
    page_file = tmp_path / "net.svg"
    render(to_dot(loss, view="neurons", heat="grad"), page_file)
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(page_file.as_uri())
    heights = page.evaluate("""() => [...document.querySelectorAll('g.node text')]
        .map(t => t.getBoundingClientRect().height)""")
    page.close()
    # two lines per input, at least a name, an out and a grad line per neuron, three for the loss
    assert len(heights) >= 2 * 2 + 33 * 3 + 3
    assert min(heights) >= 12


def test_chainrule_vanish_html_draws_both_networks_on_one_heat_scale(tmp_path):
    """The sigmoid network's input-side arrows are drawn thinner than the ReLU network's: the
    vanishing gradient in the picture. Widths are compared against each network's own grads."""
    require("dot")
    from chainrule.viz.cli import vanish_model

    out = tmp_path / "vanish.html"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "chainrule", "vanish", "--depth", "6", "--width", "4",
                             "--html", str(out)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "sigmoid: 6 hidden layers of 4" in page and "relu: 6 hidden" in page
    pictures = page.split("<svg")[1:]
    first_layer = {}
    for name, svg in zip(("sigmoid", "relu"), pictures, strict=True):
        model = vanish_model(name, 6, 4, "he", 0)
        width = {}
        for m in re.finditer(r'<g id="(w1_\d+_\d+)" class="edge weight">.*?stroke-width="([\d.]+)"', svg, re.S):
            width[m.group(1)] = float(m.group(2))
        grads = {f"w1_{j + 1}_{k + 1}": abs(w.grad) for j, n in enumerate(model.layers[0].neurons)
                 for k, w in enumerate(n.w)}
        assert set(width) == set(grads)
        ranked = [width[i] for i in sorted(grads, key=grads.get)]
        assert ranked == sorted(ranked)
        first_layer[name] = (max(grads.values()), max(width.values()))
    # one scale: the larger first-layer gradient gets the wider arrow, across the two pictures
    assert first_layer["sigmoid"][0] < first_layer["relu"][0] / 100
    assert first_layer["sigmoid"][1] < first_layer["relu"][1]


def test_members_are_the_scalar_nodes_a_circle_stands_for():
    from chainrule.autograd import topological_order
    from chainrule.viz.neurons import members

    model = MLP(2, [2, 1], seed=8)
    loss = (model([0.5, -1.5]) - 1.0) ** 2
    order = topological_order(loss)
    found = members(loss)
    assert set(found) == {"L1.N1", "L1.N2", "L2.N1"}
    n = model.layers[0].neurons[1]
    z = next(v for v in order if v.name == "L1.N2.z")
    h = next(v for v in order if v.name == "L1.N2.h")
    products = [p for p in z.parents if p.op == "*"]
    expected = {*n.w, n.b, z, h, *products}
    assert {order[i] for i in found["L1.N2"]} == expected
    assert len(products) == 2 and not set(found["L1.N1"]) & set(found["L1.N2"])


@pytest.mark.parametrize("sizes", [[2, 3, 1], [3, 3, 1], [2, 4, 2], [3, 4]])
def test_weight_labels_of_small_networks_do_not_sit_on_each_other(sizes):
    """Two text lines at 12 pt need about 0.4 in; labels between two columns share an x."""
    model = MLP(sizes[0], sizes[1:], seed=1)
    nodes, edges = parse(to_dot(model, view="neurons").source)
    found = {}
    for ident, attrs in nodes.items():
        if attr(attrs, "class") == "weight-label":
            x, y = (float(v) for v in attr(attrs, "pos").rstrip("!").split(","))
            found.setdefault(round(x, 2), []).append((y, ident))
    weights = [e for e in edges if e.startswith("w")]
    assert sum(len(v) for v in found.values()) == len(weights)  # every weight's text, once
    for column in found.values():
        ys = sorted(y for y, _ in column)
        assert min(b - a for a, b in zip(ys, ys[1:], strict=False)) >= 0.4 - 0.005  # pos has 3 decimals


def test_both_engines_pin_the_neurons_in_the_same_columns_and_rows():
    """The view is laid out by neato with pinned positions, which the WebAssembly Graphviz has too."""
    require("dot")
    require("wasm")
    model = MLP(2, [3, 2], seed=0)
    loss = (model([0.5, 1.0])[0] - 1.0) ** 2
    loss.backward()
    dot = to_dot(loss, view="neurons", heat="grad")
    centres = {}
    for engine in ("dot", "wasm"):
        svg = render(dot, engine=engine)
        centres[engine] = {m.group(1): (float(m.group(2)), float(m.group(3))) for m in re.finditer(
            r'<g id="(n\d_\d|x\d)" class="[^"]*">.*?<ellipse[^>]*cx="([-\d.]+)" cy="([-\d.]+)"', svg, re.S)}
    # L2.N2 is not in the loss's graph (only output 0 is used), so the graph's view has no circle for it
    assert set(centres["dot"]) == {"x1", "x2", "n1_1", "n1_2", "n1_3", "n2_1"}
    assert centres["dot"] == centres["wasm"]
    xs = sorted({x for x, _ in centres["dot"].values()})
    assert len(xs) == 3  # inputs, L1, L2: one column each
    assert centres["dot"]["n1_1"][1] < centres["dot"]["n1_2"][1] < centres["dot"]["n1_3"][1]  # N1 on top
