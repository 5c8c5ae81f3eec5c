"""MkDocs hook: nav entries marked ``# pending`` in mkdocs.yml are left out while their page is missing.

Other branches write those pages; until they are merged the strict build must still pass, and once a
page exists its entry is checked like any other. The marker is read from mkdocs.yml's own text, so
the list of pending pages is written in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

PENDING = re.compile(r"^\s*-\s*[^:]+:\s*(\S+\.md)\s*#\s*pending\s*$", re.M)


def pending_pages(config_file: Path) -> set[str]:
    """The pages whose nav entry carries the ``# pending`` marker."""
    return set(PENDING.findall(config_file.read_text(encoding="utf-8")))


def without(nav: list, missing: set[str]) -> list:
    """``nav`` minus the entries whose page is in ``missing``, at any depth (a section is a list)."""
    kept = []
    for entry in nav:
        if isinstance(entry, dict):
            entry = {title: without(value, missing) if isinstance(value, list) else value
                     for title, value in entry.items() if not (isinstance(value, str) and value in missing)}
            if not entry:
                continue
        elif entry in missing:
            continue
        kept.append(entry)
    return kept


def on_config(config):
    """Drop a pending entry from the nav when its file is not in docs/ yet."""
    docs = Path(config["docs_dir"])
    missing = {page for page in pending_pages(Path(config["config_file_path"])) if not (docs / page).is_file()}
    config["nav"] = without(config["nav"], missing)
    return config
