"""What every demo shares: its command line, its output folder, and the facts it reports.

A demo calls ``start`` to read ``--out``, ``--quick`` and ``--seed`` and to make
its output folder, prints its story for a student, and records the numbers
that matter with ``Demo.fact``. At the end ``Demo.finish`` repeats those
numbers one per line as ``FACT name=value``, a format a test (or a curious
student with grep) can read without parsing prose. ``run(main)`` starts a
demo so that ``| head`` or Ctrl-C ends it with a word, not a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chainrule.autograd import topological_order
from chainrule.autograd.files import atomic_write


@dataclass
class Demo:
    """One run of a demo: where it writes, how big it runs, and what it found."""

    name: str
    out: Path
    quick: bool
    seed: int
    facts: dict[str, str] = field(default_factory=dict)

    def path(self, filename: str) -> Path:
        """A file inside this run's output folder."""
        return self.out / filename

    def wrote(self, path: Path, what: str) -> None:
        """Tell the student where a picture or page went and what it shows."""
        print(f"  wrote {path}  ({what})")

    def write_text(self, filename: str, text: str, what: str) -> Path:
        """Write a text file into the output folder (atomically, like every file the project writes)."""
        path = atomic_write(self.path(filename), text)
        self.wrote(path, what)
        return path

    def save_figure(self, fig, filename: str, what: str, legend_size: float | None = None) -> Path:
        """Save a matplotlib figure into the output folder and say what it shows.

        With ``legend_size``, every panel first gets a light grid and its legend
        in that font size, the finish most of the demos' plots share.
        """
        from chainrule.viz.plots import save_figure  # matplotlib loads only for demos that draw

        if legend_size is not None:
            for ax in fig.axes:
                ax.grid(alpha=0.3)
                ax.legend(fontsize=legend_size)
        path = self.path(filename)
        save_figure(fig, path)
        self.wrote(path, what)
        return path

    def fact(self, name: str, value) -> None:
        """Record one checkable result; floats keep enough digits to compare with a tolerance."""
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = repr(value)
        else:
            text = str(value)
        if any(c.isspace() for c in name) or "=" in name:
            raise ValueError(f"a fact's name must be one word without '=', got {name!r}")
        self.facts[name] = text

    def finish(self) -> None:
        """Print the recorded facts, one ``FACT name=value`` line each."""
        print("\nThe numbers above, one per line (tests read these):")
        for name, text in self.facts.items():
            print(f"FACT {name}={text}")


def start(name: str, description: str, argv: list[str] | None = None) -> Demo:
    """Parse the demo's command line and make its output folder.

    ``--out DIR`` (default ``chainrule-out/<name>``), ``--quick`` for smaller
    sizes, ``--seed N`` (default 0). A folder that cannot be made ends the
    demo with a one-line message and exit status 2, not a traceback.
    """
    parser = argparse.ArgumentParser(prog=f"python -m demos.{name}", description=description)
    parser.add_argument("--out", default=f"chainrule-out/{name}", metavar="DIR",
                        help=f"folder for the pictures (default: chainrule-out/{name})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for tests and slow machines")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice (default: 0)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: that is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"--out {out}: cannot make the folder ({e.strerror})")
    demo = Demo(name, out, args.quick, args.seed)
    print(f"[{name}] pictures go to {out}/" + ("  (quick run: smaller sizes)" if args.quick else ""))
    return demo


def heading(text: str) -> None:
    """A section title in the demo's output."""
    print(f"\n== {text} ==")


def central_difference(f, x: float, eps: float = 1e-5) -> float:
    """(f(x + eps) - f(x - eps)) / (2 eps): the slope of ``f`` at ``x``, error of order eps^2."""
    return (f(x + eps) - f(x - eps)) / (2.0 * eps)


def max_abs(values) -> float:
    """The largest absolute value (0.0 for none); NaN is kept, so a NaN is never hidden."""
    worst = 0.0
    for v in values:
        if math.isnan(v):
            return math.nan
        worst = max(worst, abs(v))
    return worst


@dataclass(frozen=True)
class Term:
    """One child's share of a node's gradient: upstream dL/d(child) times local d(child)/d(node)."""

    child: object  # the autograd.Value that uses the node
    upstream: float
    local: float
    contribution: float  # upstream * local


def local_form(root, node) -> list[Term]:
    """The local form of the chain rule at ``node``, after ``root.backward()``.

    dL/d(node) = sum over the node's children c of dL/dc * dc/d(node): one
    Term per edge into a child (``x * x`` gives two). Read off the graph with
    the public API: each child's grad and ``local_grads()``.
    """
    terms = []
    for child in topological_order(root):
        for parent, local in zip(child.parents, child.local_grads(), strict=True):
            if parent is node:
                terms.append(Term(child, child.grad, local, child.grad * local))
    return terms


def run(main) -> None:
    """Run a demo's ``main``; a closed pipe (``| head``) or Ctrl-C ends it quietly, not with a traceback."""
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except BrokenPipeError:
        # The reader went away: point stdout at nothing so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
