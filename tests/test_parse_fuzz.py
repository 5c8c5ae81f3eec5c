"""``parse`` under fuzzing: random text, random Python programs, hostile payloads, the size limits.

Whatever the input, exactly two outcomes are allowed: an ``Expression`` or an
``ExpressionError`` (with a 1-based line and column in its message). Never
another exception (no ``RecursionError``, ``MemoryError``, ``SyntaxError``,
``TypeError`` ...), and never a line of the input executed.

"Never executed" is proven with sentinels that record if they are ever
touched, installed around every ``parse`` call:

* a module ``chainrule_sentinel`` in ``sys.modules`` whose ``fire()`` records,
  and which records any attribute read; payloads import it by every route
  (``__import__``, ``import``, ``from ... import``) and call it;
* the value of ``x`` is a ``Value`` whose ``__getattr__`` records: payloads
  reach for ``x.fire``, ``x.__getattr__('fire')``, ``getattr(x, 'fire')``;
* ``eval``, ``exec``, ``__import__`` and ``compile`` in ``builtins`` are
  wrapped to record; ``compile`` may run only as ``ast.parse`` runs it, with
  ``ast.PyCF_ONLY_AST`` (building a syntax tree, no code object).

The payloads are dropped into random text, random token soup and random
abstract syntax trees (rendered with ``ast.unparse``), anywhere in a formula.
"""

from __future__ import annotations

import ast
import builtins
import collections
import contextlib
import math
import sys
import types

import pytest
from chainrule.autograd import Expression, ExpressionError, Value, parse
from chainrule.autograd.expr import MAX_LENGTH, MAX_NESTING
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 1_000

# Python's parser warns (SyntaxWarning) about inputs such as "0x1fx" before it refuses them; here the
# outcome is what is checked, so the warnings are noise.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
FIRED: list[str] = []  # what a sentinel saw; must stay empty


class SentinelModule(types.ModuleType):
    """A module that records every attribute read and every call of ``fire``."""

    def __getattr__(self, name):
        FIRED.append(f"chainrule_sentinel.{name} read")
        return self.fire

    def fire(self, *args, **kwargs):
        FIRED.append("chainrule_sentinel.fire() ran")
        return 0


class SentinelValue(Value):
    """A leaf like any other, except that reaching for an attribute it lacks records."""

    def __getattr__(self, name):
        FIRED.append(f"x.{name} read")
        raise AttributeError(name)


