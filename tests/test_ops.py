"""Every op's forward value and local derivatives against independent oracles, driven by the op table.

The cases come from tests/op_cases.py: each row of the table has a domain to
draw from and its math written in mpmath, with its derivatives in closed form.
Hypothesis draws points; each op's ``local_grads`` must agree with the closed
form, with mpmath's own numerical differentiation at 50 digits, and with a
central difference of our float forward. The row's ``formula`` and
``derivatives`` strings, evaluated in mpmath, must say the same. A test checks
every row has a case, so a new op without one fails here.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
import pickle
import re
from pathlib import Path

import mpmath
import pytest
from chainrule.autograd import OPS, CompileError, Op, Replay, Value
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import CASES, engine_keys

from chainrule import autograd

mpmath.mp.dps = 50


def test_every_op_in_the_table_has_a_case():
    assert set(CASES) == engine_keys()


def _drawn(case):
    """A strategy for (inputs, params) of a case."""
    params = st.tuples(*case.param_domains) if case.param_domains else st.just(case.params)
    return st.tuples(st.tuples(*case.domains), params)


def _node(case, point, params):
    leaves = [Value(v) for v in point]
    return leaves, case.build(*leaves, *params)


def mp_partial(f, point: list[float], i: int):
    """d f / d x_i at ``point`` by mpmath's numerical differentiation at 50 digits."""

    def along(t):
        args = [mpmath.mpf(v) for v in point]
        args[i] = t
        return f(*args)

    return mpmath.diff(along, mpmath.mpf(point[i]))


def close(ours: float, exact, rel: float = 1e-12, floor: float = 1e-300) -> bool:
    exact = float(exact)
    return abs(ours - exact) <= rel * max(abs(exact), floor) + 1e-300


@pytest.mark.parametrize("key", sorted(CASES))
def test_forward_and_local_grads_match_mpmath(key):
    case = CASES[key]

    @settings(max_examples=60)
    @given(_drawn(case))
    def check(drawn):
        point, params = drawn
        leaves, node = _node(case, point, params)
        assert node.op == case.row.symbol
        assert node.parents == tuple(leaves)
        assert autograd.row_of(node) is case.row and autograd.node_params(node) == tuple(params)
        exact = (lambda *xs: case.mp(*xs, *params))
        assert close(node.data, exact(*point), rel=1e-14)
        local = node.local_grads()
        assert len(local) == len(leaves)
        closed = case.closed(*[mpmath.mpf(v) for v in point], *params)
        for i, d in enumerate(local):
            expected = mp_partial(exact, list(point), i)
            assert abs(d - float(expected)) <= 1e-10 * max(1.0, abs(float(expected))), (key, point, i)
            assert abs(d - float(closed[i])) <= 1e-10 * max(1.0, abs(float(closed[i]))), (key, point, i, d, closed[i])

    check()


@pytest.mark.parametrize("key", sorted(CASES))
def test_local_grads_match_central_differences(key):
    case = CASES[key]

    @settings(max_examples=40)
    @given(_drawn(case))
    def check(drawn):
        point, params = drawn
        leaves, node = _node(case, point, params)
        local = node.local_grads()
        for i in range(len(point)):
            h = 1e-6 * max(1.0, abs(point[i]))
            up = list(point)
            down = list(point)
            up[i] += h
            down[i] -= h
            f_up = _node(case, up, params)[1].data
            f_down = _node(case, down, params)[1].data
            numeric = (f_up - f_down) / (up[i] - down[i])
            scale = max(1.0, abs(numeric), abs(node.data))
            assert abs(local[i] - numeric) <= 1e-5 * scale, (key, point, i, local[i], numeric)

    check()


# --- the row's formula strings, read by an evaluator of our own over mpmath ------------------------


