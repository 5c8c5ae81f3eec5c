"""The stepper's neuron view, the training page's stepper at a step, and ``steps --mlp --view neurons``.

In Chromium (the launcher and the page watch of test_stepper_browser: no request but
the page itself, no error, no dialog): a neuron opens in place into its scalar nodes,
whose grads at every backward position are the engine's own (``backward_steps`` on a
graph built again); it folds back to Graphviz's picture; every label of MLP(2, [16, 16, 1])
is at least 12 px tall at 1920x1080. The training page's stepper at step k shows the
numbers of a forward and backward pass, written out here, at the recording's step-k weights,
for any recorded step (its weights set into one page per point by what-if's setMany); what-if in
the neuron view equals the engine; a loss without what-if keeps its per-step pages.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chainrule.autograd import Value, topological_order
from chainrule.viz.neuron_stepper import view_data
from chainrule.viz.stepper import stepper_html
from chainrule.viz.training import training_html
from test_stepper_browser import expected_positions, g4, open_page  # noqa: F401  (a fixture)

from chainrule import nn


def network_loss(sizes: list[int], seed: int = 0, x=(0.5, -1.0), y: float = 1.0) -> Value:
    """(y - out)^2 of an MLP on one point: the graph ``steps --mlp`` builds."""
    model = nn.MLP(sizes[0], sizes[1:], seed=seed)
    out = model([Value(v, name=f"x{k + 1}") for k, v in enumerate(x)])
    return (Value(y, name="y") - out) ** 2


def data_of(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))


def test_every_scalar_node_is_in_one_unit_and_every_outside_input_has_its_arrow():
    root = network_loss([2, 3, 2, 1])
    order = topological_order(root)
    view, groups = view_data(root, order)
    ids = [u["id"] for u in view["units"]]
    assert ids == ["n1_1", "n1_2", "n1_3", "n2_1", "n2_2", "n3_1", "loss"]
    inputs = [i for i, node in enumerate(order) if node.name in ("x1", "x2")]
    seen = sorted(i for ids in groups.values() for i in ids)
    assert seen == sorted(set(range(len(order))) - set(inputs))  # each node once; the inputs are circles
    for unit in view["units"]:
        for stub in unit["stubs"]:  # an input from outside: x, a neuron of the layer before, or the last neuron
            assert view["owner"][stub["parent"]] != unit["id"]
        if unit["id"].startswith("n"):
            layer, j = unit["id"][1:].split("_")
            # one dot per weight, each fed by the arrow of that weight
            assert sorted(s["arrow"] for s in unit["stubs"]) == [f"w{layer}_{j}_{k + 1}"
                                                                 for k in range(len(unit["stubs"]))]
    assert [s["arrow"] for s in view["units"][-1]["stubs"]] == ["o1"]
    page = stepper_html(root, view="neurons")
    for i, node in enumerate(order):  # the hidden pictures carry the scalar view's ids, once each
        assert page.count(f'id="v{i}"') == (0 if i in inputs else 1)
        assert page.count(f'id="op{i}"') == (0 if node.is_leaf else 1)


def test_a_neuron_opens_in_place_and_its_steps_play_with_the_engines_numbers(open_page, tmp_path):  # noqa: F811
    root = network_loss([2, 3, 1])
    path = tmp_path / "net.html"
    page_text = stepper_html(root, path, view="neurons", forward=False)
    view = data_of(page_text)["neurons"]
    unit = next(u for u in view["units"] if u["id"] == "n1_2")
    again = network_loss([2, 3, 1])  # the same network built again: the engine's own pass
    positions = expected_positions(again)
    owner = view["owner"]
    steps = data_of(page_text)["steps"]
    page, _ = open_page(path, 1920, 1080)
    closed_box = page.evaluate("document.querySelector('#graph svg').getAttribute('viewBox')")
    page.click("#n1_2")
    assert page.evaluate("document.body.dataset.open") == "n1_2"
    assert page.evaluate("document.getElementById('open-n1_2').getAttribute('visibility')") == "visible"
    assert page.evaluate("document.getElementById('n1_2').getAttribute('visibility')") == "hidden"
    assert page.evaluate("document.querySelector('#graph svg').getAttribute('viewBox')") != closed_box
    # each weight's arrow now ends at its dot in the open neuron
    for stub in unit["stubs"]:
        gap = page.evaluate("""([arrow, dot]) => {
          const a = document.querySelector('#' + arrow + ' polygon').getBoundingClientRect();
          const d = document.getElementById(dot).getBoundingClientRect();
          return Math.hypot(a.right - d.left, (a.top + a.bottom) / 2 - (d.top + d.bottom) / 2);
        }""", [stub["arrow"], stub["id"]])
        assert gap < 12, (stub, gap)
    inside = list(unit["nodes"])
    played_inside = 0
    for p, expected in enumerate(positions):
        assert page.evaluate(f"window.chainrule.step({p})") == p
        shown = page.evaluate("""(ids) => ids.map(i => [...document.querySelectorAll('#v' + i + ' text')]
          .reverse().find(t => t.textContent.startsWith('grad')).textContent)""", inside)
        for i, text in zip(inside, shown, strict=True):
            state, grad = expected[i]
            want = {"none": "grad \u2014", "partial": f"grad {g4(grad) if grad is not None else ''}\u2026",
                    "final": f"grad {g4(grad) if grad is not None else ''}"}[state]
            assert text == want, (p, i, text, want)
        if p == 0:
            continue
        node = steps[p - 1]["node"]
        if owner[node] == "n1_2":  # the step is inside the open neuron: its own box is marked
            played_inside += 1
            assert page.evaluate(f"document.getElementById('v{node}').classList.contains('current')")
        elif owner[node]:  # inside a closed one: its circle (or the loss box) is marked
            assert page.evaluate(f"document.getElementById('{owner[node]}').classList.contains('current')")
    assert played_inside >= 4  # the sum, the relu and the two products of L1.N2
    # the closed circles show their output's final grad at the end
    circle = page.evaluate("[...document.querySelectorAll('#n1_1 text')].map(t => t.textContent)")
    h = next(n for n in topological_order(again) if n.name == "L1.N1.h")
    assert f"grad {g4(h.grad)}" in circle
    page.click("#open-n1_2 g.fold")
    assert page.evaluate("document.body.dataset.open") == ""
    assert page.evaluate("document.querySelector('#graph svg').getAttribute('viewBox')") == closed_box
    assert page.evaluate("document.getElementById('n1_2').getAttribute('visibility')") == "visible"
    assert page.evaluate("document.getElementById('open-n1_2').getAttribute('visibility')") == "hidden"


VISIBLE_TEXT_HEIGHTS = """(root) => [...document.querySelectorAll(root + ' text')].filter(t => {
  for (let e = t; e && e.tagName !== 'svg'; e = e.parentNode) {
    if (e.getAttribute && e.getAttribute('visibility') === 'hidden') return false;
  }
  return t.textContent.trim() !== '';
}).map(t => t.getBoundingClientRect().height)"""


def test_mlp_2_16_16_1_in_the_neurons_stepper_is_readable_at_1920x1080(open_page, tmp_path):  # noqa: F811
    path = tmp_path / "big.html"
    stepper_html(network_loss([2, 16, 16, 1]), path, view="neurons")
    page, _ = open_page(path, 1920, 1080)
    heights = page.evaluate(VISIBLE_TEXT_HEIGHTS, "#graph svg")
    assert len(heights) >= 35 * 3 and min(heights) >= 12  # 35 circles of 3 lines or more, and the loss
    # the 304 weight arrows carry no text (hover shows it), so nothing smaller is drawn
    assert page.evaluate("document.querySelectorAll('#graph svg g.weight-label').length") == 0
    page.click("#n2_5")
    opened = page.evaluate(VISIBLE_TEXT_HEIGHTS, "#open-n2_5")
    assert len(opened) > 16 * 4 and min(opened) >= 12  # an open neuron of 16 weights, at the same zoom


def hinge_step(flat: list[float], x, label):
    """The hinge loss of one point, max(0, 1 - s * score), written out, at the weights ``flat``."""
    model = nn.MLP(2, [4, 4, 1], seed=99)  # other weights: every number comes from ``flat``
    for p, v in zip(model.parameters(), flat, strict=True):
        p.data = v
    s = 1.0 if label == 1 else -1.0
    loss = (1 - s * model([Value(x[0]), Value(x[1])])).relu()
    loss.backward()
    return loss.data, {p.name: (p.data, p.grad) for p in model.parameters()}


def python_nodes(flat: list[float], x, label) -> dict[str, tuple[float, float]]:
    """Every named node of the point's hinge loss at the weights ``flat``: (value, grad), by the engine."""
    from chainrule.autograd.names import display_names

    model = nn.MLP(2, [4, 4, 1], seed=99)
    for p, v in zip(model.parameters(), flat, strict=True):
        p.data = v
    s = 1.0 if label == 1 else -1.0
    loss = (1 - s * model([Value(x[0], name="x1"), Value(x[1], name="x2")])).relu()
    loss.backward()
    order = topological_order(loss)
    names = display_names(order)
    return {names[n]: (n.data, n.grad) for n in order if n.name}


