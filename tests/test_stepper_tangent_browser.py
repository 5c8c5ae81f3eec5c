"""The stepper's forward-mode view (``stepper_html(..., tangent="x")``) in Chromium.

Every tangent the page shows (in the value boxes, in the table, on the arrows,
in the explanation) is read back at every forward position, for every input the
select can seed, and held against central differences of the graph built again
at x ± h, and, at the output, against the reverse-mode gradient. The browser
comes from conftest.py, the page watch from test_stepper_browser.py.
"""

from __future__ import annotations

import pytest
import test_stepper_browser as shared
from chainrule.autograd import parse, topological_order
from chainrule.viz.stepper import stepper_html

pytestmark = pytest.mark.browser

open_page = shared.open_page  # a page whose requests, errors and dialogs are checked when the test ends

FORMULA = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"w": 0.8, "x": 1.5, "b": -0.4, "y": 1.0}
H = 1e-6


def build(**changes):
    return parse(FORMULA, **dict(AT, **changes))


def central(name: str, at: dict | None = None) -> list[float]:
    """d(node)/d(name) for every node, by central differences (the graph built again at name ± h)."""
    at = dict(AT, **(at or {}))
    up = topological_order(build(**dict(at, **{name: at[name] + H})).output)
    down = topological_order(build(**dict(at, **{name: at[name] - H})).output)
    return [(u.data - d.data) / (2 * H) for u, d in zip(up, down, strict=True)]


def shown(page) -> dict:
    return page.evaluate("""() => ({
        boxes: Array.from(document.querySelectorAll('#graph g.node[id^=v]'), (g) => {
            const t = Array.from(g.querySelectorAll('text')).find((x) => x.textContent.startsWith('\u2202/\u2202'));
            return {id: g.id, text: t.textContent, value: t.dataset.tangent};
        }),
        cells: Array.from(document.querySelectorAll('#grads td.tangent'), (td) => td.dataset.tangent),
        flows: Array.from(document.querySelectorAll('#graph [data-tangent-flow]'),
                          (t) => ({edge: t.closest('g.edge').id, value: Number(t.dataset.tangentFlow)})),
        equation: (document.querySelector('.tangent-equation') || {}).textContent || '',
        root: Number((document.querySelector('#tangent-explain .tangent-root') || {dataset: {}}).dataset.value),
        gradOfSeed: Number((document.querySelector('#tangent-explain .grad-of-seed') || {dataset: {}}).dataset.value),
    })""")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tangent") / "modes.html"
    e = build()
    stepper_html(e.output, path, tangent="x", title=FORMULA, lr=0.1, params=[e.variables["w"]])
    return path


def test_the_tangents_shown_equal_central_differences_and_backprop_for_every_seed(open_page, page_file):
    page, _ = open_page(page_file)
    page.wait_for_selector("body[data-tangent=true]")
    e = build()
    root = e.output
    order = topological_order(root)
    root.backward()  # the oracle for the output's tangent: reverse mode's gradient
    options = page.eval_on_selector_all("#seed option", "(os) => os.map((o) => o.textContent)")
    assert options == ["y", "w", "x", "b"]  # the named inputs, in topological order; no constant
    assert page.input_value("#seed") == "2"  # tangent="x" seeds x first
    forward = [i for i, node in enumerate(order) if not node.is_leaf]
    F, B = len(forward), len(forward)
    for k, seed in enumerate(options):
        page.select_option("#seed", str(k))
        expected = central(seed)
        for t in range(F + 1):
            page.evaluate(f"window.chainrule.step({t})")
            got = shown(page)
            known = {i for i, node in enumerate(order) if node.is_leaf} | set(forward[:t])
            for i, (box, cell) in enumerate(zip(got["boxes"], got["cells"], strict=True)):
                assert box["id"] == f"v{i}"
                if i not in known:
                    assert box["text"] == f"\u2202/\u2202{seed} ?" and cell == "" and box["value"] == "", (seed, t, i)
                    continue
                value = float(box["value"])
                assert float(cell) == value
                assert value == pytest.approx(expected[i], rel=1e-6, abs=1e-9), (seed, t, i, value, expected[i])
                assert box["text"] == f"\u2202/\u2202{seed} " + page.evaluate(f"window.chainrule.fmt({value})")
            if t == 0:
                assert got["flows"] == []
                continue
            i = forward[t - 1]
            node = order[i]
            # The tangent flows with the arrows into the node computed now: local x the parent's tangent.
            flows = {flow["edge"]: flow["value"] for flow in got["flows"]}
            assert set(flows) == {f"e{i}_{k2}" for k2 in range(len(node.parents))}
            for k2, (parent, local) in enumerate(zip(node.parents, node.local_grads(), strict=True)):
                parent_tangent = expected[order.index(parent)]
                assert flows[f"e{i}_{k2}"] == pytest.approx(local * parent_tangent, rel=1e-6, abs=1e-9)
            name = page.evaluate(f"window.chainrule.nodes()[{i}].name")
            assert got["equation"].startswith(f"\u2202{name}/\u2202{seed} = ")
        # The last forward step: one sweep gave dL/d(seed), reverse mode's gradient.
        leaf = e.variables[seed]
        assert got["root"] == pytest.approx(leaf.grad, rel=1e-12)
        # After the backward pass: the page puts both numbers side by side, and they agree.
        page.evaluate(f"window.chainrule.step({F + 1 + B})")
        got = shown(page)
        assert got["root"] == pytest.approx(got["gradOfSeed"], rel=1e-12)
        assert got["gradOfSeed"] == pytest.approx(leaf.grad, rel=1e-12)
        cell = page.eval_on_selector(f"#grads tr[data-node='{order.index(leaf)}'] td.grad", "(td) => td.dataset.grad")
        assert float(cell) == got["gradOfSeed"]


