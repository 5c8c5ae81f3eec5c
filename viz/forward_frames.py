"""The forward pass and the update step as frames, and the whole deck for slides.

The stepper page plays three passes; the frames follow it, one picture per step:

1. the forward pass (``autograd.forward_steps``): one frame per op node, parents
   first. The node computed now has a red border, the parents it reads an orange
   one, the arrows between them are red. Every value computed so far is shown;
   the others read ``data ?`` (grey, dashed: not yet computed). The caption does
   the arithmetic: ``mul1 = w × x = 0.8 × 1.5 = 1.2``.
2. the backward pass: ``viz.frames.frame_dots``, one frame per backward step.
3. with ``lr`` and ``params``, one frame of gradient descent: each parameter's
   old and new value (new = old − lr × grad) and the loss before and after,
   recomputed at the new values by the op table's forwards.

With ``tangent`` (an input, or its display name) the forward frames show forward
mode too (``viz.tangents``): each box carries the tangent d(node)/dx under its
value, the arrows into the node computed now carry ``local × tangent = product``,
and the caption adds them up. One input per deck: call again for another.
"""

from __future__ import annotations

import graphviz
from chainrule.autograd import Value, forward_steps, topological_order
from chainrule.autograd.names import display_names, operand

from .dot import ACCENT, GraphTooLarge, Look, Scene, draw_scene, indices, num, value_fields
from .drawing import LEAF_FILL, RESULT_FILL, ROOT_FILL
from .frames import NOT_REACHED, STATE_FILL, UPDATED, frame_dots
from .modules import clusters
from .stepper import _check_update, descent_step
from .tables import math_formula
from .tangents import chain_terms, factor, flow_text, seed_input, tangent_field

COMPUTED_NOW = "computed now"
COMPUTED = "computed"
NOT_COMPUTED = "not yet computed"
INPUT = "input"


