"""The neuron view: an nn model drawn as a textbook draws a network.

One circle per neuron, showing its output (its activation) and, after a
backward pass, dL/d(output); one arrow per weight, from the neuron or input it
reads to the neuron it feeds, carrying w and dL/dw; layers in columns, the
inputs on the left and the loss on the right. It is the same graph the scalar
view draws, folded: a neuron's circle stands for its products w_i * x_i, its
sum node z and its activation h.

``network(model_or_root)`` finds the neurons. From a model it reads the layers
(``model.layers``, ``layer.neurons``, ``neuron.w``, ``neuron.b``). From the
Value at the top of a graph it reads nn's names (``L2.N3.w1``, ``L2.N3.b``,
``L2.N3.z``, ``L2.N3.h``), so any loss built from a model's outputs can be
drawn; a batch puts several ``z`` and ``h`` nodes under one neuron, one per
sample, and the circle then shows the mean output and the summed dL/dh, which
is what reaches the weights.

``heat="grad"`` draws each weight's arrow with a width and colour from
log10 |dL/dw| (see ``drawing.HeatScale``) and adds a legend. A ReLU neuron
whose input z is <= 0 for every sample is marked *dead* (no gradient passes
it); a sigmoid or tanh neuron whose output is within 1e-3 of a bound for every
sample is marked *saturated* (its slope is about zero).

Ids in DOT and SVG: ``x{k}`` the k-th input, ``n{l}_{j}`` neuron j of layer l
(1-based, as in nn's names), ``w{l}_{j}_{k}`` the arrow of that neuron's k-th
weight, ``o{j}`` the arrow from output neuron j to ``loss``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import graphviz
from chainrule.autograd import Value, topological_order

from .drawing import (
    DEAD_FILL,
    EDGE_INK,
    LEAF_FILL,
    LOCAL_INK,
    MODULE_FILL,
    ROOT_FILL,
    SATURATED_FILL,
    SATURATION,
    GraphTooLarge,
    HeatScale,
    heat_legend,
    new_digraph,
    num,
    plain,
    saturated,
)
from .modules import clusters
from .pages import inline_svg, page_head

#: Between two columns with more weights than this, the arrows carry no text (it would be an
#: unreadable tangle); w and dL/dw are then in each arrow's tooltip.
MAX_LABELLED = 12
#: Inches between two columns, and between two neurons of a column.
COLUMN_GAP = 2.8
ROW_GAP = 1.35
#: The same when the arrows carry labels: room for two lines of text between the arrows.
LABELLED_COLUMN_GAP = 4.2
LABELLED_ROW_GAP = 2.0

_PARAM = re.compile(r"^L(\d+)\.N(\d+)\.(?:w(\d+)|b)$")
_UNIT = re.compile(r"^L(\d+)\.N(\d+)\.([zh])$")


@dataclass
class Unit:
    """One neuron: its parameters and, when drawn from a graph, its z and h nodes (one per sample)."""

    layer: int  # 1-based, as in the name L2.N3
    index: int  # 1-based
    activation: str  # relu, tanh, sigmoid or linear
    weights: list[Value]
    bias: Value | None
    sums: list[Value] = field(default_factory=list)  # z, one per sample
    outputs: list[Value] = field(default_factory=list)  # h (z for a linear neuron), one per sample

    @property
    def name(self) -> str:
        return f"L{self.layer}.N{self.index}"

    @property
    def dead(self) -> bool:
        """A ReLU whose input is <= 0 for every sample: no gradient reaches its weights."""
        return self.activation == "relu" and bool(self.sums) and all(z.data <= 0 for z in self.sums)

    @property
    def saturated(self) -> bool:
        """A sigmoid or tanh within ``SATURATION`` of a bound for every sample: its slope is about 0."""
        return bool(self.outputs) and all(saturated(self.activation, h.data) for h in self.outputs)


@dataclass
class Network:
    """What the neuron view draws: the inputs (each a list of leaves, one per sample), the layers, the loss."""

    inputs: list[list[Value]]
    layers: list[list[Unit]]
    loss: Value | None = None


def network(model_or_root) -> Network:
    """The neurons of an nn model, or of the graph below a Value built from one (see the module doc)."""
    if isinstance(model_or_root, Value):
        return _from_graph(model_or_root)
    return _from_model(model_or_root)


def _from_model(model) -> Network:
    if hasattr(model, "layers"):
        layers = model.layers
    elif hasattr(model, "neurons"):
        layers = [model]
    elif hasattr(model, "w") and hasattr(model, "b"):
        layers = [_OneNeuron(model)]
    else:
        raise TypeError(f"the neuron view draws an nn model (MLP, Layer, Neuron) or a Value built from one, "
                        f"got {type(model).__name__}")
    units = [
        [Unit(li + 1, j + 1, n.activation, list(n.w), n.b) for j, n in enumerate(layer.neurons)]
        for li, layer in enumerate(layers)
    ]
    nin = len(units[0][0].weights)
    return Network([[] for _ in range(nin)], units)


@dataclass
class _OneNeuron:
    """A lone Neuron seen as a layer of one."""

    neuron: object

    @property
    def neurons(self) -> list:
        return [self.neuron]


def _from_graph(root: Value) -> Network:
    order = topological_order(root)
    found: dict[tuple[int, int], Unit] = {}
    weights: dict[tuple[int, int], dict[int, Value]] = {}

    def unit(layer: int, index: int) -> Unit:
        if (layer, index) not in found:
            found[(layer, index)] = Unit(layer, index, "linear", [], None)
        return found[(layer, index)]

    for node in order:
        if not node.name:
            continue
        m = _PARAM.match(node.name)
        if m and node.is_leaf:
            u = unit(int(m[1]), int(m[2]))
            if m[3] is None:
                u.bias = node
            else:
                weights.setdefault((u.layer, u.index), {})[int(m[3])] = node
            continue
        m = _UNIT.match(node.name)
        if m and not node.is_leaf:
            u = unit(int(m[1]), int(m[2]))
            if m[3] == "z":
                u.sums.append(node)
            else:
                u.outputs.append(node)
                u.activation = node.op
    if not found:
        raise ValueError("the neuron view found no nn neurons in this graph: it reads parameter names like "
                         "L1.N1.w1 that nn models give; draw it with view='scalar'")
    for key, u in found.items():
        ws = weights.get(key, {})
        u.weights = [ws[k] for k in sorted(ws)]
        if u.activation == "linear":
            u.outputs = list(u.sums)
    numbers = sorted({layer for layer, _ in found})
    layers = [sorted((u for u in found.values() if u.layer == n), key=lambda u: u.index) for n in numbers]
    return Network(_inputs(order, layers[0]), layers, root)


def _inputs(order: list[Value], first: list[Unit]) -> list[list[Value]]:
    """The leaves each first-layer weight multiplies: input k is every x in a product w_k * x, in order."""
    position = {w: k for u in first for k, w in enumerate(u.weights)}
    nin = max((len(u.weights) for u in first), default=0)
    inputs: list[dict[Value, None]] = [{} for _ in range(nin)]
    for node in order:
        if node.op == "*" and len(node.parents) == 2:
            a, b = node.parents
            if a in position and b not in position:
                inputs[position[a]][b] = None
            elif b in position and a not in position:
                inputs[position[b]][a] = None
    return [list(xs) for xs in inputs]


def members(root: Value) -> dict[str, list[int]]:
    """Each neuron's scalar nodes, as indices into ``topological_order(root)``: ``{"L1.N3": [...]}``.

    A neuron's circle in the neuron view stands for these nodes (its weights and bias, the
    products w_i * x_i, its sum z and activation h, for every sample), so a page can expand
    the circle into them and play their backward steps (see ``viz.modules.clusters``).
    """
    found: dict[str, list[int]] = {}
    for i, path in sorted(clusters(topological_order(root)).items()):
        found.setdefault(path[-1], []).append(i)
    return found


# --- drawing ----------------------------------------------------------------------------------


def heat_scale_of(models_or_roots: list) -> HeatScale:
    """One heat scale over every weight's |dL/dw| in all these networks, so their pictures compare."""
    nets = [network(m) for m in models_or_roots]
    return HeatScale.of(abs(w.grad) for net in nets for layer in net.layers for u in layer for w in u.weights)


