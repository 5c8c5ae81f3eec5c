"""The training recording page: a run of ``fit(..., record=True)`` you can scrub, step by step.

``training_html(history, model, X, y, path)`` writes one self-contained HTML
file (no network, works from file://). A slider (and Play) picks a recorded
step; every view then shows that step:

* the loss and accuracy curves of the whole run, the step marked;
* the decision boundary of the model at that step's weights (2-D data);
* the neuron view (as ``to_dot(..., view="neurons", heat="grad")`` draws it):
  each weight an edge whose width and colour come from log10 |dL/dw| at that
  step, each neuron its mean output over the data, dead and saturated units marked;
* each layer's gradient norm.

The page's own small script draws all of it as inline SVG (and one canvas for
the boundary) from the recorded numbers, so scrubbing recomputes only the
forward pass on the data and a grid, which is fast for the networks a class
trains. Numbers are stored to 7 significant digits (the parameters exactly, see
below), which keeps 500 steps of MLP(2, [16, 16, 1]) with a stepper to about 3 MB.

The stepper, at any step of the run: for each chosen training point
(``stepper_points``) the page carries one stepper page (``stepper_html(loss,
view="neurons")``) of that point's loss, built and run by the engine at the
first recorded step's weights. Opening it at step k sets every weight and bias
leaf to step k's recorded value inside the frame (``window.chainrule.setMany``,
the what-if of the stepper page: it computes every value and grad again from the
op table's formula strings, equal to the engine's to 1e-12), so every recorded
step opens, with no page per step. The parameters are stored exactly for this
(each step's float64s, base64-encoded: no larger than 7 digits in decimal), so
the stepper's numbers are the engine's at step k's weights, not at a rounding.

Each stepper page is gzip-compressed (about 280 KB for MLP(2, [16, 16, 1]),
2 MB uncompressed) and opened in a frame over the page (``srcdoc``: the same
origin, so the page can reach the frame's ``window.chainrule``), decompressed
by the browser itself (``DecompressionStream``): no network, no library.

A loss without what-if in the page (``cross_entropy``: its row has no formula
string) cannot be recomputed there: then, as before, the page carries one page
per point for a few recorded steps only, ``stepper_steps`` (indices into the
recording; by default the first, the last and evenly spaced ones between, as
many as fit ``STEPPER_BUDGET`` bytes, at least two), and at any other step
offers to go to the nearest.
"""

from __future__ import annotations

import base64
import gzip
import html
import math
import os
import struct
from collections.abc import Sequence

from chainrule.autograd import Value
from chainrule.autograd.files import atomic_write

from .pages import asset, page_head
from .stepper import script_json, stepper_html

#: Significant digits the page keeps of each recorded number.
DIGITS = 7
#: Bytes of compressed stepper pages a training page carries by default (``stepper_steps=None``).
STEPPER_BUDGET = 2_000_000
#: ... and at most this many steps of them.
STEPPER_STEPS = 6


def _round(x: float) -> float | None:
    """``x`` to ``DIGITS`` significant digits; None for NaN or infinity (JSON has neither)."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.{DIGITS}g}")


def _rows(rows) -> list[list[float | None]]:
    return [[_round(v) for v in row] for row in rows]


def _exact(row) -> str:
    """A step's parameters as little-endian float64s, base64: every bit kept, in about 10.7 characters each."""
    return base64.b64encode(struct.pack(f"<{len(row)}d", *(float(v) for v in row))).decode("ascii")


def page_data(history, model, X, y, title: str = "Training run") -> dict:
    """What the page reads: the architecture, the data, and the recording."""
    recording = getattr(history, "recording", None)
    if recording is None or not len(recording):
        raise ValueError("training_html needs a History with a recording: train with fit(..., record=True)")
    layers = getattr(model, "layers", None)
    if not layers:
        raise TypeError(f"training_html draws an MLP (a model with layers), got {type(model).__name__}")
    sizes = [len(layers[0].neurons[0].w)] + [len(layer.neurons) for layer in layers]
    count = sum(sizes[i + 1] * (sizes[i] + 1) for i in range(len(layers)))
    if len(recording.names) != count:
        raise ValueError(f"the recording holds {len(recording.names)} parameters but this model has {count}: "
                         "pass the model that was trained")
    if len(X) != len(y) or not len(X):
        raise ValueError(f"X has {len(X)} points and y {len(y)} labels: give the training data")
    return {
        "title": title,
        "sizes": sizes,
        "activations": [layer.activation for layer in layers],
        "names": recording.names,
        "X": _rows(X),
        "y": [int(t) if float(t).is_integer() else float(t) for t in y],
        "every": recording.every,
        "steps": recording.steps,
        "loss": [_round(v) for v in history.loss],
        "accuracy": [_round(v) for v in history.accuracy],
        "params": [_exact(row) for row in recording.params],
        "grads": _rows(recording.grads),
        "norms": _rows(recording.norms),
    }


