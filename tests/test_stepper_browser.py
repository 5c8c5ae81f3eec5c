"""The stepper page in a real browser: Debian's Chromium driven by Playwright.

Every page is opened from file://. Each test records the page's requests,
console messages, uncaught errors and dialogs, and fails on any request but
the page itself, on any error and on any dialog. The grads the page shows are
compared, at every position, with the engine's own ``backward_steps`` run on
a graph built again from scratch.

Skips on a laptop without Chromium; fails when CI=true (see conftest.require).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chainrule.autograd import Value
from chainrule.viz.drawing import num
from chainrule.viz.stepper import stepper_html

from chainrule import autograd

pytestmark = pytest.mark.browser

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
MULTI = "u = a*b; v = u + a; L = v*u"
XSS = "<img src=x onerror=alert(1)>"


def course():
    return autograd.parse(COURSE, **AT).output


def multi():
    return autograd.parse(MULTI, a=2.0, b=-3.0).output


def xss_graph():
    a = Value(2.0, name=XSS)
    b = Value(-3.0, name="</script><script>alert(2)</script>")
    c = a * b + a
    c.name = '"><svg onload=alert(3)>'
    return c


def big_graph() -> Value:
    """About 2,000 nodes: a long chain of neuron-like steps with named weights."""
    v = Value(0.5, name="x")
    for i in range(400):
        v = (v * Value(0.9, name=f"w{i}") + Value(0.01, name=f"b{i}")).tanh()
    return v



@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    # The backward-only pages (forward=False): positions are backward steps, as these tests count them.
    for name, build, quiz in [("course", course, False), ("quiz", course, True), ("multi", multi, False),
                              ("xss", xss_graph, False), ("big", big_graph, False)]:
        made[name] = folder / f"{name}.html"
        stepper_html(build(), made[name], quiz=quiz, title=f"{name} <b>&</b>", forward=False)
    return made


@dataclass
class Watch:
    """Everything a page did that it should not: requests, errors, dialogs."""

    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def check(self):
        assert self.dialogs == [], self.dialogs
        assert self.errors == [], self.errors
        assert set(self.requests) == {self.url}, self.requests


@pytest.fixture
def open_page(browser):
    """open_page(path, width, height) -> (page, watch); the watch is checked when the test ends."""
    opened = []

    def opener(path, width=1280, height=720):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        watch = Watch(path.as_uri())
        page.on("request", lambda r: watch.requests.append(r.url))
        page.on("console", lambda m: m.type in ("error", "warning") and watch.errors.append(m.text))
        page.on("pageerror", lambda e: watch.errors.append(str(e)))
        page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
        page.goto(watch.url)
        page.wait_for_selector("body[data-ready=true]")
        opened.append((context, watch))
        return page, watch

    yield opener
    for context, watch in opened:
        context.close()
        watch.check()


# --- what the engine says the page should show ---------------------------------------------


def expected_positions(root: Value) -> list[list[tuple[str, float | None]]]:
    """For each position p (p steps applied), each node's (state, grad) from backward_steps."""
    order = autograd.topological_order(root)
    index = {node: i for i, node in enumerate(order)}
    senders: list[list[int]] = [[] for _ in order]  # for each node, the steps that send to it
    snapshots = []
    for s, step in enumerate(autograd.backward_steps(root)):
        for edge in step.edges:
            senders[index[edge.parent]].append(s)
        snapshots.append([node.grad for node in order])  # a Step is applied when it is yielded
    positions = []
    for p in range(len(snapshots) + 1):
        row = []
        for i, node in enumerate(order):
            if node is root:
                row.append(("final", 1.0))
                continue
            done = [s for s in senders[i] if s < p]
            if not done:
                row.append(("none", None))
            else:
                state = "final" if len(done) == len(senders[i]) else "partial"
                row.append((state, snapshots[p - 1][i]))
        positions.append(row)
    return positions


def g4(x: float) -> str:
    return f"{x:.4g}"


