"""The backward pass as a flip-book: one picture per step, for slides.

(``save_frames`` puts the forward pass before it and the update after it:
see ``viz.forward_frames``.)

Frame n shows the graph right after step n of ``autograd.backward_steps``:

* the node whose turn it is (red border), the edges it sends gradient along
  (red, labelled ``local × upstream = contribution``) and the parents it
  updates (orange border, their grad shown as ``before → after``);
* every value's grad as it stands at that moment, and how far along it is,
  in colour, in words and in the border:

  ``not yet reached``  grey, dashed: no child has sent it anything yet;
  ``partial``          amber: some of its children have sent their share;
  ``final``            green: every child has, so dL/d(node) is complete.

A node's *children* are the nodes computed from it. Because the pass visits
nodes in reverse topological order, a node is always final by the time its
own turn comes: that ordering is the whole trick of backpropagation.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import graphviz
from chainrule.autograd import Value, backward_steps, topological_order
from chainrule.autograd.files import atomic_write
from chainrule.autograd.names import display_names, operand

from .dot import ACCENT, GraphTooLarge, Look, Scene, draw_scene, indices, local_labels, num, value_fields
from .modules import clusters, consumers
from .render import pick_engine, run_engine
from .tables import math_formula, math_rule

NOT_REACHED = "not yet reached"
PARTIAL = "partial"
FINAL = "final"
#: Fill colour of each state: grey, amber, green (told apart by their words and borders too).
STATE_FILL = {NOT_REACHED: "#f3f4f6", PARTIAL: "#fde68a", FINAL: "#bbf7d0"}
UPDATED = "#ea580c"  # border of the parents the current step updates: orange
MAX_EDGES_IN_CAPTION = 3


def frame_dots(root: Value, show_local: bool = True, group_modules: bool = False,
               max_nodes: int = 5000) -> list[graphviz.Digraph]:
    """One DOT graph per backward step (see the module docstring for what each shows).

    Runs a fresh backward pass: every grad in the graph is set to 0 first, so
    the frames show this pass alone (inputs do not carry gradient left over
    from an earlier ``backward()``). Afterwards the graph holds the grads of
    that pass. A graph with no op (a single input) has no steps and no frames.
    """
    if not isinstance(root, Value):
        raise TypeError(f"step frames need the Value at the top of a graph, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise GraphTooLarge(len(order), max_nodes)
    for node in order:
        node.grad = 0.0
    where = indices(order)
    names = display_names(order)
    children = [len(c) for c in consumers(order)]
    groups = clusters(order) if group_modules else {}
    steps_total = sum(1 for node in order if not node.is_leaf)
    sent = [0] * len(order)  # how many children have already sent each node its share
    local = local_labels(order) if show_local else {}  # the same in every frame: they read data, not grads
    frames = []
    for step in backward_steps(root):
        current = where[step.node]
        for parent in dict.fromkeys(step.node.parents):
            sent[where[parent]] += 1
        before = {}  # parent index -> its grad before this step
        for edge in step.edges:
            before.setdefault(where[edge.parent], edge.before)
        looks = []
        for i, node in enumerate(order):
            looks.append(_look(node, i, current, before, sent[i], children[i], is_root=node is root,
                               name=names[node]))
        scene = Scene(order, looks, clusters=groups)
        scene.highlight_nodes.add(current)
        scene.edge_text.update(local)
        for k, edge in enumerate(step.edges):
            scene.edge_text[(current, k)] = product_text(edge.local, step.upstream, edge.contribution)
            scene.highlight_edges.add((current, k))
        scene.caption = _caption(step, steps_total, root, names)
        frames.append(draw_scene(scene))
    return frames


def product_text(local: float, upstream: float, contribution: float) -> str:
    """The chain rule on one edge, as the frames label it: ``local × upstream = contribution``."""
    return f"{num(local)} × {num(upstream)} = {num(contribution)}"


def _look(node: Value, i: int, current: int, before: dict[int, float], sent: int, children: int,
          is_root: bool, name: str) -> Look:
    if is_root or sent == children:
        state = FINAL
    elif sent:
        state = PARTIAL
    else:
        state = NOT_REACHED
    if i in before:
        grad = f"grad {num(before[i])} → {num(node.grad)}"
    else:
        grad = f"grad {num(node.grad)}"
    if state == PARTIAL:
        words = f"partial ({sent} of {children} children)"
    elif i == current:
        words = "final, sending now"
    else:
        words = state
    fields = value_fields(node, grad, name) + (words,)
    if i in before:
        return Look(fields, STATE_FILL[state], border=UPDATED, penwidth=2.5)
    if i == current:
        return Look(fields, STATE_FILL[state], border=ACCENT, penwidth=3.0)
    return Look(fields, STATE_FILL[state], penwidth=2.0 if is_root else 1.0, dashed=state == NOT_REACHED)


def _caption(step, steps_total: int, root: Value, names: dict[Value, str]) -> str:
    """Two to five lines over the frame: which node, its upstream gradient, its rule, what it sends."""
    node = step.node
    out = operand(names[root])
    lines = [
        f"Backward step {step.index + 1} of {steps_total}: {names[node]} = {math_formula(node, names)}",
        f"upstream ∂{out}/∂{operand(names[node])} = {num(step.upstream)};   local rule: {math_rule(step.rule)}",
    ]
    for edge in step.edges[:MAX_EDGES_IN_CAPTION]:
        lines.append(
            f"to {names[edge.parent]}: {product_text(edge.local, step.upstream, edge.contribution)}, "
            f"its grad {num(edge.before)} → {num(edge.after)}"
        )
    if len(step.edges) > MAX_EDGES_IN_CAPTION:
        lines.append(f"... and {len(step.edges) - MAX_EDGES_IN_CAPTION} more edges, labelled on the graph")
    return "\n".join(lines)


def step_frames(root: Value, engine: str = "auto", forward: bool = False, **opts) -> list[str]:
    """One SVG per backward step: ``frame_dots(root, **opts)`` rendered with ``engine``.

    With ``forward=True`` (or ``lr``/``params``, or ``tangent``) the same deck as
    ``save_frames``: the forward pass first, the update last (``viz.forward_frames``).
    """
    engine = pick_engine(engine)
    return [run_engine(frame.source, "svg", engine).decode("utf-8") for frame in _deck(root, forward, opts)]


def _deck(root: Value, forward: bool, opts: dict) -> list[graphviz.Digraph]:
    """The frames asked for: the backward pass alone, or the deck with the forward pass and the update."""
    if not forward and all(opts.get(key) is None for key in ("lr", "params", "tangent")):
        return frame_dots(root, **{key: value for key, value in opts.items()
                                   if key not in ("lr", "params", "tangent")})
    from .forward_frames import deck_dots  # it builds on this module

    return deck_dots(root, forward=forward, **opts)


FRAME_FORMATS = ("svg", "png", "pdf", "gif")
#: PNG, PDF and GIF frames are drawn at this many pixels per CSS pixel of the SVG: 192 dpi, sharp on a projector.
ZOOM = 2.0
DPI = 96 * ZOOM
#: How long each GIF frame stays, in milliseconds.
GIF_FRAME_MS = 1800


def save_frames(root: Value, folder: str | os.PathLike, format: str = "svg", engine: str = "auto",
                forward: bool = True, lr: float | None = None, params=None, tangent=None, **opts) -> list[Path]:
    """Write the frames of the passes into ``folder`` (made if missing) for slides.

    As the stepper page plays them (``viz.forward_frames``): the forward pass,
    one frame per op node (``forward=False`` leaves it out), then one frame per
    backward step, then, with ``lr`` and ``params``, the gradient-descent update.
    ``tangent`` (an input or its name) shows forward mode on the forward frames.

    ``svg`` and ``png``: one file per step, ``step-01.svg``, ``step-02.svg`` ...
    ``pdf``: one deck, ``steps.pdf``, a page per step. ``gif``: one animation,
    ``steps.gif``, a frame per step. PNG, PDF and GIF are drawn at 2x (192 dpi)
    from the SVG by resvg, so every format works with either ``engine``
    (the system ``dot`` or the WebAssembly Graphviz). Each file is written
    atomically. Returns the paths written, in step order.
    """
    fmt = format.lower() if isinstance(format, str) else format
    if fmt not in FRAME_FORMATS:
        raise ValueError(f"frames can be written as {', '.join(FRAME_FORMATS)}; got {format!r}")
    frames = _deck(root, forward, dict(opts, lr=lr, params=params, tangent=tangent))
    engine = pick_engine(engine)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    svgs = [run_engine(frame.source, "svg", engine).decode("utf-8") for frame in frames]
    if fmt == "svg":
        return _numbered(target, "svg", [svg.encode("utf-8") for svg in svgs])
    pngs = [svg_to_png(svg) for svg in svgs]
    if fmt == "png":
        return _numbered(target, "png", pngs)
    if not pngs:
        return []
    pages = _same_size([_image(png) for png in pngs])
    path = target / f"steps.{fmt}"
    buffer = io.BytesIO()
    if fmt == "pdf":
        pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=DPI)
    else:
        # An adaptive palette per frame: the graph's few colours survive; loop forever.
        paletted = [page.convert("P", palette=_adaptive(), colors=64) for page in pages]
        paletted[0].save(buffer, format="GIF", save_all=True, append_images=paletted[1:],
                         duration=GIF_FRAME_MS, loop=0, disposal=1)
    atomic_write(path, buffer.getvalue())
    return [path]


def svg_to_png(svg: str, zoom: float = ZOOM) -> bytes:
    """An SVG as PNG bytes at ``zoom`` pixels per CSS pixel, on white, with its dpi recorded.

    resvg (the ``resvg-py`` wheel) draws it: a well-kept rasteriser with no
    system library to install. Pillow then stamps 192 dpi into the file, so
    slide software places it at its real size.
    """
    import resvg_py  # loaded here: only PNG, PDF and GIF frames need it

    png = bytes(resvg_py.svg_to_bytes(svg_string=_in_px(svg), zoom=zoom, background="#ffffff"))
    image = _image(png)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


_SIZE = re.compile(r'\b(width|height)="([0-9.]+)pt"')


def _in_px(svg: str) -> str:
    """Graphviz sizes its SVG in points; resvg-py wants CSS px (1pt = 4/3 px) on the root element."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        raise ValueError("the renderer returned no <svg> element")
    head = _SIZE.sub(lambda m: f'{m.group(1)}="{float(m.group(2)) * 4 / 3:.3f}"', svg[start:end])
    # resvg reads generic font families case-sensitively: Graphviz's "sans-Serif" would fall back to a serif.
    return (head + svg[end:]).replace("sans-Serif", "sans-serif")


def _image(png: bytes):
    from PIL import Image  # Pillow, loaded only for the raster formats

    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _adaptive():
    from PIL import Image

    return Image.Palette.ADAPTIVE


def _same_size(images: list) -> list:
    """Every frame on a white canvas of the largest width and height, top left: a deck's pages and a
    GIF's frames must not jump in size as the labels grow."""
    from PIL import Image

    width = max(image.width for image in images)
    height = max(image.height for image in images)
    out = []
    for image in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, (0, 0))
        out.append(canvas)
    return out


def _numbered(target: Path, suffix: str, blobs: list[bytes]) -> list[Path]:
    width = max(2, len(str(len(blobs))))
    written = []
    for n, blob in enumerate(blobs, start=1):
        path = target / f"step-{n:0{width}d}.{suffix}"
        atomic_write(path, blob)
        written.append(path)
    return written
