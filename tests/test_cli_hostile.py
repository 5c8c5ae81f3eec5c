"""The chainrule command under hostile input: the parse fuzz corpus, bad --at values, unknown data
sets, unwritable paths.

Every bad input must end the same way: exit status 2, nothing on standard output, no traceback, no
warning, and one message on standard error in one of the three shapes ``viz.cli`` prints:

    chainrule: error in the formula at line L, column C: MESSAGE     a formula the engine refused;
        THE FORMULA'S LINE L                                         when that line has text, the line
        ^                                                            and a caret under column C
    chainrule: MESSAGE                                               any other bad input
    chainrule COMMAND: MESSAGE                                       what argparse refuses, then
    (see chainrule COMMAND --help)                                   where to read more

and no character in it that a terminal obeys instead of showing (escape sequences, carriage
returns, U+2028, bidirectional overrides such as U+202E): ``viz.cli.printable`` turns each into U+FFFD,
one for one, so the caret still lines up.

The corpus is ``test_parse_fuzz``'s (random text, token soup, random Python programs, payloads
spliced into formulas, deep constructs), imported from there. Each case goes through ``graph``,
``steps``, ``paths`` and ``check``. The oracle is ``autograd.parse`` at the same values, in this
process: where it raises, the command must print that error (same line, same column, same
message, the same line of the formula); where it reads the formula, the command must run it.
Thousands of cases run through ``viz.cli.main`` in this process, under test_parse_fuzz's sentinels
(wrapped ``eval``/``exec``/``compile``/``__import__``, a sentinel module, an ``x`` that records any
attribute read). A few dozen run as real processes, with a sentinel module on PYTHONPATH that
leaves a file behind if it is ever imported or called, and PYTHONBREAKPOINT pointing at it.

A formula on a real command line cannot hold a NUL character (the operating system ends the
argument there), so NUL is tried in this process only.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import io
import math
import os
import re
import subprocess
import sys
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from chainrule.autograd import Expression, ExpressionError
from chainrule.viz.cli import main
from hypothesis import strategies as st
from test_parse_fuzz import (
    FIRED,
    PAYLOAD_STATEMENTS,
    SentinelValue,
    _fuzz,
    deep,
    programs,
    sentinels,
    token_soup,
    with_payload,
)

from chainrule import autograd

ROOT = Path(__file__).resolve().parent.parent
#: The values test_parse_fuzz offers its formulas (x, y, w, b), as the command gets them with --at.
AT = {"x": 1.5, "y": 2.0, "w": -0.5, "b": 0.25}
FORMULA_COMMANDS = ("graph", "steps", "paths", "check")
EXAMPLES = 400  # per corpus, each case through four commands
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks Python's parser counts: what "line L" means


@dataclass
class Outcome:
    status: int
    out: str
    err: str


def obeyed_by_a_terminal(c: str) -> bool:
    """Written here from the Unicode categories, not imported: the characters no message may carry."""
    return c != "\t" and (unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI)


# --- running the command --------------------------------------------------------------------------


def run_main(argv: list[str]) -> Outcome:
    """``viz.cli.main(argv)`` in this process, stdout and stderr captured, warnings a user would see
    recorded, argparse's SystemExit turned into a status."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # what python shows a user, less what it hides by default:
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", hidden)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as e:
                status = e.code
    assert [str(w.message) for w in caught] == [], argv
    return Outcome(status, out.getvalue(), err.getvalue())


def command_line() -> list[str]:
    """The installed console script, as a user runs it; ``python -m viz.cli`` where it is not installed."""
    script = Path(sys.executable).parent / "chainrule"
    return [str(script)] if script.exists() else [sys.executable, "-m", "chainrule"]


@pytest.fixture(scope="module")
def sentinel_dir(tmp_path_factory) -> Path:
    """A folder holding a module ``chainrule_sentinel`` that writes FIRED next to itself when touched."""
    folder = tmp_path_factory.mktemp("sentinel")
    (folder / "chainrule_sentinel.py").write_text(
        "import os\n"
        "def _mark(what):\n"
        "    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'FIRED'), 'a') as f:\n"
        "        f.write(what + '\\n')\n"
        "_mark('import chainrule_sentinel ran')\n"
        "def fire(*args, **kwargs):\n"
        "    _mark('chainrule_sentinel.fire() ran')\n"
        "def __getattr__(name):\n"
        "    _mark('chainrule_sentinel.' + name + ' read')\n"
        "    return fire\n",
        encoding="utf-8",
    )
    return folder


