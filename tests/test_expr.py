"""The formula language: what it reads, what it builds, and everything it refuses."""

from __future__ import annotations

import math
import re
import threading
import warnings

import mpmath
import pytest
from chainrule.autograd import ExpressionError, Value, parse
from chainrule.autograd.expr import CONSTANTS, MAX_DEPTH, MAX_LENGTH, MAX_NESTING, formula_functions
from chainrule.autograd.ops import OPS
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
        ("'abc'", {}, ["quotes", "not a number"], 1, 1),
        ("2j", {}, ["not a number"], 1, 1),
        ("x % 2", {"x": 1}, ["operator"], 1, 3),  # the caret under the operator
        ("import os", {}, ["import"], 1, 1),
        ("__import__('os').system('true')", {}, ["quotes"], 1, 12),
        ("__import__(os).system(x)", {"os": 1, "x": 1}, ["function"], 1, 1),
        ("exp(x, x)", {"x": 1}, ["takes 1 argument"], 1, 1),
        ("exp(x=1)", {}, ["plain arguments"], 1, 1),
        ("exp = 3", {}, ["function"], 1, 1),
        ("x = 3", {"x": 1}, ["given a value"], 1, 1),
        ("a, b = 1, 2", {}, ["plain name"], 1, 1),
        ("log(x)", {"x": -1.0}, ["log", "-1"], 1, 1),
        ("1 / x", {"x": 0.0}, ["division by zero"], 1, 3),
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
    for source in ["-" * 1200 + "x", "+".join(["x"] * 1200), "2**" * 1200 + "2"]:
        with pytest.raises(ExpressionError, match=f"nests operations more than {MAX_DEPTH:,} deep"):
            parse(source, x=1.0)
    terms = ", ".join(["x"] * 1200)
    assert parse(f"sum({terms})", x=0.5).output.data == 600.0


# --- formulas as teachers write them (issue 14) -----------------------------------------------------------



@pytest.mark.parametrize(
    "caret, stars",
    [
        ("x^2", "x**2"),
        ("x^2 + 1", "x**2 + 1"),  # ^ binds as ** does, tighter than + (Python's xor would not)
        ("-x^2", "-x**2"),
        ("2^3^2", "2**3**2"),  # right to left, as in mathematics
        ("(y - sigmoid(w*x + b))^2", "(y - sigmoid(w*x + b))**2"),
        ("x^-1 * y^0.5", "x**-1 * y**0.5"),
        ("z = x^y; z^2 # a ^ in a comment stays", "z = x**y; z**2"),
    ],
)
def test_caret_means_power_exactly_as_double_star(caret, stars):
    at = {"x": 1.7, "y": 0.6, "w": 0.8, "b": 0.1}
    ours = parse(caret, **{k: v for k, v in at.items() if k in caret})
    theirs = parse(stars, **{k: v for k, v in at.items() if k in stars})
    assert ours.output.data == theirs.output.data and ours.output.op == theirs.output.op
    ours.output.backward()
    theirs.output.backward()
    assert {k: v.grad for k, v in ours.variables.items()} == {k: v.grad for k, v in theirs.variables.items()}


def test_caret_against_closed_form_and_mpmath():
    e = parse("L = (y - sigmoid(w*x))^2", w=0.8, x=1.5, y=1.0)
    e.output.backward()
    with mpmath.workdps(50):
        w, x, y = mpmath.mpf("0.8"), mpmath.mpf("1.5"), mpmath.mpf(1)
        h = 1 / (1 + mpmath.exp(-w * x))
        assert e.output.data == pytest.approx(float((y - h) ** 2), rel=1e-15)
        assert e.variables["w"].grad == pytest.approx(float(-2 * (y - h) * h * (1 - h) * x), rel=1e-13)


