"""Training: ``fit`` runs the loop forward, loss, backward, step; ``grad_norms`` looks inside it.

One step of ``fit`` is the whole of backpropagation-based training:

    predictions = [model(x) for x in batch]     forward: builds the graph
    L = loss(predictions, targets)
    optimizer.zero_grad(); L.backward()         every parameter gets dL/dp
    optimizer.step()                            p moves against dL/dp

``History`` keeps the loss and the accuracy of each step, measured on that
step's batch before its update. ``fit(..., record=True)`` also keeps a
``Recording``: at each recorded step, every parameter as the step used it,
its dL/dp, and each layer's gradient norm, so a run can be replayed and drawn
(``viz.training_html``).
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chainrule.autograd import Value

from chainrule import autograd

from .checks import check_count
from .losses import CrossEntropyRule, binary_cross_entropy, cross_entropy, hinge, hinge_sign, mean, mse
from .module import MLP, Module
from .optim import SGD, Adam, vector_norm

LOSSES = ("hinge", "binary_cross_entropy", "cross_entropy", "mse")
#: The optimizer fit builds when given none: Adam with this learning rate trains the built-in sets.
DEFAULT_LR = 0.05
#: SGD's learning rate when asked for by name without ``lr``.
DEFAULT_SGD_LR = 0.1


class TrainingDiverged(ArithmeticError):
    """The loss stopped being a finite number: the learning rate is too large, or the data is extreme.

    ``step`` is the 1-based step whose loss was not finite; the parameters hold
    the values that step's forward pass used (its update was not applied).
    """

    def __init__(self, message: str, step: int, loss: float):
        super().__init__(message)
        self.step = step
        self.loss = loss


@dataclass
class Recording:
    """A training run, step by step: what ``fit(..., record=True)`` keeps.

    For each recorded step (``steps``, 0-based; every ``every``-th step and the last)
    it holds every parameter's value as the step's forward and backward pass used
    it (before the optimizer moved it), the parameter's dL/dp from that pass, and
    ``grad_norms`` of the model after it. The step's loss and accuracy are the
    History's ``loss[step]`` and ``accuracy[step]``.
    Parameters are listed in ``model.parameters()`` order and named by ``names``
    (their ``Value.name``, such as ``L1.N3.w2``).
    """

    every: int
    names: list[str]
    steps: list[int] = field(default_factory=list)
    params: list[list[float]] = field(default_factory=list)
    grads: list[list[float]] = field(default_factory=list)
    norms: list[list[float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def snapshot(self, step: int, params: list[Value], norms: list[float]) -> None:
        """Keep step ``step``: call it after the backward pass and before the optimizer's step."""
        self.steps.append(step)
        self.params.append([p.data for p in params])
        self.grads.append([p.grad for p in params])
        self.norms.append(norms)


@dataclass
class History:
    """What ``fit`` measured: one loss and one accuracy (a fraction in [0, 1]) per step,
    and with ``record`` the ``Recording`` of the run (else None)."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    recording: Recording | None = None

    def __len__(self) -> int:
        return len(self.loss)


# --- predictions as classes --------------------------------------------------------


def predicted_class(output, positive_above: float = 0.0) -> int:
    """The class a model's output stands for: the index of the largest of several
    outputs, or for one output 1 when it is above ``positive_above``, else 0."""
    if isinstance(output, (list, tuple)):
        values = [float(o) for o in output]
        return max(range(len(values)), key=values.__getitem__)
    return 1 if float(output) > positive_above else 0


def _true_class(label) -> int:
    # Binary labels may be written 0/1 or -1/+1; the positive class is the one above 0.
    return 1 if label > 0 else 0


def accuracy(model: Module, X: Sequence, y: Sequence) -> float:
    """The fraction of points whose predicted class (see ``predicted_class``) is their label."""
    if not len(X):
        raise ValueError("accuracy of an empty data set is undefined")
    hits = 0
    for x, label in zip(X, y, strict=True):
        out = model.predict(x)
        hits += predicted_class(out) == (label if isinstance(out, list) else _true_class(label))
    return hits / len(X)


# --- checking the arguments --------------------------------------------------------


def _check_data(model, X, y) -> int:
    """Check X and y against each other and the model; return the model's number of outputs."""
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise ValueError(f"X must be a list of points, got {type(X).__name__}")
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise ValueError(f"y must be a list of labels, got {type(y).__name__}")
    if len(X) == 0:
        raise ValueError("the data set is empty: X has no points")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} points but y has {len(y)} labels")
    width = getattr(model, "nin", None)
    if width is None:
        first = X[0]
        width = len(first) if isinstance(first, Sequence) else 1
    for i, row in enumerate(X):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"X[{i}] must be a list of {width} numbers, got {type(row).__name__}")
        if len(row) != width:
            raise ValueError(f"X[{i}] has {len(row)} numbers but the model takes {width} inputs")
        for j, v in enumerate(row):
            if not _is_number(v):
                raise ValueError(f"X[{i}][{j}] must be a finite number, got {v!r:.40}")
    out = model(X[0])
    if isinstance(out, Value):
        return 1
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, Value) for o in out):
        return len(out)
    raise ValueError(f"the model must return a Value or a list of Values, got {type(out).__name__}")


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_class_index(label) -> bool:
    return _is_number(label) and float(label).is_integer()


