"""What the live pages show, computed by the engine: a formula in, numbers, tables and pictures out.

No web stack here: ``viz.server`` calls these functions from a worker thread,
and a script or a test can call them directly. Every formula goes through
``autograd.parse`` (its length, depth and grammar limits), then a limit on the
number of nodes, and every picture through Graphviz under a time limit, so a
request can neither run code nor keep the machine busy for long.

- ``graph_payload(formula, at)``: what ``POST /api/graph`` answers;
- ``stepper_page(formula, at)``: the self-contained stepper page;
- ``lesson_for(formula, at)``: a formula made ready for a class.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import unicodedata

from chainrule.autograd import ExpressionError, Value, backward_steps, gradcheck, parse, topological_order

from .classroom import Lesson, StepInfo
from .dot import to_dot
from .pages import inline_svg
from .render import render
from .stepper import stepper_html
from .tables import formula, forward_table, label, paths_table, step_table

#: Nodes the server will lay out (Graphviz time grows fast past this).
MAX_NODES = 400
#: Seconds Graphviz gets for one picture; then it is stopped and the formula refused.
LAYOUT_SECONDS = 10.0


class BadInput(ValueError):
    """A request the server refuses with a 400: the message, and line and column for a formula."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None, text: str = ""):
        super().__init__(message)
        self.message, self.line, self.column, self.text = message, line, column, text

    def body(self) -> dict:
        return {"error": self.message, "line": self.line, "column": self.column, "text": self.text}


def read_values(at: object) -> dict[str, float]:
    """The ``at`` object of a request: names to finite numbers, as ``--at`` reads them."""
    if at is None:
        return {}
    if not isinstance(at, dict):
        raise BadInput('"at" must be an object of names and numbers, as in {"x": 1.5}')
    values = {}
    for name, value in at.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise BadInput(f'"at": {name!r} is not a name (letters, digits and _, not starting with a digit)')
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadInput(f'"at": the value of {name} must be a finite number, got {value!r}')
        values[unicodedata.normalize("NFKC", name)] = float(value)
    return values


def read_at_text(text: str) -> dict[str, float]:
    """``x=1.5,w=0.8`` (the command's --at) -> ``{"x": 1.5, "w": 0.8}``."""
    values: dict[str, object] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, number = part.partition("=")
        try:
            values[name.strip()] = float(number) if sep else None
        except ValueError:
            raise BadInput(f"the value of {name.strip()}, {number.strip()!r}, is not a number") from None
    return read_values(values)


def build(source: object, at: dict[str, float], max_nodes: int) -> tuple[Value, dict[str, Value], list[Value]]:
    """Parse and check one formula: its output, its inputs and its nodes in topological order."""
    if not isinstance(source, str):
        raise BadInput('"formula" must be text, as in {"formula": "x*x + x", "at": {"x": 3}}')
    try:
        expression = parse(source, **at)
    except ExpressionError as e:
        raise BadInput(e.message, e.line, e.column, e.text) from None
    except (ValueError, ArithmeticError) as e:  # a domain error or an overflow, worded by the engine
        raise BadInput(str(e)) from None
    unused = [name for name in at if name not in expression.variables]
    if unused:
        raise BadInput(f"a value is given for {', '.join(unused)}, which the formula does not use")
    order = topological_order(expression.output)
    if len(order) > max_nodes:
        raise BadInput(f"the graph has {len(order):,} nodes; the server lays out at most {max_nodes:,} "
                       "(chainrule steps prints graphs of any size as text)")
    return expression.output, expression.variables, order


def display_names(order: list[Value]) -> list[str]:
    """A unique name per node: its own name, else its op and a counter (mul1, add2, const1)."""
    words = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "": "const"}
    seen: dict[str, int] = {}
    taken = {node.name for node in order if node.name}
    names = []
    for node in order:
        if node.name:
            names.append(node.name)
            continue
        word = words.get(node.op, node.op)
        n = seen.get(word, 0)
        while True:
            n += 1
            candidate = f"{word}{n}"
            if candidate not in taken:
                break
        seen[word] = n
        taken.add(candidate)
        names.append(candidate)
    return names


def number(x: float) -> float | str:
    """A float for JSON; inf and nan (not JSON numbers) as Python spells them."""
    return x if math.isfinite(x) else repr(x)