def assert_nodes_equal(nodes: list[dict], want: dict[str, tuple[float, float]], where) -> None:
    shown = {n["name"]: (n["data"], n["grad"]) for n in nodes}
    assert want.keys() <= shown.keys(), where
    for name, (data, grad) in want.items():
        assert math.isclose(shown[name][0], data, rel_tol=1e-12, abs_tol=1e-15), (where, name)
        assert math.isclose(shown[name][1], grad, rel_tol=1e-12, abs_tol=1e-15), (where, name)


def open_stepper(page, step: int):
    """Click "Open the stepper" on the training page and return its frame once it shows ``step``."""
    page.click("#open-stepper")
    for _ in range(200):  # the page's CSP forbids wait_for_function's eval: poll instead (bounded)
        if page.evaluate("document.getElementById('stepper-view').dataset.step") == str(step):
            break
        page.wait_for_timeout(25)
    return next(f for f in page.frames if f != page.main_frame)


def circle_words(frame, unit: str) -> list[str]:
    return frame.evaluate("""(id) => [...document.querySelectorAll('#' + id + ' text')]
      .filter(t => t.getAttribute('visibility') !== 'hidden').map(t => t.textContent)""", unit)


def test_the_training_page_opens_the_stepper_at_any_step_with_that_steps_weights(open_page, tmp_path):  # noqa: F811
    X, y = nn.make_moons(30, noise=0.1, seed=1)
    model = nn.MLP(2, [4, 4, 1], seed=3)
    history = nn.fit(model, X, y, steps=25, record=True, progress=False)
    rec = history.recording
    # two points the step-12 model gets wrong or inside the margin: their loss has a gradient
    chosen = [i for i in range(len(X)) if hinge_step(rec.params[12], X[i], y[i])[0] > 0][:2]
    assert len(chosen) == 2
    path = tmp_path / "run.html"
    training_html(history, model, X, y, path, stepper_points=chosen)
    data = data_of(path.read_text(encoding="utf-8"))
    assert data["stepperLive"] and [p["point"] for p in data["steppers"]] == chosen  # one page per point
    page, _ = open_page(path, 1920, 1080)
    seen = {}
    for k in (0, 7, 12, 24, 3):  # no page was built for 7, 12, 24 or 3
        page.locator("#slider").fill(str(k))
        for point in chosen:
            page.select_option("#stepper-point", str(point))
            assert page.evaluate("document.getElementById('open-stepper').textContent") == \
                f"Open the stepper: point {point} at step {rec.steps[k]}"
            frame = open_stepper(page, rec.steps[k])
            assert frame.evaluate("document.body.dataset.view") == "neurons"
            nodes = frame.evaluate("window.chainrule.nodes()")
            loss, params = hinge_step(rec.params[k], X[point], y[point])
            assert math.isclose(nodes[-1]["data"], loss, rel_tol=1e-12, abs_tol=1e-15)
            shown = {n["name"]: (n["data"], n["grad"]) for n in nodes if n["name"] in params}
            assert len(shown) == len(params) == len(rec.names)
            for name, (value, grad) in params.items():
                assert shown[name][0] == value  # the recording's step-k weight, exactly
                assert math.isclose(shown[name][1], grad, rel_tol=1e-12, abs_tol=1e-15), (k, name)
            assert_nodes_equal(nodes, python_nodes(rec.params[k], X[point], y[point]), (k, point))
            # the closed circles and the loss box show step k's numbers at the end of the pass
            frame.evaluate("window.chainrule.step(window.chainrule.steps())")
            want = python_nodes(rec.params[k], X[point], y[point])
            for unit in (f"n{layer}_{j}" for layer in (1, 2) for j in (1, 2, 3, 4)):  # some die or wake since step 0
                h, z = want[f"L{unit[1]}.N{unit[3]}.h"][0], want[f"L{unit[1]}.N{unit[3]}.z"][0]
                words = circle_words(frame, unit)
                assert f"out {g4(h)}" in words and ("dead" in words) == (z <= 0), (k, unit, words)
            assert g4(loss) in circle_words(frame, "loss")
            seen[k, point] = shown
            page.click("#close-stepper")
            assert page.evaluate("document.getElementById('stepper-frame').hidden")
    assert seen[12, chosen[0]] != seen[12, chosen[1]] and seen[0, chosen[0]] != seen[12, chosen[0]]
    assert any(grad != 0 for _, grad in seen[12, chosen[0]].values())


