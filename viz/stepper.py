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
import numbers
import os
import re
from collections.abc import Sequence

from chainrule.autograd import (
    OPS,
    TooManyPaths,
    Value,
    backward_steps,
    forward_steps,
    paths,
    power_exponent,
    topological_order,
)
from chainrule.autograd.files import atomic_write
from chainrule.autograd.graph import count_text, path_counts
from chainrule.autograd.names import display_names, operand_rules

from .dot import to_dot, visible
from .pages import asset, inline_svg, json_number, page_head
from .render import render
from .tables import formula, math_formula, math_rule
from .tangents import check_budget, seed_input, tangent_inputs, tangent_svg, tangent_words, tangents_from
from .whatif import node_fields, op_rows

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


QUIZ_KINDS = ("grad", "local", "forward", "all")
VIEWS = ("scalar", "neurons")


def quiz_kind(quiz: bool | str | None) -> str:
    """``quiz=`` as one word: ``""`` (no quiz), ``"grad"``, ``"local"``, ``"forward"`` or ``"all"``.

    ``True`` means ``"grad"``, the quiz the page has always had: each parent's new grad.
    """
    if quiz is None or quiz is False:
        return ""
    if quiz is True:
        return "grad"
    if isinstance(quiz, str) and quiz in QUIZ_KINDS:
        return quiz
    raise ValueError(f"quiz must be False, True or one of {', '.join(QUIZ_KINDS)}; got {quiz!r}")


def stepper_html(root: Value, path: str | os.PathLike | None = None, quiz: bool | str = False,
                 title: str | None = None, forward: bool = True, lr: float | None = None,
                 params: Sequence[Value] | None = None, variants: bool = False, view: str = "scalar",
                 tangent: Value | str | None = None) -> str:
    """The HTML stepper page for ``root``'s graph; written to ``path`` when given.

    The page plays the forward pass (``forward=True``: one step per op node,
    its value computed from its parents'), then the backward pass of
    ``backward_steps(root)``, then, with ``lr`` and ``params``, one step of
    gradient descent: each parameter p becomes p - lr × dL/dp and the loss is
    computed again at the new values, beside the old one.

    Previous / Next / Play, a slider, the keys (Space, arrows, Home, End, +, -,
    0, f, p) and zoom and pan on the graph. Each node's grad is shown as of the
    current step: not reached, partial or final. Clicking a node shows its
    gradient in the local form (sum over its children of upstream × local)
    and the global form (sum over paths of products of locals).

    ``quiz``: ``"grad"`` (or True) asks each parent's new grad, ``"local"``
    each edge's local derivative (hidden on the graph while asked),
    ``"forward"`` each node's value, ``"all"`` all three. Next waits for an
    answer or "Show the answer"; answers within a relative 1e-3 or an absolute
    1e-6, or fractions such as ``-3/4``, are right; the end shows a score.

    Every node is called by its display name (``autograd.names``): its own
    name, or ``mul1``, ``add2``, ... The page shows one fresh pass: leaves
    start at grad 0 even if earlier ``backward()`` calls left gradient on
    them; the graph's grads are put back as they were afterwards. ``title``
    (for example the formula) heads the page; by default the output's name.

    ``view="neurons"`` (for a graph built from an nn model: a loss of its outputs)
    draws the network as ``to_dot(..., view="neurons")`` does, one circle per
    neuron; clicking a circle opens it in place into its scalar nodes, where
    the steps play as usual (see ``viz.neuron_stepper``).

    Every page is live (``viz.whatif``): each input can be changed in the
    page, by typing or with a slider, and every number is computed again in
    the browser from the op table's formula strings. ``variants=True`` adds a
    seed box: each student types a seed (a name or a number) and draws their
    own inputs, the same for the same seed, redrawn until every op is in its
    domain; the quiz then checks their numbers and the score shows the seed.

    ``tangent`` (an input, or its name, such as ``"x"``) adds the forward-mode
    view: each value box and forward step shows the tangent d(node)/dx beside
    the value, computed by ``autograd.forward``; a select re-seeds with any other
    input, one at a time (see ``viz.tangents``). It needs ``forward=True`` and the scalar view.
    """
    if not isinstance(root, Value):
        raise TypeError(f"stepper_html needs a Value, got {type(root).__name__}")
    kind = quiz_kind(quiz)
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}; got {view!r}")
    order = topological_order(root)
    update = _check_update(lr, params, order)
    seed = _check_tangent(tangent, order, forward)
    if seed is not None and view == "neurons":
        raise ValueError("tangent= draws forward mode on the scalar graph; view='neurons' has no room for it: "
                         "drop one of them")
    saved = [node.grad for node in order]
    try:
        for node in order:
            if node.is_leaf:
                node.grad = 0.0  # a fresh pass: what one backward() gives from scratch
        data = _page_data(root, order, kind, title, forward)
        if view == "neurons":
            from .neuron_stepper import neuron_svg, view_data  # reads nn's names; only this view needs it

            data["neurons"], _ = view_data(root, order)
            svg = neuron_svg(root, order, data["neurons"])
        elif seed is None:
            svg = _graph_svg(root)
        else:
            data["tangent"], svg = _tangent_view(root, order, data["names"], seed)
        if update is not None:
            data["update"] = _update_data(root, order, update[0], update[1], data["names"])
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
    del data["names"]
    data["variants"] = bool(variants)
    data["ops"] = op_rows()
    page = _assemble(data, svg)
    if path is not None:
        atomic_write(path, page)
    return page