def run_process(argv: list[str | bytes], sentinel_dir: Path, cwd: Path | None = None) -> Outcome:
    """The command as a real process. UTF-8 mode, so the test reads the same on any locale."""
    env = {
        **os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(sentinel_dir)]),
        "PYTHONBREAKPOINT": "chainrule_sentinel.fire", "PYTHONUTF8": "1", "MPLBACKEND": "Agg",
    }
    result = subprocess.run([*command_line(), *argv], capture_output=True, timeout=120, env=env, cwd=cwd)
    assert not (sentinel_dir / "FIRED").exists(), (argv, (sentinel_dir / "FIRED").read_text())
    return Outcome(result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8"))


def test_the_process_sentinel_does_fire_when_code_runs(sentinel_dir):
    # If it could not see code run, the real-process runs below would prove nothing.
    env = {**os.environ, "PYTHONPATH": str(sentinel_dir), "PYTHONBREAKPOINT": "chainrule_sentinel.fire"}
    subprocess.run([sys.executable, "-c", "breakpoint(); import chainrule_sentinel as s; s.anything"],
                   check=True, env=env, timeout=60)
    fired = (sentinel_dir / "FIRED").read_text().splitlines()
    (sentinel_dir / "FIRED").unlink()
    assert fired == ["import chainrule_sentinel ran", "chainrule_sentinel.fire() ran",
                     "chainrule_sentinel.anything read"]


# --- what one message is --------------------------------------------------------------------------


def assert_terminal_safe(text: str) -> None:
    for line in text.split("\n"):
        bad = [f"U+{ord(c):04X}" for c in line if obeyed_by_a_terminal(c)]
        assert not bad, (bad, text)


def assert_shown_as(printed: str, original: str) -> None:
    """``printed`` is ``original`` with each character a terminal obeys replaced by U+FFFD, one for one."""
    assert len(printed) == len(original), (printed, original)
    for p, o in zip(printed, original, strict=True):
        assert p == o or (p == "\ufffd" and obeyed_by_a_terminal(o)), (printed, original)


def assert_refused(outcome: Outcome, late: bool = False) -> list[str]:
    """Exit status 2, nothing on stdout, no traceback, a terminal-safe stderr; its lines.

    ``late``: the input was refused only when the command came to write its file, after printing
    its tables; then stdout holds those tables, and no line that says a file was written.
    """
    assert outcome.status == 2, outcome
    assert "wrote " not in outcome.out if late else outcome.out == "", outcome
    assert "Traceback" not in outcome.err and outcome.err.endswith("\n"), outcome
    assert_terminal_safe(outcome.err)
    return outcome.err[:-1].split("\n")


def assert_formula_error(outcome: Outcome, error: ExpressionError, source: str) -> None:
    """The command printed exactly ``error``: its place, its message, the formula's line and a caret."""
    lines = assert_refused(outcome)
    head = f"chainrule: error in the formula at line {error.line}, column {error.column}: "
    assert lines[0].startswith(head), (lines, error)
    assert_shown_as(lines[0][len(head):], error.message)
    if not error.text:
        assert len(lines) == 1, lines
        return
    assert len(lines) == 3, lines
    line, caret = lines[1][4:], lines[2][4:]
    assert lines[1][:4] == lines[2][:4] == "    "
    assert_shown_as(line, error.text)
    # The line shown is the formula's line L (a lone surrogate is shown as the engine spells it).
    source_line = LINE_BREAK.split(source)[error.line - 1]
    assert error.text == source_line.encode("utf-8", "replace").decode("utf-8"), (error.text, source_line)
    # The caret sits under column C: one blank per character before it, a tab where the line has one.
    assert caret == "".join("\t" if c == "\t" else " " for c in line[: error.column - 1]) + "^", lines
    assert error.column - 1 <= len(line) + 1


def assert_usage_error(outcome: Outcome, *fragments: str, late: bool = False) -> str:
    """One line, ``chainrule: MESSAGE``; the message."""
    lines = assert_refused(outcome, late)
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines)
    return lines[0]


def assert_argparse_error(outcome: Outcome, prog: str, *fragments: str) -> str:
    """``PROG: MESSAGE`` and ``(see PROG --help)``; the message."""
    lines = assert_refused(outcome)
    assert len(lines) == 2 and lines[0].startswith(f"{prog}: ") and lines[1] == f"(see {prog} --help)", lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines)
    return lines[0]


# --- the corpus, in this process ------------------------------------------------------------------


def oracle(source: str) -> Expression | ExpressionError:
    """``autograd.parse`` at AT, under the sentinels."""
    FIRED.clear()
    with sentinels():
        try:
            result = autograd.parse(source, **{**AT, "x": SentinelValue(AT["x"], name="x")})
        except ExpressionError as e:
            result = e
    assert FIRED == [], (source, FIRED)
    return result


def argv_for(command: str, source: str, names: list[str]) -> list[str]:
    """The command line for ``source``: --at with ``names``' values, and the formula after ``--``, so a
    formula that starts with ``-h`` is still a formula."""
    argv = [command]
    if names:
        argv += ["--at", ",".join(f"{name}={AT[name]!r}" for name in names)]
    if command == "paths":
        # --limit: past 200 paths only the count is printed. The deep corpus makes sums of thousands of
        # terms, whose full listing (thousands of paths, each thousands of nodes long) takes seconds.
        argv += ["--wrt", names[0] if names else "x", "--limit", "200"]
    return [*argv, "--", source]


