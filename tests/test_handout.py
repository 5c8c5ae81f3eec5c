"""The handout: the answer key's numbers are the engine's, and the worksheet gives none of them away."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest
from chainrule.autograd import Value, topological_order
from chainrule.autograd.names import display_names
from chainrule.viz.cli import main
from chainrule.viz.handout import handout_html
from course import course, sig

from chainrule import autograd

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = "w=0.8,x=1.5,b=0.1,y=1"


class Sections(HTMLParser):
    """The visible text of each <section> (SVG text included), and the rows of each table by its class."""

    def __init__(self):
        super().__init__()
        self.section = None
        self.text: dict[str, list[str]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.table = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs["id"]
            self.text[self.section] = []
        elif tag in ("style", "title"):
            self.skip += 1
        elif tag == "table":
            self.table = f"{self.section}.{attrs.get('class')}"
            self.tables[self.table] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self.skip -= 1
        elif tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.table:
            self.tables[self.table].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.skip or self.section is None:
            return
        self.text[self.section].append(data)
        if self.cell is not None:
            self.cell.append(data)


def read(page: str) -> Sections:
    parser = Sections()
    parser.feed(page)
    return parser


def numbers_in(text: str) -> set[float]:
    return {float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)}


@pytest.mark.parametrize("forward", [False, True])
def test_the_key_is_the_engines_and_the_worksheet_holds_no_answer(forward):
    L, leaves, z, h = course()
    page = handout_html(L, forward=forward)
    parsed = read(page)
    order = topological_order(L)
    names = display_names(order)
    # The key, against the closed form of the course example.
    s = sig(1.3)
    dh = -2 * (1 - s)
    dz = dh * s * (1 - s)
    exact = {"w": dz * 1.5, "x": dz * 0.8, "b": dz, "y": 2 * (1 - s), "z": dz, "h": dh, "mul1": dz,
             "sub1": 2 * (1 - s), "L": 1.0}
    key = {row[0]: row for row in parsed.tables["key.key"][1:]}
    assert set(key) == {names[n] for n in order}
    for name, grad in exact.items():
        assert float(key[name][3]) == pytest.approx(grad, rel=5e-4), name
    assert float(key["h"][2]) == pytest.approx(s, rel=5e-4)
    # The worksheet: no grad answer anywhere in its text (graph included), nor with --forward a computed value.
    answers = {float(f"{exact[n]:.4g}") for n in exact if n != "L"}
    if forward:
        answers |= {float(f"{n.data:.4g}") for n in order if not n.is_leaf}
    given = {float(f"{n.data:.4g}") for n in order if n.is_leaf} | {1.0}
    worksheet = "".join(parsed.text["worksheet"])
    leaked = (numbers_in(worksheet) & answers) - given
    assert leaked == set(), leaked
    fill = parsed.tables["worksheet.fill"][1:]
    assert [row[3] for row in fill] == [""] * (len(order) - 1) + ["1"]
    blank_values = [row[0] for row in fill if row[2] == ""]
    assert blank_values == ([names[n] for n in order if not n.is_leaf] if forward else [])
    assert worksheet.count("grad ________") == len(order) - 1
    assert "Answer key" not in worksheet


def test_the_key_lists_every_backward_step():
    L, *_ = course()
    parsed = read(handout_html(L))
    steps = list(autograd.backward_steps(course().L))
    rows = parsed.tables["key.steps"][1:]
    assert len(rows) == sum(len(s.edges) for s in steps)
    assert rows[-2][:6] == ["5", "mul1", f"{steps[-1].upstream:.4g}", "w", "\u2202(w\u00d7x)/\u2202w = x", "1.5"]


def test_the_key_is_on_a_page_of_its_own_when_printed():
    page = handout_html(course().L)
    assert re.search(r"#key \{[^}]*break-before: page", page)
    assert "@page" in page


def test_handout_command_writes_the_sheet(tmp_path, capsys):
    out = tmp_path / "sheet.html"
    assert main(["handout", COURSE, "--at", AT, "-o", str(out), "--forward"]) == 0
    parsed = read(out.read_text(encoding="utf-8"))
    assert [row[2] for row in parsed.tables["worksheet.fill"][1:] if row[1] != "input"] == [""] * 5
    assert "wrote" in capsys.readouterr().out


def test_handout_refuses_what_it_cannot_write(tmp_path, capsys):
    assert main(["handout", COURSE, "--at", AT, "-o", str(tmp_path / "sheet.pdf")]) == 2
    err = capsys.readouterr().err
    assert ".html" in err and ".pdf" in err and "Traceback" not in err
    assert main(["handout", "L = log(x)", "--at", "x=2,y=3", "-o", str(tmp_path / "s.html")]) == 2


def test_a_name_with_markup_is_text_in_the_handout():
    x = Value(2.0, name="<b>x</b>")
    y = (x * x).tanh()
    page = handout_html(y, title="<script>t</script>")
    assert "<b>x</b>" not in page.replace("&lt;b&gt;x&lt;/b&gt;", "")
    assert "<script>" not in page
    assert math.isclose(float(read(page).tables["key.key"][-1][3]), 1.0)
