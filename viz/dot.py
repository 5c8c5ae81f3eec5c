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
one box per neuron instead.

Names may contain anything. Labels are record labels, not HTML-like ones,
because the WebAssembly Graphviz that ``render`` falls back to has no HTML
label support; ``escape_field`` makes any text safe inside them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import graphviz
from chainrule.autograd import Value, power_exponent, topological_order
from chainrule.autograd.names import display_names

# Colours chosen to survive a projector: dark ink, pale fills, one strong accent.
INK = "#1f2937"
LEAF_FILL = "#dbeafe"  # inputs and parameters: pale blue
RESULT_FILL = "#ffffff"
ROOT_FILL = "#fef9c3"  # the output: pale yellow
OP_FILL = "#e5e7eb"
EDGE_INK = "#6b7280"
LOCAL_INK = "#1d4ed8"  # edge labels (local derivatives): blue
ACCENT = "#dc2626"  # highlights: red
FONT = "Helvetica"

#: Graph, node and edge defaults shared by every picture.
GRAPH_ATTR = {"rankdir": "LR", "nodesep": "0.25", "ranksep": "0.35", "fontname": FONT, "bgcolor": "white"}
NODE_ATTR = {"fontname": FONT, "fontsize": "12", "color": INK, "fontcolor": INK}
EDGE_ATTR = {
    "fontname": FONT, "fontsize": "11", "color": EDGE_INK, "fontcolor": LOCAL_INK, "arrowsize": "0.7",
}


class GraphTooLarge(ValueError):
    """Raised by ``to_dot`` when the graph has more nodes than ``max_nodes``."""

    def __init__(self, count: int, max_nodes: int, grouped: bool = False):
        self.count = count
        self.max_nodes = max_nodes
        if grouped:
            hint = "even with one box per neuron and per layer; raise max_nodes or draw a smaller graph"
        else:
            hint = "pass group_modules=True to draw each neuron of an nn model as one box, or raise max_nodes"
        super().__init__(f"the graph has {count:,} nodes, more than max_nodes={max_nodes:,}: {hint}")


# --- text -------------------------------------------------------------------------


def num(x: float) -> str:
    """A number as every picture shows it: 4 significant digits (and 0, never -0)."""
    return f"{x + 0.0:.4g}"


def visible(text: str) -> str:
    """``text`` with characters that cannot appear in SVG written out as escapes.

    XML 1.0 forbids most control characters, and a lone surrogate cannot be
    encoded at all; both become their Python escape (``\\x07``, ``\\ud800``),
    so the picture shows what the name really holds. Newlines are kept.
    """
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff":
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def escape_text(text: str) -> str:
    """``text`` for a plain DOT label (an escString) that shows exactly these characters.

    Backslashes are doubled (Graphviz reads ``\\N``, ``\\l`` ... as escapes), ``&``
    becomes ``&amp;`` (Graphviz decodes entities in every label) and a newline
    becomes the line break ``\\n``. Double quotes are left to ``graphviz.quote``.
    """
    return _escape_visible(visible(text))


def _escape_visible(text: str) -> str:
    """``escape_text`` for text ``visible`` has already been through."""
    return text.replace("\\", "\\\\").replace("&", "&amp;").replace("\n", "\\n")


def escape_field(text: str) -> str:
    """``text`` for one field of a record label: ``escape_text`` plus ``{ } | < >``, which records
    use for structure and ports, each behind a backslash.

    Leading spaces and line breaks are dropped. A record does not show leading
    spaces anyway; a leading line break would only add an empty line, and the
    WebAssembly Graphviz (16.1) corrupts its state on a record label that starts
    with one, so that its next render traps.
    """
    text = _escape_visible(visible(text).lstrip(" \n"))
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def record(fields: Iterable[str]) -> str:
    """A record label from plain-text fields, each escaped. In a left-to-right graph the
    fields stack top to bottom."""
    return graphviz.nohtml(" | ".join(escape_field(f) for f in fields))


def plain(text: str, left: bool = False) -> str:
    """A plain (non-record) label showing ``text`` literally; ``left`` aligns its lines left."""
    if left:
        return graphviz.nohtml("".join(escape_text(line) + "\\l" for line in text.split("\n")))
    return graphviz.nohtml(escape_text(text))


def op_text(node: Value) -> str:
    """What an op ellipse shows: the op's symbol, with the exponent for ``a ** k``."""
    k = power_exponent(node)
    if k is not None:
        return f"** {num(k)}"
    return node.op


# --- what a picture shows, node by node -----------------------------------------------


@dataclass(frozen=True)
class Look:
    """How one value box is drawn."""

    fields: tuple[str, ...]  # plain text, top to bottom
    fill: str
    border: str = INK
    penwidth: float = 1.0
    dashed: bool = False


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


def value_fields(node: Value, grad: str | None, name: str | None = None) -> tuple[str, ...]:
    """The text of a value box: its display ``name`` (else its own name, if any), ``data``, and ``grad`` unless None."""
    name = name or node.name
    fields = [name] if name else []
    fields.append(f"data {num(node.data)}")
    if grad is not None:
        fields.append(grad)
    return tuple(fields)