@contextlib.contextmanager
def sentinel_leaf():
    """The command builds its graphs with ``autograd.parse``: give it the recording ``x`` too."""
    parse = autograd.parse

    def parse_with_sentinel(source, **values):
        if isinstance(values.get("x"), float):
            values["x"] = SentinelValue(values["x"], name="x")
        return parse(source, **values)

    autograd.parse = parse_with_sentinel
    try:
        yield
    finally:
        autograd.parse = parse


def through_the_command(source: str, seen: collections.Counter) -> None:
    """Run ``source`` through the four formula commands; check each against the oracle."""
    expected = oracle(source)
    names = sorted(AT) if isinstance(expected, ExpressionError) else sorted(expected.variables)
    for command in FORMULA_COMMANDS:
        FIRED.clear()
        with sentinels(), sentinel_leaf():
            outcome = run_main(argv_for(command, source, names))
        assert FIRED == [], (command, source, FIRED)
        if isinstance(expected, ExpressionError):
            assert_formula_error(outcome, expected, source)
            seen["refused formulas"] += 1
        else:
            check_a_formula_that_reads(command, outcome, names, source)
            seen[f"{command}: status {outcome.status}"] += 1


def check_a_formula_that_reads(command: str, outcome: Outcome, names: list[str], source: str) -> None:
    """A formula parse reads: the command runs it, or refuses for a named reason in one message."""
    if command == "paths" and not names:
        assert_usage_error(outcome, "--wrt: the formula has no 'x'")
    elif command == "check" and not names:
        assert_usage_error(outcome, "the formula has no inputs to check")
    elif outcome.status == 2 and command == "graph":
        # A graph of more than 5,000 nodes is not drawn (Graphviz would take minutes); the deep corpus
        # makes some, such as a chain of 6,000 minus signs.
        assert_usage_error(outcome, "nodes, more than the 5,000 a picture can show")
    elif outcome.status == 2:
        # Only check can meet a new error: its central differences rebuild the formula at x +- eps,
        # which may leave a function's domain (sqrt(x - 1.5) at x = 1.5).
        assert command == "check", (command, source, outcome)
        assert_refused(outcome)
        assert outcome.err.startswith("chainrule: error in the formula at line "), outcome
    else:
        assert outcome.err == "", (command, source, outcome)
        a_bug = re.search(r" bug$", outcome.out, re.MULTILINE)  # a row of check's table, not its legend
        assert outcome.status == (1 if command == "check" and a_bug else 0), outcome
        first = {"graph": "digraph chainrule {", "steps": "Forward pass", "paths": "Every path from",
                 "check": "param  backprop"}[command]
        assert outcome.out.startswith(first), (command, outcome.out[:200])


@pytest.fixture(scope="module")
def warmed_up():
    """Import everything the commands import lazily, before the sentinels go in: an import runs code
    (exec of a module's code object), which the sentinels would rightly report."""
    for command in FORMULA_COMMANDS:
        names = ["x", "w"]
        assert run_main(argv_for(command, "x*w + 1", names)).status == 0


def fuzz(strategy, examples: int = EXAMPLES) -> collections.Counter:
    return _fuzz(strategy, examples, one=through_the_command)


def test_the_harness_would_see_a_command_that_runs_the_formula(monkeypatch, warmed_up):
    # A control: were the command to eval its formula, the sentinels around run_main would say so.
    monkeypatch.setattr(autograd, "parse", lambda source, **values: builtins.eval(source))
    FIRED.clear()
    with sentinels(), contextlib.suppress(AttributeError):  # fire() returns 0, which has no .variables
        run_main(argv_for("steps", "__import__('chainrule_sentinel').fire()", ["x"]))
    assert FIRED == ["eval ran", "import chainrule_sentinel ran", "chainrule_sentinel.fire() ran"]
    FIRED.clear()


def test_every_payload_is_refused_by_every_command(warmed_up):
    seen = collections.Counter()
    for source in PAYLOAD_STATEMENTS:
        assert isinstance(oracle(source), ExpressionError), source
        through_the_command(source, seen)
    assert seen == {"refused formulas": 4 * len(PAYLOAD_STATEMENTS)}