def shown(page) -> list[dict]:
    """What the page shows for every node: the table cell and the grad line of the SVG box."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#grads td.grad'), (td, i) => {
        const texts = document.querySelectorAll('#v' + i + ' text');
        const box = document.getElementById('v' + i);
        return {state: td.dataset.state, grad: td.dataset.grad, cell: td.textContent,
                svg: texts[texts.length - 1].textContent,
                svgState: ['g-none', 'g-partial', 'g-final'].filter(c => box.classList.contains(c))};
    })""")


def assert_position(page, expected_row):
    for i, (got, (state, grad)) in enumerate(zip(shown(page), expected_row, strict=True)):
        assert got["state"] == state and got["svgState"] == ["g-" + state], (i, got, state)
        if state == "none":
            assert (got["grad"], got["cell"], got["svg"]) == ("", "\u2014", "grad \u2014"), (i, got)
        else:
            assert float(got["grad"]) == grad, (i, got, grad)  # the exact float, not a rounding
            text = g4(grad) + ("\u2026" if state == "partial" else "")
            assert got["cell"] == ("partial " if state == "partial" else "final ") + text, (i, got)
            assert got["svg"] == "grad " + text, (i, got)


def assert_highlight(page, root, p):
    hot = page.evaluate("""() => {
        const ids = (cls) => Array.from(document.querySelectorAll('#graph .' + cls), e => e.id);
        return {current: ids('current'), sending: ids('sending')};
    }""")
    if p == 0:
        assert hot == {"current": [f"v{len(autograd.topological_order(root)) - 1}"], "sending": []}
        return
    order = autograd.topological_order(root)
    step = list(autograd.backward_steps(root))[p - 1]
    i = order.index(step.node)
    assert sorted(hot["current"]) == sorted([f"v{i}", f"op{i}"])
    assert sorted(hot["sending"]) == sorted([f"e{i}"] + [f"e{i}_{k}" for k in range(len(step.edges))])


# --- the tests -------------------------------------------------------------------------------


def test_next_button_steps_through_the_engines_grads(open_page, pages):
    page, _ = open_page(pages["course"])
    positions = expected_positions(course())
    assert len(positions) == 6
    assert_position(page, positions[0])
    assert page.is_disabled("#prev") and page.is_disabled("#reset")
    for p in range(1, len(positions)):
        page.click("#next")
        assert page.evaluate("window.chainruleStepper.position()") == p
        assert_position(page, positions[p])
        assert_highlight(page, course(), p)
        assert page.text_content("#position") == f"backward {p} of 5"
    assert page.is_disabled("#next")
    page.click("#reset")
    assert_position(page, positions[0])


def test_arrow_keys_and_the_slider_step_both_ways(open_page, pages):
    page, _ = open_page(pages["course"])
    positions = expected_positions(course())
    for p in range(1, len(positions)):
        page.keyboard.press("ArrowRight")
        assert_position(page, positions[p])
    page.keyboard.press("ArrowRight")  # past the end: stays
    assert_position(page, positions[-1])
    for p in range(len(positions) - 2, -1, -1):
        page.keyboard.press("ArrowLeft")
        assert_position(page, positions[p])
    page.fill("#slider", "3")
    assert_position(page, positions[3])
    assert_highlight(page, course(), 3)


def test_the_panel_explains_each_step_in_numbers(open_page, pages):
    page, _ = open_page(pages["course"])
    steps = list(autograd.backward_steps(course()))
    for s, step in enumerate(steps):
        page.click("#next")
        text = page.text_content("#explain")
        assert f"Backward step {s + 1} of 5" in text
        assert f"= {g4(step.upstream)}" in text
        for edge in step.edges:
            assert f"{g4(step.upstream)} \u00d7 {g4(edge.local)} = {g4(edge.contribution)}" in text
            assert f"{g4(edge.before)} \u2192 {g4(edge.after)}" in text
        assert "multi-path" not in text  # the course example is a tree
    assert "Done: every grad is final" in page.text_content("#explain")