def _check_labels(loss: str, y: Sequence, k: int) -> None:
    """Labels that make sense for the loss and a model with ``k`` outputs, or a ValueError."""
    if loss in ("hinge", "binary_cross_entropy") and k != 1:
        raise ValueError(f"loss {loss!r} needs a model with 1 output (a score), this one has {k}; "
                         f"use 'cross_entropy' for {k} classes")
    if loss == "cross_entropy" and k < 2:
        raise ValueError("loss 'cross_entropy' needs one output per class (at least 2), this model has 1; "
                         "use 'hinge' or 'binary_cross_entropy' for two classes")
    for i, label in enumerate(y):
        if loss == "hinge":
            ok = _is_class_index(label) and label in (0, 1, -1)
            wanted = "0 or 1 (or -1)"
        elif loss == "binary_cross_entropy":
            ok = _is_number(label) and 0 <= label <= 1
            wanted = "0 or 1 (or a probability in between)"
        elif loss == "cross_entropy" or (loss == "mse" and k > 1 and not isinstance(label, Sequence)):
            ok = _is_class_index(label) and 0 <= label < k
            wanted = f"a class index 0 .. {k - 1}"
        elif k > 1:  # mse, with a row of k targets
            ok = len(label) == k and all(_is_number(v) for v in label)
            wanted = f"a class index or a list of {k} numbers"
        else:  # mse, one output
            ok = _is_number(label)
            wanted = "a number"
        if not ok:
            raise ValueError(f"y[{i}] = {label!r:.40} does not fit loss {loss!r}: it must be {wanted}")


def _make_optimizer(optimizer, params: list[Value], lr):
    if lr is not None and not (_is_number(lr) and lr > 0):
        raise ValueError(f"the learning rate lr must be a positive number, got {lr!r}")
    if optimizer is None or optimizer == "adam":
        return Adam(params, lr=DEFAULT_LR if lr is None else lr)
    if optimizer == "sgd":
        return SGD(params, lr=DEFAULT_SGD_LR if lr is None else lr)
    if isinstance(optimizer, str):
        raise ValueError(f"unknown optimizer {optimizer!r}; choose 'adam' or 'sgd' or pass an optimizer")
    if not (callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None))):
        raise ValueError(f"optimizer must have step() and zero_grad(), got {type(optimizer).__name__}")
    if lr is not None:
        raise ValueError("give lr or an optimizer object, not both (the optimizer has its own lr)")
    return optimizer


# --- the loss of a batch -------------------------------------------------------------


def _width(outputs: list) -> int | None:
    """How many outputs a model gives per point, as ``_graph_targets`` needs it: None for a single one."""
    return len(outputs[0]) if isinstance(outputs[0], list) else None


def _graph_targets(loss, width: int | None, labels: list) -> list[float] | None:
    """The numbers a named loss reads as its targets for these labels, one per term it averages.

    hinge: each label's sign y = -1 or +1; binary_cross_entropy: the label; mse: the
    label, or with several outputs each point's row of targets, laid end to end (a class
    index stands for its one-hot row). None for cross_entropy, whose label lives inside
    its fused node, and for a loss function, which reads the labels as it likes.
    ``width`` is ``_width`` of the model's outputs.
    """
    if callable(loss) or loss == "cross_entropy":
        return None
    if loss == "hinge":
        return [hinge_sign(t) for t in labels]
    if loss == "binary_cross_entropy" or width is None:
        return [float(t) for t in labels]
    flat = []
    for t in labels:
        flat.extend(t if isinstance(t, Sequence) else [1.0 if c == t else 0.0 for c in range(width)])
    return [float(v) for v in flat]