@pytest.mark.parametrize(
    ("corpus", "examples"),
    [
        pytest.param(st.text(max_size=300), EXAMPLES, id="random text"),
        pytest.param(token_soup(), EXAMPLES, id="token soup"),
        pytest.param(programs(), EXAMPLES, id="random Python programs"),
        pytest.param(with_payload(), EXAMPLES, id="payloads spliced in"),
        # Fewer: a formula parse reads here can be a chain of thousands of nodes, slow to list and draw.
        pytest.param(deep(), EXAMPLES // 2, id="deep and long"),
    ],
)
def test_the_fuzz_corpus_through_every_command(corpus, examples, warmed_up):
    seen = fuzz(corpus, examples)
    print(f"\n{dict(seen)}")
    assert sum(seen.values()) == 4 * examples
    assert seen["refused formulas"] > 0


def test_the_corpus_reaches_formulas_that_run(warmed_up):
    # Most of the corpus is refused; the deep constructs also make formulas parse reads, which the
    # commands must run (graph, steps, paths and check alike), not only refuse.
    seen = fuzz(deep(), 60)
    for command in FORMULA_COMMANDS:
        assert seen[f"{command}: status 0"] > 0, seen


# --- hostile formulas as real processes -----------------------------------------------------------

HOSTILE_FORMULAS = [
    "x + \x1b[2J\x1b]0;pwned\x07",  # clear the screen, set the window title
    "x\u202e + w",  # right-to-left override
    "x + \u200fw\u2066 +",
    "x\u2028+ w",  # a line separator: one line to Python, a line break to some readers
    "x + 😀",
    "x\t+\t* w",  # tabs: the caret line keeps them
    "x +\r\nw +",
    "z = x*w\ny = z +\n",
    "x\x0c+ ) ",
    "\ufeffx +",
    "(" * 101 + "x" + ")" * 101,
    "x" * 10_001,
    "",
    "   ",
    "# only a comment",
    "exp(x) + bar(w)",
    "x.__class__",
    "q * x",
    "log(w)",
    "x ** 1e6",
]


def process_cases() -> list[tuple[str, str]]:
    """(command, formula): each hostile formula and each payload, the commands taken in turn."""
    formulas = HOSTILE_FORMULAS + PAYLOAD_STATEMENTS
    return [(FORMULA_COMMANDS[i % 4], source) for i, source in enumerate(formulas)]


@pytest.mark.parametrize(("command", "source"), process_cases())
def test_hostile_formulas_as_real_processes(command, source, sentinel_dir, tmp_path, warmed_up):
    expected = oracle(source)
    assert isinstance(expected, ExpressionError), source  # every case here is one parse refuses
    argv = argv_for(command, source, sorted(AT))
    outcome = run_process(argv, sentinel_dir, cwd=tmp_path)
    assert_formula_error(outcome, expected, source)
    with sentinels(), sentinel_leaf():
        assert run_main(argv) == outcome  # the process prints what main prints, byte for byte
    assert list(tmp_path.iterdir()) == []


def test_invalid_utf8_in_argv_is_shown_as_replacement_characters(sentinel_dir):
    # A terminal can pass bytes that are not UTF-8; Python reads them as lone surrogates.
    outcome = run_process([b"steps", b"--at", b"x=1", b"--", b"x + \xff\xfe"], sentinel_dir)
    error = oracle(os.fsdecode(b"x + \xff\xfe"))
    assert "lone surrogate" in error.message
    assert_formula_error(outcome, error, os.fsdecode(b"x + \xff\xfe"))
    assert outcome.err.splitlines()[1] == "    x + ??"  # the engine spells them '?', as UTF-8 'replace'


def test_a_nul_character_is_refused_in_this_process():
    source = "x +\0 w"
    error = oracle(source)
    assert "null character" in error.message
    assert_formula_error(run_main(argv_for("steps", source, sorted(AT))), error, source)


# --- a formula that starts with a minus sign --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["graph", "-x*w", "--at", "x=1.5,w=2"], "data -3"),  # the value, -1.5 * 2
        (["steps", "--at", "x=1.5,w=2", "-x*w"], "mul1  neg1 * w     -3"),
        (["check", "-log(x)", "--at", "x=2"], "x      -0.5      -0.5"),  # d(-log x)/dx = -1/x
        (["paths", "-1*x", "--at", "x=2", "--wrt", "x"], "sum over 1 path: -1"),
        (["graph", "--at", "h=1.5", "--", "-h*2"], "data -3"),  # -h is the help option: after --
    ],
)
def test_a_formula_may_start_with_a_minus_sign(argv, shown):
    # argparse takes '-x*w' for an unknown option; the command reads it as the formula.
    outcome = run_main(argv)
    assert outcome.status == 0 and outcome.err == "", outcome
    assert shown in outcome.out, outcome.out


def test_without_a_formula_the_command_says_so():
    outcome = run_main(["graph", "--at", "x=1"])
    assert_argparse_error(outcome, "chainrule graph", "required: EXPR", "goes after --")
    outcome = run_main(["graph", "x*x", "-y", "--at", "x=1"])  # a formula, and an option nobody knows
    assert_argparse_error(outcome, "chainrule", "unrecognized arguments: -y")
    outcome = run_main(["graph", "x*x", "--at", "x=1", "\x1b[2J\u202e"])
    assert_argparse_error(outcome, "chainrule", "unrecognized arguments: \ufffd[2J\ufffd")


def test_the_usage_line_still_says_the_formula_is_required():
    outcome = run_main(["graph", "--help"])
    assert outcome.status == 0
    assert re.search(r"usage: chainrule graph .* EXPR\n", outcome.out) and "[EXPR]" not in outcome.out


