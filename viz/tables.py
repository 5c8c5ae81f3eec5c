"""Plain-text tables for the terminal: forward values, the backward steps and the chain-rule paths."""

from __future__ import annotations

import math

from chainrule.autograd import Value, backward_steps, count_paths, power_exponent, topological_order
from chainrule.autograd.forward import forward_sweep
from chainrule.autograd.graph import count_text, iter_paths
from chainrule.autograd.names import display_names, operand, operand_rules

from .drawing import changed_params, num  # the one number format of every picture and table: 4 digits, -0.0 shown as 0


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
    numbers = [f"{value:g}" for _, value in changed_params(node)]  # leaky_relu(x, 0.1), as it was written
    return f"{node.op}({', '.join(names + numbers)})"


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


#: The most text ``paths`` lists before it only counts: a 1 KB formula can have 10,000 paths of a thousand
#: nodes each (28 MB of table), and a few doublings more would exhaust memory.
MAX_PATHS_TEXT = 1_000_000  # characters


def paths_table(root: Value, wrt: Value, limit: int = 10_000,
                max_text: int = MAX_PATHS_TEXT) -> str:
    """The paths from ``root`` down to ``wrt``, their edge locals and products, then the sums.

    At most ``limit`` paths and about ``max_text`` characters are listed, found one at a time so the
    rest are never built; the count and the sum of the rest (backprop's total less the listed sum)
    close the table.
    """
    root.zero_grad()  # leaves accumulate: start from zero so wrt.grad is this one pass
    root.backward()
    count = count_paths(root, wrt)
    names = display_names(topological_order(root))  # mul1, add2 ...: as the step table says
    rows, products, size = [], [], 0
    for path in iter_paths(root, wrt):
        if len(rows) == limit or size > max_text:
            break
        route = " -> ".join(names[node] for node in path.nodes)
        factors = " * ".join(num(d) for d in path.locals) or "(no edges)"
        rows.append((str(len(rows) + 1), route, factors, num(path.product)))
        products.append(path.product)
        size += len(route) + len(factors) + 30
    listed = math.fsum(products)
    d = f"d{label(root)}/d{label(wrt)}"
    lines = [table(("path", "route", "local derivatives", "product"), rows)] if rows else []
    if len(rows) == count:
        paths_word = "1 path" if count == 1 else f"{count} paths"
        lines.append(f"sum over {paths_word}: {num(listed)}")
    else:
        why = f"--limit {limit:,}" if len(rows) == limit else f"the first {max_text:,} characters"
        lines.append(f"{count_text(count)} paths lead from {label(root)} to {label(wrt)}; listed {len(rows):,} "
                     f"({why}), whose products sum to {num(listed)}")
        rest = count - len(rows)
        others = "the other path sums" if rest == 1 else f"the other {count_text(rest)} paths sum"
        lines.append(f"{others} to {num(wrt.grad - listed)} (backprop's {d} less the listed sum)")
    lines.append(f"backprop's {d}:  {num(wrt.grad)}")
    return "\n".join(lines)


def norms_table(columns: dict[str, list[float]], extra: list[tuple[str, ...]] | None = None) -> str:
    """Per-layer gradient norms side by side, one column per network, input side first.

    ``columns`` maps a column's title to its norms (``nn.grad_norms``); ``extra``
    rows (already formatted) go under the layers, such as a ratio.
    """
    layers = len(next(iter(columns.values())))
    rows = []
    for i in range(layers):
        where = " (input side)" if i == 0 else " (output)" if i == layers - 1 else ""
        rows.append((f"{i + 1}{where}", *(num(norms[i]) for norms in columns.values())))
    return table(("layer", *columns), rows + list(extra or ()))


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
    numbers = [num(value).replace("-", "−") for _, value in changed_params(node)]
    return f"{MATH_NAMES.get(node.op, node.op)}({', '.join(parts + numbers)})"


def math_rule(text: str) -> str:
    """A rule text (``d(w*x)/dw = x``) as printed maths: ``∂(w×x)/∂w = x``, ``σ`` for sigmoid, ``^`` kept."""
    if "; " in text:  # a Step.rule: one rule per input
        return "; ".join(math_rule(part) for part in text.split("; "))
    text = text.replace("**", "^").replace("*", "×")
    text = text.replace("sigmoid", "σ")
    if text.startswith("d"):
        text = "∂" + text[1:]
    return text.replace("/d", "/∂", 1)
