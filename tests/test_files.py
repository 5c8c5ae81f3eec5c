"""atomic_write gives files the permissions a plain open() would."""

from __future__ import annotations

import os
import stat

from chainrule.autograd.files import atomic_write


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
    import pytest

    missing = tmp_path / "no such folder" / "graph.svg"
    with pytest.raises(FileNotFoundError) as info:
        atomic_write(missing, "x")
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