# --- bad --at values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ("x=abc", "the value of x, 'abc', is not a number"),
        ("x=", "the value of x, '', is not a number"),
        ("x==1", "the value of x, '=1', is not a number"),
        ("x=1;import os", "the value of x, '1;import os', is not a number"),
        ("x=__import__('chainrule_sentinel').fire()", "is not a number"),
        ("x=0x10", "the value of x, '0x10', is not a number"),
        ("x=1j", "the value of x, '1j', is not a number"),
        ("x=True", "the value of x, 'True', is not a number"),
        ("x=1 2", "the value of x, '1 2', is not a number"),
        ("x=nan", "the value of x must be a finite number, got nan"),
        ("x=-inf", "must be a finite number, got -inf"),
        ("x=Infinity", "must be a finite number, got Infinity"),
        ("x=1e999", "must be a finite number, got 1e999"),  # float() rounds it to inf
        ("x=1,x=2", "x is given twice"),
        ("\u210c=1,H=2", "H is given twice"),  # the same name to Python: NFKC reads the letter ℌ as H
        ("=1", "'' is not a name"),
        ("1x=1", "'1x' is not a name"),
        ("x.y=1", "'x.y' is not a name"),
        ("x", "'x' is not of the form name=number"),
        ("x=\x1b[2J", "the value of x, '\ufffd[2J', is not a number"),
        ("x=\u202e1", "the value of x, '\ufffd1', is not a number"),
        ("x=1,q=2", "--at gives a value for q, which the formula does not use"),
        ("x=1,__import__=2", "--at gives a value for __import__, which the formula does not use"),
    ],
)
def test_bad_values_for_at(at, fragment):
    for command in FORMULA_COMMANDS:
        argv = [command, "x*x", "--at", at] + (["--wrt", "x"] if command == "paths" else [])
        assert_usage_error(run_main(argv), fragment)


@pytest.mark.parametrize(
    ("at", "value"),
    [("x=1_000", 1000.0), ("x= 2.5 ", 2.5), ("x=-0", -0.0), ("x=\uff11.\uff15", 1.5),
     ("x=\u0661\u0662", 12.0), ("x=1e-320", 1e-320), ("x=1,,", 1.0), ("\u210c=3", 3.0)],
)
def test_what_counts_as_a_number_is_what_python_float_reads(at, value):
    # Python's float() reads underscores, surrounding blanks and the digits of every script; the
    # command takes what it takes, as long as the number is finite.
    formula = "H * 2" if at.startswith("\u210c") else "x * 2"
    outcome = run_main(["steps", formula, "--at", at])
    assert outcome.status == 0 and outcome.err == "", outcome
    product = next(line.split() for line in outcome.out.splitlines() if line.startswith("mul1 "))
    assert product[-1] == f"{2 * value + 0.0:.4g}"  # the forward table's value; -0.0 is printed 0, as in the pictures


# --- unknown data sets and other choices ----------------------------------------------------------


@pytest.mark.parametrize("name", ["circles", "MOONS", "moons;rm -rf /", "", "moons\x1b[2J", "moons\u202e",
                                  "\u2028", "😀"])
def test_unknown_data_sets_are_named_and_escaped(name):
    message = assert_argparse_error(run_main(["train", name]), "chainrule train", "invalid choice: ")
    assert "(choose from 'blobs', 'moons', 'spirals', 'xor')" in message
    assert repr(name) in message or shown_repr(name) in message


def shown_repr(name: str) -> str:
    return repr("".join("\ufffd" if obeyed_by_a_terminal(c) else c for c in name))


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "moons", "--activation", "gelu"], "invalid choice: 'gelu'"),
        (["vanish", "--init", "zeros"], "invalid choice: 'zeros'"),
        (["train", "moons", "--steps", "-5"], "must be at least 1, got -5"),
        (["train", "moons", "--steps", "1e3"], "'1e3' is not a whole number"),
        (["train", "moons", "--lr", "nan"], "must be a number > 0, got nan"),
        (["train", "moons", "--lr", "-0.1"], "must be a number > 0, got -0.1"),
        (["train", "moons", "--lr", "inf"], "must be a number > 0, got inf"),
        (["check", "x", "--at", "x=1", "--eps", "0"], "must be a number > 0, got 0"),
        (["paths", "x", "--at", "x=1", "--wrt", "x", "--limit", "0"], "must be at least 1, got 0"),
        (["paths", "x", "--at", "x=1"], "required: --wrt"),
    ],
)
def test_other_bad_options_are_named(argv, fragment):
    assert_argparse_error(run_main(argv), f"chainrule {argv[0]}", fragment)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "moons", "--layers", "16,\x1b[2J"],
         "--layers: '16,\ufffd[2J' is not a list of whole numbers"),
        (["train", "moons", "--layers", "0"], "every layer needs a width of at least 1"),
        (["vanish", "--activations", "sigmoid,\u202erelu"], "--activations: unknown \ufffdrelu"),
        (["vanish", "--activations", ","], "--activations: unknown (none given)"),
        (["paths", "x*w", "--at", "x=1,w=2", "--wrt", "\x1b[2J"], "--wrt: the formula has no '\ufffd[2J'"),
    ],
)
def test_bad_option_values_are_named_and_escaped(argv, fragment):
    assert_usage_error(run_main(argv), fragment)


