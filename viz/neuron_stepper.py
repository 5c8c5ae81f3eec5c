"""The stepper's neuron view: the network drawn as neurons, each circle opening into its scalar nodes.

``stepper_html(loss, view="neurons")`` plays the same forward and backward
steps as the scalar stepper (the same recorded data), but shows the graph as
``viz.neurons`` draws it: one circle per neuron, one arrow per weight, the
loss on the right. Clicking a circle opens it in place into its own scalar
subgraph (its weights and bias, the products w_i * x_i, the sum z and the
activation h), where every step of that neuron plays exactly as in the scalar
view; clicking its heading folds it back.

How the page is made (the choice, and why): Graphviz draws the neuron diagram
once, and each neuron's scalar subgraph once, on its own (``expansion_svg``).
The subgraphs are put into the page hidden, with the same element ids as the
scalar view (``v{i}``, ``op{i}``, ``e{i}_{k}``, by topological index), so the
stepper's script paints them like any scalar graph. A product's input from
outside the neuron (an input x, or a neuron of the layer before) ends in a
small dot, ``s{i}_{k}``, where the weight's arrow lands when the neuron is
open. Opening a neuron is done by the page's script (``assets/neurons_view.js``):
it widens that column, moves the other circles aside and redraws the straight
weight arrows to the dots. That costs one picture per neuron, each about the
size of the neuron, where drawing every open-or-closed state of the whole
network would cost N+1 whole pictures; for MLP(2, [16, 16, 1]) and one sample
the page is about 3 MB either way of a scalar page of 2 MB, against 5 MB and
more for N+1 pictures.

The loss's own nodes (the arithmetic after the last layer) open the same way,
from the loss box.
"""

from __future__ import annotations

import html
import re

from chainrule.autograd import Value
from chainrule.autograd.names import display_names

from .drawing import (
    DEAD_FILL,
    EDGE_INK,
    MODULE_FILL,
    SATURATED_FILL,
    SATURATION,
    default_look,
    indices,
    new_digraph,
    num,
    op_node,
    plain,
    value_node,
)
from .modules import consumers
from .neurons import members, network, neurons_dot
from .pages import inline_svg
from .render import render

#: The height of an open neuron's heading (the band to click to fold it), in Graphviz points.
HEADING = 24

_UNIT_NAME = re.compile(r"^L(\d+)\.N(\d+)$")
_WEIGHT = re.compile(r"^L(\d+)\.N(\d+)\.w(\d+)$")


def unit_id(name: str) -> str:
    """``n1_3`` for the neuron ``L1.N3``: its id in the neuron view."""
    m = _UNIT_NAME.match(name)
    return f"n{m[1]}_{m[2]}"


def view_data(root: Value, order: list[Value]) -> tuple[dict, dict[str, list[int]]]:
    """What the page's script needs to open and fold units, and each unit's scalar nodes.

    ``units``: per unit (each neuron, then the loss), its id, its name, its nodes, its
    outputs (the nodes whose values leave it) and its stubs: one per input from outside,
    ``{"id": "s{i}_{k}", "node": i, "parent": p, "arrow": "w1_3_2", "from": "x2"}``.
    ``owner``: for each node index, the id of the circle or box that stands for it.
    """
    where = indices(order)
    found = members(root)
    layer_first = sorted(found, key=lambda name: tuple(int(part[1:]) for part in name.split(".")))
    groups = {unit_id(name): found[name] for name in layer_first}
    net = network(root)
    inputs = {where[x]: f"x{k + 1}" for k, xs in enumerate(net.inputs) for x in xs}
    owner: dict[int, str] = dict(inputs)
    for ident, ids in groups.items():
        owner.update((i, ident) for i in ids)
    rest = [i for i in range(len(order)) if i not in owner]
    if rest:
        groups["loss"] = rest
        owner.update((i, "loss") for i in rest)
    last = len(net.layers)
    used_by = consumers(order)
    units = []
    for ident, ids in groups.items():
        inside = set(ids)
        stubs = []
        for i in ids:
            for k, parent in enumerate(order[i].parents):
                p = where[parent]
                if p in inside:
                    continue
                source = owner.get(p, "")
                stubs.append({"id": f"s{i}_{k}", "node": i, "k": k, "parent": p, "from": source,
                              "arrow": _arrow(order, i, ident, source, last)})
        outputs = [i for i in ids if i == len(order) - 1 or any(owner.get(c, "") != ident for c in used_by[i])]
        units.append({"id": ident, "name": "loss" if ident == "loss" else _name(ident), "nodes": ids,
                      "outputs": outputs, "stubs": stubs})
    weights = {}
    for i, node in enumerate(order):
        m = _WEIGHT.match(node.name or "")
        if m and node.is_leaf:
            weights[f"w{m[1]}_{m[2]}_{m[3]}"] = i
    return {"units": units, "owner": [owner.get(i, "") for i in range(len(order))], "weights": weights,
            "heading": HEADING, "saturation": SATURATION,
            "fills": {"dead": DEAD_FILL, "saturated": SATURATED_FILL, "live": MODULE_FILL}}, groups


