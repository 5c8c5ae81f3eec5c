"""chainrule's engine: scalar reverse-mode automatic differentiation.

Read in this order:

* ``ops``       the op table: each op's forward, local derivatives and rule text
* ``value``     ``Value``, a number that remembers how it was made
* ``graph``     topological order, ``backward``, its step-through, and paths
* ``gradcheck`` central differences as a referee for backprop
* ``expr``      the formula language
* ``compile``   replaying a fixed graph with numpy, for speed
* ``forward``   forward mode: tangents pushed from the inputs (``jvp``)
* ``higher``    gradients as graphs: ``grad``, ``hessian``, ``hvp``
"""

# compile is the function; its module imports numpy only when compile() runs.
from .compile import CompileError, Tape, compile
from .expr import Expression, ExpressionError, parse
from .forward import jvp
from .functions import cos, exp, log, relu, sigmoid, sin, sqrt, sum, tanh
from .gradcheck import GradcheckReport, GradcheckRow, gradcheck, numerical_grad
from .graph import (
    Edge,
    ForwardStep,
    Path,
    Step,
    TooManyPaths,
    backward_steps,
    count_paths,
    forward_steps,
    paths,
    topological_order,
)
from .higher import grad, hessian, hvp
from .ops import OPS, Op, power_exponent, register, rule_text
from .value import Value, apply

__all__ = [
    "CompileError", "Edge", "Expression", "ExpressionError", "ForwardStep", "GradcheckReport", "GradcheckRow",
    "OPS", "Op", "Path", "Step", "Tape", "TooManyPaths", "Value", "apply", "backward_steps", "compile", "cos",
    "count_paths", "exp", "forward_steps", "grad", "gradcheck", "hessian", "hvp", "jvp", "log", "numerical_grad",
    "parse", "paths", "power_exponent", "register", "relu", "rule_text", "sigmoid", "sin", "sqrt", "sum", "tanh",
    "topological_order",
]
