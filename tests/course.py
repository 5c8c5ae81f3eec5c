"""The course's worked example, shared by the tests: L = (y - sigmoid(w*x + b))^2.

By default at w = 0.8, x = 1.5, b = 0.1, y = 1 (so z = 1.3), with the nodes
named as the course names them. The numbers a test compares against are
worked out in the test itself, by hand, with ``sig``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from chainrule.autograd import Value


class Course(NamedTuple):
    L: Value
    leaves: dict[str, Value]  # w, x, b, y
    z: Value  # w*x + b
    h: Value  # sigmoid(z)


def sig(z: float) -> float:
    """The sigmoid in plain floats, for closed forms."""
    return 1.0 / (1.0 + math.exp(-z))


def course(w: float = 0.8, x: float = 1.5, b: float = 0.1, y: float = 1.0, backward: bool = False) -> Course:
    """The example's graph, with ``L.backward()`` already run if ``backward``."""
    leaves = {k: Value(v, name=k) for k, v in dict(w=w, x=x, b=b, y=y).items()}
    z = leaves["w"] * leaves["x"] + leaves["b"]
    z.name = "z"
    h = z.sigmoid()
    h.name = "h"
    L = (leaves["y"] - h) ** 2
    L.name = "L"
    if backward:
        L.backward()
    return Course(L, leaves, z, h)
