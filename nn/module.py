"""Neurons, layers and multi-layer perceptrons made of scalar ``Value``s.

A neuron computes

    z = w1*x1 + w2*x2 + ... + wn*xn + b        (one n-ary ``sum`` node)
    h = activation(z)

a layer is a list of neurons that read the same inputs, and an MLP feeds
each layer's outputs to the next. Everything is an ``autograd.Value``, so
any forward pass can be drawn, stepped through and gradient-checked.

Names matter here because graphs and step tables show them. Parameters are
named 1-based, the way people count: ``L2.N3.w1`` is layer 2, neuron 3,
weight of input 1, and ``L2.N3.b`` its bias; the neuron's sum node is
``L2.N3.z`` and its activation ``L2.N3.h``. ``named_parameters()`` gives the
0-based attribute paths PyTorch users expect (``layers.1.neurons.2.w.0``).
"""

from __future__ import annotations

import json
import math
import numbers
import random
from collections.abc import Sequence
from pathlib import Path

from chainrule.autograd import Value
from chainrule.autograd.files import atomic_write

from chainrule import autograd

from .checks import check_count

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("he", "xavier", "uniform")

#: Written into every saved file, so ``load`` can tell our files from other JSON.
FILE_FORMAT = "chainrule.nn"
FILE_VERSION = 1