def _name(ident: str) -> str:
    layer, index = ident[1:].split("_")
    return f"L{layer}.N{index}"


def _arrow(order: list[Value], i: int, ident: str, source: str, last: int) -> str:
    """The diagram's arrow that stands for the edge from outside into node i of unit ``ident``."""
    if ident == "loss":
        m = _UNIT_NAME.match(_name(source)) if source.startswith("n") else None
        return f"o{m[2]}" if m and int(m[1]) == last else ""
    for parent in order[i].parents:
        m = _WEIGHT.match(parent.name or "")
        if m and parent.is_leaf:
            return f"w{m[1]}_{m[2]}_{m[3]}"
    return ""


def expansion_svg(order: list[Value], unit: dict, names: dict[Value, str]) -> str:
    """One unit's scalar subgraph, drawn by Graphviz, as a hidden ``<g>`` to put into the diagram.

    Its local box runs from (0, 0) to its ``data-width`` x ``data-height``: a heading band
    ``HEADING`` tall (click it to fold the unit), then the subgraph. Values and local
    derivatives are drawn as the scalar view draws them (the page repaints them per step).
    """
    root = order[-1]
    dot = new_digraph()
    dot.attr(nodesep="0.18", ranksep="0.3")
    ids = unit["nodes"]
    for i in ids:
        node = order[i]
        value_node(dot, i, node, default_look(node, node is root, True, names[node]))
        if not node.is_leaf:
            op_node(dot, i, node)
    inside = set(ids)
    where = indices(order)
    for stub in unit["stubs"]:
        dot.node(stub["id"], "", id=stub["id"], shape="point", width="0.09", color=EDGE_INK,
                 **{"class": "stub"})
    stubs = {(s["node"], s["k"]): s["id"] for s in unit["stubs"]}
    for i in ids:
        node = order[i]
        if node.is_leaf:
            continue
        dot.edge(f"op{i}", f"v{i}", id=f"e{i}", **{"class": "edge"})
        for k, (parent, local) in enumerate(zip(node.parents, node.local_grads(), strict=True)):
            tail = f"v{where[parent]}" if where[parent] in inside else stubs[(i, k)]
            dot.edge(tail, f"op{i}", id=f"e{i}_{k}", label=plain(num(local)), **{"class": "edge"})
    svg = render(dot, engine="auto")
    m = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg)
    width, height = float(m[3]), float(m[4])
    inner = re.search(r'<g id="graph0" class="graph" transform="([^"]*)">(.*)</g>\s*</svg>', svg, re.S)
    body = re.sub(r"^\s*<title>.*?</title>", "", inner[2], count=1, flags=re.S)
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.S)
    translate = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", inner[1])
    name = html.escape(unit["name"])
    what = "the loss" if unit["id"] == "loss" else name
    return (
        f'<g class="expansion" id="open-{unit["id"]}" data-unit="{unit["id"]}" data-width="{width:.2f}" '
        f'data-height="{height + HEADING:.2f}" visibility="hidden">'
        f'<g class="fold" data-unit="{unit["id"]}"><rect x="0" y="0" width="{width:.2f}" height="{HEADING}" '
        f'rx="4"/><text x="8" y="{HEADING - 7}">{what}: its scalar nodes (click here to fold)</text></g>'
        f'<g transform="translate({float(translate[1]):.2f} {float(translate[2]) + HEADING:.2f})">{body}</g></g>'
    )


def neuron_svg(root: Value, order: list[Value], view: dict) -> str:
    """The neuron diagram with every unit's hidden subgraph inside it, ready to inline in the page."""
    svg = inline_svg(render(neurons_dot(root, show_grad=True), engine="auto"))
    names = display_names(order)
    layer = "".join(expansion_svg(order, unit, names) for unit in view["units"])
    end = svg.rfind("</g>")
    return svg[:end] + f'<g id="expansions">{layer}</g>' + svg[end:]
