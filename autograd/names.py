"""Display names: what a graph, a table or a page calls each node.

A student who sees two boxes both labelled ``(*)`` cannot tell which one a
sentence is about, and a rule written ``d(a*b)/da = b`` clashes with a user's
own ``a`` and ``b``. So every node gets a short display name that is

* the user's own ``name`` when the node has one (kept exactly, never changed),
* otherwise the op's word and a counter, in topological order: ``mul1``,
  ``mul2``, ``add1``, ``relu1``; an input without a name is ``const1``, ...

A counter skips any number whose name a user already took, so an automatic
name never equals a user's name, and a graph built the same way gets the same
names on every run. ``Value.name`` itself is never touched: display names
live in a dict the caller keeps.

``operand_rules`` then writes a node's local-derivative rules with these
names in place of the op table's letters: the table says
``d(a*b)/da = b``; for ``mul1 = w2 * h1`` this gives ``d(w2*h1)/dw2 = h1``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .ops import OPS, node_params, row_of
from .value import Value

#: The word an automatic name starts with, per op symbol. Ops whose symbol is
#: already a word (exp, tanh, relu, softplus ...) use the symbol itself.
OP_WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "": "const"}

_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def op_word(node: Value) -> str:
    """The word a node's automatic name starts with: ``mul`` for ``*``, ``relu`` for relu, ``const`` for an input."""
    word = OP_WORDS.get(node.op, node.op)
    return word if _WORD.match(word) else "op"


def display_names(order: Sequence[Value]) -> dict[Value, str]:
    """A unique display name for every node of ``order`` (a graph's topological order).

    User names are kept exactly (two nodes a user named alike stay alike: the
    name is theirs); unnamed nodes get ``op word + counter``, never equal to
    any user's name or to each other.
    """
    taken = {node.name for node in order if node.name}
    names: dict[Value, str] = {}
    used: set[str] = set()
    counters: dict[str, int] = {}
    for node in order:
        if node in names:
            continue
        if node.name:
            name = node.name  # the user's, exactly as given
        else:
            word = op_word(node)
            count = counters.get(word, 0)
            while True:
                count += 1
                name = f"{word}{count}"
                if name not in taken and name not in used:
                    break
            counters[word] = count
        names[node] = name
        used.add(name)
    return names


def operand(name: str) -> str:
    """A name as it reads inside a formula: bare when it is a word, else in brackets (``(my x)``)."""
    return name if _WORD.match(name) else f"({name})"


# In the op table's texts the inputs are the letters a and b, or a1 ... an and ai
# for n-ary ops. They are found only as whole words (the ``a`` of ``da`` counts:
# "d" then the letter is how a derivative's variable is written).
_LETTER = re.compile(r"(?<![A-Za-z0-9_])(?:d(?=(?:a|b|ai|an|a1)(?![A-Za-z0-9_])))?(ai|an|a1|a|b)(?![A-Za-z0-9_])")


def operand_rules(node: Value, names: dict[Value, str]) -> tuple[str, ...]:
    """The node's local rule, one text per parent, with the parents' display names for the letters.

    ``mul1 = w2 * h1`` gives ``("d(w2*h1)/dw2 = h1", "d(w2*h1)/dh1 = w2")``. An
    n-ary op (``sum``) writes its terms out: ``d(x+y+z)/dy = 1``. A leaf has no rule.
    """
    if node.is_leaf:
        return ()
    parents = [operand(names[p]) for p in node.parents]
    row, params = row_of(node), node_params(node)
    if params and row is not None and row.explain is not None:  # the numbers filled in: a ** 2, leaky_relu's slope
        texts: tuple[str, ...] = row.explain(params)
    else:
        texts = OPS[node.op].text
    if OPS.get(node.op) is not None and OPS[node.op].arity == -1:
        return tuple(_fill_nary(texts[0], parents, k) for k in range(len(parents)))
    return tuple(_fill(text, parents) for text in texts[: len(parents)])


def operand_rule(node: Value, names: dict[Value, str]) -> str:
    """``operand_rules`` joined with ``"; "``, the form ``Step.rule`` holds; a text repeated
    (``x*x`` twice reads ``d(x*x)/dx = x``) is written once."""
    return "; ".join(dict.fromkeys(operand_rules(node, names)))


def _fill(text: str, parents: list[str]) -> str:
    letters = {"a": 0, "b": 1}

    def swap(match: re.Match) -> str:
        k = letters.get(match.group(1))
        if k is None or k >= len(parents):
            return match.group(0)
        return match.group(0)[: match.start(1) - match.start(0)] + parents[k]

    return _LETTER.sub(swap, text)


def _fill_nary(text: str, parents: list[str], k: int) -> str:
    """``d(a1+...+an)/dai = 1`` for term k: the terms written out, ``ai`` the k-th."""
    terms = "+".join(parents)
    text = text.replace("a1+...+an", terms)

    def swap(match: re.Match) -> str:
        letter = match.group(1)
        prefix = match.group(0)[: match.start(1) - match.start(0)]
        if letter == "ai" or (letter == "a" and len(parents) == 1):
            return prefix + parents[k]
        if letter == "a1":
            return prefix + parents[0]
        if letter == "an":
            return prefix + parents[-1]
        return match.group(0)

    return _LETTER.sub(swap, text)
