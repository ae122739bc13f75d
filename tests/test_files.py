"""Atomic writers and the file hasher: permissions as a plain mkdir/open, nothing half-written."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from pipelines import files
from pipelines.files import (
    atomic_dir,
    atomic_file,
    clear_stale,
    fingerprint,
    kept_secret,
    replace_symlink,
    sha256_file,
)
from pipelines.locking import Busy, exclusive_lock
from tests.conftest import kill, leftovers, paused_at_rename


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_dir_has_the_permissions_of_a_plain_mkdir(tmp_path, umask):
    (tmp_path / "plain").mkdir()
    with atomic_dir(tmp_path / "out") as out:
        (out / "sub").mkdir()
        (out / "sub" / "table.csv").write_text("a\n1\n")
    assert mode(tmp_path / "out") == mode(tmp_path / "plain") == 0o777 & ~umask
    assert mode(tmp_path / "out" / "sub" / "table.csv") == 0o666 & ~umask


def test_atomic_file_has_the_permissions_of_a_plain_file(tmp_path, umask):
    with atomic_file(tmp_path / "deep" / "report.json") as tmp:
        tmp.write_text("{}\n")
    assert mode(tmp_path / "deep" / "report.json") == 0o666 & ~umask
    assert mode(tmp_path / "deep") == 0o777 & ~umask


def test_a_failing_dir_writer_keeps_the_old_folder_and_leaves_nothing(tmp_path):
    with atomic_dir(tmp_path / "out") as out:
        (out / "v1.txt").write_text("one")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as out:
        (out / "v2.txt").write_text("half")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["v1.txt"]
    assert leftovers(tmp_path) == []


def test_a_failing_first_write_leaves_no_folder_or_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as out:
        (out / "part.txt").write_text("half")
        raise RuntimeError("writer failed")
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "report.json") as tmp:
        tmp.write_text('{"half": ')
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_file_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("new, half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_replace_symlink_repoints_in_place(tmp_path):
    for name in ("2025-01-01", "2025-02-01"):
        (tmp_path / name).mkdir()
        replace_symlink(tmp_path / "latest", name)
        assert os.readlink(tmp_path / "latest") == name
    assert leftovers(tmp_path) == []


def test_sha256_file_and_fingerprint_hash_bytes_and_names(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * (3 << 20))  # several read blocks
    assert sha256_file(tmp_path / "a.bin") == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    before = fingerprint([tmp_path])
    assert fingerprint([tmp_path / "a.bin"]) == before
    (tmp_path / "a.bin").rename(tmp_path / "b.bin")
    assert fingerprint([tmp_path]) != before


def test_a_kept_secret_is_made_once_for_its_owner_alone(tmp_path, umask):
    path = tmp_path / "data" / ".id_salt"
    secret = kept_secret(path)
    assert len(secret) == 32 and int(secret, 16) >= 0
    assert mode(path) == 0o600 and leftovers(path.parent) == []
    assert kept_secret(path) == secret  # kept across runs


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipelines.files import atomic_dir, atomic_file
    folder = Path(sys.argv[1])
    with atomic_dir(folder / "out") as out:
        (out / "v2.txt").write_text("two")
    with atomic_file(folder / "report.json") as tmp:
        tmp.write_text("new")
    """
)


def _dead_pid() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(finished.stdout)


@pytest.mark.parametrize("target", ["out", "report.json"])
def test_a_writer_killed_at_its_rename_keeps_the_old_version_and_the_next_cleans_up(
    tmp_path, target
):
    with atomic_dir(tmp_path / "out") as out:
        (out / "v1.txt").write_text("one")
    (tmp_path / "report.json").write_text("old")
    before = fingerprint([tmp_path / target])

    kill(paused_at_rename([sys.executable, "-c", WRITER, str(tmp_path)], f"*/{target}"))

    assert fingerprint([tmp_path / target]) == before
    assert len(leftovers(tmp_path)) == 1  # the killed writer's temporary
    with atomic_dir(tmp_path / "out") as out:
        (out / "v3.txt").write_text("three")
    with atomic_file(tmp_path / "report.json") as tmp:
        tmp.write_text("newer")
    assert leftovers(tmp_path) == []
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["v3.txt"]


def test_a_writer_let_go_after_the_pause_finishes(tmp_path):
    writer = paused_at_rename([sys.executable, "-c", WRITER, str(tmp_path)], "*/out")
    writer.communicate("\n")
    assert writer.returncode == 0
    assert (tmp_path / "out" / "v2.txt").read_text() == "two" and leftovers(tmp_path) == []


def test_stale_temporaries_of_live_writers_stay_and_a_set_aside_folder_comes_back(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    (tmp_path / f".out.old-{dead}-0123abcd").mkdir()  # killed between two renames: out missing
    (tmp_path / f".out.old-{dead}-0123abcd" / "v1.txt").write_text("one")
    (tmp_path / f".out.tmp-{dead}-4567cdef").mkdir()
    (tmp_path / f".out.tmp-{live}-89abcdef").mkdir()  # a writer still at work
    (tmp_path / f".other.tmp-{dead}-0123abcd").mkdir()  # another target's
    clear_stale(tmp_path / "out")
    assert (tmp_path / "out" / "v1.txt").read_text() == "one"
    assert leftovers(tmp_path) == [f".other.tmp-{dead}-0123abcd", f".out.tmp-{live}-89abcdef"]


def test_the_lock_refuses_a_second_holder_at_once_and_is_free_after(tmp_path, umask):
    lock = tmp_path / "exports" / ".lock"
    busy = pytest.raises(Busy, match="held by another process")
    with exclusive_lock(lock), busy, exclusive_lock(lock):  # a second open file: as a process
        pass
    with exclusive_lock(lock):
        pass
    assert mode(lock) == 0o666 & ~umask  # readable by whoever reads the exports


def test_a_folder_replaces_another_in_one_step_or_by_two_renames(tmp_path, monkeypatch):
    for name in ("new", "old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
    if not files._exchange(tmp_path / "new", tmp_path / "old"):
        pytest.skip("no renameat2 exchange here: replace_dir uses two renames")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["new.txt"]
    monkeypatch.setattr(files, "_exchange", lambda first, second: False)
    with atomic_dir(tmp_path / "old") as out:
        (out / "fallback.txt").write_text("two renames")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["fallback.txt"]
    assert leftovers(tmp_path) == []