#: The side-by-side page's style: a column per panel (COLUMNS is their number).
PANELS_CSS = """\
body { margin: 0; padding: 0.6rem 1rem; font-family: system-ui, "DejaVu Sans", Helvetica, sans-serif;
       color: #111827; }
h1 { font-size: 1.4rem; margin: 0.2rem 0; }
p { margin: 0.2rem 0 0.6rem; max-width: 70rem; }
main { display: grid; grid-template-columns: repeat(COLUMNS, 1fr); gap: 1rem; }
.panel h2 { font-size: 1.1rem; margin: 0.2rem 0; }
.panel svg { width: 100%; height: auto; }
"""


def side_by_side_html(title: str, caption: str, panels: list[tuple[str, str]]) -> str:
    """A self-contained page showing SVG pictures side by side, each under its heading.

    ``panels`` holds (heading, svg) pairs; each picture is scaled to its column (zoom the
    page to read the numbers, or hover an arrow for its tooltip).
    """
    columns = "".join(
        f'<section class="panel"><h2>{html.escape(heading)}</h2>{inline_svg(svg)}</section>'
        for heading, svg in panels
    )
    css = PANELS_CSS.replace("COLUMNS", str(len(panels)))
    return f"""{page_head(html.escape(title), css, scripts=False)}<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(caption)}</p>
<main>{columns}</main>
</body>
</html>
"""


