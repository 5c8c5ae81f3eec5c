"""W2-W4: a deep chain, a wide sum, and the memory a node costs, in both engines.

Each function here builds one graph, runs backward, and returns what it
measured as plain data; ``benchmarks.worker`` runs it in a fresh process so a
crash, a RecursionError or a slow run cannot take the whole benchmark down.

micrograd 0.1.0 has no tanh, so ``_micrograd_tanh`` adds one the way
micrograd writes every op: a new Value whose ``_backward`` closure adds
the local derivative times ``out.grad`` into its input.
"""

from __future__ import annotations

import math
import random
import time
import tracemalloc

from chainrule.autograd import Value

from chainrule import autograd


def _micrograd_tanh(v):
    from micrograd.engine import Value as MValue

    t = math.tanh(v.data)
    out = MValue(t, (v,), "tanh")

    def _backward():
        v.grad += (1.0 - t * t) * out.grad

    out._backward = _backward
    return out


def chain_expected_grad(n: int, x: float = 0.5) -> float:
    """d y_n / d x for y_{i+1} = tanh(1.01 y_i + 0.01), by a plain float loop: the oracle."""
    grad, y = 1.0, x
    for _ in range(n):
        y = math.tanh(y * 1.01 + 0.01)
        grad *= (1.0 - y * y) * 1.01
    return grad


def deep_chain(engine: str, n: int) -> dict:
    """W2: y = tanh(y * 1.01 + 0.01) n times, then backward; time for both, and the gradient."""
    if engine == "chainrule":
        x = Value(0.5)
        tanh = Value.tanh
    else:
        from micrograd.engine import Value as MValue

        x = MValue(0.5)
        tanh = _micrograd_tanh
    start = time.perf_counter()
    y = x
    for _ in range(n):
        y = tanh(y * 1.01 + 0.01)
    y.backward()
    seconds = time.perf_counter() - start
    expected = chain_expected_grad(n)
    correct = math.isclose(x.grad, expected, rel_tol=1e-9, abs_tol=1e-300)
    del y  # freeing the whole chain must not crash either
    return {"seconds": seconds, "grad": x.grad, "expected": expected, "correct": correct}


def _pairwise_sum(terms: list):
    """a balanced tree of + nodes: micrograd's only way to add a million terms within its recursion limit."""
    while len(terms) > 1:
        paired = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


def wide_sum(engine: str, n: int) -> dict:
    """W3: the sum of n products a_i * b_i, then backward; d/da_i = b_i checked.

    ``seconds`` covers everything: making the 2n leaves, the products, the sum
    and backward; ``graph_seconds`` leaves out the leaves (inputs a training
    step would already have), and ``leaves_seconds`` is the rest.
    """
    rng = random.Random(0)
    a_data = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    b_data = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    if engine == "chainrule":
        start = time.perf_counter()
        a = [Value(v) for v in a_data]
        b = [Value(v) for v in b_data]
        middle = time.perf_counter()
        total = autograd.sum([ai * bi for ai, bi in zip(a, b, strict=True)])
    else:
        from micrograd.engine import Value as MValue

        start = time.perf_counter()
        a = [MValue(v) for v in a_data]
        b = [MValue(v) for v in b_data]
        middle = time.perf_counter()
        total = _pairwise_sum([ai * bi for ai, bi in zip(a, b, strict=True)])
    total.backward()
    end = time.perf_counter()
    correct = all(ai.grad == bi for ai, bi in zip(a, b_data, strict=True))
    return {"seconds": end - start, "leaves_seconds": middle - start, "graph_seconds": end - middle,
            "correct": correct}


def memory_per_node(engine: str, n: int) -> dict:
    """W4: bytes traced per node for y = y * x repeated n times (one shared leaf x, n product nodes).

    ``graph`` is the memory the built graph holds; for chainrule also
    ``after_backward``, once every node holds its gradient (micrograd cannot
    run backward this deep).
    """
    if engine == "chainrule":
        make = Value
    else:
        from micrograd.engine import Value as make
    x = make(1.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    y = x
    for _ in range(n):
        y = y * x
    built = tracemalloc.get_traced_memory()[0] - before
    result = {"nodes": n, "bytes_per_node": built / n}
    if engine == "chainrule":
        y.backward()
        result["bytes_per_node_after_backward"] = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    return result
