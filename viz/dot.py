"""A computational graph as Graphviz DOT: boxes for values, ellipses for ops.

The picture follows micrograd's ``draw_dot``, laid out left to right, inputs
first. Every value is a box showing its name (if any), its ``data`` and its
``grad``; every value an op made gets a small ellipse in front of it with the
op's symbol. An edge from a parent's box into an op is labelled with the
local derivative d(node)/d(parent), the number the backward pass multiplies
by the upstream gradient dL/d(node) on its way to that parent.

Nodes are numbered by their index ``i`` in ``autograd.topological_order(root)``
and the numbers become the ids in DOT and in the rendered SVG, so a web page
can find them (and nothing depends on ``id()`` or on the order of a set, which
makes the DOT byte-identical on every run)::

    v{i}      the value box of node i        class "value leaf" or "value result"
    op{i}     the op ellipse of node i       class "op"
    e{i}      the edge op{i} -> v{i}         class "edge"
    e{i}_{k}  the edge from node i's k-th parent (0-based, duplicates kept) into op{i}

``group_modules=True`` reads nn's parameter names (``L1.N3.w2``: layer,
neuron, what) and draws each neuron as a cluster inside a cluster per layer.
See ``viz.modules`` for how a graph too large to draw node by node is drawn
one box per neuron instead, and ``viz.neurons`` for ``view="neurons"``.

The text of every box comes from ``drawing.value_fields`` (the hook for what a
label shows); colours, escaping and the size guard live in ``viz.drawing``.

Names may contain anything. Labels are record labels, not HTML-like ones,
because the WebAssembly Graphviz that ``render`` falls back to has no HTML
label support; ``escape_field`` makes any text safe inside them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import graphviz
from chainrule.autograd import Value, topological_order
from chainrule.autograd.names import display_names

from .drawing import (  # noqa: F401  (the names other modules and older code import from here)
    ACCENT,
    DEAD_FILL,
    EDGE_INK,
    INK,
    LEAF_FILL,
    LOCAL_INK,
    OP_FILL,
    RESULT_FILL,
    ROOT_FILL,
    SATURATED_FILL,
    GraphTooLarge,
    HeatScale,
    Look,
    check_size,
    cluster_style,
    default_look,
    edge_count,
    edge_style,
    escape_field,
    escape_text,
    heat_legend,
    indices,
    new_digraph,
    num,
    op_node,
    op_text,
    plain,
    record,
    unit_state,
    value_fields,
    value_node,
    visible,
)
from .modules import clusters, collapsed_dot


@dataclass
class Scene:
    """A graph and everything drawn on top of it.

    ``to_dot`` fills one from its options; ``viz.frames`` fills one per backward
    step. ``edge_text`` and ``highlight_edges`` are keyed by (i, k): the edge
    from node i's k-th parent into op{i}.
    """

    order: list[Value]
    looks: list[Look]
    edge_text: dict[tuple[int, int], str] = field(default_factory=dict)
    highlight_nodes: set[int] = field(default_factory=set)
    highlight_edges: set[tuple[int, int]] = field(default_factory=set)
    caption: str = ""
    clusters: dict[int, tuple[str, ...]] = field(default_factory=dict)  # node -> (layer,) or (layer, neuron)
    # heat="grad": |upstream * local| of each edge (i, k), drawn on ``heat``'s scale with a legend
    edge_heat: dict[tuple[int, int], float] = field(default_factory=dict)
    heat: HeatScale | None = None


def to_dot(
    root,
    show_grad: bool = True,
    show_local: bool = True,
    highlight: Iterable = (),
    group_modules: bool = False,
    max_nodes: int = 5000,
    *,
    max_edges: int = 10000,
    view: str = "scalar",
    heat: str | None = None,
) -> graphviz.Digraph:
    """The graph below ``root`` as a ``graphviz.Digraph``, left to right.

    ``show_grad``   show each node's current ``.grad`` (call ``backward()`` first)
    ``show_local``  label each edge parent -> op with d(node)/d(parent)
    ``highlight``   Values to mark (their box, their op and the edge between),
                    or ``(node, parent)`` pairs to mark the edges from parent into node's op
    ``group_modules``  a cluster per nn neuron inside a cluster per layer, read from
                    names like ``L1.N3.w2``; a graph over ``max_nodes`` is then drawn
                    one box per neuron (see ``viz.modules``)
    ``max_nodes``, ``max_edges``  refuse (``GraphTooLarge``) graphs with more Values or more
                    edges than this; Graphviz takes minutes on tens of thousands of either,
                    and nobody can read them
    ``view``        ``"scalar"`` (one box per value) or ``"neurons"`` (one circle per neuron of
                    an nn model, one edge per weight: see ``viz.neurons``); ``root`` may then
                    be the model itself
    ``heat``        ``"grad"``: each edge's width and colour from log10 |upstream * local|,
                    the gradient that flows along it, with a legend
    """
    if view not in ("scalar", "neurons"):
        raise ValueError(f"view must be 'scalar' or 'neurons', got {view!r}")
    if heat not in (None, "grad"):
        raise ValueError(f"heat must be None or 'grad', got {heat!r}")
    if view == "neurons":
        from .neurons import neurons_dot  # the neuron view builds on drawing primitives, not on this module

        return neurons_dot(root, show_grad=show_grad, heat=heat, max_edges=max_edges)
    if not isinstance(root, Value):
        raise TypeError(f"to_dot needs the Value at the top of a graph, got {type(root).__name__}")
    order = topological_order(root)
    where = indices(order)
    scene = Scene(order, [])
    _mark(scene, where, highlight)  # checked first, so a bad highlight fails on any graph
    too_many = len(order) > max_nodes or edge_count(order) > max_edges
    if too_many and group_modules:
        return collapsed_dot(order, show_grad, highlight, max_nodes)
    check_size(len(order), edge_count(order), max_nodes, max_edges)
    names = display_names(order)  # mul1, add2 ...: the same names as the tables and the stepper
    scene.looks = [default_look(node, node is root, show_grad, names[node]) for node in order]
    if show_local:
        scene.edge_text.update(local_labels(order))
    if group_modules:
        scene.clusters = clusters(order)
    if heat == "grad":
        scene.edge_heat = flow(order)
        scene.heat = HeatScale.of(abs(g) for g in scene.edge_heat.values())
        scene.looks = [_unit_state(node, look) for node, look in zip(order, scene.looks, strict=True)]
    return draw_scene(scene)


def _unit_state(node: Value, look: Look) -> Look:
    """With heat on, an activation that passes (almost) no gradient is marked on its box: a ReLU
    whose input is <= 0 (dead for this sample), a sigmoid or tanh within ``SATURATION`` of a bound."""
    state = unit_state(node)
    if state is None:
        return look
    fill = DEAD_FILL if state == "dead" else SATURATED_FILL
    return Look((*look.fields, state), fill, look.border, look.penwidth, dashed=state == "dead")


def local_labels(order: list[Value]) -> dict[tuple[int, int], str]:
    """Each edge's d(node)/d(parent) as a label, keyed by (node's index in ``order``, parent's position)."""
    return {(i, k): num(d) for i, node in enumerate(order) for k, d in enumerate(node.local_grads())}


