"""Plots: real PNG and SVG files, the right scales, and boundaries where the algebra puts them."""

from __future__ import annotations

import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from chainrule.autograd import Value
from chainrule.viz import decision_boundary, grad_norms_plot, loss_curve
from chainrule.viz.plots import DPI, classify

ROOT = Path(__file__).resolve().parent.parent


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def boundary_vertices(figure) -> list[tuple[float, float]]:
    """Every vertex of the contour lines drawn on the figure's first axes."""
    from matplotlib.contour import ContourSet

    points = []
    for artist in figure.axes[0].get_children():
        if isinstance(artist, ContourSet) and not artist.filled:
            for path in artist.get_paths():
                points.extend(map(tuple, path.vertices))
    return points


def test_loss_curve_writes_png_and_svg(tmp_path):
    history = SimpleNamespace(loss=[1.0 / (k + 1) for k in range(50)],
                              accuracy=[min(1.0, 0.5 + k / 60) for k in range(50)])
    figure = loss_curve(history, tmp_path / "loss.png")
    assert png_size(tmp_path / "loss.png") == (round(11.0 * DPI), round(3.8 * DPI))  # two panels
    assert "last 0.02" in figure.axes[0].get_title() and "last 100.0%" in figure.axes[1].get_title()
    assert list(figure.axes[0].lines[0].get_ydata()) == history.loss
    loss_curve(history, tmp_path / "loss.svg")
    assert ET.parse(tmp_path / "loss.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "loss.svg"]  # no temporary left


def test_loss_curve_without_accuracy_has_one_panel_and_goes_log_over_two_decades(tmp_path):
    figure = loss_curve(SimpleNamespace(loss=[10.0 ** -k for k in range(5)]), tmp_path / "loss.png")
    assert png_size(tmp_path / "loss.png") == (round(6.0 * DPI), round(3.8 * DPI))
    assert figure.axes[0].get_yscale() == "log"
    assert loss_curve(SimpleNamespace(loss=[0.5, 0.4, 0.45])).axes[0].get_yscale() == "linear"


def test_loss_curve_refuses_what_it_cannot_draw(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        loss_curve(SimpleNamespace(loss=[], accuracy=[]), tmp_path / "x.png")
    with pytest.raises(TypeError, match=r"\.loss.*list"):
        loss_curve([0.5, 0.4], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        loss_curve(SimpleNamespace(loss=[1.0]), tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_classify_by_threshold_or_argmax():
    assert classify([[0.2], [0.7], [0.5]], None) == ([0, 1, 0], 0.5)  # all in [0, 1]: probabilities
    assert classify([[-0.3], [1.7], [0.2]], None) == ([0, 1, 1], 0.0)  # a signed score
    assert classify([[0.2], [0.7]], 0.65) == ([0, 1], 0.65)
    assert classify([[1.0, 3.0, 2.0], [5.0, -1.0, 0.0]], None) == ([1, 0], None)


SQUARE = [(0.0, 1.0), (1.0, 0.0), (-1.0, -2.0), (2.0, 3.0), (1.5, -0.5), (-2.0, 0.5)]


def test_a_linear_model_has_its_boundary_on_the_line(tmp_path):
    # score = x1 - x2: class 1 below the diagonal, and the boundary is exactly x1 = x2.
    labels = [1 if a > b else 0 for a, b in SQUARE]
    figure = decision_boundary(lambda p: Value(p[0]) - Value(p[1]), SQUARE, labels, tmp_path / "b.png",
                               resolution=15)
    assert "100.0% correct" in figure.axes[0].get_title() and "output > 0" in figure.axes[0].get_title()
    vertices = boundary_vertices(figure)
    assert len(vertices) >= 2
    assert all(abs(x - y) < 1e-9 for x, y in vertices)  # linear interpolation of a linear score is exact
    assert png_size(tmp_path / "b.png") == (round(5.6 * DPI), round(4.8 * DPI))


def test_a_probability_output_is_cut_at_one_half_and_wrong_labels_count(tmp_path):
    labels = [1 if a > b else 0 for a, b in SQUARE]
    labels[0] = 1 - labels[0]  # one of six is wrong
    figure = decision_boundary(lambda p: (Value(p[0]) - Value(p[1])).sigmoid(), SQUARE, labels,
                               tmp_path / "b.svg", resolution=12)
    assert f"{100 * 5 / 6:.1f}% correct" in figure.axes[0].get_title()
    assert "output > 0.5" in figure.axes[0].get_title()
    assert all(abs(x - y) < 0.05 for x, y in boundary_vertices(figure))  # sigmoid is nearly linear there
    ET.parse(tmp_path / "b.svg")


def test_several_outputs_use_argmax(tmp_path):
    # Three scores; the class is the largest coordinate of (x1, x2, 0).
    def model(p):
        return [Value(p[0]), Value(p[1]), Value(0.0)]

    points = [(2.0, 1.0), (1.0, 2.0), (-1.0, -2.0), (3.0, -1.0), (-2.0, 1.0), (-1.0, -1.5)]
    labels = [max(range(3), key=[a, b, 0.0].__getitem__) for a, b in points]
    assert set(labels) == {0, 1, 2}
    figure = decision_boundary(model, points, labels, tmp_path / "b.png", resolution=21)
    assert "100.0% correct" in figure.axes[0].get_title() and "argmax" in figure.axes[0].get_title()
    for x, y in boundary_vertices(figure):
        # On a boundary two of the three scores tie for the largest.
        top = sorted([x, y, 0.0])
        assert top[2] - top[1] < 1e-9


def test_decision_boundary_of_an_nn_model(tmp_path):
    from chainrule.nn.data import make_moons
    from chainrule.nn.module import MLP

    X, y = make_moons(30, noise=0.1, seed=0)
    model = MLP(2, [4, 1], seed=0)
    figure = decision_boundary(model, X, y, tmp_path / "moons.png", resolution=10)
    predicted = [1 if model(list(p)).data > 0 else 0 for p in X]  # linear output: the sign decides
    expected = sum(a == b for a, b in zip(predicted, y, strict=True)) / len(y)
    assert f"{100 * expected:.1f}% correct" in figure.axes[0].get_title()
    assert png_size(tmp_path / "moons.png")[0] > 0


def test_decision_boundary_refuses_bad_data(tmp_path):
    model = lambda p: Value(p[0])  # noqa: E731
    with pytest.raises(ValueError, match="3 points and 2 labels"):
        decision_boundary(model, [(0, 0), (1, 1), (2, 2)], [0, 1], tmp_path / "b.png")
    with pytest.raises(ValueError, match="two coordinates"):
        decision_boundary(model, [(0, 0, 0), (1, 1, 1)], [0, 1], tmp_path / "b.png")
    with pytest.raises(TypeError, match="Value or a list of Values, got str"):
        decision_boundary(lambda p: "no", [(0, 0), (1, 1)], [0, 1], tmp_path / "b.png", resolution=3)


def test_grad_norms_plot_is_log_scale_one_line_per_label(tmp_path):
    sigmoid = [0.25 ** (12 - k) for k in range(12)]  # shrinking by 4 per layer towards the input
    relu = [0.5, 0.0, 0.6, 0.55, 0.5, 0.52, 0.49, 0.5, 0.51, 0.5, 0.48, 0.6]
    figure = grad_norms_plot({"sigmoid": sigmoid, "relu": relu}, tmp_path / "norms.png")
    ax = figure.axes[0]
    assert ax.get_yscale() == "log"
    assert png_size(tmp_path / "norms.png") == (round(6.4 * DPI), round(4.2 * DPI))
    first, second = ax.lines
    assert list(first.get_xdata()) == list(range(1, 13)) and list(first.get_ydata()) == sigmoid
    assert 2 not in list(second.get_xdata())  # a zero cannot sit on a log axis ...
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["sigmoid", "relu (1 zero)"]  # ... and the legend says so
    grad_norms_plot({"sigmoid": sigmoid}, tmp_path / "norms.svg")
    ET.parse(tmp_path / "norms.svg")
    with pytest.raises(ValueError, match="at least one label"):
        grad_norms_plot({}, tmp_path / "none.png")


def test_plots_leave_pyplot_and_the_backend_alone(tmp_path):
    script = f"""
import sys, matplotlib
matplotlib.use("svg")  # stands in for a notebook's inline backend
from types import SimpleNamespace
from chainrule.viz import loss_curve, grad_norms_plot
loss_curve(SimpleNamespace(loss=[1.0, 0.5], accuracy=[0.5, 1.0]), {str(tmp_path / "l.png")!r})
grad_norms_plot({{"a": [1.0, 0.1]}}, {str(tmp_path / "g.png")!r})
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_import_viz_does_not_import_matplotlib():
    script = "import sys, viz; print('matplotlib' in sys.modules, 'numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_a_returned_figure_shows_itself_as_png_without_pyplot():
    from chainrule.viz import loss_curve

    from chainrule import nn

    history = nn.fit(nn.MLP(2, [4, 1], seed=0), *nn.make_xor(), steps=3, progress=False)
    png = loss_curve(history)._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