def training_html(history, model, X, y, path: str | os.PathLike | None = None, *,
                  title: str = "Training run", loss: str | None = None,
                  stepper_steps: Sequence[int] | None = None, stepper_points: Sequence[int] = (0,)) -> str:
    """The training recording page for ``history`` (from ``fit(model, X, y, record=True)``).

    ``model`` gives the architecture (its weights are not read: every step's
    weights are in the recording); ``X`` and ``y`` are the training data, drawn
    under the decision boundary. Returns the HTML; writes it to ``path`` when given.

    The page opens the stepper for each point of ``stepper_points`` (indices into
    ``X``) at any recorded step, with that step's weights and ``loss`` (the name
    ``fit`` was given; by default fit's own: hinge for one output, cross_entropy
    for several). For a loss the page cannot recompute (cross_entropy) it opens
    only at the recorded steps ``stepper_steps`` (indices into the recording: 0 is
    the first recorded step, -1 the last; by default spread over the run, see the
    module doc).
    """
    data = page_data(history, model, X, y, title)
    data["stepperLive"], data["steppers"] = stepper_pages(history, model, X, y, loss, stepper_steps,
                                                          stepper_points)
    page = _assemble(data)
    if path is not None:
        atomic_write(path, page)
    return page


def model_at(model, flat: Sequence[float]):
    """A new MLP shaped like ``model`` holding the parameters ``flat`` (in ``parameters()`` order)."""
    from chainrule import nn

    sizes = [len(model.layers[0].neurons[0].w)] + [len(layer.neurons) for layer in model.layers]
    twin = nn.MLP(sizes[0], sizes[1:], activation=model.layers[0].activation if len(model.layers) > 1 else "relu")
    for p, v in zip(twin.parameters(), flat, strict=True):
        p.data = float(v)
    return twin


def point_loss(model, x: Sequence[float], label, loss: str | None = None) -> Value:
    """``loss`` (a name ``fit`` takes; by default fit's) of ``model`` on the one point ``x`` with ``label``,
    as a graph on input leaves x1, x2, ..."""
    from chainrule.nn.train import _batch_loss, _graph_targets, _width

    inputs = [Value(float(v), name=f"x{j + 1}") for j, v in enumerate(x)]
    out = model(inputs)
    width = _width([out])
    if loss is None:
        loss = "hinge" if not isinstance(out, list) else "cross_entropy"
    if callable(loss):
        raise ValueError("the stepper of the training page builds the loss by its name: pass loss='hinge', "
                         "'mse', 'binary_cross_entropy' or 'cross_entropy'")
    return _batch_loss(loss, [out], [label], _graph_targets(loss, width, [label]))


def live(root: Value) -> bool:
    """True when every op of the graph has formula strings: the stepper page can recompute it (what-if)."""
    from chainrule.autograd import topological_order
    from chainrule.autograd.ops import row_of

    rows = (row_of(node) for node in topological_order(root) if not node.is_leaf)
    return all(row is not None and row.formula is not None and row.derivatives is not None for row in rows)


def _packed(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), 9)).decode("ascii")