def test_the_multi_path_sum_is_named_when_it_happens(open_page, pages):
    page, _ = open_page(pages["multi"])
    seen = []
    for _ in range(3):
        page.click("#next")
        seen.append(page.locator("#explain .multipath").all_text_contents())
    # L = v*u (u gets its first share), then v = u + a (u's second: the sum), then u = a*b (a's second).
    assert seen[0] == []
    assert len(seen[1]) == 1 and "u already held -4" in seen[1][0]
    assert len(seen[2]) == 1 and "a already held -6" in seen[2][0]


def node_view(page) -> dict:
    return page.evaluate("""() => {
        const v = document.getElementById('nodeview');
        const val = (sel) => Array.from(v.querySelectorAll(sel), e => Number(e.dataset.value));
        return {hidden: v.hidden, text: v.textContent, localProducts: val('.local .product'),
                localSum: val('.local-sum'), pathProducts: val('.global .product'),
                globalSum: val('.global-sum'),
                routes: Array.from(v.querySelectorAll('.route'), e => e.textContent)};
    }""")


def test_clicking_a_node_shows_its_gradient_two_ways(open_page, pages):
    page, _ = open_page(pages["course"])
    w, x, b, y = AT["w"], AT["x"], AT["b"], AT["y"]
    h = 1 / (1 + math.exp(-(w * x + b)))
    dldw = 2 * (h - y) * h * (1 - h) * x  # closed form
    order = autograd.topological_order(course())
    i = [n.name for n in order].index("w")
    page.click(f"#v{i}")
    view = node_view(page)
    assert not view["hidden"]
    assert view["localSum"][0] == pytest.approx(dldw, rel=1e-12)
    assert view["localProducts"] == pytest.approx([dldw], rel=1e-12)
    assert view["globalSum"][0] == pytest.approx(dldw, rel=1e-12)
    assert view["routes"] == ["L \u2192 sub1 \u2192 h \u2192 z \u2192 mul1 \u2192 w"]
    assert "1 path" in view["text"]


def test_multi_path_node_sums_agree(open_page, pages):
    page, _ = open_page(pages["multi"])
    page.click("#grads tbody tr:nth-child(1)")  # node 0 is a
    view = node_view(page)
    # L = v*u, v = u + a, u = a*b at a = 2, b = -3: u = -6, v = -4, dL/da = 24.
    assert sorted(view["localProducts"]) == [-6.0, 30.0]  # from v: -6 * 1; from u: -10 * -3
    assert view["localSum"] == [24.0]
    assert sorted(view["pathProducts"]) == [-6.0, 12.0, 18.0]
    assert view["globalSum"] == [24.0]
    assert "3 paths" in view["text"]
    page.click("#nodeview .close")
    assert node_view(page)["hidden"]


def test_hostile_names_show_as_text_and_run_nothing(open_page, pages):
    page, _ = open_page(pages["xss"])
    page.keyboard.press("End")
    labels = page.locator("#grads td.label").all_text_contents()
    assert XSS in labels and "</script><script>alert(2)</script>" in labels
    page.click("#grads tbody tr:has-text('onerror')")
    assert XSS in page.text_content("#nodeview h2")
    assert page.evaluate("document.querySelectorAll('img, #explain script, #nodeview svg').length") == 0
    assert page.title() == "xss <b>&</b>"
    # The SVG shows the name as text too.
    assert XSS in page.text_content("#graph svg")


def test_the_number_format_is_pythons(open_page, pages):
    page, _ = open_page(pages["course"])
    numbers = [0.0, -0.0, 1.0, -1.5, 0.04586, 0.1081376, 12345.678, 1e-5, 1.5e-7, 123456789.0, 9999.5,
               0.00012345, 1e21, -2.5e-300, math.pi]
    got = page.evaluate("(xs) => xs.map(window.chainruleStepper.fmt)", numbers)
    assert got == [num(x) for x in numbers]  # Python's format(x, ".4g"), with -0.0 as 0 as in the pictures
    assert got[1] == "0"
    assert [g for g, x in zip(got, numbers, strict=True) if x] == [format(x, ".4g") for x in numbers if x]
    six = page.evaluate("(xs) => xs.map((x) => window.chainrulePage.gformat(x, 6))", numbers)
    assert six == [format(x, ".6g") for x in numbers]  # the engine's error messages: -0 stays -0
    specials = page.evaluate("() => [Infinity, -Infinity, NaN].map(window.chainruleStepper.fmt)")
    assert specials == ["inf", "-inf", "nan"]