@contextlib.contextmanager
def sentinels():
    """Install the sentinels for the duration of one parse; put everything back after."""
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile", "__import__")}

    def eval_(*args, **kwargs):
        FIRED.append("eval ran")
        return saved["eval"](*args, **kwargs)

    def exec_(*args, **kwargs):
        FIRED.append("exec ran")
        return saved["exec"](*args, **kwargs)

    def compile_(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            FIRED.append("compile made a code object")
        return saved["compile"](source, filename, mode, flags, *args, **kwargs)

    def import_(name, *args, **kwargs):
        if name.startswith("chainrule_sentinel"):
            FIRED.append(f"import {name} ran")
        return saved["__import__"](name, *args, **kwargs)

    sys.modules["chainrule_sentinel"] = SentinelModule("chainrule_sentinel")
    builtins.eval, builtins.exec, builtins.compile, builtins.__import__ = eval_, exec_, compile_, import_
    try:
        yield
    finally:
        builtins.eval, builtins.exec = saved["eval"], saved["exec"]
        builtins.compile, builtins.__import__ = saved["compile"], saved["__import__"]
        del sys.modules["chainrule_sentinel"]


def values() -> dict:
    """The values every fuzzed formula may use: x is the sentinel leaf, the sentinel module is offered too."""
    return {"x": SentinelValue(1.5, name="x"), "y": 2.0, "w": -0.5, "b": 0.25,
            "chainrule_sentinel": sys.modules.get("chainrule_sentinel")}


def outcome(source: str, seen: collections.Counter | None = None) -> Expression | ExpressionError:
    """Parse ``source`` under the sentinels; fail on any outcome but the two allowed."""
    FIRED.clear()
    with sentinels():
        try:
            result = parse(source, **values())
        except ExpressionError as e:
            result = e
    assert FIRED == [], (source, FIRED)
    if isinstance(result, ExpressionError):
        assert result.line >= 1 and result.column >= 1
        assert str(result).endswith(f"(line {result.line}, column {result.column})")
        assert isinstance(result, ValueError)
    else:
        assert isinstance(result, Expression) and isinstance(result.output, Value)
        assert set(result.variables) <= {"x", "y", "w", "b"}
        for leaf in result.variables.values():
            assert leaf.parents == ()
    if seen is not None:
        seen["formulas" if isinstance(result, Expression) else "errors"] += 1
    return result


# --- what gets fuzzed ------------------------------------------------------------------

#: Code that does something observable if any part of it ever runs.
PAYLOADS = [
    "__import__('chainrule_sentinel').fire()",
    "chainrule_sentinel.fire()",
    "chainrule_sentinel.fire",
    "x.fire()",
    "x.__getattr__('fire')",
    "x.__class__.__getattr__(x, 'fire')",
    "getattr(x, 'fire')",
    "eval(\"__import__('chainrule_sentinel').fire()\")",
    "exec('import chainrule_sentinel')",
    "compile('1', 'f', 'eval')",
    "(lambda: __import__('chainrule_sentinel').fire())()",
    "[__import__('chainrule_sentinel').fire() for _ in (1,)]",
    "(z := __import__('chainrule_sentinel').fire())",
    "f\"{__import__('chainrule_sentinel').fire()}\"",
    "x[__import__('chainrule_sentinel').fire()]",
    "().__class__.__base__.__subclasses__()",
    "exp.__globals__['__builtins__']['__import__']('chainrule_sentinel').fire()",
    "sigmoid(x).__class__.__init__.__globals__",
    "breakpoint()",
]
PAYLOAD_STATEMENTS = PAYLOADS + [
    "import chainrule_sentinel",
    "from chainrule_sentinel import fire",
    "@__import__('chainrule_sentinel').fire\ndef f(): pass",
    "class C(__import__('chainrule_sentinel').fire()): pass",
    "chainrule_sentinel.fire() if x else x",
    "x.fire = 1",
    "del x",
    "global x",
    "async def f(): await chainrule_sentinel.fire()",
    "with chainrule_sentinel.fire(): pass",
]

TOKENS = [
    "x", "y", "w", "b", "z", "h", "L", "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs",
    "sum", "foo", "print", "__import__", "__class__", "__dict__", "chainrule_sentinel", "fire", "lambda",
    "import", "def", "yield", "await", "not", "and", "or", "if", "else", "for", "in", "None", "True",
    "0", "1", "2.5", ".5", "5.", "1e308", "1e999", "1e-400", "0x1f", "0b101", "1_000", "1j", "007", "9" * 400,
    "+", "-", "*", "/", "**", "//", "%", "@", "<<", "&", "|", "^", "~", "==", "<", ">=", ":=", "=", "+=",
    "->", ".", ",", ":", ";", "\n", "\r\n", "\r", "(", ")", "[", "]", "{", "}", "'", '"', "'''", "\\", "#",
    "$", "?", "\0", " ", "\t", "\x0c", "\u202e", "\u200f", "\u2028", "\ufeff", "😀", "α", "ℌ", "\ud800",
]

_NAMES = ["x", "y", "w", "b", "q", "exp", "log", "sigmoid", "sum", "foo", "__import__", "chainrule_sentinel",
          "__builtins__"]
_CONSTANTS = [0, 1, 2, -1, 2.5, 1e308, float("inf"), float("nan"), 10**400, 1j, "s", b"b", None, True, ...]
_BINARY = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.MatMult, ast.LShift,
           ast.BitOr, ast.BitAnd, ast.BitXor]
