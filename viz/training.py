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
trains. Numbers are stored to 7 significant digits, which keeps 500 steps of
MLP(2, [16, 16, 1]) to about 3 MB.
"""

from __future__ import annotations

import html
import math
import os
from importlib import resources

from chainrule.autograd.files import atomic_write

from .stepper import script_json

#: Significant digits the page keeps of each recorded number.
DIGITS = 7


def _round(x: float) -> float | None:
    """``x`` to ``DIGITS`` significant digits; None for NaN or infinity (JSON has neither)."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.{DIGITS}g}")


def _rows(rows) -> list[list[float | None]]:
    return [[_round(v) for v in row] for row in rows]


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
        "params": _rows(recording.params),
        "grads": _rows(recording.grads),
        "norms": _rows(recording.norms),
    }


def training_html(history, model, X, y, path: str | os.PathLike | None = None, *,
                  title: str = "Training run") -> str:
    """The training recording page for ``history`` (from ``fit(model, X, y, record=True)``).

    ``model`` gives the architecture (its weights are not read: every step's
    weights are in the recording); ``X`` and ``y`` are the training data, drawn
    under the decision boundary. Returns the HTML; writes it to ``path`` when given.
    """
    page = _assemble(page_data(history, model, X, y, title))
    if path is not None:
        atomic_write(path, page)
    return page


def _asset(name: str) -> str:
    return resources.files("chainrule.viz").joinpath("assets", name).read_text(encoding="utf-8")


def _assemble(data: dict) -> str:
    title = html.escape(data["title"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
{_asset("training.css")}
</style>
</head>
<body class="training">
<header>
  <h1>{title}</h1>
  <nav id="controls" aria-label="step controls">
    <button id="play" type="button" title="play or pause (space)">&#x25B6; Play</button>
    <input id="slider" type="range" min="0" max="0" value="0" aria-label="recorded step">
    <span id="position" aria-live="polite"></span>
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
<script type="application/json" id="data">{script_json(data)}</script>
<script>
{_asset("training.js")}
</script>
</body>
</html>
"""
