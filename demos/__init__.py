"""Runnable demos: one script per worked example and exercise of the backpropagation course.

Run any of them from the repository root, either way:

    python -m demos.seed_example
    python demos/seed_example.py

Each one is seeded, prints what to notice, writes its pictures into
``chainrule-out/<demo>/`` (or ``--out DIR``) and takes ``--quick`` for a
smaller, faster run. The README's "Teaching with chainrule" puts them in the course's order.
"""

DEMOS = (
    "seed_example",
    "cost_of_numerical_gradients",
    "exercise_5_1",
    "exercise_5_2_tanh",
    "local_gradients",
    "batch_gradients",
    "layerwise_numpy",
    "exercise_5_3_gradcheck",
    "exercise_5_4_vanishing",
    "moons",
    "forward_reverse",
    "second_derivatives",
    "newton",
    "gradient_penalty",
)