_UNARY = [ast.USub, ast.UAdd, ast.Not, ast.Invert]
# Constructs written as source and parsed, so they are built right on every Python version; HOLE is
# replaced by a random subtree.
_TEMPLATES = [
    "lambda: HOLE", "[HOLE for q in x]", "(HOLE for q in x)", "{HOLE: q for q in x}", "f'{HOLE}'",
    "HOLE if x else y", "HOLE < x <= y", "HOLE and x or y", "[HOLE, x]", "(HOLE, x)", "{HOLE}", "{x: HOLE}",
    "HOLE[x]", "HOLE[1:2]", "HOLE.real", "HOLE.__class__", "[*HOLE]", "(yield HOLE)", "await HOLE",
    "exp(HOLE, q=1)", "sum(*HOLE)", "(q := HOLE)",
]
_STATEMENT_TEMPLATES = [
    "HOLE", "z = HOLE", "h = HOLE", "x = HOLE", "exp = HOLE", "a.b = HOLE", "a[0] = HOLE", "a, q = HOLE",
    "z = q = HOLE", "z += HOLE", "z: float = HOLE", "assert HOLE", "if HOLE: pass", "while HOLE: pass",
    "raise HOLE", "return HOLE", "for q in HOLE: pass", "def f(q=HOLE): pass", "del z", "pass", "global z",
    "import os", "from os import path", "try:\n    HOLE\nexcept Exception: pass",
]


class _Fill(ast.NodeTransformer):
    def __init__(self, subtree: ast.AST):
        self.subtree = subtree

    def visit_Name(self, node: ast.Name):
        return self.subtree if node.id == "HOLE" else node


def _template(source: str, subtree: ast.AST, mode: str):
    tree = ast.parse(source, mode=mode)
    return _Fill(subtree).visit(tree)


def _leaf_expression():
    return st.one_of(
        st.sampled_from(_NAMES).map(lambda n: ast.Name(n, ast.Load())),
        st.sampled_from(_CONSTANTS).map(ast.Constant),
        st.floats(allow_nan=True, allow_infinity=True).map(ast.Constant),
        st.sampled_from(PAYLOADS).map(lambda p: ast.parse(p, mode="eval").body),
    )


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(lambda t: ast.BinOp(t[0], t[1](), t[2])),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: ast.UnaryOp(t[0](), t[1])),
        st.tuples(st.sampled_from(_NAMES), st.lists(children, max_size=3)).map(
            lambda t: ast.Call(ast.Name(t[0], ast.Load()), t[1], [])
        ),
        st.tuples(st.sampled_from(_TEMPLATES), children).map(lambda t: _template(t[0], t[1], "eval").body),
        children.map(lambda c: ast.Starred(c, ast.Load())),  # *x where no star may stand
    )


EXPRESSIONS = st.recursive(_leaf_expression(), _extend, max_leaves=40)


@st.composite
def programs(draw) -> str:
    """A random Python module: statements from templates around random expressions, rendered to source."""
    body = []
    for _ in range(draw(st.integers(1, 4))):
        template = draw(st.sampled_from(_STATEMENT_TEMPLATES))
        body.extend(_template(template, draw(EXPRESSIONS), "exec").body)
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=body, type_ignores=[])))


@st.composite
def token_soup(draw) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS + PAYLOAD_STATEMENTS), max_size=40))
    return draw(st.sampled_from(["", " "])).join(tokens)


@st.composite
def with_payload(draw) -> str:
    """A plausible formula with a payload spliced in at a random place."""
    formula = draw(st.sampled_from(
        ["z = w*x + b; h = sigmoid(z); L = (y - h)**2", "exp(x) * sin(y) / (1 + w)", "sum(x, y, w, b) ** 2"]
    ))
    at = draw(st.integers(0, len(formula)))
    return formula[:at] + draw(st.sampled_from(PAYLOAD_STATEMENTS)) + formula[at:]


@st.composite
def deep(draw) -> str:
    """One construct repeated up to 12,000 times: deep nesting and long chains, under and over the limits."""
    opener, closer = draw(st.sampled_from([
        ("(", ")"), ("[", "]"), ("{", "}"), ("exp(", ")"), ("-", ""), ("~", ""), ("not ", ""), ("x**", ""),
        ("x+", ""), ("x/", ""), ("lambda:", ""), ("(\n", "\n)"), ("(q:=", ")"), ("f'{", "}'"),
        ("x if x else ", ""), ("sigmoid(", ")"), ("[x,", "]"), ("\\\n", ""), ("x;", ""), ("\n", ""),
        ("a=", ""),
    ]))
    edges = [99, 100, 101, 199, 200, 201, 1000, 4999, 5000]
    n = draw(st.one_of(st.integers(0, 12_000), st.sampled_from(edges)))
    return opener * n + "x" + closer * n


