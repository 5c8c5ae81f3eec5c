"""A small formula language, so a class can type ``z = w*x + b; L = (y - sigmoid(z))**2``.

The grammar is a sliver of Python's, read with Python's own ``ast`` module and
then checked against an explicit whitelist: numbers, names, ``+ - * / **``,
unary minus and plus, parentheses, calls of the engine's functions, and
assignments to plain names. Nothing is ever ``eval``-ed or ``exec``-ed: the
tree is walked here, node by node, and turned into Values.

Every problem (bad syntax, an unknown function, a missing value, a domain
error such as log(-1) at the given values) is an ``ExpressionError`` that says
where, by 1-based line and column.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from . import functions
from .value import Value

MAX_LENGTH = 10_000  # characters
MAX_NESTING = 100  # levels of brackets
MAX_DEPTH = 1_000  # levels of the expression tree, e.g. a chain of 1,000 unary minuses or a 1,000-term a+b+...
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: The functions a formula may call, each with how many arguments it takes (None: any).
FUNCTIONS = {
    "exp": (functions.exp, 1),
    "log": (functions.log, 1),
    "tanh": (functions.tanh, 1),
    "sigmoid": (functions.sigmoid, 1),
    "relu": (functions.relu, 1),
    "sin": (functions.sin, 1),
    "cos": (functions.cos, 1),
    "sqrt": (functions.sqrt, 1),
    "abs": (abs, 1),
    "sum": (lambda *terms: functions.sum(terms), None),
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(ValueError):
    """A formula that cannot be read or evaluated, with where it went wrong."""

    def __init__(self, message: str, line: int = 1, column: int = 1, text: str = ""):
        self.message = message
        self.line = line
        self.column = column
        self.text = text  # the offending source line, for a caret under the column
        super().__init__(f"{message} (line {line}, column {column})")


@dataclass
class Expression:
    """A parsed formula: its output node, its inputs, and every named step."""

    output: Value
    variables: dict[str, Value] = field(default_factory=dict)  # name -> leaf
    nodes: dict[str, Value] = field(default_factory=dict)  # name -> node, for every assigned name


def parse(source: str, **values: float) -> Expression:
    """Read ``source`` and build its graph at the given ``values``.

    >>> e = parse("z = w*x + b; h = sigmoid(z); L = (y - h)**2", w=0.5, x=2.0, b=0.1, y=1.0)
    >>> sorted(e.nodes)
    ['L', 'h', 'z']
    """
    if not isinstance(source, str):
        raise ExpressionError(f"a formula must be text, got {type(source).__name__}")
    lines = _LINE_BREAK.split(source)  # the line breaks Python's parser counts, and no others
    _check_size(source, lines)
    tree = _read(source, lines)
    _check_depth(tree, lines)
    return _Builder(lines, values).build(tree)


def _check_size(source: str, lines: list[str]) -> None:
    """Refuse overlong, overdeep or non-text input before Python's parser sees it.

    Bracket depth is counted over the whole formula (brackets may span lines),
    skipping comments; characters that are not text are refused in comments too.
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the formula is {len(source):,} characters long; the limit is {MAX_LENGTH:,}")
    depth = 0
    for number, text in enumerate(lines, start=1):
        comment = False
        for column, char in enumerate(text, start=1):
            if char == "\0":
                raise ExpressionError("the formula contains a null character", number, column, text)
            if "\ud800" <= char <= "\udfff":
                raise ExpressionError("the formula contains an invalid character (a lone surrogate)", number,
                                      column, text.encode("utf-8", "replace").decode("utf-8"))
            comment = comment or char == "#"
            if comment:
                continue
            if char in "([{":
                depth += 1
                if depth > MAX_NESTING:
                    raise ExpressionError(
                        f"brackets are nested more than {MAX_NESTING} levels deep", number, column, text
                    )
            elif char in ")]}":
                depth -= 1


def _read(source: str, lines: list[str]) -> ast.Module:
    try:
        with warnings.catch_warnings():
            # Python warns about oddities such as "1if x else 2" on stderr; the formula is refused or
            # read all the same, and the command line must print one message, not two.
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="exec")
    except SyntaxError as e:
        line = e.lineno or 1
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        message = (e.msg or "invalid syntax").replace("'", "")
        if "null bytes" in message:
            message = "the formula contains a null character"
        return _raise(f"cannot read this formula: {message}", line, e.offset or 1, text)
    except (RecursionError, MemoryError):
        # Python's parser gives up on chains a few thousand deep (1+1+1+..., ------x), how deep
        # depending on the Python version; past MAX_DEPTH the answer is the same everywhere.
        raise ExpressionError(TOO_DEEP, 1, 1, lines[0]) from None


TOO_DEEP = f"the formula is nested more than {MAX_DEPTH:,} levels deep (sum(a, b, c, ...) adds many terms flat)"