def _check_update(lr, params, order: list[Value]) -> tuple[float, list[Value]] | None:
    """``(lr, params)`` checked, or None when no update step was asked for."""
    if lr is None and params is None:
        return None
    if lr is None or params is None:
        raise ValueError("the update step needs both lr= (the learning rate) and params= (the Values to update)")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    params = list(params)
    if not params:
        raise ValueError("params= is empty: name at least one input to update")
    members = set(order)
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"params must be Values, got {type(p).__name__}")
        if p not in members or not p.is_leaf:
            raise ValueError(f"params: {p!r} is not an input of this graph (only inputs can be updated)")
    return float(lr), list(dict.fromkeys(params))


def _check_tangent(tangent, order: list[Value], forward: bool) -> Value | None:
    """The input ``tangent=`` seeds, or None when no forward-mode view was asked for."""
    if tangent is None:
        return None
    if not forward:
        raise ValueError("tangent= shows forward mode on the forward pass, and forward=False leaves it out: "
                         "drop one of them")
    seed = seed_input(tangent, order, display_names(order))
    check_budget(len(tangent_inputs(order)), len(order))
    return seed


def _tangent_view(root: Value, order: list[Value], names: dict[Value, str], seed: Value) -> tuple[dict, str]:
    """The forward-mode view's data (every input's tangents, each node's locals) and its graph."""
    inputs = tangent_inputs(order)
    index = {node: i for i, node in enumerate(order)}
    columns = [tangents_from(order, x) for x in inputs]
    data = {
        "inputs": [index[x] for x in inputs],
        "seed": inputs.index(seed),
        "words": [tangent_words(names[x]) for x in inputs],
        "values": [[json_number(t) for t in column] for column in columns],
        "locals": [[json_number(d) for d in node.local_grads()] for node in order],
    }
    return data, tangent_svg(root, order, names, inputs, columns)


# --- the data the page reads -----------------------------------------------------


def _page_data(root: Value, order: list[Value], quiz: str, title: str | None, forward: bool) -> dict:
    """Everything the page shows, as plain JSON-able data; nodes by topological index."""
    index = {node: i for i, node in enumerate(order)}
    names = display_names(order)
    steps = [_step_data(step, index, names) for step in backward_steps(root)]
    _mark_arrivals(steps)
    nodes = [
        {
            "name": names[node],  # the display name: its own, or mul1, add2 ...
            "label": names[node],
            "user": node.name,  # the name the user gave, or None
            "op": node.op,
            "formula": formula(node, names),
            "math": math_formula(node, names),
            "numbers": math_formula(node, names, values=True),
            "data": json_number(node.data),
            "grad": json_number(node.grad),  # final, after the whole pass
            "parents": [index[p] for p in node.parents],
        } | node_fields(node)  # its op-table row and numbers, for the page's what-if
        for node in order
    ]
    forward_list = [
        {"node": index[step.node], "inputs": [json_number(x) for x in step.inputs], "value": json_number(step.value)}
        for step in forward_steps(root)
    ] if forward else []
    return {
        "title": title if title is not None else f"backward pass from {names[root]}",
        "quiz": quiz,
        "root": index[root],
        "nodes": nodes,
        "forward": forward_list,
        "steps": steps,
        "update": None,
        "tangent": None,
        "paths": _global_forms(root, order, index),
        "pathLimit": PATH_LIMIT,
        "names": names,  # for _update_data; removed before the page is written
    }