def test_what_if_in_the_neurons_view_equals_the_engine(open_page, tmp_path):  # noqa: F811
    X, y = nn.make_moons(30, noise=0.1, seed=1)
    model = nn.MLP(2, [4, 4, 1], seed=3)
    history = nn.fit(model, X, y, steps=3, record=True, progress=False)
    path = tmp_path / "run.html"
    training_html(history, model, X, y, path, stepper_points=[5])
    page, _ = open_page(path, 1280, 720)
    frame = open_stepper(page, 0)
    flat = list(history.recording.params[0])
    assert_nodes_equal(frame.evaluate("window.chainrule.nodes()"), python_nodes(flat, X[5], y[5]), "start")
    # one leaf by set(): an input, then a weight (an open neuron's boxes follow too)
    frame.evaluate("window.chainruleNeurons.toggle('n1_2')")
    assert frame.evaluate("window.chainrule.set('x1', -0.4)") is None
    assert frame.evaluate("window.chainrule.set('L1.N2.w1', 1.75)") is None
    flat[3] = 1.75  # L1.N2.w1: parameters() order is L1.N1.w1, L1.N1.w2, L1.N1.b, L1.N2.w1, ...
    want = python_nodes(flat, (-0.4, X[5][1]), y[5])
    assert_nodes_equal(frame.evaluate("window.chainrule.nodes()"), want, "set")
    frame.evaluate("window.chainrule.step(window.chainrule.steps())")
    z = want["L1.N2.z"][0]
    box = frame.evaluate("[...document.querySelectorAll('#open-n1_2 text')].map(t => t.textContent)")
    assert f"data {g4(z)}" in box  # the open neuron's z box shows the new value
    # many leaves by setMany(): one recomputation, the same numbers as set() one by one
    other = [0.9 * v - 0.05 for v in flat]
    names = [p.name for p in model.parameters()]
    assert frame.evaluate("([n, v]) => window.chainrule.setMany(Object.fromEntries(n.map((k, i) => [k, v[i]])))",
                          [names, other]) is None
    assert_nodes_equal(frame.evaluate("window.chainrule.nodes()"), python_nodes(other, (-0.4, X[5][1]), y[5]),
                       "setMany")
    # a bad name or value changes nothing
    for bad in ("{'L1.N1.w1': 2, 'nope': 1}", "{'L1.N1.w1': 2, 'L1.N1.h': 1}", "{'L1.N1.w1': NaN}"):
        thrown = frame.evaluate(f"() => {{ try {{ window.chainrule.setMany({bad}); return ''; }} "
                                "catch (e) { return e.message; } }")
        assert thrown, bad
        assert frame.evaluate("window.chainrule.values()")["L1.N1.w1"] == other[0]


