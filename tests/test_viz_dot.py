"""Graphs as DOT: one box per value, one ellipse per op, the agreed ids, labels checked by hand."""

from __future__ import annotations

import math
import re

import pytest
from chainrule.autograd import OPS, Value, topological_order
from chainrule.viz import GraphTooLarge, to_dot
from chainrule.viz.dot import escape_field, num, visible
from chainrule.viz.modules import clusters, module_path
from course import course, sig

from chainrule import autograd

NODE = re.compile(r"^\t(v|op)(\d+) \[label=(.*?) class=", re.M)
EDGE = re.compile(r"^\t(\S+) -> (\S+) \[(.*)\]$", re.M)


def labels(source: str) -> dict[str, str]:
    """DOT node name -> its label text, from the source."""
    return {kind + i: label for kind, i, label in NODE.findall(source)}


def has_label(attrs: str, text: str) -> bool:
    """Whether a DOT attribute list carries ``label=text``, quoted or not."""
    return f'label="{text}"' in attrs or re.search(rf"(^| )label={re.escape(text)}( |$)", attrs) is not None


def edges(source: str) -> dict[str, tuple[str, str, str]]:
    """Edge id -> (tail, head, attribute text)."""
    out = {}
    for tail, head, attrs in EDGE.findall(source):
        ident = re.search(r"\bid=(\w+)", attrs).group(1)
        out[ident] = (tail, head, attrs)
    return out


def test_one_box_per_value_one_ellipse_per_op_and_one_edge_per_parent():
    L, *_ = course(backward=True)
    order = topological_order(L)
    source = to_dot(L).source
    found = labels(source)
    assert {k for k in found if k.startswith("v")} == {f"v{i}" for i in range(len(order))}
    assert {k for k in found if k.startswith("op")} == {f"op{i}" for i, n in enumerate(order) if n.parents}
    expected_edges = {f"e{i}" for i, n in enumerate(order) if n.parents}
    expected_edges |= {f"e{i}_{k}" for i, n in enumerate(order) for k in range(len(n.parents))}
    assert set(edges(source)) == expected_edges
    assert len(expected_edges) == 5 + 8  # 5 ops; parents: * 2, + 2, sigmoid 1, - 2, ** 1


def test_labels_show_data_and_grad_from_the_closed_form():
    L, v, *_ = course(backward=True)
    order = topological_order(L)
    where = {n: i for i, n in enumerate(order)}
    found = labels(to_dot(L).source)
    s = sig(0.8 * 1.5 + 0.1)
    dz = 2 * (s - 1) * s * (1 - s)  # dL/dz by hand
    hand = [("w", 0.8, dz * 1.5), ("x", 1.5, dz * 0.8), ("b", 0.1, dz), ("y", 1.0, 2 * (1 - s))]
    for name, data, grad in hand:
        label = found[f"v{where[v[name]]}"]
        assert label == f'"{name} | data {data:.4g} | grad {grad:.4g}"'
    assert found[f"v{where[L]}"] == f'"L | data {(1 - s) ** 2:.4g} | grad 1"'
    assert found[f"op{where[L]}"] == '"** 2"'


def test_edge_labels_are_the_local_derivatives():
    L, v, *_ = course(backward=True)
    order = topological_order(L)
    where = {n: i for i, n in enumerate(order)}
    found = edges(to_dot(L).source)
    s = sig(1.3)
    h = L.parents[0].parents[1]
    z = h.parents[0]
    wx = z.parents[0]
    expected = {
        f"e{where[wx]}_0": 1.5,  # d(w*x)/dw = x
        f"e{where[wx]}_1": 0.8,  # d(w*x)/dx = w
        f"e{where[h]}_0": s * (1 - s),  # sigmoid'
        f"e{where[L.parents[0]]}_1": -1.0,  # d(y - h)/dh
        f"e{where[L]}_0": 2 * (1 - s),  # d(u^2)/du
    }
    for ident, local in expected.items():
        assert has_label(found[ident][2], f"{local:.4g}"), ident
    assert found[f"e{where[wx]}_0"][:2] == (f"v{where[v['w']]}", f"op{where[wx]}")
    assert found[f"e{where[wx]}"][:2] == (f"op{where[wx]}", f"v{where[wx]}")


def test_a_parent_used_twice_gets_two_edges_each_with_its_local():
    x = Value(3.0, name="x")
    y = x * x
    found = edges(to_dot(y).source)
    assert found["e1_0"][:2] == found["e1_1"][:2] == ("v0", "op1")
    assert has_label(found["e1_0"][2], "3") and has_label(found["e1_1"][2], "3")


