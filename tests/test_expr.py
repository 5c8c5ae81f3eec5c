"""The formula language: what it reads, what it builds, and everything it refuses."""

from __future__ import annotations

import math

import pytest
from chainrule.autograd import ExpressionError, Value, parse
from chainrule.autograd.expr import MAX_LENGTH, MAX_NESTING
from course import sig

from chainrule import autograd


def test_the_course_example_names_its_nodes():
    e = parse("z = w*x + b; h = sigmoid(z); L = (y - h)**2", w=0.8, x=1.5, b=0.1, y=1.0)
    assert set(e.nodes) == {"z", "h", "L"}
    assert set(e.variables) == {"w", "x", "b", "y"}
    assert e.nodes["z"].name == "z" and e.nodes["z"].op == "+"
    assert e.nodes["h"].op == "sigmoid" and e.output is e.nodes["L"]
    assert e.output.data == pytest.approx((1.0 - sig(1.3)) ** 2, rel=1e-15)
    assert e.output.parents[0].op == "-"  # the 2 of **2 is part of the op, not a node
    e.output.backward()
    s = sig(1.3)
    assert e.variables["w"].grad == pytest.approx(2 * (s - 1) * s * (1 - s) * 1.5, rel=1e-14)


def test_newlines_semicolons_and_a_last_bare_expression():
    e = parse("a = x * 2\nb = a + 1; b ** 2", x=3.0)
    assert e.output.data == 49.0 and e.output.name is None and set(e.nodes) == {"a", "b"}


def test_every_operator_and_function():
    source = (
        "exp(x) + log(y) - tanh(x) * sigmoid(y) / relu(x) ** 2 + sin(x) + cos(y) + sqrt(y) + abs(-x) + sum(x, y, 1)"
    )
    x, y = 0.7, 2.5
    e = parse(source, x=x, y=y)
    expected = (
        math.exp(x) + math.log(y) - math.tanh(x) * sig(y) / x**2 + math.sin(x) + math.cos(y) + math.sqrt(y) + x
        + (x + y + 1)
    )
    assert e.output.data == pytest.approx(expected, rel=1e-14)
    ops = {node.op for node in autograd.topological_order(e.output)}
    assert {"exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs", "sum", "neg", "**", "/"} <= ops


def test_values_may_be_leaves_to_rebuild_on():
    w = Value(2.0, name="w")
    assert parse("w * w", w=w).variables["w"] is w


@pytest.mark.parametrize(
    "source, values, words, line, column",
    [
        ("w * ", {"w": 1}, ["cannot read"], 1, 5),
        ("x +* 2", {"x": 1}, ["cannot read"], 1, 4),
        ("foo(x)", {"x": 1}, ["unknown function", "foo"], 1, 1),
        ("x + y", {"x": 1}, ["no value", "y"], 1, 5),
        ("a = 1\nb = a +\n", {}, ["cannot read"], 2, 8),
        ("1.2.3", {}, ["cannot read"], 1, 4),
        ("x.real", {"x": 1}, ["attribute"], 1, 1),
        ("x[0]", {"x": 1}, ["indexing"], 1, 1),
        ("(lambda: 1)()", {}, ["function"], 1, 1),
        ("[x for x in y]", {"y": 1}, ["comprehension"], 1, 1),
        ("(z := 3)", {}, ["walrus"], 1, 2),
        ("x < 2", {"x": 1}, ["comparison"], 1, 1),
        ("'abc'", {}, ["not a number"], 1, 1),
        ("2j", {}, ["not a number"], 1, 1),
        ("x % 2", {"x": 1}, ["operator"], 1, 1),
        ("import os", {}, ["import"], 1, 1),
        ("__import__('os').system('true')", {}, ["function"], 1, 1),
        ("exp(x, x)", {"x": 1}, ["takes 1 argument"], 1, 1),
        ("exp(x=1)", {}, ["plain arguments"], 1, 1),
        ("exp = 3", {}, ["function"], 1, 1),
        ("x = 3", {"x": 1}, ["given a value"], 1, 1),
        ("a, b = 1, 2", {}, ["plain name"], 1, 1),
        ("log(x)", {"x": -1.0}, ["log", "-1"], 1, 1),
        ("1 / x", {"x": 0.0}, ["division by zero"], 1, 1),
        ("exp(x)", {"x": 1000.0}, ["overflow"], 1, 1),
        ("x + 1", {"x": "3"}, ["must be a number"], 1, 1),
        ("1e999 * x", {"x": 1}, ["too large"], 1, 1),
        ("", {}, ["empty"], 1, 1),
        ("   ", {}, ["empty"], 1, 1),
        ("x\0", {"x": 1}, ["null"], 1, 2),
        ("x # a \0 in a comment", {"x": 1}, ["null"], 1, 7),
        ("x\n# \ud800", {"x": 1}, ["lone surrogate"], 2, 3),  # in a comment too: Python's parser would crash
        ("sum()", {}, ["at least one"], 1, 1),
    ],
)
def test_bad_input_is_an_expression_error_with_a_position(source, values, words, line, column):
    with pytest.raises(ExpressionError) as info:
        parse(source, **values)
    error = info.value
    for word in words:
        assert word in str(error), (source, str(error))
    assert (error.line, error.column) == (line, column), (source, error.line, error.column)
    assert f"line {line}, column {column}" in str(error)
    assert isinstance(error, ValueError)