def test_a_loss_without_what_if_keeps_steppers_spread_over_the_run_within_the_budget(tmp_path):
    X, y = nn.make_xor(20, noise=0.1, seed=0)
    model = nn.MLP(2, [3, 2], seed=0)  # two outputs: fit's cross_entropy, which the page cannot recompute
    history = nn.fit(model, X, y, steps=30, record=True, progress=False)
    data = data_of(training_html(history, model, X, y))
    assert data["stepperLive"] is False
    steps = [p["step"] for p in data["steppers"]]
    assert steps[0] == 0 and steps[-1] == 29 and steps == sorted(set(steps)) and len(steps) == 6
    with pytest.raises(ValueError, match="stepper_points"):
        training_html(history, model, X, y, stepper_points=[20])
    with pytest.raises(ValueError, match="stepper_steps"):
        training_html(history, model, X, y, stepper_steps=[0, 30])


def test_without_what_if_the_page_goes_to_the_nearest_step_that_has_a_stepper(open_page, tmp_path):  # noqa: F811
    X, y = nn.make_xor(20, noise=0.1, seed=0)
    model = nn.MLP(2, [3, 2], seed=0)  # cross_entropy: pages built in Python at steps 0 and 12 only
    history = nn.fit(model, X, y, steps=20, record=True, progress=False)
    rec = history.recording
    path = tmp_path / "run.html"
    training_html(history, model, X, y, path, stepper_steps=[0, 12])
    page, _ = open_page(path, 1280, 720)
    page.locator("#slider").fill("8")
    assert "Go to step 12" in page.evaluate("document.getElementById('open-stepper').textContent")
    page.click("#open-stepper")  # to the nearest step that has a stepper
    assert page.evaluate("document.body.dataset.step") == "12"
    frame = open_stepper(page, 12)
    assert frame.evaluate("window.chainrule.whatIf().available") is False
    shown = {n["name"]: n["data"] for n in frame.evaluate("window.chainrule.nodes()")}
    assert [shown[name] for name in rec.names] == list(rec.params[12])


