"""Drawing primitives shared by every picture: the house style, text made safe for DOT, the size guard.

The scalar view (``viz.dot``), the grouped view (``viz.modules``) and the neuron
view (``viz.neurons``) each build on this module and on no other picture
module, so none of them imports another.

* colours and Graphviz defaults, chosen to survive a projector;
* ``num``: the one way a number is printed in a picture or a table;
* ``visible``, ``escape_text``, ``escape_field``, ``record``, ``plain``: any text, even
  a hostile name, shown literally in a DOT label;
* ``short``: a long name cut for drawing (the full name goes in the tooltip);
* ``GraphTooLarge`` and ``check_size``: refuse a graph Graphviz would take minutes on;
* ``Look``, ``value_node``, ``op_node``: how one value box and one op ellipse are drawn.

Labels are record labels, not HTML-like ones, because the WebAssembly Graphviz
that ``render`` falls back to has no HTML label support.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import graphviz
from chainrule.autograd import Value, node_params, power_exponent, row_of

# Colours chosen to survive a projector: dark ink, pale fills, one strong accent.
INK = "#1f2937"
LEAF_FILL = "#dbeafe"  # inputs and parameters: pale blue
RESULT_FILL = "#ffffff"
ROOT_FILL = "#fef9c3"  # the output: pale yellow
OP_FILL = "#e5e7eb"
EDGE_INK = "#6b7280"
LOCAL_INK = "#1d4ed8"  # edge labels (local derivatives): blue
ACCENT = "#dc2626"  # highlights: red
MODULE_FILL = "#ede9fe"  # a neuron or layer drawn as one box: pale violet
DEAD_FILL = "#d1d5db"  # a ReLU unit that is off for every sample: grey
SATURATED_FILL = "#fed7aa"  # a sigmoid or tanh unit pinned at its bound: orange
FONT = "Helvetica"

#: Graph, node and edge defaults shared by every picture.
GRAPH_ATTR = {"rankdir": "LR", "nodesep": "0.25", "ranksep": "0.35", "fontname": FONT, "bgcolor": "white"}
NODE_ATTR = {"fontname": FONT, "fontsize": "12", "color": INK, "fontcolor": INK}
EDGE_ATTR = {
    "fontname": FONT, "fontsize": "11", "color": EDGE_INK, "fontcolor": LOCAL_INK, "arrowsize": "0.7",
}

#: Names longer than this many characters are cut for drawing; the full name is in the tooltip.
#: (The system ``dot`` fails on a record field of some thousands of wide characters.)
MAX_LABEL = 40
#: Tooltips are cut too, far later. The system ``dot`` refuses a quoted string over 16,384 bytes;
#: 2,000 characters stay under it even at 4 bytes each in UTF-8 and with every backslash doubled.
MAX_TOOLTIP = 2000


class GraphTooLarge(ValueError):
    """Raised by ``to_dot`` when the graph has more nodes than ``max_nodes`` or more edges than ``max_edges``."""

    def __init__(self, count: int, limit: int, grouped: bool = False, what: str = "nodes", hint: str | None = None):
        self.count = count
        self.max_nodes = limit  # kept under its first name: callers read it
        self.limit = limit
        self.what = what
        if hint is not None:
            pass_on = hint
        elif grouped:
            pass_on = "even with one box per neuron and per layer; raise max_nodes or draw a smaller graph"
        else:
            pass_on = f"pass group_modules=True to draw each neuron of an nn model as one box, or raise max_{what}"
        super().__init__(f"the graph has {count:,} {what}, more than max_{what}={limit:,}: {pass_on}")


def check_size(nodes: int, edges: int, max_nodes: int, max_edges: int) -> None:
    """Refuse (``GraphTooLarge``) a picture with too many nodes or too many edges.

    Edges are counted on their own: ``autograd.sum([x] * 20000)`` has two nodes
    and 20,001 edges, and Graphviz spends minutes routing them.
    """
    if nodes > max_nodes:
        raise GraphTooLarge(nodes, max_nodes)
    if edges > max_edges:
        raise GraphTooLarge(edges, max_edges, what="edges")


def edge_count(order: list[Value]) -> int:
    """The edges the scalar view draws: one per parent of each op, plus op -> value."""
    return sum(len(node.parents) + 1 for node in order if node.parents)


# --- text -------------------------------------------------------------------------


def num(x: float) -> str:
    """A number as every picture and table shows it: 4 significant digits.

    -0.0 prints as ``0``: a student reading ``-0`` looks for a sign that is not
    there (a gradient of -0.0 is a product that underflowed, or ``-1 * 0``).
    """
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


def short(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters, the last of them an ellipsis, when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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


def tooltip(text: str) -> str:
    """``text`` as a tooltip attribute (an escString, like a plain label)."""
    return plain(short(text, MAX_TOOLTIP))


def changed_params(node: Value) -> list[tuple[str, float]]:
    """The numbers ``node``'s op carries that differ from the op's defaults, by name.

    ``[("slope", 0.1)]`` for ``leaky_relu(x, 0.1)``; ``[]`` for ``leaky_relu(x)``
    (slope 0.01, the default, which everyone assumes). Only numbers that shape
    the function count, those its rule's text spells out (rows with ``explain``):
    nn's ``cross_entropy`` carries its label, which is data, and the ``k`` of
    ``a ** k`` has no default and is shown its own way.
    """
    row = row_of(node)
    if row is None or not row.defaults or row.explain is None:
        return []
    first = len(row.params) - len(row.defaults)  # defaults belong to the last params
    given = node_params(node)[first:]
    return [(name, value) for name, default, value in zip(row.params[first:], row.defaults, given, strict=True)
            if value != default]


def op_text(node: Value) -> str:
    """What an op ellipse shows: the op's symbol, with the exponent for ``a ** k`` and any number
    the op carries that is not its default (``leaky_relu slope 0.1``)."""
    k = power_exponent(node)
    if k is not None:
        return f"** {num(k)}"
    return " ".join([node.op, *(f"{name} {num(value)}" for name, value in changed_params(node))])


# --- one value box, one op ellipse ---------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """How one value box is drawn."""

    fields: tuple[str, ...]  # plain text, top to bottom
    fill: str
    border: str = INK
    penwidth: float = 1.0
    dashed: bool = False


def value_fields(node: Value, grad: str | None, name: str | None = None) -> tuple[str, ...]:
    """The text of a value box: its display ``name`` (else its own name, if any; cut to ``MAX_LABEL``),
    ``data``, and ``grad`` unless None."""
    name = name or node.name
    fields = [short(name)] if name else []
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


def new_digraph(caption: str = "") -> graphviz.Digraph:
    """An empty Digraph with the house style; ``caption`` goes on top."""
    dot = graphviz.Digraph("chainrule", graph_attr=dict(GRAPH_ATTR), node_attr=dict(NODE_ATTR),
                           edge_attr=dict(EDGE_ATTR))
    if caption:
        dot.attr(label=plain(caption, left=True), labelloc="t", labeljust="l", fontsize="14", fontcolor=INK)
    return dot


def cluster_style(sub: graphviz.Digraph, label: str, ident: str, kind: str) -> None:
    sub.attr(label=plain(label), id=ident, style="rounded,dashed", color=EDGE_INK, fontcolor=EDGE_INK,
             fontsize="11", labeljust="l", **{"class": kind})


def value_node(dot: graphviz.Digraph, i: int, node: Value, look: Look, hot: bool = False) -> None:
    """The box ``v{i}`` of a value; a name cut for drawing is whole in the tooltip."""
    extra = {"tooltip": tooltip(node.name)} if node.name and len(node.name) > MAX_LABEL else {}
    dot.node(
        f"v{i}", record(look.fields), id=f"v{i}", shape="record",
        style="filled,dashed" if look.dashed else "filled", fillcolor=look.fill,
        color=ACCENT if hot else look.border, penwidth=str(3.0 if hot else look.penwidth),
        **{"class": "value leaf" if node.is_leaf else "value result"}, **extra,
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


# --- units that pass no gradient ------------------------------------------------------------

#: How close to a bound (0 or 1 for sigmoid, -1 or 1 for tanh) an output must be to count as saturated.
SATURATION = 1e-3


def saturated(activation: str, output: float) -> bool:
    """Whether a sigmoid or tanh output is within ``SATURATION`` of a bound, where its slope is about 0."""
    if activation not in ("sigmoid", "tanh"):
        return False
    low = 0.0 if activation == "sigmoid" else -1.0
    return output - low < SATURATION or 1.0 - output < SATURATION


def unit_state(node: Value) -> str | None:
    """``"dead"`` for a ReLU node whose input is <= 0, ``"saturated"`` for a saturated sigmoid or
    tanh node (see ``saturated``), else None: the one sample's view of a unit."""
    if node.op == "relu" and node.parents[0].data <= 0:
        return "dead"
    if saturated(node.op, node.data):
        return "saturated"
    return None


