"""demos/tour.ipynb runs top to bottom in a fresh kernel and shows what it promises.

The notebook is executed with nbclient in a scratch folder, on a kernel that
runs this very Python (a kernelspec written to a temporary Jupyter path, so
the test neither depends on nor changes the user's Jupyter set-up). Its
outputs are checked: inline SVG graphs, the stepper embedded as HTML, the
plots as PNG, and the numbers it prints against values worked out here.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "demos" / "tour.ipynb"
KERNEL = "chainrule-test"

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running every cell."""
    work = tmp_path_factory.mktemp("tour")
    prefix = work / "jupyter"
    # A kernelspec whose argv is sys.executable: the kernel gets this venv, whatever else is installed.
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", KERNEL,
                    "--display-name", "chainrule test"], check=True, capture_output=True, timeout=120)
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    patch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports autograd, nn and viz from this checkout
    patch.delenv("DISPLAY", raising=False)
    patch.delenv("MPLBACKEND", raising=False)
    try:
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(notebook, timeout=300, kernel_name=KERNEL,
                                         resources={"metadata": {"path": str(work)}})
        client.execute()
    finally:
        patch.undo()
    return notebook


def outputs(notebook, kind: str) -> list[str]:
    """Every output of MIME type ``kind`` (or every stdout text for ``"stdout"``), in cell order."""
    found = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if kind == "stdout" and out.get("output_type") == "stream" and out.get("name") == "stdout":
                found.append(out["text"])
            elif kind in out.get("data", {}):
                found.append(out["data"][kind])
    return found


def test_the_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 10
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_it_runs_without_errors(executed):
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            if out.get("output_type") == "stream":
                assert "Traceback" not in out["text"]


def test_graphs_show_inline_as_svg(executed):
    svgs = outputs(executed, "image/svg+xml")
    assert len(svgs) >= 5  # the course graph, two paths, exercise 5.1, cross-entropy, a small MLP
    assert all("<svg" in svg for svg in svgs)
    assert 'class="node value leaf"' in svgs[0]


def test_the_stepper_is_embedded(executed):
    pages = [h for h in outputs(executed, "text/html") if "srcdoc=" in h]
    assert len(pages) == 1
    page = pages[0]
    assert "&lt;!DOCTYPE html&gt;" in page  # the whole page, escaped into the attribute
    assert "L = (y - sigmoid(w*x + b))^2" in page
    assert "<script src" not in page  # self-contained: nothing to fetch


def test_plots_show_as_png(executed):
    pngs = outputs(executed, "image/png")
    assert len(pngs) == 3  # gradient norms, loss curve, decision boundary


def test_the_numbers_it_prints(executed):
    text = "".join(outputs(executed, "stdout"))
    # MLP(2, [8, 8, 1]): 3*8 + 9*8 + 9 = 105 parameters, two forward passes each
    assert "105 parameters -> 210 forward passes" in text
    h = 1 / (1 + math.exp(-(0.8 * 1.5 + 0.1)))
    dw = -2 * (1 - h) * h * (1 - h) * 1.5 + 0.2 * 0.8  # the course example plus the penalty's path
    assert f"sum over paths: {dw:.6f}  backprop: {dw:.6f}" in text
    engine, central = re.search(r"engine (\S+)   central difference (\S+)", text).groups()
    assert float(engine) == pytest.approx(1 - math.tanh(0.5) ** 2, abs=1e-10)
    assert float(central) == pytest.approx(1 - math.tanh(0.5) ** 2, abs=1e-9)
    assert "all gradients correct" in text
    ratio = float(re.search(r"sigmoid\s+last / first = (\S+)", text).group(1))
    assert ratio > 1_000
    # the step table starts from zero: y's grad goes 0 -> 2(y - h), not on from a previous pass
    # (the column between the parent and its local is the local rule, e.g. "d(y-h)/dy = 1")
    assert re.search(r"\by\s+(?:\S+ = \S+\s+)?1\s+\S+\s+0 -> 0\.4283", text)