def _batch_loss(loss, predictions: list, labels: list, targets: list | None) -> Value:
    """The loss of a batch of model outputs.

    ``targets`` is what ``_graph_targets`` gives for the batch, as numbers or as
    Values holding them (a traced step refills those); where it is None the loss
    reads ``labels`` as given.
    """
    if targets is None:
        if callable(loss):
            return loss(predictions, labels)
        return cross_entropy(predictions, [int(t) for t in labels])
    if loss == "hinge":
        return hinge(predictions, targets)
    if loss == "binary_cross_entropy":
        # The model's output is a score; sigmoid makes it a probability, and the
        # loss reads the score back from the sigmoid node to stay stable.
        return binary_cross_entropy([s.sigmoid() for s in predictions], targets)
    if isinstance(predictions[0], list):  # mse over every output of every point
        predictions = [o for outputs in predictions for o in outputs]
    return mse(predictions, targets)


def _batch_accuracy(loss, outputs: list, targets: list) -> float:
    """Fraction of the batch classified right; NaN when the targets are not classes (mse regression)."""
    hits = 0
    for out, t in zip(outputs, targets, strict=True):
        if isinstance(out, list):
            if isinstance(t, Sequence):  # a row of targets: its largest entry is the class
                t = predicted_class(t)
            hits += predicted_class(out) == t
        elif loss == "mse":
            if t in (0, 1):  # 0/1 targets: the midpoint 0.5 separates the classes
                hits += predicted_class(out, 0.5) == t
            elif t == -1:
                hits += predicted_class(out) == 0
            else:
                return math.nan
        else:
            hits += predicted_class(out) == _true_class(t)
    return hits / len(outputs)


# --- the compiled step ------------------------------------------------------------------------


@dataclass
class _TracedStep:
    """A training step traced once by ``autograd.compile`` and replayed for every batch of its size.

    The batch reaches the traced graph through leaves and labels: ``inputs`` holds one
    leaf per input of each batch slot, ``targets`` one leaf per number the loss reads as
    a target (see ``_graph_targets``), and ``tape`` lists both after the parameters, so
    each call reads whatever they hold. cross_entropy keeps each label inside its node's
    rule instead; ``classes`` holds those rules (not the nodes, which would keep the
    whole graph alive), and the tape reads their labels at every call. A loss function
    may read the labels any way it likes, so for it both are None and the labels traced
    (``labels``) are constants of the graph: the step fits only batches with the same labels.
    """

    tape: autograd.Tape
    inputs: list[list[Value]]
    targets: list[Value] | None
    classes: list[CrossEntropyRule] | None
    labels: list
    width: int | None  # the model's outputs per point (``_width``); the tape watches them all, point by point

    def outputs(self) -> list:
        """The model's outputs in the last replay, as floats: one per point, or a list each for several."""
        flat = self.tape.watched()
        if self.width is None:
            return flat
        return [flat[i:i + self.width] for i in range(0, len(flat), self.width)]

    def fits(self, labels: list) -> bool:
        """Whether this step can replay a batch with these labels (of its size)."""
        return self.targets is not None or self.classes is not None or self.labels == labels

    def load(self, rows: list, targets: list[float] | None, labels: list) -> None:
        """Put a batch's inputs, targets and cross_entropy labels where the tape reads them."""
        for leaves, row in zip(self.inputs, rows, strict=True):
            for leaf, v in zip(leaves, row, strict=True):
                leaf.data = float(v)
        if self.targets is not None:
            for leaf, t in zip(self.targets, targets, strict=True):
                leaf.data = t
        if self.classes is not None:
            # What nn.losses.set_label does for a node; fit checked every label against the
            # model's number of outputs (its logits) before the first step.
            for rule, label in zip(self.classes, labels, strict=True):
                rule.label = int(label)


def _trace_step(model: Module, loss, params: list[Value], rows: list, labels: list) -> _TracedStep:
    """Build one step's graph on leaves for the batch ``rows``/``labels`` and compile it."""
    inputs = [[Value(v, name=f"x{j + 1}") for j, v in enumerate(row)] for row in rows]
    outputs = [model(leaves) for leaves in inputs]
    width = _width(outputs)
    numbers = _graph_targets(loss, width, labels)
    targets = None if numbers is None else [Value(t, name=f"y{i + 1}") for i, t in enumerate(numbers)]
    classes = None
    if loss == "cross_entropy":  # the nodes _batch_loss would build, kept at hand for their rules
        terms = [cross_entropy(out, int(t)) for out, t in zip(outputs, labels, strict=True)]
        classes = [term._rule for term in terms]
        L = mean(terms)
    else:
        L = _batch_loss(loss, outputs, labels, targets)
    batch = [leaf for leaves in inputs for leaf in leaves] + (targets or [])
    watch = outputs if width is None else [o for out in outputs for o in out]
    tape = autograd.compile(L, params + batch, watch=watch)
    return _TracedStep(tape, inputs, targets, classes, list(labels), width)


