"""`chainrule steps` with the classroom options: quiz kinds, the forward pass, the update step, frames."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from chainrule.viz.cli import main
from conftest import require

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = "w=0.8,x=1.5,b=0.1,y=1"


def page_json(path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1))


@pytest.mark.parametrize(("args", "kind"), [([], ""), (["--quiz"], "grad"), (["--quiz", "local"], "local"),
                                            (["--quiz", "forward"], "forward"), (["--quiz", "all"], "all")])
def test_quiz_kinds(tmp_path, args, kind):
    out = tmp_path / "s.html"
    assert main(["steps", COURSE, "--at", AT, "-o", str(out), *args]) == 0
    assert page_json(out)["quiz"] == kind


def test_no_forward_and_the_update_step(tmp_path):
    out = tmp_path / "s.html"
    assert main(["steps", COURSE, "--at", AT, "-o", str(out), "--no-forward"]) == 0
    assert page_json(out)["forward"] == [] and page_json(out)["update"] is None
    assert main(["steps", COURSE, "--at", AT, "-o", str(out), "--lr", "0.1", "--params", "w,b"]) == 0
    data = page_json(out)
    assert len(data["forward"]) == 5
    names = [data["nodes"][row["node"]]["name"] for row in data["update"]["params"]]
    assert names == ["w", "b"] and data["update"]["after"] < data["update"]["before"]


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "out.txt"], ".html, .htm"),
    (["--lr", "0.1"], "both --lr"),
    (["--params", "w"], "both --lr"),
    (["--lr", "0.1", "--params", "q"], "q is not an input"),
    (["--lr", "-1", "--params", "w"], "must be a number > 0"),
    (["--quiz", "everything"], "invalid choice"),
    (["--frames", "f", "--format", "jpeg"], "invalid choice"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(["steps", COURSE, "--at", AT, *args])
    except SystemExit as stop:  # argparse's own refusals (a bad choice, a bad number) exit from inside
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # the message, and where argparse says to read more


def test_frames_without_python(tmp_path, capsys):
    if not shutil.which("dot"):
        require("wasm")
    folder = tmp_path / "frames"
    assert main(["steps", COURSE, "--at", AT, "--frames", str(folder), "--format", "pdf"]) == 0
    assert [p.name for p in folder.iterdir()] == ["steps.pdf"]
    from pypdf import PdfReader

    assert len(PdfReader(folder / "steps.pdf").pages) == 5 + 5  # the forward pass, then the backward pass
    assert "wrote one file into" in capsys.readouterr().out
    assert main(["steps", COURSE, "--at", AT, "--frames", str(folder), "--format", "pdf", "--no-forward"]) == 0
    assert len(PdfReader(folder / "steps.pdf").pages) == 5
    (tmp_path / "a-file").write_text("x")
    assert main(["steps", COURSE, "--at", AT, "--frames", str(tmp_path / "a-file")]) == 2


@pytest.mark.parametrize("dataset", ["moons", "blobs"])  # hinge and cross_entropy
def test_train_replays_the_compiled_tape_by_default_with_the_dynamic_numbers(dataset, capsys, monkeypatch):
    from chainrule.nn import train as training

    used = []
    real_fit = training.fit

    def watching_fit(*args, **kwargs):
        used.append(kwargs.get("compiled"))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr("chainrule.nn.fit", watching_fit)
    common = ["train", dataset, "--points", "30", "--steps", "5", "--layers", "4", "--batch-size", "8"]
    assert main(common) == 0
    compiled = capsys.readouterr().out
    assert main([*common, "--dynamic"]) == 0
    dynamic = capsys.readouterr().out
    assert used == [True, False]
    loss = lambda out: float(re.search(r"final loss (\S+)", out).group(1))  # noqa: E731
    assert loss(compiled) == pytest.approx(loss(dynamic), rel=1e-3)  # printed to 4 digits
    accuracy = lambda out: re.search(r"accuracy (\S+)", out).group(1)  # noqa: E731
    assert accuracy(compiled) == accuracy(dynamic)


def test_tangent_prints_forward_mode_and_writes_it_into_the_page_and_the_frames(tmp_path, capsys):
    from chainrule.autograd import parse

    out, frames = tmp_path / "modes.html", tmp_path / "frames"
    assert main(["steps", COURSE, "--at", AT, "--tangent", "x", "-o", str(out), "--frames", str(frames)]) == 0
    printed = capsys.readouterr().out
    assert "forward mode, seeded with dx/dx = 1" in printed
    e = parse(COURSE, w=0.8, x=1.5, b=0.1, y=1.0)
    e.output.backward()
    rows = {line.split()[0]: line.split() for line in printed.split("Backward pass")[0].splitlines()[3:] if line}
    assert rows["mul1"][-1] == "0.8" and rows["w"][-1] == "0" and rows["x"][-1] == "1"  # d(w*x)/dx = w
    assert float(rows["L"][-1]) == pytest.approx(e.variables["x"].grad, rel=5e-4)  # reverse mode's dL/dx
    data = page_json(out)["tangent"]
    assert data["words"][data["seed"]] == "∂/∂x" and data["values"][data["seed"]][-1] == pytest.approx(
        e.variables["x"].grad, rel=1e-12)
    assert len(list(frames.iterdir())) == 5 + 5
    assert "∂/∂x" in (frames / "step-01.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "words"), [(["--tangent", "q"], "q is not an input of the formula"),
                                             (["--tangent", "x", "--no-forward"], "which --no-forward leaves out")])
def test_tangent_refusals_are_one_line(args, words, capsys):
    assert main(["steps", COURSE, "--at", AT, *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
