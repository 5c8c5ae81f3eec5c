"""The documentation stays true: the README and every page under docs/.

* Every ```python snippet in the README and in every docs/*.md page runs as printed (a snippet that
  appears twice runs once), from an empty folder, with the repository root on PYTHONPATH so that
  snippets can import ``demos`` and ``tests``.
* The MkDocs site builds with ``--strict``: a broken link, a missing anchor, a page left out of the
  nav or a nav entry without its page fails here.
* The tables the README repeats from the pages (the lesson plan, the benchmark) are the pages' own,
  row for row, and every link in the README reaches a file that exists.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from demos import DEMOS  # noqa: E402

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]


def snippets(path: Path) -> list[str]:
    """The ```python blocks of one Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


SNIPPETS = list(dict.fromkeys(snippet for doc in DOCUMENTS for snippet in snippets(doc)))
WHERE = {snippet: doc.relative_to(ROOT).as_posix() for doc in reversed(DOCUMENTS) for snippet in snippets(doc)}


def section(text: str, heading: str) -> str:
    """The body under a Markdown heading, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start)
    return text[start:following.start() if following else len(text)]


def table(text: str, first_cell: str) -> list[str]:
    """The rows of the Markdown table whose header row starts with ``| first_cell |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_cell} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


# --- the snippets ------------------------------------------------------------------------------------


def test_every_page_is_read_and_the_docs_have_snippets():
    names = {page.name for page in PAGES}
    assert {"index.md", "teaching.md", "engine.md", "nn.md", "viz.md", "command.md", "performance.md",
            "architecture.md"} <= names
    assert len(SNIPPETS) >= 25
    for page in ("engine.md", "nn.md", "viz.md", "performance.md"):
        assert snippets(ROOT / "docs" / page), page


def run_snippet(snippet: str, folder: Path) -> subprocess.CompletedProcess:
    """One snippet in a fresh Python, in an empty folder, with the repository root on PYTHONPATH."""
    return subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=folder, timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},  # demos, tests
    )


@pytest.fixture(scope="module")
def snippet_runs(tmp_path_factory):
    """Every snippet started at once, as many at a time as there are cores: the slow ones (training
    loops) overlap the quick ones, so the whole set takes about half as long on two cores. Each test
    below then waits for its own snippet's result."""
    workers = max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_snippet, snippet, tmp_path_factory.mktemp(f"snippet{i}"))
                   for i, snippet in enumerate(SNIPPETS)]
        yield futures


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index, snippet_runs):
    snippet = SNIPPETS[index]
    result = snippet_runs[index].result()
    assert result.returncode == 0, f"snippet {index} of {WHERE[snippet]} failed:\n{snippet}\n{result.stderr}"


def test_the_readme_tour_prints_what_the_readme_shows(snippet_runs):
    text = README.read_text(encoding="utf-8")
    tour, shown = re.search(r"## A tour in 20 lines\n\n```python\n(.*?)```\n\n```text\n(.*?)```", text, re.S).groups()
    assert len(tour.splitlines()) <= 20
    result = snippet_runs[SNIPPETS.index(tour)].result()
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


# --- the site ----------------------------------------------------------------------------------------


def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in PAGES:
        built = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert built.is_file(), page.name


# --- the README, the front door -----------------------------------------------------------------------


def test_the_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    assert 200 <= len(text.splitlines()) <= 360
    quick_start = section(text, "## Quick start")
    assert re.findall(r"^make \w+", quick_start, re.M) == ["make demo", "make test"]
    assert "chainrule.autograd" in text and "HIPS" in text
    for page in ("teaching", "engine", "nn", "viz", "command", "performance", "reliability", "architecture"):
        assert f"(docs/{page}.md" in text, page


def test_every_link_in_the_readme_reaches_a_file_and_its_heading():
    from markdown.extensions.toc import slugify  # the site's own anchors (MkDocs' toc extension)

    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t for t in targets if not t.startswith(("http://", "https://", "#"))]
    assert any("#" in t for t in local)
    for target in local:
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / path).read_text(encoding="utf-8"), re.M)
            assert anchor in {slugify(heading, "-") for heading in headings}, target


def test_the_readme_repeats_the_lesson_plan_and_the_benchmark_exactly():
    readme = README.read_text(encoding="utf-8")
    teaching = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert table(readme, "course section") == table(teaching, "course section")
    assert table(readme, "workload") == table(performance, "workload")
    measured = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))["machine"]
    assert measured["date"] in section(readme, "## Performance")  # the table is the run results.json holds
    assert measured["chainrule_commit"] in section(readme, "## Performance")


# --- the teaching guide ---------------------------------------------------------------------------------


def test_the_teaching_guide_names_every_demo_and_its_pictures_exist():
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    pages = "".join(page.read_text(encoding="utf-8") for page in PAGES)
    for name in DEMOS:
        # Every demo of the course's module is in the lesson plan; a demo that goes beyond it (such as
        # higher-order derivatives) may live on its own page instead, but some page must explain it.
        assert f"demos.{name}" in pages, name
    for stop in ("5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9"):
        assert f"| {stop} " in guide, stop
    course_demos = re.findall(r"demos\.(\w+)", guide)
    assert len(set(course_demos)) >= 10
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", guide)
    assert {"stepper.png", "moons.png"} <= set(pictures)
    assert any(p.endswith(".svg") for p in pictures)
    for picture in pictures:
        assert (ROOT / "docs" / picture).is_file(), picture


def test_the_notebook_points_at_pages_that_exist():
    notebook = json.loads((ROOT / "demos" / "tour.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(cell["source"]) for cell in notebook["cells"])
    for page in re.findall(r"docs/[\w/.-]+\.md", text):
        assert (ROOT / page).is_file(), page