def evaluate(source: str, names: dict):
    """``source`` in the formula language (``^`` is power) evaluated in mpmath.

    Functions are the cases' own mpmath forwards, found by the row's formula
    name, so the strings are checked against math the engine did not write.
    """
    functions = {case.row.name: case.mp for case in CASES.values() if case.row.name}
    tree = ast.parse(source.replace("^", "**"), mode="eval").body

    def walk(node):
        if isinstance(node, ast.Constant):
            return mpmath.mpf(node.value)
        if isinstance(node, ast.Name):
            return names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            ops = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
                   ast.Div: lambda: left / right, ast.Pow: lambda: mpmath.power(left, right)}
            return ops[type(node.op)]()
        if isinstance(node, ast.Call):
            return functions[node.func.id](*[walk(arg) for arg in node.args])
        raise AssertionError(f"not in the formula language: {ast.dump(node)}")

    return walk(tree)


@pytest.mark.parametrize("key", sorted(k for k in CASES if CASES[k].row.arity != -1))
def test_the_rows_formula_and_derivative_strings_say_the_same_math(key):
    case = CASES[key]
    row = case.row
    assert row.formula is not None and len(row.derivatives) == row.arity

    @settings(max_examples=30)
    @given(_drawn(case))
    def check(drawn):
        point, params = drawn
        xs = [mpmath.mpf(v) for v in point]
        ks = [mpmath.mpf(p) for p in params]
        names = dict(zip("ab", xs, strict=False)) | dict(zip(row.params, ks, strict=True))
        out = case.mp(*xs, *ks)
        assert close(float(evaluate(row.formula, names)), out, rel=1e-30, floor=1e-300), (key, point)
        names["out"] = out
        closed = case.closed(*xs, *ks)
        for i, formula in enumerate(row.derivatives):
            got = evaluate(formula, names)
            assert abs(got - closed[i]) <= mpmath.mpf(10) ** -40 * max(1, abs(closed[i])), (key, i, point, got)

    check()


def test_the_nary_rows_derivative_is_one_string_for_every_term():
    row = OPS["sum"]
    assert row.derivatives == ("1",) and "an" in row.formula
    assert [float(d) for d in CASES["sum"].closed(*[mpmath.mpf(v) for v in (1.0, 2.0, 3.0)])] == [1.0] * 3


def test_every_unary_row_has_a_value_method_and_every_named_row_an_autograd_function():
    for key in engine_keys():
        row = OPS[key]
        if row.arity == 1:
            assert row.method and callable(getattr(Value, row.method, None)), key
        if row.name is not None:
            function = getattr(autograd, row.name)
            case = CASES[key]
            leaves = [Value(0.75) for _ in range(max(row.arity, 2) if row.arity == -1 else row.arity)]
            node = function(leaves) if row.arity == -1 else function(*leaves, *case.params)
            assert autograd.row_of(node) is row, key
    named = autograd.formula_functions()
    assert set(named) == {OPS[k].name for k in engine_keys() | {"cross_entropy"} if OPS[k].name}
    assert all(named[name].name == name for name in named)


def test_number_exponent_is_part_of_the_op():
    x = Value(3.0)
    y = x**2
    assert y.op == "**" and y.parents == (x,)
    assert y.local_grads() == (6.0,)
    assert autograd.rule_text(y) == "d(a**2)/da = 2*a^1"
    assert autograd.power_exponent(y) == 2.0
    z = x**-0.5
    assert z.local_grads()[0] == pytest.approx(-0.5 * 3.0**-1.5, rel=1e-15)
    assert (x**0).local_grads() == (0.0,)


def test_rule_text_for_every_op_names_its_inputs():
    for op in OPS.values():
        assert op.text, op.key
        for line in op.text:
            assert line.startswith("d") and "=" in line, line
    a, b = Value(2.0), Value(5.0)
    assert autograd.rule_text(a * b) == "d(a*b)/da = b; d(a*b)/db = a"
    assert autograd.rule_text(a.tanh()) == "d tanh(a)/da = 1 - tanh(a)^2"
    assert autograd.rule_text(a) == ""


def test_register_refuses_a_second_row_for_a_symbol():
    with pytest.raises(ValueError, match="already registered"):
        autograd.register(OPS["+"])


