"""Atomic writers and the file hasher: permissions as a plain mkdir/open, nothing half-written."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from pipelines.files import (
    atomic_dir,
    atomic_file,
    fingerprint,
    kept_secret,
    replace_symlink,
    sha256_file,
)


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


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
