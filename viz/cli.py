"""The ``chainrule`` command: the engine, the pictures and the networks from a terminal.

Each subcommand is one plain function ``run_<name>(args) -> exit status``;
``add_<name>_command`` declares its arguments (one small function per
command, so a new option touches only its command); ``build_parser`` wires
them to argparse, and ``main`` turns every error a user can cause (a formula
that does not parse, a value that is not a number, a folder that cannot be
written) into one short message on stderr and exit status 2, never a traceback.

Exit statuses: 0 fine; 1 ``check`` found a gradient it calls a bug, training
diverged, or a graph could not be rendered; 2 bad input; 130 interrupted
(Ctrl-C); 141 the reader of our output went away (``chainrule steps ... | head``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import unicodedata
from importlib import metadata
from pathlib import Path

from chainrule.autograd import ExpressionError, gradcheck
from chainrule.autograd.expr import formula_functions
from chainrule.autograd.files import atomic_write, is_stream, resolve_target
from chainrule.autograd.forward import forward_sweep, jacobian_forward, jacobian_reverse, nodes_below
from chainrule.nn.module import ACTIVATIONS, INITS  # the choices nn accepts, never typed twice
from chainrule.nn.train import after_one_pass, vanish_norms

from chainrule import autograd, nn

from .dot import GraphTooLarge, to_dot
from .frames import FRAME_FORMATS, save_frames
from .handout import handout_html
from .plots import decision_boundary, grad_norms_plot, loss_curve
from .render import render
from .stepper import stepper_html
from .tables import formula, forward_table, label, norms_table, num, paths_table, step_table, table
from .training import training_html

COURSE_FORMULA = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
COURSE_VALUES = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
COURSE_TITLE = "L = (y - sigmoid(w*x + b))^2"

#: What each built-in data set gets unless --points / --noise say otherwise.
DATASETS = {
    "moons": ("make_moons", 100, 0.1),
    "xor": ("make_xor", 100, 0.1),  # four noisy clouds round the corners of the unit square
    "spirals": ("make_spirals", 100, 0.05),
    "blobs": ("make_blobs", 100, 0.5),
}
#: Sizes past which train and vanish refuse up front (exit 2): past them the scalar graph of one step
#: (about 250 bytes a node) would take gigabytes, and the run would end in a MemoryError after minutes.
MAX_POINTS = 100_000
MAX_WIDTH = 1_000  # neurons in one layer
MAX_LAYERS = 1_000  # hidden layers
MAX_STEP_GRAPH = 5_000_000  # points per step x parameters: about the nodes one step's graph holds
GRAPH_SUFFIXES = (".svg", ".dot", ".gv", ".png", ".pdf")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PAGE_SUFFIXES = (".html", ".htm")
#: train --html records about this many steps (every k-th of a longer run): 500 steps of MLP(2, [16, 16, 1])
#: make a page of about 2.6 MB, and 4.4 MB with the stepper pages it carries (viz.training).
RECORDED_STEPS = 500


class UsageError(Exception):
    """Bad input on the command line: the message is shown as is, and the exit status is 2."""


class Failure(Exception):
    """The input was fine but the run failed (training diverged): the message as is, exit status 1."""


# --- reading the command line ----------------------------------------------------------


def parse_at(items: list[str] | None) -> dict[str, float]:
    """``["x=1.5,w=0.8", "b=0.1"]`` -> ``{"x": 1.5, "w": 0.8, "b": 0.1}``.

    Anything else is a UsageError that says what is wrong.
    """
    values: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not sep:
                raise UsageError(f"--at: {printable(part)!r} is not of the form name=number, "
                                 "as in --at x=1.5,w=0.8")
            if not name.isidentifier():
                raise UsageError(f"--at: {printable(name)!r} is not a name (letters, digits and _, not starting "
                                 "with a digit)")
            # Python reads a name in a formula in its NFKC form (the name ℌ is H), so the value's name must be
            # read the same way to be found.
            name = unicodedata.normalize("NFKC", name)
            try:
                value = float(text)
            except ValueError:
                raise UsageError(f"--at: the value of {name}, {printable(text)!r}, is not a number") from None
            if not math.isfinite(value):
                raise UsageError(f"--at: the value of {name} must be a finite number, got {printable(text)}")
            if name in values:
                raise UsageError(f"--at: {name} is given twice")
            values[name] = value
    return values


#: Bidirectional controls: a terminal that honours them draws the rest of the line in another order,
#: so a message could show something other than what was typed ("Trojan Source", CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: every character a terminal acts on becomes U+FFFD.

    Those are the control characters (escape sequences, carriage returns), lone
    surrogates, the line and paragraph separators U+2028 and U+2029, and the
    bidirectional controls. Tabs stay. One character for one, so a caret under
    a column still lines up.
    """
    return "".join("\ufffd" if acts_on_terminal(c) else c for c in text)


def acts_on_terminal(c: str) -> bool:
    """True for a character a terminal would obey (move, erase, reorder, break the line) rather than show."""
    if c == "\t":
        return False
    return unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI_CONTROLS


def formula_error(error: ExpressionError) -> str:
    """The error, the offending line and a caret under the column."""
    lines = [f"error in the formula at line {error.line}, column {error.column}: {printable(error.message)}"]
    if error.text:
        text = printable(error.text)
        # Tabs stay tabs under the caret, so it lands under the same column as on screen.
        pad = "".join("\t" if c == "\t" else " " for c in text[: error.column - 1])
        lines += [f"    {text}", f"    {pad}^"]
    return "\n".join(lines)


def build(formula: str, at: list[str] | None) -> autograd.Expression:
    """Parse ``formula`` at the ``--at`` values; refuse values the formula does not use."""
    values = parse_at(at)
    expression = autograd.parse(formula, **values)
    unused = [name for name in values if name not in expression.variables]
    if unused:
        names = ", ".join(unused)
        raise UsageError(f"--at gives a value for {names}, which the formula does not use")
    return expression