def _replay(tapes: dict[int, _TracedStep], model: Module, loss, params: list[Value], rows: list,
            labels: list) -> tuple[float, list]:
    """The step's loss and the model's outputs (as floats), and the parameters' grads, from the traced step.

    The step is traced on the first batch of each size, and again only when it does
    not fit the batch's labels (see ``_TracedStep.fits``: a loss function's).
    """
    step = tapes.get(len(rows))
    if step is not None and step.fits(labels):
        step.load(rows, _graph_targets(loss, step.width, labels), labels)
        try:
            return step.tape(), step.outputs()
        except (ArithmeticError, ValueError):
            # A branch taken when the step was traced stays in the tape: a loss function of
            # your own may pick the form of a formula that is safe for the sign a score had
            # then, and that form may overflow for a score hundreds on the other side. Tracing
            # afresh at this batch's values picks the branches that fit, or raises the error the
            # dynamic graph raises, if it is genuine.
            del tapes[len(rows)]
    step = tapes[len(rows)] = _trace_step(model, loss, params, rows, labels)
    return step.tape(), step.outputs()


# --- fit --------------------------------------------------------------------------------------


def _batches(n: int, batch_size: int | None, rng: random.Random):
    """Index lists, one per step, forever: all points each step, or shuffled batches epoch by epoch."""
    everything = list(range(n))
    if batch_size is None or batch_size >= n:
        while True:
            yield everything
    while True:
        order = everything[:]
        rng.shuffle(order)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def fit(model: Module, X: Sequence, y: Sequence, loss: str | Callable | None = None, optimizer=None,
        steps: int = 100, batch_size: int | None = None, progress: bool = True, *, lr: float | None = None,
        seed: int = 0, compiled: bool = False, record: bool | int = False) -> History:
    """Train ``model`` on points ``X`` with labels ``y`` for ``steps`` steps; return the ``History``.

    ``loss``: ``"hinge"``, ``"binary_cross_entropy"``, ``"cross_entropy"``, ``"mse"`` or a
    function ``(predictions, targets) -> Value``; by default hinge for a model with one
    output and cross-entropy for several. ``optimizer``: an optimizer object, ``"adam"``
    or ``"sgd"``; by default ``Adam(model.parameters(), lr=0.05)`` (``lr`` overrides the
    rate of a named or default optimizer). ``batch_size=None`` uses every point at every
    step; otherwise the points are shuffled each epoch (seeded by ``seed``) and taken
    ``batch_size`` at a time. ``progress`` shows a tqdm bar when output is a terminal.

    ``compiled=True`` builds the step's graph on input and target leaves, traces it with
    ``autograd.compile`` once per batch size (the last, shorter batch of an epoch gets a
    tape of its own), and replays it with each batch's numbers in those leaves (and, for
    cross_entropy, each batch's labels in the traced nodes, ``nn.losses.set_label``'s way).
    With a loss function the labels are constants of the trace, so a batch whose labels
    differ from the traced ones is traced afresh (with the full batch: never).
    The accuracy comes from ``model.predict``; the numbers equal the dynamic loop's to rounding.

    ``record=True`` keeps every step's parameters, grads and layer gradient norms in
    ``History.recording`` (see ``Recording``); ``record=k`` keeps every k-th step and the last.

    Every argument is checked before the first step; a bad one raises ``ValueError``
    saying what is wrong.
    """
    params = model.parameters()
    if not params:
        raise ValueError("the model has no parameters to train")
    k = _check_data(model, X, y)
    if loss is None:
        loss = "hinge" if k == 1 else "cross_entropy"
    if not callable(loss):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a function")
        _check_labels(loss, y, k)
    steps = check_count("steps", steps)
    batch_size = None if batch_size is None else check_count("batch_size", batch_size)
    every = 0 if record is False else 1 if record is True else check_count("record (every k-th step)", record)
    if batch_size is not None and batch_size > len(X):
        raise ValueError(f"batch_size {batch_size} is larger than the data set ({len(X)} points)")
    opt = _make_optimizer(optimizer, params, lr)
    first = [model(X[0])]
    # A loss that fails, fails now.
    probe = _batch_loss(loss, first, [y[0]], _graph_targets(loss, _width(first), [y[0]]))
    if not isinstance(probe, Value):
        raise ValueError(f"the loss must return a Value, got {type(probe).__name__}")

    history = History()
    if every:
        history.recording = Recording(every, [p.name or f"p{i}" for i, p in enumerate(params)])
    batches = _batches(len(X), batch_size, random.Random(seed))
    bar = _progress_bar(steps) if progress else None
    tapes: dict[int, _TracedStep] = {}  # compiled: the traced step of each batch size
    try:
        for step in range(steps):
            idx = next(batches)
            rows, labels = [X[i] for i in idx], [y[i] for i in idx]
            if compiled:
                opt.zero_grad()
                value, outputs = _replay(tapes, model, loss, params, rows, labels)
            else:
                outputs = [model(x) for x in rows]
                L = _batch_loss(loss, outputs, labels, _graph_targets(loss, _width(outputs), labels))
                opt.zero_grad()
                L.backward()
                value = L.data
                outputs = [[o.data for o in out] if isinstance(out, list) else out.data for out in outputs]
            if not math.isfinite(value):
                raise TrainingDiverged(_diverged(step + 1, value, opt), step + 1, value)
            if every and (step % every == 0 or step == steps - 1):
                history.recording.snapshot(step, params, grad_norms(model))
            opt.step()
            history.loss.append(value)
            history.accuracy.append(_batch_accuracy(loss, outputs, labels))
            if bar is not None:
                bar.set_postfix(loss=f"{value:.4f}", acc=f"{history.accuracy[-1]:.1%}", refresh=False)
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return history


