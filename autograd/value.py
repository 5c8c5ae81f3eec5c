"""``Value``: one scalar in a computational graph.

A Value holds a number (``data``), the gradient a backward pass leaves on it
(``grad``), and, if an op made it, the op's symbol and its inputs
(``parents``). It also keeps the op's rule function, which turns the node's
recorded values into its local derivatives d(self)/d(parent). That is all a
backward pass needs: see ``autograd.graph`` for the one loop that applies
the chain rule.

Every operator below is written out by hand and calls into the op table,
so there is one node per operator the formula shows: ``a - b`` is a ``-``
node, not ``a + (-1 * b)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from operator import attrgetter

from . import ops as _ops
from .ops import (
    ABS,
    ADD,
    COS,
    DIV,
    EXP,
    LEAKY_RELU,
    LOG,
    MUL,
    NEG,
    OPS,
    POW,
    POW_K,
    RELU,
    SIGMOID,
    SIGN,
    SIN,
    SOFTPLUS,
    SQRT,
    SUB,
    SUM,
    TANH,
    Bound,
    Op,
    _pow,
    call_forward,
    wrong_count,
)


class Value:
    """A scalar that remembers how it was computed.

    >>> x = Value(3.0, name="x")
    >>> y = x * x + 1
    >>> y.backward()
    >>> x.grad  # d(x^2 + 1)/dx = 2x
    6.0
    """

    # "__dict__" lets a user hang their own attributes on a Value (an optimizer's
    # ``p.m``, ``p.v``), as micrograd's Values allow. The dict is made only when
    # the first such attribute is set, so a Value without one pays one pointer.
    __slots__ = ("data", "grad", "name", "__dict__")

    # A leaf was made by no op, so it answers these from the class: no op, no
    # parents, no rule. A Value an op makes keeps its own (_Tupled and _Pair,
    # below). Leaves are most of a big graph, and three fields fewer each is
    # less memory and less for Python's garbage collector to walk. They are
    # read-only properties, so ``leaf.op = "*"`` is refused rather than kept
    # in the leaf's ``__dict__``.
    op = property(attrgetter("_LEAF_OP"), doc="The op's symbol: '' for a leaf.")
    parents = property(attrgetter("_LEAF_PARENTS"), doc="The op's inputs in order: () for a leaf.")
    _rule = property(attrgetter("_LEAF_RULE"))
    is_leaf = property(attrgetter("_LEAF"), doc="True for a Value no op made.")
    _LEAF_OP, _LEAF_PARENTS, _LEAF_RULE, _LEAF = "", (), None, True

    def __init__(self, data: float, name: str | None = None, label: str | None = None):
        if type(data) is not float:  # checked first: a plain float skips the slower checks below
            data = _real(data)
        self.data = data
        if label is not None:  # micrograd's lecture calls the name a label
            if name is not None and name != label:
                raise TypeError(f"a Value got two different names: name={name!r} and label={label!r}")
            name = label
        if name is not None and not isinstance(name, str):
            raise TypeError(f"a Value's name must be a str or None, got {type(name).__name__}")
        self.grad = 0.0
        self.name = name

    @property
    def label(self) -> str | None:
        """Another word for ``name`` (micrograd's lecture writes ``Value(2.0, label='x')``)."""
        return self.name

    @label.setter
    def label(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a Value's label must be a str or None, got {type(value).__name__}")
        self.name = value

    # --- what the node knows about its own derivatives ----------------------

    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent_i) at the recorded values, one per parent."""
        if not self.parents:
            return ()
        local = self._rule(self)
        if len(local) != len(self.parents):
            raise wrong_count(self, local)
        return local

    def backward(self) -> None:
        """Fill in d(self)/d(node) as ``.grad`` on every node below ``self``."""
        from .graph import backward  # graph builds on this module, so it is fetched when first used

        backward(self)

    def zero_grad(self) -> None:
        """Set ``grad = 0.0`` on this node and every node below it."""
        from .graph import zero_grad

        zero_grad(self)

    # --- micrograd compatibility ---------------------------------------------

    def _backward(self) -> None:
        """This node's step of the chain rule: parent.grad += self.grad * d(self)/d(parent).

        The same step ``backward_steps`` records. Set the root's grad to 1 and
        call it on every node in reverse topological order, and you have done
        by hand what ``backward()`` does (micrograd's lecture walks it so). On a
        leaf it does nothing: a leaf has no parents to send to.
        """
        if self.is_leaf:
            return
        from .graph import _send

        _send(self)

    @property
    def _prev(self) -> set[Value]:
        """The parents as a set, as micrograd calls them."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """The op's symbol, as micrograd calls it."""
        return self.op

    # --- arithmetic ------------------------------------------------------------

    def __add__(self, other):  # self + other
        return _apply2(ADD, self, other)

    def __radd__(self, other):  # other + self
        return _apply2(ADD, other, self)

    def __sub__(self, other):  # self - other
        return _apply2(SUB, self, other)

    def __rsub__(self, other):  # other - self
        return _apply2(SUB, other, self)

    def __mul__(self, other):  # self * other
        return _apply2(MUL, self, other)

    def __rmul__(self, other):  # other * self
        return _apply2(MUL, other, self)

    def __truediv__(self, other):  # self / other
        return _apply2(DIV, self, other)

    def __rtruediv__(self, other):  # other / self
        return _apply2(DIV, other, self)

    def __pow__(self, other):
        if isinstance(other, Value):
            return _apply2(POW, self, other)
        if isinstance(other, numbers.Real):
            # A number exponent is part of the op, not a node: x**2 has one parent.
            k = float(other)
            return _node(_pow(self.data, k), "**", (self,), Bound(POW_K, (k,)))
        return NotImplemented

    def __rpow__(self, other):  # other ** self
        return _apply2(POW, other, self)

    def __neg__(self):
        return _apply1(NEG, self)

    def __abs__(self):
        return _apply1(ABS, self)

    def __float__(self) -> float:
        return self.data

    # Comparisons look at the numbers; == and hash stay identity, so Values
    # can be keys of dicts and members of sets.
    def __lt__(self, other):
        return self.data < _compared(other)

    def __le__(self, other):
        return self.data <= _compared(other)

    def __gt__(self, other):
        return self.data > _compared(other)

    def __ge__(self, other):
        return self.data >= _compared(other)

    __hash__ = object.__hash__

    # --- functions -------------------------------------------------------------

    def exp(self) -> Value:
        """e^self."""
        return _apply1(EXP, self)

    def log(self) -> Value:
        """The natural logarithm; self must be positive."""
        return _apply1(LOG, self)

    def tanh(self) -> Value:
        """(e^x - e^-x) / (e^x + e^-x)."""
        return _apply1(TANH, self)

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x), computed without overflow for large |x|."""
        return _apply1(SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x)."""
        return _apply1(RELU, self)

    def sin(self) -> Value:
        return _apply1(SIN, self)

    def cos(self) -> Value:
        return _apply1(COS, self)

    def sqrt(self) -> Value:
        """The square root; self must be >= 0."""
        return _apply1(SQRT, self)

    def softplus(self) -> Value:
        """log(1 + e^x), a smooth relu whose slope is sigmoid(x); computed without overflow."""
        return _apply1(SOFTPLUS, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, else slope * x: a relu that keeps a small slope where it would be flat."""
        return apply(LEAKY_RELU, (self,), params=(slope,))

    def sign(self) -> Value:
        """1, -1 or 0 by the sign of x: a step whose local derivative is 0 everywhere."""
        return _apply1(SIGN, self)

    # --- copying and pickling, at any depth ---------------------------------------
    # Python's own copy and pickle follow ``parents`` by recursion, one level per node,
    # and give up (RecursionError) on a deep graph that backward() handles easily. So
    # an op node is copied and pickled as its graph laid flat, in topological order,
    # by a loop. A leaf is one object with nothing below it, and keeps Python's way.

    def __reduce_ex__(self, protocol):
        if self.is_leaf:
            return object.__reduce_ex__(self, protocol)
        return (_rebuild, (_flatten(self),))

    def __deepcopy__(self, memo: dict) -> Value:
        import copy

        for node in _topological(self):
            if id(node) in memo:
                continue
            attrs = copy.deepcopy(node.__dict__, memo) if _attrs(node) else None
            if node.is_leaf:
                twin = Value(node.data, node.name)
            else:
                twin = _node(node.data, node.op, tuple(memo[id(p)] for p in node.parents), node._rule)
                twin.name = node.name
            twin.grad = node.grad
            if attrs:
                twin.__dict__.update(attrs)
            memo[id(node)] = twin
        return memo[id(self)]

    def __copy__(self) -> Value:
        """A new node with the same data, grad, name, op and parents (the graph below is shared)."""
        if self.is_leaf:
            twin = Value(self.data, self.name)
        else:
            twin = _node(self.data, self.op, self.parents, self._rule)
            twin.name = self.name
        twin.grad = self.grad
        if _attrs(self):
            twin.__dict__.update(self.__dict__)
        return twin

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name is not None else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{name}{op})"


# --- building nodes ------------------------------------------------------------


# A Value an op makes is one of two kinds; to a user both are just Values
# (isinstance(node, Value), the same methods, the same ``parents``). They
# differ only in how they hold their inputs.


class _Tupled(Value):
    """A Value an op made from one input or from many (``tanh``, ``sum``): the inputs in a tuple.

    (Every node that is not a ``_Pair``.)
    """

    __slots__ = ("op", "parents", "_rule")
    is_leaf = False


class _Pair(Value):
    """A Value an op made from exactly two inputs (``a * b``): the inputs in two fields.

    Two-input nodes are most of a graph. Keeping ``left`` and ``right`` in
    the node, rather than in a tuple of their own, saves an object per node:
    memory, and time Python's garbage collector would spend walking it
    (measured: with a tuple instead, W4 grew from 144 to 191 bytes per node,
    W1 took about 24% longer and W3 about 75%).
    ``parents`` still gives the tuple, made when asked for.
    """

    __slots__ = ("op", "left", "right", "_rule")
    is_leaf = False
    parents = property(attrgetter("left", "right"), doc="(left, right)")


# Error messages that name a type say "Value", the type a user knows.
_Tupled.__name__ = _Pair.__name__ = "Value"
_new = object.__new__


def _node(data: float, op: str, parents: tuple, rule) -> Value:
    """A new result node; the op's forward has already checked and computed ``data``."""
    if len(parents) == 2:
        v = _new(_Pair)
        v.left, v.right = parents
    else:
        v = _new(_Tupled)
        v.parents = parents
    v.data = data
    v.grad = 0.0
    v.name = None
    v.op = op
    v._rule = rule
    return v


def _apply1(op: Op, a: Value) -> Value:
    return _node(op.forward(a.data), op.symbol, (a,), op.rule)


def _apply2(op: Op, a, b):
    """``a op b`` as a new node; a number on either side becomes a leaf, anything else is not ours.

    Returning NotImplemented lets Python try the other operand's method, and
    raise its usual TypeError when neither knows the other.
    """
    if not isinstance(a, Value):
        a = _lift(a)
        if a is None:
            return NotImplemented
    if not isinstance(b, Value):
        b = _lift(b)
        if b is None:
            return NotImplemented
    # Not written out by hand: inlining _node here bought 2-8% on W1 and W3 (benchmarks), under the 20% bar.
    return _node(op.forward(a.data, b.data), op.symbol, (a, b), op.rule)


def apply(op: Op, parents: Iterable, data: float | None = None, rule=None, params: Iterable = ()) -> Value:
    """A node of a registered op: how any op, built in or registered later, makes its nodes.

    ``params`` are the op's constant numbers (``op.params``), such as the
    slope of ``leaky_relu``; missing trailing ones take ``op.defaults``.
    ``data`` defaults to ``op.forward`` of the parents' data and the params.
    ``rule`` replaces the op's rule for this one node (a teaching device:
    ``compile`` refuses such a node). Parents must be Values.
    """
    if OPS.get(op.key) is not op:
        raise ValueError(f"op {op.symbol!r} is not in the op table; register it first")
    parents = tuple(parents)
    for p in parents:
        if not isinstance(p, Value):
            raise TypeError(f"the parents of op {op.symbol!r} must be Values, got {type(p).__name__}")
    if op.arity >= 0 and len(parents) != op.arity:
        raise ValueError(f"op {op.symbol!r} takes {op.arity} inputs, got {len(parents)}")
    params = _params(op, tuple(params))
    if data is None:
        data = call_forward(op, [p.data for p in parents], params)
    if rule is None:
        rule = Bound(op, params) if op.params else op.rule
    return _node(float(data), op.symbol, parents, rule)


def _params(op: Op, given: tuple) -> tuple:
    """``given`` with the op's defaults after it, each checked to be a real number (not a Value)."""
    if len(given) > len(op.params):
        raise TypeError(f"op {op.symbol!r} takes {len(op.params)} number(s) besides its inputs, got {len(given)}")
    missing = len(op.params) - len(given)
    if missing > len(op.defaults):
        raise TypeError(f"op {op.symbol!r} needs its {', '.join(op.params[len(given):])}")
    full = given + op.defaults[len(op.defaults) - missing:] if missing else given
    for name, value in zip(op.params, full, strict=True):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"the {name} of op {op.symbol!r} must be a number, got {type(value).__name__}")
    return full


def call(op: Op, *args) -> Value:
    """``op`` applied as a formula calls it: its inputs (Values or numbers), then its params (numbers).

    ``call(OPS["leaky_relu"], x, 0.1)`` is ``x.leaky_relu(0.1)``; an n-ary op
    takes every argument as an input. The parser builds every function call this way.
    """
    n = len(args) if op.arity == -1 else op.arity
    if len(args) < n or len(args) > n + len(op.params):
        most = n + len(op.params)
        takes = f"{n}" if most == n else f"{n} to {most}"
        raise TypeError(f"{op.name or op.symbol}() takes {takes} argument(s), got {len(args)}")
    inputs = [as_value(a) for a in args[:n]]
    return apply(op, inputs, params=args[n:])


def _install_method(op: Op) -> None:
    """A row registered with ``method`` that Value lacks gets it: ``x.cube()`` for a new ``cube`` op."""
    if op.method is None or hasattr(Value, op.method):
        return

    def method(self, *params):
        return apply(op, (self,), params=params) if op.arity == 1 else call(op, self, *params)

    method.__name__ = op.method
    method.__doc__ = f"The op {op.symbol!r}: {'; '.join(op.text)}"
    setattr(Value, op.method, method)


def _topological(root: Value) -> list[Value]:
    from .graph import topological_order  # graph builds on this module

    return topological_order(root)


def _attrs(node: Value) -> bool:
    """Whether a user hung attributes of their own on ``node`` (without making its ``__dict__``)."""
    try:
        return bool(object.__getattribute__(node, "__dict__"))
    except AttributeError:
        return False


def _flatten(root: Value) -> list:
    """The graph below ``root`` as a flat list, parents first: leaves as themselves, op nodes as records.

    A record is (data, grad, name, attributes, op, rule, positions of its parents in the list).
    Leaves stay Values, so a leaf shared with other pickled objects (a model's parameter)
    stays one object when they are unpickled together.
    """
    order = _topological(root)
    where = {node: i for i, node in enumerate(order)}
    return [node if node.is_leaf else
            (node.data, node.grad, node.name, dict(node.__dict__) if _attrs(node) else None, node.op, node._rule,
             tuple(where[p] for p in node.parents))
            for node in order]


def _rebuild(records: list) -> Value:
    """The graph ``_flatten`` laid flat, built again by a loop; returns its root."""
    built: list[Value] = []
    for record in records:
        if isinstance(record, Value):
            built.append(record)
            continue
        data, grad, name, attrs, op, rule, parents = record
        node = _node(data, op, tuple(built[i] for i in parents), rule)
        node.grad = grad
        node.name = name
        if attrs:
            node.__dict__.update(attrs)
        built.append(node)
    return built[-1]


def _real(data) -> float:
    """``data`` as a float: any real number, or a 0-d numpy array; anything else is a TypeError."""
    if isinstance(data, numbers.Real) and not isinstance(data, Value):
        return float(data)
    kind = type(data)
    if kind.__module__.split(".")[0] == "torch":  # a tensor may carry its own graph: say how to leave it
        raise TypeError(f"Value needs a real number, got a torch {kind.__name__}: call .item() on it first")
    if kind.__module__.split(".")[0] == "numpy" and getattr(data, "shape", None) == () and data.dtype.kind in "biuf":
        return float(data)  # np.array(1.5): a 0-d array of real numbers
    raise TypeError(f"Value needs a real number, got {kind.__name__}: {data!r:.60}")


def _lift(x) -> Value | None:
    """A Value for ``x``: itself, a new leaf for a real number, or None (not ours)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real):
        return Value(x)
    return None


def _compared(x) -> float:
    """The number a comparison reads from its other side: a Value's data, or a real number."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"cannot compare a Value with {type(x).__name__}")


def as_value(x) -> Value:
    """``x`` as a Value; a number becomes a new leaf, anything else is a TypeError."""
    v = _lift(x)
    if v is None:
        raise TypeError(f"expected a Value or a real number, got {type(x).__name__}")
    return v


def sum(values: Iterable) -> Value:  # noqa: A001 - autograd.sum, as the contract names it
    """One n-ary node: a1 + a2 + ... + an, with local derivative 1 for each term.

    A neuron's pre-activation drawn as one Σ node instead of a chain of n
    additions: a clearer picture, a shallower graph and a faster pass.
    """
    parents = tuple(values)
    for p in parents:
        if not isinstance(p, Value):  # rare: numbers among the terms become leaves
            parents = tuple(as_value(v) for v in parents)
            break
    if not parents:
        return Value(0.0)
    return _node(SUM.forward(*[p.data for p in parents]), SUM.symbol, parents, SUM.rule)


_ops._hooks.append(_install_method)