def writable(path: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check before any work that ``path`` can be written: its folder exists and is writable.

    A symbolic link is judged by the file it points to (that is what gets written);
    a FIFO or a character device such as /dev/null is written in place, so it only
    has to be writable itself.
    """
    if str(path) == "":
        raise UsageError("an empty path names no file: give a file name, or leave the option out")
    target = Path(path)
    real = resolve_target(target)
    if real.is_dir():
        raise UsageError(f"cannot write {printable(str(path))}: it is a folder")
    if suffixes is not None and target.suffix.lower() not in suffixes and not is_stream(real):
        raise UsageError(f"{printable(str(path))}: cannot tell what to write from the extension "
                         f"{target.suffix or '(none)'}; use {', '.join(suffixes)}")
    if is_stream(real):
        if not os.access(real, os.W_OK):
            raise UsageError(f"cannot write {printable(str(path))}: permission denied")
        return target
    if real.exists() and not real.is_file():
        raise UsageError(f"cannot write {printable(str(path))}: it is not a regular file, a FIFO or a "
                         "character device")
    folder = real.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {printable(str(path))}: the folder {printable(str(folder))} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {printable(str(path))}: the folder {printable(str(folder))} is not writable")
    return target


def layer_widths(text: str) -> list[int]:
    """``"16,16"`` -> ``[16, 16]``."""
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--layers: {printable(text)!r} is not a list of whole numbers, "
                         "as in --layers 16,16") from None
    if not widths or any(w < 1 for w in widths):
        raise UsageError(f"--layers: every layer needs a width of at least 1, got {printable(text)!r}")
    if len(widths) > MAX_LAYERS or max(widths) > MAX_WIDTH:
        raise UsageError(f"--layers: at most {MAX_LAYERS:,} layers of at most {MAX_WIDTH:,} neurons each, "
                         f"got {len(widths):,} layer(s), the widest {max(widths):,}")
    return widths


def at_most(limit: int, what: str):
    """argparse type: a whole number from 1 to ``limit``; ``what`` says why there is a limit."""

    def read(text: str) -> int:
        n = positive_int(text)
        if n > limit:
            raise argparse.ArgumentTypeError(f"at most {limit:,} ({what}), got {n:,}")
        return n

    return read


def check_step_size(points_per_step: int, widths: list[int], advice: str, nin: int = 2) -> None:
    """Refuse a network and batch whose one step would build more than MAX_STEP_GRAPH nodes."""
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip([nin, *widths[:-1]], widths, strict=True))
    if points_per_step * parameters > MAX_STEP_GRAPH:
        raise UsageError(f"one step would build a graph of about {points_per_step * parameters:,} nodes "
                         f"({points_per_step:,} points x {parameters:,} parameters), more than the "
                         f"{MAX_STEP_GRAPH:,} this command allows; {advice}")


def whole_number(text: str) -> int:
    """``text`` as an int, or the argparse error that quotes it (``'1e3' is not a whole number``)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    n = whole_number(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return x


def wrote(path: Path, what: str) -> None:
    print(f"wrote {path}  ({what})")


# --- tour, graph, steps, paths, check ----------------------------------------------------


def run_tour(args: argparse.Namespace) -> int:
    if args.out == "":
        raise UsageError("-o: an empty path names no folder; give a folder, or leave -o out for chainrule-out")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot write into {printable(str(out))}: it is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot make the folder {printable(str(out))}: {e.strerror}") from None
    writable(out / "graph.svg")

    values = ", ".join(f"{k} = {v:g}" for k, v in COURSE_VALUES.items())
    print(f"The course's example: {COURSE_TITLE} at {values}\n")
    expression = autograd.parse(COURSE_FORMULA, **COURSE_VALUES)
    loss = expression.output
    print("Forward pass, inputs first:")
    print(forward_table(loss), end="\n\n")
    print("Backward pass, one node at a time (upstream = dL/dnode):")
    print(step_table(loss), end="\n\n")
    w = expression.variables["w"]
    print("The same dL/dw as a sum over paths (the global form of the chain rule):")
    print(paths_table(loss, w), end="\n\n")
    print("Gradient check, backprop against central differences:")
    leaves = expression.variables
    rebuild = lambda: autograd.parse(COURSE_FORMULA, **leaves).output  # on the same leaves
    print(gradcheck(rebuild, list(leaves.values())), end="\n\n")

    # A fresh graph for the pictures: the gradient check rebuilt and re-ran the last one.
    expression = autograd.parse(COURSE_FORMULA, **COURSE_VALUES)
    expression.output.backward()
    render(to_dot(expression.output), out / "graph.svg")
    wrote(out / "graph.svg", "the graph with every value and gradient")
    stepper_html(expression.output, out / "stepper.html", title=COURSE_TITLE)
    wrote(out / "stepper.html", "open it in a browser to step through the backward pass")
    return 0


def run_graph(args: argparse.Namespace) -> int:
    target = writable(args.out, GRAPH_SUFFIXES) if args.out is not None else None
    expression = build(args.formula, args.at)
    root = expression.output
    root.backward()
    dot = refusing_large_graphs(lambda: to_dot(root, show_grad=True, show_local=True))
    if target is None:
        sys.stdout.write(dot.source)
        return 0
    render(dot, target)
    wrote(target, "values, grads, and each edge's local derivative")
    return 0


def run_steps(args: argparse.Namespace) -> int:
    target = writable(args.out, PAGE_SUFFIXES) if args.out is not None else None
    frames = frames_folder(args.frames) if args.frames else None
    seed = None
    if args.mlp is not None:
        if args.tangent is not None:
            raise UsageError("--tangent seeds one of a formula's inputs; with --mlp give a formula instead")
        root, title, params = network_point(args)
    elif args.view == "neurons":
        raise UsageError("--view neurons draws a network built by nn, and a formula has no neurons: give "
                         "--mlp 2,3,1 (a network of 2 inputs, 3 hidden neurons and 1 output) instead of a formula")
    else:
        expression = build(args.formula, args.at)
        root, title, params = expression.output, args.formula, update_params(args, expression)
        seed = tangent_input(args, expression)
    if target is not None:
        # The page first: a graph too large to draw, or a file that cannot be written, is refused
        # before any table is printed.
        refusing_large_graphs(lambda: stepper_html(root, target, quiz=args.quiz or False, title=title,
                                                   forward=args.forward, lr=args.lr, params=params,
                                                   variants=args.variants, view=args.view, tangent=seed))
    print("Forward pass, inputs first" + (f", each value's tangent beside it (forward mode, seeded with "
                                          f"d{args.tangent}/d{args.tangent} = 1):" if seed is not None else ":"))
    print(forward_table(root, seed), end="\n\n")
    print(f"Backward pass, one node at a time (upstream = d{label(root)}/d(node)):")
    print(step_table(root))
    if target is not None:
        print()
        what = f"a {args.quiz} quiz: answer before each step is shown" if args.quiz else "open it in a browser"
        wrote(target, what)
    if frames is not None:
        written = refusing_large_graphs(lambda: save_frames(root, frames, format=args.format, forward=args.forward,
                                                            lr=args.lr, params=params, tangent=seed))
        if target is None:
            print()
        count = f"{len(written)} files" if len(written) != 1 else "one file"
        passes = "the forward and backward passes" if args.forward else "the backward pass"
        if params is not None:
            passes += " and the update"
        print(f"wrote {count} into {frames}  ({passes} as {args.format} frames, one per step)")
    return 0


#: ``steps --mlp``: the largest network the page draws (one picture per neuron).
MAX_STEPS_NEURONS = 64


def network_point(args: argparse.Namespace):
    """``steps --mlp 2,3,1``: an nn MLP (weights from --seed) and its squared error on one point.

    The point is ``--at x1=..,x2=..,y=..`` (y1, y2, ... for several outputs); by default
    the first point of the moons data set and its label. Returns (loss, title, params to update).
    """
    from chainrule import nn

    if args.formula is not None:
        raise UsageError("give either a formula or --mlp, not both")
    if args.params is not None:
        raise UsageError("--params names inputs of a formula; with --mlp, --lr updates every weight and bias")
    try:
        sizes = [int(part) for part in args.mlp.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise UsageError(f"--mlp {printable(args.mlp)}: give the inputs, any hidden widths and the outputs, "
                         "as in 2,3,1")
    if sum(sizes[1:]) > MAX_STEPS_NEURONS:
        raise UsageError(f"--mlp {printable(args.mlp)}: at most {MAX_STEPS_NEURONS} neurons for the stepper "
                         "(a picture per neuron); use chainrule train --html for larger networks")
    nin, outs = sizes[0], sizes[-1]
    X, y = nn.make_moons(2, noise=0.1, seed=args.seed)
    names = [f"x{k + 1}" for k in range(nin)] + (["y"] if outs == 1 else [f"y{j + 1}" for j in range(outs)])
    default = {f"x{k + 1}": (X[0][k] if k < 2 else 0.0) for k in range(nin)}
    default.update({name: float(y[0]) for name in names[nin:]})
    given = parse_at(args.at)
    unknown = [name for name in given if name not in names]
    if unknown:
        raise UsageError(f"--at gives {', '.join(unknown)}, which the network does not use (its point: "
                         f"{', '.join(names)})")
    point = {**default, **given}
    model = nn.MLP(nin, sizes[1:], activation=args.activation, seed=args.seed)
    x = [autograd.Value(point[f"x{k + 1}"], name=f"x{k + 1}") for k in range(nin)]
    out = model(x)
    outputs = out if isinstance(out, list) else [out]
    targets = [autograd.Value(point[name], name=name) for name in names[nin:]]
    terms = [(t - o) ** 2 for t, o in zip(targets, outputs, strict=True)]
    loss = terms[0] if len(terms) == 1 else autograd.sum(terms)
    loss.name = "L"
    at = ", ".join(f"{name} = {num(point[name])}" for name in names)
    title = f"MLP({', '.join(map(str, sizes))}), seed {args.seed}: L = (y - out)^2 at {at}"
    return loss, title, model.parameters() if args.lr is not None else None


def frames_folder(text: str) -> Path:
    """``--frames DIR``: a folder that exists or can be made, never a file."""
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--frames {printable(text)}: it is a file, not a folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not folder.exists() and not parent.is_dir():
        raise UsageError(f"--frames {printable(text)}: the folder {printable(str(parent))} does not exist")
    return folder


def update_params(args: argparse.Namespace, expression: autograd.Expression) -> list | None:
    """``--lr 0.1 --params w,b``: the Values to update, by their names in the formula."""
    if args.lr is None and args.params is None:
        return None
    if args.lr is None or args.params is None:
        raise UsageError("the update step needs both --lr (the learning rate) and --params (as in --params w,b)")
    chosen = []
    for name in (part.strip() for part in args.params.split(",")):
        if not name:
            continue
        if name not in expression.variables:
            inputs = ", ".join(expression.variables) or "none"
            raise UsageError(f"--params: {printable(name)} is not an input of the formula (its inputs: {inputs})")
        chosen.append(expression.variables[name])
    if not chosen:
        raise UsageError("--params names no input; give them as in --params w,b")
    return chosen


def tangent_input(args: argparse.Namespace, expression: autograd.Expression) -> autograd.Value | None:
    """``--tangent x``: the input the forward-mode view seeds, by its name in the formula."""
    if args.tangent is None:
        return None
    if args.tangent not in expression.variables:
        inputs = ", ".join(expression.variables) or "none"
        raise UsageError(f"--tangent: {printable(args.tangent)} is not an input of the formula (its inputs: {inputs})")
    if not args.forward:
        raise UsageError("--tangent shows forward mode on the forward pass, which --no-forward leaves out")
    return expression.variables[args.tangent]


def run_handout(args: argparse.Namespace) -> int:
    target = writable(args.out, PAGE_SUFFIXES)
    expression = build(args.formula, args.at)
    refusing_large_graphs(lambda: handout_html(expression.output, target, forward=args.forward, title=args.title))
    what = "values and gradients" if args.forward else "gradients"
    wrote(target, f"a worksheet with a blank for every one of its {what}, and the answer key on its own page")
    return 0


def refusing_large_graphs(draw):
    """``draw()``, with a graph too large to draw refused in the command's words (to_dot's own
    advice names Python arguments the command does not have)."""
    try:
        return draw()
    except GraphTooLarge as e:
        raise UsageError(f"the graph has {e.count:,} {e.what}, more than the {e.max_nodes:,} a picture can show "
                         "(Graphviz would take minutes); chainrule steps without -o, and paths, print graphs "
                         "of any size as text") from None


def run_paths(args: argparse.Namespace) -> int:
    expression = build(args.formula, args.at)
    names = {**expression.variables, **expression.nodes}
    if args.wrt not in names:
        known = ", ".join(sorted(names)) or "none"
        raise UsageError(f"--wrt: the formula has no {printable(args.wrt)!r}; its names are {known}")
    root = expression.output
    print(f"Every path from {label(root)} down to {args.wrt}, and the product of the local derivatives "
          "along it:")
    print(paths_table(root, names[args.wrt], args.limit))
    return 0


def run_check(args: argparse.Namespace) -> int:
    expression = build(args.formula, args.at)
    leaves = expression.variables
    if not leaves:
        raise UsageError("the formula has no inputs to check: give it names and values with --at")
    rebuild = lambda: autograd.parse(args.formula, **leaves).output  # the same leaves, nudged by gradcheck
    report = gradcheck(rebuild, list(leaves.values()), eps=args.eps)
    print(report)
    return 1 if any(row.verdict == "bug" for row in report.rows) else 0


# --- train and vanish ----------------------------------------------------------------------


def boundary_path(plot: Path) -> Path:
    """Where ``--plot curve.png`` puts the decision boundary: ``curve-boundary.png``."""
    return plot.with_name(f"{plot.stem}-boundary{plot.suffix}")


def run_train(args: argparse.Namespace) -> int:
    plot = writable(args.plot, PLOT_SUFFIXES) if args.plot is not None else None
    page = writable(args.html, PAGE_SUFFIXES) if args.html is not None else None
    widths = layer_widths(args.layers)
    maker, default_n, default_noise = DATASETS[args.dataset]
    n = args.points if args.points is not None else default_n
    noise = args.noise if args.noise is not None else default_noise
    X, y = getattr(nn.data, maker)(n, noise=noise, seed=args.seed)
    classes = max(y) + 1
    check_step_size(min(args.batch_size or n, n), [*widths, 1 if classes == 2 else classes],
                    "use fewer points per step (--batch-size) or smaller --layers")
    model = nn.MLP(2, [*widths, 1 if classes == 2 else classes], activation=args.activation, seed=args.seed)
    loss = "hinge" if classes == 2 else "cross_entropy"
    print(f"{args.dataset}: {n} points, {classes} classes, noise {noise:g}")
    batches = f"batches of {args.batch_size}" if args.batch_size else "all points each step"
    print(f"{model}: {len(model.parameters())} parameters; loss {loss}; {args.steps} steps of Adam, "
          f"lr {args.lr:g}, {batches}")
    try:
        history = nn.fit(model, X, y, loss=loss, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, compiled=not args.dynamic,
                         record=False if page is None else max(1, math.ceil(args.steps / RECORDED_STEPS)))
    except nn.train.TrainingDiverged as e:
        raise Failure(str(e)) from None
    print(f"final loss {num(history.loss[-1])} (the last step's batch, before its update)")
    print(f"accuracy {nn.accuracy(model, X, y):.1%} on all {n} points after training")
    if plot is not None:
        loss_curve(history, plot, title=f"Training on {args.dataset}")
        wrote(plot, "the loss curve")
        decision_boundary(model, X, y, boundary_path(plot), title=args.dataset)
        wrote(boundary_path(plot), "the decision boundary")
    if page is not None:
        training_html(history, model, X, y, page, title=f"Training on {args.dataset}")
        wrote(page, "the run, step by step: open it in a browser")
    return 0


VANISH_POINTS = 16


def vanish_model(activation: str, depth: int, width: int, init: str, seed: int):
    """A deep MLP after one backward pass of the mse on 16 moons points (its grads are the point)."""
    X, y = nn.make_moons(VANISH_POINTS, noise=0.1, seed=seed)
    return after_one_pass(X, y, depth, width, activation, init, seed)


def run_vanish(args: argparse.Namespace) -> int:
    plot = writable(args.plot, PLOT_SUFFIXES) if args.plot is not None else None
    page = writable(args.html, PAGE_SUFFIXES) if args.html is not None else None
    activations = [a.strip() for a in args.activations.split(",") if a.strip()]
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown or not activations:
        raise UsageError(f"--activations: unknown {', '.join(map(printable, unknown)) or '(none given)'}; "
                         f"choose from {', '.join(ACTIVATIONS)}")
    check_step_size(VANISH_POINTS, [args.width] * args.depth + [1], "use a smaller --depth or --width")
    X, y = nn.make_moons(VANISH_POINTS, noise=0.1, seed=args.seed)  # the same points vanish_model uses
    norms = {a: vanish_norms(X, y, args.depth, args.width, a, args.init, args.seed) for a in activations}
    print(f"Gradient norm of each layer's parameters (weights and biases), input side first, in an MLP\n"
          f"with {args.depth} hidden layers of {args.width} ({args.init} init), after one backward pass "
          "(mse on 16 moons points):\n")
    print(norms_table(norms), end="\n\n")
    for a in activations:
        first, last = norms[a][0], norms[a][-1]
        ratio = f"{first / last:.3g}" if last else "undefined (the output layer's gradient is 0)"
        print(f"{a}: first layer / last layer = {ratio}")
    if plot is not None:
        grad_norms_plot(norms, plot, title=f"Gradient norm per layer, {args.depth} hidden layers")
        wrote(plot, "gradient norm per layer, log scale")
    if page is not None:
        vanish_page(activations, args, page)
        wrote(page, "the networks side by side, edges drawn by |dL/dw|")
    return 0


def vanish_page(activations: list[str], args: argparse.Namespace, path: Path) -> None:
    """The deep networks side by side in the neuron view, on one shared heat scale."""
    from .neurons import heat_scale_of, neurons_dot, side_by_side_html

    models = [vanish_model(a, args.depth, args.width, args.init, args.seed) for a in activations]
    scale = heat_scale_of(models)
    panels = [(f"{a}: {args.depth} hidden layers of {args.width}",
               render(neurons_dot(m, heat="grad", heat_scale=scale, max_edges=10**6)))
              for a, m in zip(activations, models, strict=True)]
    caption = ("One backward pass of the mse on 16 moons points. Each arrow is a weight; its width and colour "
               "come from log10 |dL/dw| on one scale shared by both pictures, so a thin grey arrow carries "
               "a gradient orders of magnitude smaller than a thick red one. Hover an arrow for w and dL/dw.")
    atomic_write(path, side_by_side_html("Vanishing gradients, drawn", caption, panels))


# --- modes: forward mode beside reverse mode ---------------------------------------------------


def run_modes(args: argparse.Namespace) -> int:
    expression = build(args.formula, args.at)
    inputs = list(expression.variables.values())
    if not inputs:
        raise UsageError("the formula has no inputs to differentiate by: give it names and values with --at")
    outputs = modes_outputs(expression, args.outputs)
    names = [label(x) for x in inputs]
    out_names = [label(y) for y in outputs]
    n, m = len(inputs), len(outputs)
    print(f"{m} output{'s' * (m != 1)} ({', '.join(out_names)}) of {n} input{'s' * (n != 1)} "
          f"({', '.join(names)}): the Jacobian, {m} x {n}, found both ways.\n")

    forward, forward_time = timed(lambda: jacobian_forward(outputs, inputs))
    reverse, reverse_time = timed(lambda: jacobian_reverse(outputs, inputs))
    rows = [
        ("forward", f"{forward.sweeps} (one per input)", f"{forward.ops:,}", f"{forward_time * 1e6:.1f} us"),
        ("reverse", f"{reverse.sweeps} (one per output)", f"{reverse.ops:,}", f"{reverse_time * 1e6:.1f} us"),
    ]
    print(table(("mode", "sweeps", "ops evaluated", "time (best of 5)"), rows), end="\n\n")

    cells, worst = [], 0.0
    for i, y in enumerate(out_names):
        for j, x in enumerate(names):
            f, r = forward.jacobian[i][j], reverse.jacobian[i][j]
            worst = max(worst, abs(f - r) / max(abs(f), abs(r), 1e-300)) if f != r else worst
            cells.append((f"d{y}/d{x}", num(f), num(r)))
    print(table(("derivative", "forward", "reverse"), cells))
    same = "the same numbers" if worst == 0.0 else f"equal within a relative {worst:.1e} (rounding)"
    print(f"both ways: {same}\n")
    cheaper = "reverse" if reverse.ops < forward.ops else "forward" if forward.ops < reverse.ops else "neither"
    print(f"Cheaper here: {cheaper}. Forward mode pays one sweep per input, reverse mode one per output:")
    print("a loss has many inputs and one output, which is why training runs backward.\n")

    first = inputs[0]
    tangents = forward_sweep(outputs, {first: 1.0})
    print(f"One forward sweep, seeded with d{names[0]} = 1: each node's tangent d(node)/d{names[0]} beside "
          "its value")
    steps = [(label(node), formula(node), num(node.data), num(tangents[node]))
             for node in nodes_below(outputs)]
    print(table(("node", "computed as", "value", f"tangent d/d{names[0]}"), steps))
    return 0


def modes_outputs(expression: autograd.Expression, text: str | None) -> list[autograd.Value]:
    """The outputs ``--outputs h,L`` names (assigned names of the formula), or the formula's output."""
    if not text:
        return [expression.output]
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    missing = [name for name in wanted if name not in expression.nodes]
    if missing or not wanted:
        known = ", ".join(expression.nodes) or "none (assign with name = ...)"
        raise UsageError(f"--outputs: {', '.join(map(printable, missing)) or '(none given)'} is not an assigned name "
                         f"of the formula; its names are {known}")
    return [expression.nodes[name] for name in wanted]


def timed(work, repeat: int = 5):
    """``work()``'s result and its best time over ``repeat`` runs, in seconds."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return result, best


def add_modes(sub) -> None:
    p = _command(sub, "modes", "forward mode beside reverse mode: sweeps counted", """\
The Jacobian of a formula (d each output / d each input) found two ways.
Forward mode pushes a tangent from one input up through the graph: one sweep
gives one column, so n inputs take n sweeps. Reverse mode sends gradients
down from one output: one sweep gives one row, so m outputs take m sweeps.
Prints both tables of numbers (they agree), the ops each way evaluated, the
time it took, and one forward sweep with each node's tangent beside its value.""", """\
examples:
  chainrule modes "z = w*x + b; L = (y - sigmoid(z))**2" --at w=0.8,x=1.5,b=0.1,y=1
  chainrule modes "s = sin(x); a = s*x; b = s + x; c = exp(s)" --at x=0.5 --outputs a,b,c""", run_modes)
    _formula_arguments(p)
    p.add_argument("--outputs", metavar="NAME,...",
                   help="differentiate these assigned names (default: the formula's output)")


# --- the parser ----------------------------------------------------------------------------

AT_HELP = "the inputs' values, as in x=1.5,w=0.8 (repeat --at or separate with commas)"
FORMULA_HELP = ("the formula: expressions and assignments separated by ; or newlines, the last one the "
                "output, as in 'z = w*x + b; L = (1 - sigmoid(z))^2' (^ and ** both mean power). "
                "Constants: pi e. Functions: " + " ".join(sorted(formula_functions())))

DESCRIPTION = """\
Backpropagation, one node at a time.

Every number in a formula becomes a node of a computational graph. The backward
pass visits the nodes from the output back to the inputs; at each node it
multiplies the upstream gradient dL/dnode by the local derivative
dnode/dparent and adds the product to the parent's grad. Where a parent is
reached along several paths, the products add up: the multi-path chain rule.
"""

EPILOG = """\
examples:
  chainrule tour                                   the course's example, end to end
  chainrule graph "L = (y - sigmoid(w*x + b))**2" --at w=0.8,x=1.5,b=0.1,y=1 -o graph.svg
  chainrule steps "c = a*b + a" --at a=2,b=-3 -o steps.html --quiz
  chainrule handout "c = a*b + a" --at a=2,b=-3 -o sheet.html
  chainrule paths "c = a*b + a" --at a=2,b=-3 --wrt a
  chainrule check "log(1 + exp(w*x))" --at w=0.5,x=2
  chainrule train moons --layers 16,16 --steps 100 --plot moons.png
  chainrule vanish --depth 12 --activations sigmoid,relu --plot vanish.png
  chainrule modes "z = w*x + b; L = (y - sigmoid(z))**2" --at w=0.8,x=1.5,b=0.1,y=1
  chainrule serve --class

Run chainrule COMMAND --help for more on each command.
"""


class Parser(argparse.ArgumentParser):
    """argparse, with a short complaint: the error and where to read more, not the whole usage."""

    def error(self, message: str):
        # argparse repeats what it could not read (unrecognized arguments: ...) as it was typed.
        self.exit(2, f"{self.prog}: {printable(message)}\n(see {self.prog} --help)\n")

    # The formula is optional to argparse only so that read_arguments can take one that starts with a
    # minus sign; to the user it is required, and the usage line says so.
    def format_usage(self) -> str:
        return super().format_usage().replace("[EXPR]", "EXPR")

    def format_help(self) -> str:
        return super().format_help().replace("[EXPR]", "EXPR")


def _command(sub, name: str, help: str, description: str, epilog: str, run) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=description, epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)
    return p


def _formula_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("formula", nargs="?", metavar="EXPR", help=FORMULA_HELP)  # required: see read_arguments
    p.add_argument("--at", action="append", metavar="NAME=VALUE,...", help=AT_HELP)
    p.set_defaults(formula_parser=p)


def read_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, except that a formula may start with a minus sign.

    argparse takes ``-x*w`` or ``-log(p)`` for an option it does not know. When
    a command that reads a formula got none, and exactly one such unknown
    "option" is left over, that is the formula. (``-h`` and ``-o`` are real
    options; a formula starting with them goes after ``--``.)
    """
    args, extras = parser.parse_known_args(argv)
    command = getattr(args, "formula_parser", None)
    if command is not None and args.formula is None and len(extras) == 1 and not extras[0].startswith("--"):
        args.formula, extras = extras[0], []
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if command is not None and args.formula is None and getattr(args, "mlp", None) is None:
        command.error("the following arguments are required: EXPR (a formula starting with -h or -o goes "
                      "after --)")
    return args


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subparser per command, each built by its own ``add_<name>_command``."""
    parser = Parser(prog="chainrule", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"chainrule {chainrule_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def chainrule_version() -> str:
    """The installed distribution's version, as pip sees it."""
    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def add_tour_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "tour", "the course's worked example end to end", f"""\
The course's worked example, {COURSE_TITLE} at w = 0.8, x = 1.5,
b = 0.1, y = 1: the forward values, every step of the backward pass, dL/dw
as a sum over paths, and a gradient check. Writes the graph (graph.svg) and
the step-through page (stepper.html) into the folder given by -o.""", """\
example:
  chainrule tour -o out/      then open out/stepper.html in a browser""", run_tour)
    p.add_argument("-o", "--out", default="chainrule-out", metavar="DIR",
                   help="folder for graph.svg and stepper.html (default: chainrule-out)")
    return p


def add_graph_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "graph", "draw a formula's graph with values and gradients", """\
Draw the computational graph of a formula after one backward pass: each box
shows a value's data and grad, each edge into an op the local derivative
d(node)/d(parent). The output's extension picks the format: .svg (or .png,
.pdf with Graphviz installed) is a picture, .dot is Graphviz's text.
Without -o the DOT text goes to standard output.""", """\
examples:
  chainrule graph "z = w*x + b; L = (1 - sigmoid(z))**2" --at w=0.8,x=1.5,b=0.1 -o graph.svg
  chainrule graph "x*x + x" --at x=3 | dot -Tpng > graph.png""", run_graph)
    _formula_arguments(p)
    p.add_argument("-o", "--out", metavar="FILE", help="write the picture here (.svg, .dot, .png, .pdf)")
    return p


def add_steps_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "steps", "the backward pass one step at a time, and the HTML stepper", """\
Print the forward values and the backward pass step by step: at each node the
upstream gradient, and for each parent the local derivative, their product and
the parent's grad before -> after. With -o, also write the stepper: one HTML
file (no network needed) with Previous/Next, the arrow keys, and a click on
any node to see its gradient as a sum over children and over paths.

Instead of a formula, --mlp 2,3,1 builds an nn network (2 inputs, a hidden
layer of 3, 1 output; weights from --seed) and its squared error
L = (y - out)^2 on one point (--at x1=0.5,x2=-1,y=1; by default the first
point of the moons data). --view neurons draws it as neurons: click a neuron
in the page to open it into its scalar nodes, where the steps play.""", """\
examples:
  chainrule steps "c = a*b + a" --at a=2,b=-3
  chainrule steps "h = tanh(w*x + b)" --at w=0.5,x=2,b=-1 -o steps.html
  chainrule steps "L = (y - sigmoid(w*x))**2" --at w=0.8,x=1.5,y=1 -o quiz.html --quiz
  chainrule steps "L = (y - sigmoid(w*x))**2" --at w=0.8,x=1.5,y=1 -o modes.html --tangent x
  chainrule steps "L = (y - sigmoid(w*x))**2" --at w=0.8,x=1.5,y=1 --frames slides --format pdf
  chainrule steps --mlp 2,3,1 --view neurons -o net.html
  chainrule steps --mlp 2,3,1 --at x1=0.5,x2=-1,y=1 --activation tanh --view neurons -o net.html""", run_steps)
    _formula_arguments(p)
    p.add_argument("-o", "--out", metavar="FILE.html", help="write the HTML stepper here")
    p.add_argument("--view", choices=("scalar", "neurons"), default="scalar",
                   help="the page's picture: scalar (a box per value, the default) or neurons (a circle per "
                        "neuron, for --mlp)")
    p.add_argument("--mlp", metavar="SIZES", help="a network instead of a formula: inputs, hidden widths, outputs, "
                                                  "as in 2,3,1")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="with --mlp: the hidden layers' activation (default: relu)")
    p.add_argument("--seed", type=int, default=0, help="with --mlp: the seed of the weights and of the default point")
    _stepper_options(p)
    return p


