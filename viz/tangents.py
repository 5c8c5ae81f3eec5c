"""Forward mode in the pictures: the tangent d(node)/dx beside every value, one input at a time.

Forward-mode AD (``autograd.forward``) seeds one input x with the tangent
dx/dx = 1 (every other input gets 0) and pushes it with the arrows, inputs
first. At each op node the chain rule reads from the inputs' side:

    d(node)/dx = sum over its parents p of  d(node)/dp × dp/dx

where d(node)/dp is the same local derivative the backward pass multiplies
by (``node.local_grads()``, from the op row). At the output the tangent is
dL/dx, the number the backward pass leaves in ``x.grad``: one forward sweep
per input gives one entry of the gradient, one backward sweep gives them all.

The stepper page (``stepper_html(..., tangent="x")``) and the frames
(``save_frames(..., tangent="x")``) read their numbers from here; nothing in
the page computes a tangent of its own. The page carries every input's
tangents, so its select re-seeds without Python.
"""

from __future__ import annotations

from dataclasses import replace

from chainrule.autograd import Value
from chainrule.autograd.forward import forward_sweep
from chainrule.autograd.names import operand

from .drawing import num, short
from .pages import inline_svg

#: The page carries one tangent per node per input; past this many numbers it refuses (the page would be huge).
MAX_TANGENTS = 200_000


def tangent_inputs(order: list[Value]) -> list[Value]:
    """The inputs a forward-mode view can seed: the named leaves (``w``, ``x``, not the constant
    ``1`` of ``1 - h``), or every leaf when none has a name."""
    leaves = [node for node in order if node.is_leaf]
    named = [node for node in leaves if node.name is not None]
    return named or leaves


def seed_input(tangent: Value | str, order: list[Value], names: dict[Value, str]) -> Value:
    """The input ``tangent`` names: a leaf Value of the graph, or its display name (``"x"``)."""
    inputs = tangent_inputs(order)
    if isinstance(tangent, Value):
        if tangent not in inputs:
            raise ValueError(f"tangent: {tangent!r} is not an input of this graph (forward mode seeds an input)")
        return tangent
    if not isinstance(tangent, str):
        raise TypeError(f"tangent must be an input Value or its name, got {type(tangent).__name__}")
    for node in inputs:
        if names[node] == tangent:
            return node
    choices = ", ".join(names[node] for node in inputs) or "none"
    raise ValueError(f"tangent: {tangent!r} is not an input of this graph; its inputs are {choices}")


def tangents_from(order: list[Value], x: Value) -> list[float]:
    """Every node's tangent d(node)/dx, in ``order``: one forward sweep seeded with dx/dx = 1."""
    swept = forward_sweep(order[-1], {x: 1.0})
    return [swept[node] for node in order]


def tangent_words(x_name: str) -> str:
    """What a value box calls the tangent: ``∂/∂x`` (d this node / d x)."""
    return f"∂/∂{operand(short(x_name))}"


def tangent_field(x_name: str, tangent: float | None) -> str:
    """A value box's tangent line: ``∂/∂x 0.8``, or ``∂/∂x ?`` before the node is computed."""
    return f"{tangent_words(x_name)} {'?' if tangent is None else num(tangent)}"


def flow_text(local: float, tangent: float) -> str:
    """What an arrow into the node computed now carries: ``local × tangent = product``."""
    return f"{num(local)} × {num(tangent)} = {num(local * tangent)}"


def chain_terms(node: Value, tangent_of: dict[Value, float]) -> str:
    """The forward chain rule at ``node`` in numbers: ``1.5 × 0 + 0.8 × 1`` (local × the parent's tangent)."""
    terms = []
    for parent, local in zip(node.parents, node.local_grads(), strict=True):
        terms.append(f"{factor(local)} × {factor(tangent_of[parent])}")
    return " + ".join(terms)


def factor(x: float) -> str:
    """A number inside a product, a negative one in brackets: ``(−0.5)``."""
    text = num(x).replace("-", "−")
    return f"({text})" if text.startswith("−") else text


def check_budget(inputs: int, nodes: int) -> None:
    """Refuse a forward-mode view whose tangents (one per node per input) would swell the page."""
    if inputs * nodes > MAX_TANGENTS:
        raise ValueError(f"the forward-mode view carries a tangent for every node per input: {inputs:,} inputs × "
                         f"{nodes:,} nodes is more than {MAX_TANGENTS:,} numbers; draw a smaller graph")


def tangent_svg(root: Value, order: list[Value], names: dict[Value, str], inputs: list[Value],
                columns: list[list[float]]) -> str:
    """The page's graph with a tangent line in every value box, under its data.

    Drawn like ``to_dot(root)`` (values, grads, locals on the edges), with one
    more field per box holding the widest tangent text any seed gives that node,
    so Graphviz makes room for it (``columns``: each input's ``tangents_from``);
    the page rewrites the line at every step.
    """
    from .dot import Scene, check_size, default_look, draw_scene, edge_count, local_labels
    from .render import render

    check_size(len(order), edge_count(order), 5000, 10000)
    widest = [max((tangent_field(names[x], 0.0) for x in inputs), key=len)] * len(order)
    for x, column in zip(inputs, columns, strict=True):
        for i, t in enumerate(column):
            text = tangent_field(names[x], t)
            if len(text) > len(widest[i]):
                widest[i] = text
    looks = []
    for i, node in enumerate(order):
        look = default_look(node, node is root, True, names[node])
        fields = look.fields[:-1] + (widest[i], look.fields[-1])  # name, data, tangent, grad: the grad stays last
        looks.append(replace(look, fields=fields))
    scene = Scene(order, looks)
    # Each arrow's label as wide as the longest product it will carry (the page writes the local there
    # on load), so Graphviz leaves room for "local × tangent = product".
    where = {node: i for i, node in enumerate(order)}
    for (i, k), text in local_labels(order).items():
        local = order[i].local_grads()[k]
        products = [flow_text(local, column[where[order[i].parents[k]]]) for column in columns]
        scene.edge_text[(i, k)] = max([text, *products], key=len)
    return inline_svg(render(draw_scene(scene), engine="auto"))