def test_fits_a_projector_and_a_phone(open_page, pages):
    page, _ = open_page(pages["course"], 1280, 720)
    for selector in ("#next", "#prev", "#play", "#reset", "#slider", "#graph"):
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 720, selector
    assert page.locator("#explain").bounding_box()["y"] < 720
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    phone, _ = open_page(pages["course"], 390, 844)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    phone.click("#next")
    assert phone.locator("#next").bounding_box()["width"] >= 40  # a finger can hit it


def test_a_2000_node_graph_loads_and_steps(open_page, pages):
    root = big_graph()
    order = autograd.topological_order(root)
    assert len(order) >= 2000
    page, _ = open_page(pages["big"])
    n = page.evaluate("window.chainruleStepper.steps")
    assert n == len(list(autograd.backward_steps(big_graph())))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    root.backward()
    got = shown(page)
    assert all(g["state"] == "final" for g in got)
    for i in (0, 1, len(order) // 2, len(order) - 2):
        assert float(got[i]["grad"]) == order[i].grad
    page.click(f"#grads tbody tr:nth-child({len(order) // 2})")
    assert "not listed on a graph this large" in page.text_content("#nodeview")


# --- the classroom page: forward pass, update, names, legibility, quizzes, print ----------------------

EX51 = "a1 = w1*x + b1; h1 = relu(a1); a2 = w2*h1 + b2; h2 = relu(a2); L = (y - h2)**2"
EX51_AT = {"x": 1.0, "w1": 0.5, "b1": 0.2, "w2": 1.2, "b2": 0.1, "y": 2.0}
SIZES = [(1280, 720), (1920, 1080), (390, 844)]
LR = 0.1


def ex51():
    return autograd.parse(EX51, **EX51_AT).output


def mlp_graph():
    from chainrule import nn

    model = nn.MLP(2, [3, 3, 1], seed=1)
    return (model([0.5, -1.0]) - 1.0) ** 2


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """Pages with the forward pass (the default), an update step and each kind of quiz."""
    folder = tmp_path_factory.mktemp("classroom")
    made = {}

    def make(name, root, **opts):
        made[name] = folder / f"{name}.html"
        stepper_html(root, made[name], title=name, **opts)

    e = autograd.parse(COURSE, **AT)
    make("course", e.output, lr=LR, params=[e.variables["w"], e.variables["b"]])
    make("ex51", ex51())
    make("mlp", mlp_graph())
    for kind in ("grad", "local", "forward", "all"):
        make(f"quiz-{kind}", course(), quiz=kind)
    return made


def text_heights(page) -> list[float]:
    """The height of every visible SVG text of the graph, as Chromium lays it out, in CSS px."""
    return page.evaluate("""() => [...document.querySelectorAll('#graph svg text')]
        .filter((t) => getComputedStyle(t).visibility !== 'hidden' && t.textContent.trim())
        .map((t) => t.getBoundingClientRect().height)""")


@pytest.mark.parametrize("size", SIZES[:2])
@pytest.mark.parametrize("which", ["course", "ex51"])
def test_graph_text_is_16px_on_a_projector(open_page, classroom, which, size):
    page, _ = open_page(classroom[which], *size)
    n = len(page.evaluate("window.chainrule.nodes()"))
    assert n <= 16
    heights = text_heights(page)
    assert len(heights) > 2 * n  # names, values, grads, ops and edge labels
    assert min(heights) >= 16, sorted(heights)[:5]


def test_a_larger_graph_opens_at_12px_centred_on_the_current_node(open_page, classroom):
    page, _ = open_page(classroom["mlp"], 1920, 1080)
    assert len(page.evaluate("window.chainrule.nodes()")) > 16
    assert min(text_heights(page)) >= 12
    assert_focus_in_view(page)


def focus_rects(page) -> dict:
    return page.evaluate("""() => {
        const box = document.getElementById('graph').getBoundingClientRect();
        const ids = [...document.querySelectorAll('#graph .current, #graph g.value.receiving')].map((e) => e.id);
        const rect = (id) => { const r = document.getElementById(id).getBoundingClientRect();
                               return {id, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
        return {box: {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
                window: {width: innerWidth, height: innerHeight}, rects: ids.map(rect)};
    }""")


def assert_focus_in_view(page):
    got = focus_rects(page)
    box, win = got["box"], got["window"]
    assert got["rects"], "nothing is marked as the current step"
    current = [r for r in got["rects"] if r["id"].startswith("v")]
    for r in current:
        assert r["left"] >= box["left"] - 1 and r["right"] <= box["right"] + 1, (r, box)
        assert r["top"] >= box["top"] - 1 and r["bottom"] <= box["bottom"] + 1, (r, box)
        assert r["left"] >= 0 and r["right"] <= win["width"], (r, win)


@pytest.mark.parametrize("size", SIZES)
def test_the_current_node_and_its_parents_are_in_view_at_every_step(open_page, classroom, size):
    page, _ = open_page(classroom["ex51"], *size)
    page.evaluate("window.scrollTo(0, 0)")
    steps = page.evaluate("window.chainrule.steps()")
    for t in range(steps + 1):
        page.evaluate(f"window.chainrule.step({t})")
        assert_focus_in_view(page)
    if size[0] < 500:  # a phone opens on the output
        page.keyboard.press("Home")
        root = len(autograd.topological_order(ex51())) - 1
        assert page.evaluate("[...document.querySelectorAll('#graph .current')].map(e => e.id)") == [f"v{root}"]


def test_the_forward_pass_shows_the_engines_values(open_page, classroom):
    page, _ = open_page(classroom["course"])
    root = course()
    order = autograd.topological_order(root)
    forward = list(autograd.forward_steps(root))
    assert page.evaluate("window.chainrule.phase()") == {"kind": "forward", "k": 0}
    op_rows = [i for i, node in enumerate(order) if node.parents]
    data_cells = page.locator("#grads td.data").all_text_contents()
    assert all(data_cells[i] == "?" for i in op_rows)  # nothing computed yet
    for k, step in enumerate(forward, start=1):
        page.keyboard.press("ArrowRight")
        i = order.index(step.node)
        shown_value = page.evaluate("Number(document.querySelector('#explain .value').dataset.value)")
        assert shown_value == step.value  # the engine's float, exactly
        assert f"= {g4(step.value)}" in page.text_content("#explain .equation")
        texts = page.locator(f"#v{i} text").all_text_contents()
        assert f"data {g4(step.value)}" in texts
        later = [order.index(s.node) for s in forward[k:]]
        for j in later:
            assert "data ?" in page.locator(f"#v{j} text").all_text_contents()
        # The edges carry no local derivative yet: those belong to the backward pass.
        assert page.evaluate("[...document.querySelectorAll('#graph g.edge text')]"
                             ".every((t) => getComputedStyle(t).visibility === 'hidden')")
    page.keyboard.press("ArrowRight")  # the backward pass starts: the locals appear
    assert page.evaluate("[...document.querySelectorAll('#graph g.edge text')]"
                         ".every((t) => getComputedStyle(t).visibility === 'visible')")
    names = [n["name"] for n in page.evaluate("window.chainrule.nodes()")]
    assert names == ["y", "w", "x", "mul1", "b", "z", "h", "sub1", "L"]
    # The step that computes mul1 reads as the board would: mul1 = w × x = 0.8 × 1.5 = 1.2.
    page.evaluate(f"window.chainrule.step({[s.node for s in forward].index(order[3]) + 1})")
    assert page.text_content("#explain .equation") == "mul1 = w \u00d7 x = 0.8 \u00d7 1.5 = 1.2"


def test_the_update_step_lowers_the_loss(open_page, classroom):
    page, _ = open_page(classroom["course"])
    page.keyboard.press("End")
    assert page.evaluate("window.chainrule.phase()") == {"kind": "update"}
    root = course()
    root.backward()
    leaves = {n.name: n for n in autograd.topological_order(root) if n.is_leaf}
    new = {k: v.data for k, v in leaves.items()}
    for name in ("w", "b"):
        new[name] = leaves[name].data - LR * leaves[name].grad
        cell = page.locator(f"#explain table.update tr:has-text('{name}') .new")
        assert float(cell.get_attribute("data-value")) == pytest.approx(new[name], rel=1e-15)
    after = autograd.parse(COURSE, **new).output.data  # an independent forward pass at the new values
    shown_after = float(page.locator("#explain .loss-after").get_attribute("data-value"))
    assert shown_after == pytest.approx(after, rel=1e-12)
    assert shown_after < root.data
    assert "down by" in page.text_content("#explain .loss")


def test_tooltips_name_nodes_never_ids(open_page, classroom):
    page, _ = open_page(classroom["course"])
    page.keyboard.press("End")
    titles = page.evaluate("[...document.querySelectorAll('#graph svg g.node > title, #graph svg g.edge > title')]"
                           ".map(t => t.textContent)")
    assert titles and not [t for t in titles if re.search(r"\b(?:v|op|e)\d+\b|->", t)], titles
    node_titles = page.evaluate("[...document.querySelectorAll('#graph svg g.value > title')].map(t => t.textContent)")
    mul = next(t for t in node_titles if t.startswith("mul1"))
    assert "op: \u00d7" in mul and "value: 1.2" in mul and "grad: " in mul


def test_keys_space_plays_after_a_click_and_zoom_keys(open_page, classroom):
    page, _ = open_page(classroom["course"])
    page.click("#next")
    assert page.evaluate("window.chainrule.position()") == 1
    page.keyboard.press(" ")  # the focus is on Next: Space plays, it does not click Next again
    assert page.get_attribute("#play", "aria-pressed") == "true"
    assert page.evaluate("window.chainrule.position()") == 1
    page.keyboard.press(" ")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    scale = lambda: float(page.get_attribute("#graph", "data-scale"))  # noqa: E731
    before = scale()
    page.keyboard.press("+")
    assert scale() == pytest.approx(before * 1.25)
    page.keyboard.press("-")
    assert scale() == pytest.approx(before)
    page.keyboard.press("0")  # fit: the whole graph in the box
    fitted = page.evaluate("""() => {
        const g = document.getElementById('graph'), r = g.querySelector('svg').getBoundingClientRect();
        return r.width <= g.clientWidth + 1 && r.height <= 0.62 * innerHeight; }""")
    assert fitted
    box = page.locator("#graph").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    assert scale() > before * 0.5 and page.evaluate("window.chainrule.position()") == 1


def test_drag_pans_the_graph(open_page, classroom):
    page, _ = open_page(classroom["ex51"], 1280, 720)
    page.keyboard.press("+")
    page.keyboard.press("+")
    start = page.evaluate("document.getElementById('graph').scrollLeft")
    box = page.locator("#graph").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y, steps=5)
    page.mouse.up()
    assert page.evaluate("document.getElementById('graph').scrollLeft") == pytest.approx(start + 150, abs=2)


