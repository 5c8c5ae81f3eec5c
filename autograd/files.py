"""``atomic_write``: the one way the project writes a file.

The data goes to a temporary file in the same folder, is flushed to disk, and
only then renamed over the target. A rename within a folder is atomic, so a
reader (or a crash) sees either the old file whole or the new file whole,
never half of one.

What the target is decides how it is written:

* a regular file, or nothing yet: the temporary file and the rename above;
* a symbolic link: the same, beside the file the link points to, so the link
  stays a link and its target gets the new bytes (as ``open()`` would do);
* a FIFO or a character device (``/dev/null``, ``/dev/stdout``): written
  directly, never replaced, since renaming a plain file over ``/dev/null``
  would take the device away from the whole system;
* a folder, a socket or a block device: refused with an ``OSError`` naming it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

#: What mkstemp adds to the prefix: 8 random characters, then the suffix.
_RANDOM, _SUFFIX = 8, ".tmp"


def atomic_write(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` all at once; on any failure the old file is untouched.

    Raises ``OSError`` naming ``path`` (never the temporary file) if the folder is
    missing or not writable, the disk is full (``ENOSPC``) or the target is
    something that cannot hold a file. Returns the path written.
    """
    if str(path) == "":
        raise FileNotFoundError(errno.ENOENT, "an empty path names no file", "")
    target = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    real = resolve_target(target)
    kind = _kind(real)
    if kind == "stream":
        _write_stream(real, payload, target)
        return target
    if kind == "folder":
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(target))
    if kind == "other":
        raise OSError(errno.EINVAL, "it is not a regular file, a FIFO or a character device", str(target))
    folder = real.parent
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=_temporary_prefix(real), suffix=_SUFFIX)
    except OSError as e:
        # The error would name the temporary file, which the caller never asked for.
        raise type(e)(e.errno, e.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file private (0600); give it the mode a plain open() would.
            os.fchmod(f.fileno(), _mode_for(real))
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, real)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(e, OSError) and e.errno is not None:
            raise type(e)(e.errno, e.strerror, str(target)) from None
        raise
    return target


def resolve_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` lands in: ``path`` with every symbolic link followed.

    A link whose target does not exist yet resolves to where that target would be,
    as ``open(path, "w")`` would create it.
    """
    return Path(os.path.realpath(path))


def is_stream(path: str | os.PathLike) -> bool:
    """True for an existing FIFO or character device (after links): written directly, never replaced."""
    return _kind(resolve_target(path)) == "stream"


def _kind(real: Path) -> str:
    """``"new"``, ``"file"``, ``"stream"`` (FIFO, character device), ``"folder"`` or ``"other"``."""
    try:
        mode = os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there yet (the folder may be missing too)
        return "new"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return "stream"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def _write_stream(real: Path, payload: bytes, target: Path) -> None:
    """Write to a FIFO or a device in place: no temporary file, no rename, every byte or an error.

    A FIFO is opened without blocking, so a FIFO nobody reads is an error
    (ENXIO) rather than a command that hangs for ever.
    """
    try:
        fd = os.open(real, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        reason = "no process is reading from this FIFO" if e.errno == errno.ENXIO else e.strerror
        raise type(e)(e.errno, reason, str(target)) from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)  # ENOSPC (/dev/full) and EPIPE surface here
            view = view[written:]
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(target)) from None
    finally:
        os.close(fd)


def _temporary_prefix(real: Path) -> str:
    """``.name.``, shortened so the temporary name stays within the folder's NAME_MAX.

    A legal 255-byte name plus mkstemp's 14 characters would be "File name too long".
    """
    try:
        name_max = os.pathconf(real.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    room = name_max - 2 - _RANDOM - len(_SUFFIX)  # 2: the dots before and after the name
    name = real.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]  # whole characters, so a UTF-8 name is never cut inside a character
    return f".{name}."


def _mode_for(real: Path) -> int:
    """The old file's permissions if it exists, else 0666 less the umask, as open() would."""
    try:
        return real.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask. Linux reports it in /proc; elsewhere, set it and put it back."""
    with contextlib.suppress(OSError):  # no /proc: the portable way below
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
