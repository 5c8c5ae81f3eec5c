"""The chainrule command, run as a user runs it: a subprocess.

Printed numbers are checked against closed forms or an independent
computation in this process; files are parsed (SVG as XML, the page's JSON
block); every kind of bad input must give exit status 2 and a short message
on stderr, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chainrule import nn

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
COURSE_AT = "w=0.8,x=1.5,b=0.1,y=1"


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "chainrule", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def course_closed_form() -> dict[str, float]:
    w, x, b, y = 0.8, 1.5, 0.1, 1.0
    h = 1 / (1 + math.exp(-(w * x + b)))
    dz = 2 * (h - y) * h * (1 - h)
    return {"L": (y - h) ** 2, "w": dz * x, "x": dz * w, "b": dz, "y": 2 * (y - h)}


def page_json(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1)
    return json.loads(block)


def svg_root(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()  # raises if it is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def svg_texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


# --- tour ---------------------------------------------------------------------------------------


def test_tour_prints_the_course_example_and_its_checks(tmp_path):
    result = run("tour", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    s = 1 / (1 + math.exp(-1.3))
    assert f"{(1 - s) ** 2:.4g}" in out  # the loss
    assert f"{2 * (s - 1) * s * (1 - s) * 1.5:.8g}" in out  # dL/dw in the gradient check, 8 digits
    assert "all gradients correct" in out
    assert "Traceback" not in result.stderr


def test_tour_writes_the_graph_and_the_stepper(tmp_path):
    out = tmp_path / "out"
    result = run("tour", "-o", str(out))
    assert result.returncode == 0, result.stderr
    exact = course_closed_form()
    assert f"wrote {out / 'graph.svg'}" in result.stdout and f"wrote {out / 'stepper.html'}" in result.stdout
    texts = svg_texts(svg_root(out / "graph.svg"))
    assert f"grad {exact['w']:.4g}" in texts and f"data {exact['L']:.4g}" in texts
    data = page_json(out / "stepper.html")
    grads = {n["name"]: n["grad"] for n in data["nodes"] if n["name"]}
    for name in ("w", "x", "b", "y"):
        assert grads[name] == pytest.approx(exact[name], rel=1e-12)
    # dL/dw as a sum over its one path: the product of the five locals, and backprop's value
    assert f"sum over 1 path: {exact['w']:.4g}" in result.stdout
    assert f"backprop's dL/dw:  {exact['w']:.4g}" in result.stdout


def test_tour_refuses_a_file_for_a_folder(tmp_path):
    (tmp_path / "taken").write_text("x")
    result = run("tour", "-o", str(tmp_path / "taken"))
    assert_bad_input(result, "it is a file")


# --- graph, steps, paths, check ----------------------------------------------------------------


def test_graph_writes_svg_and_dot(tmp_path):
    # c = a*b + a at a = 2, b = -3: dc/da = b + 1 = -2, dc/db = a = 2, c = -4
    result = run("graph", "c = a*b + a", "--at", "a=2,b=-3", "-o", str(tmp_path / "g.svg"))
    assert result.returncode == 0, result.stderr
    root = svg_root(tmp_path / "g.svg")
    texts = svg_texts(root)
    assert {"grad -2", "grad 2", "data -4", "grad 1"} <= set(texts)
    ids = {el.get("id") for el in root.iter()}
    assert {"v0", "v1", "op2", "e2_0", "e2_1", "op3", "e3"} <= ids
    result = run("graph", "c = a*b + a", "--at", "a=2", "--at", "b=-3", "-o", str(tmp_path / "g.dot"))
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and "grad -2" in dot
    result = run("graph", "c = a*b + a", "--at", "a=2,b=-3")
    assert result.returncode == 0 and result.stdout == dot  # no -o: the DOT text on stdout


def step_rows(out: str) -> list[list[str]]:
    """The rows of the printed step table, split on runs of 2+ spaces."""
    table = out.split("Backward pass")[1].split("\n\n")[0].splitlines()[3:]
    return [re.split(r"\s{2,}", line.strip()) for line in table]


def test_steps_prints_every_edge_and_writes_the_page(tmp_path):
    result = run("steps", "c = a*b + a", "--at", "a=2,b=-3", "-o", str(tmp_path / "s.html"), "--quiz")
    assert result.returncode == 0, result.stderr
    # By hand: c sends 1 to mul1 (a*b) and to a; mul1 sends 1*b = -3 to a (1 -> -2) and 1*a = 2 to b.
    assert step_rows(result.stdout) == [
        ["1", "c", "1", "mul1", "d(mul1+a)/dmul1 = 1", "1", "1", "0 -> 1"],
        ["a", "d(mul1+a)/da = 1", "1", "1", "0 -> 1"],
        ["2", "mul1", "1", "a", "d(a*b)/da = b", "-3", "-3", "1 -> -2"],
        ["b", "d(a*b)/db = a", "2", "2", "0 -> 2"],
    ]
    data = page_json(tmp_path / "s.html")
    assert data["quiz"] == "grad" and data["title"] == "c = a*b + a"
    grads = {n["label"]: n["grad"] for n in data["nodes"]}
    assert grads == {"a": -2.0, "b": 2.0, "mul1": 1.0, "c": 1.0}


def test_steps_numbers_for_the_course_example():
    result = run("steps", COURSE, "--at", COURSE_AT)
    assert result.returncode == 0, result.stderr
    rows = step_rows(result.stdout)
    exact = course_closed_form()
    last = rows[-2:]  # step 5: mul1 = w * x sends to w and x
    assert last[0][:5] == ["5", "mul1", f"{exact['b']:.4g}", "w", "d(w*x)/dw = x"]
    assert last[0][-1] == f"0 -> {exact['w']:.4g}" and last[1][-1] == f"0 -> {exact['x']:.4g}"


def test_paths_lists_each_product_and_the_sum():
    result = run("paths", "c = a*b + a", "--at", "a=2,b=-3", "--wrt", "a")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"1\s+c -> mul1 -> a\s+1 \* -3\s+-3", out)  # mul1: a*b's display name
    assert re.search(r"2\s+c -> a\s+1\s+1", out)
    assert "sum over 2 paths: -2" in out and "backprop's dc/da:  -2" in out
    result = run("paths", "c = a*b + a", "--at", "a=2,b=-3", "--wrt", "a", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert re.search(r"1\s+c -> mul1 -> a\s+1 \* -3\s+-3", result.stdout)  # the first path is listed
    assert "2 paths lead from c to a; listed 1 (--limit 1), whose products sum to -3" in result.stdout
    assert "the other path sums to 1 (backprop's dc/da less the listed sum)" in result.stdout
    assert "backprop's dc/da:  -2" in result.stdout


def test_paths_to_an_assigned_name():
    result = run("paths", COURSE, "--at", COURSE_AT, "--wrt", "z")
    assert result.returncode == 0, result.stderr
    assert f"sum over 1 path: {course_closed_form()['b']:.4g}" in result.stdout  # dL/dz = dL/db


def test_check_passes_and_flags_a_kink():
    result = run("check", COURSE, "--at", COURSE_AT)
    assert result.returncode == 0, result.stderr
    exact = course_closed_form()
    assert f"{exact['w']:.8g}" in result.stdout and "all gradients correct" in result.stdout
    # relu at 0: backprop takes the slope 0, central differences see (eps - 0) / (2 eps) = 0.5
    result = run("check", "relu(x)", "--at", "x=0")
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("x "))
    assert row.split() == ["x", "0", "0.5", "1.00e+00", "bug"]


# --- train and vanish ------------------------------------------------------------------------------


def test_train_prints_the_final_loss_and_accuracy_and_plots(tmp_path):
    plot = tmp_path / "moons.png"
    result = run("train", "moons", "--points", "24", "--steps", "6", "--layers", "4", "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    # The same training in this process.
    X, y = nn.make_moons(24, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 1], activation="relu", seed=0)
    history = nn.fit(model, X, y, loss="hinge", steps=6, lr=0.05, seed=0, progress=False)
    assert f"final loss {history.loss[-1]:.4g}" in result.stdout
    assert f"accuracy {nn.accuracy(model, X, y):.1%} on all 24 points" in result.stdout
    for path in (plot, tmp_path / "moons-boundary.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_many_classes_uses_one_output_per_class():
    result = run("train", "blobs", "--points", "12", "--steps", "2", "--layers", "3")
    assert result.returncode == 0, result.stderr
    for fragment in ("3 classes", "MLP(2, [3, 3]", "loss cross_entropy"):
        assert fragment in result.stdout


def test_train_shows_a_progress_bar_on_a_terminal():
    termios = pytest.importorskip("termios")  # a pseudo-terminal: POSIX only
    import fcntl
    import struct

    leader, follower = os.openpty()
    # 24 rows, 100 columns: a terminal of width 0 would get an empty bar.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    command = [sys.executable, "-m", "chainrule", "train", "xor", "--points", "8", "--steps", "3",
               "--layers", "2"]
    process = subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=ENV)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the child has finished
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    assert re.search(rb"3/3 \[", output), output  # tqdm's bar at the end: 3 of 3 steps


def test_vanish_prints_each_layers_norm(tmp_path):
    plot = tmp_path / "v.svg"
    result = run("vanish", "--depth", "3", "--width", "4", "--activations", "sigmoid,relu",
                 "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if re.match(r"\d+( \(|\s)", line)]
    assert len(rows) == 4
    for column, activation in ((-2, "sigmoid"), (-1, "relu")):
        # Independent: one backward pass, then each layer's sqrt(sum of grad^2) by hand.
        X, y = nn.make_moons(16, noise=0.1, seed=0)
        model = nn.MLP(2, [4, 4, 4, 1], activation=activation, init="he", seed=0)
        nn.mse([model(x) for x in X], [float(t) for t in y]).backward()
        norms = [math.sqrt(sum(p.grad**2 for p in layer.parameters())) for layer in model.layers]
        assert [row[column] for row in rows] == [f"{n:.4g}" for n in norms]
    svg_root(plot)


# --- help ------------------------------------------------------------------------------------------


COMMANDS = ["tour", "graph", "steps", "handout", "paths", "check", "train", "vanish", "modes", "serve"]


def test_the_command_list_is_the_parsers():
    from chainrule.viz.cli import build_parser

    (sub,) = [action for action in build_parser()._actions if action.dest == "command"]
    assert sorted(sub.choices) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout and f"chainrule {command}" in result.stdout


def test_top_level_help_lists_the_commands_with_an_example_of_each():
    result = run("--help")
    assert result.returncode == 0
    epilog = result.stdout.split("examples:", 1)[1]
    for command in COMMANDS:
        assert f"chainrule {command}" in epilog, command


def test_version_prints_the_installed_distributions_version():
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"chainrule {version('chainrule')}\n"


def test_the_choices_of_activation_and_init_are_nns():
    from chainrule.nn.module import ACTIVATIONS, INITS

    train, vanish = run("train", "--help").stdout, run("vanish", "--help").stdout
    assert "{" + ",".join(ACTIVATIONS) + "}" in train
    assert "{" + ",".join(INITS) + "}" in vanish


# --- bad input -------------------------------------------------------------------------------------


def assert_bad_input(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 4, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_a_malformed_formula_points_at_the_column():
    result = run("steps", "z = w*x +", "--at", "w=1,x=2")
    assert_bad_input(result, "line 1, column 10", "    z = w*x +\n")
    lines = result.stderr.splitlines()
    assert lines[-1] == " " * 4 + " " * 9 + "^"  # under column 10


def test_an_error_on_the_second_line():
    result = run("check", "z = w*x\nL = foo(z)", "--at", "w=1,x=2")
    assert_bad_input(result, "line 2, column 5", "unknown function 'foo'", "    L = foo(z)")
    assert result.stderr.splitlines()[-1] == "        ^"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["steps", "sin(x) + bar(x)", "--at", "x=1"], "unknown function 'bar'"),
        (["steps", "w*q", "--at", "w=1"], "no value given for 'q'"),
        (["graph", "w*x", "--at", "w=1,x=abc"], "the value of x, 'abc', is not a number"),
        (["graph", "w*x", "--at", "w=1,x=inf"], "must be a finite number"),
        (["graph", "w*x", "--at", "w=1,x"], "'x' is not of the form name=number"),
        (["graph", "w*x", "--at", "w=1,w=2,x=1"], "w is given twice"),
        (["graph", "w*x", "--at", "w=1,x=2,q=3"], "--at gives a value for q, which the formula does not use"),
        (["check", "log(x)", "--at", "x=-1"], "log is defined only for positive numbers"),
        (["steps", "", "--at", "x=1"], "the formula is empty"),
        (["steps", "x" + "+x" * 6000, "--at", "x=1"], "the limit is 10,000"),
        (["paths", "x*x", "--at", "x=1", "--wrt", "y"], "--wrt: the formula has no 'y'"),
        (["graph", "x*x", "--at", "x=1", "-o", "/nonexistent-folder/g.svg"], "does not exist"),
        (["graph", "x*x", "--at", "x=1", "-o", "g.txt"], "use .svg, .dot"),
        (["steps", "x*x", "--at", "x=1", "-o", "/nonexistent-folder/s.html"], "does not exist"),
        (["train", "circles"], "invalid choice: 'circles'"),
        (["train", "moons", "--layers", "16,x"], "--layers: '16,x' is not a list of whole numbers"),
        (["train", "moons", "--steps", "0"], "must be at least 1"),
        (["train", "moons", "--plot", "curve.txt"], "use .png, .svg, .pdf"),
        (["vanish", "--activations", "sigmoid,bogus"], "--activations: unknown bogus"),
        (["vanish", "--depth", "many"], "'many' is not a whole number"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_a_short_message(args, message, tmp_path):
    assert_bad_input(run(*args, cwd=tmp_path), message)
    assert list(tmp_path.iterdir()) == []  # and writes nothing


def test_output_into_a_folder_path_is_refused(tmp_path):
    assert_bad_input(run("graph", "x*x", "--at", "x=1", "-o", str(tmp_path)), "it is a folder")


def test_terminal_escapes_in_the_formula_are_not_echoed():
    result = run("steps", "x + \x1b[2J", "--at", "x=1")
    assert_bad_input(result)
    assert "\x1b" not in result.stderr


def test_a_closed_pipe_ends_quietly():
    # One sum node with 3,000 terms prints a step table far larger than a pipe holds.
    formula = "sum(" + ",".join(["x"] * 3000) + ")"
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "steps", formula, "--at", "x=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert process.stdout.readline().startswith(b"Forward pass")
    process.stdout.close()  # as head does after its lines
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


def test_ctrl_c_exits_130_without_a_traceback():
    command = [sys.executable, "-m", "chainrule", "train", "spirals", "--steps", "100000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**ENV, "PYTHONUNBUFFERED": "1"})
    assert process.stdout.readline().startswith(b"spirals:")  # training is about to start
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130
    assert b"Traceback" not in process.stderr.read()



def test_the_step_table_shows_one_fresh_pass_even_after_backward():
    from chainrule.viz.tables import step_table

    from chainrule import autograd

    e = autograd.parse("z = w*x + b; h = sigmoid(z); L = (y - h)**2", w=0.8, x=1.5, b=0.1, y=1.0)
    e.output.backward()  # leaves now hold this pass's grads; a second pass would double them
    table = step_table(e.output)
    s = 1 / (1 + math.exp(-1.3))
    assert f"0 -> {2 * (1 - s):.4g}" in table  # y's edge starts from zero
    assert e.variables["y"].grad == 2 * (1 - s)
