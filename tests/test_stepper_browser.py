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
import shutil
from dataclasses import dataclass, field

import pytest
from chainrule.autograd import Value
from chainrule.viz.stepper import stepper_html
from conftest import require

from chainrule import autograd

pytestmark = pytest.mark.browser

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
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
def browser():
    require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for name, build, quiz in [("course", course, False), ("quiz", course, True), ("multi", multi, False),
                              ("xss", xss_graph, False), ("big", big_graph, False)]:
        made[name] = folder / f"{name}.html"
        stepper_html(build(), made[name], quiz=quiz, title=f"{name} <b>&</b>")
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
        assert page.text_content("#position") == f"step {p} of 5"
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
        assert f"Step {s + 1} of 5" in text
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
    assert view["routes"] == ["L \u2192 (-) \u2192 h \u2192 z \u2192 (*) \u2192 w"]
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


def answer(page, values: dict[int, str]):
    for parent, text in values.items():
        page.fill(f"#quizbox input[data-parent='{parent}']", text)
    page.click("#check")


def test_quiz_accepts_answers_within_a_relative_thousandth(open_page, pages):
    page, _ = open_page(pages["quiz"])
    root = course()
    order = autograd.topological_order(root)
    steps = list(autograd.backward_steps(root))
    assert page.is_hidden("#play")
    # Step 1: L -> (-): typed as the page shows it, 4 digits.
    (edge,) = steps[0].edges
    assert page.is_visible("#quizbox")
    answer(page, {order.index(edge.parent): g4(edge.after)})
    assert page.evaluate("window.chainruleStepper.position()") == 1
    assert page.locator("#explain .verdicts .right").count() == 1
    # Step 2: (-) -> y and h; y off by 0.09% (right), h off by 0.11% (wrong).
    y_edge, h_edge = steps[1].edges
    answer(page, {order.index(y_edge.parent): repr(y_edge.after * (1 + 9e-4)),
                  order.index(h_edge.parent): repr(h_edge.after * (1 + 1.1e-3))})
    right = page.locator("#explain .verdicts .right").all_text_contents()
    wrong = page.locator("#explain .verdicts .wrong").all_text_contents()
    assert len(right) == 1 and right[0].startswith("\u2714 right: y.grad")
    assert len(wrong) == 1 and wrong[0].startswith("\u2718 wrong: h.grad = " + g4(h_edge.after))
    # Step 3: nonsense is wrong, and the answer is revealed with it.
    (z_edge,) = steps[2].edges
    answer(page, {order.index(z_edge.parent): "banana"})
    assert "you typed banana" in page.text_content("#explain .verdicts .wrong")
    assert_position(page, expected_positions(course())[3])
    # A node not yet final is not given away by the click view.
    page.click(f"#v{[n.name for n in order].index('w')}")
    assert "Quiz mode" in page.text_content("#nodeview")
    # Show the answer: the step is applied with no verdict.
    page.click("#reveal")
    assert page.evaluate("window.chainruleStepper.position()") == 4
    assert page.locator("#explain .verdicts").count() == 0


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
    assert got == [format(x, ".4g") for x in numbers]
    specials = page.evaluate("() => [Infinity, -Infinity, NaN].map(window.chainruleStepper.fmt)")
    assert specials == ["inf", "-inf", "nan"]


def test_fits_a_projector_and_a_phone(open_page, pages):
    page, _ = open_page(pages["course"], 1280, 720)
    for selector in ("#next", "#prev", "#play", "#reset", "#slider", "#graph svg"):
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
