"""``chainrule serve`` in Chromium: the formula box end to end, and a class of three on one teacher.

The server runs for real on a loopback port (see test_server.Running). Every
page records its requests, console errors and dialogs: only the server itself
may be asked for anything, and no error or dialog may appear (a hostile name
that ran would open one). With CHAINRULE_SCREENSHOTS=1 the screenshots go to
docs/img/ for the documentation; otherwise to the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chainrule.viz.stepper import stepper_html
from playwright.sync_api import expect
from test_server import Running
from test_server_class import AT, COURSE, course_grads

from chainrule import autograd

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
MARKUP = "<script>alert(1)</script>"



@pytest.fixture(scope="module")
def server():
    running = Running(classroom=True)
    yield running
    running.stop()


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("CHAINRULE_SCREENSHOTS") == "1":
        folder = Path(__file__).resolve().parent.parent / "docs" / "img"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


@dataclass
class Watch:
    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def check(self):
        assert self.dialogs == [], self.dialogs
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture
def open_page(browser, server):
    opened = []

    def opener(path: str, viewport=None, accept_downloads=False):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                      accept_downloads=accept_downloads)
        page = context.new_page()
        watch = Watch(server.base)
        page.on("request", lambda r: r.url.startswith((server.base, "data:", "ws://127.0.0.1"))
                or watch.foreign.append(r.url))
        # A refused formula is a 400 the page expects and shows; Chromium logs it all the same.
        page.on("console", lambda m: m.type == "error" and "status of 400" not in m.text
                and watch.errors.append(m.text))
        page.on("pageerror", lambda e: watch.errors.append(str(e)))
        page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
        page.goto(server.base + path)
        opened.append((context, watch))
        return page

    yield opener
    for context, watch in opened:
        context.close()
        watch.check()


def test_the_formula_box_end_to_end(open_page, shots):
    page = open_page("/", accept_downloads=True)
    page.click("#go")
    page.wait_for_selector("#results:not([hidden])")
    expected = autograd.parse(COURSE, **AT).output
    expected.backward()
    assert f"{expected.data:.4g}" in page.text_content("#forward")
    nodes = autograd.topological_order(expected)
    steps = sum(1 for node in nodes if node.parents)
    assert page.text_content("#status") == f"{len(nodes)} nodes, {steps} backward steps"
    page.wait_for_function("() => document.querySelector('#graphimg').naturalWidth > 100")
    assert "correct" in page.text_content("#check")
    page.select_option("#wrt", "w")
    assert "sum over" in page.text_content("#paths")
    frame = page.frame_locator("#stepper")
    frame.locator("body[data-ready=true]").wait_for()
    assert frame.locator("#title").text_content() == COURSE
    page.screenshot(path=str(shots / "serve-formula-box.png"), full_page=False)
    with page.expect_download() as download:
        page.click("#download")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved == stepper_html(autograd.parse(COURSE, **AT).output, title=COURSE)

    # a bad formula: the caret under the column
    page.fill("#formula", "L = x*(y+")
    page.fill("#at", "x=1, y=2")
    page.click("#go")
    page.wait_for_selector("#error:not([hidden])")
    assert page.text_content("#error") == ("error in the formula at line 1, column 7: cannot read this formula: "
                                           "( was never closed\n    L = x*(y+\n          ^")
    assert page.is_hidden("#results")
    # a hostile formula and a hostile name: refused, nothing runs (a dialog would fail the test)
    page.fill("#formula", "__import__('os').system('echo hi')")
    page.fill("#at", "")
    page.click("#go")
    expect(page.locator("#error")).to_contain_text("__import__")
    page.fill("#formula", "x*x")
    page.fill("#at", f"x=1, {MARKUP}=2")
    page.click("#go")
    expect(page.locator("#error")).to_contain_text("is not a name")
    assert MARKUP in page.text_content("#error")  # shown as text, not run
    assert page.locator("#error script").count() == 0
    # a value that is not a number is quoted as typed
    page.fill("#formula", "x*x")
    page.fill("#at", "x=abc")
    page.click("#go")
    expect(page.locator("#error")).to_have_text("\"at\": the value of x must be a finite number, got 'abc'")
    # over the parser's limit
    page.fill("#formula", "x" + "+x" * 5_000)
    page.fill("#at", "x=1")
    page.click("#go")
    expect(page.locator("#error")).to_contain_text("10,000")


def position(page) -> str:
    return page.text_content("#position")


def test_a_class_of_three(open_page, server, shots):
    teacher = open_page(f"/teach/{server.secret}", accept_downloads=True)
    teacher.wait_for_selector("#connection.live")
    expect(teacher.locator("#position")).to_contain_text("Step 1 of")
    total = int(position(teacher).split()[-1])
    teacher.wait_for_function("() => document.querySelector('#qr').naturalWidth > 100")
    assert total == sum(1 for _ in autograd.backward_steps(autograd.parse(COURSE, **AT).output))

    students = []
    for name in ("Ada", HOSTILE_NAME, ""):
        page = open_page("/class", viewport=PHONE)
        page.wait_for_selector("#join:not([hidden])")
        page.fill("#name", name)
        page.click("#join button")
        page.wait_for_selector("#lesson:not([hidden])")
        students.append(page)
    expect(teacher.locator("#students")).to_have_text("3")

    # the step follows the teacher
    steps = list(autograd.backward_steps(autograd.parse(COURSE, **AT).output))
    target = next(k for k, s in enumerate(steps) if s.node.name == "z")
    for k in range(1, target + 1):
        teacher.click("#next")
        expect(teacher.locator("#position")).to_have_text(f"Step {k + 1} of {total}")
    for page in students:
        expect(page.locator("#position")).to_have_text(f"Step {target + 1} of {total}")
        assert page.locator("#graph svg .now").count() == 1

    teacher.click("#open")
    z = course_grads()["z"]
    answers = [repr(z), "0.5", f"{z:.6g}"]
    for page, answer in zip(students, answers, strict=True):
        page.wait_for_selector("#question:not([hidden]) #answer:not([hidden])")
        assert page.text_content("#asks") == "dL/dz = ?"
        page.fill("#value", answer)
        page.click("#answer button")
        expect(page.locator("#feedback")).to_contain_text("Wait for the reveal")
    expect(teacher.locator("#answered")).to_have_text("3")
    assert teacher.text_content("#rightcount") == "2"
    labels = teacher.locator("#histogram .label").all_text_contents()
    counts = teacher.locator("#histogram .n").all_text_contents()
    assert dict(zip(labels, counts, strict=True)) == {f"{z:.4g} \u2713": "2", "0.5": "1"}
    assert teacher.locator("#histogram .bar.right").count() == 1
    assert teacher.text_content("#commonwrong") == "Most common wrong answer: 0.5"
    teacher.screenshot(path=str(shots / "class-teacher.png"), full_page=True)

    teacher.click("#reveal")
    verdicts = []
    for page in students:
        expect(page.locator("#asks")).to_have_text(f"dL/dz = {z:.4g}")
        verdicts.append(page.text_content("#feedback").split(":")[0])
    assert verdicts == ["Right", "Not quite", "Right"]
    students[1].screenshot(path=str(shots / "class-student-phone.png"), full_page=False)
    # no student page shows another student's name
    for page in students:
        text = page.text_content("body")
        assert "Ada" not in text and "onerror" not in text

    with teacher.expect_download() as download:
        teacher.click("#csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["question"], r["student"], r["right"]) for r in rows] == [
        ("1", "Ada", "right"), ("1", HOSTILE_NAME, "wrong"), ("1", "s3", "right")]
    assert [float(r["answer"]) for r in rows] == [float(a) for a in answers]
    assert all(math.isfinite(float(r["answer"])) and r["time"].endswith("Z") for r in rows)