def add_paths_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "paths", "a gradient as a sum over paths", """\
The multi-path chain rule: dL/dx is the sum, over every path from the output
L down to x, of the product of the local derivatives along the path. Lists
each path and its product, adds them up, and prints backprop's dL/dx beside
the sum.""", """\
examples:
  chainrule paths "c = a*b + a" --at a=2,b=-3 --wrt a
  chainrule paths "z = w*x + b; L = (1 - sigmoid(z))**2" --at w=0.8,x=1.5,b=0.1 --wrt z""", run_paths)
    _formula_arguments(p)
    p.add_argument("--wrt", required=True, metavar="NAME",
                   help="the input (or assigned name) to differentiate by")
    p.add_argument("--limit", type=positive_int, default=10_000,
                   help="list at most this many paths (and at most 1 MB of text); count and sum the rest "
                        "(default: 10000)")
    return p


def add_check_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "check", "compare backprop with numerical gradients", """\
Gradient check: backprop's dL/dp for each input p beside the central
difference (L(p + eps) - L(p - eps)) / (2 eps), and their relative error
|a - n| / (|a| + |n| + 1e-8): correct below 1e-5, check up to 1e-3, bug above.
Exit status 1 when any input's verdict is bug.""", """\
examples:
  chainrule check "L = (y - sigmoid(w*x + b))**2" --at w=0.8,x=1.5,b=0.1,y=1
  chainrule check "relu(x)" --at x=0       (a kink: backprop says 0, differences 0.5: a bug)""", run_check)
    _formula_arguments(p)
    p.add_argument("--eps", type=positive_float, default=1e-5,
                   help="the nudge of central differences (default: 1e-5)")
    return p


