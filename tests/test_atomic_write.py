"""``autograd.files.atomic_write``: a crash at any point leaves the old file whole and no litter.

Every file the project writes (models, SVG, HTML, plots, frames) goes through
this one helper, so its failure behaviour is tested here by injecting
failures at each step of a write: while the bytes go out, at the flush to
disk, at the final rename, and with an interrupt (a BaseException) mid-write.
Each time the previous file must be byte for byte what it was, the error must
reach the caller, and no temporary file may be left in the folder.
"""

from __future__ import annotations

import os
import stat
import threading

import pytest
from chainrule.autograd.files import atomic_write

OLD = b"the previous version, whole\n" * 100
NEW = "the new version, \u00e9crite en UTF-8\n" * 1000


@pytest.fixture
def existing(tmp_path):
    target = tmp_path / "model.json"
    target.write_bytes(OLD)
    return target


def litter(folder) -> list[str]:
    """Everything in the folder but the target itself."""
    return sorted(p.name for p in folder.iterdir() if p.name != "model.json")


class HalfWrite:
    """A file object that writes the first half of what it is given, then fails like a full disk."""

    def __init__(self, real, error: BaseException):
        self.real = real
        self.error = error

    def write(self, data):
        self.real.write(data[: len(data) // 2])
        self.real.flush()
        raise self.error

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()
        return False


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_halfway_through_the_bytes_leaves_the_old_file(existing, monkeypatch, error):
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWrite(real_fdopen(fd, mode), error))
    with pytest.raises(type(error)):
        atomic_write(existing, NEW)
    assert existing.read_bytes() == OLD
    assert litter(existing.parent) == []


def test_a_failure_at_the_flush_to_disk_leaves_the_old_file(existing, monkeypatch):
    def fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="Input/output"):
        atomic_write(existing, NEW)
    assert existing.read_bytes() == OLD
    assert litter(existing.parent) == []


def test_a_failure_at_the_rename_leaves_the_old_file(existing, monkeypatch):
    seen = []

    def replace(src, dst):
        seen.append(os.path.basename(src))
        assert os.path.getsize(src) == len(NEW.encode())  # the new bytes were all on disk, under a temp name
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        atomic_write(existing, NEW)
    assert existing.read_bytes() == OLD
    assert litter(existing.parent) == []
    assert seen and seen[0].startswith(".model.json.")  # the temporary file was hidden and next to the target


def test_a_failure_on_a_new_path_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    with pytest.raises(OSError):
        atomic_write(tmp_path / "model.json", NEW)
    assert list(tmp_path.iterdir()) == []


def test_text_that_cannot_be_encoded_fails_before_touching_the_disk(existing):
    with pytest.raises(UnicodeEncodeError):
        atomic_write(existing, "a lone surrogate \ud800")
    assert existing.read_bytes() == OLD
    assert litter(existing.parent) == []


def test_a_missing_folder_is_an_os_error_naming_it(tmp_path):
    folder = tmp_path / "no" / "such" / "folder"
    with pytest.raises(OSError) as info:
        atomic_write(folder / "model.json", NEW)
    assert str(folder) in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", [NEW, NEW.encode("utf-8"), bytearray(b"\x00\xff" * 10)])
def test_a_successful_write_replaces_the_file_and_leaves_nothing_else(existing, data):
    result = atomic_write(existing, data)
    assert result == existing
    expected = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    assert existing.read_bytes() == expected
    assert litter(existing.parent) == []


def test_an_encoding_can_be_chosen(existing):
    atomic_write(existing, "\u00e9t\u00e9", encoding="latin-1")
    assert existing.read_bytes() == b"\xe9t\xe9"


def test_a_reader_sees_the_old_file_or_the_new_one_never_a_mix(tmp_path):
    # Two versions alternate while a reader keeps reading: every read must be one of them, whole.
    target = tmp_path / "model.json"
    versions = [b"A" * 1_000_000, b"B" * 1_500_000]
    atomic_write(target, versions[0])
    torn = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            content = target.read_bytes()
            if content not in versions:
                torn.append(len(content))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(60):
            atomic_write(target, versions[i % 2])
    finally:
        stop.set()
        thread.join()
    assert torn == []
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_a_replaced_file_keeps_its_permissions(existing):
    os.chmod(existing, 0o640)
    atomic_write(existing, NEW)
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o640  # not the temporary file's private 0600


def test_a_new_file_gets_the_permissions_of_a_plain_open(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.svg", "<svg/>")
        with open(tmp_path / "plain.svg", "w") as f:
            f.write("<svg/>")
    finally:
        os.umask(umask)
    mode = {name: stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in ("new.svg", "plain.svg")}
    assert mode["new.svg"] == mode["plain.svg"] == 0o644