def neurons_dot(model_or_root, show_grad: bool = True, heat: str | None = None, max_edges: int = 10000,
                weight_labels: bool | None = None, heat_scale: HeatScale | None = None) -> graphviz.Digraph:
    """The neuron view as a ``graphviz.Digraph`` (what ``to_dot(..., view="neurons")`` returns).

    ``weight_labels``: write w and dL/dw on each arrow; by default only between
    columns of at most ``MAX_LABELLED`` weights (every arrow has them as a tooltip).
    ``heat_scale``: the scale ``heat="grad"`` draws on; by default this network's own
    smallest to largest |dL/dw|. Pictures meant to be compared share one (``heat_scale_of``).
    """
    net = network(model_or_root)
    edges = sum(len(u.weights) for layer in net.layers for u in layer) + len(net.layers[-1])
    if edges > max_edges:
        raise GraphTooLarge(edges, max_edges, what="edges",
                            hint="one arrow per weight is more than a picture can show; raise max_edges, or "
                                 "draw with group_modules=True (one box per neuron, one arrow per pair of layers)")
    dot = new_digraph()
    # Every node is pinned to its column and row (neato keeps pinned positions), so the picture is the
    # textbook's, whatever the crossings: dot would reorder a column and move labelled edges apart.
    dot.attr(layout="neato", splines="line", outputorder="edgesfirst", notranslate="true")
    dot.attr("edge", arrowsize="0.5", fontsize="12")
    scale = None
    if heat == "grad":
        scale = heat_scale or heat_scale_of([model_or_root])
    columns = [[_input_node(k, xs) for k, xs in enumerate(net.inputs)]]
    columns += [[_unit_node(u, show_grad) for u in layer] for layer in net.layers]
    if net.loss is not None:
        fields = f"loss\n{num(net.loss.data)}" + (f"\ngrad {num(net.loss.grad)}" if show_grad else "")
        columns.append([("loss", {"label": plain(fields), "shape": "box", "style": "filled,rounded",
                                  "fillcolor": ROOT_FILL, "penwidth": "2", "fontsize": "14", "class": "loss"})])
    tallest = max(len(c) for c in columns)
    sizes = [len(net.inputs)] + [len(layer) for layer in net.layers]
    labels = [weight_labels if weight_labels is not None else a * b <= MAX_LABELLED
              for a, b in zip(sizes, sizes[1:], strict=False)]
    across, down = (LABELLED_COLUMN_GAP, LABELLED_ROW_GAP) if any(labels) else (COLUMN_GAP, ROW_GAP)
    at: dict[str, tuple[float, float]] = {}
    for c, column in enumerate(columns):
        for r, (ident, attrs) in enumerate(column):
            at[ident] = (c * across, (tallest - 1) * down / 2 - (r - (len(column) - 1) / 2) * down)
            dot.node(ident, id=ident, pos=f"{at[ident][0]:.2f},{at[ident][1]:.2f}!", **attrs)
    before = [f"x{k + 1}" for k in range(len(net.inputs))]
    for layer, labelled in zip(net.layers, labels, strict=True):
        t = label_fraction(len(before), len(layer))
        for u in layer:
            for k, w in enumerate(u.weights):
                if k >= len(before):
                    break  # a weight with nothing found to read (a graph that never used it)
                text = f"w {num(w.data)}" + (f"\ndL/dw {num(w.grad)}" if show_grad else "")
                attrs = {"id": f"w{u.layer}_{u.index}_{k + 1}", "class": "weight",
                         "tooltip": plain(f"{u.name}.w{k + 1}: {text}".replace("\n", ", "))}
                if scale is not None:
                    attrs.update(scale.style(abs(w.grad)))
                head = f"n{u.layer}_{u.index}"
                dot.edge(before[k], head, **attrs)
                if labelled:
                    _weight_label(dot, f"l{attrs['id']}", text, at[before[k]], at[head], t)
        before = [f"n{u.layer}_{u.index}" for u in layer]
    if net.loss is not None:
        for j, name in enumerate(before):
            dot.edge(name, "loss", id=f"o{j + 1}", color=EDGE_INK, style="dashed", **{"class": "output"})
    if scale is not None:
        heat_legend(dot, scale, "|dL/dw|", at=(0.0, -0.6 - 0.5 * down))
    return dot


