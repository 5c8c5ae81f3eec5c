"""The distribution: one import package, ``chainrule``, that installs beside HIPS autograd.

The sdist and the wheel are built as a release would build them (``python -m
build``, no warning; ``twine check``). The wheel is then installed into fresh
virtual environments with no repository in sight: one where it is the only
package of ours, and two with HIPS autograd 1.9.1 installed before and after it.
Each runs the command and imports both projects in one process.

The fresh environments borrow the third-party dependencies (numpy, graphviz,
matplotlib, ...) of the environment running the tests through a ``.pth`` file,
so no test downloads them again; chainrule itself and HIPS autograd are
installed into each environment's own site-packages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(command, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """An sdist and a wheel built from a clean copy of the tracked files."""
    for tool in ("build", "twine", "setuptools"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"{tool} is not installed (it comes with the dev extras)")
    source = tmp_path_factory.mktemp("source")
    tracked = run(["git", "ls-files", "-z"], cwd=ROOT)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    for name in filter(None, tracked.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend of this environment (the dev extras pin it), no download.
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    warnings = [line for line in (built.stdout + built.stderr).splitlines() if "warning" in line.lower()]
    assert warnings == [], "\n".join(warnings)
    return out


def test_twine_accepts_both_files(dist):
    files = sorted(str(p) for p in dist.iterdir())
    assert sorted(Path(f).suffix for f in files) == [".gz", ".whl"]
    checked = run([sys.executable, "-m", "twine", "check", "--strict", *files])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_installs_one_top_level_package_with_its_assets(dist):
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"chainrule", "chainrule-0.1.0.dist-info"}
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["chainrule"]
    assert {"chainrule/viz/assets/stepper.js", "chainrule/viz/assets/stepper.css"} <= set(names)
    parts = {"chainrule/autograd/value.py", "chainrule/nn/module.py", "chainrule/viz/cli.py", "chainrule/__main__.py"}
    assert parts <= set(names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata


def fresh_venv(where: Path) -> Path:
    """A new virtual environment whose own site-packages is empty but for pip; it borrows our dependencies."""
    made = run([sys.executable, "-m", "venv", str(where)])
    assert made.returncode == 0, made.stderr
    python = where / "bin" / "python"
    own = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (own / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip_install(python: Path, *what: str) -> None:
    done = run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", *what])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def hips_autograd(tmp_path_factory) -> Path:
    """HIPS autograd 1.9.1's wheel, fetched from the package index once."""
    folder = tmp_path_factory.mktemp("hips")
    got = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder), "autograd==1.9.1"])
    if got.returncode != 0:
        if IN_CI:
            pytest.fail("could not download autograd==1.9.1: " + got.stderr[-500:])
        pytest.skip("the package index is out of reach")
    (wheel,) = folder.glob("autograd-1.9.1-*.whl")
    return wheel


def test_the_installed_wheel_runs_the_tour_and_writes_a_page_with_its_assets(dist, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    (wheel,) = dist.glob("*.whl")
    pip_install(python, str(wheel))
    work = tmp_path / "work"
    work.mkdir()
    where = run([str(python), "-c", "import chainrule; print(chainrule.__file__)"], cwd=work)
    assert where.stdout.strip().startswith(str(tmp_path / "venv")), where.stdout + where.stderr
    script = tmp_path / "venv" / "bin" / "chainrule"
    version = run([str(script), "--version"], cwd=work)
    assert version.returncode == 0 and version.stdout.strip() == "chainrule 0.1.0", version.stdout + version.stderr
    tour = run([str(script), "tour", "-o", "out"], cwd=work)
    assert tour.returncode == 0, tour.stdout + tour.stderr
    page = (work / "out" / "stepper.html").read_text(encoding="utf-8")
    js = (ROOT / "viz" / "assets" / "stepper.js").read_text(encoding="utf-8")
    assert js.strip().splitlines()[-1] in page  # the page carries its script inline
    as_module = run([str(python), "-m", "chainrule", "--version"], cwd=work)
    assert as_module.stdout.strip() == "chainrule 0.1.0"


CHECK_BOTH = """
import math
from autograd import grad
import autograd.numpy as anp
slope = grad(anp.tanh)(1.0)
assert abs(slope - (1 - math.tanh(1.0) ** 2)) < 1e-15, slope

from chainrule import MLP, Value, draw
from chainrule.nn import mse
x = Value(1.5, label="x")
y = (x * x).tanh()
y.backward()
assert abs(x.grad - 2 * 1.5 * (1 - math.tanh(2.25) ** 2)) < 1e-15
model = MLP(2, [3, 1], seed=0)
loss = mse([model([0.5, -1.0])], [1.0])
loss.backward()
assert all(math.isfinite(p.grad) for p in model.parameters())
svg = draw(y)._repr_svg_()
assert "<svg" in svg
import autograd, chainrule.autograd
assert autograd.__file__ != chainrule.autograd.__file__
print("both work")
"""


@pytest.mark.parametrize("order", ["hips first", "chainrule first"])
def test_hips_autograd_and_chainrule_live_side_by_side(dist, hips_autograd, tmp_path, order):
    if shutil.which("dot") is None and sys.version_info < (3, 11):
        pytest.skip("drawing needs the system dot on Python 3.10")
    python = fresh_venv(tmp_path / "venv")
    (wheel,) = dist.glob("*.whl")
    first, second = (hips_autograd, wheel) if order == "hips first" else (wheel, hips_autograd)
    pip_install(python, str(first))
    pip_install(python, str(second))
    listed = run([str(python), "-m", "pip", "list", "--path",
                  run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()])
    assert "autograd" in listed.stdout and "chainrule" in listed.stdout
    checked = run([str(python), "-c", CHECK_BOTH], cwd=tmp_path)
    assert checked.returncode == 0 and "both work" in checked.stdout, checked.stdout + checked.stderr
