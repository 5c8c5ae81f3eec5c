"""Training pictures with matplotlib: the loss curve, the decision boundary, gradient norms per layer.

Each function draws on its own ``matplotlib.figure.Figure`` with an Agg
canvas, never through ``pyplot``: no global backend is switched, no figure is
left open, and a Jupyter user's backend is untouched. The returned Figure
knows how to show itself as a PNG (``_repr_png_``), so it displays inline in
a notebook with or without ``%matplotlib inline``. The file is rendered to memory first and
then written with ``atomic_write``; its extension picks the format
(.png, .svg or .pdf). matplotlib is imported inside the functions, so
``import viz`` does not pay for it.
"""

from __future__ import annotations

import functools
import io
import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

from chainrule.autograd import Value
from chainrule.autograd.files import atomic_write

IMAGE_FORMATS = ("png", "svg", "pdf")
DPI = 150  # sharp enough for a projector, small enough to mail
CLASS_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


def new_figure(width: float, height: float):
    """A Figure on an Agg canvas, made without pyplot (so it works with no display); it shows
    inline in Jupyter. Save it with ``save_figure``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _figure_class()(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


@functools.cache
def _figure_class():
    """matplotlib's Figure plus ``_repr_png_``; made once, when matplotlib is first needed."""
    from matplotlib.figure import Figure

    class PlotFigure(Figure):
        """A Figure that Jupyter shows inline even when pyplot was never imported."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    return PlotFigure


def _format_of(path: str | os.PathLike) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"cannot tell the image format from {str(path)!r}: end it in .png, .svg or .pdf")
    return fmt


def save_figure(figure, path: str | os.PathLike | None) -> None:
    """Write ``figure`` to ``path`` (format from the extension) in one atomic step; None writes nothing."""
    if path is None:
        return
    fmt = _format_of(path)
    buffer = io.BytesIO()
    # A fixed date keeps the files byte-identical from run to run.
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else {}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    atomic_write(path, buffer.getvalue())


def loss_curve(history, path: str | os.PathLike | None = None, title: str = "Training"):
    """Loss per step (log scale when it spans more than a factor of 100) and, if recorded, accuracy.

    ``history`` is anything with a ``.loss`` list (and optionally ``.accuracy``),
    such as ``nn.train.History``. Returns the matplotlib Figure.
    """
    loss = [float(x) for x in _sequence(history, "loss")]
    accuracy = [float(x) for x in getattr(history, "accuracy", None) or []]
    if not loss:
        raise ValueError("loss_curve: history.loss is empty; train for at least one step first")
    panels = 2 if accuracy else 1
    figure = new_figure(5.0 * panels + 1.0, 3.8)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    steps = range(1, len(loss) + 1)
    ax = axes[0]
    ax.plot(steps, loss, color="#2563eb", linewidth=1.6)
    positive = [x for x in loss if x > 0 and math.isfinite(x)]
    if positive and len(positive) == len(loss) and max(positive) > 100 * min(positive):
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=f"{title}: loss (last {loss[-1]:.4g})")
    ax.grid(alpha=0.3)
    if accuracy:
        ax = axes[1]
        ax.plot(range(1, len(accuracy) + 1), [100 * a for a in accuracy], color="#16a34a", linewidth=1.6)
        ax.set(xlabel="step", ylabel="accuracy (%)", ylim=(0, 101),
               title=f"{title}: accuracy (last {100 * accuracy[-1]:.1f}%)")
        ax.grid(alpha=0.3)
    save_figure(figure, path)
    return figure


def _sequence(history, attribute: str) -> Sequence:
    values = getattr(history, attribute, None)
    if values is None:
        raise TypeError(f"loss_curve needs an object with a .{attribute} list (such as nn's History), "
                        f"got {type(history).__name__}")
    return values


def scores(model, point: Sequence[float]) -> list[float]:
    """The model's output(s) at one point, as floats (a Value or a list of Values)."""
    out = model([float(c) for c in point])
    if isinstance(out, Value):
        return [out.data]
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, (Value, numbers.Real)) for v in out):
        return [float(v) for v in out]
    if isinstance(out, numbers.Real):
        return [float(out)]
    raise TypeError(
        f"decision_boundary: the model must return a Value or a list of Values, got {type(out).__name__}"
    )


def classify(outputs: list[list[float]], threshold: float | None) -> tuple[list[int], float | None]:
    """Class indices from model outputs: argmax over several outputs; for one output, ``score > threshold``.

    With ``threshold=None`` a single output is read as a probability (threshold
    0.5) when every output lies in [0, 1], else as a signed score (threshold 0),
    as after hinge or logistic training on logits. Returns the classes and the
    threshold used (None for argmax).
    """
    if len(outputs[0]) > 1:
        return [max(range(len(o)), key=o.__getitem__) for o in outputs], None
    if threshold is None:
        threshold = 0.5 if all(0.0 <= o[0] <= 1.0 for o in outputs) else 0.0
    return [1 if o[0] > threshold else 0 for o in outputs], threshold


