import json
import os
from pathlib import Path

import pytest

from streamt1.outputs.atomic import (
    atomic_path,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    ensure_folder,
)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_helpers_write_and_replace(tmp_path):
    target = tmp_path / "sub" / "out.bin"  # missing parent folders are created
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    atomic_write_text(tmp_path / "t.txt", "héllo")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    atomic_write_json(tmp_path / "d.json", {"a": [1, 2.5, None]})
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": [1, 2.5, None]}
    assert _leftovers(tmp_path) == ["d.json", "sub", "t.txt"]
    assert _leftovers(tmp_path / "sub") == ["out.bin"]


def test_error_inside_block_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target, "w") as f:
            f.write("half written")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == ["out.txt"]


def test_error_on_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "video.mp4") as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and tmp.name.startswith(".")
            tmp.write_bytes(b"partial")
            raise RuntimeError("encoder died")
    assert _leftovers(tmp_path) == []


def test_nothing_visible_at_destination_until_done(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as f:
        f.write(b"x" * 1000)
        assert not target.exists()
    assert target.stat().st_size == 1000


def test_new_file_gets_normal_permissions(tmp_path):
    target = tmp_path / "perm.txt"
    atomic_write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_unserialisable_json_never_touches_disk(tmp_path):
    with pytest.raises(ValueError, match="cannot write .* as JSON"):
        atomic_write_json(tmp_path / "bad.json", {"x": float("nan")})
    assert _leftovers(tmp_path) == []


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="mode='a'"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic_write_bytes(tmp_path, b"x")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("inside", [(), ("deeper",)])
def test_a_file_where_a_folder_belongs_is_named(tmp_path, inside):
    (tmp_path / "out").write_text("x")
    folder = tmp_path.joinpath("out", *inside)
    for write in (lambda: atomic_write_text(folder / "a.json", "{}"), lambda: ensure_folder(folder)):
        with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'out'} is a file, not a folder"):
            write()
    assert _leftovers(tmp_path) == ["out"]
    assert ensure_folder(tmp_path / "new" / "sub") == tmp_path / "new" / "sub" and (tmp_path / "new" / "sub").is_dir()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc on this system")
def test_a_folder_a_file_system_refuses_is_named_with_the_way_out():
    # /proc takes no new folders (ENOENT for root; a user may get EACCES, which the CLI words itself)
    with pytest.raises(OSError) as info:
        ensure_folder(Path("/proc/streamt1-test/sub"))
    if isinstance(info.value, PermissionError):
        pytest.skip("this user may not write /proc at all")
    assert str(info.value) == ("cannot create the folder /proc/streamt1-test/sub (No such file or directory): pass a "
                               "folder on a file system that takes new files, e.g. another --out")
