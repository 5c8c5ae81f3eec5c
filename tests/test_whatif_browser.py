"""What-if in the stepper page, in Debian's Chromium: change an input, and every number is the engine's.

The page computes its graph again from the op table's formula strings
(``viz/assets/whatif.js``). The oracle is the Python engine itself, run on a
graph built again from scratch at the same input values: its forward values,
its ``backward_steps`` at every position, its ``paths``, and the words of the
errors its float forwards raise. The 1,000 random graphs come from
``tests/strategies.graphs`` (every op of the table) and run through the page's
evaluator in one ``page.evaluate``.

Reuses the browser and page fixtures of ``test_stepper_browser``.
"""

from __future__ import annotations

import json
import math

import pytest
from chainrule.autograd import OPS, Op, Value, backward_steps, parse, paths, topological_order
from chainrule.autograd.names import display_names
from chainrule.viz.stepper import stepper_html
from chainrule.viz.whatif import whatif_data
from hypothesis import given, settings
from strategies import build, graphs
from test_stepper_browser import open_page  # noqa: F401 - a fixture, reused

pytestmark = pytest.mark.browser

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
MULTI = "u = a*b; v = u + a; L = v*u"
DOMAINS = "p = x*y; q = log(p) + sqrt(x) + 1/y + exp(y); L = q + (x - 1)**0.5"
REL = 1e-12
GRAPHS = 1_000


def close(got: float, want: float, rel: float = REL) -> bool:
    if math.isnan(want):
        return got is None or (isinstance(got, float) and math.isnan(got))
    return abs(got - want) <= rel * max(abs(want), 1e-300)


@pytest.fixture(scope="module")
def live_pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    made = {}
    for name, source, at, opts in [
        ("course", COURSE, AT, {"forward": False}),
        ("multi", MULTI, {"a": 2.0, "b": -3.0}, {"forward": False}),
        ("domains", DOMAINS, {"x": 2.0, "y": 1.5}, {}),
        ("variants", COURSE, AT, {"variants": True, "quiz": "all"}),
        ("update", COURSE, AT, {"lr": 0.5}),
    ]:
        made[name] = folder / f"{name}.html"
        root = parse(source, **at).output
        extra = {}
        if "lr" in opts:
            e = parse(source, **at)
            root, extra = e.output, {"params": [e.variables["w"], e.variables["b"]]}
        stepper_html(root, made[name], title=source, **opts, **extra)
    return made


def engine_nodes(source: str, at: dict) -> list[dict]:
    """What nodes() must say: the engine's names, ops, values and grads, in topological order."""
    root = parse(source, **at).output
    root.backward()
    order = topological_order(root)
    names = display_names(order)
    return [{"name": names[n], "op": n.op, "data": n.data, "grad": n.grad} for n in order]