def test_the_page_keeps_every_recorded_parameter_exactly():
    import base64
    import struct

    X, y = nn.make_xor(20, noise=0.1, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, X, y, steps=5, record=True, progress=False)
    data = data_of(training_html(history, model, X, y))
    assert data["stepperLive"] is True and len(data["steppers"]) == 1
    rec = history.recording
    for text, row in zip(data["params"], rec.params, strict=True):
        raw = base64.b64decode(text)
        assert list(struct.unpack(f"<{len(raw) // 8}d", raw)) == list(row)


# --- the command ----------------------------------------------------------------------------


def command(*args: str, cwd=None):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


def test_steps_mlp_view_neurons_writes_the_network_stepper(tmp_path):
    out = tmp_path / "net.html"
    result = command("steps", "--mlp", "2,3,1", "--view", "neurons", "--at", "x1=0.5,x2=-1,y=1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = data_of(out.read_text(encoding="utf-8"))
    assert [u["id"] for u in data["neurons"]["units"]] == ["n1_1", "n1_2", "n1_3", "n2_1", "loss"]
    loss = network_loss([2, 3, 1], seed=0, x=(0.5, -1.0), y=1.0)
    loss.backward()
    expected = {n.name: (n.data, n.grad) for n in topological_order(loss) if n.name}
    shown = {n["name"]: (n["data"], n["grad"]) for n in data["nodes"]}
    for name, (value, grad) in expected.items():  # the page is this network's pass at seed 0
        assert shown[name][0] == value and math.isclose(shown[name][1], grad, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize(("args", "words"), [
    (["a*b", "--at", "a=1,b=2", "--view", "neurons"], "--mlp 2,3,1"),
    (["--mlp", "2,x"], "as in 2,3,1"),
    (["--mlp", "2,3,1", "--at", "z=3"], "does not use"),
    (["--mlp", "2,3,1", "a*b"], "not both"),
    (["--mlp", "2,40,40,1"], "at most 64 neurons"),
])
def test_steps_view_neurons_refuses_what_it_cannot_draw_in_one_line(args, words, tmp_path):
    result = command("steps", *args, "-o", str(tmp_path / "x.html"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_the_saturated_mark_follows_what_if(open_page, tmp_path):  # noqa: F811
    """A tanh neuron pushed within 1e-3 of a bound is marked saturated (as viz.neurons draws it), and unmarked
    when it comes back; the mark follows the engine's own test, viz.drawing.saturated."""
    from chainrule.viz.drawing import saturated

    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    x = [Value(0.5, name="x1"), Value(-0.25, name="x2")]
    loss = (model(x) - 1.0) ** 2
    path = tmp_path / "tanh.html"
    stepper_html(loss, path, view="neurons")
    page, _ = open_page(path, 1280, 720)
    units = [f"n1_{j}" for j in (1, 2, 3)]

    def marks():
        page.evaluate("window.chainrule.step(window.chainrule.steps())")
        return {u: "saturated" in circle_words(page, u) for u in units}

    def engine(w1: float) -> dict[str, bool]:
        model.layers[0].neurons[0].w[0].data = w1
        return {f"n1_{j + 1}": saturated("tanh", n(x).data) for j, n in enumerate(model.layers[0].neurons)}

    start = model.layers[0].neurons[0].w[0].data
    assert marks() == engine(start)
    assert page.evaluate("window.chainrule.set('L1.N1.w1', 40)") is None  # tanh(20 + ...): pinned at 1
    assert marks() == engine(40.0) and marks()["n1_1"]
    assert page.evaluate("window.chainrule.set('L1.N1.w1', 0.1)") is None
    assert marks() == engine(0.1) and not marks()["n1_1"]
