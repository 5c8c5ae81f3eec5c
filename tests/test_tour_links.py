"""demos/tour.ipynb points only at files that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "demos" / "tour.ipynb"
#: A path into the repository: a folder, a slash, and a file name with one of the repo's extensions.
REPO_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)+[\w.-]+\.(?:md|py|ipynb|png|svg|html|toml|txt|json))\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_file_the_tour_names_exists():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    named = set()
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        named |= set(REPO_PATH.findall(text))
        named |= {link for link in LINK.findall(text) if "://" not in link and not link.startswith("#")}
    missing = sorted(p for p in named if not (ROOT / p).exists() and not (NOTEBOOK.parent / p).exists())
    assert missing == [], missing


def test_the_pattern_finds_paths():
    assert REPO_PATH.findall("see `docs/sections/teaching.md` and autograd/ops.py.") == [
        "docs/sections/teaching.md", "autograd/ops.py"]
