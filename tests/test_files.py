"""dictate.files: small files replaced whole, and small inputs read within bounds."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from dictate.errors import DictateError
from dictate.files import NotRegularFile, read_small, replace_file


def folder(tmp_path: Path) -> Path:
    """A folder of the test's own (the suite puts a home in tmp_path)."""
    made = tmp_path / "files"
    made.mkdir()
    return made


def test_a_file_is_replaced_whole_keeping_its_mode(tmp_path: Path) -> None:
    tmp_path = folder(tmp_path)
    path = tmp_path / "list.txt"
    path.write_text("old\n")
    path.chmod(0o600)
    replace_file(path, b"new\n")
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    replace_file(tmp_path / "fresh.txt", b"x")
    assert stat.S_IMODE((tmp_path / "fresh.txt").stat().st_mode) == 0o644
    replace_file(path, b"key\n", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt", "list.txt"]  # no temporary file left


def test_a_link_is_followed_and_kept(tmp_path: Path) -> None:
    """A list kept in a dotfiles repository, linked from where dictate looks for it."""
    (tmp_path / "dotfiles").mkdir()
    real = tmp_path / "dotfiles" / "vocabulary.txt"
    real.write_text("Kubernetes\n")
    link = tmp_path / "vocabulary.txt"
    link.symlink_to(real)
    replace_file(link, b"Kubernetes\nPostgreSQL\n")
    assert link.is_symlink() and real.read_text() == "Kubernetes\nPostgreSQL\n"
    dangling = tmp_path / "new.txt"
    dangling.symlink_to(tmp_path / "dotfiles" / "new.txt")
    replace_file(dangling, b"made\n")
    assert dangling.is_symlink() and (tmp_path / "dotfiles" / "new.txt").read_text() == "made\n"


@pytest.mark.parametrize("kind", ["pipe", "device", "folder", "link to a pipe"])
def test_what_is_not_a_regular_file_is_left_alone(tmp_path: Path, kind: str) -> None:
    tmp_path = folder(tmp_path)
    path = tmp_path / "target"
    if kind in ("pipe", "link to a pipe"):
        os.mkfifo(tmp_path / "fifo")
        path = tmp_path / "fifo"
        if kind == "link to a pipe":
            path = tmp_path / "link"
            path.symlink_to(tmp_path / "fifo")
    elif kind == "device":
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own (root, as in CI)
    else:
        path.mkdir()
    before = os.stat(path).st_mode
    with pytest.raises(NotRegularFile) as info:
        replace_file(path, b"data")
    assert info.value.strerror.endswith("is there, not a regular file; nothing was written")
    assert os.stat(path).st_mode == before
    assert len(list(tmp_path.iterdir())) == (2 if "link" in kind else 1)


def test_small_inputs_are_read_within_bounds(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"a\nb\n")
    assert read_small(str(path), "the list", 100) == b"a\nb\n"
    with pytest.raises(DictateError, match=r"^the list .*list\.txt is over 3 bytes; nothing was read$"):
        read_small(str(path), "the list", 3)
    with pytest.raises(DictateError, match=r"^the list /dev/zero is over 1 MB; nothing was read$"):
        read_small("/dev/zero", "the list", 2**20)
    with pytest.raises(DictateError, match=r"^cannot read the list .*: it is a folder$"):
        read_small(str(tmp_path), "the list", 100)


def test_a_pipe_is_read_to_its_end_and_one_with_no_writer_ends(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as writer:
            writer.write(b"Zo\xc3\xab\n")

    writer = threading.Thread(target=write)
    writer.start()
    assert read_small(str(fifo), "the list", 100) == "Zoë\n".encode()
    writer.join()
    with pytest.raises(DictateError, match=r"nothing came for 0\.2 s \(a pipe with no writer\?\); nothing was read$"):
        read_small(str(fifo), "the list", 100, wait=0.2)