def test_sigmoid_is_stable_far_out():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-745.0).sigmoid().data == pytest.approx(math.exp(-745.0), rel=1e-6)
    assert Value(-1000.0).sigmoid().local_grads() == (0.0,)


def test_kinks_use_the_subgradient_pytorch_uses():
    assert Value(0.0).relu().local_grads() == (0.0,)
    assert abs(Value(0.0)).local_grads() == (0.0,)
    assert Value(0.0).sqrt().local_grads() == (math.inf,)


# --- an op registered at run time works everywhere at once -------------------------------------------


def _cube(a: float) -> float:
    return a * a * a


def _cube_rule(out):
    a = out.parents[0].data
    return (3.0 * a * a,)


@pytest.fixture
def registered():
    """Register rows for the test, and take them out of the table (and Value) again afterwards."""
    added = []

    def add(row: Op) -> Op:
        added.append(autograd.register(row))
        return row

    yield add
    for row in added:
        del OPS[row.key]
        if row.method and row.method in Value.__dict__:
            delattr(Value, row.method)


def test_an_op_registered_at_run_time_works_everywhere(registered):
    cube = registered(Op(
        "cube", _cube, _cube_rule, ("d cube(a)/da = 3*a^2",), 1, "cube(a)", ("3*a^2",), name="cube", method="cube",
        replay=Replay(lambda np, x, k: x[0] ** 3, lambda np, x, k, out: (3.0 * x[0] ** 2,)),
    ))
    assert autograd.formula_functions()["cube"] is cube
    x = Value(1.5, name="x")
    y = x.cube() * x  # the Value method the row asked for; y = x^4
    assert y.parents[0].op == "cube" and autograd.call(cube, 2.0).data == 8.0
    assert autograd.apply(cube, [x]).data == 1.5**3
    y.backward()
    assert x.grad == 4 * 1.5**3  # closed form of d(x^4)/dx
    steps = list(autograd.backward_steps(y))
    assert steps[-1].rule == "d cube(x)/dx = 3*x^2" and steps[-1].edges[0].local == 3 * 1.5**2
    found = autograd.paths(y, x)
    assert len(found) == 2 and math.fsum(p.product for p in found) == pytest.approx(4 * 1.5**3, rel=1e-15)
    assert autograd.gradcheck(lambda: x.cube() * x, [x]).ok
    tape = autograd.compile(y, [x])
    x.data = -2.0
    assert tape() == 16.0 and x.grad == 4 * (-2.0) ** 3
    from chainrule.viz import to_dot

    assert "cube" in to_dot(y).source


def test_a_registered_op_without_a_replay_is_refused_by_compile_by_name(registered):
    registered(Op("cube", _cube, _cube_rule, ("d cube(a)/da = 3*a^2",), 1, name="cube"))
    x = Value(2.0)
    y = autograd.call(OPS["cube"], x) + 1
    y.backward()
    assert x.grad == 12.0
    with pytest.raises(CompileError, match="'cube'.*no numpy replay"):
        autograd.compile(y, [x])


def test_register_refuses_an_incomplete_row():
    with pytest.raises(ValueError, match="1 line"):
        autograd.register(Op("twice", lambda a: 2 * a, lambda out: (2.0,), (), 1))
    with pytest.raises(ValueError, match="derivative formula"):
        autograd.register(Op("twice", lambda a: 2 * a, lambda out: (2.0,), ("d(2a)/da = 2",), 1, "2*a", ()))
    with pytest.raises(ValueError, match="named 'exp' already"):
        autograd.register(Op("exp2", lambda a: a, lambda out: (1.0,), ("d/da = 1",), 1, name="exp"))
    assert "twice" not in OPS and "exp2" not in OPS


