"""Recording a training run, and the page that replays it.

The recording is checked against a dynamic re-run built from scratch at each
recorded step's weights (loss, every grad, each layer's gradient norm, by the
closed-form hinge loss), and against the dynamic loop's own recording. The page
is opened in Chromium: moving the slider moves every view to the same step,
each view shows that step's numbers, and the page makes no network request.
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
from chainrule.viz import training_html
from chainrule.viz.drawing import num

from chainrule import autograd, nn


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def load(model: nn.MLP, flat: list[float]) -> None:
    for p, v in zip(model.parameters(), flat, strict=True):
        p.data = v


def rerun(sizes: list[int], flat: list[float], X, y):
    """The loss and grads of one full-batch hinge step at these weights, built from scratch."""
    model = nn.MLP(sizes[0], sizes[1:], seed=99)  # other weights: every number comes from ``flat``
    load(model, flat)
    # mean of max(0, 1 - s * score), s = +1 for class 1 and -1 for class 0, written out here
    terms = [(1 - (1.0 if t == 1 else -1.0) * model(x)).relu() for x, t in zip(X, y, strict=True)]
    loss = autograd.sum(terms) / len(terms)
    loss.backward()
    norms = [math.sqrt(sum(p.grad ** 2 for p in layer.parameters())) for layer in model.layers]
    return loss.data, [p.grad for p in model.parameters()], norms


def train(compiled: bool):
    X, y = nn.make_moons(30, noise=0.1, seed=1)
    model = nn.MLP(2, [4, 4, 1], seed=3)
    start = [p.data for p in model.parameters()]
    history = nn.fit(model, X, y, steps=25, compiled=compiled, record=True, progress=False)
    return model, X, y, history, start


@pytest.fixture(scope="module")
def run():
    return train(compiled=True)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "dynamic"])
def test_the_recording_at_every_step_equals_a_dynamic_rerun(compiled):
    model, X, y, history, start = train(compiled)
    rec = history.recording
    assert rec.steps == list(range(25)) and rec.every == 1
    assert rec.names == [p.name for p in model.parameters()]
    assert rec.params[0] == start  # the weights step 0 ran with: the initial ones
    assert rec.params[-1] != [p.data for p in model.parameters()]  # the last update came after
    for k, step in enumerate(rec.steps):
        loss, grads, norms = rerun(model.sizes, rec.params[k], X, y)
        assert close(loss, history.loss[step])
        assert all(close(a, b) for a, b in zip(rec.grads[k], grads, strict=True))
        assert all(close(a, b) for a, b in zip(rec.norms[k], norms, strict=True))


def test_record_every_kth_step_keeps_the_last_too():
    X, y = nn.make_xor(20, noise=0.1, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    history = nn.fit(model, X, y, steps=11, record=4, progress=False)
    assert history.recording.steps == [0, 4, 8, 10]
    assert len(history.recording.params) == len(history.recording.norms) == 4
    assert nn.fit(model, X, y, steps=3, progress=False).recording is None
    for bad, error in ((0, ValueError), (-2, ValueError), (1.5, TypeError), ("often", TypeError)):
        with pytest.raises(error, match="record"):  # nn's one rule for counts: a wrong type, or too small
            nn.fit(model, X, y, steps=3, record=bad, progress=False)


def test_the_page_needs_a_recording_and_the_trained_model(run, tmp_path):
    model, X, y, history, _ = run
    with pytest.raises(ValueError, match="record=True"):
        training_html(nn.History(loss=[1.0], accuracy=[0.5]), model, X, y)
    with pytest.raises(ValueError, match="this model has"):
        training_html(history, nn.MLP(2, [5, 1]), X, y)
    page = training_html(history, model, X, y, tmp_path / "p.html", title="<script>alert(1)</script>")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert (tmp_path / "p.html").read_text(encoding="utf-8") == page


# --- in Chromium ------------------------------------------------------------------------------



def predicted_colours(model: nn.MLP, flat, box, size, points):
    """The class the model predicts in the canvas cell under each (fraction x, fraction y): the page
    colours a cell of ``cell`` pixels by the prediction at its centre."""
    load(model, flat)
    width, height, cell = size
    out = []
    for fx, fy in points:
        cx = (math.floor(fx * width) // cell) * cell + cell / 2
        cy = (math.floor(fy * height) // cell) * cell + cell / 2
        x = box[0] + cx / width * (box[1] - box[0])
        y = box[2] + (height - cy) / height * (box[3] - box[2])
        out.append(1 if model.predict([x, y]) > 0 else 0)
    return out


READ = """() => {
  const canvas = document.getElementById('boundary-view');
  const ctx = canvas.getContext('2d');
  const all = ctx.getImageData(0, 0, canvas.width, canvas.height).data;  // one readback
  const px = (fx, fy) => {
    const at = 4 * (Math.floor(fy * canvas.height) * canvas.width + Math.floor(fx * canvas.width));
    return [all[at], all[at + 1], all[at + 2]];
  };
  return {
    steps: ['loss-view', 'acc-view', 'norm-view', 'boundary-view', 'net-view']
             .map(id => document.getElementById(id).dataset.step),
    body: document.body.dataset.step,
    loss: document.querySelector('#loss-view .readout').textContent,
    norms: [...document.querySelectorAll('#norm-view text')].map(t => t.textContent),
    weights: Object.fromEntries([...document.querySelectorAll('#net-view line.weight[id]')]
                                  .map(l => [l.id, [l.querySelector('title').textContent,
                                                    +l.getAttribute('stroke-width')]])),
    box: ['xmin', 'xmax', 'ymin', 'ymax'].map(k => +canvas.dataset[k]),
    size: [canvas.width, canvas.height, +canvas.dataset.cell],
    pixels: [[0.03, 0.03], [0.5, 0.5], [0.97, 0.97], [0.2, 0.8], [0.8, 0.2], [0.35, 0.6]].map(([a, b]) => px(a, b)),
  };
}"""
def edge_id(name: str) -> str:
    """The page's id of the arrow of weight ``L2.N3.w1``: ``w2_3_1``, as the neuron view names it."""
    layer, neuron, weight = (part[1:] for part in name.split("."))
    return f"w{layer}_{neuron}_{weight}"