def test_themes_and_print(open_page, classroom):
    page, _ = open_page(classroom["course"])
    background = lambda: page.evaluate("getComputedStyle(document.body).backgroundColor")  # noqa: E731
    assert background() == "rgb(255, 255, 255)"
    page.emulate_media(color_scheme="dark")
    assert background() == "rgb(17, 24, 39)"  # following prefers-color-scheme
    page.click("#theme")  # dark -> contrast
    assert page.evaluate("document.documentElement.dataset.theme") == "contrast"
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert background() == "rgb(255, 255, 255)"
    page.emulate_media(media="print")
    hidden = page.evaluate("""() => ['#controls', '#next', '#legend', '#tablebox', '#quizbox']
        .map((s) => getComputedStyle(document.querySelector(s)).display)""")
    assert hidden == ["none"] * 5
    assert page.evaluate("getComputedStyle(document.getElementById('graph')).display") != "none"
    assert page.evaluate("getComputedStyle(document.getElementById('explain')).display") != "none"


def test_presentation_view_shows_the_graph_and_the_step(open_page, classroom):
    page, _ = open_page(classroom["course"])
    page.keyboard.press("p")
    assert page.evaluate("document.body.classList.contains('present')")
    assert page.is_hidden("#tablebox") and page.is_hidden("#legend")
    assert page.is_visible("#graph") and page.is_visible("#explain")
    page.keyboard.press("p")
    assert page.is_visible("#tablebox")


