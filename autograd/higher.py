"""Gradients that are graphs: ``grad``, the second derivative, the Hessian.

``backward()`` leaves each gradient as a number on ``.grad``. That number has
no history, so nothing can differentiate it again. ``grad(output, inputs,
create_graph=True)`` runs the same reverse sweep with the gradients built as
Values: each step multiplies the upstream gradient by the node's local
derivative *as a node*, and sums where paths meet with a node. The result is
an ordinary graph of the engine's own ops, so it can be drawn, stepped
through, and differentiated again:

    x = 0.5
    y = tanh(x)
    dy/dx   = 1 - y^2                  (a graph: -, **2, reading the tanh node)
    d2y/dx2 = -2 y (1 - y^2)           (grad of that graph)

Where do the local derivatives as nodes come from? From the op table, as
everything does: each row states its derivatives once as formula strings over
``a``, ``b`` (the inputs) and ``out`` (the node's value), e.g. tanh's
``1 - out^2``. ``local_derivative_node`` evaluates those strings with the
names bound to the graph's own Values, building nodes only through the Value
operators and the engine's functions. The strings are trusted text from the
op table; they are read with Python's ``ast`` module and walked here, never
``eval``-ed.

With ``create_graph=False`` (the default), ``grad`` gives plain leaves holding
the numbers, found by ``adjoints``: one reverse sweep that keeps the gradients
in a dict, so no node's ``.grad`` is touched (PyTorch's
``torch.autograd.grad`` contract).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Sequence

from .graph import topological_order
from .ops import formula_functions, node_params, row_of
from .value import Value, call
from .value import sum as sum_node


def adjoints(root: Value) -> dict[Value, float]:
    """d root / d node for every node below ``root``, by one reverse sweep that writes no ``.grad``.

    The backward pass of ``autograd.graph``, with the gradients kept in a
    dict instead of on the nodes: the same order, the same local
    derivatives, the same products and sums.
    """
    grads: dict[Value, float] = {root: 1.0}
    for node in reversed(topological_order(root)):
        if node.is_leaf:
            continue
        upstream = grads.get(node, 0.0)
        for parent, local in zip(node.parents, node.local_grads(), strict=True):
            grads[parent] = grads.get(parent, 0.0) + upstream * local
    return grads


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Value]:
    """d output / d input for each of ``inputs``, touching no ``.grad``.

    ``inputs`` may be leaves or interior nodes; one that ``output`` does not
    depend on gets 0 (as ``torch.autograd.grad(..., materialize_grads=True)``).

    * ``create_graph=False``: plain leaves holding the numbers.
    * ``create_graph=True``: Values in a graph of the engine's own ops, built on
      top of ``output``'s graph, so ``grad`` can be called on them again.

    >>> x = Value(3.0)
    >>> (dy,) = grad(x ** 3, [x], create_graph=True)   # 3 x^2 = 27, as a graph
    >>> dy.data, grad(dy, [x])[0].data                  # and its derivative, 6 x = 18
    (27.0, 18.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: the output must be a Value, got {type(output).__name__}")
    inputs = list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: the inputs must be Values, got {type(x).__name__}")
    if not create_graph:
        grads = adjoints(output)
        return [Value(grads.get(x, 0.0)) for x in inputs]
    grads = _adjoint_nodes(output, inputs)
    return [grads[x] if x in grads else Value(0.0) for x in inputs]


def _adjoint_nodes(output: Value, inputs: list[Value]) -> dict[Value, Value]:
    """The reverse sweep with every gradient a Value: d output / d node as a graph.

    Only nodes on a path from ``output`` down to an input get a gradient (the
    rest would be nodes nobody reads). A node's incoming contributions are
    gathered first and summed once, with one ``sum`` node where several
    paths meet, so the picture shows the multi-path chain rule as one node.
    """
    order = topological_order(output)
    wanted = set(inputs)
    reaches: set[Value] = set()
    for node in order:  # parents first, so their answer is ready
        if node in wanted or any(p in reaches for p in node.parents):
            reaches.add(node)
    pending: dict[Value, list] = {output: [1.0]}  # node -> its gradient's terms, Values or numbers; d out/d out = 1
    grads: dict[Value, Value] = {}
    for node in reversed(order):
        terms = pending.pop(node, None)
        if terms is None or node not in reaches:
            continue
        upstream = _total(terms)
        if node in wanted:
            grads[node] = upstream if isinstance(upstream, Value) else Value(upstream)
        if node.is_leaf:
            continue
        for i, parent in enumerate(node.parents):
            if parent not in reaches:
                continue  # its derivative would be a node nobody reads (and may lie outside its domain)
            term = _times(upstream, local_derivative_node(node, i))
            if term is not None:
                pending.setdefault(parent, []).append(term)
    return grads


def _total(terms: list):
    """The sum of a node's incoming terms: the term itself when there is one, else one ``sum`` node."""
    values = [t for t in terms if isinstance(t, Value)]
    number = math.fsum(t for t in terms if not isinstance(t, Value))
    if not values:
        return number
    if number != 0.0:
        values.append(Value(number))
    return values[0] if len(values) == 1 else sum_node(values)


def _times(upstream, local):
    """upstream * local, without the nodes a person would not write.

    A factor 1 is left out, a factor -1 is a negation, and a 0 drops the term.
    """
    if not isinstance(local, Value):
        if local == 0.0:
            return None
        if local == 1.0:
            return upstream
        if local == -1.0 and isinstance(upstream, Value):
            return -upstream
    if not isinstance(upstream, Value):
        if upstream == 1.0:
            return local
        if upstream == -1.0 and isinstance(local, Value):
            return -local
    return upstream * local


# --- local derivatives as nodes, from the op table's formula strings --------------------------


def local_derivative_node(node: Value, i: int) -> Value | float:
    """d node / d parent_i as a Value built from the graph's own nodes (or a number, for a constant).

    Evaluates the op row's ``derivatives`` string for input ``i`` with ``a``,
    ``b`` bound to the node's parents, ``out`` to the node itself, and the
    row's params (the ``k`` of ``a ** k``, leaky_relu's ``slope``) to the
    node's numbers. For an n-ary op (``sum``) the one formula serves every
    term, read with ``a`` bound to that term.
    """
    op = row_of(node)
    if op is None or not op.derivatives:
        raise ValueError(f"op {node.op!r} states no derivative formulas in its row, so grad(..., "
                         "create_graph=True) cannot build its local derivatives as nodes")
    parents = node.parents
    names: dict = dict(zip(op.params, node_params(node), strict=True))
    names["out"] = node
    if op.arity == -1:
        names["a"] = parents[i]
        return evaluate(op.derivatives[0], names)
    names["a"] = parents[0]
    if len(parents) == 2:
        names["b"] = parents[1]
    return evaluate(op.derivatives[i], names)


@functools.lru_cache(maxsize=512)
def _tree(formula: str) -> ast.AST:
    """The parsed expression of one trusted formula string (parsed once, then reused).

    The formula language writes powers as ``a^b``; Python's ``^`` is xor, which
    binds looser than ``-`` (``1 - out^2`` would read as ``(1 - out) xor 2``).
    The strings are the op table's own, where ``^`` only ever means power, so
    it is spelled ``**`` before Python reads it.
    """
    return ast.parse(formula.replace("^", "**"), mode="eval").body


def evaluate(formula: str, names: dict) -> Value | float:
    """The value of ``formula`` with ``names`` bound to Values or numbers, built from Value operators.

    Numbers combine to numbers (``b - 1`` with ``b = 3`` is ``2``), so a
    constant exponent stays a number and ``a ** 2`` is the one-parent power
    node a person would draw.
    """
    return _walk(_tree(formula), names, formula)


_CONSTANTS = {"pi": math.pi, "e": math.e}


def _walk(node: ast.AST, names: dict, formula: str):
    # Recursive over the tree of one short formula string from the op table (a dozen nodes),
    # never over a computational graph.
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"the derivative formula {formula!r} names {node.id!r}, which is not bound")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _walk(node.operand, names, formula)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a = _walk(node.left, names, formula)
        if isinstance(node.op, ast.Mult) and _is_zero(a):
            # A constant factor 0 ends the product: ``k*a^(k-1)`` with k = 0 is 0 (a ** 0 is a
            # constant, as the float rule says), even at a = 0 where a^(k-1) has no value.
            return 0.0
        b = _walk(node.right, names, formula)
        if isinstance(node.op, ast.Mult) and _is_zero(b):
            return 0.0
        if isinstance(node.op, ast.Mult) and _is_number(a, 1.0):
            return b  # 1*b is b: no node a person would not write
        if isinstance(node.op, (ast.Mult, ast.Div)) and _is_number(b, 1.0):
            return a
        return _BINARY[type(node.op)](a, b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _function(node.func.id, formula)
        args = [_walk(arg, names, formula) for arg in node.args]
        if all(not isinstance(x, Value) for x in args):
            return function(*args).data  # a function of numbers only: a number
        return function(*args)
    raise ValueError(f"the derivative formula {formula!r} uses {ast.dump(node)[:40]}, outside the formula language")


def _is_zero(x) -> bool:
    return not isinstance(x, Value) and x == 0.0


def _is_number(x, number: float) -> bool:
    return not isinstance(x, Value) and x == number


def _power(a, b):
    if _is_number(b, 1.0):
        return a  # a^1 is a (k*a^(k-1) with k = 2 is 2*a)
    if isinstance(a, Value) or isinstance(b, Value):
        return a**b
    return math.pow(a, b)


_BINARY: dict[type, Callable] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: _power,
}


