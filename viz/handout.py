"""The handout: a printable worksheet for a graph, and its answer key on a page of its own.

``handout_html(root)`` writes one HTML file to print on A4 or Letter:

* the worksheet: the graph with a blank for every grad (the output's is given:
  dL/dL = 1) and, with ``forward=True``, a blank for every value an op computes;
  then a table with the same blanks, one row per node, in the order a person
  works them out;
* the answer key, after a page break: the table filled in with the engine's
  numbers, and the backward pass step by step (upstream × local = what each
  parent receives).

The worksheet shows no local derivative on its edges: they would give answers
away (in the course example the edge into L carries 0.4283, which is dL/dy).
The numbers of the key come from one fresh ``backward_steps`` pass, as the
stepper page's do; the graph's grads are put back afterwards.
"""

from __future__ import annotations

import html
import os

from chainrule.autograd import Value, backward_steps, topological_order
from chainrule.autograd.files import atomic_write
from chainrule.autograd.names import display_names, operand_rules

from .dot import LEAF_FILL, RESULT_FILL, ROOT_FILL, Look, Scene, draw_scene, num, visible
from .pages import inline_svg, page_head
from .render import render
from .tables import math_formula, math_rule

BLANK = "________"


def handout_html(root: Value, path: str | os.PathLike | None = None, forward: bool = False,
                 title: str | None = None) -> str:
    """The worksheet and its answer key as one printable HTML page; written to ``path`` when given."""
    if not isinstance(root, Value):
        raise TypeError(f"handout_html needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    names = display_names(order)
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = 0.0
        steps = list(backward_steps(root))  # the key's numbers: one fresh pass
        grads = {node: node.grad for node in order}
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
    svg = _blank_graph(root, order, names, forward)
    page = _assemble(root, order, names, grads, steps, svg, forward, title)
    if path is not None:
        atomic_write(path, page)
    return page


def _blank_graph(root: Value, order: list[Value], names: dict[Value, str], forward: bool) -> str:
    """The graph with a blank where each answer goes, and no edge labels."""
    looks = []
    for node in order:
        hidden_value = forward and not node.is_leaf
        fields = (names[node], f"data {BLANK}" if hidden_value else f"data {num(node.data)}",
                  "grad 1" if node is root else f"grad {BLANK}")
        fill = ROOT_FILL if node is root else LEAF_FILL if node.is_leaf else RESULT_FILL
        looks.append(Look(fields, fill, penwidth=2.0 if node is root else 1.0))
    return inline_svg(render(draw_scene(Scene(order, looks)), engine="auto"))


def _row(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{html.escape(visible(c))}</{tag}>" for c in cells) + "</tr>"


def _assemble(root: Value, order: list[Value], names: dict[Value, str], grads: dict[Value, float], steps,
              svg: str, forward: bool, title: str | None) -> str:
    heading = title if title is not None else f"Backpropagation worksheet: {names[root]}"
    out = names[root]
    fill_rows, key_rows = [], []
    for node in order:
        given_value = node.is_leaf or not forward
        computed = "input" if node.is_leaf else math_formula(node, names)
        value = num(node.data) if given_value else ""
        grad = "1" if node is root else ""
        fill_rows.append(_row([names[node], computed, value, grad]))
        key_rows.append(_row([names[node], computed, num(node.data), num(grads[node])]))
    step_rows = []
    for step in steps:
        rules = operand_rules(step.node, names)
        for k, edge in enumerate(step.edges):
            step_rows.append(_row([
                str(step.index + 1) if k == 0 else "", names[step.node] if k == 0 else "",
                num(step.upstream) if k == 0 else "", names[edge.parent], math_rule(rules[k]), num(edge.local),
                num(edge.contribution), f"{num(edge.before)} → {num(edge.after)}",
            ]))
    head = _row(["node", "computed as", "value", f"grad ∂{out}/∂node"], "th")
    step_head = _row(["step", "node", "upstream", "parent", "local rule", "local", "upstream × local",
                      "parent's grad"], "th")
    task = ("Work out every value, inputs first (the forward pass), then every gradient"
            if forward else "Work out every gradient")
    d_out = f"∂{html.escape(visible(out))}"
    return f"""{page_head(html.escape(visible(heading)), _CSS, scripts=False)}<body>
<section id="worksheet">
<h1>{html.escape(visible(heading))}</h1>
<p class="who">Name: ______________________ &nbsp; Date: ____________</p>
<p>{task} {d_out}/∂node, from the output back to the inputs: each node's grad is the
sum, over its children, of the child's grad × the local derivative. {d_out}/{d_out.replace("∂", "∂", 1)} = 1
is given. Write your answers in the graph or in the table.</p>
<figure id="graph">
{svg}
</figure>
<table class="fill">
<thead>{head}</thead>
<tbody>
{"".join(fill_rows)}
</tbody>
</table>
</section>
<section id="key">
<h1>Answer key</h1>
<table class="key">
<thead>{head}</thead>
<tbody>
{"".join(key_rows)}
</tbody>
</table>
<h2>The backward pass, step by step</h2>
<table class="steps">
<thead>{step_head}</thead>
<tbody>
{"".join(step_rows)}
</tbody>
</table>
</section>
</body>
</html>
"""


_CSS = """
@page { size: auto; margin: 12mm; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 11pt; color: #000; background: #fff;
       max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 16pt; margin: 0 0 0.3rem; }
h2 { font-size: 13pt; }
.who { margin: 0.2rem 0 0.6rem; }
figure { margin: 0.6rem 0; }
figure svg { width: 100%; height: auto; max-height: 120mm; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #000; padding: 0.25rem 0.45rem; text-align: left; }
table.fill td { height: 1.9em; }
table.fill td:nth-child(3), table.fill td:nth-child(4) { min-width: 7rem; }
#key { break-before: page; page-break-before: always; }
tr { break-inside: avoid; }
@media screen {
  #key { margin-top: 3rem; border-top: 3px dashed #000; padding-top: 1rem; }
}
"""
