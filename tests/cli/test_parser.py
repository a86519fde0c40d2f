"""The grammar as a user meets it: a mistyped command or choice is one line with the closest one."""

from __future__ import annotations

import pytest

from tests.rig import proc


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["trnscribe", "a.wav"], "dictate: unknown command 'trnscribe'; did you mean `dictate transcribe`?"),
        (["hisotry"], "dictate: unknown command 'hisotry'; did you mean `dictate history`?"),
        (
            ["ctl", "stp"],
            "dictate: action 'stp' is not one of start, stop, toggle, cancel, status, pause, resume, quit; "
            "did you mean 'stop'?",
        ),
        (["config", "chek"], "dictate: action 'chek' is not one of path, show, init, check; did you mean 'check'?"),
        (
            ["service", "instal"],
            "dictate: action 'instal' is not one of install, uninstall, start, stop, status; did you mean 'install'?",
        ),
    ],
)
def test_a_mistyped_command_names_the_closest_one(user_env: dict[str, str], argv: list[str], line: str) -> None:
    result = proc.run(argv, user_env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")


def test_a_word_like_no_command_lists_them_all(user_env: dict[str, str]) -> None:
    result = proc.run(["xyzzy"], user_env)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("dictate: unknown command 'xyzzy'; commands: run, ctl, notes,")
    assert line.endswith("key, service, completion")