def _function(name: str, formula: str) -> Callable:
    """The function a derivative formula calls, as the formula language knows it (a row of the op table)."""
    op = formula_functions().get(name)
    if op is None:
        raise ValueError(f"the derivative formula {formula!r} calls {name!r}, which the formula language "
                         "does not know")
    return functools.partial(call, op)


# --- Hessians and Hessian-vector products --------------------------------------------------------


def hessian(fn: Callable[..., Value], inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives d2 fn / dx_i dx_j at ``inputs``, as a list of rows.

    ``fn(*values)`` builds the graph from one Value per input. The gradient is
    built as a graph once (``grad(..., create_graph=True)``), then each of its
    entries is differentiated again: row i is the gradient of d fn/dx_i.

    >>> hessian(lambda x, y: x * x * y, [3.0, 2.0])   # [[2y, 2x], [2x, 0]]
    [[4.0, 6.0], [6.0, 0.0]]
    """
    leaves = [Value(x) for x in inputs]
    first = grad(_output(fn, leaves), leaves, create_graph=True)
    return [[g.data for g in grad(d, leaves)] for d in first]


def hvp(fn: Callable[..., Value], inputs: Sequence[float], vector: Sequence[float]) -> list[float]:
    """The Hessian-vector product H v at ``inputs``, without forming H.

    H v is the gradient of (grad fn) . v, a scalar: reverse mode twice, one
    sweep each, whatever the number of inputs. (Forming H takes one sweep per row.)
    """
    inputs, vector = list(inputs), list(vector)
    if len(inputs) != len(vector):
        raise ValueError(f"hvp needs one vector entry per input: got {len(inputs)} inputs and {len(vector)} entries")
    leaves = [Value(x) for x in inputs]
    first = grad(_output(fn, leaves), leaves, create_graph=True)
    dot = sum_node([g * float(v) for g, v in zip(first, vector, strict=True)])
    return [g.data for g in grad(dot, leaves)]


def _output(fn: Callable[..., Value], leaves: list[Value]) -> Value:
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"the function must return a Value, got {type(out).__name__}")
    return out