def test_the_constants_pi_and_e():
    assert CONSTANTS == {"pi": math.pi, "e": math.e}
    got = parse("sin(pi / 6) + e^x * log(e)", x=0.5)
    with mpmath.workdps(50):
        exact = mpmath.sin(mpmath.pi / 6) + mpmath.e ** mpmath.mpf("0.5")
    assert got.output.data == pytest.approx(float(exact), rel=1e-15)
    got.output.backward()
    assert got.variables["x"].grad == pytest.approx(float(mpmath.e ** mpmath.mpf("0.5")), rel=1e-15)  # d e^x/dx
    assert sorted(got.variables) == ["x"]  # constants are not inputs
    area = parse("pi * r^2", r=2.0)
    area.output.backward()
    assert area.output.data == pytest.approx(4 * math.pi, rel=1e-15)
    assert area.variables["r"].grad == pytest.approx(4 * math.pi, rel=1e-15)  # 2 pi r
    leaves = {p.name for p in parse("pi + pi * e", x=1.0).output.parents}
    assert "pi" in leaves


def test_a_given_value_or_an_assignment_wins_over_a_constant():
    assert parse("e * 2", e=3.0).output.data == 6.0
    assert parse("e = 5; e + 1").output.data == 6.0
    assert parse("pi", pi=3.0).variables["pi"].data == 3.0


def test_the_function_table_is_read_from_the_op_table():
    from chainrule.autograd.ops import Op, register

    table = formula_functions()
    assert set(table) == {op.name for op in OPS.values() if op.name is not None}  # every row with a name
    assert {"sum", "max", "min", "leaky_relu", "softplus"} <= set(table)
    assert "neg" not in table and "cross_entropy" not in table
    # A row registered at run time is a formula function at once.
    register(Op("cube", lambda a: a**3, lambda out: (3 * out.parents[0].data ** 2,), ("d a^3/da = 3*a^2",), 1,
                name="cube"))
    try:
        e = parse("cube(x) + 1", x=2.0)
        e.output.backward()
        assert e.output.data == 9.0 and e.variables["x"].grad == 12.0
    finally:
        del OPS["cube"]
    with pytest.raises(ExpressionError, match="unknown function 'cube'"):
        parse("cube(x)", x=2.0)


@pytest.mark.parametrize(
    "source, values, message, line, column",
    [
        ("2w", {"w": 1}, "2w: a number written against a name; to multiply, write 2*w", 1, 2),
        ("y = 3x + 1", {"x": 1}, "write 3*x", 1, 6),
        ("1.5x", {"x": 1}, "write 1.5*x", 1, 4),
        ("1e-3w", {"w": 1}, "write 1e-3*w", 1, 5),
        ("2 * x2w", {"x2w": 1}, None, 0, 0),  # a name with digits inside is a name
        ("a + b + c", {"b": 1}, "no value given for 'a' and 'c'", 1, 1),
        ("z = w*x + b\nL = (y - z)^2", {}, "no value given for 'w', 'x', 'b' and 'y'", 1, 5),
        ("z = q\nq = 1", {}, "no value given for 'q'", 1, 5),  # read before it is assigned
        ("x + y", {"x": 1}, "no value given for 'y'", 1, 5),
        ("x ^ ", {"x": 1}, "cannot read", 1, 5),
        ("x +* 2", {"x": 1}, "cannot read", 1, 4),
        ("1 / x", {"x": 0.0}, "division by zero", 1, 3),
        ("(x + 1)   /   (x - 1)", {"x": 1.0}, "division by zero", 1, 11),
        ("x^-1", {"x": 0.0}, "", 1, 2),  # the caret under ^ itself
        ("x ** 2 - log(x)", {"x": -1.0}, "log", 1, 10),
        ("x % 2", {"x": 1}, "the operator", 1, 3),
        ("x // 2", {"x": 1}, "the operator", 1, 3),
        ("(x +\n  1) @ y", {"x": 1, "y": 1}, "the operator", 2, 6),
        ("x ^ 2 % 3", {"x": 1}, "the operator", 1, 7),  # columns as typed, after ^ became **
        ("'x'", {}, "quotes", 1, 1),
        ('x + "y"', {"x": 1}, "quotes", 1, 5),
        ("max(x)", {"x": 1}, "unknown function 'max'" if "max" not in OPS else "takes 2 arguments", 1, 1),
        ("exp(x, 2)", {"x": 1}, "exp() takes 1 argument, got 2", 1, 1),
    ],
)
def test_every_error_names_its_line_and_column(source, values, message, line, column):
    if message is None:
        assert parse(source, **values).output.data == 2.0
        return
    with pytest.raises(ExpressionError) as info:
        parse(source, **values)
    assert message in info.value.message, info.value.message
    assert (info.value.line, info.value.column) == (line, column), str(info.value)


