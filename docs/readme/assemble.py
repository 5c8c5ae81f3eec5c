"""Build README.md from its parts (run from the repository root: python docs/readme/assemble.py)."""

from pathlib import Path

PARTS = [
    "docs/readme/head.md",
    "docs/sections/teaching.md",
    "docs/readme/engine.md",
    "docs/sections/nn.md",
    "docs/sections/viz.md",
    "docs/sections/stepper.md",
    "docs/sections/cli.md",
    "docs/sections/performance.md",
    "docs/readme/reliability.md",
    "docs/readme/tail.md",
]
text = "\n".join(Path(p).read_text(encoding="utf-8").strip() + "\n" for p in PARTS)
Path("README.md").write_text(text, encoding="utf-8")
print(len(text.splitlines()), "lines")