def _fuzz(strategy, examples: int = EXAMPLES, one=None) -> collections.Counter:
    """Run ``one(source, seen)`` (by default ``outcome``) on ``examples`` drawn sources; return the tally."""
    one = outcome if one is None else one
    seen = collections.Counter()

    @settings(
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(strategy)
    def check(source: str):
        one(source, seen)

    check()
    return seen


def test_the_sentinels_do_fire_when_code_runs():
    # If the sentinels could not see code run, the fuzzing below would prove nothing.
    FIRED.clear()
    with sentinels():
        builtins.eval("__import__('chainrule_sentinel').fire()")
        x = values()["x"]
        with pytest.raises(AttributeError):
            x.fire  # noqa: B018 - the read is the point
        builtins.exec(builtins.compile("import chainrule_sentinel", "<payload>", "exec"))
    assert FIRED == [
        "eval ran", "import chainrule_sentinel ran", "chainrule_sentinel.fire() ran", "x.fire read",
        "compile made a code object", "exec ran", "import chainrule_sentinel ran",
    ]
    assert builtins.eval is eval and "chainrule_sentinel" not in sys.modules  # put back


def test_every_payload_alone_is_refused_and_inert():
    for source in PAYLOAD_STATEMENTS:
        assert isinstance(outcome(source), ExpressionError), source


def test_random_text():
    seen = _fuzz(st.text(max_size=300))
    print(f"\nrandom text: {dict(seen)}")


def test_random_token_soup():
    seen = _fuzz(token_soup())
    print(f"\ntoken soup: {dict(seen)}")
    assert seen["formulas"] > 0 and seen["errors"] > 0  # the soup hits both outcomes


def test_random_python_programs():
    seen = _fuzz(programs())
    print(f"\nrandom programs: {dict(seen)}")


# --- random formulas inside the grammar: parse must build exactly the formula written -----------------

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_MATH = {
    "exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin, "cos": math.cos, "sqrt": math.sqrt,
    "abs": abs, "relu": lambda a: max(a, 0.0), "sigmoid": lambda a: 1.0 / (1.0 + math.exp(-a)),
}


def _grammar_extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(list(_OPERATORS)), children).map(
            lambda t: ast.BinOp(t[0], t[1](), t[2])
        ),
        st.tuples(st.sampled_from([ast.USub, ast.UAdd]), children).map(lambda t: ast.UnaryOp(t[0](), t[1])),
        st.tuples(st.sampled_from(sorted(_MATH)), children).map(
            lambda t: ast.Call(ast.Name(t[0], ast.Load()), [t[1]], [])
        ),
        st.lists(children, min_size=1, max_size=4).map(
            lambda xs: ast.Call(ast.Name("sum", ast.Load()), xs, [])
        ),
    )


GRAMMAR_EXPRESSIONS = st.recursive(
    st.one_of(
        st.sampled_from(["x", "y", "w", "b"]).map(lambda n: ast.Name(n, ast.Load())),
        st.sampled_from([0, 1, 2, 3, 0.5, 1.5, 10, 1e-3]).map(ast.Constant),
    ),
    _grammar_extend,
    max_leaves=25,
)


@st.composite
def grammar_programs(draw) -> tuple[str, ast.Module]:
    """``a0 = ...; a1 = ...; <expression>``: later statements may read earlier names."""
    body = []
    names = []
    for i in range(draw(st.integers(0, 3))):
        body.append(ast.Assign([ast.Name(f"a{i}", ast.Store())], draw(_with_names(names))))
        names.append(f"a{i}")
    body.append(ast.Expr(draw(_with_names(names))))
    module = ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))
    return ast.unparse(module), module


def _with_names(names: list[str]):
    if not names:
        return GRAMMAR_EXPRESSIONS
    earlier = st.sampled_from(names).map(lambda n: ast.Name(n, ast.Load()))
    return st.one_of(GRAMMAR_EXPRESSIONS, earlier, st.tuples(earlier, GRAMMAR_EXPRESSIONS).map(
        lambda t: ast.BinOp(t[0], ast.Mult(), t[1])
    ))