# --- unwritable paths -----------------------------------------------------------------------------

#: A folder no process can create files in, root included (CI runs as root, where chmod stops nothing).
NO_FILES_HERE = Path("/proc")


def unwritable_cases(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "a-file").write_text("keep me")
    return [
        (["graph", "x*x", "--at", "x=1", "-o", str(tmp / "missing" / "g.svg")], "does not exist"),
        (["graph", "x*x", "--at", "x=1", "-o", str(tmp / "a-file" / "g.svg")], "does not exist"),
        (["graph", "x*x", "--at", "x=1", "-o", str(tmp)], "it is a folder"),
        (["graph", "x*x", "--at", "x=1", "-o", str(tmp / "g.html")], "cannot tell what to write"),
        (["graph", "x*x", "--at", "x=1", "-o", str(tmp / "\x1b[2J" / "g.svg")], "\ufffd[2J"),
        (["steps", "x*x", "--at", "x=1", "-o", str(tmp / "missing" / "s.html")], "does not exist"),
        (["tour", "-o", str(tmp / "a-file")], "it is a file, not a folder"),
        (["vanish", "--depth", "1", "--plot", str(tmp / "missing" / "v.png")], "does not exist"),
        (["train", "xor", "--steps", "1", "--plot", str(tmp / "v.txt")], "use .png, .svg, .pdf"),
    ]


