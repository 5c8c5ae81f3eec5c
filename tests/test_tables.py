"""The terminal tables of viz.tables: one number format with the pictures, and the paths table.

Values are checked against closed forms worked out by hand from the formulas.
"""

from __future__ import annotations

import math

from chainrule.autograd import Value, parse
from chainrule.viz import drawing, tables
from chainrule.viz.tables import forward_table, paths_table, step_table


def columns(text: str) -> list[list[str]]:
    """The rows of a table under its header and rule, split on runs of two or more spaces."""
    import re

    return [re.split(r" {2,}", line.strip()) for line in text.splitlines()[2:]]


def test_tables_print_numbers_as_the_pictures_do():
    assert tables.num is drawing.num  # one formatter, not two that drift apart
    for x in (1 / 3, -2.5e-7, 123456.0, math.inf, -0.0, 0.0):
        assert tables.num(x) == drawing.num(x)


def test_negative_zero_reads_0_in_the_step_table():
    # L = relu(a) * c with a = c = -1: relu's upstream is c = -1, its local slope is 0,
    # and their product is -1 * 0.0 = -0.0, which a student must read as 0, not as "-0".
    a, c = Value(-1.0, name="a"), Value(-1.0, name="c")
    loss = a.relu() * c
    loss.name = "L"
    rows = columns(step_table(loss))
    relu_row = next(r for r in rows if r[0] == "2")
    assert relu_row[:3] == ["2", "relu1", "-1"]
    assert relu_row[-3:] == ["0", "0", "0 -> 0"]  # local, upstream*local (-0.0), a's grad
    assert math.copysign(1.0, -1.0 * 0.0) == -1.0  # the product really is -0.0
    assert "-0" not in step_table(loss).replace("-0.", "")


def test_negative_zero_reads_0_in_the_forward_table():
    z = Value(-0.0, name="z")
    out = z * 3.0
    rows = columns(forward_table(out))
    assert rows[0] == ["z", "input", "0"]
    assert rows[-1] == ["mul1", "z * const1", "0"]


def test_paths_table_lists_each_path_and_sums_to_backprop():
    # L = x*y + x**2 at x = 3, y = 2: two paths from L to x, locals (1, y) and (1, 2x).
    e = parse("L = x*y + x**2", x=3.0, y=2.0)
    text = paths_table(e.output, e.variables["x"])
    rows = columns(text.split("\nsum over")[0])
    assert [r[0] for r in rows] == ["1", "2"]
    products = sorted(float(r[3]) for r in rows)
    assert products == [2.0, 6.0]  # y and 2x
    assert "sum over 2 paths: 8" in text
    assert text.endswith("backprop's dL/dx:  8")  # y + 2x


def test_paths_table_stops_at_the_limit_and_accounts_for_the_rest():
    # s = x + x, L = s * s: 2 edges from L to s (local s = 4 each) times 2 edges from s to x (local 1):
    # 4 paths, each of product 4 at x = 2.
    e = parse("s = x + x; L = s * s", x=2.0)
    full = paths_table(e.output, e.variables["x"])
    assert "sum over 4 paths: 16" in full  # dL/dx = 2s * 2 = 8x = 16
    cut = paths_table(e.output, e.variables["x"], limit=1)
    assert "4 paths lead from L to x; listed 1 (--limit 1), whose products sum to 4" in cut
    assert "the other 3 paths sum to 12" in cut


def test_norms_table_marks_the_ends_and_keeps_extra_rows():
    text = tables.norms_table({"sigmoid": [1e-6, 0.01, 0.5], "relu": [0.3, 0.2, -0.0]}, [("ratio", "a", "b")])
    assert columns(text) == [
        ["1 (input side)", "1e-06", "0.3"],
        ["2", "0.01", "0.2"],
        ["3 (output)", "0.5", "0"],
        ["ratio", "a", "b"],
    ]
    assert text.splitlines()[0].split() == ["layer", "sigmoid", "relu"]


def test_leaky_relu_tables_show_the_slope_that_was_given():
    e = parse("h = leaky_relu(w*x, 0.1); g = leaky_relu(x); L = h + g", w=1.0, x=-2.0)
    forward = {row[0]: row for row in columns(forward_table(e.output))}
    assert forward["h"][1:] == ["leaky_relu(mul1, 0.1)", "-0.2"]  # 0.1 * (1 * -2)
    assert forward["g"][1:] == ["leaky_relu(x)", "-0.02"]  # the default slope, 0.01
    rules = {row[3]: row[4:6] for row in columns(step_table(e.output)) if row[3] in ("mul1", "x") and len(row) > 6}
    assert rules["mul1"] == ["d leaky_relu(mul1, 0.1)/dmul1 = 1 if mul1 > 0 else 0.1", "0.1"]
    assert tables.math_formula(e.nodes["h"], {e.nodes["h"].parents[0]: "mul1"}) == "leaky_relu(mul1, 0.1)"
