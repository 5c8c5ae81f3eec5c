"""The stepper page's contents, read back from the HTML: data, escaping, self-containment.

The numbers are checked against an independent run of ``backward_steps`` on a
graph built again from scratch, and against the course example's closed-form
derivatives; the page's behaviour in a browser is in test_stepper_browser.py.
"""

from __future__ import annotations

import json
import math
import random
import re
from html.parser import HTMLParser
from importlib import resources

import pytest
from chainrule.autograd import Value
from chainrule.viz.stepper import PATH_LIMIT, PATH_LISTING_MAX_NODES, path_counts_in_order, script_json, stepper_html

from chainrule import autograd

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
XSS = "<img src=x onerror=alert(1)>"


def page_data(page: str) -> dict:
    """The JSON block of a page, with inf and nan put back as floats."""
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert match, "the page has no data block"

    def revive(obj):
        if set(obj) == {"float"}:
            return float(obj["float"])
        return obj

    return json.loads(match.group(1), object_hook=revive)


def course():
    return autograd.parse(COURSE, **AT)


def test_steps_in_the_page_are_the_engines_steps():
    page = stepper_html(course().output)
    data = page_data(page)
    reference = course().output  # built again: nothing shared with the page's graph
    order = autograd.topological_order(reference)
    index = {node: i for i, node in enumerate(order)}
    steps = list(autograd.backward_steps(reference))
    assert data["root"] == len(order) - 1
    assert [n["label"] for n in data["nodes"]] == ["y", "w", "x", "mul1", "b", "z", "h", "sub1", "L"]
    assert len(data["steps"]) == len(steps) == 5
    for got, want in zip(data["steps"], steps, strict=True):
        assert got["node"] == index[want.node]
        assert got["upstream"] == want.upstream
        assert got["rule"] == want.rule
        for k, (edge, ref) in enumerate(zip(got["edges"], want.edges, strict=True)):
            assert (edge["parent"], edge["k"]) == (index[ref.parent], k)
            assert (edge["local"], edge["contribution"], edge["before"], edge["after"]) == (
                ref.local, ref.contribution, ref.before, ref.after)
    for node, ref in zip(data["nodes"], order, strict=True):
        assert node["data"] == ref.data
        assert node["grad"] == ref.grad  # after every step: what backward() leaves
        assert node["parents"] == [index[p] for p in ref.parents]


def test_final_grads_match_the_closed_form():
    data = page_data(stepper_html(course().output))
    by_name = {n["name"]: n for n in data["nodes"] if n["name"]}
    w, x, b, y = AT["w"], AT["x"], AT["b"], AT["y"]
    h = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (h - y) * h * (1 - h)  # dL/dz = dL/dh * sigmoid'(z)
    expected = {"w": dz * x, "x": dz * w, "b": dz, "y": 2 * (y - h), "z": dz, "h": 2 * (h - y), "L": 1.0}
    for name, value in expected.items():
        assert by_name[name]["grad"] == pytest.approx(value, rel=1e-12), name
    assert by_name["L"]["data"] == pytest.approx((y - h) ** 2, rel=1e-12)


def test_each_edge_gets_the_rule_of_its_input():
    data = page_data(stepper_html(course().output))
    mul = next(s for s in data["steps"] if s["rule"].startswith("d(w*x)"))
    assert [e["rule"] for e in mul["edges"]] == ["d(w*x)/dw = x", "d(w*x)/dx = w"]
    assert [e["math"] for e in mul["edges"]] == ["\u2202(w\u00d7x)/\u2202w = x", "\u2202(w\u00d7x)/\u2202x = w"]
    sig = next(s for s in data["steps"] if "sigmoid" in s["rule"])
    assert sig["edges"][0]["rule"] == "d sigmoid(z)/dz = sigmoid(z)*(1 - sigmoid(z))"