def _step_data(step, index: dict[Value, int], names: dict[Value, str]) -> dict:
    rules = operand_rules(step.node, names)
    return {
        "node": index[step.node],
        "upstream": json_number(step.upstream),
        "rule": step.rule,
        "math": math_rule(step.rule),
        "edges": [
            {
                "parent": index[edge.parent],
                "k": k,  # which input of the op: the edge's SVG id is e{node}_{k}
                "rule": rules[k],
                "math": math_rule(rules[k]),
                "local": json_number(edge.local),
                "contribution": json_number(edge.contribution),
                "before": json_number(edge.before),
                "after": json_number(edge.after),
            }
            for k, edge in enumerate(step.edges)
        ],
    }


def descent_step(order: list[Value], lr: float, params: list[Value]) -> tuple[dict[Value, float], float, str]:
    """One step of gradient descent, read from the grads on the graph: (each param's new value, the loss
    at the new values, "" or why the loss cannot be computed there: the new values may leave an op's domain)."""
    new = {p: p.data - lr * p.grad for p in params}
    try:
        return new, recompute(order, new)[-1], ""
    except (ArithmeticError, ValueError, TypeError) as error:
        return new, math.nan, str(error)


def recompute(order: list[Value], new: dict[Value, float]) -> list[float]:
    """Every node's value again, in ``order``, with the inputs in ``new`` changed: the forward pass
    replayed from the op table (each op's forward on its parents' new values)."""
    values: dict[Value, float] = {}
    for node in order:
        if node.is_leaf:
            values[node] = new.get(node, node.data)
            continue
        xs = [values[p] for p in node.parents]
        k = power_exponent(node)
        op = OPS.get(node.op)
        if op is None:
            raise ValueError(f"op {node.op!r} is not in the op table: the update step cannot recompute it")
        label = getattr(node._rule, "label", None)  # a fused loss keeps its target on its rule
        if k is not None:
            values[node] = op.forward(xs[0], k)
        elif label is not None:
            values[node] = op.forward(*xs, label=label)
        else:
            values[node] = op.forward(*xs)
    return [values[node] for node in order]


def _update_data(root: Value, order: list[Value], lr: float, params: list[Value],
                 names: dict[Value, str]) -> dict:
    """One gradient-descent step: each parameter's old value, grad and new value, and the loss before and after."""
    index = {node: i for i, node in enumerate(order)}
    new, after, problem = descent_step(order, lr, params)
    rows = [{"node": index[p], "old": json_number(p.data), "grad": json_number(p.grad), "new": json_number(new[p])}
            for p in params]
    return {"lr": lr, "params": rows, "before": json_number(root.data), "after": json_number(after), "problem": problem}


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


def path_counts_in_order(order: list[Value]) -> list[int]:
    """``autograd.graph.path_counts`` as a list in ``order`` (root last): how many paths lead to each node.

    The count ``autograd.count_paths(root, node)`` gives, for every node in one pass.
    """
    counts = path_counts(order[-1])
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
    counts = path_counts_in_order(order)
    longest = _longest(order)
    listing = len(order) <= PATH_LISTING_MAX_NODES
    forms = []
    for i, node in enumerate(order):
        # The count as text (exact, or "about 1.4 × 10^331"): a JavaScript number would round it or give Infinity.
        form: dict = {"count": min(counts[i], 2**53), "countText": count_text(counts[i]), "paths": None, "why": ""}
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
                form["count"], form["countText"], form["why"] = min(e.count, 2**53), count_text(e.count), "too many"
            else:
                form["paths"] = [
                    {
                        "nodes": [index[n] for n in p.nodes],
                        "locals": [json_number(d) for d in p.locals],
                        "product": json_number(p.product),
                    }
                    for p in found
                ]
        forms.append(form)
    return forms


# --- the page ----------------------------------------------------------------------


