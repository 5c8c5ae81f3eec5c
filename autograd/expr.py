"""A small formula language, so a class can type ``z = w*x + b; L = (y - sigmoid(z))^2``.

The grammar is a sliver of Python's, read with Python's own ``ast`` module and
then checked against an explicit whitelist: numbers, names, the constants
``pi`` and ``e``, ``+ - * /``, powers written ``**`` or ``^``, unary minus and
plus, parentheses, calls of the engine's functions, and assignments to plain
names. Nothing is ever ``eval``-ed or ``exec``-ed: the tree is walked here,
node by node, and turned into Values.

Every problem (bad syntax, an unknown function, missing values, a domain
error such as log(-1) at the given values) is an ``ExpressionError`` that says
where, by 1-based line and column: the column of the offending token, the
operator itself for an error in ``a / b``.

Reading happens in three passes, each a plain loop with no recursion:

1. ``_scan``: the raw text, character by character: size, bracket depth,
   characters that are not text, quotes, ``2w`` (a number against a name), and
   ``^`` rewritten as ``**`` (Python reads ``^`` as xor, which binds looser
   than ``+``; ``x^2 + 1`` must mean ``x**2 + 1``);
2. ``ast.parse`` and ``_check_depth``: the syntax tree;
3. ``_Builder``: every name checked (all missing values reported at once),
   then the Values built in post-order.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
import tokenize
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial

from . import ops
from .value import Value, call

MAX_LENGTH = 10_000  # characters
MAX_NESTING = 100  # levels of brackets
MAX_DEPTH = 1_000  # operations nested in one expression: 1,000 minus signs, or a + b + ... with 1,001 terms
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: A Python number at the start of the text (tokenize's own pattern: 2, 1.5, 1e-3, 0x1f, 1_000, 2j).
_NUMBER = re.compile(tokenize.Number)
#: The constants a formula may use without a value, each drawn as a leaf of that name.
CONSTANTS = {"pi": math.pi, "e": math.e}


@dataclass(frozen=True)
class FormulaFunction:
    """A function the formula language can call: ``name(value, ...[, number])``.

    ``arity`` Values (-1: any number, at least one), then up to ``numbers``
    optional plain numbers written as literals (``leaky_relu(x, 0.1)``'s slope).
    ``make(*values, *numbers)`` builds the node.
    """

    name: str
    arity: int
    make: Callable[..., Value]
    numbers: int = 0


def formula_functions() -> dict[str, FormulaFunction]:
    """The functions a formula may call, read from the op table at each call (so a row registered at run
    time is callable at once): every row that has a formula ``name``, with its inputs (``arity``; -1 for
    any number) and its optional number params (``leaky_relu(x, 0.1)``'s slope).
    """
    return {
        name: FormulaFunction(name, op.arity, partial(call, op), len(op.params))
        for name, op in ops.formula_functions().items()
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

    >>> e = parse("z = w*x + b; h = sigmoid(z); L = (y - h)^2", w=0.5, x=2.0, b=0.1, y=1.0)
    >>> sorted(e.nodes)
    ['L', 'h', 'z']
    """
    if not isinstance(source, str):
        raise ExpressionError(f"a formula must be text, got {type(source).__name__}")
    return _Builder(_read(source), values).build()


@dataclass(frozen=True)
class _Source:
    """A formula read and checked, ready to build at any values (kept: ``check`` rebuilds it per input)."""

    lines: list[str]  # as typed, for error messages
    parsed_lines: list[str]  # as handed to Python's parser: ^ became **
    carets: dict[int, tuple[int, ...]]  # line -> 0-based columns of the ^ rewritten there
    tree: ast.Module

    def text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def column(self, line: int, parsed_column: int) -> int:
        """The 1-based column, as typed, of the 1-based column ``parsed_column`` of the parsed line."""
        shift = 0
        for k, caret in enumerate(self.carets.get(line, ())):
            at = caret + k  # where this caret's ** starts in the parsed line, 0-based
            if parsed_column - 1 <= at:
                break
            if parsed_column - 1 == at + 1:  # the second * of the pair: the ^ itself
                return caret + 1
            shift += 1
        return parsed_column - shift


@lru_cache(maxsize=16)
def _read(source: str) -> _Source:
    lines = _LINE_BREAK.split(source)  # the line breaks Python's parser counts, and no others
    parsed_lines, carets = _scan(source, lines)
    parsed = "\n".join(parsed_lines)
    read = _Source(lines, parsed_lines, carets, ast.Module(body=[], type_ignores=[]))
    try:
        # No warnings.catch_warnings here: it swaps process-wide state and is not thread-safe (two
        # threads could leave warnings off for good). _scan has already refused what makes Python's
        # parser warn: quotes (escape sequences) and a number against a name ("1if").
        tree = ast.parse(parsed, mode="exec")
    except SyntaxError as e:
        line = e.lineno or 1
        message = (e.msg or "invalid syntax").replace("'", "")
        if "null bytes" in message:
            message = "the formula contains a null character"
        raise ExpressionError(f"cannot read this formula: {message}", line, max(read.column(line, e.offset or 1), 1),
                              read.text(line)) from None
    except (RecursionError, MemoryError):
        # Python's parser gives up on chains a few thousand deep (1+1+1+..., ------x), how deep
        # depending on the Python version; past MAX_DEPTH the answer is the same everywhere.
        raise ExpressionError(f"the formula nests operations more than {MAX_DEPTH:,} deep ({FLAT_HINT})",
                              1, 1, lines[0]) from None
    read = _Source(lines, parsed_lines, carets, tree)
    _check_depth(read)
    return read


def _scan(source: str, lines: list[str]) -> tuple[list[str], dict[int, tuple[int, ...]]]:
    """Refuse what must not reach Python's parser, and rewrite ``^`` as ``**``, in one pass over the text.

    Refused: overlong input, brackets nested past MAX_NESTING (counted over the
    whole formula, since brackets may span lines), null characters and lone
    surrogates (in comments too), quotes (text is not part of the language),
    and a number written against a name (``2w``: the message suggests ``2*w``).
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the formula is {len(source):,} characters long; the limit is {MAX_LENGTH:,}")
    depth = 0
    parsed_lines, carets = [], {}
    for number, text in enumerate(lines, start=1):
        for column, char in enumerate(text, start=1):  # first, so every later message can show the line
            if char == "\0":
                raise ExpressionError("the formula contains a null character", number, column, text)
            if "\ud800" <= char <= "\udfff":
                raise ExpressionError("the formula contains an invalid character (a lone surrogate)", number,
                                      column, text.encode("utf-8", "replace").decode("utf-8"))
        parsed, here = [], []
        column, comment = 0, False
        while column < len(text):
            char = text[column]
            comment = comment or char == "#"
            if comment:
                parsed.append(char)
                column += 1
                continue
            if char in "'\"":
                raise ExpressionError("text in quotes is not a number: a formula holds numbers, names, operators "
                                      "and calls", number, column + 1, text)
            if char in "([{":
                depth += 1
                if depth > MAX_NESTING:
                    raise ExpressionError(f"brackets are nested more than {MAX_NESTING} levels deep", number,
                                          column + 1, text)
            elif char in ")]}":
                depth -= 1
            elif char == "^":
                here.append(column)
                parsed.append("**")
                column += 1
                continue
            elif char in "0123456789" and not (column and (text[column - 1].isidentifier()
                                                            or text[column - 1] in ".0123456789")):
                end = _number_end(text, column)
                if end < len(text) and (text[end].isidentifier() or text[end] == "_"):
                    _refuse_number_against_name(text, number, column, end)
                parsed.append(text[column:end])
                column = end
                continue
            parsed.append(char)
            column += 1
        parsed_lines.append("".join(parsed))
        if here:
            carets[number] = tuple(here)
    return parsed_lines, carets


def _number_end(text: str, start: int) -> int:
    """Where the number starting at ``start`` ends (tokenize's pattern, so 1e-3, 0x1f and 2j are whole)."""
    match = _NUMBER.match(text, start)
    return match.end() if match else start + 1


def _refuse_number_against_name(text: str, line: int, start: int, end: int):
    name_end = end
    while name_end < len(text) and (text[name_end].isidentifier() or text[name_end].isdigit()):
        name_end += 1
    number, name = text[start:end], text[end:name_end]
    raise ExpressionError(f"{number}{name}: a number written against a name; to multiply, write {number}*{name}",
                          line, end + 1, text)


FLAT_HINT = "sum(a, b, c, ...) adds many terms in one flat node"


def _check_depth(read: _Source) -> None:
    """Refuse an expression nesting more than MAX_DEPTH operations, walked with a stack (no recursion).

    Only operations count (operators and calls), so the documented limit is the
    one enforced: a chain of 1,000 minus signs is read, 1,001 are refused.
    """
    stack: list[tuple[ast.AST, int]] = [(statement, 0) for statement in read.tree.body]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)):
            depth += 1
            if depth > MAX_DEPTH:
                line = getattr(node, "lineno", 1)
                raise ExpressionError(f"the formula nests operations more than {MAX_DEPTH:,} deep, here "
                                      f"{_construct(node)} ({FLAT_HINT})", line,
                                      _node_column(read, node), read.text(line))
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))