def default_look(node: Value, is_root: bool, show_grad: bool, name: str | None = None) -> Look:
    fill = ROOT_FILL if is_root else LEAF_FILL if node.is_leaf else RESULT_FILL
    grad = f"grad {num(node.grad)}" if show_grad else None
    return Look(value_fields(node, grad, name), fill, penwidth=2.0 if is_root else 1.0)


def indices(order: list[Value]) -> dict[Value, int]:
    """Each node's index in ``order``: its number in DOT and SVG ids."""
    return {node: i for i, node in enumerate(order)}


def to_dot(
    root: Value,
    show_grad: bool = True,
    show_local: bool = True,
    highlight: Iterable = (),
    group_modules: bool = False,
    max_nodes: int = 5000,
) -> graphviz.Digraph:
    """The graph below ``root`` as a ``graphviz.Digraph``, left to right.

    ``show_grad``   show each node's current ``.grad`` (call ``backward()`` first)
    ``show_local``  label each edge parent -> op with d(node)/d(parent)
    ``highlight``   Values to mark (their box, their op and the edge between),
                    or ``(node, parent)`` pairs to mark the edges from parent into node's op
    ``group_modules``  a cluster per nn neuron inside a cluster per layer, read from
                    names like ``L1.N3.w2``; a graph over ``max_nodes`` is then drawn
                    one box per neuron (see ``viz.modules``)
    ``max_nodes``   refuse (``GraphTooLarge``) graphs with more Values than this;
                    Graphviz takes minutes on tens of thousands of nodes and nobody can read them
    """
    if not isinstance(root, Value):
        raise TypeError(f"to_dot needs the Value at the top of a graph, got {type(root).__name__}")
    order = topological_order(root)
    where = indices(order)
    scene = Scene(order, [])
    _mark(scene, where, highlight)  # checked first, so a bad highlight fails on any graph
    # viz.modules builds on this module, so it is imported here rather than at the top.
    from .modules import clusters, collapsed_dot

    if len(order) > max_nodes:
        if not group_modules:
            raise GraphTooLarge(len(order), max_nodes)
        return collapsed_dot(order, show_grad, highlight, max_nodes)
    names = display_names(order)  # mul1, add2 ...: the same names as the tables and the stepper
    scene.looks = [default_look(node, node is root, show_grad, names[node]) for node in order]
    if show_local:
        scene.edge_text.update(local_labels(order))
    if group_modules:
        scene.clusters = clusters(order)
    return draw_scene(scene)


def local_labels(order: list[Value]) -> dict[tuple[int, int], str]:
    """Each edge's d(node)/d(parent) as a label, keyed by (node's index in ``order``, parent's position)."""
    return {(i, k): num(d) for i, node in enumerate(order) for k, d in enumerate(node.local_grads())}


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


def new_digraph(caption: str = "") -> graphviz.Digraph:
    """An empty Digraph with the house style; ``caption`` goes on top."""
    dot = graphviz.Digraph("chainrule", graph_attr=dict(GRAPH_ATTR), node_attr=dict(NODE_ATTR),
                           edge_attr=dict(EDGE_ATTR))
    if caption:
        dot.attr(label=plain(caption, left=True), labelloc="t", labeljust="l", fontsize="14", fontcolor=INK)
    return dot


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
            attrs.update(edge_style((i, k) in scene.highlight_edges))
            dot.edge(f"v{where[parent]}", f"op{i}", **attrs)
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


def cluster_style(sub: graphviz.Digraph, label: str, ident: str, kind: str) -> None:
    sub.attr(label=plain(label), id=ident, style="rounded,dashed", color=EDGE_INK, fontcolor=EDGE_INK,
             fontsize="11", labeljust="l", **{"class": kind})


def _emit_node(dot: graphviz.Digraph, scene: Scene, i: int) -> None:
    hot = i in scene.highlight_nodes
    value_node(dot, i, scene.order[i], scene.looks[i], hot)
    if not scene.order[i].is_leaf:
        op_node(dot, i, scene.order[i], hot)


def value_node(dot: graphviz.Digraph, i: int, node: Value, look: Look, hot: bool = False) -> None:
    """The box ``v{i}`` of a value."""
    dot.node(
        f"v{i}", record(look.fields), id=f"v{i}", shape="record",
        style="filled,dashed" if look.dashed else "filled", fillcolor=look.fill,
        color=ACCENT if hot else look.border, penwidth=str(3.0 if hot else look.penwidth),
        **{"class": "value leaf" if node.is_leaf else "value result"},
    )


def op_node(dot: graphviz.Digraph, i: int, node: Value, hot: bool = False) -> None:
    """The ellipse ``op{i}`` of the op that made node i."""
    dot.node(
        f"op{i}", plain(op_text(node)), id=f"op{i}", shape="ellipse", style="filled", fillcolor=OP_FILL,
        color=ACCENT if hot else INK, penwidth="3" if hot else "1", fontsize="11", margin="0.04,0.02",
        height="0.3", **{"class": "op"},
    )


def edge_style(hot: bool) -> dict[str, str]:
    return {"color": ACCENT, "penwidth": "2.5", "fontcolor": ACCENT} if hot else {}
