"""Every demo runs (with --quick) and prints the facts the course promises.

Each demo is run once, as a subprocess without a display, from a scratch
folder. Its ``FACT name=value`` lines are read back and held to independent
oracles: closed forms and hand arithmetic worked out here in the test, the
thresholds of the course, and the files the demo says it wrote.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demos is a folder of the repository, not an installed package

from demos import DEMOS  # noqa: E402

TIMEOUT = 300  # seconds; a quick run takes a few


def environment(home: Path) -> dict[str, str]:
    """The test's environment without a display, with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = str(home)  # matplotlib's cache and config go here, not into the user's home
    return env


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=environment(cwd), timeout=TIMEOUT)


class Run:
    """One finished demo: its output, its facts, and the files it says it wrote."""

    def __init__(self, result: subprocess.CompletedProcess, cwd: Path):
        self.result = result
        self.stdout = result.stdout
        self.facts = dict(re.findall(r"^FACT ([^=\s]+)=(.*)$", result.stdout, re.M))
        self.written = [cwd / p for p in re.findall(r"^  wrote (\S+)  \(", result.stdout, re.M)]

    def number(self, name: str) -> float:
        return float(self.facts[name])

    def flag(self, name: str) -> bool:
        assert self.facts[name] in ("true", "false"), self.facts[name]
        return self.facts[name] == "true"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``demo(name)``: the demo run with --quick as ``python -m demos.NAME`` (once per module)."""
    done: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in done:
            cwd = tmp_path_factory.mktemp(name)
            result = run(["-m", f"demos.{name}", "--quick", "--out", "out"], cwd)
            assert result.returncode == 0, f"demos.{name} failed:\n{result.stdout[-3000:]}\n{result.stderr}"
            done[name] = Run(result, cwd)
        return done[name]

    return get


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# --- every demo ---------------------------------------------------------------------------


def test_every_demo_script_is_listed():
    scripts = {p.stem for p in (ROOT / "demos").glob("*.py")} - {"__init__", "common"}
    assert scripts == set(DEMOS)


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_and_writes_its_pictures(demo, name):
    ran = demo(name)
    assert "Traceback" not in ran.result.stderr
    assert f"[{name}] pictures go to out/" in ran.stdout
    assert ran.facts, "no FACT lines"
    assert ran.written, "wrote no pictures"
    for path in ran.written:
        assert path.parent.name == "out", path
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000, path
        elif path.suffix == ".svg":
            assert b"<svg" in data[:2_000] and data.rstrip().endswith(b"</svg>"), path
        elif path.suffix == ".html":
            assert data.startswith(b"<!DOCTYPE html>") and b"</html>" in data, path
        else:
            assert len(data) > 100, path


# --- the facts of each demo, against oracles computed here -----------------------------------


def test_seed_example(demo):
    ran = demo("seed_example")
    x, w, b, y = 1.5, 0.8, 0.1, 1.0
    h = sigmoid(w * x + b)
    dz = -2.0 * (y - h) * h * (1.0 - h)  # by hand: dL/dh * dh/dz
    exact = {"w": dz * x, "x": dz * w, "b": dz, "y": 2.0 * (y - h)}
    for name, value in exact.items():
        assert ran.number(f"course.grad_{name}") == pytest.approx(value, rel=1e-12)
    assert ran.number("course.local_form_w") == pytest.approx(exact["w"], rel=1e-12)
    assert ran.number("course.global_form_w") == pytest.approx(exact["w"], rel=1e-12)
    assert ran.number("two_paths.paths_to_w") == 2
    with_penalty = exact["w"] + 2 * 0.1 * w  # the penalty 0.1 w^2 adds 0.2 w along the second path
    for fact in ("two_paths.grad_w", "two_paths.local_form_w", "two_paths.global_form_w"):
        assert ran.number(fact) == pytest.approx(with_penalty, rel=1e-12)
    assert ran.number("forms_max_abs_diff") < 1e-15
    assert ran.facts["gradcheck.verdicts"] == "w:correct,x:correct,b:correct,y:correct"


def test_cost_of_numerical_gradients(demo):
    ran = demo("cost_of_numerical_gradients")
    # MLP(2, [k, k, 1]): (2 + 1) k + (k + 1) k + (k + 1) parameters, for the quick widths 2, 4, 8
    expected = [3 * k + (k + 1) * k + k + 1 for k in (2, 4, 8)]
    assert ran.facts["param_counts"] == ",".join(map(str, expected))
    assert ran.flag("forward_passes_are_2n")
    assert ran.number("max_rel_diff") < 1e-6
    assert "numerical: forward passes" in ran.stdout and "210" in ran.stdout  # 2 * 105


def test_exercise_5_1(demo):
    ran = demo("exercise_5_1")
    assert ran.number("nodes") == 14
    assert ran.facts["ops"] == "*,+,relu,*,+,relu,-,**"
    x, w1, b1, w2, b2, y = 1.0, 0.5, 0.2, 1.2, 0.1, 2.0
    h1 = w1 * x + b1  # 0.7, on
    h2 = w2 * h1 + b2  # 0.94, on
    assert ran.number("both_on.grad_w1") == pytest.approx(-2 * (y - h2) * w2 * x, rel=1e-12)
    assert ran.number("both_on.max_rel_diff") < 1e-12
    assert ran.facts["inner_off.zero_grads"] == "x,w1,b1,w2"
    assert ran.number("inner_off.max_rel_diff") < 1e-12


def test_exercise_5_2_tanh(demo):
    ran = demo("exercise_5_2_tanh")
    assert ran.number("points") >= 9
    assert ran.number("engine_vs_central_max_rel_diff") < 1e-7
    assert ran.number("pieces_vs_node_max_rel_diff") < 1e-12
    assert ran.number("slope_at_0") == 1.0
    assert ran.number("pieces.paths") == 4  # a -> exp(a) and a -> exp(-a), each into s and c
    assert "1 - tanh(a)^2 = 1 - t^2" in ran.stdout


def test_local_gradients(demo):
    ran = demo("local_gradients")
    layers = ("linear", "relu", "sigmoid", "tanh", "cross_entropy", "softmax_log", "mse")
    for layer in layers:
        assert ran.number(f"{layer}.engine_max_abs_diff") < 1e-12, layer
        assert ran.number(f"{layer}.numeric_max_rel_error") < 1e-5, layer  # the course's 'correct'


def test_batch_gradients(demo):
    ran = demo("batch_gradients")
    for key in ("dZ", "dW", "dX", "db"):
        assert ran.number(f"{key}.max_abs_diff") < 1e-12, key
    assert ran.number("batch") >= 2


def test_layerwise_numpy(demo):
    ran = demo("layerwise_numpy")
    assert ran.number("max_grad_diff") < 1e-12
    assert ran.number("max_loss_diff") < 1e-12
    assert ran.number("max_weight_diff") < 1e-12
    assert ran.number("last_loss") < ran.number("first_loss")  # gradient descent did descend


def test_exercise_5_3_gradcheck(demo):
    ran = demo("exercise_5_3_gradcheck")
    assert ran.number("healthy.params") == 37  # (2+1)*4 + (4+1)*4 + (4+1)*1
    assert ran.number("healthy.correct") == 37
    assert ran.flag("healthy.ok")
    assert ran.number("healthy.max_rel_error") < 1e-5
    # The bug sits in L2.N1's tanh: its own 5 parameters and layer 1's 12 lie below it.
    assert ran.number("broken.reaching") == 17
    assert ran.facts["broken.own_verdicts"] == "bug,bug,bug,bug,bug"
    assert ran.flag("broken.flagged_all_reach")
    assert ran.flag("broken.unaffected_all_correct")
    assert ran.number("broken.flagged") >= 5
    assert "bug" in ran.stdout and "return (1.0 - t,)" in ran.stdout  # the planted rule is shown


def test_exercise_5_4_vanishing(demo):
    ran = demo("exercise_5_4_vanishing")
    assert ran.number("layers") >= 11  # a 10+ layer network, as the exercise asks
    assert ran.number("sigmoid.ratio") > 1_000
    assert ran.number("relu.ratio") < 100
    assert ran.number("tanh.ratio") < 100
    assert ran.number("relu_uniform.smallest_norm") > 1_000  # U(-1, 1) on 16 inputs explodes
    assert ran.number("clip.before") > 1_000
    assert ran.number("clip.after") == pytest.approx(1.0, rel=1e-6)
    assert ran.number("clip.ratio_after") == pytest.approx(ran.number("clip.ratio_before"), rel=1e-12)


def test_moons(demo):
    ran = demo("moons")
    assert ran.number("last_loss") < ran.number("first_loss")
    assert ran.number("accuracy") >= 0.75
    assert ran.number("compiled.max_loss_diff") < 1e-9
    assert ran.number("compiled.max_weight_diff") < 1e-9


def test_forward_reverse(demo):
    ran = demo("forward_reverse")
    sizes = [int(s) for s in ran.facts["many_inputs.sizes"].split(",")]
    assert len(sizes) >= 3
    # n inputs: n products, n tanh, one sum, one square; forward mode sweeps it n times, reverse once.
    nodes = [2 * n + 2 for n in sizes]
    assert ran.facts["many_inputs.forward_ops"] == ",".join(str(n * k) for n, k in zip(sizes, nodes, strict=True))
    assert ran.facts["many_inputs.reverse_ops"] == ",".join(map(str, nodes))
    # m outputs over a trunk of 10 x (product, sin): forward sweeps the whole graph once, reverse once per
    # output over the trunk and the output's own product and sin.
    assert ran.facts["many_outputs.forward_ops"] == ",".join(str(20 + 2 * m) for m in sizes)
    assert ran.facts["many_outputs.reverse_ops"] == ",".join(str(22 * m) for m in sizes)
    for key in ("many_inputs", "many_outputs"):
        assert ran.flag(f"{key}.counts_match_the_graph")
        assert ran.number(f"{key}.max_rel_diff") < 1e-12


def test_second_derivatives(demo):
    ran = demo("second_derivatives")
    t = math.tanh(0.5)
    s = sigmoid(0.5)
    assert ran.number("tanh.second_at_0.5") == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)
    assert ran.number("sigmoid.second_at_0.5") == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-14)
    for name in ("tanh", "sigmoid"):
        assert ran.number(f"{name}.points") >= 9
        assert ran.number(f"{name}.closed_form_max_rel_diff") < 1e-12
        assert ran.number(f"{name}.central_max_rel_diff") < 1e-7
        ops = ran.facts[f"{name}.second_graph_ops"].split(",")
        assert ops[0] == name and len(ops) >= 4  # the function's own node, then the derivative's nodes
    assert [p.name for p in ran.written if p.suffix == ".svg"] == [
        "tanh-first.svg", "tanh-second.svg", "sigmoid-first.svg", "sigmoid-second.svg"]


def test_newton(demo):
    ran = demo("newton")
    for key in ("one_d", "two_d"):
        assert ran.number(f"{key}.newton_steps") < ran.number(f"{key}.descent_steps"), key
    assert ran.number("one_d.newton_steps") <= 8  # quadratic convergence: a handful of steps
    assert ran.number("two_d.newton_steps") <= 15
    assert ran.number("one_d.newton_final") == pytest.approx(math.log(2.0), rel=1e-12)
    x, y = (float(v) for v in ran.facts["two_d.newton_final"].split(","))
    assert math.hypot(x - 1.0, y - 1.0) < 1e-9
    # f = (1 - x)^2 + 5 (y - x^2)^2: f_xx = 2 - 20 (y - x^2) + 40 x^2, f_xy = -20 x, f_yy = 10 at (1, 1)
    assert [float(v) for v in ran.facts["two_d.hessian_at_minimum"].split(",")] == pytest.approx(
        [42.0, -20.0, -20.0, 10.0], rel=1e-14)


def test_gradient_penalty(demo):
    ran = demo("gradient_penalty")
    points = [(-1.5, -0.9), (-0.7, -0.5), (0.0, 0.1), (0.6, 0.6), (1.2, 0.8), (2.0, 0.9)]
    w0, w1, w2 = 0.3, -0.2, 0.5
    g = [0.0, 0.0, 0.0]  # dL/dw by hand: L = mean (w2 t - y)^2 with t = tanh(w0 x + w1)
    for x, y in points:
        t = math.tanh(w0 * x + w1)
        r = 2 * (w2 * t - y) / len(points)
        g[0] += r * w2 * (1 - t * t) * x
        g[1] += r * w2 * (1 - t * t)
        g[2] += r * t
    assert ran.number("P") == pytest.approx(sum(v * v for v in g), rel=1e-12)
    assert ran.number("chain_rule_max_rel_diff") < 1e-12
    assert ran.number("central_max_rel_diff") < 1e-6
    assert ran.number("hessian_max_asymmetry") < 1e-12
    for key in ("plain", "penalised"):
        assert ran.number(f"{key}.last_loss") < ran.number(f"{key}.first_loss")
    assert ran.number("penalised.last_grad_norm") < ran.number("plain.last_grad_norm")


# --- how a demo is started ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seed_example", "exercise_5_1"])
def test_runs_as_a_file_into_the_default_folder(tmp_path, name):
    result = run([str(ROOT / "demos" / f"{name}.py")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "chainrule-out" / name / "graph.svg").is_file()
    assert (tmp_path / "chainrule-out" / name / "stepper.html").is_file()
    assert f"[{name}] pictures go to chainrule-out/{name}/" in result.stdout


def test_out_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    result = run(["-m", "demos.seed_example", "--out", "taken"], tmp_path)
    assert result.returncode == 2
    assert "--out taken: that is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_names_the_flags(tmp_path):
    result = run(["-m", "demos.moons", "--help"], tmp_path)
    assert result.returncode == 0
    for flag in ("--out", "--quick", "--seed"):
        assert flag in result.stdout