def stepper_pages(history, model, X, y, loss: str | None, steps: Sequence[int] | None,
                  points: Sequence[int]) -> tuple[bool, list[dict]]:
    """(live, pages): the stepper pages the training page carries, gzip-compressed and base64-encoded.

    ``live``: one page per chosen point, at the first recorded step's weights (``step`` and
    ``index`` None); the page sets any step's weights into it. Otherwise (no what-if for this
    loss) one page per chosen point and step: that point's loss at that step's weights."""
    rec = history.recording
    count = len(rec.steps)
    points = [int(i) for i in points]
    for i in points:
        if not 0 <= i < len(X):
            raise ValueError(f"stepper_points: {i} is not a point of X (it has {len(X)})")
    chosen = None
    if steps is not None:
        chosen = sorted({k % count for k in (int(k) for k in steps) if -count <= k < count})
        if len(chosen) != len(list(steps)):
            raise ValueError(f"stepper_steps: each must be an index into the recording's {count} steps, "
                             f"without repeats; got {list(steps)}")
    if not points:
        return True, []
    roots = {i: point_loss(model_at(model, rec.params[0]), X[i], y[i], loss) for i in points}
    if live(roots[points[0]]):
        return True, [{"step": None, "index": None, "point": i,
                       "page": _packed(stepper_html(roots[i], view="neurons", title=f"Point {i} (label {y[i]}): "
                                                    "its loss at the weights of the step you opened"))}
                      for i in points]

    def page(k: int, i: int) -> dict:
        step = rec.steps[k]
        root = roots[i] if k == 0 else point_loss(model_at(model, rec.params[k]), X[i], y[i], loss)
        text = stepper_html(root, view="neurons", title=f"Point {i} (label {y[i]}) at step {step}: its loss "
                                                          f"at that step's weights")
        return {"step": step, "index": k, "point": i, "page": _packed(text)}

    if chosen is not None:
        return False, [page(k, i) for k in chosen for i in points]
    first = [page(0, i) for i in points]
    size = sum(len(p["page"]) for p in first)
    fits = max(2, min(STEPPER_STEPS, STEPPER_BUDGET // max(size, 1)))
    spread = sorted({round(n * (count - 1) / (fits - 1)) for n in range(fits)}) if count > 1 else [0]
    return False, first + [page(k, i) for k in spread[1:] for i in points]


def _assemble(data: dict) -> str:
    title = html.escape(data["title"])
    return f"""{page_head(title, asset("training.css"))}<body class="training">
<header>
  <h1>{title}</h1>
  <nav id="controls" aria-label="step controls">
    <button id="play" type="button" title="play or pause (space)">&#x25B6; Play</button>
    <input id="slider" type="range" min="0" max="0" value="0" aria-label="recorded step">
    <span id="position" aria-live="polite"></span>
  </nav>
  <nav id="stepper-controls" aria-label="the stepper at this step">
    <label>point <select id="stepper-point"></select></label>
    <button id="open-stepper" type="button">Open the stepper</button>
    <span id="stepper-note" class="note"></span>
  </nav>
</header>
<main>
  <section class="panel" id="curves">
    <h2>Loss and accuracy</h2>
    <svg id="loss-view" class="view" width="460" height="170" role="img" aria-label="loss curve"></svg>
    <svg id="acc-view" class="view" width="460" height="130" role="img" aria-label="accuracy curve"></svg>
    <h2>Gradient norm per layer</h2>
    <svg id="norm-view" class="view" width="460" height="150" role="img" aria-label="gradient norms"></svg>
  </section>
  <section class="panel" id="boundary">
    <h2>Decision boundary</h2>
    <div id="boundary-box">
      <canvas id="boundary-view" class="view" width="360" height="360"></canvas>
      <svg id="points" width="360" height="360" aria-hidden="true"></svg>
    </div>
    <p class="note" id="boundary-note"></p>
  </section>
  <section class="panel" id="network">
    <h2>The network at this step <span class="note">(edge width and colour: log10 |dL/dw|)</span></h2>
    <svg id="net-view" class="view" role="img" aria-label="the neuron view"></svg>
  </section>
</main>
<div id="stepper-frame" hidden>
  <div class="bar"><span id="stepper-title"></span>
    <button id="close-stepper" type="button" title="back to the training run (Escape)">&#xD7; Close</button></div>
  <iframe id="stepper-view" title="the stepper at this step"></iframe>
</div>
<script type="application/json" id="data">{script_json(data)}</script>
<script>
{asset("page_kit.js")}
{asset("training.js")}
</script>
</body>
</html>
"""
