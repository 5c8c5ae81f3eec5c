"""Side-by-side benchmarks: chainrule against micrograd 0.1.0 from PyPI.

``python -m benchmarks.run --out benchmarks/results.json`` (``make bench``) runs
every workload, alternating the engines, and prints medians and ratios.

* ``moons``    W1: one training step of micrograd's two-moons demo
* ``chains``   W2-W4: a deep chain, a wide sum, memory per node
* ``rendering``  W5: DOT and SVG for the course example and a small MLP
* ``worker``   runs one measurement in a fresh process, under a time cap
* ``machine``  what the numbers were measured on
"""