def layout(root: Value, seconds: float, show_grad: bool = True) -> str:
    """The graph as an SVG element, ready to put inside HTML; refused when Graphviz needs more than ``seconds``.

    Layout time is not a function of the node count alone (long edges that
    cross many ranks make ``dot`` slow), so the clock decides. With Graphviz's
    ``dot`` on PATH it runs as a child process that is killed at the limit.
    Without it, the in-process WebAssembly engine cannot be stopped midway:
    the request is refused at the limit (see Worker) and the layout finishes
    in the background.
    """
    source = to_dot(root, show_grad=show_grad, show_local=True).source
    if shutil.which("dot") is None:
        svg = render(source, engine="wasm")
    else:
        try:
            done = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
                                  timeout=seconds, check=False)
        except subprocess.TimeoutExpired:  # subprocess.run has killed dot
            raise BadInput(too_slow(seconds)) from None
        if done.returncode != 0:
            raise RuntimeError(f"Graphviz's dot refused the graph: {done.stderr.decode('utf-8', 'replace')[:300]}")
        svg = done.stdout.decode("utf-8")
    return inline_svg(svg)


def too_slow(seconds: float) -> str:
    return f"this graph took more than {seconds:g} s to lay out, so it was refused; try a smaller formula"


def graph_payload(source: object, at: object, max_nodes: int = MAX_NODES,
                  layout_seconds: float = LAYOUT_SECONDS) -> dict:
    """Everything ``POST /api/graph`` answers: the nodes, the SVG, the number of steps, and the command's tables.

    ``forward``, ``backward``, ``paths`` and ``check`` are the text that
    ``chainrule steps``, ``paths`` and ``check`` print for the same formula.
    """
    values = read_values(at)
    root, leaves, order = build(source, values, max_nodes)
    root.backward()
    names = display_names(order)
    nodes = [{"name": name, "op": node.op, "data": number(node.data), "grad": number(node.grad)}
             for name, node in zip(names, order, strict=True)]
    steps = sum(1 for _ in backward_steps(root))
    svg = layout(root, layout_seconds)
    forward, backward = forward_table(root), step_table(root)
    paths = {name: paths_table(root, leaf, limit=200) for name, leaf in leaves.items()}
    check = ""
    if leaves:
        rebuild = lambda: parse(source, **leaves).output  # the same leaves, nudged in place by gradcheck
        try:
            check = str(gradcheck(rebuild, list(leaves.values())))
        except (ValueError, ArithmeticError) as e:  # a nudge left the domain: sqrt(x) at x = 0
            message = e.message if isinstance(e, ExpressionError) else str(e)
            check = f"no gradient check at these values: a nudge of 1e-05 gives {message}"
    return {"nodes": nodes, "svg": svg, "steps": steps, "output": label(root), "forward": forward,
            "backward": backward, "paths": paths, "check": check}


def stepper_page(source: object, at: dict[str, float], max_nodes: int = MAX_NODES,
                 layout_seconds: float = LAYOUT_SECONDS) -> str:
    """The self-contained stepper page (``stepper_html``) for a formula.

    The graph is laid out once under the time limit first: ``stepper_html``
    draws the same graph, and only a graph known to lay out in time gets there.
    """
    root, _, _ = build(source, at, max_nodes)
    root.backward()
    layout(root, layout_seconds)
    return stepper_html(root, title=source)


def lesson_for(source: object, at: object, max_nodes: int = MAX_NODES,
               layout_seconds: float = LAYOUT_SECONDS) -> Lesson:
    """A formula made ready for class: the picture without grads, and each step's node and gradient."""
    values = read_values(at)
    root, _, order = build(source, values, max_nodes)
    names = display_names(order)
    index = {node: i for i, node in enumerate(order)}
    steps = [StepInfo(node=index[step.node], name=names[index[step.node]], formula=formula(step.node),
                      grad=step.upstream) for step in backward_steps(root)]
    for node in order:  # the class works the grads out; the picture shows values and local derivatives only
        node.grad = 0.0
    return Lesson(formula=source, at=values, output=names[-1], svg=layout(root, layout_seconds, show_grad=False),
                  steps=steps)