def assert_nodes(page, want: list[dict]):
    got = page.evaluate("window.chainrule.nodes()")
    assert [(g["name"], g["op"]) for g in got] == [(w["name"], w["op"]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert close(g["data"], w["data"]) and close(g["grad"], w["grad"]), (g, w)


def shown_grads(page) -> list[tuple[str, str]]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('#grads td.grad'),
        (td) => [td.dataset.state, td.dataset.grad])""")


# --- what-if against the engine ------------------------------------------------------------------


@pytest.mark.parametrize(("which", "source", "moves"), [
    ("course", COURSE, [{"x": -0.7}, {"w": 2.5, "b": -1.25}, {"y": 0.0}]),
    ("multi", MULTI, [{"a": 0.5}, {"b": 4.0, "a": -1.5}]),
])
def test_what_if_edits_match_the_engine_at_every_step(open_page, live_pages, which, source, moves):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages[which])
    at = dict(AT) if which == "course" else {"a": 2.0, "b": -3.0}
    for move in moves:
        for name, value in move.items():
            assert page.evaluate("([n, v]) => window.chainrule.set(n, v)", [name, value]) is None
            at[name] = value
        assert_nodes(page, engine_nodes(source, at))
        root = parse(source, **at).output
        order = topological_order(root)
        index = {n: i for i, n in enumerate(order)}
        steps = list(backward_steps(root))  # each step applied when yielded: snapshot the grads
        snapshots = []
        root2 = parse(source, **at).output
        order2 = topological_order(root2)
        for _ in backward_steps(root2):
            snapshots.append([n.grad for n in order2])
        assert page.evaluate("window.chainrule.steps()") == len(steps)
        for p in range(len(steps) + 1):
            assert page.evaluate("(k) => window.chainrule.step(k)", p) == p
            states = shown_grads(page)
            for i, (state, grad) in enumerate(states):
                if state != "none":
                    want = 1.0 if i == len(order) - 1 else snapshots[p - 1][i]
                    assert close(float(grad), want), (move, p, i, grad, want)
            if p:
                step = steps[p - 1]
                text = page.text_content("#explain")
                for edge in step.edges:  # the step text: upstream x local = contribution, before -> after
                    assert f"{step.upstream:.4g} \u00d7 {edge.local:.4g} = {edge.contribution:.4g}" in text
                    label = page.evaluate("(id) => document.querySelector('#' + id + ' text').textContent",
                                          f"e{index[step.node]}_{step.edges.index(edge)}")
                    assert label == f"{edge.local + 0.0:.4g}"  # the edge's local derivative on the graph


def test_typing_a_value_and_dragging_a_slider_recompute(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["course"])
    box = page.locator('input.leaf-value[data-leaf="x"]')
    box.fill("-2.5")
    box.press("Enter")
    assert_nodes(page, engine_nodes(COURSE, AT | {"x": -2.5}))
    # The slider's range is shown and can be edited; its value is the input's.
    leaf = page.locator('.leaf:has(input[data-leaf="w"])')
    leaf.locator("input.range-end.low").fill("-10")
    leaf.locator("input.range-end.low").press("Enter")
    leaf.locator("input.range-end.high").fill("10")
    leaf.locator("input.range-end.high").press("Enter")
    slider = leaf.locator("input.leaf-slider")
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("-10", "10")
    slider.fill("3")  # a range input: fill sets the value and fires input
    # computed at the next frame; the page's CSP forbids wait_for_function's eval, so poll (bounded)
    for _ in range(200):
        if page.evaluate("window.chainrule.values().w") == 3:
            break
        page.wait_for_timeout(25)
    assert_nodes(page, engine_nodes(COURSE, AT | {"x": -2.5, "w": 3.0}))
    assert page.locator('input.leaf-value[data-leaf="w"]').input_value() == "3"
    # Clicking an input's value in the table is clicking into its box.
    page.click('#grads tr[data-node="0"] td.data')
    assert page.evaluate("document.activeElement.dataset.leaf") == page.evaluate("window.chainrule.nodes()[0].name")


def test_the_forward_steps_and_the_click_view_follow(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["multi"])
    at = {"a": -1.5, "b": 0.25}
    for name, value in at.items():
        page.evaluate("([n, v]) => window.chainrule.set(n, v)", [name, value])
    root = parse(MULTI, **at).output
    root.backward()
    order = topological_order(root)
    a = order.index(next(n for n in order if n.name == "a"))
    page.click(f"#grads tr[data-node='{a}']")
    view = page.evaluate("""() => ({local: Number(document.querySelector('#nodeview .local-sum').dataset.value),
        global: Number(document.querySelector('#nodeview .global-sum').dataset.value),
        products: Array.from(document.querySelectorAll('#nodeview .path .product'), e => Number(e.dataset.value))})""")
    leaf = order[a]
    want = [p.product for p in paths(root, leaf)]
    assert len(view["products"]) == len(want) and all(close(g, w) for g, w in zip(view["products"], want, strict=True))
    assert close(view["local"], leaf.grad) and close(view["global"], leaf.grad)


def test_the_update_step_is_computed_again(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["update"])
    page.evaluate("window.chainrule.set('x', 2.0)")
    e = parse(COURSE, **(AT | {"x": 2.0}))
    e.output.backward()
    w, b = e.variables["w"], e.variables["b"]
    after = parse(COURSE, **(AT | {"x": 2.0, "w": w.data - 0.5 * w.grad, "b": b.data - 0.5 * b.grad})).output.data
    page.evaluate("window.chainrule.step(window.chainrule.steps())")
    got = page.evaluate("Number(document.querySelector('#explain .num.loss-after').dataset.value)")
    assert close(got, after)


# --- domain errors ----------------------------------------------------------------------------------


def python_error(source: str, at: dict) -> str:
    """The engine's words for the first op that leaves its domain (the parser adds only line and column)."""
    with pytest.raises((ValueError, ArithmeticError)) as caught:
        parse(source, **at)
    return str(caught.value).rsplit(" (line ", 1)[0]


@pytest.mark.parametrize(("at", "node"), [
    ({"x": -2.0, "y": 1.5}, "log1"),     # log of a negative: p = x*y < 0 (sqrt(x) would fail too, later)
    ({"x": 2.0, "y": 0.0}, "log1"),      # p = 0: log(0)
    ({"x": 0.5, "y": 1.0}, "pow1"),      # (x - 1) ** 0.5 with a negative base
    ({"x": 2.0, "y": 800.0}, "exp1"),    # exp(800) overflows
])
def test_a_domain_error_shows_on_its_node_in_the_engines_words_and_goes_away(open_page, live_pages, at, node):  # noqa: F811 - the fixture
    source = DOMAINS
    page, watch = open_page(live_pages["domains"])
    for name, value in at.items():
        page.evaluate("([n, v]) => window.chainrule.set(n, v)", [name, value])
    error = page.evaluate("window.chainrule.error()")
    assert error["message"] == python_error(source, at)
    assert error["name"] == node
    names = [n["name"] for n in page.evaluate("window.chainrule.nodes()")]
    shown = page.locator("#whatif-error")
    assert shown.is_visible() and error["message"] in shown.text_content()
    bad = page.evaluate("Array.from(document.querySelectorAll('#graph g.node.value.domain-error'), e => e.id)")
    assert bad == [f"v{names.index(node)}"]
    assert page.locator(f"#grads tr.domain-error[data-node='{names.index(node)}']").count() == 1
    # The page keeps working: step through it, then put the values back.
    for k in range(page.evaluate("window.chainrule.steps()") + 1):
        page.evaluate("(k) => window.chainrule.step(k)", k)
    for name, value in {"x": 2.0, "y": 1.5}.items():
        page.evaluate("([n, v]) => window.chainrule.set(n, v)", [name, value])
    assert page.evaluate("window.chainrule.error()") is None and shown.is_hidden()
    assert page.locator("#graph .domain-error").count() == 0
    assert_nodes(page, engine_nodes(source, {"x": 2.0, "y": 1.5}))
    assert watch.errors == []


def test_a_value_that_is_not_a_number_is_refused_in_words(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["domains"])
    box = page.locator('input.leaf-value[data-leaf="y"]')
    box.fill("two")
    box.press("Enter")
    assert "bad" in box.get_attribute("class")
    with pytest.raises(Exception, match="only an input can be set"):
        page.evaluate("window.chainrule.set('p', 1)")
    with pytest.raises(Exception, match="no node is called"):
        page.evaluate("window.chainrule.set('nobody', 1)")


def test_every_ops_domain_error_is_worded_as_the_engine_words_it(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["course"])
    # (formula, a value of x where it fails, a value where it builds)
    cases = [("log(x)", -1.0, 2.0), ("log(x)", 0.0, 2.0), ("1/x", 0.0, 2.0), ("sqrt(x)", -4.0, 2.0),
             ("x**0.5", -2.0, 2.0), ("x**-1", 0.0, 2.0), ("exp(x)", 1000.0, 2.0), ("x**x", -0.5, 2.0),
             ("x*1e308*10", 1.0, 1e-300), ("x + 1.7e308", 1e308, 1.0), ("x - 1.7e308", -1e308, 1.0),
             ("sum(x, 1.7e308)", 1e308, 1.0), ("x/1e-300", 1e10, 1.0), ("(x**2)**200", 10.0, 1.0)]
    for source, x, safe in cases:
        want = python_error(source, {"x": x})
        data = whatif_data(parse(source, x=safe).output)
        got = page.evaluate("""([data, x]) => {
            const W = window.chainruleWhatIf;
            const program = W.compile(data.ops, data.nodes);
            const values = data.nodes.map((n) => (n.name === 'x' ? x : n.data));
            return W.run(program, values).error;
        }""", [data, x])
        assert got is not None and got["message"] == want, (source, x, got, want)


def test_a_zero_factor_in_a_rule_gives_zero_as_the_engine_says(open_page, live_pages):  # noqa: F811 - the fixture
    # d(a**0)/da = 0 even at a = 0 (not 0 * inf), and d(a**b)/db = a^b log(a) = 0 at a = 0 (not 0 * -inf)
    page, _ = open_page(live_pages["course"])
    for source, at in [("relu(x)**0 + x", {"x": -1.0}), ("relu(x)**b + x*b", {"x": -1.0, "b": 2.0}),
                       ("relu(x)**0.5 + x", {"x": 2.0})]:
        root = parse(source, **at).output
        root.backward()
        want = [(n.data, n.grad) for n in topological_order(root)]
        data = whatif_data(root)
        got = page.evaluate("""(data) => {
            const W = window.chainruleWhatIf;
            const r = W.run(W.compile(data.ops, data.nodes), data.nodes.map((n) => n.data));
            return {data: Array.from(r.data), grads: Array.from(r.grads), error: r.error};
        }""", data)
        assert got["error"] is None
        assert [(d, g) for d, g in zip(got["data"], got["grads"], strict=True)] == want, source


# --- the same op table: 1,000 random graphs of every op ----------------------------------------------


def test_one_thousand_random_graphs_match_the_engine(open_page, live_pages):  # noqa: F811 - the fixture
    drawn = []

    @settings(max_examples=GRAPHS)
    @given(graphs(max_ops=30))  # up to 30 ops a graph (about 15,000 nodes in all): every op, in seconds
    def collect(graph):
        drawn.append(graph)

    collect()
    assert len(drawn) == GRAPHS
    ops_seen, payload, want = set(), [], []
    for graph in drawn:
        built = build(graph)
        root = built.output
        root.backward()
        order = topological_order(root)
        data = whatif_data(root)
        ops_seen.update(n["key"] for n in data["nodes"] if n["key"])
        payload.append([[n["key"], n["params"], n["parents"], n["data"]] for n in data["nodes"]])
        want.append([(n.data, n.grad) for n in order])
    assert set(OPS) - {"cross_entropy"} <= ops_seen  # every op of the engine (nn's fused loss has no formula)
    page, _ = open_page(live_pages["course"])
    results = page.evaluate("""([ops, graphs]) => {
        const W = window.chainruleWhatIf;
        return graphs.map((nodes) => {
            const spec = nodes.map(([key, params, parents]) => ({op: key ? 'op' : '', key, params, parents}));
            const program = W.compile(ops, spec);
            if (!program.ok) return {why: program.why};
            const r = W.run(program, nodes.map((n) => n[3]));
            return {data: Array.from(r.data), grads: Array.from(r.grads), error: r.error};
        });
    }""", [whatif_data(Value(1.0))["ops"], payload])
    worst = 0.0
    for g, (got, expected) in enumerate(zip(results, want, strict=True)):
        assert "why" not in got and got["error"] is None, (g, got)
        for i, (d, grad) in enumerate(expected):
            for js, py in ((got["data"][i], d), (got["grads"][i], grad)):
                error = abs(js - py) / max(abs(py), 1e-300)
                worst = max(worst, error)
                assert error <= REL, (g, i, js, py, json.dumps(payload[g][: i + 1])[:400])
    print(f"\n1,000 random graphs: worst relative difference page vs engine {worst:.3g}")


# --- a new row of the op table is live in the page ---------------------------------------------------


def test_a_row_registered_at_run_time_is_live_and_a_row_without_formulas_is_refused(open_page, tmp_path):  # noqa: F811 - the fixture
    from chainrule.autograd import register

    cube = register(Op("cube3", lambda a: a * a * a, lambda out: (3.0 * out.parents[0].data ** 2,),
                       ("d cube3(a)/da = 3*a^2",), 1, "a^3", ("3*a^2",), name="cube3"))
    loop = register(Op("self_ref", lambda a: 2.0 * a, lambda out: (2.0,), ("d self_ref(a)/da = 2",), 1,
                       "self_ref(a)", ("2",), name="self_ref"))
    try:
        live = parse("L = cube3(x) * y", x=1.5, y=-2.0).output
        stepper_html(live, tmp_path / "cube.html")
        refused = parse("L = self_ref(x) + x", x=1.5).output
        stepper_html(refused, tmp_path / "self.html")
        page, _ = open_page(tmp_path / "cube.html")
        page.evaluate("window.chainrule.set('x', -0.75)")
        e = parse("L = cube3(x) * y", x=-0.75, y=-2.0).output
        e.backward()
        order = topological_order(e)
        got = page.evaluate("window.chainrule.nodes()")
        assert all(close(g["data"], n.data) and close(g["grad"], n.grad) for g, n in zip(got, order, strict=True))
        page, _ = open_page(tmp_path / "self.html")
        assert page.evaluate("window.chainrule.whatIf()")["available"] is False
        assert "unavailable" in page.text_content("#whatif") and "self_ref" in page.text_content("#whatif")
        with pytest.raises(Exception, match="unavailable"):
            page.evaluate("window.chainrule.set('x', 2)")
        page.click("#next")  # the page itself still steps
        assert page.evaluate("window.chainrule.position()") == 1
    finally:
        del OPS[cube.key], OPS[loop.key]


def test_cross_entropy_says_what_if_is_unavailable(open_page, tmp_path):  # noqa: F811 - the fixture
    from chainrule.nn.losses import cross_entropy

    zs = [Value(0.5, name="z0"), Value(-1.0, name="z1"), Value(2.0, name="z2")]
    stepper_html(cross_entropy(zs, 2) * 2.0, tmp_path / "ce.html")
    page, _ = open_page(tmp_path / "ce.html")
    assert "cross_entropy" in page.text_content("#whatif-unavailable")
    assert page.locator("#whatif input").count() == 0


# --- variants ----------------------------------------------------------------------------------------


def test_variants_are_the_same_for_the_same_seed_and_differ_between_seeds(open_page, live_pages):  # noqa: F811 - the fixture
    first, _ = open_page(live_pages["variants"])
    first.fill("#seed", "Ada Lovelace")
    first.click("#draw")
    ada = first.evaluate("window.chainrule.values()")
    assert "Ada Lovelace" in first.text_content("#seed-note")
    second, _ = open_page(live_pages["variants"])
    assert second.evaluate("window.chainrule.seed('Ada Lovelace')")["ok"]
    assert second.evaluate("window.chainrule.values()") == ada
    assert second.evaluate("window.chainrule.seed('42')")["ok"]
    other = second.evaluate("window.chainrule.values()")
    assert other != ada and ada != AT
    for values in (ada, other):  # in the domain, and each input's sign kept
        assert all(math.copysign(1, values[k]) == math.copysign(1, AT[k]) for k in AT if AT[k])
        assert_nodes(second if values is other else first, engine_nodes(COURSE, values))


def test_a_domain_bound_graph_draws_only_values_in_its_domain(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["domains"])  # no variants box on this page, but the same drawing
    source = DOMAINS
    for seed in ("a", "b", "c", "17", "class of 2026"):
        values = page.evaluate("""(seed) => {
            const W = window.chainruleWhatIf;
            const S = window.chainruleStepper.internals;
            const program = W.compile(S.DATA.ops, S.NODES);
            const drawn = W.seededValues(program, [2, 1.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], seed);
            return drawn.values && drawn.values.slice(0, 2);
        }""", seed)
        x, y = values
        parse(source, x=x, y=y)  # the engine accepts them: x >= 1, x*y > 0 ...


def test_the_quiz_checks_a_variants_numbers_and_shows_the_seed(open_page, live_pages):  # noqa: F811 - the fixture
    page, _ = open_page(live_pages["variants"])
    assert page.evaluate("window.chainrule.seed('Grace')")["ok"]
    values = page.evaluate("window.chainrule.values()")
    root = parse(COURSE, **values).output
    order = topological_order(root)
    forward_answers = {f"v{i}": n.data for i, n in enumerate(order) if n.op}
    steps = list(backward_steps(root))
    answered = 0
    for _ in range(page.evaluate("window.chainrule.steps()")):
        inputs = page.locator("#quizbox:not([hidden]) input")
        for j in range(inputs.count()):
            box = inputs.nth(j)
            key = box.get_attribute("data-key")
            if key.startswith("v"):
                answer = forward_answers[key]
            else:
                p = page.evaluate("window.chainrule.position()") + 1 - (len(forward_answers) + 1)
                step = steps[p - 1]
                if key.startswith("l"):
                    answer = step.edges[int(key[1:])].local
                else:
                    parent = order[int(key[1:])]
                    answer = [e.after for e in step.edges if e.parent is parent][-1]
            box.fill(repr(answer))
            answered += 1
        if inputs.count():
            page.click("#check")
        else:
            page.click("#next")
    assert answered > 0
    score = page.locator("#scorebox .score")
    gated = int(score.get_attribute("data-first"))
    assert gated > 0 and score.get_attribute("data-retry") == "0" and score.get_attribute("data-revealed") == "0"
    assert page.locator("#scorebox p.seed").get_attribute("data-seed") == "Grace"
    assert "Grace" in page.text_content("#scorebox")
    # The original numbers would be wrong answers here: the quiz checked the variant's.
    original = parse(COURSE, **AT).output
    assert abs(original.data - root.data) > 1e-3 * abs(root.data)


# --- the formula box of chainrule serve shows the same live page ----------------------------------------


def test_the_formula_boxs_stepper_has_the_what_if_panel(browser):  # noqa: F811 - the fixture
    pytest.importorskip("starlette")
    from test_server import Running

    server = Running()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.base + "/")
        page.click("#go")
        page.wait_for_selector("#results:not([hidden])")
        page.frame_locator("#stepper").locator("body[data-ready=true]").wait_for()
        frame = next(f for f in page.frames if f.url.startswith(server.base + "/page"))
        assert frame.locator("#whatif .leaf").count() == len(AT)
        assert frame.evaluate("window.chainrule.set('w', -1.25)") is None
        want = engine_nodes(COURSE, AT | {"w": -1.25})
        got = frame.evaluate("window.chainrule.nodes()")
        assert all(close(g["data"], w["data"]) and close(g["grad"], w["grad"]) for g, w in zip(got, want, strict=True))
    finally:
        context.close()
        server.stop()