def decision_boundary(model, X: Sequence[Sequence[float]], y: Sequence[int],
                      path: str | os.PathLike | None = None, resolution: int = 60,
                      threshold: float | None = None, title: str = "Decision boundary"):
    """The plane coloured by the class the model predicts, with the data on top (the two-moons picture).

    ``model(point)`` takes two numbers and returns a Value (one output: see
    ``classify`` for the threshold) or a list of Values (argmax). The grid has
    ``resolution`` x ``resolution`` points, each one forward pass of the scalar
    engine, so 60 takes a few seconds on an MLP(2, [16, 16, 1]). Returns the Figure.
    """
    points = [tuple(float(c) for c in p) for p in X]
    labels = [int(c) for c in y]
    if not points or len(points) != len(labels):
        raise ValueError(f"decision_boundary needs as many labels as points, got {len(points)} points "
                         f"and {len(labels)} labels")
    if any(len(p) != 2 for p in points):
        raise ValueError("decision_boundary draws 2-d data: every point needs exactly two coordinates")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    pad_x = 0.1 * (max(xs) - min(xs) or 1.0)
    pad_y = 0.1 * (max(ys) - min(ys) or 1.0)
    gx = _linspace(min(xs) - pad_x, max(xs) + pad_x, resolution)
    gy = _linspace(min(ys) - pad_y, max(ys) + pad_y, resolution)
    grid = [scores(model, (a, b)) for b in gy for a in gx]  # row by row: y outer, x inner
    data = [scores(model, p) for p in points]
    grid_class, used = classify(grid + data, threshold)
    predicted = grid_class[len(grid):]
    grid_class = grid_class[: len(grid)]
    accuracy = sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)

    classes = max(max(labels) + 1, 2 if used is not None else len(grid[0]))
    colours = [CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in range(classes)]
    figure = new_figure(5.6, 4.8)
    ax = figure.subplots()
    if used is None:
        # Several outputs: class c wins where its margin o_c - max_{j != c} o_j is positive.
        # Each margin is a smooth surface, so the boundaries are interpolated, never a
        # sliver of a third class between two others.
        for c in range(len(grid[0])):
            margin = [o[c] - max(o[j] for j in range(len(o)) if j != c) for o in grid]
            _shade(ax, gx, gy, margin, 0.0, resolution, [None, colours[c]])
    else:
        # One output: the score itself; the boundary is where it crosses the threshold.
        _shade(ax, gx, gy, [o[0] for o in grid], used, resolution, colours[:2])
    for c in range(classes):
        members = [p for p, t in zip(points, labels, strict=True) if t == c]
        if members:
            ax.scatter([p[0] for p in members], [p[1] for p in members], s=22, color=colours[c],
                       edgecolors="white", linewidths=0.6, label=f"class {c}", zorder=3)
    rule = "class = argmax of the outputs" if used is None else f"class 1 where output > {used:g}"
    ax.set(title=f"{title}: {100 * accuracy:.1f}% correct\n({rule})", xlabel="x1", ylabel="x2")
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    save_figure(figure, path)
    return figure


def _shade(ax, gx, gy, surface: list[float], level: float, resolution: int, colours: list) -> None:
    """Fill below and above ``level`` with ``colours`` (None: leave blank) and draw the line between."""
    rows = [surface[r * resolution:(r + 1) * resolution] for r in range(resolution)]
    low, high = min(surface), max(surface)
    for colour, band in zip(colours, ([min(low, level) - 1.0, level], [level, max(high, level) + 1.0]),
                            strict=True):
        if colour is not None:
            ax.contourf(gx, gy, rows, levels=band, colors=[colour], alpha=0.22)
    if low < level < high:
        ax.contour(gx, gy, rows, levels=[level], colors="#374151", linewidths=1.2)


def _linspace(start: float, stop: float, n: int) -> list[float]:
    return [start + (stop - start) * k / (n - 1) for k in range(n)]


def grad_norms_plot(norms_by_label: dict[str, Sequence[float]], path: str | os.PathLike | None = None,
                    title: str = "Gradient norm per layer"):
    """One line per label (say, per activation): the gradient norm of each layer, input side first, log scale.

    In a deep sigmoid network the line falls by orders of magnitude towards
    the input (vanishing gradients); with ReLU it stays roughly level. Zero
    norms cannot sit on a log axis: they are left out and counted in the legend.
    Returns the Figure.
    """
    if not norms_by_label:
        raise ValueError("grad_norms_plot needs at least one label with its list of per-layer norms")
    figure = new_figure(6.4, 4.2)
    ax = figure.subplots()
    markers = "osD^v<>"
    depth = 0
    for n, (label, norms) in enumerate(norms_by_label.items()):
        values = [float(x) for x in norms]
        depth = max(depth, len(values))
        shown = [(layer, v) for layer, v in enumerate(values, start=1) if v > 0 and math.isfinite(v)]
        hidden = len(values) - len(shown)
        name = str(label) + (f" ({hidden} zero)" if hidden else "")
        ax.plot([s[0] for s in shown], [s[1] for s in shown], marker=markers[n % len(markers)], linewidth=1.6,
                markersize=5, label=name, color=CLASS_COLOURS[n % len(CLASS_COLOURS)])
    ax.set_yscale("log")
    ax.set(xlabel="layer (1 = next to the input)", ylabel="gradient norm ||dL/dW||", title=title)
    ax.set_xticks(range(1, depth + 1))
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best")
    save_figure(figure, path)
    return figure
