"""atomic_write gives files the permissions a plain open() would, and writes through links, FIFOs and devices
without replacing them."""

from __future__ import annotations

import errno
import os
import stat
import threading

import pytest
from chainrule.autograd.files import atomic_write, is_stream


def test_new_files_follow_the_umask_and_old_files_keep_their_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "new.txt", "hello")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o600)
        atomic_write(path, "again")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == "again"
    finally:
        os.umask(old)


def test_a_write_that_cannot_start_names_the_path_asked_for(tmp_path):
    missing = tmp_path / "no such folder" / "graph.svg"
    with pytest.raises(FileNotFoundError) as info:
        atomic_write(missing, "x")
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)


# --- what the target is decides how it is written (issue 18, items 2 and 8) --------------------------

def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "graph.svg"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["graph.svg"]  # written beside the target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.svg", "real"]


def test_a_dangling_symlink_creates_its_target_with_the_umask_mode(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    old = os.umask(0o027)
    try:
        atomic_write(link, "{}")
    finally:
        os.umask(old)
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "{}"
    assert stat.S_IMODE((tmp_path / "made.json").stat().st_mode) == 0o640


def test_a_character_device_is_written_directly_and_not_replaced():
    before = os.stat("/dev/null")
    atomic_write("/dev/null", "x" * 100_000)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert is_stream("/dev/null")


def test_a_full_device_is_a_failure_naming_the_path(tmp_path):
    with pytest.raises(OSError) as info:
        atomic_write("/dev/full", "data")
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/dev/full"
    link = tmp_path / "out.svg"
    link.symlink_to("/dev/full")
    with pytest.raises(OSError) as info:
        atomic_write(link, "data")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(link)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)  # the link and the device stay


def test_a_fifo_is_written_directly_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    payload = "é" * 200_000  # more than a pipe buffer holds: the write must wait for the reader
    for _ in range(500):  # until the reader has opened its end (without it, the write is refused)
        try:
            atomic_write(fifo, payload)
            break
        except OSError as e:
            assert e.errno == errno.ENXIO
            threading.Event().wait(0.01)
    reader.join(timeout=60)
    assert received == [payload.encode("utf-8")]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(os.listdir(tmp_path)) == ["pipe"]


def test_a_fifo_nobody_reads_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="no process is reading") as info:
        atomic_write(fifo, "data")
    assert info.value.filename == str(fifo) and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_folder_is_refused_naming_it_not_a_temporary_file(tmp_path):
    (tmp_path / "stepper.html").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic_write(tmp_path / "stepper.html", "<p>")
    assert info.value.filename == str(tmp_path / "stepper.html") and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == ["stepper.html"]


def test_an_empty_path_is_refused():
    with pytest.raises(FileNotFoundError, match="empty path"):
        atomic_write("", "x")


@pytest.mark.parametrize("length", [241, 242, 250, 255])
def test_names_up_to_name_max_can_be_written(tmp_path, length):
    name = "g" * (length - 4) + ".svg"
    atomic_write(tmp_path / name, "<svg/>")
    assert (tmp_path / name).read_text() == "<svg/>" and os.listdir(tmp_path) == [name]


def test_a_long_utf8_name_is_shortened_by_whole_characters(tmp_path):
    name = "é" * 125 + ".svg"  # 254 bytes
    atomic_write(tmp_path / name, "<svg/>")
    assert os.listdir(tmp_path) == [name]