def test_classes_for_css():
    L, *_ = course(backward=True)
    source = to_dot(L).source
    assert source.count('class="value leaf"') == 4
    assert source.count('class="value result"') == 5
    assert source.count("class=op") == 5
    assert source.count('class="edge"') == 13


def test_the_same_graph_gives_byte_identical_dot():
    first = to_dot(course(backward=True).L).source
    second = to_dot(course(backward=True).L).source  # a new graph: new objects, new id()s
    assert first == second
    L, *_ = course(backward=True)
    assert to_dot(L).source == to_dot(L).source


def test_options_hide_grads_and_local_derivatives():
    L, *_ = course(backward=True)
    source = to_dot(L, show_grad=False, show_local=False).source
    assert "grad" not in source
    assert "label=" in source  # boxes keep their labels ...
    assert not any("label" in attrs for _, _, attrs in edges(source).values())  # ... edges lose theirs


def test_highlight_marks_nodes_and_edges():
    L, v, *_ = course(backward=True)
    where = {n: i for i, n in enumerate(topological_order(L))}
    h = L.parents[0].parents[1]
    source = to_dot(L, highlight=[h, (h.parents[0], v["b"])]).source
    i = where[h]
    assert re.search(rf"\tv{i} \[.*color=\"#dc2626\"", source)
    assert re.search(rf"\top{i} \[.*color=\"#dc2626\"", source)
    assert 'color="#dc2626"' in edges(source)[f"e{i}"][2]
    assert 'color="#dc2626"' in edges(source)[f"e{where[h.parents[0]]}_1"][2]  # b is z's second parent
    assert 'color="#dc2626"' not in edges(source)[f"e{where[h.parents[0]]}_0"][2]


def test_highlight_refuses_what_is_not_in_the_graph():
    L, v, *_ = course(backward=True)
    with pytest.raises(ValueError, match="not in the graph"):
        to_dot(L, highlight=[Value(1.0)])
    with pytest.raises(ValueError, match="not a parent"):
        to_dot(L, highlight=[(L, v["w"])])
    with pytest.raises(TypeError, match="str"):
        to_dot(L, highlight=["w"])
    with pytest.raises(TypeError, match="float"):
        to_dot(1.5)


def test_over_max_nodes_says_how_many_and_suggests_grouping():
    x = Value(0.5)
    y = x
    for _ in range(30):
        y = y * 1.0001
    count = len(topological_order(y))
    with pytest.raises(GraphTooLarge, match=rf"{count} nodes.*max_nodes=20.*group_modules=True"):
        to_dot(y, max_nodes=20)
    assert to_dot(y, max_nodes=count).source  # exactly at the limit is fine


def test_numbers_have_four_significant_digits_and_no_negative_zero():
    assert num(1 / 3) == "0.3333"
    assert num(-0.0) == "0"
    assert num(123456.0) == "1.235e+05"
    assert num(math.inf) == "inf"
    x = Value(0.0, name="x")
    y = -x
    y.backward()
    assert '"neg1 | data 0 | grad 1"' in to_dot(y).source  # unnamed: its display name


def test_every_op_in_the_table_is_drawn_with_its_symbol():
    from op_cases import CASES, engine_keys  # the op table's test cases: one per row

    a, b = Value(0.6, name="a"), Value(1.7, name="b")
    build = {key: (lambda c=case: c.build(*[(a, b)[i % 2] for i in range(c.arity)], *c.params))
             for key, case in CASES.items()}
    missing = engine_keys() - set(build)  # nn's fused loss is drawn in the nn test
    assert not missing, f"add these ops to tests/op_cases.py: {missing}"
    for key, make in build.items():
        node = make()
        node.backward()
        source = to_dot(node).source
        symbol = OPS[key].symbol
        assert re.search(rf"\top\d+ \[label=\"?{re.escape(symbol)}\"?[ \]]", source), (key, source)
        for k, d in enumerate(node.local_grads()):
            assert has_label(edges(source)[f"e{len(topological_order(node)) - 1}_{k}"][2], num(d)), key


def test_escaping_for_record_labels():
    assert escape_field('a"b{c}|d<e>') == 'a"b\\{c\\}\\|d\\<e\\>'
    assert escape_field("back\\slash") == "back\\\\slash"
    assert escape_field("x&amp;y") == "x&amp;amp;y"
    assert escape_field("two\nlines") == "two\\nlines"
    assert visible("bell\x07 \ud800 ok \u200f😀") == "bell\\x07 \\ud800 ok \u200f😀"


# --- grouping by nn module names -----------------------------------------------------