# --- heat: how much gradient flows along an edge ----------------------------------------------

#: Light to dark: the colours of the heat scale, coolest first.
HEAT_COLOURS = ("#d1d5db", "#fcd34d", "#f59e0b", "#ea580c", "#b91c1c")
HEAT_MIN_WIDTH = 0.5
HEAT_MAX_WIDTH = 6.0


@dataclass(frozen=True)
class HeatScale:
    """Maps |gradient| to an edge width and colour on a log10 scale between ``low`` and ``high``
    (log10 of the smallest and largest non-zero magnitudes drawn). A zero gradient gets the
    thinnest, palest edge."""

    low: float
    high: float

    @classmethod
    def of(cls, magnitudes: Iterable[float]) -> HeatScale:
        logs = [math.log10(m) for m in magnitudes if m > 0 and math.isfinite(m)]
        if not logs:
            return cls(0.0, 0.0)
        return cls(min(logs), max(logs))

    def fraction(self, magnitude: float) -> float:
        """Where ``magnitude`` sits on the scale, 0 (coolest) to 1 (hottest)."""
        if not magnitude > 0:
            return 0.0
        if not math.isfinite(magnitude):
            return 1.0
        if self.high <= self.low:
            return 1.0
        return min(1.0, max(0.0, (math.log10(magnitude) - self.low) / (self.high - self.low)))

    def style(self, magnitude: float) -> dict[str, str]:
        """The edge attributes for a gradient of this size: ``penwidth`` and ``color``."""
        f = self.fraction(magnitude)
        width = HEAT_MIN_WIDTH + f * (HEAT_MAX_WIDTH - HEAT_MIN_WIDTH)
        colour = HEAT_COLOURS[min(len(HEAT_COLOURS) - 1, int(f * len(HEAT_COLOURS)))]
        return {"penwidth": f"{width:.3f}", "color": colour}