class Tags(HTMLParser):
    """Every start tag and its attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_one_file_that_asks_the_network_for_nothing():
    page = stepper_html(course().output)
    parser = Tags()
    parser.feed(page)
    names = [tag for tag, _ in parser.tags]
    for banned in ("link", "img", "iframe", "object", "embed", "base", "audio", "video", "source"):
        assert banned not in names
    for tag, attrs in parser.tags:
        assert not {"src", "href", "xlink:href", "srcset", "action", "formaction"} & set(attrs), (tag, attrs)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "data"}, {}]
    assert names.count("svg") == 1 and names.count("style") == 1
    # The only URLs are the SVG namespace names, which are never fetched.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assets = resources.files("chainrule.viz").joinpath("assets")
    css, js = (assets.joinpath(f).read_text(encoding="utf-8") for f in ("stepper.css", "stepper.js"))
    assert "url(" not in css and "@import" not in css
    for call in ("fetch(", "XMLHttpRequest", "import(", "innerHTML", "outerHTML", "insertAdjacentHTML",
                 "document.write", "eval("):
        assert call not in js, call
    assert "default-src 'none'" in page  # and the browser is told to refuse any request


def test_user_text_is_data_never_markup():
    a = Value(2.0, name=XSS)
    b = Value(-3.0, name="</script><script>alert(2)</script>")
    c = a * b + a
    c.name = "c &amp; <!-- \u2028"
    title = "</title><script>alert(3)</script>"
    page = stepper_html(c, title=title)
    # Exactly our two script blocks; no tag a name could have opened.
    assert page.lower().count("<script") == 2 and page.lower().count("</script") == 2
    assert "<img" not in page.lower()
    assert "&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page
    data = page_data(page)
    names = [n["name"] for n in data["nodes"]]
    assert XSS in names and "</script><script>alert(2)</script>" in names and c.name in names
    assert data["title"] == title


def test_script_json_escapes_what_could_end_the_block():
    text = script_json({"name": "</script>&<!--", "n": 1.5})
    assert not set("<>&") & set(text)
    assert json.loads(text) == {"name": "</script>&<!--", "n": 1.5}
    with pytest.raises(ValueError):
        script_json({"x": math.inf})  # non-finite floats must be tagged before they get here


def test_the_page_shows_one_fresh_pass_and_leaves_the_graph_as_it_was():
    e = course()
    e.output.backward()
    e.output.backward()  # leaves accumulate: their grads are now twice one pass
    before = {node: node.grad for node in autograd.topological_order(e.output)}
    data = page_data(stepper_html(e.output))
    one_pass = {n["name"]: n["grad"] for n in page_data(stepper_html(course().output))["nodes"] if n["name"]}
    by_name = {n["name"]: n["grad"] for n in data["nodes"] if n["name"]}
    assert by_name == one_pass
    assert by_name["w"] == pytest.approx(before[e.variables["w"]] / 2, rel=1e-12)
    after = {node: node.grad for node in autograd.topological_order(e.output)}
    assert after == before


def arrivals(data: dict) -> list[tuple[str, int, int]]:
    """(parent label, arrival, arrivals in all) for every edge, in the order the pass sends them."""
    return [(data["nodes"][e["parent"]]["label"], e["arrival"], e["arrivals"])
            for s in data["steps"] for e in s["edges"]]


def test_a_second_arrival_is_marked_as_the_multi_path_sum():
    data = page_data(stepper_html(autograd.parse("u = a*b; v = u + a; L = v*u", a=2.0, b=-3.0).output))
    assert arrivals(data) == [("v", 1, 1), ("u", 1, 2), ("u", 2, 2), ("a", 1, 2), ("a", 2, 2), ("b", 1, 1)]
    # x*x: both edges of one step reach x; the second one is the sum.
    data = page_data(stepper_html(autograd.parse("y = x*x", x=3.0).output))
    assert arrivals(data) == [("x", 1, 2), ("x", 2, 2)]
    step = data["steps"][0]
    assert [(e["before"], e["after"]) for e in step["edges"]] == [(0.0, 3.0), (3.0, 6.0)]


def test_a_zero_first_contribution_still_makes_the_second_a_sum():
    # relu is off at a = -1 and its step runs first: it sends 0, so a's grad is still 0 when
    # the second path (through tanh) arrives.
    data = page_data(stepper_html(autograd.parse("L = tanh(a) + relu(a)", a=-1.0).output))
    assert [data["nodes"][s["node"]]["label"] for s in data["steps"]] == ["L", "relu1", "tanh1"]
    label = [n["label"] for n in data["nodes"]]
    edges = {(label[e["parent"]], e["arrival"]): e for s in data["steps"] for e in s["edges"]}
    second = edges[("a", 2)]
    assert second["before"] == 0.0 and second["arrivals"] == 2
    assert second["after"] == pytest.approx(1 - math.tanh(-1.0) ** 2, rel=1e-12)


def test_global_forms_list_every_path_and_sum_to_the_grad():
    e = course()
    data = page_data(stepper_html(e.output))
    order = autograd.topological_order(e.output)
    for i, node in enumerate(order):
        form = data["paths"][i]
        assert form["count"] == autograd.count_paths(e.output, node) == 1  # a tree: one path each
        (path,) = form["paths"]
        assert path["nodes"][0] == data["root"] and path["nodes"][-1] == i
        product = math.prod(path["locals"])
        assert path["product"] == pytest.approx(product, rel=1e-12)
        assert path["product"] == pytest.approx(data["nodes"][i]["grad"], rel=1e-12)


def test_multi_path_global_form():
    data = page_data(stepper_html(autograd.parse("u = a*b; v = u + a; L = v*u", a=2.0, b=-3.0).output))
    label = [n["label"] for n in data["nodes"]]
    a = label.index("a")
    form = data["paths"][a]
    assert form["count"] == 3
    routes = {tuple(label[i] for i in p["nodes"]): p["product"] for p in form["paths"]}
    # L = v*u, v = u + a, u = a*b at a = 2, b = -3: u = -6, v = -4.
    assert routes == {
        ("L", "v", "a"): -6.0,  # dL/dv = u, dv/da = 1
        ("L", "v", "u", "a"): -6.0 * 1 * -3.0,  # dL/dv * dv/du * du/da
        ("L", "u", "a"): -4.0 * -3.0,  # dL/du (direct) = v, du/da = b
    }
    assert sum(routes.values()) == data["nodes"][a]["grad"] == 24.0  # d(a^2 b (a b + a))/da at (2, -3)


def doublings(n: int, x: Value) -> Value:
    """x squared n times: 2^n paths from the top down to x."""
    v = x
    for _ in range(n):
        v = v * v
    return v


def test_past_the_limit_the_page_gives_the_count():
    x = Value(1.01, name="x")
    top = doublings(7, x)  # 128 paths
    data = page_data(stepper_html(top))
    form = data["paths"][0]
    assert data["nodes"][0]["name"] == "x"
    assert form["paths"] is None and form["why"] == "too many"
    assert form["count"] == autograd.count_paths(top, x) == 2**7 > PATH_LIMIT


def test_long_listings_give_the_count():
    x = Value(0.5, name="x")
    top = doublings(6, x)  # 64 paths, each lengthened by 40 more edges
    for _ in range(40):
        top = top.tanh()
    data = page_data(stepper_html(top))
    assert data["paths"][0] == {"count": 64, "countText": "64", "paths": None, "why": "too long"}
    assert data["paths"][-1]["paths"] is not None  # the output itself: one empty path


def test_large_graphs_give_counts_only():
    xs = [Value(0.1 * i, name=f"x{i}") for i in range(PATH_LISTING_MAX_NODES // 2 + 1)]
    top = autograd.sum([x * x for x in xs])
    data = page_data(stepper_html(top))
    assert len(data["nodes"]) > PATH_LISTING_MAX_NODES
    order = autograd.topological_order(top)
    for node, form in zip(order, data["paths"], strict=True):
        assert form["paths"] is None and form["why"] == "large graph"
        assert form["count"] == autograd.count_paths(top, node)
    assert {data["paths"][order.index(x)]["count"] for x in xs} == {2}  # x*x: two edges


def test_path_counts_agree_with_count_paths_on_random_graphs():
    rng = random.Random(5)
    for _ in range(5):
        nodes = [Value(rng.uniform(0.5, 2.0), name=f"x{i}") for i in range(4)]
        for _ in range(40):
            a, b = rng.choice(nodes), rng.choice(nodes[-6:])
            nodes.append(rng.choice([a + b, a * b, (a - b).tanh(), a * a]))
        top = autograd.sum(nodes[-5:])
        order = autograd.topological_order(top)
        assert path_counts_in_order(order) == [autograd.count_paths(top, node) for node in order]


def test_infinite_and_nan_numbers_survive_the_trip():
    x = Value(0.0, name="x")
    top = 0.0 * x.sqrt()  # d sqrt/dx = inf at 0, and 0 * inf = nan reaches x
    data = page_data(stepper_html(top))
    sqrt_step = next(s for s in data["steps"] if s["rule"].startswith("d sqrt"))
    assert sqrt_step["edges"][0]["local"] == math.inf
    (x_node,) = [n for n in data["nodes"] if n["name"] == "x"]
    assert math.isnan(x_node["grad"])


def test_path_writes_the_same_page(tmp_path):
    target = tmp_path / "steps.html"
    page = stepper_html(course().output, target, quiz=True)
    assert target.read_text(encoding="utf-8") == page
    assert page_data(page)["quiz"] == "grad"  # quiz=True is the grad quiz
    assert '<body class="stepper quiz quiz-grad">' in page
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    with pytest.raises(OSError):
        stepper_html(course().output, tmp_path / "missing" / "steps.html")


def test_only_values_make_pages():
    with pytest.raises(TypeError, match="float"):
        stepper_html(1.5)


def test_the_assets_are_package_data():
    folder = resources.files("chainrule.viz").joinpath("assets")
    assert folder.joinpath("stepper.js").is_file() and folder.joinpath("stepper.css").is_file()


# --- the classroom page: names, forward pass, update, arguments -------------------------------------


def test_the_forward_steps_in_the_page_are_the_engines():
    data = page_data(stepper_html(course().output))
    reference = course().output
    order = autograd.topological_order(reference)
    forward = list(autograd.forward_steps(reference))
    assert len(data["forward"]) == len(forward) == 5
    for got, want in zip(data["forward"], forward, strict=True):
        assert got["node"] == order.index(want.node)
        assert got["inputs"] == list(want.inputs) and got["value"] == want.value
    by_name = {n["name"]: n for n in data["nodes"]}
    assert by_name["mul1"]["math"] == "w \u00d7 x" and by_name["mul1"]["numbers"] == "0.8 \u00d7 1.5"
    assert by_name["h"]["math"] == "\u03c3(z)" and by_name["L"]["math"] == "sub1\u00b2"
    assert page_data(stepper_html(course().output, forward=False))["forward"] == []


def test_the_update_step_is_gradient_descent_and_the_loss_is_recomputed():
    e = course()
    w, b = e.variables["w"], e.variables["b"]
    data = page_data(stepper_html(e.output, lr=0.5, params=[w, b]))
    update = data["update"]
    x, y = AT["x"], AT["y"]
    h = 1 / (1 + math.exp(-(AT["w"] * x + AT["b"])))
    dz = 2 * (h - y) * h * (1 - h)
    new_w, new_b = AT["w"] - 0.5 * dz * x, AT["b"] - 0.5 * dz  # closed form
    assert [(r["old"], r["new"]) for r in update["params"]] == [
        (AT["w"], pytest.approx(new_w, rel=1e-12)), (AT["b"], pytest.approx(new_b, rel=1e-12))]
    h2 = 1 / (1 + math.exp(-(new_w * x + new_b)))
    assert update["before"] == pytest.approx((y - h) ** 2, rel=1e-12)
    assert update["after"] == pytest.approx((y - h2) ** 2, rel=1e-12)
    assert update["after"] < update["before"] and update["problem"] == ""
    assert (w.data, b.data) == (AT["w"], AT["b"])  # the graph itself is not changed


def test_an_update_that_leaves_an_ops_domain_says_so():
    x = Value(0.5, name="x")
    L = x.log()
    x_after = page_data(stepper_html(L, lr=1.0, params=[x]))["update"]  # x: 0.5 - 1 * 2 = -1.5
    assert math.isnan(x_after["after"]) and "log" in x_after["problem"]


@pytest.mark.parametrize(("opts", "message"), [
    ({"lr": 0.1}, "both lr"),
    ({"params": []}, "both lr"),
    ({"lr": -1.0, "params": []}, "positive"),
    ({"lr": 0.1, "params": []}, "empty"),
    ({"quiz": "values"}, "quiz must be"),
    ({"view": "neurons"}, "found no nn neurons"),  # a formula's graph has no neurons
    ({"view": "tree"}, "view must be"),
])
def test_bad_options_are_refused_clearly(opts, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        stepper_html(course().output, **opts)


def test_params_must_be_inputs_of_the_graph():
    e = course()
    with pytest.raises(ValueError, match="not an input of this graph"):
        stepper_html(e.output, lr=0.1, params=[Value(1.0, name="stranger")])
    with pytest.raises(ValueError, match="not an input of this graph"):
        stepper_html(e.output, lr=0.1, params=[e.nodes["z"]])


@pytest.mark.parametrize(("quiz", "kind"), [(False, ""), (True, "grad"), ("grad", "grad"), ("local", "local"),
                                            ("forward", "forward"), ("all", "all")])
def test_quiz_kinds(quiz, kind):
    data = page_data(stepper_html(course().output, quiz=quiz))
    assert data["quiz"] == kind


@pytest.mark.parametrize("doublings, text", [(60, "1,152,921,504,606,846,976"), (1100, "about 1.4 × 10^331")])
def test_path_counts_are_shown_exactly_or_as_a_power_of_ten(doublings, text):
    """2^60 paths is an exact integer on the page, 2^1100 a power of ten: never a rounded float or infinity."""
    x = Value(1e-320, name="x")  # small, so 2^1100 times it is still a float
    node = x
    for _ in range(doublings):
        node = node + node  # every addition doubles the paths from the top down to x
    assert 2**60 == 1_152_921_504_606_846_976
    page = stepper_html(node * 0.5, forward=False)
    shown = {json.loads(f'"{m}"') for m in re.findall(r'"countText":\s*"([^"]*)"', page)}
    assert text in shown
