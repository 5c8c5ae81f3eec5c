"""The backward stepper: one self-contained HTML page that walks through backprop by hand.

``stepper_html(root)`` runs one fresh backward pass with ``autograd.backward_steps``
and writes down everything it did: for every node its value and final gradient,
for every step the upstream gradient dL/d(node), the local rule, and along each
edge the local derivative d(node)/d(parent), the product

    contribution = upstream * local

and the parent's grad before and after the addition. A parent that collects a
second contribution is where the multi-path chain rule happens: its gradient is
the sum over its children,

    dL/d(parent) = sum over children c of dL/dc * dc/d(parent),

which the page calls the local form. The global form of the same number comes
from ``autograd.paths``: the sum over every path from the output of the
product of the local derivatives along it.

The page is one file: the graph's SVG (drawn by ``viz.to_dot`` and
``viz.render``), the CSS and JavaScript from ``viz/assets`` and the data as
JSON, all inline, so it opens from file:// and asks the network for nothing.
User text (node names, the title) reaches the page only as JSON read with
``textContent`` or as SVG text escaped by Graphviz, never as markup.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from importlib import resources

from chainrule.autograd import TooManyPaths, Value, backward_steps, paths, topological_order
from chainrule.autograd.files import atomic_write
from chainrule.autograd.graph import path_counts as paths_to_each

from .dot import to_dot, visible
from .render import render
from .tables import formula, label

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

#: The click view lists a node's paths only up to this many (``paths``' limit);
#: past it, the page says how many there are.
PATH_LIMIT = 64
#: ... and only while the listing stays readable: paths times their length.
PATH_FACTORS = 2_048
#: On graphs larger than this, the page gives each node's path count only:
#: one ``paths`` call walks the whole graph, and a call per node would make
#: building the page quadratic in its size.
PATH_LISTING_MAX_NODES = 400


def stepper_html(root: Value, path: str | os.PathLike | None = None, quiz: bool = False,
                 *, title: str | None = None) -> str:
    """The HTML stepper page for the backward pass from ``root``; written to ``path`` when given.

    The page shows the graph and steps through ``backward_steps(root)`` with
    Previous / Next / Play / Reset, a slider and the arrow keys. Each node's
    grad is shown as of the current step: not reached, partial (some
    children have sent their share) or final. Clicking a node shows its
    gradient in the local form (sum over its children of upstream times
    local) and the global form (sum over paths of products of locals).
    With ``quiz=True`` the student types each parent's new grad before a
    step is revealed; answers within a relative 1e-3 count as right.

    The page shows one fresh pass: leaves start at grad 0 even if earlier
    ``backward()`` calls left gradient on them. The graph's grads are put
    back as they were afterwards. ``title`` (for example the formula) heads
    the page; by default the output's name.
    """
    if not isinstance(root, Value):
        raise TypeError(f"stepper_html needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    saved = [node.grad for node in order]
    try:
        for node in order:
            if node.is_leaf:
                node.grad = 0.0  # a fresh pass: what one backward() gives from scratch
        data = _page_data(root, order, quiz, title)
        svg = _graph_svg(root)
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
    page = _assemble(data, svg)
    if path is not None:
        atomic_write(path, page)
    return page


# --- the data the page reads -----------------------------------------------------


def _page_data(root: Value, order: list[Value], quiz: bool, title: str | None) -> dict:
    """Everything the page shows, as plain JSON-able data; nodes by topological index."""
    index = {node: i for i, node in enumerate(order)}
    steps = [_step_data(step, index) for step in backward_steps(root)]
    _mark_arrivals(steps)
    nodes = [
        {
            "name": node.name,
            "label": label(node),
            "op": node.op,
            "formula": formula(node),
            "data": _number(node.data),
            "grad": _number(node.grad),  # final, after the whole pass
            "parents": [index[p] for p in node.parents],
        }
        for node in order
    ]
    return {
        "title": title if title is not None else f"backward pass from {label(root)}",
        "quiz": bool(quiz),
        "root": index[root],
        "nodes": nodes,
        "steps": steps,
        "paths": _global_forms(root, order, index),
        "pathLimit": PATH_LIMIT,
    }


def _step_data(step, index: dict[Value, int]) -> dict:
    rules = step.rule.split("; ")
    return {
        "node": index[step.node],
        "upstream": _number(step.upstream),
        "rule": step.rule,
        "edges": [
            {
                "parent": index[edge.parent],
                "k": k,  # which input of the op: the edge's SVG id is e{node}_{k}
                "rule": rules[k] if len(rules) == len(step.edges) else step.rule,
                "local": _number(edge.local),
                "contribution": _number(edge.contribution),
                "before": _number(edge.before),
                "after": _number(edge.after),
            }
            for k, edge in enumerate(step.edges)
        ],
    }


def _mark_arrivals(steps: list[dict]) -> None:
    """Number each edge's arrival at its parent: 1 for its first contribution, 2 for the second...

    From the second arrival on, the parent's grad is a sum over paths. Counting
    arrivals rather than testing ``before != 0`` also catches a first
    contribution that happened to be zero (a relu that was off).
    """
    arrivals: dict[int, int] = {}
    for step in steps:
        for edge in step["edges"]:
            arrivals[edge["parent"]] = arrivals.get(edge["parent"], 0) + 1
            edge["arrival"] = arrivals[edge["parent"]]
    for step in steps:
        for edge in step["edges"]:
            edge["arrivals"] = arrivals[edge["parent"]]  # how many the parent gets in all


def path_counts(order: list[Value]) -> list[int]:
    """For each node of ``order`` (root last), how many paths lead to it from the root.

    The count ``autograd.count_paths(root, node)`` gives, for every node in one
    pass (``autograd.graph.path_counts``).
    """
    counts = paths_to_each(order[-1])
    return [counts.get(node, 0) for node in order]


def _longest(order: list[Value]) -> list[int]:
    """For each node, the number of edges on its longest path from the root."""
    index = {node: i for i, node in enumerate(order)}
    depth = [0] * len(order)
    for i in range(len(order) - 1, -1, -1):
        for parent in order[i].parents:
            j = index[parent]
            depth[j] = max(depth[j], depth[i] + 1)
    return depth


def _global_forms(root: Value, order: list[Value], index: dict[Value, int]) -> list[dict]:
    """Per node: how many paths lead to it and, where readable, each path with its locals and product."""
    counts = path_counts(order)
    longest = _longest(order)
    listing = len(order) <= PATH_LISTING_MAX_NODES
    forms = []
    for i, node in enumerate(order):
        form: dict = {"count": counts[i], "paths": None, "why": ""}
        if not listing:
            form["why"] = "large graph"
        elif counts[i] > PATH_LIMIT:
            form["why"] = "too many"
        elif counts[i] * longest[i] > PATH_FACTORS:
            form["why"] = "too long"
        else:
            try:
                found = paths(root, node, limit=PATH_LIMIT)
            except TooManyPaths as e:  # cannot happen with counts[i] <= PATH_LIMIT, but say so if it does
                form["count"], form["why"] = e.count, "too many"
            else:
                form["paths"] = [
                    {
                        "nodes": [index[n] for n in p.nodes],
                        "locals": [_number(d) for d in p.locals],
                        "product": _number(p.product),
                    }
                    for p in found
                ]
        forms.append(form)
    return forms


def _number(x: float) -> float | dict:
    """A float for JSON; inf and nan (not JSON numbers) travel tagged, as Python spells them."""
    if math.isfinite(x):
        return x
    return {"float": repr(float(x))}  # 'inf', '-inf', 'nan'


# --- the page ----------------------------------------------------------------------


def _graph_svg(root: Value) -> str:
    """The graph drawn by Graphviz, values and final grads on it, ready to inline in HTML."""
    svg = render(to_dot(root, show_grad=True, show_local=True), engine="auto")
    start = svg.find("<svg")
    if start < 0:
        raise RuntimeError("the renderer returned no <svg> element")
    return svg[start:]  # drop the XML declaration and DOCTYPE, which HTML does not want


def script_json(data: dict) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` and so on, so no string (a node
    named ``</script>``) can end the block early; JSON.parse reads them back.
    A lone surrogate (a name made from bytes that were not UTF-8) cannot be
    written in a UTF-8 file, so it travels as its JSON escape ``\\udcff`` too.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _asset(name: str) -> str:
    return resources.files("chainrule.viz").joinpath("assets", name).read_text(encoding="utf-8")


def _assemble(data: dict, svg: str) -> str:
    title = html.escape(visible(data["title"]))  # as the graph spells what HTML text cannot hold
    quiz = " quiz" if data["quiz"] else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
{_asset("stepper.css")}
</style>
</head>
<body class="stepper{quiz}">
<header>
  <h1 id="title">{title}</h1>
  <p class="sub">Backpropagation one node at a time: each step multiplies the upstream gradient
  by a local derivative and adds the product to a parent's grad.</p>
</header>
<nav id="controls" aria-label="step controls">
  <button id="reset" type="button" title="back to the start (Home)">&#x21E4; Reset</button>
  <button id="prev" type="button" title="previous step (Left arrow)">&#x25C0; Previous</button>
  <button id="play" type="button" title="play or pause (space)">&#x25B6; Play</button>
  <button id="next" type="button" title="next step (Right arrow)">Next &#x25B6;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="position" aria-live="polite"></span>
  <button id="zoom" type="button" title="fit the graph to the window, or show it full size">Full size</button>
</nav>
<section id="graph" aria-label="the computational graph">
{svg}
</section>
<p id="legend">
  <span class="key g-none">grad &#x2014;</span> not reached yet
  <span class="key g-partial">grad 0.12&#x2026;</span> partial: some children have sent their share
  <span class="key g-final">grad 0.12</span> final: every child has sent.
  <span class="key now">red</span> the node stepping now and the edges it sends along;
  <span class="key to">blue</span> its parents, receiving.
  Gradient flows against the arrows. Click a node to see its gradient two ways.
</p>
<main>
  <section id="explain" aria-live="polite"></section>
  <section id="quizbox" hidden aria-live="polite"></section>
  <section id="nodeview" hidden></section>
</main>
<section id="tablebox">
  <h2>Every node&#x2019;s grad at this step</h2>
  <table id="grads">
    <thead><tr><th>#</th><th>node</th><th>computed as</th><th>value</th><th>grad</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<script type="application/json" id="data">{script_json(data)}</script>
<script>
{_asset("stepper.js")}
</script>
</body>
</html>
"""