def deck_dots(root: Value, forward: bool = True, lr: float | None = None, params=None,
              tangent: Value | str | None = None, show_local: bool = True, group_modules: bool = False,
              max_nodes: int = 5000) -> list[graphviz.Digraph]:
    """Every frame of the deck, in the page's order: the forward pass (unless ``forward=False``),
    the backward pass, then the update (with ``lr`` and ``params``)."""
    if not isinstance(root, Value):
        raise TypeError(f"step frames need the Value at the top of a graph, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise GraphTooLarge(len(order), max_nodes)
    update = _check_update(lr, params, order)
    seed = None
    if tangent is not None:
        if not forward:
            raise ValueError("tangent= shows forward mode on the forward frames, and forward=False leaves them "
                             "out: drop one of them")
        seed = seed_input(tangent, order, display_names(order))
    frames = forward_frame_dots(root, seed, group_modules) if forward else []
    frames += frame_dots(root, show_local=show_local, group_modules=group_modules, max_nodes=max_nodes)
    if update is not None:
        frames.append(update_frame_dot(root, update[0], update[1], group_modules))
    return frames


def forward_frame_dots(root: Value, seed: Value | None = None, group_modules: bool = False) -> list[graphviz.Digraph]:
    """One DOT graph per forward step (see the module docstring); ``seed``: the input of the forward-mode view."""
    order = topological_order(root)
    where = indices(order)
    names = display_names(order)
    groups = clusters(order) if group_modules else {}
    steps = list(forward_steps(root, None if seed is None else {seed: 1.0}))
    tangent_of = {node: 0.0 for node in order if node.is_leaf}
    if seed is not None:
        tangent_of[seed] = 1.0
    known = {node for node in order if node.is_leaf}
    frames = []
    for step in steps:
        node = step.node
        current = where[node]
        known.add(node)
        if seed is not None:
            tangent_of[node] = step.tangent
        parents = {where[p] for p in node.parents}
        looks = [_forward_look(n, i, current, parents, n in known, n is root, names[n],
                               None if seed is None else (names[seed], tangent_of.get(n)))
                 for i, n in enumerate(order)]
        scene = Scene(order, looks, clusters=groups)
        scene.highlight_nodes.add(current)
        for k, (parent, local) in enumerate(zip(node.parents, node.local_grads(), strict=True)):
            scene.highlight_edges.add((current, k))
            if seed is not None:
                scene.edge_text[(current, k)] = flow_text(local, tangent_of[parent])
            else:
                scene.edge_text[(current, k)] = num(parent.data)  # the value the arrow carries in
        scene.caption = _forward_caption(step, len(steps), names, seed, tangent_of)
        frames.append(draw_scene(scene))
    return frames


def _forward_look(node: Value, i: int, current: int, parents: set[int], known: bool, is_root: bool, name: str,
                  tangent: tuple[str, float | None] | None) -> Look:
    fields = list(value_fields(node, None, name))
    if not known:
        fields[-1] = "data ?"
    if tangent is not None:
        fields.append(tangent_field(tangent[0], tangent[1] if known else None))
    words = INPUT if node.is_leaf else COMPUTED_NOW if i == current else COMPUTED if known else NOT_COMPUTED
    fields.append(words)
    if not known:
        return Look(tuple(fields), STATE_FILL[NOT_REACHED], dashed=True)
    fill = ROOT_FILL if is_root else LEAF_FILL if node.is_leaf else RESULT_FILL
    if i == current:
        return Look(tuple(fields), fill, border=ACCENT, penwidth=3.0)
    if i in parents:
        return Look(tuple(fields), fill, border=UPDATED, penwidth=2.5)
    return Look(tuple(fields), fill, penwidth=2.0 if is_root else 1.0)


def _forward_caption(step, total: int, names: dict[Value, str], seed: Value | None,
                     tangent_of: dict[Value, float]) -> str:
    """One or two lines: the node's value worked out, and with a seed its tangent worked out."""
    node = step.node
    lines = [f"Forward step {step.index + 1} of {total}: {names[node]} = {math_formula(node, names)} = "
             f"{math_formula(node, names, values=True)} = {num(step.value)}"]
    if seed is not None:
        x = operand(names[seed])
        lines.append(f"tangent ∂{operand(names[node])}/∂{x} = Σ local × the parent's tangent = "
                     f"{chain_terms(node, tangent_of)} = {num(step.tangent)}")
    else:
        lines.append("inputs first: each op computes its value from its parents' values")
    return "\n".join(lines)


def update_frame_dot(root: Value, lr: float, params: list[Value], group_modules: bool = False) -> graphviz.Digraph:
    """The gradient-descent frame, drawn after a backward pass: the grads on the graph are read."""
    order = topological_order(root)
    names = display_names(order)
    new, after, problem = descent_step(order, lr, params)
    looks = []
    for node in order:
        fields = list(value_fields(node, f"grad {num(node.grad)}", names[node]))
        fill = ROOT_FILL if node is root else LEAF_FILL if node.is_leaf else RESULT_FILL
        data_at = len(fields) - 2
        if node in new:
            fields[data_at] = f"data {num(node.data)} → {num(new[node])}"
            looks.append(Look(tuple(fields), fill, border=ACCENT, penwidth=3.0))
        elif node is root:
            fields[data_at] = f"data {num(node.data)} → {'?' if problem else num(after)}"
            looks.append(Look(tuple(fields), fill, border=UPDATED, penwidth=2.5))
        else:
            looks.append(Look(tuple(fields), fill))
    scene = Scene(order, looks, clusters=clusters(order) if group_modules else {})
    scene.caption = _update_caption(root, lr, params, new, after, problem, names)
    return draw_scene(scene)


def _update_caption(root: Value, lr: float, params: list[Value], new: dict[Value, float], after: float,
                    problem: str, names: dict[Value, str]) -> str:
    lines = [f"Update: one step of gradient descent, new = old − lr × grad, lr = {num(lr)}"]
    for p in params:
        lines.append(f"{names[p]} = {factor(p.data)} − {factor(lr)} × {factor(p.grad)} = {factor(new[p])}")
    loss = names[root]
    if problem:
        lines.append(f"{loss} cannot be computed at the new values: {problem}")
    elif after < root.data:
        lines.append(f"{loss} before {num(root.data)} → after {num(after)} (down by {num(root.data - after)})")
    else:
        lines.append(f"{loss} before {num(root.data)} → after {num(after)} (not down: try a smaller lr)")
    return "\n".join(lines)
