"""What every self-contained page chainrule writes shares: its assets and its head.

A page is one HTML file that works from ``file://`` with no network: its
styles and scripts are inlined from ``viz/assets``, and its
Content-Security-Policy lets it load nothing from anywhere (``default-src
'none'``), run only the scripts written into it, and show only ``data:``
images. A name or formula in the title is escaped by the caller.
"""

from __future__ import annotations

import math
from importlib import resources


def asset(name: str) -> str:
    """The text of ``viz/assets/NAME`` (a style sheet, a script or a page), from the installed package."""
    return resources.files("chainrule.viz").joinpath("assets", name).read_text(encoding="utf-8")


def page_head(title: str, css: str, scripts: bool = True, color_scheme: bool = False) -> str:
    """``<!DOCTYPE html>`` through ``</head>``: the charset, the viewport, the CSP, ``title`` and ``css``.

    ``scripts=False`` for a page that runs nothing (a worksheet, a side-by-side
    picture); ``color_scheme`` for a page with a dark theme of its own.
    """
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    if scripts:
        policy += "; script-src 'unsafe-inline'; img-src data:"
    scheme = '<meta name="color-scheme" content="light dark">\n' if color_scheme else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{scheme}<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>{title}</title>
<style>
{css}
</style>
</head>
"""


def json_number(x: float) -> float | dict:
    """A float for a page's JSON data; inf and nan (not JSON numbers) travel tagged, as Python spells them.

    The pages read ``{"float": "inf"}`` back as Infinity (and ``-inf``, ``nan`` alike).
    """
    x = float(x)
    if math.isfinite(x):
        return x
    return {"float": repr(x)}  # 'inf', '-inf', 'nan'


def inline_svg(svg: str) -> str:
    """A rendered SVG document as an element HTML can inline: its XML declaration and DOCTYPE dropped."""
    start = svg.find("<svg")
    if start < 0:
        raise RuntimeError("the renderer returned no <svg> element")
    return svg[start:]