def add_train_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "train", "train a small network on a toy data set", """\
Train an MLP (2 inputs, hidden layers as given, one output for two classes or
one per class) with Adam on a built-in data set, showing a progress bar on a
terminal. Prints the final loss and the accuracy. With --plot FILE, writes the
loss curve to FILE and the decision boundary next to it, as FILE-boundary
(curve.png -> curve-boundary.png).""", """\
examples:
  chainrule train moons
  chainrule train spirals --layers 32,32 --activation tanh --steps 300 --plot spirals.png
  chainrule train blobs --steps 50 --batch-size 32""", run_train)
    p.add_argument("dataset", choices=sorted(DATASETS), help="the data set: " + ", ".join(sorted(DATASETS)))
    p.add_argument("--layers", default="16,16", help="hidden layer widths (default: 16,16)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="hidden activation (default: relu)")
    p.add_argument("--steps", type=positive_int, default=100, help="training steps (default: 100)")
    p.add_argument("--lr", type=positive_float, default=0.05, help="Adam's learning rate (default: 0.05)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="points per step (default: all)")
    p.add_argument("--points", type=at_most(MAX_POINTS, "the data set is pure Python"), default=None,
                   help=f"size of the data set (default: 100, at most {MAX_POINTS:,})")
    p.add_argument("--noise", type=float, default=None, help="jitter of the points (default: per data set)")
    p.add_argument("--seed", type=int, default=0, help="seed for the data, the weights and the batches")
    _train_engine_options(p)
    p.add_argument("--plot", metavar="FILE", help="loss curve to FILE, decision boundary to FILE-boundary")
    p.add_argument("--html", metavar="FILE.html", help="record the run and write the page that replays it")
    return p


def add_vanish_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "vanish", "vanishing gradients in a deep network", """\
Build a deep MLP per activation, run one backward pass and print the gradient
norm of each layer's weights, input side first. With sigmoid, whose slope is
at most 1/4, the norm shrinks layer by layer towards the input: the vanishing
gradient. With relu it stays of the same order.""", """\
examples:
  chainrule vanish
  chainrule vanish --depth 20 --activations sigmoid,tanh,relu --plot vanish.png""", run_vanish)
    p.add_argument("--depth", type=at_most(MAX_LAYERS, "a graph node per weight"), default=12,
                   help=f"hidden layers (default: 12, at most {MAX_LAYERS:,})")
    p.add_argument("--width", type=at_most(MAX_WIDTH, "a graph node per weight"), default=16,
                   help=f"neurons per hidden layer (default: 16, at most {MAX_WIDTH:,})")
    p.add_argument("--activations", default="sigmoid,relu", help="comma-separated (default: sigmoid,relu)")
    p.add_argument("--init", choices=INITS, default="he", help="weight initialisation (default: he)")
    p.add_argument("--seed", type=int, default=0, help="seed for the data and the weights")
    p.add_argument("--plot", metavar="FILE", help="write the norms per layer as a plot (.png, .svg, .pdf)")
    p.add_argument("--html", metavar="FILE.html", help="draw the networks side by side, edges by |dL/dw|")
    return p


def _stepper_options(p: argparse.ArgumentParser) -> None:
    """The stepper page's and the frames' options of ``steps``."""
    p.add_argument("--quiz", nargs="?", const="grad", choices=("grad", "local", "forward", "all"),
                   help="in the page, ask before showing: grad (each parent's new grad, the default), local "
                        "(each edge's local derivative), forward (each value) or all; right within 0.1%%")
    p.add_argument("--variants", action="store_true",
                   help="in the page, each student types a seed (a name or a number) and draws their own inputs; "
                        "the quiz checks their numbers and the score shows the seed")
    p.add_argument("--no-forward", dest="forward", action="store_false",
                   help="the page shows the backward pass only (by default the forward pass comes first)")
    p.add_argument("--lr", type=positive_float, help="end the page with a gradient-descent step of this rate")
    p.add_argument("--params", metavar="NAME,...", help="the inputs the update step changes, as in w,b")
    p.add_argument("--tangent", metavar="NAME",
                   help="forward mode beside the forward pass: each value's tangent d(value)/dNAME, seeded with "
                        "this input (the page's select seeds the others)")
    p.add_argument("--frames", metavar="DIR",
                   help="also write the passes as frames for slides into DIR (the same options as the page)")
    p.add_argument("--format", choices=FRAME_FORMATS, default="svg",
                   help="the frames' format: svg, png (2x), pdf (one deck) or gif (animated); default svg")


def _train_engine_options(p: argparse.ArgumentParser) -> None:
    """``train`` replays each step with the compiled tape (numpy) unless --dynamic: the same History to
    rounding for every loss the command uses (hinge, cross_entropy), many times faster."""
    p.add_argument("--dynamic", action="store_true",
                   help="build and backpropagate a fresh graph at every step instead of replaying the compiled "
                        "tape (slower; the same numbers to rounding)")
    p.add_argument("--compiled", action="store_true", help="the default: replay the compiled tape (kept for scripts)")


def add_handout_command(sub) -> argparse.ArgumentParser:
    p = _command(sub, "handout", "a printable worksheet for a formula's graph, with its answer key", """\
Write a worksheet to print (A4 or Letter): the graph with a blank for every
gradient (and, with --forward, every value an op computes), a table with the
same blanks, and the answer key on a page of its own.""", """\
examples:
  chainrule handout "L = (y - sigmoid(w*x + b))**2" --at w=0.8,x=1.5,b=0.1,y=1 -o sheet.html
  chainrule handout "c = a*b + a" --at a=2,b=-3 -o sheet.html --forward""", run_handout)
    _formula_arguments(p)
    p.add_argument("-o", "--out", required=True, metavar="FILE.html", help="write the worksheet here")
    p.add_argument("--forward", action="store_true", help="leave the computed values blank as well")
    p.add_argument("--title", help="the worksheet's heading (default: the output's name)")
    return p


# --- serve -------------------------------------------------------------------------------------


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    n = whole_number(text)
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535, got {n}")
    return n


def add_serve(sub) -> None:
    p = _command(sub, "serve", "the formula box in a browser, and a live class session", """\
Start a local web server. Its page is the formula box: type a formula and its
values and see the graph, the forward and backward steps, the paths and the
gradient check, computed by this engine; download the step-through page as one
file. POST /api/graph answers the same as JSON. With --class it also runs a
class: the teacher's page (its address holds a secret; keep it to yourself)
moves the step and opens questions, and students answer from their phones at
the class address, shown as a QR code. Nothing is written to disk.
It listens on 127.0.0.1 (this machine only) unless --host says otherwise.""", """\
examples:
  chainrule serve                               then open http://127.0.0.1:8000/
  chainrule serve --class --host 0.0.0.0        a class on the room's network""", run_serve)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every network of this machine)")
    p.add_argument("--port", type=port_number, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--class", dest="classroom", action="store_true",
                   help="run a class session: a teacher page, a student page and a QR code")


