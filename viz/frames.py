"""The backward pass as a flip-book: one picture per step, for slides.

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

import os
from pathlib import Path

import graphviz
from chainrule.autograd import Value, backward_steps, topological_order
from chainrule.autograd.files import atomic_write
from chainrule.autograd.names import display_names, operand

from .dot import ACCENT, GraphTooLarge, Look, Scene, draw_scene, indices, local_labels, num, value_fields
from .modules import clusters, consumers
from .render import pick_engine, pick_format, run_engine
from .tables import formula

NOT_REACHED = "not yet reached"
PARTIAL = "partial"
FINAL = "final"
#: Fill colour of each state: grey, amber, green (told apart by their words and borders too).
STATE_FILL = {NOT_REACHED: "#f3f4f6", PARTIAL: "#fde68a", FINAL: "#bbf7d0"}
UPDATED = "#ea580c"  # border of the parents the current step updates: orange
MAX_EDGES_IN_CAPTION = 3


def call(node: Value, names: dict[Value, str] | None = None) -> str:
    """How a caption names a node: its display name (``autograd.names``: its own name, or ``mul1`` ...)."""
    if names is None:
        names = display_names(topological_order(node))
    return names[node]


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
        f"Backward step {step.index + 1} of {steps_total}: {names[node]} = {formula(node, names)}",
        f"upstream ∂{out}/∂{operand(names[node])} = {num(step.upstream)};   local rule: {step.rule}",
    ]
    for edge in step.edges[:MAX_EDGES_IN_CAPTION]:
        lines.append(
            f"to {names[edge.parent]}: {product_text(edge.local, step.upstream, edge.contribution)}, "
            f"its grad {num(edge.before)} → {num(edge.after)}"
        )
    if len(step.edges) > MAX_EDGES_IN_CAPTION:
        lines.append(f"... and {len(step.edges) - MAX_EDGES_IN_CAPTION} more edges, labelled on the graph")
    return "\n".join(lines)


def step_frames(root: Value, engine: str = "auto", **opts) -> list[str]:
    """One SVG per backward step: ``frame_dots(root, **opts)`` rendered with ``engine``."""
    engine = pick_engine(engine)
    return [run_engine(frame.source, "svg", engine).decode("utf-8") for frame in frame_dots(root, **opts)]


def save_frames(root: Value, folder: str | os.PathLike, format: str = "svg", engine: str = "auto",
                **opts) -> list[Path]:
    """Write the frames as ``step-01.svg``, ``step-02.svg``, ... into ``folder`` (made if missing).

    ``format="png"`` suits slide software (it needs the system ``dot``). Each
    file is written atomically. Returns the paths in step order.
    """
    fmt = pick_format(None, format)
    frames = frame_dots(root, **opts)
    engine = pick_engine(engine)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(frames))))
    written = []
    for n, frame in enumerate(frames, start=1):
        path = target / f"step-{n:0{width}d}.{fmt}"
        atomic_write(path, run_engine(frame.source, fmt, engine))
        written.append(path)
    return written