# --- quizzes -----------------------------------------------------------------------------------


def fill(page, key: str, text: str):
    page.fill(f"#quizbox input[data-key='{key}']", text)


def position(page) -> int:
    return page.evaluate("window.chainrule.position()")


def assert_locked(page):
    t = position(page)
    assert page.is_disabled("#next")
    page.keyboard.press("End")
    page.evaluate(f"window.chainrule.step({t + 3})")
    assert position(page) == t


def test_grad_quiz_locks_next_and_scores_right_retry_and_revealed(open_page, classroom):
    page, _ = open_page(classroom["quiz-grad"])
    root = course()
    order = autograd.topological_order(root)
    steps = list(autograd.backward_steps(root))
    forward = len(list(autograd.forward_steps(course())))
    page.evaluate(f"window.chainrule.step({forward + 1})")  # the grad quiz asks nothing in the forward pass
    assert position(page) == forward + 1
    assert_locked(page)
    # Step 1: right first time.
    (edge,) = steps[0].edges
    fill(page, f"g{order.index(edge.parent)}", g4(edge.after))
    page.click("#check")
    assert position(page) == forward + 2
    # Step 2: y right, h wrong: nothing moves; then h right: right after a retry.
    y_edge, h_edge = steps[1].edges
    fill(page, f"g{order.index(y_edge.parent)}", repr(y_edge.after * (1 + 9e-4)))  # within 1e-3
    fill(page, f"g{order.index(h_edge.parent)}", repr(h_edge.after * (1 + 1.1e-3)))  # not within
    page.click("#check")
    assert position(page) == forward + 2
    assert "try again" in page.text_content("#quizbox")
    assert_locked(page)
    fill(page, f"g{order.index(h_edge.parent)}", repr(h_edge.after))
    page.click("#check")
    assert position(page) == forward + 3
    # Step 3: revealed.
    page.click("#reveal")
    assert position(page) == forward + 4
    assert "revealed" in page.text_content("#explain .verdicts")
    # Steps 4 and 5: right first time.
    for step in steps[3:]:
        for edge in step.edges:
            fill(page, f"g{order.index(edge.parent)}", repr(edge.after))
        page.click("#check")
    assert position(page) == page.evaluate("window.chainrule.steps()")
    score = page.locator("#scorebox .score")
    assert (score.get_attribute("data-first"), score.get_attribute("data-retry"),
            score.get_attribute("data-revealed")) == ("3", "1", "1")
    outcomes = page.locator("#scorebox li").evaluate_all("(items) => items.map((li) => li.dataset.outcome)")
    assert outcomes == ["first", "retry", "revealed", "first", "first"]
    page.click("#restart")
    assert position(page) == 0 and page.is_hidden("#scorebox")


