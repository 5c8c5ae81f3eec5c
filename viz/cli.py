"""The ``chainrule`` command."""

from __future__ import annotations

import argparse
import sys

import autograd
from autograd import gradcheck

from .tables import forward_table, step_table

COURSE_FORMULA = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
COURSE_VALUES = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}


def tour(args: argparse.Namespace) -> int:
    values = ", ".join(f"{k} = {v}" for k, v in COURSE_VALUES.items())
    print(f"The course's example: L = (y - sigmoid(w*x + b))^2 at {values}\n")
    expression = autograd.parse(COURSE_FORMULA, **COURSE_VALUES)
    loss = expression.output
    print("Forward pass, inputs first:")
    print(forward_table(loss), "\n")
    print("Backward pass, one node at a time (upstream = dL/dnode):")
    print(step_table(loss), "\n")
    print("Gradient check, backprop against central differences:")
    leaves = expression.variables
    print(gradcheck(lambda: autograd.parse(COURSE_FORMULA, **leaves).output, list(leaves.values())))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="Backpropagation, one node at a time.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tour", help="the course's worked example end to end")
    p.add_argument("-o", "--out", default="chainrule-out", help="folder for the pictures")
    p.set_defaults(run=tour)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
