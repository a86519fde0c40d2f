"""`dictate vocabulary import` and `export` as a user runs them."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from tests.conftest import write_config
from tests.rig import proc


def test_import_adds_new_entries_beside_the_config_and_export_prints_all(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, '[text]\nvocabulary = ["Kubernetes"]\n')
    listing = home / "terms.txt"
    listing.write_text("PostgreSQL\nKubernetes\n\n# a comment\nVisual Studio Code\nPostgreSQL\nZoë\n")
    done = proc.run(["vocabulary", "import", str(listing)], user_env)
    assert done.returncode == 0, done.stderr
    assert "3 new entries added" in done.stderr and "(1 already in the vocabulary)" in done.stderr and done.stdout == ""
    stored = home / ".config" / "dictate" / "vocabulary.txt"
    assert stored.read_text() == "PostgreSQL\nVisual Studio Code\nZoë\n"
    again = proc.run(["vocabulary", "import", str(listing)], user_env)
    assert "0 new entries added" in again.stderr
    assert stored.read_text() == "PostgreSQL\nVisual Studio Code\nZoë\n"
    exported = proc.run(["vocabulary", "export"], user_env)
    assert exported.stdout == "Kubernetes\nPostgreSQL\nVisual Studio Code\nZoë\n"
    out = home / "out.txt"
    assert proc.run(["vocabulary", "export", str(out)], user_env).returncode == 0
    assert out.read_text() == exported.stdout
    shown = proc.run(["config", "show"], user_env).stdout
    assert 'vocabulary = ["Kubernetes", "PostgreSQL", "Visual Studio Code", "Zoë"]' in shown


def test_import_without_a_file_or_of_a_missing_file_is_a_usage_error(user_env: dict[str, str], home: Path) -> None:
    missing = proc.run(["vocabulary", "import"], user_env)
    assert missing.returncode == 2 and "needs a FILE" in missing.stderr
    gone = proc.run(["vocabulary", "import", str(home / "nope.txt")], user_env)
    assert (
        gone.returncode == 2
        and gone.stderr == f"dictate: cannot read the vocabulary list {home / 'nope.txt'}: No such file or directory\n"
    )


def test_help_says_where_the_list_lives(user_env: dict[str, str]) -> None:
    shown = proc.run(["vocabulary", "--help"], user_env).stdout
    assert "vocabulary.txt beside the config" in " ".join(shown.split())


def test_export_writes_into_a_pipe_or_device_and_never_replaces_it(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, '[text]\nvocabulary = ["Kubernetes", "Zoë"]\n')
    assert proc.run(["vocabulary", "export", "-"], user_env).stdout == "Kubernetes\nZoë\n"
    fifo = home / "fifo"
    os.mkfifo(fifo)
    heard: list[bytes] = []
    reader = threading.Thread(target=lambda: heard.append(fifo.read_bytes()))
    reader.start()
    done = proc.run(["vocabulary", "export", str(fifo)], user_env)
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert heard == ["Kubernetes\nZoë\n".encode()] and stat.S_ISFIFO(fifo.stat().st_mode)
    nobody = proc.run(["vocabulary", "export", str(fifo)], user_env)
    assert (nobody.returncode, nobody.stderr) == (2, f"dictate: cannot write {fifo}: nobody reads from it\n")
    device = home / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own (root, as in CI)
    assert proc.run(["vocabulary", "export", str(device)], user_env).returncode == 0
    assert stat.S_ISCHR(device.stat().st_mode)


def test_import_through_a_link_keeps_the_link_and_refuses_a_pipe(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, "")
    dotfiles = home / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "vocabulary.txt").write_text("Kubernetes\n")
    (dotfiles / "vocabulary.txt").chmod(0o600)
    stored = home / ".config" / "dictate" / "vocabulary.txt"
    stored.symlink_to(dotfiles / "vocabulary.txt")
    done = proc.run(["vocabulary", "import", "-"], user_env, input="PostgreSQL\n")
    assert done.returncode == 0, done.stderr
    assert stored.is_symlink() and (dotfiles / "vocabulary.txt").read_text() == "Kubernetes\nPostgreSQL\n"
    assert stat.S_IMODE((dotfiles / "vocabulary.txt").stat().st_mode) == 0o600
    stored.unlink()
    os.mkfifo(stored)
    refused = proc.run(["vocabulary", "import", "-"], user_env, input="Redis\n")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"dictate: the vocabulary list {stored}: nothing came for 5 s (a pipe with no writer?); nothing was read\n"
    )
    assert stat.S_ISFIFO(stored.stat().st_mode)


def test_inputs_that_never_end_or_are_not_lists_are_one_line_and_write_nothing(
    home: Path, user_env: dict[str, str]
) -> None:
    write_config(home, "")
    stored = home / ".config" / "dictate" / "vocabulary.txt"
    endless = proc.run(["vocabulary", "import", "/dev/zero"], user_env)
    assert (endless.returncode, endless.stderr) == (
        2,
        "dictate: the vocabulary list /dev/zero is over 16 MB; nothing was read\n",
    )
    fifo = home / "fifo"
    os.mkfifo(fifo)
    waiting = proc.run(["vocabulary", "import", str(fifo)], user_env)
    assert waiting.returncode == 2 and waiting.stderr == (
        f"dictate: the vocabulary list {fifo}: nothing came for 5 s (a pipe with no writer?); nothing was read\n"
    )
    minified = home / "terms.json"
    minified.write_text("Kubernetes\n" + '{"a": 1, ' * 100 + "}\n")
    long_line = proc.run(["vocabulary", "import", str(minified)], user_env)
    assert long_line.returncode == 2 and long_line.stderr == (
        f"dictate: {minified}, line 2: an entry of 901 characters; a vocabulary entry is a word, a name or a phrase "
        "of at most 200 characters, one a line\n"
    )
    assert not stored.exists()
