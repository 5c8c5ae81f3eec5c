"""Every Python snippet in the README (and in docs/reliability.md) runs as printed: the docs stay true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "reliability.md"]
SNIPPETS = [
    snippet
    for doc in DOCUMENTS
    for snippet in re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
]


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 20


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SNIPPETS[index]], capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},  # demos, tests
    )
    assert result.returncode == 0, f"snippet {index} failed:\n{SNIPPETS[index]}\n{result.stderr}"
