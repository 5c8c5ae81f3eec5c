"""Run one measurement in this process and print it as one line of JSON.

    python -m benchmarks.worker deep_chain chainrule 100000

A fresh process per measurement keeps the engines apart (no garbage left by
one run is collected during another's), gives each run its own peak-memory
reading, and lets the caller cap the time and survive a crash. The JSON has
``ok``; on failure ``error`` names the exception (RecursionError, MemoryError ...).
"""

from __future__ import annotations

import json
import resource
import sys

from . import chains

WORKLOADS = {
    "deep_chain": chains.deep_chain,
    "wide_sum": chains.wide_sum,
    "memory_per_node": chains.memory_per_node,
}


def _rss_bytes() -> int:
    """The resident memory of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def main(argv: list[str]) -> int:
    workload, engine, n = argv[0], argv[1], int(argv[2])
    baseline = _rss_bytes()
    try:
        result = WORKLOADS[workload](engine, n)
        result["ok"] = True
    except (RecursionError, MemoryError) as error:
        result = {"ok": False, "error": type(error).__name__}
    # ru_maxrss is the peak resident size in KiB on Linux: the peak of this run above the start.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["peak_bytes"] = max(0, peak - baseline)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