def test_local_quiz_hides_the_edges_while_it_asks(open_page, classroom):
    page, _ = open_page(classroom["quiz-local"])
    root = course()
    order = autograd.topological_order(root)
    steps = list(autograd.backward_steps(root))
    forward = len(list(autograd.forward_steps(course())))
    page.evaluate(f"window.chainrule.step({forward + 1})")
    hidden = lambda: page.evaluate(  # noqa: E731
        "[...document.querySelectorAll('#graph g.edge text')].filter(t => getComputedStyle(t).visibility === 'hidden')"
        ".length")
    total_edges = sum(len(s.edges) for s in steps)
    assert hidden() == total_edges  # no local derivative is shown before it is asked
    assert "0.4283" not in page.text_content("#quizbox")
    for s, step in enumerate(steps):
        for k, edge in enumerate(step.edges):
            fill(page, f"l{k}", repr(edge.local))
        page.click("#check")
        assert hidden() == total_edges - sum(len(x.edges) for x in steps[: s + 1])
        i = order.index(step.node)
        for k, edge in enumerate(step.edges):
            assert page.text_content(f"#e{i}_{k} text") == g4(edge.local)
    assert page.get_attribute("#scorebox .score", "data-first") == str(len(steps))


def test_forward_quiz_takes_fractions(open_page, classroom):
    page, _ = open_page(classroom["quiz-forward"])
    root = course()
    order = autograd.topological_order(root)
    forward = list(autograd.forward_steps(root))
    assert_locked(page)
    first = forward[0]  # mul1 = w * x = 1.2
    assert first.value == pytest.approx(1.2)
    fill(page, f"v{order.index(first.node)}", "6/5")
    page.click("#check")
    assert position(page) == 1
    for _ in forward[1:]:
        page.click("#reveal")
    assert page.evaluate("window.chainrule.phase()") == {"kind": "forward", "k": len(forward)}
    page.keyboard.press("End")  # the backward pass asks nothing in a forward quiz
    score = page.locator("#scorebox .score")
    assert (score.get_attribute("data-first"), score.get_attribute("data-revealed")) == ("1", str(len(forward) - 1))


