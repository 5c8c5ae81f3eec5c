"""What the stepper page needs to recompute itself: the op table's formula strings and each node's row.

The page's what-if (change an input, see every number move) does not look
numbers up: it computes them again in the browser, with the same op table the
Python engine uses. Each row of ``autograd.OPS`` states its forward as a
formula string (``"a*b"``, ``"sigmoid(a)"``) and its local derivatives as
formula strings over ``a``, ``b``, ``out`` and the row's params (``"b"``,
``"out*(1 - out)"``). This module writes those strings into the page's data;
``viz/assets/whatif.js`` compiles them into JavaScript closures (never
``eval``) and runs them.

So a row registered at run time (``register(Op("cube", ..., formula="a^3",
derivatives=("3*a^2",)))``) is live in the page with no JavaScript written. A
row whose formula cannot be said in the formula language (nn's fused
``cross_entropy`` picks one input by a number) has no strings, and the page
says what-if is unavailable for a graph that holds it.
"""

from __future__ import annotations

from chainrule.autograd import OPS, Value, topological_order
from chainrule.autograd.names import display_names
from chainrule.autograd.ops import node_params, row_of

from .pages import json_number
from .tables import INFIX, math_formula

#: How an operand's value is marked in a node's ``template`` (see ``numbers_template``).
SLOT = "__v{}__"


def op_rows() -> dict[str, dict]:
    """Every row of the op table as the page reads it: key -> symbol, arity, name, params and formula strings."""
    return {
        key: {
            "symbol": op.symbol,
            "arity": op.arity,
            "name": op.name,
            "params": list(op.params),
            "defaults": [json_number(d) for d in op.defaults],
            "formula": op.formula,
            "derivatives": list(op.derivatives) if op.derivatives is not None else None,
        }
        for key, op in OPS.items()
    }


def numbers_template(node: Value) -> str:
    """``node``'s formula in maths notation with each operand a slot: ``__v0__ × __v1__``, ``σ(__v0__)``.

    The page writes each operand's value into its slot (``0.8 × 1.5``), as
    ``viz.tables.math_formula(node, values=True)`` does in Python, so the
    "= 0.8 × 1.5 =" of a forward step follows a what-if change.
    """
    if node.is_leaf:
        return ""
    slots = {parent: SLOT.format(k) for k, parent in enumerate(node.parents)}  # x*x: one slot, one value
    return math_formula(node, slots)


def bare_operands(node: Value) -> bool:
    """True when the operands sit inside a call's brackets, so a negative value needs none of its own."""
    return node.op not in INFIX and node.op not in ("neg", "sum")


def node_fields(node: Value) -> dict:
    """The what-if fields of one node: its row's key, the numbers its op carries, its numbers template."""
    row = row_of(node)
    return {
        "key": row.key if row is not None else "",
        "params": [json_number(float(p)) for p in node_params(node)],
        "template": numbers_template(node),
        "bare": bare_operands(node),
    }


def whatif_data(root: Value) -> dict:
    """A graph as the page's evaluator reads it, on its own: the rows and, per node in topological order,
    its display name, op, row key, params, parents (by index) and value. For tests and benchmarks that run
    ``chainruleWhatIf`` on many graphs in one page."""
    order = topological_order(root)
    names = display_names(order)
    index = {node: i for i, node in enumerate(order)}
    nodes = [
        {"name": names[node], "op": node.op, "parents": [index[p] for p in node.parents],
         "data": json_number(node.data)} | node_fields(node)
        for node in order
    ]
    return {"ops": op_rows(), "nodes": nodes}