def test_unwritable_paths_are_refused_before_any_work(tmp_path):
    for argv, fragment in unwritable_cases(tmp_path):
        assert_usage_error(run_main(argv), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written, nothing left
    assert (tmp_path / "a-file").read_text() == "keep me"


@pytest.mark.skipif(not NO_FILES_HERE.is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    "argv",
    [
        ["graph", "x*x", "--at", "x=1", "-o", "/proc/g.svg"],
        ["graph", "x*x", "--at", "x=1", "-o", "/proc/g.dot"],
        ["steps", "x*x", "--at", "x=1", "-o", "/proc/s.html"],
        ["vanish", "--depth", "1", "--width", "1", "--plot", "/proc/v.png"],
    ],
)
def test_a_folder_the_system_refuses_gives_one_line(argv):
    # The folder exists and passes os.access (for root), so only the write itself fails: an OSError,
    # which the command reports in one line. graph and steps write before they print anything; vanish
    # prints its table first, and then says it could not write the plot.
    outcome = run_main(argv)
    assert_usage_error(outcome, "chainrule: cannot write /proc/", late=argv[0] == "vanish")


@pytest.mark.parametrize("argv", [["graph"], ["steps", "-o", "page.html"]])
def test_a_graph_too_large_to_draw_is_refused_in_the_commands_words(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 5,501 nodes: x, then eleven names, each 500 minus signs from the one before.
    formula = "\n".join(["a0 = x"] + [f"a{k} = " + "-" * 500 + f"a{k - 1}" for k in range(1, 12)])
    message = assert_usage_error(run_main([*argv, "--at", "x=2", "--", formula]),
                                 "the graph has 5,501 nodes, more than the 5,000 a picture can show")
    assert "group_modules" not in message and "max_nodes" not in message  # Python's words, not the command's
    assert list(tmp_path.iterdir()) == []
    outcome = run_main(["steps", "--at", "x=2", "--", formula])  # as text, any size
    assert outcome.status == 0 and outcome.err == ""
    steps = re.findall(r"^(\d+) ", outcome.out, re.MULTILINE)
    assert steps == [str(n) for n in range(1, 5501)]  # one backward step per minus sign


@pytest.mark.skipif(not NO_FILES_HERE.is_dir(), reason="needs Linux's /proc")
def test_a_folder_the_system_refuses_for_tour():
    assert_usage_error(run_main(["tour", "-o", "/proc/chainrule-out"]),
                       "cannot make the folder /proc/chainrule-out")


@pytest.mark.skipif(not NO_FILES_HERE.is_dir(), reason="needs Linux's /proc")
def test_a_failed_write_names_the_path_the_user_gave():
    message = assert_usage_error(run_main(["graph", "x*x", "--at", "x=1", "-o", "/proc/g.svg"]))
    assert message.startswith("chainrule: cannot write /proc/g.svg:"), message


def same_but_temporary_names(a: Outcome, b: Outcome) -> bool:
    def plain(text: str) -> str:
        return re.sub(r"/\.([^/\s]+)\.[a-z0-9_]+\.tmp:", r"/.\1.TEMPORARY.tmp:", text)

    return (a.status, a.out, plain(a.err)) == (b.status, b.out, plain(b.err))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway; the /proc tests cover root")
def test_a_read_only_folder_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert_usage_error(run_main(["graph", "x*x", "--at", "x=1", "-o", str(folder / "g.svg")]),
                           "is not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not NO_FILES_HERE.is_dir(), reason="needs Linux's /proc")
def test_bad_paths_and_values_as_real_processes(sentinel_dir, tmp_path):
    cases = [(argv, None) for argv, _ in unwritable_cases(tmp_path)] + [
        (["graph", "x*x", "--at", "x=1", "-o", "/proc/g.svg"], None),
        (["train", "circles\x1b[2J"], None),
        (["steps", "x*x", "--at", "x=nan"], None),
        (["steps", "-x*w", "--at", "x=1.5,w=2"], 0),
    ]
    for argv, status in cases:
        outcome = run_process(argv, sentinel_dir)
        if status == 0:
            assert outcome.status == 0 and outcome.err == "" and "-3" in outcome.out, outcome
            continue
        assert_refused(outcome, late=True)
        # The process prints what main prints, but for the random name of atomic_write's temporary file.
        assert same_but_temporary_names(outcome, run_main(argv)), argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert not [name for name in os.listdir("/proc") if name.endswith(".tmp")]


# --- where -o points (issue 18, items 2, 19 and the tour's folder) -------------------------------------


def test_output_to_dev_null_writes_to_the_device_and_keeps_it():
    before = os.stat("/dev/null")
    outcome = run_main(["steps", "x*x", "--at", "x=2", "-o", "/dev/null"])
    assert outcome.status == 0, outcome
    after = os.stat("/dev/null")
    assert os.path.exists("/dev/null") and (after.st_ino, after.st_rdev, after.st_mode) == (
        before.st_ino, before.st_rdev, before.st_mode)


def test_output_through_a_link_to_a_full_device_fails_and_keeps_the_link(tmp_path):
    link = tmp_path / "graph.svg"
    link.symlink_to("/dev/full")
    outcome = run_main(["graph", "x*x", "--at", "x=2", "-o", str(link)])
    assert_usage_error(outcome, "cannot write", str(link), "No space left on device")
    assert link.is_symlink() and os.readlink(link) == "/dev/full"
    assert os.listdir(tmp_path) == ["graph.svg"]


def test_output_through_a_link_updates_its_target(tmp_path):
    (tmp_path / "real.svg").write_text("old")
    (tmp_path / "link.svg").symlink_to(tmp_path / "real.svg")
    outcome = run_main(["graph", "x*x", "--at", "x=2", "-o", str(tmp_path / "link.svg")])
    assert outcome.status == 0, outcome
    assert (tmp_path / "link.svg").is_symlink() and (tmp_path / "real.svg").read_text().startswith("<?xml")


@pytest.mark.parametrize("argv", [
    ["tour", "-o", ""],
    ["graph", "x*x", "--at", "x=2", "-o", ""],
    ["steps", "x*x", "--at", "x=2", "-o", ""],
    ["train", "xor", "--steps", "1", "--plot", ""],
    ["vanish", "--depth", "2", "--plot", ""],
])
def test_an_empty_output_path_is_refused(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_usage_error(run_main(argv), "empty path")
    assert os.listdir(tmp_path) == []


def test_tour_into_a_folder_whose_stepper_html_is_a_folder_names_that_path(tmp_path):
    (tmp_path / "stepper.html").mkdir()
    outcome = run_main(["tour", "-o", str(tmp_path)])
    assert outcome.status == 2 and "Traceback" not in outcome.err, outcome
    message = outcome.err.strip().splitlines()[-1]
    assert str(tmp_path / "stepper.html") in message and ".tmp" not in message, message


# --- sizes, divergence, unbounded output, a closed stdout (issue 18, items 9, 10, 11, 22) ---------------------


@pytest.mark.parametrize(("argv", "fragments"), [
    (["train", "moons", "--points", "1000000000"], ["--points: at most 100,000", "got 1,000,000,000"]),
    (["train", "moons", "--layers", "100000"], ["--layers: at most 1,000 layers of at most 1,000 neurons"]),
    (["train", "moons", "--layers", ",".join(["4"] * 1001)], ["--layers: at most 1,000 layers"]),
    (["train", "moons", "--layers", "1000,1000"], ["one step would build a graph of about 100,500,100 nodes",
                                                   "(100 points x 1,005,001 parameters)", "--batch-size"]),
    (["train", "moons", "--points", "100000", "--layers", "64"], ["100,000 points x 257 parameters"]),
    (["vanish", "--width", "100000"], ["--width: at most 1,000"]),
    (["vanish", "--depth", "1000000"], ["--depth: at most 1,000"]),
    (["vanish", "--depth", "1000", "--width", "200"], ["16 points x 40,160,601 parameters", "smaller --depth"]),
])
def test_absurd_sizes_are_refused_up_front(argv, fragments):
    outcome = run_main(argv)
    assert outcome.status == 2 and outcome.out == "" and "Traceback" not in outcome.err, outcome
    for fragment in fragments:
        assert fragment in outcome.err, (fragment, outcome.err)


def test_a_large_batch_within_the_limits_is_allowed_with_batches():
    outcome = run_main(["train", "moons", "--points", "100000", "--layers", "64", "--batch-size", "16",
                        "--steps", "1"])
    assert outcome.status == 0, outcome


def test_training_that_diverges_exits_1_naming_the_step():
    outcome = run_main(["train", "moons", "--lr", "1e308", "--steps", "20"])
    assert outcome.status == 1, outcome
    assert re.fullmatch(r"chainrule: training diverged: the loss at step \d+ is (nan|inf) \(not a finite number\), "
                        r"after \d+ update\(s\); try a learning rate smaller than 1e\+308\n", outcome.err), outcome.err
    assert "final loss" not in outcome.out


def test_noise_past_its_limit_is_refused_by_name():
    outcome = run_main(["train", "moons", "--noise", "1e308"])
    assert_usage_error(outcome, "noise must be a number >= 0", "at most 1e+06, got 1e+308")
    assert "X[" not in outcome.err


def test_vanish_300_layers_deep_prints_tiny_norms_not_zero():
    outcome = run_main(["vanish", "--depth", "300", "--activations", "sigmoid"])
    assert outcome.status == 0, outcome
    rows = [line.split() for line in outcome.out.splitlines() if re.match(r"\d+ ", line)]
    norms = [float(row[-1]) for row in rows]
    assert len(norms) == 301 and all(n > 0 for n in norms)
    ratio = float(re.search(r"sigmoid: first layer / last layer = (\S+)", outcome.out).group(1))
    assert 0 < ratio < 1e-100


def doubling_formula(levels: int) -> str:
    """y <- y*p + y*q, ``levels`` times: 2^levels paths from the output down to x."""
    lines = ["y0 = x"] + [f"y{i + 1} = y{i}*p + y{i}*q" for i in range(levels)]
    return "\n".join(lines)


def test_paths_lists_at_most_the_limit_and_sums_the_rest():
    formula = doubling_formula(12)  # 4,096 paths
    outcome = run_main(["paths", formula, "--at", "x=1.5,p=0.3,q=0.7", "--wrt", "x", "--limit", "100"])
    assert outcome.status == 0, outcome
    rows = [line for line in outcome.out.splitlines() if re.match(r"\d+ ", line)]
    assert len(rows) == 100 and rows[-1].startswith("100 ")
    listed = math.fsum(float(row.split()[-1]) for row in rows)  # each product: 0.3^k 0.7^(12-k), printed to 4 digits
    assert "4,096 paths lead from y12 to x; listed 100 (--limit 100)" in outcome.out
    total = (0.3 + 0.7) ** 12
    rest = float(re.search(r"the other 3,996 paths sum to (\S+)", outcome.out).group(1))
    assert rest == pytest.approx(total - listed, rel=1e-3)
    assert f"backprop's dy12/dx:  {total:.4g}" in outcome.out


def test_paths_output_is_bounded_in_bytes_however_long_each_path():
    """A 1 KB formula within the default --limit printed 28 MB (issue 18, 10)."""
    formula = "y0 = x\n" + "\n".join(f"y{i + 1} = y{i}*p + y{i}*q" for i in range(40))  # 2^40 paths, 40 deep
    assert len(formula) < 1_200
    outcome = run_main(["paths", formula, "--at", "x=1,p=0.5,q=0.5", "--wrt", "x"])
    assert outcome.status == 0, outcome
    assert len(outcome.out) < 1_200_000
    assert "1,099,511,627,776 paths lead from y40 to x; listed" in outcome.out
    assert "(the first 1,000,000 characters)" in outcome.out and "backprop's dy40/dx:  1" in outcome.out


def test_paths_with_more_paths_than_python_can_print():
    formula = "b0=x\n" + "\n".join(f"b{i + 1}=b{i}*p+b{i}*q" for i in range(400))  # 2^400 paths
    assert len(formula) < 10_000
    outcome = run_main(["paths", formula, "--at", "x=1,p=0.5,q=0.5", "--wrt", "x", "--limit", "3"])
    assert outcome.status == 0, outcome
    assert "about 2.6 × 10^120 paths lead from b400 to x; listed 3 (--limit 3)" in outcome.out
    assert "the other about 2.6 × 10^120 paths sum to" in outcome.out


def test_a_closed_stdout_is_no_traceback(tmp_path):
    """``chainrule tour -o d >&-`` ended in an AttributeError traceback (issue 18, 22)."""
    ran = subprocess.run([*command_line(), "tour", "-o", str(tmp_path / "d")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, timeout=300, close_fds=True,
                         preexec_fn=lambda: os.close(1))
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    assert sorted(os.listdir(tmp_path / "d")) == ["graph.svg", "stepper.html"]


def test_a_formula_error_in_the_command_suggests_the_fix_with_its_caret():
    outcome = run_main(["steps", "L = (y - 2w)^2", "--at", "y=1,w=2"])
    lines = assert_refused(outcome)
    assert lines == ["chainrule: error in the formula at line 1, column 11: 2w: a number written against a name; "
                     "to multiply, write 2*w", "    L = (y - 2w)^2", "              ^"]
