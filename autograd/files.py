"""``atomic_write``: the one way the project writes a file.

The data goes to a temporary file in the same folder, is flushed to disk, and
only then renamed over the target. A rename within a folder is atomic, so a
reader (or a crash) sees either the old file whole or the new file whole,
never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` all at once; on any failure the old file is untouched.

    Raises ``OSError`` with the path in its message if the folder is missing or
    not writable. Returns the path written.
    """
    target = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, _mode_for(target))
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return target


def _mode_for(target: Path) -> int:
    """The old file's permissions if it exists, else 0666 less the umask, as open() would."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
