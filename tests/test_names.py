"""Display names: every node of a graph gets a short, unique, stable name; rules use them."""

from __future__ import annotations

import re

import pytest
from chainrule.autograd import OPS, Value, backward_steps, topological_order
from chainrule.autograd.names import display_names, operand_rule, operand_rules

from chainrule import autograd


def names_of(root: Value) -> dict[Value, str]:
    return display_names(topological_order(root))


def test_unnamed_nodes_get_op_and_counter_and_user_names_are_kept():
    e = autograd.parse("a1 = w1*x + b1; h1 = relu(a1); a2 = w2*h1 + b2; h2 = relu(a2); L = (y - h2)**2",
                       x=1.0, w1=0.5, b1=0.2, w2=1.2, b2=0.1, y=2.0)
    order = topological_order(e.output)
    names = display_names(order)
    shown = [names[n] for n in order]
    assert len(set(shown)) == len(shown)
    # Exercise 5.1 had two "(*)", two "(+)" ... now each op is told apart (parse names its assignments).
    assert [names[n] for n in order if not n.name] == ["mul1", "mul2", "sub1"]
    assert all(names[n] == n.name for n in order if n.name)
    assert [n.name for n in order if not n.name] == [None, None, None]  # Value.name untouched


def test_an_automatic_name_never_equals_a_users_name():
    x = Value(2.0, name="mul1")
    y = Value(3.0, name="mul3")
    out = (x * y) * (x * y) * x
    out.name = "add1"
    names = names_of(out)
    assert sorted(names[n] for n in topological_order(out) if not n.name) == ["mul2", "mul4", "mul5"]
    assert names[x] == "mul1" and names[y] == "mul3" and names[out] == "add1"


def test_names_are_stable_and_constants_are_named():
    def build():
        x = Value(1.5, name="x")
        return ((x * 2.0).tanh() + x.exp()).relu()

    first = [names_of(r)[n] for r in [build()] for n in topological_order(r)]
    second = [names_of(r)[n] for r in [build()] for n in topological_order(r)]
    assert first == second == ["x", "const1", "mul1", "tanh1", "exp1", "add1", "relu1"]


def test_rules_use_the_real_operands_and_never_clash():
    # The example: c = a*b + a. The op table's letters a and b are the user's names here.
    e = autograd.parse("c = a*b + a", a=2.0, b=-3.0)
    steps = list(backward_steps(e.output))
    assert [s.rule for s in steps] == ["d(mul1+a)/dmul1 = 1; d(mul1+a)/da = 1", "d(a*b)/da = b; d(a*b)/db = a"]
    # The same op with the roles swapped: a letter is replaced once, never twice.
    e = autograd.parse("c = b*a", a=2.0, b=-3.0)
    assert next(backward_steps(e.output)).rule == "d(b*a)/db = a; d(b*a)/da = b"


def test_every_op_row_is_written_with_its_operands():
    """For each op of the table: no letter of the table's text is left, only the operands' names."""
    p, q = Value(0.3, name="p"), Value(0.7, name="q")
    made = 0
    for symbol, op in OPS.items():
        parents = [p, q] if op.arity == 2 else [p] if op.arity == 1 else [p, q, Value(0.2, name="r")]
        if symbol == "cross_entropy":
            continue  # its text is written per logit (z_i), with no letters to fill
        if op.params and not op.defaults:  # a ** k: the number is given as a formula gives it
            parents = parents[: op.arity]
            node = autograd.call(op, *parents, 3.0)
        else:
            node = autograd.apply(op, parents)
        names = display_names(topological_order(node))
        texts = operand_rules(node, names)
        assert len(texts) == len(parents), symbol
        for k, text in enumerate(texts):
            letters = re.findall(r"(?<![A-Za-z0-9_])(?:d?)(a|b|ai|an|a1)(?![A-Za-z0-9_])", text)
            assert letters == [], (symbol, text)
            assert f"/d{names[parents[k]]}" in text.replace(" ", ""), (symbol, text)
        made += 1
    assert made >= 15


def test_names_that_are_not_words_are_bracketed_and_x_times_x_reads_once():
    x = Value(2.0, name="my x")
    y = x * x
    names = names_of(y)
    assert operand_rule(y, names) == "d((my x)*(my x))/d(my x) = (my x)"
    s = autograd.sum([Value(1.0, name="u"), Value(2.0, name="v"), Value(3.0, name="w")])
    assert operand_rules(s, names_of(s)) == ("d(u+v+w)/du = 1", "d(u+v+w)/dv = 1", "d(u+v+w)/dw = 1")


@pytest.mark.parametrize("seed", range(20))
def test_display_names_are_unique_on_random_graphs(seed):
    import random

    rng = random.Random(seed)
    leaves = [Value(rng.uniform(0.5, 2.0), name=rng.choice([None, "mul1", "add2", "x", "tanh1"])) for _ in range(4)]
    pool = list(leaves)
    for _ in range(30):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append(rng.choice([a * b, a + b, a.tanh(), b.exp().log(), a - b]))
    order = topological_order(pool[-1])
    names = display_names(order)
    automatic = [names[n] for n in order if not n.name]
    users = {n.name for n in order if n.name}
    assert len(set(automatic)) == len(automatic)
    assert not set(automatic) & users
