"""chainrule against micrograd 0.1.0, workload by workload: ``python -m benchmarks.run --out results.json``.

Each workload runs both engines in the same run, alternating them within
each repetition (and rotating which goes first), and reports medians and the
ratio chainrule / micrograd (below 1: chainrule is faster). The deep-chain,
wide-sum and memory workloads run each measurement in a fresh process with a
time cap (``benchmarks.worker``). The table is printed, and everything, with
the machine it ran on, is written as JSON.

Targets (issue 7), checked at the end: W1 dynamic >= 10x faster than
micrograd and faster than micrograd with its garbage collector off; W1
compiled >= 500x faster than micrograd; W2 survives every N up to 10^6; W3
>= 10x faster than micrograd; W4 <= 250 bytes per node.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from chainrule.autograd.files import atomic_write

from .machine import load_average, machine_info

CHAIN_SIZES = [10**2, 10**3, 10**4, 10**5, 10**6]
WIDE_SIZE = 10**6
MEMORY_SIZE = 10**5
STEPS_PER_BLOCK = 3  # W1: timed steps per engine per block (after one warm-up step)


# --- timing helpers -------------------------------------------------------------------------------


def alternate(runs: dict, blocks: int, steps: int, after: dict | None = None) -> dict[str, list[float]]:
    """Time ``steps`` consecutive calls of each ``runs[name]``, block after block, engines taking turns.

    Consecutive steps keep each engine in its own steady state (micrograd's
    collector cleaning up the previous step's cycles is part of its step).
    Garbage is collected between blocks and the first step of each block is
    a warm-up, not recorded, so no engine pays for what another left behind.
    The engine that goes first rotates from block to block. ``after[name]``,
    if given, runs after each of that engine's steps with the clock stopped.
    """
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for b in range(blocks):
        for name in names[b % len(names):] + names[:b % len(names)]:
            gc.collect()
            for i in range(steps + 1):
                start = time.perf_counter()
                runs[name]()
                if i:
                    times[name].append(time.perf_counter() - start)
                if after and name in after:
                    after[name]()
    return times


def in_fresh_process(workload: str, engine: str, n: int, cap: float) -> dict:
    """One ``benchmarks.worker`` measurement; a timeout or a crash becomes ``ok: False`` with a reason."""
    command = [sys.executable, "-m", "benchmarks.worker", workload, engine, str(n)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap,
                              cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"over the {cap:g} s cap"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return {"ok": False, "error": f"exit status {done.returncode}: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.2f} ms" if seconds < 1 else f"{seconds:,.2f} s"


# --- the workloads --------------------------------------------------------------------------------


def moons_step(repeats: int) -> dict:
    """W1: one step of the two-moons demo, four ways, from the same initial weights."""
    from . import moons

    check = moons.check_same_losses()
    dynamic = moons.ChainruleMoons()
    compiled = moons.CompiledMoons()
    weights = [p.data for p in dynamic.params]
    micro = moons.MicrogradMoons(weights)
    micro_nogc = moons.MicrogradNoGC(weights)
    steps = {"chainrule": 0, "chainrule compiled": 0, "micrograd": 0, "micrograd, gc off": 0}

    def runner(name, engine):
        def run():
            engine.step(steps[name])
            steps[name] += 1
        return run

    runs = {
        "chainrule": runner("chainrule", dynamic),
        "chainrule compiled": runner("chainrule compiled", compiled),
        "micrograd": runner("micrograd", micro),
        "micrograd, gc off": runner("micrograd, gc off", micro_nogc),
    }
    # micrograd with the collector off: the cycles of each step are collected after the clock stops
    times = alternate(runs, repeats, STEPS_PER_BLOCK, after={"micrograd, gc off": micro_nogc.after_step})
    medians = {name: median(t) for name, t in times.items()}
    return {
        "workload": "W1 moons step: MLP(2, [16, 16, 1]), 100 points, hinge + 1e-4 L2, zero_grad, backward, "
                    "SGD",
        "blocks": repeats,
        "steps_per_block": STEPS_PER_BLOCK,
        "graph_nodes": moons.graph_sizes(),
        "tape": repr(compiled.tape),
        "compile_seconds": compiled.compile_seconds,
        "same_losses": check,
        "seconds": times,
        "median_seconds": medians,
        "speedup_vs_micrograd": {name: medians["micrograd"] / t for name, t in medians.items()},
        "speedup_vs_micrograd_gc_off": {n: medians["micrograd, gc off"] / t for n, t in medians.items()},
    }


def deep_chain(repeats: int, cap: float, sizes: list[int]) -> dict:
    """W2: y = tanh(y * 1.01 + 0.01) N times, backward; the largest N each engine survives."""
    engines = ["chainrule", "micrograd"]
    rows = []
    failed: dict[str, int] = {}  # engine -> smallest N that failed
    for n in sizes:
        row = {"n": n}
        for engine in engines:
            if engine in failed:
                row[engine] = {"ok": False, "error": "skipped: failed at a smaller N"}
                continue
            runs = []
            for _ in range(repeats):
                result = in_fresh_process("deep_chain", engine, n, cap)
                runs.append(result)
                if not result["ok"]:
                    failed[engine] = n
                    break
            row[engine] = _summarise(runs)
        rows.append(row)
    largest = {e: max((r["n"] for r in rows if r[e]["ok"]), default=None) for e in engines}
    limits = {}
    for engine, n_failed in failed.items():
        limits[engine] = _largest_surviving("deep_chain", engine, largest[engine] or 1, n_failed, cap)
    return {
        "workload": "W2 deep chain: y = tanh(y * 1.01 + 0.01) N times, then backward (build + backward)",
        "repeats": repeats,
        "rows": rows,
        "largest_n_survived": largest,
        "largest_n_survived_exact": limits,
    }


def _summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["ok"]]
    if len(ok) < len(runs):
        return {"ok": False, "error": runs[-1]["error"]}
    seconds = [r["seconds"] for r in ok]
    summary = {"ok": True, "seconds": seconds, "median_seconds": median(seconds),
               "median_peak_bytes": median([r["peak_bytes"] for r in ok])}
    if "graph_seconds" in ok[0]:
        summary["median_graph_seconds"] = median([r["graph_seconds"] for r in ok])
    if "correct" in ok[0]:
        summary["correct"] = all(r["correct"] for r in ok)
    return summary


def _largest_surviving(workload: str, engine: str, good: int, bad: int, cap: float) -> int:
    """Bisect between a size that worked and one that failed, one fresh process per probe."""
    while bad - good > max(1, good // 100):  # to within 1%
        middle = (good + bad) // 2
        if in_fresh_process(workload, engine, middle, cap)["ok"]:
            good = middle
        else:
            bad = middle
    return good


def wide_sum(repeats: int, cap: float, n: int) -> dict:
    """W3: the sum of n products, backward: time and peak memory, engines alternating per repetition."""
    engines = ["chainrule", "micrograd"]
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for r in range(repeats):
        for engine in engines[r % 2:] + engines[:r % 2]:
            runs[engine].append(in_fresh_process("wide_sum", engine, n, cap))
    summary = {e: _summarise(runs[e]) for e in engines}
    ratio = None
    if summary["chainrule"]["ok"] and summary["micrograd"]["ok"]:
        ratio = summary["chainrule"]["median_seconds"] / summary["micrograd"]["median_seconds"]
    return {
        "workload": f"W3 wide sum: a_i * b_i for i < {n:,}, summed, backward (making the leaves, the "
                    "products, the sum and backward all timed); chainrule: one autograd.sum node; "
                    "micrograd: a balanced tree of + (its chained sum would exceed the recursion limit)",
        "n": n,
        "repeats": repeats,
        "engines": summary,
        "ratio_chainrule_over_micrograd": ratio,
    }


def memory(cap: float, n: int) -> dict:
    """W4: tracemalloc bytes per node of a chain of n multiplications."""
    result = {e: in_fresh_process("memory_per_node", e, n, cap) for e in ("chainrule", "micrograd")}
    return {"workload": f"W4 memory per node: y = y * x repeated {n:,} times, tracemalloc", "n": n, **result}


def rendering(repeats: int) -> dict:
    """W5: DOT and SVG for the course example and a one-sample MLP graph, both engines."""
    from . import rendering as r

    return r.measure(repeats)


# --- report ---------------------------------------------------------------------------------------


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for every target of issue 7 that this run measured."""
    found = []
    w1 = results.get("W1")
    if w1:
        up = w1["speedup_vs_micrograd"]
        up_nogc = w1["speedup_vs_micrograd_gc_off"]
        found.append(("W1 dynamic >= 10x faster than micrograd", f"{up['chainrule']:.1f}x",
                      up["chainrule"] >= 10))
        found.append(("W1 dynamic faster than micrograd with gc off", f"{up_nogc['chainrule']:.2f}x",
                      up_nogc["chainrule"] > 1))
        found.append(("W1 compiled >= 500x faster than micrograd", f"{up['chainrule compiled']:.0f}x",
                      up["chainrule compiled"] >= 500))
    w2 = results.get("W2")
    if w2:
        largest = w2["largest_n_survived"]["chainrule"]
        measured = f"largest N {largest:,}" if largest else "none"
        found.append(("W2 chainrule survives every N up to 10^6", measured, largest == 10**6))
    w3 = results.get("W3")
    if w3 and w3["ratio_chainrule_over_micrograd"]:
        up = 1 / w3["ratio_chainrule_over_micrograd"]
        found.append(("W3 >= 10x faster than micrograd", f"{up:.1f}x", up >= 10))
    w4 = results.get("W4")
    if w4 and w4["chainrule"]["ok"]:
        b = w4["chainrule"]["bytes_per_node"]
        found.append(("W4 <= 250 bytes per node", f"{b:.0f} bytes", b <= 250))
    w7 = results.get("W7")
    if w7:
        t = w7["median_compute_ms"]
        found.append((f"W7 what-if recompute of a {w7['nodes']:,}-node page < 50 ms", f"{t:.2f} ms", t < 50))
    return found


def ratios(results: dict) -> dict[str, float]:
    """The headline ratios chainrule / peer of this run, in one place (below 1: chainrule is faster)."""
    found = {}
    w1 = results.get("W1")
    if w1:
        t = w1["median_seconds"]
        found["W1 chainrule / micrograd"] = t["chainrule"] / t["micrograd"]
        found["W1 chainrule / micrograd gc off"] = t["chainrule"] / t["micrograd, gc off"]
        found["W1 chainrule compiled / micrograd"] = t["chainrule compiled"] / t["micrograd"]
    w3 = results.get("W3")
    if w3 and w3["ratio_chainrule_over_micrograd"]:
        found["W3 chainrule / micrograd"] = w3["ratio_chainrule_over_micrograd"]
        engines = w3["engines"]
        found["W3 graph and backward alone, chainrule / micrograd"] = (
            engines["chainrule"]["median_graph_seconds"] / engines["micrograd"]["median_graph_seconds"])
    w4 = results.get("W4")
    if w4 and w4["chainrule"]["ok"] and w4["micrograd"]["ok"]:
        found["W4 bytes per node, chainrule / micrograd"] = (
            w4["chainrule"]["bytes_per_node"] / w4["micrograd"]["bytes_per_node"])
    return found


def print_report(results: dict) -> None:
    m = results["machine"]
    print(f"\nchainrule vs micrograd {m['micrograd']}: {m['date']}, {m['cpu']} ({m['cores']} cores), "
          f"Python {m['python']}, {m['platform']}")
    if m.get("load_average"):
        print(f"load average (1, 5, 15 min) at the start {m['load_average']}, at the end "
              f"{results.get('load_average_at_end')}: above {m['cores']}, other work shared the CPUs")
    w1 = results.get("W1")
    if w1:
        steps = w1["blocks"] * w1["steps_per_block"]
        print(f"\nW1 moons step, median of {steps} (graph: chainrule {w1['graph_nodes']['chainrule']:,} "
              f"nodes, micrograd {w1['graph_nodes']['micrograd']:,})")
        base = w1["median_seconds"]["micrograd"]
        for name, t in w1["median_seconds"].items():
            print(f"  {name:22s} {ms(t):>12s}   chainrule/micrograd {t / base:.4f}"
                  f"   ({w1['speedup_vs_micrograd'][name]:,.1f}x)")
        print(f"  autograd.compile of the step's graph (once): {ms(w1['compile_seconds'])}; {w1['tape']}")
    w2 = results.get("W2")
    if w2:
        print(f"\nW2 deep chain, build + backward, median of {w2['repeats']}")
        for row in w2["rows"]:
            cells = [ms(row[e]["median_seconds"]) if row[e]["ok"] else row[e]["error"]
                     for e in ("chainrule", "micrograd")]
            print(f"  N = {row['n']:>9,}   chainrule {cells[0]:>12s}   micrograd {cells[1]}")
        exact = ", ".join(f"{e} {n:,}" for e, n in w2["largest_n_survived_exact"].items())
        print(f"  largest N survived: {w2['largest_n_survived']}" + (f"; bisected: {exact}" if exact else ""))
    w3 = results.get("W3")
    if w3:
        print(f"\nW3 wide sum of {w3['n']:,} products, median of {w3['repeats']}")
        for e, s in w3["engines"].items():
            if s["ok"]:
                graph = ms(s["median_graph_seconds"])
                text = (f"{ms(s['median_seconds'])} (graph and backward alone {graph}), "
                        f"peak {s['median_peak_bytes'] / 2**20:,.0f} MiB")
            else:
                text = s["error"]
            print(f"  {e:10s} {text}")
        if w3["ratio_chainrule_over_micrograd"]:
            print(f"  chainrule/micrograd {w3['ratio_chainrule_over_micrograd']:.3f}")
    w4 = results.get("W4")
    if w4:
        print(f"\nW4 memory per node, chain of {w4['n']:,} multiplications (tracemalloc)")
        for e in ("chainrule", "micrograd"):
            s = w4[e]
            extra = (f" ({s['bytes_per_node_after_backward']:.0f} after backward)"
                     if "bytes_per_node_after_backward" in s else "")
            text = f"{s['bytes_per_node']:.0f} bytes per node{extra}" if s["ok"] else s["error"]
            print(f"  {e:10s} {text}")
    w5 = results.get("W5")
    if w5:
        print(f"\nW5 rendering, median of {w5['repeats']} (DOT text, then SVG through {w5['svg_engine']})")
        for graph, engines in w5["graphs"].items():
            for e, s in engines.items():
                print(f"  {graph:30s} {e:10s} {s['nodes']:5d} nodes   DOT {ms(s['median_dot_seconds']):>10s}"
                      f"   SVG {ms(s['median_svg_seconds']):>10s}")
    w7 = results.get("W7")
    if w7:
        print(f"\n{w7['workload']}")
        print(f"  compute {w7['median_compute_ms']:.2f} ms   set() with the repaint {w7['median_set_ms']:.1f} ms"
              f"   and the layout {w7['median_set_and_layout_ms']:.1f} ms")
    quick = " (a --quick run: W2 and W3 are below the targets' sizes)" if results["quick"] else ""
    print(f"\nTargets{quick}")
    for target, measured, met in targets(results):
        print(f"  [{'met' if met else 'MISSED'}] {target}: {measured}")
    print("\nRatios chainrule / micrograd (below 1: chainrule is faster or smaller)")
    for what, r in results.get("ratios", {}).items():
        print(f"  {what}: {r:.4g} ({1 / r:,.1f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results.json", help="where to write the JSON results")
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,W7", help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--repeats", type=int, default=5,
                        help="W1: blocks of steps per engine; W5: repetitions (default 5)")
    parser.add_argument("--slow-repeats", type=int, default=3, help="repetitions of W2 and W3 (default 3)")
    parser.add_argument("--cap", type=float, default=600.0,
                        help="seconds one W2-W4 measurement may take (default 600)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (W2 up to 10^4, W3 10^4): a smoke test, not for the targets")
    args = parser.parse_args(argv)
    chosen = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    unknown = chosen - {"W1", "W2", "W3", "W4", "W5", "W7"}
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from W1 to W5 and W7")
    if args.repeats < 1 or args.slow_repeats < 1:
        parser.error("--repeats and --slow-repeats must be at least 1")

    results: dict = {"machine": machine_info(), "quick": args.quick}
    if "W1" in chosen:
        results["W1"] = moons_step(args.repeats)
    if "W2" in chosen:
        sizes = CHAIN_SIZES[:3] if args.quick else CHAIN_SIZES
        results["W2"] = deep_chain(args.slow_repeats, args.cap, sizes)
    if "W3" in chosen:
        results["W3"] = wide_sum(args.slow_repeats, args.cap, 10**4 if args.quick else WIDE_SIZE)
    if "W4" in chosen:
        results["W4"] = memory(args.cap, MEMORY_SIZE)
    if "W5" in chosen:
        results["W5"] = rendering(args.repeats)
    if "W7" in chosen:
        from . import whatif  # W7: the stepper page's what-if in Chromium (None without Chromium)

        results["W7"] = whatif.measure()
    results["targets"] = [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results)]
    results["ratios"] = ratios(results)
    results["load_average_at_end"] = load_average()
    print_report(results)
    atomic_write(args.out, json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