def test_a_seed_with_no_draw_in_the_domain_falls_back_to_the_original_values(open_page, tmp_path):  # noqa: F811
    # sqrt(-(x - 1.234)^2) is defined only at x = 1.234 itself: no drawn value (two digits) is in its domain.
    root = parse("L = sqrt(-(x - 1.234)**2) + x", x=1.234).output
    stepper_html(root, tmp_path / "narrow.html", variants=True)
    page, _ = open_page(tmp_path / "narrow.html")
    page.fill("#seed", "Ada")
    page.click("#draw")
    note = page.text_content("#seed-note")
    assert "after 200 draws" in note and "original values are back" in note
    assert page.evaluate("window.chainrule.values()")["x"] == 1.234
    assert page.evaluate("window.chainrule.error()") is None
    assert_nodes(page, engine_nodes("L = sqrt(-(x - 1.234)**2) + x", {"x": 1.234}))


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_each_inputs_box_and_slider_sit_on_one_line(open_page, live_pages, width, height):  # noqa: F811 - fixture
    # on a projector, an input's value box, the slider and both of its ends read as one row
    page, _ = open_page(live_pages["course"], width, height)
    rows = page.evaluate("""[...document.querySelectorAll('#whatif .leaf')].map((row) =>
        [...row.querySelectorAll('input')].map((i) => {
            const r = i.getBoundingClientRect();
            return r.top + r.height / 2;
        }))""")
    assert rows and all(len(row) == 4 and max(row) - min(row) <= 2 for row in rows), rows