def test_columns_count_characters_not_bytes():
    with pytest.raises(ExpressionError) as info:
        parse("α + foo(α)", α=1.0)
    assert info.value.column == 5 and info.value.text == "α + foo(α)"


def test_never_runs_code(monkeypatch):
    ran = []
    monkeypatch.setattr("builtins.__import__", lambda *a, **k: ran.append(a) or pytest.fail("import ran"))
    hostile = [
        "__import__('os').system('echo hacked')",
        "().__class__.__bases__[0].__subclasses__()",
        "exp.__globals__",
        "(lambda: __import__('os'))()",
        "[c for c in ().__class__.__base__.__subclasses__()]",
        "open('/etc/passwd').read()",
        "eval('1+1')",
        "globals()",
    ]
    for source in hostile:
        with pytest.raises(ExpressionError):
            parse(source)
    monkeypatch.undo()
    assert ran == []


@pytest.mark.parametrize(
    "source",
    [
        "(" * 10_000 + "x" + ")" * 10_000,  # far too deep, and too long
        "(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1),
        "x" * (MAX_LENGTH + 1),
        "x + " * 1_000_000 + "x",  # a megabyte
        "-" * 5000 + "x",  # Python's own parser gives up on these
        "2**" * 3000 + "2",
        "+".join(["x"] * 4000),
    ],
)
def test_limits_give_expression_error_and_nothing_else(source):
    with pytest.raises(ExpressionError) as info:
        parse(source, x=1.0)
    assert info.value.line >= 1 and info.value.column >= 1


def test_the_limits_are_said():
    with pytest.raises(ExpressionError, match="limit is 10,000"):
        parse("x" * (MAX_LENGTH + 1))
    with pytest.raises(ExpressionError, match="nested more than 100"):
        parse("(" * 101 + "x" + ")" * 101, x=1)
    assert parse("(" * 100 + "x" + ")" * 100, x=2.0).output.data == 2.0


def test_a_long_flat_formula_is_fine():
    terms = " + ".join(f"x{i}" for i in range(300))
    e = parse(terms, **{f"x{i}": float(i) for i in range(300)})
    assert e.output.data == sum(range(300))


def test_names_are_read_as_python_reads_them():
    # Python's parser folds the identifier ℌ to H (NFKC); the values given must be found the same way.
    assert parse("ℌ * 2", **{"ℌ": 1.5}).output.data == 3.0


def test_the_depth_limit_is_the_same_on_every_python():
    # Python's own parser gives up somewhere between about 3,000 and 5,000 levels, by version;
    # chainrule refuses past 1,000 everywhere, and a flat sum() has no such limit.
    from chainrule.autograd.expr import MAX_DEPTH

    for source in ["-" * 1200 + "x", "+".join(["x"] * 1200), "2**" * 1200 + "2"]:
        with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH:,} levels"):
            parse(source, x=1.0)
    terms = ", ".join(["x"] * 1200)
    assert parse(f"sum({terms})", x=0.5).output.data == 600.0
