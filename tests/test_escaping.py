"""Hostile names and titles drawn inertly and correctly: DOT, SVG from both Graphviz builds, step
frames, nn clusters, and the stepper page, in Python and in Chromium.

The names carry what could break each format: markup (``< > &``, ``<script>``, an ``onerror``
image, a CDATA end, a comment), quotes, the record label's structure (``{ } | < >``), Graphviz's
own escapes (``\\N``, ``\\l``), newlines and carriage returns, right-to-left marks and overrides
(U+202E, U+200F), emoji with joiners, lone control characters (BEL, ESC, NUL, vertical tab),
a line separator, a lone surrogate and the non-characters U+FFFE.

"Correct" is written here once, in ``shown_lines``: a name is shown line by line (a newline
starts a new line), with the characters XML cannot hold (control characters, surrogates,
U+FFFE/U+FFFF) spelled as their Python escape (``\\x07``, ``\\ud800``); a record does not show
leading blanks or an empty line, and Graphviz draws a run of spaces as one. Everything else is
shown as it is: ``<b>`` as the four characters, never as bold.

Checks:

* DOT: ``dot`` reads it without a warning; read back through ``dot -Tjson0``, each box's record
  label has exactly its fields (name, data, grad), no port and no extra field, and each field
  unescapes to the name;
* SVG, from the system ``dot`` and from WebAssembly: well-formed XML, no script, no event
  handler attribute, no foreignObject; each box's ``<text>`` elements are exactly the name's
  lines, then ``data`` and ``grad``;
* step frames: the captions, which quote names and formulas, show them as text;
* nn clusters, whose labels come from the parts of a parameter's name;
* the stepper page: our two scripts and nothing a name could add; its JSON gives back every
  name exactly; in Chromium every name is literal text in the table, the graph, the step
  explanations and the node view, with no dialog, no console error and no request.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from chainrule.autograd import Value, topological_order
from chainrule.autograd.names import display_names
from chainrule.viz import render, stepper_html, to_dot
from chainrule.viz.frames import frame_dots
from chainrule.viz.render import run_engine
from conftest import require
from test_stepper_browser import open_page  # noqa: F401 - a fixture, used by name

from chainrule import autograd

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = ["dot", "wasm"]

NAMES = [
    "<b>bold</b>",
    "a < b > c",
    "&amp; &lt; & &#x41; &nbsp",
    "\"double\" 'single' `back`",
    "{braces} | pipe | <port>",
    "}{|><",
    "\\N \\G \\l \\n \\\\ back\\slash",
    "<script>alert('s')</script>",
    "<img src=x onerror=alert('i')>",
    '"><svg onload=alert(1)>',
    "]]> <!-- --> <?xml?>",
    "line one\nline two",
    "cr\r\nlf",
    "\u202eright to left\u202c",
    "\u200fRLM and \u200eLRM",
    "😀 👩\u200d🔬 emoji",
    "bell\x07",
    "\x1b[31mred",
    "nul\x00here",
    "\x0bvtab\x0c",
    "\u2028line separator",
    "lone \ud800 surrogate",
    "non\ufffecharacter",
    "  two  spaces  ",
    "${x} {{x}} %s %(x)s",
]
OUT_NAME = 'out "|<>&'
TITLE = "L = f(x) <script>alert('t')</script> & {x | y} \u202e😀 \\N"


def escaped(text: str) -> str:
    """What XML cannot hold, as its Python escape: C0/C1 controls but the newline, surrogates,
    U+FFFE and U+FFFF. Written here from the Unicode categories."""
    def unholdable(c: str) -> bool:
        return c != "\n" and (unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff")

    return "".join(ascii(c)[1:-1] if unholdable(c) else c for c in text)


def shown_lines(name: str) -> list[str]:
    """The lines a graph box shows for ``name``."""
    lines = escaped(name).lstrip(" \n").split("\n")
    lines = [re.sub(" {2,}", " ", line).strip(" ") for line in lines]
    return [line for line in lines if line]


def named_graph() -> Value:
    """Each hostile name on a leaf and (reversed) on the product that reads it; their sum is the output."""
    leaves = [Value(0.5 + k, name=name) for k, name in enumerate(NAMES)]
    products = []
    for leaf, name in zip(leaves, reversed(NAMES), strict=True):
        product = leaf * 1.5
        product.name = name
        products.append(product)
    out = autograd.sum(products)
    out.name = OUT_NAME
    out.backward()
    return out


def expected_boxes(root: Value) -> dict[str, list[str]]:
    """Box id -> the texts it must show, top to bottom."""
    boxes = {}
    order = topological_order(root)
    names = display_names(order)  # an unnamed node shows its display name (const1 ...)
    for i, node in enumerate(order):
        name = shown_lines(names[node])
        boxes[f"v{i}"] = [*name, f"data {node.data:.4g}", f"grad {node.grad:.4g}"]
    return boxes


# --- DOT ------------------------------------------------------------------------------------------


def dot_accepts(source: str) -> None:
    """The system dot reads the DOT and lays it out without a word on stderr."""
    result = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=120)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode("utf-8", "replace")


def record_fields(label: str) -> list[str]:
    """A record label split as Graphviz splits it, on ``|`` not behind a backslash, escapes undone.

    An unescaped ``{ } < >`` would be structure or a port: the name would have changed the box.
    """
    fields, field, i = [], "", 0
    while i < len(label):
        c = label[i]
        if c == "\\" and i + 1 < len(label):
            field += "\n" if label[i + 1] == "n" else label[i + 1]
            i += 2
            continue
        assert c not in "{}<>", (c, label)
        if c == "|":
            fields.append(field)
            field = ""
        else:
            field += c
        i += 1
    fields.append(field)
    return [html.unescape(f.strip(" ")) for f in fields]  # Graphviz decodes entities in every label


def test_the_dot_is_read_by_graphviz_with_each_box_as_drawn():
    require("dot")
    root = named_graph()
    source = to_dot(root).source
    dot_accepts(source)
    result = subprocess.run(["dot", "-Tjson0"], input=source.encode("utf-8"), capture_output=True,
                            timeout=120)
    labels = {o["name"]: o["label"] for o in json.loads(result.stdout)["objects"] if "label" in o}
    order = topological_order(root)
    names = display_names(order)
    for i, node in enumerate(order):
        fields = record_fields(labels[f"v{i}"])
        assert len(fields) == 3, (node.name, fields)  # name, data, grad: nothing split, nothing added
        assert fields[0] == escaped(names[node]).lstrip(" \n").strip(" "), (node.name, fields)
        assert fields[-2:] == [f"data {node.data:.4g}", f"grad {node.grad:.4g}"]


# --- SVG ------------------------------------------------------------------------------------------


def svg_root(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))  # raises if it is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def assert_inert(root: ET.Element) -> None:
    """No script, no foreign HTML, no event handler, no link anywhere in the SVG."""
    for element in root.iter():
        assert element.tag.split("}")[-1] not in ("script", "foreignObject", "iframe", "image"), element.tag
        for attribute in element.attrib:
            local = attribute.split("}")[-1]
            assert not local.lower().startswith("on") and local != "href", (element.tag, attribute)


def box_texts(root: ET.Element) -> dict[str, list[str]]:
    return {g.get("id"): [t.text or "" for t in g.iter(f"{SVG}text")]
            for g in root.iter(f"{SVG}g") if re.fullmatch(r"v\d+", g.get("id") or "")}


@pytest.mark.parametrize("engine", ENGINES)
def test_each_box_shows_its_name_as_text(engine):
    require(engine)
    root = named_graph()
    svg = render(root, engine=engine)
    tree = svg_root(svg)
    assert_inert(tree)
    assert box_texts(tree) == expected_boxes(root)
    # The markup in the names reached the file only as character data.
    assert "<b>" not in svg and "<script>" not in svg and "<img" not in svg and "<svg onload" not in svg


@pytest.mark.parametrize("engine", ENGINES)
def test_step_frames_quote_names_and_formulas_as_text(engine):
    require(engine)
    root = named_graph()
    frames = frame_dots(root)
    assert len(frames) == len(NAMES) + 1  # one step for the sum, one per product
    for frame in (frames[0], frames[1], frames[-1]):  # the sum's step (every name), a product's, the last
        if engine == "dot":
            dot_accepts(frame.source)
        caption = caption_text(run_engine(frame.source, "svg", engine).decode("utf-8"))
        assert caption.startswith("Backward step ")
        step_node = [n for n in topological_order(root) if n.parents][::-1][frames.index(frame)]
        for line in shown_lines(step_node.name):
            assert spaced(line) in caption, (line, caption)
    first = caption_text(run_engine(frames[0].source, "svg", engine).decode("utf-8"))
    for name in NAMES:  # the sum's formula lists every product by name
        for line in shown_lines(name):
            assert spaced(line) in first, (line, first)


def caption_text(svg: str) -> str:
    """The caption of a frame: the graph's own text lines, not those of a box."""
    tree = svg_root(svg)
    assert_inert(tree)
    return spaced("\n".join(t.text or "" for t in tree.findall(f"{SVG}g/{SVG}text")))


