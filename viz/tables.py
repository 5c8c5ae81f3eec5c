"""Plain-text tables for the terminal: forward values and the backward steps."""

from __future__ import annotations

from chainrule.autograd import Value, backward_steps, power_exponent, topological_order


def num(x: float) -> str:
    """A number as a table shows it: 4 significant digits, like the graphs."""
    return f"{x:.4g}"


def label(node: Value) -> str:
    """How a node is called in tables: its name, else its op, else its value."""
    if node.name:
        return node.name
    if node.op:
        return f"({node.op})"
    return num(node.data)


INFIX = {"+", "-", "*", "/", "**"}


def formula(node: Value) -> str:
    """How a node was computed from its parents, e.g. ``w * x`` or ``sigmoid(z)``."""
    if not node.op:
        return "input"
    names = [label(p) for p in node.parents]
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


def forward_table(root: Value) -> str:
    """Every node in the order the forward pass computes it."""
    rows = []
    for node in topological_order(root):
        rows.append((label(node), formula(node), num(node.data)))
    return table(("node", "computed as", "value"), rows)


def step_table(root: Value) -> str:
    """Run the backward pass step by step and show each edge it sends gradient along.

    Like the stepper page and the frames, the table shows one fresh pass: every
    grad below ``root`` is zeroed first, so an input's "before" column never
    carries gradient left over from an earlier ``backward()``.
    """
    root.zero_grad()
    rows = []
    for step in backward_steps(root):
        for i, edge in enumerate(step.edges):
            first = i == 0
            rows.append((
                str(step.index + 1) if first else "",
                label(step.node) if first else "",
                num(step.upstream) if first else "",
                label(edge.parent),
                num(edge.local),
                num(edge.contribution),
                f"{num(edge.before)} -> {num(edge.after)}",
            ))
    header = ("step", "node", "upstream", "parent", "local", "upstream*local", "parent grad")
    return table(header, rows)