def tiny_mlp(inputs=(0.5, -1.0), seed_weights=(0.3, -0.2, 0.7, 0.1, 0.4, -0.6)):
    """A 2-2-1 network built by hand with nn's naming scheme, without nn."""
    xs = [Value(v, name=f"x{k + 1}") for k, v in enumerate(inputs)]
    weights = iter(seed_weights)
    h = []
    for n in (1, 2):
        w = [Value(next(weights), name=f"L1.N{n}.w{k + 1}") for k in range(2)]
        b = Value(0.0, name=f"L1.N{n}.b")
        z = autograd.sum([wi * xi for wi, xi in zip(w, xs, strict=True)] + [b])
        z.name = f"L1.N{n}.z"
        out = z.tanh()
        out.name = f"L1.N{n}.h"
        h.append(out)
    w = [Value(next(weights), name=f"L2.N1.w{k + 1}") for k in range(2)]
    z = autograd.sum([wi * hi for wi, hi in zip(w, h, strict=True)] + [Value(0.0, name="L2.N1.b")])
    z.name = "L2.N1.z"
    loss = (z - 1.0) ** 2
    loss.name = "loss"
    loss.backward()
    return loss


def test_module_path_reads_nn_names():
    assert module_path("L1.N3.w2") == ("L1", "L1.N3")
    assert module_path("L12.N1.b") == ("L12", "L12.N1")
    assert module_path("x1") == ()
    assert module_path("w") == ()
    assert module_path(None) == ()
    assert module_path("..z") == ()


def test_products_join_their_neuron_and_inputs_stay_outside():
    loss = tiny_mlp()
    order = topological_order(loss)
    found = clusters(order)
    for i, node in enumerate(order):
        if node.op == "*":
            weight = node.parents[0]
            assert found[i] == module_path(weight.name), "a product sits with its weight's neuron"
        if node.name in ("x1", "x2", "loss"):
            assert i not in found
    # The constant 1.0 in (z - 1)**2 and the difference feed only the loss: no cluster.
    assert all(i not in found for i, n in enumerate(order) if n.op in ("-", "**"))


def test_group_modules_draws_one_cluster_per_neuron_inside_one_per_layer():
    source = to_dot(tiny_mlp(), group_modules=True).source
    opened = re.findall(r"subgraph (cluster\d+) \{", source)
    assert len(opened) == 2 + 3  # layers L1, L2; neurons L1.N1, L1.N2, L2.N1
    for name in ("L1", "L2", "L1.N1", "L1.N2", "L2.N1"):
        assert f"label={name} " in source or f'label="{name}"' in source
    assert source.count("class=layer") == 2 and source.count("class=neuron") == 3
    # nesting: L1's cluster opens before its two neurons and closes after them
    depth, widest = 0, 0
    for line in source.splitlines():
        depth += line.count("{") - line.count("}")
        widest = max(widest, depth)
    assert widest == 3  # digraph > layer > neuron
    assert to_dot(tiny_mlp(), group_modules=True).source == source


def test_a_large_grouped_graph_is_drawn_one_box_per_neuron():
    batch = [tiny_mlp(inputs=(0.1 * k, -0.2 * k)) for k in range(5)]
    # Five samples through networks with the same names: join them into one loss.
    loss = autograd.sum(batch)
    order = topological_order(loss)
    with pytest.raises(GraphTooLarge):
        to_dot(loss, max_nodes=50)
    source = to_dot(loss, group_modules=True, max_nodes=50).source
    boxes = dict(re.findall(r"\t(m\d+) \[label=\"([^\"]*)\"", source))
    names = sorted(label.split(" | ")[0] for label in boxes.values())
    assert names == ["L1.N1", "L1.N2", "L2.N1", "loss", "the rest", "x1", "x2"]
    grouped = clusters(order)
    in_neuron = sum(1 for path in grouped.values() if path[1] == "L1.N1")
    assert any(label == f"L1.N1 | {in_neuron} nodes | 5 outputs" for label in boxes.values())
    assert f"\tv{len(order) - 1} [" in source  # the output keeps its own box and id
    # At layer level there are fewer boxes still.
    layered = to_dot(loss, group_modules=True, max_nodes=7).source
    layer_boxes = [label.split(" | ")[0] for label in re.findall(r"\tm\d+ \[label=\"([^\"]*)\"", layered)]
    assert sorted(layer_boxes) == ["L1", "L2", "loss", "the rest", "x1", "x2"]
    with pytest.raises(GraphTooLarge, match="even with one box per neuron"):
        to_dot(loss, group_modules=True, max_nodes=3)