def _graph_svg(root: Value) -> str:
    """The graph drawn by Graphviz, values and final grads on it, ready to inline in HTML."""
    return inline_svg(render(to_dot(root, show_grad=True, show_local=True), engine="auto"))


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


_NEURONS_LEGEND = """
  <span class="key neuron">circle</span> a neuron: click it to open its scalar nodes (its weights, the
  products w&#xB7;x, the sum z, the activation h) where the steps play; click an open neuron&#x2019;s heading
  to fold it. The loss box opens the same way."""


def _neurons_style(data: dict) -> str:
    """The neuron view's style sheet (its script goes before the stepper's: it tells the stepper where to look)."""
    if not data.get("neurons"):
        return ""
    return f"<style>\n{asset('neurons_view.css')}\n</style>\n"


def _assemble(data: dict, svg: str) -> str:
    title = html.escape(visible(data["title"]))  # as the graph spells what HTML text cannot hold
    quiz = f" quiz quiz-{data['quiz']}" if data["quiz"] else ""
    passes = "the forward pass, then the backward pass" if data["forward"] else "the backward pass"
    if data["update"]:
        passes += ", then one step of gradient descent"
    head = page_head(title, asset("stepper.css") + "\n" + asset("whatif.css"), color_scheme=True)
    return f"""{head}<body class="stepper{quiz}">
<header>
  <h1 id="title">{title}</h1>
  <p class="sub">Backpropagation one node at a time: {passes}. Each backward step multiplies the upstream
  gradient by a local derivative and adds the product to a parent&#x2019;s grad.</p>
</header>
<nav id="controls" aria-label="step controls">
  <button id="reset" type="button" title="back to the start (Home)">&#x21E4; Reset</button>
  <button id="prev" type="button" title="previous step (Left arrow)">&#x25C0; Previous</button>
  <button id="play" type="button" title="play or pause (Space)" aria-pressed="false">&#x25B6; Play</button>
  <button id="next" type="button" title="next step (Right arrow)">Next &#x25B6;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="position" aria-live="polite"></span>
  <span class="group" role="group" aria-label="zoom">
    <button id="zoom-out" type="button" class="small" title="zoom out (-)" aria-label="zoom out">&#x2212;</button>
    <button id="zoom-fit" type="button" class="small" title="fit the whole graph (0)">Fit</button>
    <button id="zoom-in" type="button" class="small" title="zoom in (+)" aria-label="zoom in">+</button>
  </span>
  <span class="group">
    <button id="theme" type="button" class="small" title="light, dark or high contrast">Theme</button>
    <button id="present" type="button" class="small" title="presentation view (p)" aria-pressed="false">Present</button>
    <button id="fullscreen" type="button" class="small" title="full screen (f)">Full screen</button>
  </span>
</nav>
<section id="graph" aria-label="the computational graph" tabindex="0">
{svg}
</section>
<p id="legend">
  <span class="key g-none">grad &#x2014;</span> not reached yet
  <span class="key g-partial">grad 0.12&#x2026;</span> partial: some children have sent their share
  <span class="key g-final">grad 0.12</span> final: every child has sent.
  <span class="key now">thick solid border</span> the node stepping now;
  <span class="key to">thick dashed border</span> its parents.
  Gradient flows against the arrows. Drag to pan, Ctrl+wheel or +/&#x2212; to zoom, 0 to fit.
  Click a node to see its gradient two ways.{_NEURONS_LEGEND if data.get("neurons") else ""}
</p>
<main>
  <section id="explain" aria-live="polite"></section>
  <section id="quizbox" hidden aria-live="polite"></section>
  <section id="scorebox" hidden aria-live="polite"></section>
  <section id="nodeview" hidden></section>
</main>
<section id="whatif" aria-label="what if: change an input"></section>
<section id="tablebox">
  <h2>Every node at this step</h2>
  <table id="grads">
    <thead><tr><th>#</th><th>node</th><th>computed as</th><th>value</th><th>grad</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<script type="application/json" id="data">{script_json(data)}</script>
{_neurons_style(data)}<script>
{asset("page_kit.js")}
{asset("neurons_view.js") if data.get("neurons") else ""}
{asset("whatif.js")}
{asset("stepper.js")}
{asset("live_page.js")}
{asset("tangent.js") if data["tangent"] else ""}
</script>
</body>
</html>
"""