def _check_depth(tree: ast.AST, lines: list[str]) -> None:
    """Refuse an expression tree deeper than MAX_DEPTH, walked with a stack (no recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line = getattr(node, "lineno", 1)
            raise ExpressionError(TOO_DEEP, line, 1, lines[line - 1] if 0 < line <= len(lines) else "")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _raise(message: str, line: int, column: int, text: str):
    raise ExpressionError(message, line, max(column, 1), text) from None


class _Builder:
    """Walks the checked tree and makes Values. Iterative, so depth is no danger."""

    def __init__(self, lines: list[str], values: dict[str, float]):
        self.lines = lines
        # Python reads the name ℌ in a formula as H (NFKC); read the given names the same way.
        self.values = {unicodedata.normalize("NFKC", name): v for name, v in values.items()}
        self.variables: dict[str, Value] = {}
        self.nodes: dict[str, Value] = {}

    def error(self, message: str, node: ast.AST) -> ExpressionError:
        line = getattr(node, "lineno", 1)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        # ast columns count UTF-8 bytes; people count characters.
        offset = getattr(node, "col_offset", 0)
        column = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1
        return ExpressionError(message, line, column, text)

    def build(self, tree: ast.Module) -> Expression:
        if not tree.body:
            raise ExpressionError("the formula is empty", 1, 1, self.lines[0])
        output = None
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                    raise self.error("only a plain name can be assigned to, as in  z = w*x + b", statement)
                name = statement.targets[0].id
                self.check_assignable(name, statement.targets[0])
                output = self.evaluate(statement.value)
                if output.name is None:
                    output.name = name
                self.nodes[name] = output
            elif isinstance(statement, ast.Expr):
                output = self.evaluate(statement.value)
            else:
                raise self.error(f"{_describe(statement)} is not part of the formula language", statement)
        return Expression(output, self.variables, self.nodes)

    def check_assignable(self, name: str, node: ast.AST) -> None:
        if name in FUNCTIONS:
            raise self.error(f"{name!r} is a function and cannot be assigned to", node)
        if name in self.values:
            raise self.error(f"{name!r} is given a value and cannot also be assigned", node)

    def evaluate(self, root: ast.AST) -> Value:
        """Post-order over the expression tree with an explicit stack."""
        results: list[Value] = []
        stack: list[tuple[ast.AST, int | None]] = [(root, None)]  # (node, its operand count once they are pushed)
        while stack:
            node, arity = stack.pop()
            if arity is None:
                children = self.children(node)
                stack.append((node, len(children)))
                stack.extend((child, None) for child in reversed(children))
                continue
            args = results[len(results) - arity :] if arity else []
            del results[len(results) - arity :]
            try:
                results.append(self.combine(node, args))
            except ExpressionError:
                raise
            except (ValueError, ArithmeticError) as e:  # a domain error at these values
                raise self.error(str(e), node) from None
        return results[0]

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The operands of an allowed node; anything outside the grammar is refused here."""
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self.error(f"the operator {_describe(node.op)} is not allowed; use + - * / **", node)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.error(f"the operator {_describe(node.op)} is not allowed", node)
            return [node.operand]
        if isinstance(node, ast.Call):
            self.check_call(node)
            return list(node.args)
        if isinstance(node, (ast.Constant, ast.Name)):
            return []
        raise self.error(f"{_describe(node)} is not part of the formula language", node)

    def check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise self.error("only the functions " + ", ".join(FUNCTIONS) + " can be called", node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.error(f"unknown function {name!r}; known: " + ", ".join(FUNCTIONS), node.func)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(f"{name}() takes plain arguments only", node)
        _, arity = FUNCTIONS[name]
        if arity is not None and len(node.args) != arity:
            raise self.error(f"{name}() takes {arity} argument, got {len(node.args)}", node)
        if arity is None and not node.args:
            raise self.error(f"{name}() needs at least one argument", node)

    def combine(self, node: ast.AST, args: list[Value]) -> Value:
        if isinstance(node, ast.BinOp):
            exponent = _number_literal(node.right) if isinstance(node.op, ast.Pow) else None
            if exponent is not None:
                # x**2: the 2 belongs to the op (one parent, as in the picture), not a node.
                return args[0] ** exponent
            return _BINARY[type(node.op)](*args)
        if isinstance(node, ast.UnaryOp):
            return -args[0] if isinstance(node.op, ast.USub) else args[0]
        if isinstance(node, ast.Call):
            function, _ = FUNCTIONS[node.func.id]
            return function(*args)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        return self.name(node)

    def constant(self, node: ast.Constant) -> Value:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{value!r} is not a number", node)
        if isinstance(value, int) and value.bit_length() > 1023 or not math.isfinite(float(value)):
            raise self.error("this number is too large for a float", node)
        return Value(value)

    def name(self, node: ast.Name) -> Value:
        name = node.id
        if name in self.nodes:
            return self.nodes[name]
        if name in self.variables:
            return self.variables[name]
        if name in FUNCTIONS:
            raise self.error(f"{name} is a function; call it, as in {name}(x)", node)
        if name not in self.values:
            raise self.error(f"no value given for {name!r}", node)
        given = self.values[name]
        if isinstance(given, Value):
            # A Value is used as the leaf itself, so parse(src, **e.variables)
            # rebuilds the graph on the same leaves (what gradcheck needs).
            self.variables[name] = given
            return given
        if isinstance(given, bool) or not isinstance(given, numbers.Real):
            raise self.error(f"the value of {name!r} must be a number, got {type(given).__name__}", node)
        leaf = Value(given, name=name)
        self.variables[name] = leaf
        return leaf


def _number_literal(node: ast.AST) -> float | None:
    """The value of a literal such as ``2``, ``-1`` or ``0.5``; None for anything else."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value) if abs(node.value) < 1e308 else math.inf
        return sign * value if math.isfinite(value) else None
    return None


def _describe(node: ast.AST) -> str:
    names = {
        "Attribute": "attribute access (a.b)",
        "Subscript": "indexing (a[b])",
        "Lambda": "a lambda",
        "NamedExpr": "the walrus operator (:=)",
        "ListComp": "a list comprehension",
        "GeneratorExp": "a generator expression",
        "Compare": "a comparison",
        "IfExp": "a conditional (a if b else c)",
        "BoolOp": "and/or",
        "Import": "import",
        "ImportFrom": "import",
    }
    kind = type(node).__name__
    return names.get(kind, f"'{kind}'")