def test_nns_fused_cross_entropy_is_one_op_with_p_minus_y_on_its_edges():
    from chainrule.nn.losses import cross_entropy

    logits = [Value(z, name=f"z{i}") for i, z in enumerate((1.0, -0.5, 2.0))]
    loss = cross_entropy(logits, 2)
    loss.backward()
    source = to_dot(loss).source
    i = len(topological_order(loss)) - 1
    assert re.search(rf"\top{i} \[label=cross_entropy ", source)
    exps = [math.exp(1.0), math.exp(-0.5), math.exp(2.0)]
    p = [e / sum(exps) for e in exps]  # softmax by hand
    for k, target in enumerate((0.0, 0.0, 1.0)):
        assert has_label(edges(source)[f"e{i}_{k}"][2], num(p[k] - target))


def test_over_max_edges_is_refused_like_too_many_nodes():
    # Two nodes, 20,001 edges: Graphviz spends minutes routing parallel edges (issue 18, item 14).
    x = Value(2.0, name="x")
    s = autograd.sum([x] * 20000)
    with pytest.raises(GraphTooLarge, match=r"20,001 edges, more than max_edges=10,000.*group_modules=True"):
        to_dot(s)
    small = autograd.sum([x] * 5)
    assert len(edges(to_dot(small, max_edges=6).source)) == 6  # exactly at the limit is fine
    with pytest.raises(GraphTooLarge, match="6 edges"):
        to_dot(small, max_edges=5)


def test_a_long_name_is_cut_with_an_ellipsis_and_whole_in_the_tooltip():
    # A 9,000-character name made the system dot fail (issue 18, item 20).
    from chainrule.viz import render
    from chainrule.viz.drawing import MAX_LABEL

    name = "é" * 9000
    x = Value(2.0, name=name)
    y = x * 3
    y.backward()
    source = to_dot(y).source
    cut = "é" * (MAX_LABEL - 1) + "\u2026"
    assert f'"{cut} | data 2 | grad 3"' in source
    assert f'tooltip="{name[:2000 - 1]}\u2026"' in source
    svg = render(to_dot(y))
    assert cut in svg and "é" * MAX_LABEL not in svg.split("<title>")[0]
    short_name = "é" * MAX_LABEL  # at the limit: drawn whole, no tooltip
    z = Value(1.0, name=short_name) * 2
    assert f'"{short_name} | data 1' in to_dot(z).source and "tooltip" not in to_dot(z).source


def test_num_prints_zero_for_negative_zero_and_four_significant_digits():
    assert num(-0.0) == "0" and num(0.0) == "0"
    assert num(-1e-300 * 1e-300) == "0"  # a product that underflowed to -0.0
    assert num(1234567.0) == "1.235e+06" and num(-0.000123456) == "-0.0001235"


def test_heat_marks_a_dead_relu_and_a_saturated_sigmoid_on_their_boxes():
    x = Value(-2.0, name="x")
    dead = x.relu()  # input -2 <= 0: no gradient passes
    alive = (x * -1.0).relu()
    flat = (x * 5.0).sigmoid()  # sigmoid(-10) = 4.5e-5: within 1e-3 of 0
    steep = (x * 1.0).tanh()  # tanh(-2) = -0.964: not saturated
    for node, name in ((dead, "r1"), (alive, "r2"), (flat, "s1"), (steep, "t1")):
        node.name = name
    out = dead + alive + flat + steep
    out.backward()
    found = labels(to_dot(out, heat="grad").source)
    order = topological_order(out)
    where = {n: i for i, n in enumerate(order)}
    assert found[f"v{where[dead]}"].endswith(' | dead"')
    assert found[f"v{where[flat]}"].endswith(' | saturated"')
    assert not found[f"v{where[alive]}"].endswith(('dead"', 'saturated"'))
    assert not found[f"v{where[steep]}"].endswith(('dead"', 'saturated"'))
    assert all("dead" not in t and "saturated" not in t for t in labels(to_dot(out).source).values())


def test_an_op_shows_the_numbers_it_carries_when_they_are_not_its_defaults():
    # leaky_relu(x, 0.1) is a different function from leaky_relu(x): the picture says which
    x = Value(-2.0, name="x")
    steep, usual = x.leaky_relu(0.1), x.leaky_relu()
    out = steep + usual
    out.backward()
    source = to_dot(out).source
    order = topological_order(out)
    shown = labels(source)
    assert shown[f"op{order.index(steep)}"] == '"leaky_relu slope 0.1"'
    assert shown[f"op{order.index(usual)}"] == "leaky_relu"  # the default slope, 0.01, goes without saying
    # and the arrows carry the slopes themselves: d leaky_relu(x, s)/dx = s for x < 0
    assert has_label(edges(source)[f"e{order.index(steep)}_0"][2], "0.1")
    assert has_label(edges(source)[f"e{order.index(usual)}_0"][2], "0.01")
    assert x.grad == pytest.approx(0.11, rel=1e-15)