def label_fraction(tails: int, heads: int) -> float:
    """Where along the arrows between a column of ``tails`` and one of ``heads`` their text goes
    (0 at the tail, 1 at the head), chosen so that no two labels sit at the same height.

    At the middle every pair of crossing arrows (k -> j and j -> k) would put its two labels
    on top of each other. An arrow from row k to row j is at row (1 - t) k + t j at fraction t,
    so the fraction that keeps every pair furthest apart is the one that maximises the smallest
    |(1 - t) dk + t dj| over all row differences; it is looked for between 0.32 and 0.68, where
    a label clears both circles.
    """
    pairs = [(dk, dj) for dk in range(-(tails - 1), tails) for dj in range(-(heads - 1), heads) if dk or dj]
    best, fraction = -1.0, 0.5
    for step in range(32, 69, 2):
        t = step / 100
        gap = min(abs((1 - t) * dk + t * dj) for dk, dj in pairs) if pairs else 1.0
        if gap > best + 1e-9:
            best, fraction = gap, t
    return fraction


def _weight_label(dot: graphviz.Digraph, ident: str, text: str, tail: tuple[float, float],
                  head: tuple[float, float], t: float) -> None:
    """A weight's text as a small node pinned at fraction ``t`` along its arrow, on a pale ground
    so it stays readable where other arrows pass under it."""
    x, y = tail[0] + t * (head[0] - tail[0]), tail[1] + t * (head[1] - tail[1])
    dot.node(ident, plain(text), id=ident, pos=f"{x:.3f},{y:.3f}!", shape="box", style="filled,rounded",
             fillcolor="#ffffffd9", color="none", fontcolor=LOCAL_INK, fontsize="12", margin="0.03,0.01",
             width="0", height="0", **{"class": "weight-label"})


def _input_node(k: int, xs: list[Value]) -> tuple[str, dict]:
    text = f"x{k + 1}"
    if len(xs) == 1:
        text += f"\n{num(xs[0].data)}"
    elif xs:
        text += f"\n{len(xs)} samples"
    return f"x{k + 1}", {"label": plain(text), "shape": "circle", "style": "filled", "fillcolor": LEAF_FILL,
                         "fixedsize": "true", "width": "1.0", "class": "input"}


def _unit_node(u: Unit, show_grad: bool) -> tuple[str, dict]:
    """A neuron's circle: its name, its output and dL/d(output); dead or saturated, marked."""
    lines = [u.name]
    tip = [f"{u.name} ({u.activation})"]
    if u.bias is not None:
        tip.append(f"b {num(u.bias.data)}" + (f", dL/db {num(u.bias.grad)}" if show_grad else ""))
    if u.outputs:
        n = len(u.outputs)
        out = sum(h.data for h in u.outputs) / n
        grad = sum(h.grad for h in u.outputs)
        lines.append(f"out {num(out)}")
        if show_grad:
            lines.append(f"grad {num(grad)}")
        if n > 1:
            tip.append(f"out is the mean over {n} samples, grad the sum of dL/d(out) over them")
    fill, kind, style = MODULE_FILL, "neuron", "filled"
    if u.dead:
        lines.append("dead")
        fill, kind, style = DEAD_FILL, "neuron dead", "filled,dashed"
        tip.append("dead: its ReLU input is <= 0 for every sample, so no gradient passes")
    elif u.saturated:
        lines.append("saturated")
        fill, kind = SATURATED_FILL, "neuron saturated"
        tip.append(f"saturated: its {u.activation} output is within {SATURATION:g} of a bound for every sample")
    return f"n{u.layer}_{u.index}", {
        "label": plain("\n".join(lines)), "shape": "circle", "style": style, "fillcolor": fill,
        "fixedsize": "true", "width": "1.2", "tooltip": plain("\n".join(tip)),
        "class": kind,
    }
