"""Grouping a graph by the nn modules its nodes belong to, read from their names.

nn names every parameter ``L{layer}.N{neuron}.{what}`` (``L1.N3.w2``, ``L1.N3.b``)
and a neuron's sum and activation ``L1.N3.z`` and ``L1.N3.h``. A name with at
least three dot-separated parts puts its node in the neuron ``L1.N3`` of the
layer ``L1``. Nodes without a name (the products ``w_i * x_i``) join the
cluster of the nodes that consume them when those all agree; walking
consumers before producers lets that spread down a chain of unnamed nodes.
Inputs fed to several neurons, and the loss, stay outside every cluster.

A graph too large to draw node by node (over ``max_nodes``) is drawn one box
per neuron instead (see ``collapsed_dot``): the box says how many nodes it
stands for and, when the neuron has a single output, that output's data and
grad. If even that is too many boxes, one box per layer; if that is still too
many, ``GraphTooLarge``.
"""

from __future__ import annotations

import graphviz
from chainrule.autograd import Value

from .drawing import (
    ACCENT,
    MODULE_FILL,
    GraphTooLarge,
    cluster_style,
    default_look,
    indices,
    new_digraph,
    num,
    record,
    value_node,
)


def module_path(name: str | None) -> tuple[str, ...]:
    """``("L1", "L1.N3")`` for a name like ``L1.N3.w2``; ``()`` when the name says no module."""
    if not name:
        return ()
    parts = name.split(".")
    if len(parts) < 3 or not all(parts[:2]):
        return ()
    return (parts[0], f"{parts[0]}.{parts[1]}")


def consumers(order: list[Value]) -> list[list[int]]:
    """For each node index, the indices of the nodes that take it as a parent (once each)."""
    where = indices(order)
    out: list[list[int]] = [[] for _ in order]
    for i, node in enumerate(order):
        for parent in dict.fromkeys(node.parents):  # x*x consumes x once
            out[where[parent]].append(i)
    return out


def clusters(order: list[Value]) -> dict[int, tuple[str, ...]]:
    """Node index -> (layer, neuron) for every node that belongs to a neuron by name or by use."""
    used_by = consumers(order)
    found: dict[int, tuple[str, ...]] = {}
    for i in reversed(range(len(order))):  # consumers first: their cluster is known when we get here
        node = order[i]
        if node.name:
            path = module_path(node.name)
        else:
            paths = {found.get(c, ()) for c in used_by[i]}
            path = paths.pop() if len(paths) == 1 else ()
        if path:
            found[i] = path
    return found


def collapsed_dot(order: list[Value], show_grad: bool = True, highlight=(), max_nodes: int = 5000
                  ) -> graphviz.Digraph:
    """The graph drawn one box per neuron (or, if that is still too many, per layer).

    Outside the modules, the nodes that share a name (the inputs ``x1`` of every
    sample in a batch) become one box, the output keeps its own box, and every
    other unnamed node (the loss arithmetic) is gathered into one box. What is
    left is the model's architecture with its data flow; edges between two
    boxes are merged into one arrow.

    Boxes get the ids ``m{k}`` (class ``module``), numbered in order of first
    appearance, except a box that holds one node, which stays ``v{i}``; a
    merged edge is ``{source id}-{target id}``.
    """
    found = clusters(order)
    for depth in (2, 1):
        unit_of = [_unit(order, i, found, depth) for i in range(len(order))]
        units = list(dict.fromkeys(unit_of))
        if len(units) <= max_nodes:
            return _draw_units(order, unit_of, units, show_grad, highlight)
    raise GraphTooLarge(len(order), max_nodes, grouped=True)


def _unit(order: list[Value], i: int, found: dict[int, tuple[str, ...]], depth: int) -> tuple[str, ...]:
    """The box node i is drawn in: its module, the output, its name, or 'everything else'."""
    if i in found:
        return ("module", *found[i][:depth])
    if i == len(order) - 1:
        return ("output",)
    if order[i].name:
        return ("name", order[i].name)
    return ("other",)


def _draw_units(order, unit_of, units, show_grad, highlight) -> graphviz.Digraph:
    where = indices(order)
    highlight = {v for v in highlight if isinstance(v, Value)}
    members: dict[tuple[str, ...], list[int]] = {unit: [] for unit in units}
    for i, unit in enumerate(unit_of):
        members[unit].append(i)
    ident = {}
    for k, unit in enumerate(units):
        ident[unit] = f"v{members[unit][0]}" if len(members[unit]) == 1 else f"m{k}"
    used_by = consumers(order)
    dot = new_digraph()
    dot.attr(ranksep="0.6")
    root = order[-1]
    layers: dict[str, graphviz.Digraph] = {}  # neuron boxes sit in a dashed cluster per layer
    for unit in units:
        ids = members[unit]
        hot = any(order[j] in highlight for j in ids)
        if len(ids) == 1:
            node = order[ids[0]]
            value_node(dot, ids[0], node, default_look(node, node is root, show_grad), hot)
            continue
        target = dot
        if unit[0] == "module" and len(unit) == 3:
            if unit[1] not in layers:
                layers[unit[1]] = graphviz.Digraph(name=f"cluster{len(layers) + 1}")
                cluster_style(layers[unit[1]], unit[1], f"cluster{len(layers)}", "layer")
            target = layers[unit[1]]
        target.node(ident[unit], record(_unit_fields(order, unit, ids, unit_of, used_by, show_grad)),
                    id=ident[unit], shape="record", style="filled,rounded", fillcolor=MODULE_FILL,
                    color=ACCENT if hot else "#4c1d95", penwidth="3" if hot else "1.5", **{"class": "module"})
    for layer in layers.values():
        dot.subgraph(layer)
    # One arrow per pair of boxes; how many edges it stands for is in the boxes' own counts
    # (labels on these arrows clutter the picture and push the layout around).
    merged: dict[tuple[str, str], None] = {}
    for i, node in enumerate(order):
        for parent in node.parents:
            key = (ident[unit_of[where[parent]]], ident[unit_of[i]])
            if key[0] != key[1]:
                merged[key] = None
    for src, dst in merged:
        dot.edge(src, dst, id=f"{src}-{dst}", **{"class": "edge"})
    return dot


def _unit_fields(order, unit, ids, unit_of, used_by, show_grad) -> list[str]:
    if unit[0] == "module":
        fields = [unit[-1], f"{len(ids):,} nodes"]
    elif unit[0] == "name":
        fields = [unit[1], f"{len(ids):,} values"]
    else:
        fields = ["the rest", f"{len(ids):,} nodes"]
    outputs = [j for j in ids if any(unit_of[c] != unit for c in used_by[j])]
    if len(outputs) == 1:
        out = order[outputs[0]]
        fields.append(f"out {num(out.data)}")
        if show_grad:
            fields.append(f"grad {num(out.grad)}")
    elif unit[0] == "module":
        fields.append(f"{len(outputs):,} outputs")
    return fields
