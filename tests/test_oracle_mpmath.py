"""Oracle 1: thousands of random graphs against mpmath at 50 significant digits.

The graphs come from ``strategies.graphs``: every op of the engine, number and
Value exponents, plain-number operands on either side, shared subexpressions,
depth up to 50. For each graph the engine runs one ``backward()`` in floats;
the oracle evaluates the same graph data in mpmath and differentiates it in
*forward* mode, independently of our rules:

* each node's local partial derivatives come from ``mpmath.diff``, numerical
  differentiation carried out at 50 digits (mpmath raises its working
  precision and takes a step far below float resolution), of the op written
  with mpmath's own functions; no derivative formula appears here;
* tangents are pushed from the leaves up, one per leaf, so the chain rule is
  applied in the opposite direction from the engine's reverse pass.

Tolerance: every gradient within a relative 1e-9 of mpmath's, with a floor
for gradients that are sums of nearly cancelling paths. The float error of
such a sum scales with S, the sum over paths of |product of edge
derivatives| (the oracle computes S too), not with the small result. So the
check is

    |ours - exact| <= max(1e-9 * |exact|, 1e-13 * S),

the plain relative test for every gradient except cancellations smaller than
1e-4 * S, and an exact one (S = 0: ours must be 0.0) for leaves the output
does not depend on. Every forward value is checked too, within a relative
1e-10 (the output, a sum of the loose ends, relative to the sum of its terms'
sizes).
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import mpmath
from hypothesis import given, settings
from op_cases import CASES
from strategies import MODELS, Const, Graph, Node, build, graphs

DIGITS = 50
GRAPHS = 2_000
RTOL = 1e-9
FLOOR = 1e-13  # times S, the sum of |path products|: the tolerance where paths cancel
VALUE_RTOL = 1e-10

mpf = mpmath.mpf


def _with_params(f: Callable, node: Node) -> Callable:
    """``f`` of the node's operands, with the number the node carries (its ``exponent``) bound after them."""
    if node.exponent is None:
        return f
    k = mpf(node.exponent)
    return lambda *xs: f(*xs, k)


#: Each kind of node in mpmath, from tests/op_cases.py: given the node, a function of its operands.
MP: dict[str, Callable[[Node], Callable]] = {
    key: (lambda node, f=case.mp: _with_params(f, node)) for key, case in CASES.items()
}


def forward_mode(graph: Graph) -> tuple[list, list, list]:
    """Values, gradients d(output)/d(leaf) and path scales S per leaf, all in mpmath.

    Each value carries a tangent vector (its derivative with respect to every
    leaf) and an absolute tangent (the same sum with every local derivative
    replaced by its absolute value, which sums |path products|).
    """
    n = len(graph.leaves)
    values = [mpf(x) for x in graph.leaves]  # floats convert exactly
    tangent = [[mpf(int(i == j)) for j in range(n)] for i in range(n)]
    scale = [row[:] for row in tangent]
    for node in graph.nodes:
        f = MP[node.kind](node)
        args = [mpf(a.value) if isinstance(a, Const) else values[a] for a in node.args]
        values.append(f(*args))
        t = [mpf(0)] * n
        s = [mpf(0)] * n
        for position, a in enumerate(node.args):
            if isinstance(a, Const):
                continue
            if len(args) == 1:
                local = mpmath.diff(f, args[0])
            else:
                local = mpmath.diff(f, tuple(args), tuple(int(k == position) for k in range(len(args))))
            for j in range(n):
                t[j] += local * tangent[a][j]
                s[j] += abs(local) * scale[a][j]
        tangent.append(t)
        scale.append(s)
    return values, tangent[-1], scale[-1]


def size(graph: Graph, values: list, i: int):
    """The scale to judge value ``i`` by: its size, or for the output (a sum) the sum of its terms' sizes."""
    if i == graph.output and graph.nodes[-1].kind == "sum":
        return sum(abs(values[j]) for j in graph.nodes[-1].refs)
    return abs(values[i])


def test_the_mpmath_table_covers_every_modeled_kind():
    assert set(MP) == set(MODELS)


def test_the_oracle_itself_on_a_graph_differentiated_by_hand():
    # f = x*y + sin(x) - y**3 / x, with the leaf x read three times:
    # df/dx = y + cos(x) + y^3 / x^2, df/dy = x - 3 y^2 / x.
    x, y = 1.5, -2.0
    graph = Graph(
        (x, y),
        (Node("*", (0, 1)), Node("sin", (0,)), Node("**k", (1,), 3), Node("/", (4, 0)), Node("+", (2, 3)),
         Node("-", (6, 5))),
    )
    with mpmath.workdps(DIGITS):
        values, grads, scales = forward_mode(graph)
        assert abs(values[-1] - (x * y + mpmath.sin(x) - mpf(y) ** 3 / x)) < mpf(10) ** -45
        assert abs(grads[0] - (y + mpmath.cos(x) + mpf(y) ** 3 / mpf(x) ** 2)) < mpf(10) ** -45
        assert abs(grads[1] - (x - 3 * mpf(y) ** 2 / x)) < mpf(10) ** -45
        # S adds the paths' sizes: |y| + |cos x| + |y^3/x^2| for x, |x| + |3y^2/x| for y.
        assert abs(scales[0] - (abs(y) + abs(mpmath.cos(x)) + abs(mpf(y) ** 3) / x**2)) < mpf(10) ** -45
        assert abs(scales[1] - (abs(x) + 3 * mpf(y) ** 2 / abs(x))) < mpf(10) ** -45


def test_random_graphs_agree_with_mpmath_forward_mode():
    seen = collections.Counter()
    worst = [0.0, 0.0]  # relative error where the relative test governs; error / S

    @settings(max_examples=GRAPHS)
    @given(graphs())
    def check(graph: Graph):
        with mpmath.workdps(DIGITS):
            values, grads, scales = forward_mode(graph)
            built = build(graph)
            built.output.backward()
            for i, (v, exact) in enumerate(zip(built.values, values, strict=True)):
                assert abs(v.data - exact) <= VALUE_RTOL * size(graph, values, i), (i, v.data, exact)
            for i, (leaf, exact, s) in enumerate(zip(built.leaves, grads, scales, strict=True)):
                error = abs(leaf.grad - exact)
                assert error <= max(RTOL * abs(exact), FLOOR * s), (i, leaf.grad, exact, s)
                if exact != 0 and RTOL * abs(exact) >= FLOOR * s:
                    worst[0] = max(worst[0], float(error / abs(exact)))
                worst[1] = max(worst[1], float(error / s) if s else 0.0)
                seen["gradients"] += 1
                seen["S = 0 (no path carries a derivative)"] += s == 0
                seen["under the floor"] += RTOL * abs(exact) < FLOOR * s
        seen["graphs"] += 1
        seen["nodes"] += len(graph.nodes)
        seen["depth 50"] += max(graph.depths()) == 50

    check()
    print(f"\nmpmath oracle at {DIGITS} digits: {dict(seen)}; worst relative error {worst[0]:.2e}, "
          f"worst error / S {worst[1]:.2e}")
    assert seen["graphs"] >= GRAPHS
