"""`dictate vocabulary import` and `export` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_config
from tests.rig import proc


def test_import_adds_new_entries_beside_the_config_and_export_prints_all(home: Path, user_env: dict[str, str]) -> None:
    write_config(home, '[text]\nvocabulary = ["Kubernetes"]\n')
    listing = home / "terms.txt"
    listing.write_text("PostgreSQL\nKubernetes\n\n# a comment\nVisual Studio Code\nPostgreSQL\nZoë\n")
    done = proc.run(["vocabulary", "import", str(listing)], user_env)
    assert done.returncode == 0, done.stderr
    assert "3 new entries added" in done.stderr and done.stdout == ""
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
    assert gone.returncode == 2 and "cannot read the vocabulary file" in gone.stderr


def test_help_says_where_the_list_lives(user_env: dict[str, str]) -> None:
    shown = proc.run(["vocabulary", "--help"], user_env).stdout
    assert "vocabulary.txt beside the config" in " ".join(shown.split())
