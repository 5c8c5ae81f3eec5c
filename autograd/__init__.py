"""chainrule's engine: scalar reverse-mode automatic differentiation.

Read in this order:

* ``ops``       the op table: each op's forward, local derivatives and rule text
* ``value``     ``Value``, a number that remembers how it was made
* ``graph``     topological order, ``backward``, its step-through, and paths
* ``gradcheck`` central differences as a referee for backprop
* ``expr``      the formula language
* ``compile``   replaying a fixed graph with numpy, for speed (each row's ``replay``)
* ``forward``   forward mode: tangents pushed from the inputs (``jvp``)
* ``higher``    gradients as graphs: ``grad``, ``hessian``, ``hvp``
"""

# compile is the function; its module imports numpy only when compile() runs.
from .compile import CompileError, Tape, compile
from .expr import Expression, ExpressionError, parse
from .forward import jvp
from .functions import (  # noqa: A004 - autograd.abs, .max, .min are the formula language's, one node each
    abs as abs,
)
from .functions import (
    cos,
    exp,
    leaky_relu,
    log,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    sum,
    tanh,
)
from .functions import (
    max as max,
)
from .functions import (
    min as min,
)
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
from .ops import (
    OPS,
    Bound,
    Op,
    Replay,
    Segments,
    formula_functions,
    node_params,
    power_exponent,
    register,
    row_of,
    rule_text,
)
from .value import Value, apply, call

# abs, max and min are left out of __all__: a star import must not hide Python's own.
__all__ = [
    "Bound", "CompileError", "Edge", "Expression", "ExpressionError", "ForwardStep", "GradcheckReport",
    "GradcheckRow", "OPS", "Op", "Path", "Replay", "Segments", "Step", "Tape", "TooManyPaths", "Value", "apply",
    "backward_steps", "call", "compile", "cos", "count_paths", "exp", "formula_functions", "forward_steps",
    "grad", "gradcheck", "hessian", "hvp", "jvp", "leaky_relu", "log", "node_params", "numerical_grad", "parse",
    "paths", "power_exponent",
    "register", "relu", "row_of", "rule_text", "sigmoid", "sign", "sin", "softplus", "sqrt", "sum", "tanh",
    "topological_order",
]
