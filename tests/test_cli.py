"""The chainrule command, run as a user runs it: a subprocess."""

from __future__ import annotations

import math
import subprocess
import sys


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viz.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_tour_prints_the_course_example_and_its_checks(tmp_path):
    result = run("tour", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    s = 1 / (1 + math.exp(-1.3))
    assert f"{(1 - s) ** 2:.4g}" in out  # the loss
    assert f"{2 * (s - 1) * s * (1 - s) * 1.5:.8g}" in out  # dL/dw in the gradient check, 8 digits
    assert "all gradients correct" in out
    assert "Traceback" not in result.stderr
