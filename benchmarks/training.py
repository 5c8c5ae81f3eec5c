"""W6: what recording a training run costs, and how the page that replays it behaves.

``python -m benchmarks.training`` prints, for MLP(2, [16, 16, 1]) on 100 two-moons points:

* the compiled ``fit`` per step, with and without ``record=True`` (alternating runs,
  medians), and the ratio (issue 17 asks for at most 2x);
* the size of ``training_html`` for 500 recorded steps (asked: under 5 MB), with the
  stepper page it carries by default (one point; any step opens it), the time
  to write it, and how many steppers it carries;
* the time to open the stepper at a step in Chromium (decompress and show the frame, then set that
  step's weights into it), at the first, a middle and the last step; and, inside the stepper,
  setting all 337 weights with ``setMany`` against ``set`` once per weight;
* the time the page takes to redraw every view when the slider moves, read from
  the page's own ``performance.now()`` measurement in Chromium (asked: under 100 ms),
  over 100 steps picked evenly from the run.

Timings are reported here, never asserted in tests.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from chainrule.viz import training_html

from chainrule import nn

SIZES = [2, 16, 16, 1]
POINTS = 100
STEPS = 200
PAGE_STEPS = 500
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def fit_seconds(record: bool, compiled: bool = True, steps: int = STEPS) -> float:
    X, y = nn.make_moons(POINTS, noise=0.1, seed=0)
    model = nn.MLP(SIZES[0], SIZES[1:], seed=0)
    start = time.perf_counter()
    nn.fit(model, X, y, steps=steps, compiled=compiled, record=record, progress=False)
    return time.perf_counter() - start


def recording_cost(repeats: int = 5) -> dict:
    fit_seconds(False, steps=5)  # numpy imported, caches warm
    plain, recorded = [], []
    for _ in range(repeats):
        plain.append(fit_seconds(False))
        recorded.append(fit_seconds(True))
    p, r = statistics.median(plain), statistics.median(recorded)
    return {"steps": STEPS, "plain_ms_per_step": 1000 * p / STEPS, "record_ms_per_step": 1000 * r / STEPS,
            "ratio": r / p}


def page(folder: Path) -> tuple[Path, int, float, int]:
    X, y = nn.make_moons(POINTS, noise=0.1, seed=0)
    model = nn.MLP(SIZES[0], SIZES[1:], seed=0)
    history = nn.fit(model, X, y, steps=PAGE_STEPS, compiled=True, record=True, progress=False)
    path = folder / "run.html"
    start = time.perf_counter()
    text = training_html(history, model, X, y, path, title="moons")
    seconds = time.perf_counter() - start
    return path, path.stat().st_size, seconds, text.count('"page":"')


def scrub_ms(path: Path) -> dict | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        tab = browser.new_page(viewport={"width": 1920, "height": 1080})
        tab.goto(path.as_uri())
        tab.wait_for_selector("body[data-ready=true]")
        times = []
        for k in range(1, 101):
            tab.locator("#slider").fill(str(k * (PAGE_STEPS - 1) // 100))
            times.append(float(tab.evaluate("document.body.dataset.drawMs")))
        opening = {}
        for k in (0, PAGE_STEPS // 2, PAGE_STEPS - 1):  # the first opening decompresses the page, later ones reuse it
            if k:
                tab.locator("#close-stepper").click()
            tab.locator("#slider").fill(str(k))
            start = time.perf_counter()
            tab.locator("#open-stepper").click()
            while tab.evaluate("document.getElementById('stepper-view').dataset.step") != str(k):
                tab.wait_for_timeout(5)
            opening[k] = 1000 * (time.perf_counter() - start)
        frame = next(f for f in tab.frames if f != tab.main_frame)
        # setting every weight of MLP(2, [16, 16, 1]) inside the stepper: setMany (one recomputation)
        # against set() once per weight (one recomputation and repaint each)
        many, loop = frame.evaluate("""() => {
          const page = window.chainrule, names = Object.keys(page.values()).filter(n => /^L/.test(n));
          const at = (f) => Object.fromEntries(names.map((n, i) => [n, f * (i % 7 - 3) / 10]));
          let t = performance.now();
          page.setMany(at(1));
          const many = performance.now() - t;
          t = performance.now();
          for (const [n, v] of Object.entries(at(-1))) page.set(n, v);
          return [many, performance.now() - t];
        }""")
        browser.close()
    return {"median_ms": statistics.median(times), "p90_ms": sorted(times)[89], "max_ms": max(times),
            "open_stepper_ms": opening, "set_many_ms": many, "set_each_ms": loop}


def main() -> int:
    results = {"W6_recording": recording_cost()}
    with tempfile.TemporaryDirectory() as folder:
        path, size, seconds, steppers = page(Path(folder))
        results["W6_page_bytes_500_steps"] = size
        results["W6_page_write_seconds"] = seconds
        results["W6_page_steppers"] = steppers
        results["W6_scrub"] = scrub_ms(path)
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