def _diverged(step: int, value: float, opt) -> str:
    lr = getattr(opt, "lr", None)
    smaller = f"a learning rate smaller than {lr:g}" if isinstance(lr, float) else "a smaller learning rate"
    return (f"training diverged: the loss at step {step} is {value} (not a finite number), after "
            f"{step - 1} update(s); try {smaller}")


def _progress_bar(steps: int):
    """A tqdm bar on a terminal; None when output goes to a file or a pipe."""
    isatty = getattr(sys.stdout, "isatty", None)
    if not (isatty and isatty()):
        return None
    from tqdm import tqdm  # only a terminal needs it

    return tqdm(total=steps, unit="step", file=sys.stdout)


# --- diagnostics ---------------------------------------------------------------------------------


def grad_norms(model: Module) -> list[float]:
    """The length sqrt(sum g^2) of each layer's gradient, input side first.

    After a backward pass, a list that falls off from the last layer to the
    first is the vanishing gradient: each layer multiplies the signal going
    back by its weights and its activation's slope (at most 1/4 for sigmoid).
    A model without ``layers`` counts as one layer.
    """
    layers = getattr(model, "layers", None) or [model]
    # vector_norm, not sqrt(sum g^2): in a 300-layer sigmoid net the squares underflow to 0 (and
    # elsewhere overflow to inf), which would show a vanishing gradient as exactly none.
    return [vector_norm(p.grad for p in layer.parameters()) for layer in layers]


def after_one_pass(X: Sequence, y: Sequence, depth: int, width: int, activation: str = "sigmoid",
                   init: str = "he", seed: int | None = 0) -> MLP:
    """A fresh deep ``MLP(nin, [width] * depth + [1])`` after one backward pass of the mse on ``(X, y)``.

    Its ``.grad``s are in place and are the point: this is the network of the
    vanishing-gradient experiment (exercise 5.4, ``chainrule vanish``). Hidden
    layers use ``activation``, the output is linear, the labels are the targets.
    """
    model = MLP(len(X[0]), [width] * depth + [1], activation=activation, init=init, seed=seed)
    loss = mse([model(x) for x in X], [float(t) for t in y])
    model.zero_grad()
    loss.backward()
    return model


def vanish_norms(X: Sequence, y: Sequence, depth: int, width: int, activation: str = "sigmoid",
                 init: str = "he", seed: int | None = 0) -> list[float]:
    """``grad_norms`` of ``after_one_pass(...)``: each layer's gradient norm, input side first.

    With sigmoid the list falls by orders of magnitude towards the input (the
    slope is at most 1/4 per layer); with ReLU and He's init it stays level.
    """
    return grad_norms(after_one_pass(X, y, depth, width, activation, init, seed))