def _evaluate(node: ast.AST, env: dict) -> float:
    """The formula's value in plain floats, by a separate reading of the tree (the oracle for parse)."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _evaluate(node.left, env), _evaluate(node.right, env)
        op = _OPERATORS[type(node.op)]
        if op == "**":
            return math.pow(a, b)  # raises where the engine must refuse: 0 ** -1, (-8) ** 0.5
        return {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    if isinstance(node, ast.Call):
        args = [_evaluate(a, env) for a in node.args]
        if node.func.id == "sum":
            return math.fsum(args)
        return _MATH[node.func.id](*args)
    raise AssertionError(ast.dump(node))


def test_random_formulas_in_the_grammar_build_what_they_say():
    seen = collections.Counter()
    given_values = {name: float(v) for name, v in values().items() if name in {"x", "y", "w", "b"}}

    @settings(max_examples=EXAMPLES)
    @given(grammar_programs())
    def check(program):
        source, module = program
        env = dict(given_values)
        try:
            for statement in module.body:
                value = _evaluate(statement.value, env)
                if isinstance(statement, ast.Assign):
                    env[statement.targets[0].id] = value
            expected = value
        except (ValueError, ArithmeticError):
            expected = None  # a domain error at these values: the engine must say so too
        result = outcome(source)
        if expected is None:
            assert isinstance(result, ExpressionError), source
            seen["domain errors"] += 1
        elif isinstance(result, ExpressionError):
            # Only where plain floats went out of range on the way (an overflow to inf, then inf - inf ...)
            # may the engine refuse a formula plain floats could compute.
            assert not math.isfinite(expected) or "overflow" in result.message, (source, result)
            seen["refused, out of float range"] += 1
        else:
            got = result.output.data
            assert got == expected or math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12) or (
                math.isnan(got) and math.isnan(expected)
            ), (source, got, expected)
            seen["formulas"] += 1

    check()
    print(f"\ngrammar formulas: {dict(seen)}")
    assert seen["formulas"] >= EXAMPLES // 2


def test_formulas_with_payloads_spliced_in():
    seen = _fuzz(with_payload(), examples=500)
    print(f"\nspliced payloads: {dict(seen)}")


def test_deep_and_long_constructs():
    seen = _fuzz(deep(), examples=400)
    print(f"\ndeep and long: {dict(seen)}")


# --- the limits ------------------------------------------------------------------------------


def test_a_formula_of_exactly_the_length_limit_is_read():
    terms = (MAX_LENGTH - len("sum()") + 1) // 2  # "sum(" + "x," * (terms - 1) + "x)"
    source = "sum(" + ",".join(["x"] * terms) + ")"
    assert len(source) == MAX_LENGTH == 10_000
    assert parse(source, x=0.5).output.data == 0.5 * terms


def test_one_character_over_the_length_limit_says_so():
    source = "sum(" + ",".join(["x"] * ((MAX_LENGTH - 4) // 2)) + ") "
    assert len(source) == MAX_LENGTH + 1
    with pytest.raises(ExpressionError) as info:
        parse(source, x=0.5)
    assert "10,001 characters" in str(info.value) and "limit is 10,000" in str(info.value)


@pytest.mark.parametrize("brackets", ["()", "[]", "{}"])
def test_nesting_one_level_over_the_limit_says_so(brackets):
    opener, closer = brackets
    source = "(" * MAX_NESTING + opener + "x" + closer + ")" * MAX_NESTING
    with pytest.raises(ExpressionError) as info:
        parse(source, x=1.0)
    assert f"nested more than {MAX_NESTING} levels" in str(info.value) and MAX_NESTING == 100
    assert info.value.column == MAX_NESTING + 1  # the caret goes under the bracket that is one too many


def test_nesting_at_the_limit_is_read():
    assert parse("(" * 100 + "x" + ")" * 100, x=3.0).output.data == 3.0
    expected = 0.5
    for _ in range(100):
        expected = math.sin(expected)
    assert parse("sin(" * 100 + "x" + ")" * 100, x=0.5).output.data == expected


def test_nesting_over_the_limit_across_lines_says_so():
    source = "(\n" * (MAX_NESTING + 1) + "x" + "\n)" * (MAX_NESTING + 1)
    with pytest.raises(ExpressionError) as info:
        parse(source, x=1.0)
    assert f"nested more than {MAX_NESTING} levels" in str(info.value)