def _construct(node: ast.AST) -> str:
    """What a deep chain is made of, in a person's words."""
    if isinstance(node, ast.UnaryOp):
        return "a chain of signs (- or +)"
    if isinstance(node, ast.BinOp):
        return f"a chain of {_SYMBOLS.get(type(node.op), 'operators')}"
    name = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else "a function"
    return f"calls of {name} inside calls"


def _node_column(read: _Source, node: ast.AST) -> int:
    """The 1-based column, as typed, where ``node`` starts (ast counts UTF-8 bytes of the parsed line)."""
    line = getattr(node, "lineno", 1)
    parsed = read.parsed_lines[line - 1] if 0 < line <= len(read.parsed_lines) else ""
    offset = getattr(node, "col_offset", 0)
    characters = len(parsed.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
    return read.column(line, characters + 1)


def _operator_column(read: _Source, node: ast.BinOp) -> tuple[int, int]:
    """The line and 1-based column, as typed, of a binary operator: the first character after the left
    operand that is not a closing bracket, a blank, a line join or a comment."""
    line = node.left.end_lineno or node.lineno
    offset = node.left.end_col_offset or 0
    for number in range(line, len(read.parsed_lines) + 1):
        parsed = read.parsed_lines[number - 1]
        start = len(parsed.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) if number == line else 0
        for index in range(start, len(parsed)):
            char = parsed[index]
            if char == "#":
                break
            if not (char.isspace() or char in ")\\"):  # past closing brackets, blanks and line joins
                return number, read.column(number, index + 1)
    return node.lineno, _node_column(read, node)


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "** (or ^)"}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class _Builder:
    """Checks every name, then walks the checked tree and makes Values. Iterative, so depth is no danger."""

    def __init__(self, read: _Source, values: dict[str, float]):
        self.read = read
        self.functions = formula_functions()
        # Python reads the name ℌ in a formula as H (NFKC); read the given names the same way, and refuse
        # two that become one (x and the fullwidth ｘ): which value was meant?
        self.values: dict[str, float] = {}
        spelled: dict[str, str] = {}
        for name, v in values.items():
            key = unicodedata.normalize("NFKC", name)
            if key in self.values:
                raise ExpressionError(f"the values {spelled[key]!r} and {name!r} name the same variable "
                                      f"{key!r} (Python reads names in NFKC form); {key} is given twice")
            self.values[key], spelled[key] = v, name
        self.variables: dict[str, Value] = {}
        self.nodes: dict[str, Value] = {}
        self.constants: dict[str, Value] = {}

    def error(self, message: str, node: ast.AST) -> ExpressionError:
        line = getattr(node, "lineno", 1)
        return ExpressionError(message, line, _node_column(self.read, node), self.read.text(line))

    def operator_error(self, message: str, node: ast.BinOp) -> ExpressionError:
        line, column = _operator_column(self.read, node)
        return ExpressionError(message, line, column, self.read.text(line))

    def build(self) -> Expression:
        body = self.read.tree.body
        if not body:
            raise ExpressionError("the formula is empty", 1, 1, self.read.lines[0])
        self.check_names(body)
        output = None
        for statement in body:
            if isinstance(statement, ast.Assign):
                name = statement.targets[0].id
                output = self.evaluate(statement.value)
                if output.name is None:
                    output.name = name
                self.nodes[name] = output
            else:
                output = self.evaluate(statement.value)
        return Expression(output, self.variables, self.nodes)

    def check_names(self, body: list[ast.stmt]) -> None:
        """Every statement's form, then every name read before it is assigned: all missing values at once."""
        assigned: set[str] = set()
        missing: dict[str, ast.Name] = {}  # name -> where it is first read
        for statement in body:
            if isinstance(statement, ast.Assign):
                if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                    raise self.error("only a plain name can be assigned to, as in  z = w*x + b", statement)
            elif not isinstance(statement, ast.Expr):
                raise self.error(f"{_describe(statement)} is not part of the formula language", statement)
            stack = [statement.value]
            while stack:  # the grammar's nodes only: anything else is refused, with its own message, later
                node = stack.pop()
                if isinstance(node, ast.Call):
                    stack.extend(node.args)  # the function's own name is checked by check_call
                elif isinstance(node, ast.BinOp):
                    stack.extend((node.left, node.right))
                elif isinstance(node, ast.UnaryOp):
                    stack.append(node.operand)
                elif isinstance(node, ast.Name) and not self.known(node.id, assigned):
                    first = missing.setdefault(node.id, node)
                    if (node.lineno, node.col_offset) < (first.lineno, first.col_offset):
                        missing[node.id] = node
            if isinstance(statement, ast.Assign):
                target = statement.targets[0]
                self.check_assignable(target.id, target)
                assigned.add(target.id)
        if missing:
            in_order = sorted(missing.values(), key=lambda n: (n.lineno, n.col_offset))  # as the formula reads
            names = [repr(n.id) for n in in_order]
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            raise self.error(f"no value given for {listed}", in_order[0])

    def known(self, name: str, assigned: set[str]) -> bool:
        return name in assigned or name in self.values or name in CONSTANTS or name in self.functions

    def check_assignable(self, name: str, node: ast.AST) -> None:
        if name in self.functions:
            raise self.error(f"{name!r} is a function and cannot be assigned to", node)
        if name in self.values:
            raise self.error(f"{name!r} is given a value and cannot also be assigned", node)

    def evaluate(self, root: ast.AST) -> Value:
        """Post-order over the expression tree with an explicit stack."""
        results: list = []
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
                if isinstance(node, ast.BinOp):
                    raise self.operator_error(str(e), node) from None
                raise self.error(str(e), node) from None
        return results[0]

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The operands of an allowed node; anything outside the grammar is refused here."""
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self.operator_error(f"the operator {_describe(node.op)} is not allowed; use + - * / ** ^",
                                          node)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.error(f"the operator {_describe(node.op)} is not allowed", node)
            return [node.operand]
        if isinstance(node, ast.Call):
            function = self.check_call(node)
            return list(node.args[: len(node.args) if function.arity == -1 else function.arity])
        if isinstance(node, (ast.Constant, ast.Name)):
            return []
        raise self.error(f"{_describe(node)} is not part of the formula language", node)

    def check_call(self, node: ast.Call) -> FormulaFunction:
        known = ", ".join(sorted(self.functions))
        if not isinstance(node.func, ast.Name):
            raise self.error(f"only the functions {known} can be called", node)
        name = node.func.id
        if name not in self.functions:
            raise self.error(f"unknown function {name!r}; known: {known}", node.func)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(f"{name}() takes plain arguments only", node)
        function = self.functions[name]
        given = len(node.args)
        if function.arity == -1:
            if not given:
                raise self.error(f"{name}() needs at least one argument", node)
        elif not function.arity <= given <= function.arity + function.numbers:
            wanted = f"{function.arity} argument{'s' if function.arity != 1 else ''}"
            if function.numbers:
                wanted += f" and up to {function.numbers} number{'s' if function.numbers != 1 else ''}"
            raise self.error(f"{name}() takes {wanted}, got {given}", node)
        for extra in node.args[function.arity:] if function.arity != -1 else ():
            if _number_literal(extra) is None:
                raise self.error(f"{name}(): this argument must be a plain number, as in {name}(x, 0.1)", extra)
        return function

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
            function = self.functions[node.func.id]
            numbers_given = [_number_literal(a) for a in node.args[len(args):]]
            return function.make(*args, *numbers_given)
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
        if name in self.values:
            return self.leaf(name, node)
        if name in CONSTANTS:
            if name not in self.constants:  # one leaf per constant, however often it is written
                self.constants[name] = Value(CONSTANTS[name], name=name)
            return self.constants[name]
        raise self.error(f"{name} is a function; call it, as in {name}(x)", node)  # check_names let it through

    def leaf(self, name: str, node: ast.Name) -> Value:
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
