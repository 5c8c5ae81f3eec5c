"""Plain-text tables for the terminal: forward values and the backward steps."""

from __future__ import annotations

from chainrule.autograd import Value, backward_steps, power_exponent, topological_order
from chainrule.autograd.forward import forward_sweep
from chainrule.autograd.names import display_names, operand, operand_rules


def num(x: float) -> str:
    """A number as a table shows it: 4 significant digits, like the graphs."""
    return f"{x:.4g}"


def label(node: Value, names: dict[Value, str] | None = None) -> str:
    """How a node is called in tables: its display name from ``names`` (``autograd.names``).

    Without ``names``: its own name, else its op, else its value (a lone node
    has no graph to number it in).
    """
    if names is not None:
        return names[node]
    if node.name:
        return node.name
    if node.op:
        return f"({node.op})"
    return num(node.data)


INFIX = {"+", "-", "*", "/", "**"}


def formula(node: Value, names: dict[Value, str] | None = None) -> str:
    """How a node was computed from its parents, e.g. ``w * x`` or ``sigmoid(z)``."""
    if not node.op:
        return "input"
    if names is None:
        names = display_names(topological_order(node))
    names = [operand(names[p]) for p in node.parents]
    k = power_exponent(node)
    if k is not None:
        return f"{names[0]} ** {k:g}"
    if node.op == "neg":
        return f"-{names[0]}"
    if node.op in INFIX:
        return f" {node.op} ".join(names)
    return f"{node.op}({', '.join(names)})"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns with a rule under the header."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = [header, tuple("-" * w for w in widths), *rows]
    rendered = ("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
    return "\n".join(rendered)


def forward_table(root: Value, seed: Value | None = None) -> str:
    """Every node in the order the forward pass computes it; with ``seed`` (an input), each node's
    forward-mode tangent d(node)/d(seed) beside its value (``autograd.forward``)."""
    order = topological_order(root)
    names = display_names(order)
    tangents = forward_sweep(root, {seed: 1.0}) if seed is not None else {}
    rows = []
    for node in order:
        row = (names[node], formula(node, names), num(node.data))
        rows.append(row + (num(tangents[node]),) if seed is not None else row)
    if seed is None:
        return table(("node", "computed as", "value"), rows)
    return table(("node", "computed as", "value", f"tangent d/d{operand(names[seed])}"), rows)


def step_table(root: Value) -> str:
    """Run the backward pass step by step and show each edge it sends gradient along.

    Like the stepper page and the frames, the table shows one fresh pass: every
    grad below ``root`` is zeroed first, so an input's "before" column never
    carries gradient left over from an earlier ``backward()``.
    """
    root.zero_grad()
    names = display_names(topological_order(root))
    rows = []
    for step in backward_steps(root):
        rules = operand_rules(step.node, names)
        for i, edge in enumerate(step.edges):
            first = i == 0
            rows.append((
                str(step.index + 1) if first else "",
                names[step.node] if first else "",
                num(step.upstream) if first else "",
                names[edge.parent],
                rules[i] if i < len(rules) else "",
                num(edge.local),
                num(edge.contribution),
                f"{num(edge.before)} -> {num(edge.after)}",
            ))
    header = ("step", "node", "upstream", "parent", "local rule", "local", "upstream*local", "parent grad")
    return table(header, rows)


# --- the same, in the notation a blackboard uses: ×, −, x², σ(z), ∂ ------------------------------

#: How a page writes a function's name: sigmoid is σ on the board.
MATH_NAMES = {"sigmoid": "σ"}
#: Operators as printed maths writes them.
MATH_INFIX = {"+": " + ", "-": " − ", "*": " × ", "/": " / "}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def superscript(k: float) -> str:
    """An exponent as it is printed: ``²`` for 2, ``⁻¹`` for -1; ``^0.5`` where no superscript exists."""
    if k == int(k) and abs(k) < 1000:
        return str(int(k)).translate(_SUPERSCRIPT)
    return f"^{k:g}"


def math_formula(node: Value, names: dict[Value, str], values: bool = False) -> str:
    """How ``node`` was computed, in maths notation: ``w × x``, ``σ(z)``, ``sub1²``.

    With ``values=True`` each operand is its value instead (``0.8 × 1.5``),
    negative numbers in brackets so ``0.8 × (−1.5)`` cannot be misread.
    """
    if not node.op:
        return num(node.data) if values else "input"
    if values:
        bare = node.op not in INFIX and node.op not in ("neg", "sum")  # inside a call's brackets already
        parts = [num(p.data).replace("-", "−") for p in node.parents]
        parts = [part if bare or not part.startswith("−") else f"({part})" for part in parts]
    else:
        parts = [operand(names[p]) for p in node.parents]
    k = power_exponent(node)
    if k is not None:
        return parts[0] + superscript(k)
    if node.op == "neg":
        return "−" + parts[0]
    if node.op == "**":
        return f"{parts[0]}^{parts[1]}"
    if node.op in MATH_INFIX:
        return MATH_INFIX[node.op].join(parts)
    if node.op == "sum":
        return " + ".join(parts)
    return f"{MATH_NAMES.get(node.op, node.op)}({', '.join(parts)})"


def math_rule(text: str) -> str:
    """A rule text (``d(w*x)/dw = x``) as printed maths: ``∂(w×x)/∂w = x``, ``σ`` for sigmoid, ``^`` kept."""
    if "; " in text:  # a Step.rule: one rule per input
        return "; ".join(math_rule(part) for part in text.split("; "))
    text = text.replace("**", "^").replace("*", "×")
    text = text.replace("sigmoid", "σ")
    if text.startswith("d"):
        text = "∂" + text[1:]
    return text.replace("/d", "/∂", 1)