def flow(order: list[Value]) -> dict[tuple[int, int], float]:
    """The gradient each edge carries back, upstream * local, keyed like ``local_labels``."""
    return {(i, k): node.grad * d for i, node in enumerate(order) for k, d in enumerate(node.local_grads())}


def _mark(scene: Scene, where: dict[Value, int], highlight: Iterable) -> None:
    """Turn ``highlight`` (Values and (node, parent) pairs) into node and edge indices."""
    for item in highlight:
        if isinstance(item, Value):
            scene.highlight_nodes.add(_index(where, item))
        elif isinstance(item, tuple) and len(item) == 2 and all(isinstance(v, Value) for v in item):
            node, parent = item
            i = _index(where, node)
            ks = [k for k, p in enumerate(node.parents) if p is parent]
            if not ks:
                raise ValueError(f"highlight: {parent!r} is not a parent of {node!r}")
            scene.highlight_edges.update((i, k) for k in ks)
        else:
            raise TypeError(
                f"highlight takes Values and (node, parent) pairs of Values, got {type(item).__name__}"
            )


def _index(where: dict[Value, int], node: Value) -> int:
    if node not in where:
        raise ValueError(f"highlight: {node!r} is not in the graph being drawn")
    return where[node]


# --- scene -> DOT --------------------------------------------------------------------


def draw_scene(scene: Scene) -> graphviz.Digraph:
    """Emit the DOT for a scene: node statements (inside their clusters), then edges."""
    dot = new_digraph(scene.caption)
    where = indices(scene.order)
    _emit_nodes(dot, scene)
    for i, node in enumerate(scene.order):
        if node.is_leaf:
            continue
        hot = i in scene.highlight_nodes
        dot.edge(f"op{i}", f"v{i}", id=f"e{i}", **{"class": "edge"}, **edge_style(hot))
        for k, parent in enumerate(node.parents):
            attrs = {"id": f"e{i}_{k}", "class": "edge"}
            text = scene.edge_text.get((i, k))
            if text:
                attrs["label"] = plain(text)
            if scene.heat is not None and (i, k) in scene.edge_heat:
                carried = scene.edge_heat[(i, k)]
                attrs.update(scene.heat.style(abs(carried)), tooltip=plain(f"upstream x local = {num(carried)}"))
            attrs.update(edge_style((i, k) in scene.highlight_edges))
            dot.edge(f"v{where[parent]}", f"op{i}", **attrs)
    if scene.heat is not None:
        heat_legend(dot, scene.heat, "|upstream x local|")
    return dot


def _emit_nodes(dot: graphviz.Digraph, scene: Scene) -> None:
    """Node statements: first those in no cluster, then one cluster per layer, each holding
    its own nodes and one cluster per neuron. Clusters come in order of first appearance."""
    layers: dict[str, dict[str, list[int]]] = {}  # layer -> neuron ('' for the layer itself) -> nodes
    for i in range(len(scene.order)):
        path = scene.clusters.get(i, ())
        if not path:
            _emit_node(dot, scene, i)
        else:
            neuron = path[1] if len(path) > 1 else ""
            layers.setdefault(path[0], {}).setdefault(neuron, []).append(i)
    count = 0
    for layer, neurons in layers.items():
        count += 1
        with dot.subgraph(name=f"cluster{count}") as outer:
            cluster_style(outer, layer, f"cluster{count}", "layer")
            for neuron, members in neurons.items():
                if not neuron:
                    for i in members:
                        _emit_node(outer, scene, i)
                    continue
                count += 1
                with outer.subgraph(name=f"cluster{count}") as inner:
                    cluster_style(inner, neuron, f"cluster{count}", "neuron")
                    for i in members:
                        _emit_node(inner, scene, i)


def _emit_node(dot: graphviz.Digraph, scene: Scene, i: int) -> None:
    hot = i in scene.highlight_nodes
    value_node(dot, i, scene.order[i], scene.looks[i], hot)
    if not scene.order[i].is_leaf:
        op_node(dot, i, scene.order[i], hot)
