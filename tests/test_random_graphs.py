"""The step-through, the paths and the gradient check agree with ``backward()`` on random graphs.

``backward()`` itself is checked against mpmath and PyTorch by the oracle
tests; here the same random graphs (``strategies.graphs``) check that the
other views of the backward pass tell the same story:

* ``backward_steps``: one step per op node, in an order where every node
  comes after all of its children, each edge's arithmetic as recorded, the
  edges applied when the step is yielded, and exactly ``backward()``'s grads
  at the end;
* ``paths``: the same paths as an enumeration written here over the graph's
  data, products that add up to the gradient, ``count_paths`` equal to a
  count made here, ``TooManyPaths`` with that exact count past the limit;
* ``gradcheck``: the analytic column is ``backward()``'s, the numeric column
  a central difference computed here, the verdict follows the thresholds,
  and a wrong gradient (the function changed under the check) is a ``bug``.

The run also proves the strategy does what it claims: every op of the engine
(but the ones ``strategies.SKIPPED`` names), number and Value exponents,
plain numbers on either side, x op x, fan-out of interior nodes, unused
leaves, and depth 50.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import math

from chainrule.autograd import OPS, TooManyPaths, backward_steps, count_paths, gradcheck, paths, topological_order
from chainrule.autograd.gradcheck import BUG_ABOVE, CORRECT_BELOW
from hypothesis import given, settings
from strategies import MAX_DEPTH, MODELS, SKIPPED, Const, Graph, build, graphs, modeled_symbols, unmodeled_ops

GRAPHS = 1_000
PATH_LIMIT = 300  # enumerate paths only where there are at most this many
EPS = 1e-5  # gradcheck's default step


def test_every_engine_op_is_drawn_or_knowingly_skipped():
    # nn registers its fused loss in the engine's table when it is imported; import it if it is there,
    # so the table is complete and the skip list is checked against it.
    if importlib.util.find_spec("chainrule.nn.losses") is not None:
        importlib.import_module("chainrule.nn.losses")
    assert modeled_symbols() <= set(OPS), "a model in tests/strategies.py names an op the engine lacks"
    unmodeled = unmodeled_ops()
    assert unmodeled == {s for s in SKIPPED if s in OPS}, (
        f"ops with no model in tests/strategies.py: {sorted(unmodeled - set(SKIPPED))}"
    )
    for symbol in unmodeled:  # only ops that nn registers may be skipped
        assert OPS[symbol].forward.__module__.startswith("chainrule.nn."), symbol


def my_paths(graph: Graph, values: list, wrt: int) -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
    """Every path from the output down to value ``wrt`` as (value ids, edge locals), from the graph data."""
    n_leaves = len(graph.leaves)
    reaches = [i == wrt for i in range(n_leaves)]  # can value i reach wrt going down?
    for j, node in enumerate(graph.nodes):
        reaches.append(n_leaves + j == wrt or any(reaches[i] for i in node.refs))
    found = []
    stack = [((graph.output,), ())]
    while stack:
        ids, local = stack.pop()
        here = ids[-1]
        if here == wrt:
            found.append((ids, local))
            continue
        derivatives = values[here].local_grads()  # one per parent; a Const operand is a parent too
        for arg, d in zip(graph.nodes[here - n_leaves].args, derivatives, strict=True):
            if not isinstance(arg, Const) and reaches[arg]:
                stack.append((ids + (arg,), local + (d,)))
    return found


def check_steps(graph: Graph, built, grads: dict) -> None:
    """backward_steps against the grads ``backward()`` left (``grads``: Value -> grad)."""
    built.output.zero_grad()
    index = {id(v): i for i, v in enumerate(built.values)}
    readers = collections.defaultdict(set)  # value index -> indices of the nodes that read it
    for j, node in enumerate(graph.nodes):
        for i in node.refs:
            readers[i].add(len(graph.leaves) + j)
    done: set[int] = set()
    count = 0
    for step in backward_steps(built.output):
        assert step.index == count
        count += 1
        node = step.node
        me = index.get(id(node))
        if me is not None:  # a Const's leaf is not in the data; it has no step anyway
            assert readers[me] <= done, "a node's step came before one of its readers' steps"
            done.add(me)
        assert step.upstream == node.grad == grads[node]
        local = node.local_grads()
        assert len(step.edges) == len(node.parents) == len(local)
        last_after = {}
        for edge, parent, d in zip(step.edges, node.parents, local, strict=True):
            assert edge.parent is parent and edge.local == d
            assert edge.contribution == step.upstream * d
            assert edge.after == edge.before + edge.contribution
            if parent in last_after:
                assert edge.before == last_after[parent]  # x*x: the second edge starts where the first ended
            last_after[parent] = edge.after
        for parent, after in last_after.items():
            assert parent.grad == after  # applied when yielded
    assert count == sum(1 for v in grads if v.parents)
    for v, g in grads.items():
        assert v.grad == g, (v, v.grad, g)


def check_paths(graph: Graph, built, seen: collections.Counter) -> None:
    counts = graph.path_counts()
    n_leaves = len(graph.leaves)
    root = built.output
    interior = [n_leaves, n_leaves + len(graph.nodes) // 2] if len(graph.nodes) > 2 else []
    for wrt in list(range(n_leaves)) + interior:
        target = built.values[wrt]
        assert count_paths(root, target) == counts[wrt]
        if counts[wrt] >= 1:
            try:
                paths(root, target, limit=counts[wrt] - 1)
                raise AssertionError("paths() went past its limit")
            except TooManyPaths as e:
                assert e.count == counts[wrt] and e.limit == counts[wrt] - 1 and f"{counts[wrt]:,}" in str(e)
        if counts[wrt] > PATH_LIMIT:
            seen["too many paths"] += 1
            continue
        found = paths(root, target, limit=counts[wrt])
        expected = my_paths(graph, built.values, wrt)
        index = {id(v): i for i, v in enumerate(built.values)}
        got = sorted((tuple(index[id(v)] for v in p.nodes), p.locals) for p in found)
        assert got == sorted(expected)
        for p in found:
            assert p.product == math.prod(p.locals)
        products = [p.product for p in found]
        if wrt < n_leaves:
            scale = math.fsum(abs(x) for x in products)
            grad = built.leaves[wrt].grad
            assert abs(math.fsum(products) - grad) <= max(1e-12 * abs(grad), 1e-13 * scale)
        seen["paths enumerated"] += len(found)


def central_difference(graph: Graph, leaves: list, i: int) -> float:
    """(f(x + eps) - f(x - eps)) / (2 eps) in leaf i, written out here as the oracle for numerical_grad."""
    x = leaves[i].data
    leaves[i].data = x + EPS
    plus = build(graph, leaves).output.data
    leaves[i].data = x - EPS
    minus = build(graph, leaves).output.data
    leaves[i].data = x
    return (plus - minus) / (2 * EPS)


def check_gradcheck(graph: Graph, grads: list[float], seen: collections.Counter) -> None:
    built = build(graph)
    leaves = built.leaves
    report = gradcheck(lambda: build(graph, leaves).output, leaves)
    assert [row.analytic for row in report.rows] == grads
    assert [row.name for row in report.rows] == [leaf.name for leaf in leaves]
    for i, row in enumerate(report.rows):
        assert row.numeric == central_difference(graph, leaves, i)
        a, n = row.analytic, row.numeric
        assert row.rel_error == abs(a - n) / (abs(a) + abs(n) + 1e-8)
        if row.rel_error < CORRECT_BELOW:
            assert row.verdict == "correct"
        else:
            assert row.verdict == ("check" if row.rel_error <= BUG_ABOVE else "bug")
        if row.verdict == "bug":
            # Only where the gradient is 0 (paths that cancel exactly, as in x / x) and the numeric side is
            # the central difference's rounding noise, |f| * 1e-16 / 1e-5: the 1e-8 in the denominator
            # cannot absorb it. Any real disagreement is a failure.
            assert a == 0.0 and abs(n) <= 1e-9 * max(1.0, abs(built.output.data)), (i, a, n)
            seen["gradcheck bug on a zero gradient (rounding noise)"] += 1
        else:
            seen[f"gradcheck {row.verdict}"] += 1
    assert report.ok == all(row.verdict == "correct" for row in report.rows)


def record(graph: Graph, seen: collections.Counter) -> None:
    """What this graph exercises, for the coverage check at the end of the run."""
    depth = max(graph.depths())
    assert depth <= MAX_DEPTH
    seen["depth 50"] += depth == MAX_DEPTH
    n_leaves = len(graph.leaves)
    uses = graph.uses()
    seen["unused leaf"] += any(u == 0 for u in uses[:n_leaves])
    seen["interior fan-out"] += any(u >= 2 for u in uses[n_leaves:])
    for node in graph.nodes:
        seen[node.kind] += 1
        if node.kind == "**k":
            seen["**k int" if isinstance(node.exponent, int) else "**k float"] += 1
        if len(node.args) == 2 and node.args[0] == node.args[1]:
            seen["x op x"] += 1
        if node.args and isinstance(node.args[0], Const):
            seen["number on the left"] += 1
        if len(node.args) > 1 and isinstance(node.args[-1], Const):
            seen["number on the right"] += 1


def test_steps_paths_and_gradcheck_agree_with_backward():
    seen = collections.Counter()

    @settings(max_examples=GRAPHS)
    @given(graphs())
    def check(graph: Graph):
        record(graph, seen)
        built = build(graph)
        for value, node in zip(built.values[len(graph.leaves):], graph.nodes, strict=True):
            assert value.op == MODELS[node.kind].symbol and len(value.parents) == len(node.args)
        built.output.backward()
        grads = {v: v.grad for v in topological_order(built.output)}
        check_steps(graph, built, grads)
        check_paths(graph, built, seen)
        check_gradcheck(graph, [leaf.grad for leaf in built.leaves], seen)
        seen["graphs"] += 1

    check()
    print(f"\nrandom graphs: {dict(sorted(seen.items()))}")
    assert seen["graphs"] >= GRAPHS
    for kind in MODELS:
        assert seen[kind] > 0, kind
    for case in ["**k int", "**k float", "x op x", "number on the left", "number on the right", "unused leaf",
                 "interior fan-out", "depth 50", "too many paths"]:
        assert seen[case] > 0, case
    assert seen["gradcheck correct"] >= 0.99 * (seen["gradcheck correct"] + seen["gradcheck check"])


def test_gradcheck_calls_a_wrong_gradient_a_bug():
    # The function changes under the check: every evaluation after the first (the analytic one)
    # adds c * x_k, so the numeric derivative in x_k is off by c, 1% of the gradient or more.
    @settings(max_examples=200)
    @given(graphs(max_ops=30))
    def check(graph: Graph):
        leaves = build(graph).leaves
        honest = gradcheck(lambda: build(graph, leaves).output, leaves)
        k = max(range(len(leaves)), key=lambda i: abs(honest.rows[i].analytic))
        c = 0.01 * abs(honest.rows[k].analytic) + 0.01
        calls = [0]

        def changed():
            calls[0] += 1
            out = build(graph, leaves).output
            return out if calls[0] == 1 else out + c * leaves[k]

        report = gradcheck(changed, leaves)
        assert report.rows[k].verdict == "bug" and not report.ok
        assert report.rows[k].analytic == honest.rows[k].analytic

    check()