CLASS_FILL = {(0xbf, 0xdb, 0xfe): 0, (0xfe, 0xd7, 0xaa): 1}


def test_the_slider_moves_every_view_to_the_same_step(run, browser, tmp_path):
    model, X, y, history, _ = run
    rec = history.recording
    path = tmp_path / "run.html"
    training_html(history, model, X, y, path, title="moons")
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    probe = nn.MLP(2, [4, 4, 1], seed=0)
    names = [p.name for p in probe.parameters()]
    seen = set()
    for k in (0, 7, 24, 3):
        page.locator("#slider").fill(str(k))
        state = page.evaluate(READ)
        step = rec.steps[k]
        assert state["steps"] == [str(step)] * 5 and state["body"] == str(step)
        assert state["loss"] == f"loss {num(history.loss[step])}"
        assert [t for t in state["norms"] if t[0].isdigit() or t[0] == "-"] == [num(v) for v in rec.norms[k]]
        for name, w, g in zip(names, rec.params[k], rec.grads[k], strict=True):
            if ".w" not in name:
                continue
            title, _ = state["weights"][edge_id(name)]
            assert title == f"{name}: w {num(w)}, dL/dw {num(g)}"
        # heat: wider edges carry larger |dL/dw|
        pairs = sorted((abs(g), state["weights"][edge_id(n)][1])
                       for n, g in zip(names, rec.grads[k], strict=True) if ".w" in n)
        assert [w for _, w in pairs] == sorted(w for _, w in pairs)
        fractions = [[0.03, 0.03], [0.5, 0.5], [0.97, 0.97], [0.2, 0.8], [0.8, 0.2], [0.35, 0.6]]
        drawn = [CLASS_FILL[tuple(p)] for p in state["pixels"]]
        assert drawn == predicted_colours(probe, rec.params[k], state["box"], state["size"], fractions)
        seen.add(tuple(drawn))
    assert len(seen) > 1 or len(set(seen.pop())) > 1  # the boundary is not one flat colour
    # every label of the neuron view is readable on a projector: at least 12 px tall at 1920x1080
    heights = page.evaluate("[...document.querySelectorAll('#net-view text')]"
                            ".map(t => t.getBoundingClientRect().height)")
    assert len(heights) > 12 and min(heights) >= 12
    # Play walks forward through the steps on its own; the space bar pauses it
    page.locator("#slider").fill("0")
    page.locator("#play").click()
    for _ in range(200):  # the page's CSP forbids wait_for_function's eval: poll instead
        if page.evaluate("document.body.dataset.step") != "0":
            break
        page.wait_for_timeout(50)
    page.keyboard.press(" ")
    paused = page.evaluate("document.body.dataset.step")
    assert int(paused) > 0 and page.locator("#play").text_content().endswith("Play")
    page.close()
    assert errors == []
    assert requests == [path.as_uri()]


# --- the command ----------------------------------------------------------------------------


def command(*args: str, cwd=None):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


def page_json(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1))


def test_chainrule_train_html_records_the_run_it_prints(tmp_path):
    out = tmp_path / "run.html"
    result = command("train", "xor", "--layers", "4", "--steps", "30", "--points", "40", "--html", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    data = page_json(out.read_text(encoding="utf-8"))
    assert data["steps"] == list(range(30)) and data["sizes"] == [2, 4, 1]
    # the page's last loss is the one the command printed
    final = re.search(r"final loss (\S+)", result.stdout).group(1)
    assert num(data["loss"][-1]) == final


def test_chainrule_train_html_refuses_a_file_it_cannot_write(tmp_path):
    result = command("train", "moons", "--steps", "2", "--html", str(tmp_path / "run.txt"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ".html" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run.txt").exists()
