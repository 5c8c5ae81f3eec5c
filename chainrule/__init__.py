"""chainrule: a scalar reverse-mode autodiff engine for teaching backpropagation.

One import name, three parts, with dependencies pointing one way
(``viz -> nn -> autograd``):

* ``chainrule.autograd``  the engine: ``Value``, the op table, backward and its step-through
* ``chainrule.nn``        neurons, layers, MLPs, losses, optimizers, data sets, ``fit``
* ``chainrule.viz``       graphs as SVG, step frames, the stepper page, plots, the command

The everyday names are here at the top: ``from chainrule import Value, MLP, draw``.
The engine and nn load at once and need only the standard library; the pictures
(``draw``, ``stepper_html``, ...) load Graphviz's bindings the first time one is used.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from .autograd import (
    Value,
    backward_steps,
    forward_steps,
    grad,
    gradcheck,
    hessian,
    hvp,
    jvp,
    numerical_grad,
    parse,
    paths,
    topological_order,
)
from .nn import MLP, SGD, Adam, Layer, Module, Neuron, fit

try:
    __version__ = version("chainrule")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# Names that live in chainrule.viz: imported on first use, so `import chainrule` stays light.
_VIZ_NAMES = ("draw", "render", "save_frames", "step_frames", "stepper_html", "to_dot", "training_html")


def __getattr__(name: str):
    if name in _VIZ_NAMES:
        return getattr(import_module("chainrule.viz"), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "MLP", "SGD", "Adam", "Layer", "Module", "Neuron", "Value", "__version__", "backward_steps", "fit",
    "forward_steps", "grad", "gradcheck", "hessian", "hvp", "jvp", "numerical_grad",
    "parse", "paths", "topological_order", *_VIZ_NAMES,
]
