"""The what-if data the stepper page carries (``viz.whatif``), checked in Python; the page's use of it is
checked in Chromium by ``test_whatif_browser``.

* every row of the op table travels with its formula strings, so the page needs no op of its own;
* each node's numbers template, with its operands' values written in, is exactly what
  ``viz.tables.math_formula(values=True)`` prints;
* ``stepper_html(variants=True)`` and ``chainrule steps --variants`` mark the page for variants.
"""

from __future__ import annotations

import json
import re

import pytest
from chainrule.autograd import OPS, Value, parse, topological_order
from chainrule.viz.cli import main
from chainrule.viz.stepper import stepper_html
from chainrule.viz.tables import math_formula
from chainrule.viz.whatif import SLOT, numbers_template, op_rows, whatif_data

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"


def page_json(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1))


def test_every_row_travels_with_its_formula_strings():
    pytest.importorskip("chainrule.nn.losses")  # nn's row too
    rows = op_rows()
    assert set(rows) == set(OPS)
    for key, op in OPS.items():
        row = rows[key]
        assert (row["symbol"], row["arity"], row["name"]) == (op.symbol, op.arity, op.name)
        assert row["formula"] == op.formula and row["params"] == list(op.params)
        assert row["derivatives"] == (list(op.derivatives) if op.derivatives is not None else None)
    without = {key for key, row in rows.items() if not row["formula"] or not row["derivatives"]}
    assert without == {"cross_entropy"}  # the one row the formula language cannot say; the page says so


def fill(template: str, node: Value, bare: bool) -> str:
    """What live_page.js does with a template: each slot becomes its operand's value, as math_formula writes it."""
    def part(match: re.Match) -> str:
        text = f"{node.parents[int(match.group(1))].data + 0.0:.4g}".replace("-", "\u2212")
        return text if bare or not text.startswith("\u2212") else f"({text})"

    return re.sub(SLOT.format(r"(\d+)"), part, template)


@pytest.mark.parametrize("source", [
    COURSE,
    "u = a*b; v = u + a; L = v*u - a/b + a**b + neg(a) ** 2",
    "L = sum(a, b, a*b) + max(a, b) - min(a, -b) + leaky_relu(a, 0.2) + softplus(-b) + abs(a - b) + sqrt(exp(b))",
])
def test_the_numbers_templates_give_what_math_formula_prints(source):
    values = {"a": -1.5, "b": 2.0} if "a" in source else {"x": 1.5, "w": -0.8, "b": 0.1, "y": 1.0}
    root = parse(source.replace("neg(a)", "(-a)"), **values).output
    data = whatif_data(root)
    for node, fields in zip(topological_order(root), data["nodes"], strict=True):
        if node.is_leaf:
            assert fields["template"] == "" and fields["key"] == ""
            continue
        assert fields["template"] == numbers_template(node)
        assert fill(fields["template"], node, fields["bare"]) == math_formula(node, {}, values=True), node


def test_a_page_with_variants_says_so_and_carries_the_rows():
    page = stepper_html(parse(COURSE, x=1.5, w=0.8, b=0.1, y=1.0).output, variants=True)
    data = page_json(page)
    assert data["variants"] is True and set(data["ops"]) >= {"*", "+", "-", "sigmoid", "**k"}
    assert [n["key"] for n in data["nodes"]] == [n["key"] for n in whatif_data(
        parse(COURSE, x=1.5, w=0.8, b=0.1, y=1.0).output)["nodes"]]
    assert page.count("<script") == 2  # the data, and one script: the evaluator, the stepper, the panel
    assert 'id="whatif"' in page
    assert page_json(stepper_html(parse("x*x", x=2.0).output))["variants"] is False


def test_chainrule_steps_variants(tmp_path):
    out = tmp_path / "homework.html"
    assert main(["steps", COURSE, "--at", "w=0.8,x=1.5,b=0.1,y=1", "-o", str(out), "--variants", "--quiz", "all"]) == 0
    data = page_json(out.read_text(encoding="utf-8"))
    assert data["variants"] is True and data["quiz"] == "all"