def test_params_take_their_defaults_and_must_be_numbers():
    x = Value(-2.0)
    assert x.leaky_relu().data == -0.02 and autograd.node_params(x.leaky_relu()) == (0.01,)
    assert autograd.leaky_relu(x, 0.5).data == -1.0
    assert autograd.rule_text(x.leaky_relu(0.2)) == "d leaky_relu(a, 0.2)/da = 1 if a > 0 else 0.2"
    with pytest.raises(TypeError, match="slope of op 'leaky_relu' must be a number"):
        x.leaky_relu(Value(0.1))
    with pytest.raises(TypeError, match="leaky_relu\\(\\) takes 1 to 2 argument"):
        autograd.call(OPS["leaky_relu"], x, 0.1, 0.2)


def test_max_and_min_split_a_tie_evenly_as_torch_does():
    a, b = Value(2.0), Value(2.0)
    assert autograd.max(a, b).local_grads() == (0.5, 0.5)
    assert autograd.min(a, b).local_grads() == (0.5, 0.5)
    assert autograd.max(a, Value(1.0)).local_grads() == (1.0, 0.0)
    assert autograd.min(a, Value(1.0)).local_grads() == (0.0, 1.0)
    s = autograd.max(a, b) + autograd.min(a, b)  # = a + b: slope 1 in each, at the tie too
    s.backward()
    assert (a.grad, b.grad) == (1.0, 1.0)


# --- the ends of the float range: every rule, the three ways of running it -------------------------------

#: 1e-308 and its neighbours, the largest floats, subnormals and signed zeros, and two ordinary numbers.
EXTREMES = [1e-308, -1e-308, 2.5e-308, 1e308, -1e308, 5e-324, -5e-324, 1e-310, 0.0, -0.0, 1.0, -2.5]
EXPONENTS = [-308.0, -1.0, -0.5, 0.5, 2.0, 3.0, 1e-308, 400.0]


def _extreme_points(case):
    n = 2 if case.row.arity == -1 else case.arity
    for xs in itertools.product(EXTREMES, repeat=n):
        if case.key == "**k":
            for k in EXPONENTS:
                yield xs, (k,)
        else:
            yield xs, case.params


def _outcome(run):
    try:
        return run()
    except (ArithmeticError, ValueError) as e:
        return e