def spaced(text: str) -> str:
    """Blanks as one space: a plain label keeps runs of spaces, drawn as no-break spaces in SVG."""
    return re.sub(" +", " ", text.replace("\xa0", " "))


@pytest.mark.parametrize("engine", ENGINES)
def test_nn_cluster_labels_from_hostile_parameter_names(engine):
    require(engine)
    # group_modules reads "layer.neuron.what" from a name: each part becomes a cluster's label.
    layer, neuron = "L<1>&\"{|}", "N\u202e|2😀 <b>"
    w = Value(0.5, name=f"{layer}.{neuron}.w<0>")
    b = Value(0.1, name=f"{layer}.{neuron}.b&amp;")
    h = (w * 2.0 + b).tanh()
    h.name = f"{layer}.{neuron}.h|"
    h.backward()
    dot = to_dot(h, group_modules=True)
    if engine == "dot":
        dot_accepts(dot.source)
    tree = svg_root(render(dot, engine=engine))
    assert_inert(tree)
    clusters = {g.get("class"): [t.text for t in g.findall(f"{SVG}text")]
                for g in tree.iter(f"{SVG}g") if "cluster" in (g.get("class") or "")}
    assert clusters == {"cluster layer": [layer], "cluster neuron": [f"{layer}.{neuron}"]}
    assert box_texts(tree) == expected_boxes(h)


