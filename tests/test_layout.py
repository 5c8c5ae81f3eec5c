"""The project's house rules, checked: ruff, the dependency direction, a standard-library-only engine."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd", "nn", "viz")
ALLOWED = {"autograd": set(), "nn": {"autograd"}, "viz": {"autograd", "nn"}}  # viz -> nn -> autograd


def imported_top_level(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(".".join(alias.name.split(".")[:2]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(".".join(node.module.split(".")[:2]))
            if node.module == "chainrule":  # from chainrule import autograd
                names.update(alias.name for alias in node.names)
    # chainrule.autograd -> autograd: the part of the one package that is imported
    return {name.removeprefix("chainrule.").split(".")[0] for name in names}


@pytest.mark.parametrize("package", PACKAGES)
def test_parts_are_imported_only_through_chainrule(package):
    """`autograd`, `nn`, `viz` alone are other projects' names: ours are chainrule.autograd, ... (one Value class)."""
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = {node.module.split(".")[0]}
            else:
                continue
            assert not tops & set(PACKAGES), f"{path.relative_to(ROOT)}:{node.lineno} imports {sorted(tops)} bare"


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package):
    for path in sorted((ROOT / package).glob("*.py")):
        ours = imported_top_level(path) & set(PACKAGES) - {package}
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"


def test_importing_the_engine_and_nn_loads_only_the_standard_library():
    code = (
        "import sys, json; before = set(sys.modules); import chainrule.autograd, chainrule.nn; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = set(json.loads(result.stdout)) - {"chainrule"}
    outside = {m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert outside == set(), f"import chainrule.autograd, chainrule.nn loaded {sorted(outside)}"


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it comes with the dev extras)")
    result = subprocess.run(
        [ruff, "check", "--output-format", "concise", *PACKAGES, "tests", "demos", "benchmarks"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