def heat_legend(dot: graphviz.Digraph, scale: HeatScale, what: str, at: tuple[float, float] | None = None) -> None:
    """A small key: three sample edges, coolest to hottest, each labelled with the |gradient|
    it stands for. ``what`` names the quantity (``|dL/dw|``). In a graph laid out by ``dot`` the
    key is a cluster; with ``at`` (inches, for a graph whose nodes are pinned) it is pinned there."""
    steps = (0.0, 0.5, 1.0) if scale.high > scale.low else (1.0,)
    if at is None:
        with dot.subgraph(name="cluster_heat") as key:
            cluster_style(key, f"heat: log10 {what}", "heat_legend", "legend")
            _legend_edges(key, scale, steps, None)
        return
    x, y = at
    dot.node("heat_title", plain(f"heat: log10 {what}"), shape="plaintext", id="heat_legend", fontsize="12",
             pos=f"{x + 0.9:.2f},{y:.2f}!", **{"class": "legend"})
    _legend_edges(dot, scale, steps, (x, y - 0.4))


def _legend_edges(dot: graphviz.Digraph, scale: HeatScale, steps: tuple[float, ...],
                  at: tuple[float, float] | None) -> None:
    for k, f in enumerate(steps):
        exponent = scale.low + f * (scale.high - scale.low)
        for end, dx in (("a", 0.0), ("b", 1.8)):
            pin = {} if at is None else {"pos": f"{at[0] + dx:.2f},{at[1] - 0.45 * k:.2f}!"}
            dot.node(f"heat_{end}{k}", "", shape="point", width="0.05", id=f"heat_{end}{k}", **pin)
        dot.edge(f"heat_a{k}", f"heat_b{k}", label=plain(f"1e{exponent:+.1f}"), arrowhead="none",
                 id=f"heat_e{k}", **scale.style(10.0 ** exponent))