def test_a_local_quiz_keeps_the_locals_off_the_arrows(open_page, tmp_path):
    path = tmp_path / "local.html"
    stepper_html(build().output, path, tangent="w", quiz="local")
    page, _ = open_page(path)
    page.wait_for_selector("body[data-tangent=true]")
    page.evaluate("window.chainrule.step(1)")
    got = shown(page)
    assert got["flows"] == []
    assert got["equation"] == "\u2202mul1/\u2202w = 1.5"  # the tangent alone, no local derivative to copy


def test_the_page_refuses_what_it_cannot_show():
    e = build()
    with pytest.raises(ValueError, match="forward=False"):
        stepper_html(e.output, tangent="x", forward=False)
    with pytest.raises(ValueError, match="its inputs are y, w, x, b"):
        stepper_html(e.output, tangent="z")
    with pytest.raises(TypeError, match="float"):
        stepper_html(e.output, tangent=1.5)


def test_hostile_names_in_the_select_and_the_tangent_lines_stay_text(open_page, tmp_path):
    c = shared.xss_graph()  # names that are markup and script; the watch fails the test on any dialog or request
    path = tmp_path / "xss.html"
    a = [node for node in topological_order(c) if node.name == shared.XSS][0]
    stepper_html(c, path, tangent=a)
    page, _ = open_page(path)
    page.wait_for_selector("body[data-tangent=true]")
    for t in range(3):
        page.evaluate(f"window.chainrule.step({t})")
    assert page.eval_on_selector("#seed option", "(o) => o.textContent") == shared.XSS
    assert page.evaluate("document.querySelectorAll('img, #explain script').length") == 0
    got = shown(page)
    assert got["root"] == pytest.approx(-3.0 + 1.0)  # d(a*b + a)/da = b + 1


def test_what_if_moves_the_tangents_too(open_page, page_file):
    """A new input value in the page: every seed's tangents are those of the graph at the new point."""
    page, _ = open_page(page_file)
    page.wait_for_selector("body[data-tangent=true]")
    moved = {"w": -1.3, "b": 0.9}
    for name, value in moved.items():
        assert page.evaluate(f"window.chainrule.set({name!r}, {value})") is None  # no domain error
    e = build(**moved)
    order = topological_order(e.output)
    e.output.backward()
    F = sum(1 for node in order if not node.is_leaf)
    page.evaluate(f"window.chainrule.step({F})")  # the forward pass done: every tangent shown
    for k, seed in enumerate(["y", "w", "x", "b"]):
        page.select_option("#seed", str(k))
        expected = central(seed, moved)
        got = shown(page)
        for i, box in enumerate(got["boxes"]):
            assert float(box["value"]) == pytest.approx(expected[i], rel=1e-6, abs=1e-9), (seed, i)
        assert got["root"] == pytest.approx(e.variables[seed].grad, rel=1e-12)