def _same_outcome(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    return all(x == y or (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-12 * max(abs(x), abs(y))
               for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("key", sorted(CASES))
def test_every_rule_at_the_ends_of_the_float_range_fails_only_with_the_contracts_errors(key):
    case = CASES[key]
    checked = 0
    for xs, params in _extreme_points(case):
        leaves = [Value(x) for x in xs]
        made = _outcome(lambda leaves=leaves, params=params: case.build(*leaves, *params))
        if isinstance(made, Exception):
            continue  # the forward refused: test_numeric_edges holds those errors to the contract
        node = made
        local = _outcome(node.local_grads)
        if isinstance(local, Exception):
            # never a bare ZeroDivisionError or "math range error": an OverflowError naming the rule and values
            assert isinstance(local, OverflowError), (key, xs, params, local)
            assert "local derivative" in str(local) and "overflows" in str(local), str(local)
            assert any(f"{x:.6g}" in str(local) for x in xs + tuple(params)), str(local)

        def dynamic(node=node, leaves=leaves):
            for leaf in leaves:
                leaf.grad = 0.0
            node.backward()
            return [leaf.grad for leaf in leaves]

        def stepped(node=node, leaves=leaves):
            for leaf in leaves:
                leaf.grad = 0.0
            list(autograd.backward_steps(node))
            return [leaf.grad for leaf in leaves]

        def compiled(node=node, leaves=leaves):
            autograd.compile(node, leaves)()
            return [leaf.grad for leaf in leaves]

        first = _outcome(dynamic)
        assert isinstance(first, Exception) == isinstance(local, Exception), (key, xs, params, first)
        for other in (stepped, compiled):
            again = _outcome(other)
            assert _same_outcome(first, again), (key, xs, params, other.__name__, first, again)
        checked += 1
    assert checked > 0


@pytest.mark.parametrize(
    "build, word",
    [
        (lambda: Value(1.0) / Value(1e-170), "a/b"),  # -a/b^2 = -1e340
        (lambda: Value(2.0) / Value(1e-200), "a/b"),
        (lambda: Value(0.1) ** -308, "a**k"),  # -308 * 0.1^-309
        (lambda: Value(1e-300) ** -1.0, "a**k"),
        (lambda: Value(1e-300) ** Value(-1.0), "a**b"),
        (lambda: Value(5e-324).log(), "log"),  # 1/a
    ],
)
def test_a_derivative_too_big_for_a_float_is_an_overflow_error_in_every_pass(build, word):
    out = build()
    errors = []
    for run in (out.backward, lambda: list(autograd.backward_steps(out)),
                lambda: autograd.compile(out, [p for p in out.parents if p.is_leaf])()):
        with pytest.raises(OverflowError, match="local derivative") as info:
            run()
        errors.append(str(info.value))
    assert word in errors[0] and len(set(errors)) == 1, errors


def test_a_division_whose_b_squared_underflows_still_differentiates():
    a, b = Value(1e-200), Value(1e-170)  # b*b underflows to 0, yet -a/b^2 = -1e140 is a fine float
    out = a / b
    out.backward()
    assert b.grad == pytest.approx(-1e140, rel=1e-15) and a.grad == pytest.approx(1e170, rel=1e-15)


@pytest.mark.parametrize("k", [math.inf, -math.inf, math.nan])
def test_powers_by_inf_and_nan_have_rule_text_and_steps(k):
    x = Value(0.5)
    out = x**k
    assert autograd.rule_text(out).startswith(f"d(a**{k!r})/da = {k!r}*a^")
    (step,) = list(autograd.backward_steps(out))
    out.backward()
    # the step writes the same rule with the real operand (here the unnamed leaf, const1) for the letter a
    assert step.rule == f"d(const1**{k!r})/dconst1 = {k!r}*const1^{k - 1!r}"
    assert (math.isnan(x.grad) and math.isnan(step.edges[0].local)) or x.grad == step.edges[0].local


# --- copying and pickling a deep graph ------------------------------------------------------------------


def _chain(depth: int):
    x = Value(0.5, name="x")
    y = x
    for i in range(depth):
        y = (y * 1.0001).tanh() if i % 2 else y + x
    return x, y


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_5000_deep_graph_pickles_and_deep_copies(how):
    x, y = _chain(5000)
    y.backward()
    copied = pickle.loads(pickle.dumps(y)) if how == "pickle" else copy.deepcopy(y)
    order = autograd.topological_order(copied)
    assert len(order) == len(autograd.topological_order(y))
    (leaf,) = [v for v in order if v.is_leaf and v.name == "x"]
    assert leaf is not x and leaf.data == 0.5 and leaf.grad == x.grad  # grads are copied too
    leaf.grad = 0.0
    copied.backward()
    assert leaf.grad == x.grad
    assert autograd.rule_text(order[-1]) == autograd.rule_text(y)


# --- docs/ops.md -------------------------------------------------------------------------------------

PAGE = Path(__file__).resolve().parent.parent / "docs" / "ops.md"


def test_the_ops_page_lists_every_row_with_its_rule():
    pytest.importorskip("chainrule.nn")  # nn's cross_entropy is a row of the table too
    page = PAGE.read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for key, op in OPS.items():
        (line,) = [r for r in rows if r.startswith(f"| `{key}` |")]
        for text in op.text:
            assert "`" + text.replace("|", "\\|") + "`" in line, (key, text)
        for formula in op.derivatives or ():
            assert f"`{formula}`" in line, (key, formula)


def test_the_ops_pages_snippets_run():
    page = PAGE.read_text(encoding="utf-8")
    snippets = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(snippets) >= 4
    before = set(OPS)
    for i, code in enumerate(snippets):
        exec(compile(code, f"docs/ops.md snippet {i + 1}", "exec"), {})  # noqa: S102 - our own page's examples
    assert set(OPS) == before  # the register example tidies up after itself