def test_the_caret_sits_under_the_operator_that_failed():
    with pytest.raises(ExpressionError) as info:
        parse("a = 2 ^ 3\nb = a / (x - 1)", x=1.0)
    error = info.value
    assert error.text == "b = a / (x - 1)" and error.text[error.column - 1] == "/"
    with pytest.raises(ExpressionError) as info:
        parse("y = 2 * x ^ 1e5", x=10.0)
    error = info.value
    assert "overflow" in error.message and error.text[error.column - 1] == "^"


def test_all_missing_values_are_reported_in_the_order_they_are_read():
    with pytest.raises(ExpressionError) as info:
        parse("z = w*x + b; h = sigmoid(z); L = (y - h)^2")
    assert info.value.message == "no value given for 'w', 'x', 'b' and 'y'"


def test_a_chain_at_the_documented_depth_is_read_and_one_more_is_refused():
    """The README says an expression may be 1,000 levels deep, such as 1,000 minus signs (issue 18, 16)."""
    assert parse("-" * MAX_DEPTH + "x", x=2.0).output.data == 2.0
    assert parse("+".join(["x"] * (MAX_DEPTH + 1)), x=1.0).output.data == MAX_DEPTH + 1
    for source, construct in [("-" * (MAX_DEPTH + 1) + "x", "a chain of signs"),
                              ("+".join(["x"] * (MAX_DEPTH + 2)), "a chain of +"),
                              ("*".join(["x"] * (MAX_DEPTH + 2)), "a chain of *"),
                              ("sin(" * 50 + "x" + ")" * 50, None)]:
        if construct is None:
            assert parse(source, x=0.0).output.data == 0.0  # 50 nested calls: well within the limit
            continue
        with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH:,} deep, here {construct}"):
            parse(source, x=1.0)


def test_two_spellings_of_one_name_are_refused():
    """``parse("x", x=1, ｘ=2)`` silently took 2: NFKC makes the fullwidth ｘ an x (issue 18, 17)."""
    with pytest.raises(ExpressionError, match="'x' and 'ｘ' name the same variable 'x'.*given twice"):
        parse("x", **{"x": 1.0, "ｘ": 2.0})
    assert parse("ｘ + 1", x=1.0).output.data == 2.0  # one spelling is fine either way


def test_parse_in_threads_leaves_the_warning_filters_alone():
    """``warnings.catch_warnings`` around ast.parse, from several threads, could turn warnings off for the
    whole process for good (issue 18, 4). parse no longer touches the filters at all."""
    before = list(warnings.filters)
    errors = []

    def work():
        for i in range(300):
            for source in ("1if x else 2", "x + 1", "0x1fx", "'\\d'", f"x * {i}"):
                try:
                    parse(source, x=1.0)
                except ExpressionError:
                    pass
                except Exception as e:  # noqa: BLE001 - any other outcome is the failure reported
                    errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and warnings.filters == before


def test_inputs_that_make_pythons_parser_warn_are_refused_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for source, message in [("1if x else 2", "write 1*if"), ("0x1fx", "write 0x1f*x"),
                                ("'\\d'", "quotes"), ("1_000else", "write 1_000*else")]:
            with pytest.raises(ExpressionError, match=re.escape(message)):
                parse(source, x=1.0)


def test_a_formula_rebuilt_many_times_is_read_once():
    from chainrule.autograd.expr import _read

    source = "sum(" + ", ".join(f"x{i}" for i in range(50)) + ")"
    _read.cache_clear()
    for _ in range(20):
        parse(source, **{f"x{i}": float(i) for i in range(50)})
    assert _read.cache_info().misses == 1 and _read.cache_info().hits == 19