def run_serve(args: argparse.Namespace) -> int:
    try:
        from .server import serve  # the web stack loads only here
    except ImportError as e:
        raise UsageError(f"chainrule serve needs the web stack ({e.name} is missing): "
                         "pip install 'chainrule[serve]'") from None
    try:
        serve(args.host, args.port, args.classroom)
    except OSError as e:
        raise UsageError(f"cannot listen on {printable(args.host)}:{args.port}: {e.strerror or e}") from None
    return 0


# --- main -------------------------------------------------------------------------------------


def fail(message: str) -> int:
    print(f"chainrule: {message}", file=sys.stderr)
    return 2


COMMANDS = (
    add_tour_command,
    add_graph_command,
    add_steps_command,
    add_handout_command,
    add_paths_command,
    add_check_command,
    add_train_command,
    add_vanish_command,
    add_modes,
    add_serve,
)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    # Started with standard output or error closed (``chainrule tour -o d >&-``), Python sets them to
    # None; the files are still written, what would be printed goes nowhere, and the status still tells.
    for stream in ("stdout", "stderr"):
        if getattr(sys, stream) is None:
            setattr(sys, stream, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as we do
    try:
        args = read_arguments(build_parser(), argv)
        try:
            return args.run(args)
        except ExpressionError as e:
            return fail(formula_error(e))
        except UsageError as e:
            return fail(str(e))
        except Failure as e:
            print(f"chainrule: {printable(str(e))}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            raise  # not a file of ours: handled below
        except OSError as e:  # a file we were asked to write
            where = f" {printable(str(e.filename))}" if e.filename else ""
            return fail(f"cannot write{where}: {e.strerror or e}")
        except (ValueError, ArithmeticError) as e:  # a domain error or a refusal from the engine, nn or viz
            return fail(printable(str(e)))
        except RuntimeError as e:  # Graphviz missing or refusing: not the user's input
            print(f"chainrule: {printable(str(e))}", file=sys.stderr)
            return 1
        finally:
            sys.stdout.flush()  # a closed pipe shows up here, inside the BrokenPipeError handler
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) has gone; say nothing more and let Python's exit flush nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