def test_all_quiz_asks_values_locals_and_grads(open_page, classroom):
    page, _ = open_page(classroom["quiz-all"])
    forward = list(autograd.forward_steps(course()))
    steps = list(autograd.backward_steps(course()))
    kinds = []
    for _ in range(len(forward) + 1 + len(steps)):
        if page.is_visible("#quizbox"):
            kinds.append(sorted(set(page.locator("#quizbox input").evaluate_all(
                "(xs) => xs.map((x) => x.dataset.kind)"))))
            page.click("#reveal")
        else:
            page.click("#next")
    assert kinds == [["forward"]] * len(forward) + [["grad", "local"]] * len(steps)
    assert page.get_attribute("#scorebox .score", "data-revealed") == str(len(forward) + len(steps))


def test_the_demos_pages_have_unique_display_names(open_page, tmp_path):
    import subprocess
    import sys

    for demo in ("exercise_5_1", "seed_example"):
        subprocess.run([sys.executable, "-m", f"demos.{demo}", "--out", str(tmp_path / demo), "--quick"],
                       check=True, capture_output=True, cwd=str(Path(__file__).parent.parent))
    pages = sorted(tmp_path.rglob("*.html"))
    assert len(pages) >= 3
    for path in pages:
        page, _ = open_page(path)
        names = [n["name"] for n in page.evaluate("window.chainrule.nodes()")]
        assert len(names) == len(set(names)), (path.name, names)
        labels = page.locator("#grads td.label").all_text_contents()
        assert labels == names
        assert not [x for x in labels if x.startswith("(")]  # no "(*)" or "(relu)" left


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("which", ["course", "ex51"])
def test_the_graph_and_the_current_step_print_on_one_page(open_page, classroom, tmp_path, which, paper):
    from pypdf import PdfReader

    page, _ = open_page(classroom[which])
    steps = page.evaluate("window.chainrule.steps()")
    page.evaluate(f"window.chainrule.step({steps - 1})")  # a backward step with its explanation
    page.emulate_media(media="print")
    pdf = tmp_path / f"{which}-{paper}.pdf"
    page.pdf(path=str(pdf), format=paper)
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Backward step" in text and "Next" not in text and "Reset" not in text
    assert "What if" not in text  # the what-if panel is a control too: not on paper
