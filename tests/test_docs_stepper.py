"""docs/stepper.md: every python snippet runs, and every picture it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "stepper.md"
TEXT = PAGE.read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def test_the_page_has_snippets_and_pictures():
    assert len(SNIPPETS) >= 5
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)
    assert len(pictures) >= 10
    missing = [p for p in pictures if not (PAGE.parent / p).is_file()]
    assert missing == []


@pytest.mark.parametrize("k", range(len(SNIPPETS)))
def test_each_snippet_runs(k, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(SNIPPETS[k], f"docs/stepper.md snippet {k + 1}", "exec"), {"__name__": "__snippet__"})