# --- the stepper page, as text --------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_h1 = tag == "h1"

    def handle_endtag(self, tag):
        self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.title += data


def page_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1)
    return json.loads(block)


def test_the_page_holds_every_name_as_data_and_adds_no_markup(tmp_path):
    root = named_graph()
    page = stepper_html(root, tmp_path / "page.html", title=TITLE)
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == page  # it can be written as UTF-8
    parser = Tags()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "data"}, {}]  # ours, and no other
    for banned in ("img", "iframe", "object", "embed", "link", "base", "foreignobject", "form", "frame"):
        assert banned not in tags, banned
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
    assert parser.title == escaped(TITLE)  # the heading: the title as text, spelled as the graph spells it
    data = page_data(page)
    assert data["title"] == TITLE
    assert [n["user"] for n in data["nodes"]] == [n.name for n in topological_order(root)]  # exactly


def test_a_lone_surrogate_in_a_name_or_title_still_makes_a_page(tmp_path):
    # A name read from undecodable bytes holds a lone surrogate, which UTF-8 cannot encode.
    x = Value(1.0, name="bad \udcff byte")
    y = x * 2.0
    page = stepper_html(y, tmp_path / "page.html", title="title \ud800")
    page.encode("utf-8")
    assert page_data(page)["nodes"][0]["name"] == "bad \udcff byte"  # a JSON escape brings it back
    assert "title \\ud800" in page


# --- the stepper page, in Chromium ----------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("escaping") / "hostile.html"
    stepper_html(named_graph(), path, title=TITLE)
    return path


@pytest.mark.browser
def test_in_chromium_every_name_is_literal_text_and_nothing_runs(open_page, hostile_page):  # noqa: F811
    root = named_graph()
    order = topological_order(root)
    page, _ = open_page(hostile_page)  # the fixture fails the test on any dialog, error or request
    extras = page.evaluate("""() => ({
        scripts: document.scripts.length,
        banned: document.querySelectorAll('img, iframe, object, embed, link, base, foreignObject').length,
        handlers: [...document.querySelectorAll('*')].flatMap(
            (el) => [...el.attributes].map((a) => a.name).filter((n) => n.toLowerCase().startsWith('on'))),
        javascript: [...document.querySelectorAll('[href], [src]')].length,
        title: document.getElementById('title').textContent,
    })""")
    assert extras == {"scripts": 2, "banned": 0, "handlers": [], "javascript": 0, "title": escaped(TITLE)}
    # The table: every node's label, exactly the name (names hold raw control characters here).
    labels = page.locator("#grads td.label").all_text_contents()
    for node in order:
        if node.name:
            assert node.name in labels, node.name
    # The graph in the page: each box's lines, as in the SVG file.
    boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#graph g.node')]
        .filter((g) => /^v\\d+$/.test(g.id))
        .map((g) => [g.id, [...g.querySelectorAll('text')].map((t) => t.textContent)]))""")
    for box, texts in expected_boxes(root).items():
        name_lines = texts[:-2]
        assert boxes[box][: len(name_lines)] == name_lines, (box, boxes[box])
    # Each step's explanation names the node stepping; each node's view names the node.
    steps = [n for n in order if n.parents][::-1]
    page.evaluate(f"window.chainrule.step({len(steps) + 1})")  # past the forward pass: the backward start
    for node in steps:
        page.keyboard.press("ArrowRight")
        assert node.name in page.text_content("#explain"), node.name
    named = [i for i, node in enumerate(order) if node.name]
    for i in named[:3] + named[-3:]:  # two leaves, a product, ..., the output
        page.click(f"#v{i}")
        assert order[i].name in page.text_content("#nodeview h2"), order[i].name
    after = page.evaluate("[document.scripts.length, document.querySelectorAll('img, iframe').length]")
    assert after == [2, 0]  # stepping and clicking added nothing either



def test_a_formula_with_hostile_comments_titles_its_page_as_text(tmp_path):
    # A formula may carry any text in its comments; `chainrule steps -o` makes it the page's title.
    from chainrule.viz.cli import main

    formula = "z = x*w  # <script>alert('f')</script> {a|b} &amp;\nL = z + 1  # \u202e😀 \"q\" \\N"
    page_path = tmp_path / "steps.html"
    assert main(["steps", formula, "--at", "x=1.5,w=2", "-o", str(page_path)]) == 0
    page = page_path.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(page)
    assert parser.title == formula
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "data"}, {}]
    assert page_data(page)["title"] == formula