class Module:
    """Anything with parameters: the base of ``Neuron``, ``Layer`` and ``MLP``.

    A subclass lists its parameters in ``named_parameters()``; everything
    else here (``parameters``, ``zero_grad``, state and files) is built on it.
    """

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(path, Value)`` pairs in the order of ``parameters()``; none for a bare Module."""
        return []

    def parameters(self) -> list[Value]:
        """Every trainable Value: layer by layer, each neuron's weights then its bias."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (leaves accumulate across backward passes)."""
        for p in self.parameters():
            p.grad = 0.0

    def architecture(self) -> dict:
        """What the module looks like, as plain data; ``load`` refuses a file that differs."""
        return {"type": type(self).__name__}

    def predict(self, x):
        """The output for input ``x`` as floats (a float, or a list for several outputs), no graph kept."""
        out = self(x)
        return [o.data for o in out] if isinstance(out, (list, tuple)) else out.data

    # --- state: plain numbers, keyed by parameter path ------------------------

    def state_dict(self) -> dict[str, float]:
        """``{path: value}`` for every parameter, e.g. ``{"layers.0.neurons.0.w.0": 0.42, ...}``."""
        return {path: p.data for path, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Copy the numbers in ``state`` into the parameters.

        Everything is checked first (the keys are exactly this module's
        parameter paths, every value a finite real number); on any problem a
        ``ValueError`` names it and no parameter changes.
        """
        if not isinstance(state, dict):
            raise ValueError(f"a state dict must be a dict of parameter values, got {type(state).__name__}")
        params = self.named_parameters()
        expected = [path for path, _ in params]
        missing = [k for k in expected if k not in state]
        known = set(expected)
        extra = [k for k in state if k not in known]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing {len(missing)} key(s): {_some(missing)}")
            if extra:
                problems.append(f"unexpected {len(extra)} key(s): {_some(extra)}")
            raise ValueError(f"state dict does not match this {type(self).__name__}: " + "; ".join(problems))
        values = []
        for path in expected:
            v = state[path]
            # bool is an int in Python, but a True in a weight file is a mistake, not 1.0.
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError(f"state dict key {path!r}: not a number: {type(v).__name__} {v!r:.40}")
            try:
                number = float(v)
            except OverflowError:  # an int of 400 digits is a real number no float can hold
                size = int(int(v).bit_length() * math.log10(2))  # str(v) past 4,300 digits is itself an error
                raise ValueError(f"state dict key {path!r}: expected a finite number, got an integer of about "
                                 f"10^{size}, too large for a float") from None
            if not math.isfinite(number):
                raise ValueError(f"state dict key {path!r}: expected a finite number, got {v!r:.40}")
            values.append(number)
        for (_, p), v in zip(params, values, strict=True):
            p.data = v

    # --- files -------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the architecture and every parameter to ``path`` as JSON, atomically.

        The text goes to a temporary file that is renamed over ``path`` only
        when complete, so an interrupted save leaves the previous file whole.
        Floats are written with ``repr``, which reads back bit for bit.
        """
        state = self.state_dict()
        for key, v in state.items():
            if not math.isfinite(v):
                raise ValueError(f"cannot save: parameter {key!r} is {v!r} (training diverged?)")
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "architecture": self.architecture(),
            "parameters": state,
        }
        return atomic_write(path, json.dumps(document, indent=1) + "\n")

    def load(self, path: str | Path) -> None:
        """Load parameters saved by ``save`` into this module, in place.

        Unreadable or malformed JSON, a different architecture, missing or
        extra keys, or a non-numeric value raise ``ValueError`` naming the
        file and the problem, and leave every parameter unchanged. A missing
        file raises ``FileNotFoundError`` as ``open`` does.
        """
        where = str(path)
        limit = self._file_size_limit()
        with open(path, "rb") as f:
            # Never more than a file of this model could need: /dev/zero or an 8 GB file is refused
            # after reading just past the limit, not read until memory runs out.
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise ValueError(f"{where}: larger than {limit:,} bytes, more than a saved {type(self).__name__} "
                             f"with {len(self.parameters()):,} parameters can be; not a model file of this shape")
        try:
            document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_int=_json_int)
        except RecursionError:
            raise ValueError(f"{where}: not a chainrule model file (JSON nested too deeply to read)") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: not a text file ({e.reason} at byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: not valid JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
        except _NonFiniteInFile as e:
            raise ValueError(f"{where}: {e}") from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise ValueError(f"{where}: not a chainrule model file (no \"format\": \"{FILE_FORMAT}\")")
        if document.get("version") != FILE_VERSION:
            version = document.get("version")
            raise ValueError(f"{where}: file version {version!r}, this chainrule reads {FILE_VERSION}")
        theirs, ours = document.get("architecture"), self.architecture()
        if theirs != ours:
            raise ValueError(
                f"{where}: shape mismatch: the file holds {_describe(theirs)} "
                f"but this model is {_describe(ours)}"
            )
        try:
            self.load_state_dict(document.get("parameters"))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None


    def _file_size_limit(self) -> int:
        """The most bytes ``save`` could write for this model, with room to spare for hand edits.

        A saved parameter is one line: its path (at most a few dozen characters),
        and a float's repr (at most 24); indentation and punctuation add a few more.
        """
        per_parameter = max((len(path) for path, _ in self.named_parameters()), default=0) + 40
        return 4 * (len(json.dumps(self.architecture())) + per_parameter * len(self.parameters())) + 65_536


def _json_int(text: str) -> int | float:
    """A JSON integer: as an int when it is short, else as a float (inf past 1e308, refused later).

    ``int()`` of more than 4,300 digits is a ValueError from Python itself that names no file.
    """
    return int(text) if len(text) <= 40 else float(text)


class _NonFiniteInFile(ValueError):
    """A NaN or Infinity in a model file, which JSON itself would let through."""


def _refuse_constant(name: str):
    # json.loads accepts NaN and Infinity by default; a weight file should never hold them.
    raise _NonFiniteInFile(f"the file holds {name}, not a finite number")


def _some(keys: list[str], shown: int = 5) -> str:
    listed = ", ".join(repr(k) for k in keys[:shown])
    return listed + (f", ... ({len(keys) - shown} more)" if len(keys) > shown else "")


def _describe(arch) -> str:
    if not isinstance(arch, dict):
        return f"an unknown architecture {arch!r:.80}"
    fields = ", ".join(f"{k}={v!r}" for k, v in arch.items() if k != "type")
    return f"{arch.get('type', '?')}({fields})"


# --- building blocks -------------------------------------------------------------


def _check_choice(what: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return value


def _rng(seed):
    """The source of randomness: a seeded ``random.Random``, or the ``random`` module itself.

    With ``seed=None`` the module-level generator is used, so ``random.seed(n)``
    before building a model makes it reproducible, as in micrograd's demo.
    """
    if seed is None or seed is random:  # a Layer passes on what it was given
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")
    return random.Random(int(seed))


def initial_weight(init: str, nin: int, nout: int, rng) -> float:
    """One starting weight for a neuron with ``nin`` inputs in a layer of ``nout`` neurons.

    * ``he``: normal with standard deviation sqrt(2 / nin), so a ReLU layer
      keeps the variance of its signal (ReLU zeroes half of it; the 2 makes up for that);
    * ``xavier``: Glorot's uniform U(-a, a) with a = sqrt(6 / (nin + nout)),
      a variance of 2 / (nin + nout), balancing the forward and backward pass;
    * ``uniform``: U(-1, 1), micrograd's choice.
    """
    if init == "he":
        return rng.gauss(0.0, math.sqrt(2.0 / nin))
    if init == "xavier":
        a = math.sqrt(6.0 / (nin + nout))
        return rng.uniform(-a, a)
    if init == "uniform":
        return rng.uniform(-1.0, 1.0)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


def _checked_inputs(x, nin: int) -> Sequence:
    """``x`` as a sequence of ``nin`` numbers or Values (one alone is fine when ``nin`` is 1)."""
    if isinstance(x, (Value, numbers.Real)) and nin == 1:
        x = [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"expected a list of {nin} inputs, got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(x)}")
    for i, xi in enumerate(x):
        if not isinstance(xi, Value) and (isinstance(xi, bool) or not isinstance(xi, numbers.Real)):
            raise TypeError(f"input {i + 1} must be a number or a Value, got {type(xi).__name__} {xi!r:.40}")
    return x


def as_inputs(x, nin: int) -> list[Value]:
    """``x`` as a list of ``nin`` Values: numbers become new leaves named x1, x2, ...; Values stay.

    Done once per call of a model, so every neuron of the first layer reads
    the same input nodes (no constant node per product).
    """
    return [xi if isinstance(xi, Value) else Value(xi, name=f"x{i + 1}")
            for i, xi in enumerate(_checked_inputs(x, nin))]


def as_floats(x, nin: int) -> list[float]:
    """``x`` as a list of ``nin`` floats (a Value gives its data), for the graph-free ``predict``."""
    return [xi.data if isinstance(xi, Value) else float(xi) for xi in _checked_inputs(x, nin)]


def _with_nonlin(activation: str, nonlin: bool | None) -> str:
    """micrograd's ``nonlin=False`` (a linear unit) and ``nonlin=True`` (a non-linear one) in our words."""
    if nonlin is None:
        return activation
    if nonlin is False:
        return "linear"
    if nonlin is True:
        if activation == "linear":
            raise ValueError("nonlin=True asks for a non-linear unit, but activation is 'linear'")
        return activation
    raise TypeError(f"nonlin must be True or False, got {type(nonlin).__name__}")


class Neuron(Module):
    """One neuron: h = activation(w . x + b).

    ``Neuron(3)`` has weights ``w`` (three Values) and a bias ``b`` (0.0 to
    start). ``name`` prefixes its Values' names; ``fan_out`` is the width of
    its layer, which only Xavier's init reads.
    """

    def __init__(self, nin: int, activation: str = "relu", init: str = "he", seed=None,
                 *, name: str = "L1.N1", fan_out: int = 1, nonlin: bool | None = None):
        self.nin = check_count("nin", nin)
        self.activation = _check_choice("activation", _with_nonlin(activation, nonlin), ACTIVATIONS)
        self.init = _check_choice("init", init, INITS)
        self.name = name
        rng = _rng(seed)
        fan_out = check_count("fan_out", fan_out)
        weights = [initial_weight(init, self.nin, fan_out, rng) for _ in range(self.nin)]
        self.w = [Value(w, name=f"{name}.w{i + 1}") for i, w in enumerate(weights)]
        self.b = Value(0.0, name=f"{name}.b")

    def __call__(self, x) -> Value:
        return self.forward(as_inputs(x, self.nin))

    def forward(self, xs: list[Value]) -> Value:
        """The neuron on inputs already checked by ``as_inputs`` (what a Layer passes)."""
        # One sum node for w1*x1 + ... + wn*xn + b: the picture a student draws.
        z = autograd.sum([wi * xi for wi, xi in zip(self.w, xs, strict=True)] + [self.b])
        z.name = f"{self.name}.z"
        if self.activation == "linear":
            return z
        if self.activation == "relu":
            h = z.relu()
        elif self.activation == "tanh":
            h = z.tanh()
        else:
            h = z.sigmoid()
        h.name = f"{self.name}.h"
        return h

    def predict(self, x) -> float:
        """The neuron's output as a float, computed without building a graph."""
        return self.predict_floats(as_floats(x, self.nin))

    def predict_floats(self, xs: list[float]) -> float:
        # The same float operations, in the same order, as the graph's nodes
        # (products, then one sum with the bias last, then the op table's
        # activation), so predict(x) == model(x).data exactly.
        z = autograd.OPS["sum"].forward(*[w.data * xi for w, xi in zip(self.w, xs, strict=True)], self.b.data)
        return z if self.activation == "linear" else autograd.OPS[self.activation].forward(z)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def architecture(self) -> dict:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({self.name}: {self.nin} inputs, {self.activation})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs.

    Calling it returns a list of ``nout`` Values, or the Value itself when
    ``nout`` is 1 (as micrograd's Layer does).
    """

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: str = "he", seed=None,
                 *, name: str = "L1", nonlin: bool | None = None):
        self.nin = check_count("nin", nin)
        self.nout = check_count("nout", nout)
        self.activation = _check_choice("activation", _with_nonlin(activation, nonlin), ACTIVATIONS)
        self.name = name
        rng = _rng(seed)  # one generator for all neurons, so seed=0 gives different neurons
        self.neurons = [
            Neuron(self.nin, self.activation, init, rng, name=f"{name}.N{j + 1}", fan_out=self.nout)
            for j in range(self.nout)
        ]

    def forward(self, x) -> list[Value]:
        """The outputs as a list, whatever ``nout`` is."""
        return self.forward_values(as_inputs(x, self.nin))

    def forward_values(self, xs: list[Value]) -> list[Value]:
        """``forward`` for inputs that are already checked Values, such as the previous layer's outputs."""
        return [n.forward(xs) for n in self.neurons]

    def __call__(self, x):
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def predict(self, x):
        """The outputs as floats (one float when ``nout`` is 1), without building a graph."""
        out = self.predict_floats(as_floats(x, self.nin))
        return out[0] if len(out) == 1 else out

    def predict_floats(self, xs: list[float]) -> list[float]:
        return [n.predict_floats(xs) for n in self.neurons]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"neurons.{j}.{path}", p)
            for j, neuron in enumerate(self.neurons)
            for path, p in neuron.named_parameters()
        ]

    def architecture(self) -> dict:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation}

    def __repr__(self) -> str:
        return f"Layer({self.name}: {self.nin} -> {self.nout}, {self.activation})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` maps 2 inputs through two
    hidden layers of 16 to one output.

    Hidden layers use ``activation``; the last layer uses ``output_activation``,
    linear by default, so the output is a raw score (a loss turns it into a
    probability where it needs one). micrograd's lecture puts tanh on every
    layer: ``MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh")``.
    Calling the model returns a Value when the last layer has one output,
    else a list.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu", init: str = "he", seed=None,
                 output_activation: str = "linear"):
        self.nin = check_count("nin", nin)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths, got {nouts!r:.60}")
        widths = [check_count(f"layer width nouts[{i}]", n) for i, n in enumerate(nouts)]
        self.activation = _check_choice("activation", activation, ACTIVATIONS)
        self.output_activation = _check_choice("output_activation", output_activation, ACTIVATIONS)
        self.init = _check_choice("init", init, INITS)
        self.sizes = [self.nin, *widths]
        rng = _rng(seed)
        last = len(widths) - 1
        self.layers = [
            Layer(self.sizes[i], widths[i], activation if i < last else output_activation, init, rng, name=f"L{i + 1}")
            for i in range(len(widths))
        ]

    @property
    def nout(self) -> int:
        return self.sizes[-1]

    def forward(self, x) -> list[Value]:
        """The last layer's outputs as a list (a hidden layer of width 1 included)."""
        values = as_inputs(x, self.nin)  # checked, and leaves made, once: shared by the first layer's neurons
        for layer in self.layers:
            values = layer.forward_values(values)
        return values

    def __call__(self, x):
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def predict(self, x):
        """The model's output as floats, without building a graph: fast enough to colour a plot's
        every pixel. Equal, bit for bit, to ``model(x)``'s data."""
        values = as_floats(x, self.nin)
        for layer in self.layers:
            values = layer.predict_floats(values)
        return values[0] if len(values) == 1 else values

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"layers.{i}.{path}", p)
            for i, layer in enumerate(self.layers)
            for path, p in layer.named_parameters()
        ]

    def architecture(self) -> dict:
        activations = [layer.activation for layer in self.layers]
        return {"type": "MLP", "sizes": list(self.sizes), "activations": activations}

    def __repr__(self) -> str:
        output = f", output_activation={self.output_activation!r}" if self.output_activation != "linear" else ""
        return f"MLP({self.nin}, {self.sizes[1:]}, activation={self.activation!r}, init={self.init!r}{output})"
