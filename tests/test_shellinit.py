"""`dictate shell-init`: the snippets parse in the real shells, bind the key, and refuse unsafe keys."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from dictate import shellinit
from tests.conftest import rig_unavailable
from tests.rig import proc

SYNTAX_CHECK = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}

# Load the snippet in an interactive shell (without the user's startup files) and list the bindings.
LIST_BINDINGS = {
    "bash": ["bash", "--norc", "--noprofile", "-i", "-c", "source {file}; bind -m emacs -X; bind -m vi-insert -X"],
    "zsh": ["zsh", "-f", "-i", "-c", "source {file}; bindkey -M emacs; bindkey -M viins"],
    "fish": ["fish", "--no-config", "-i", "-c", "source {file}; bind"],
}

GOOD_KEYS = {
    "bash": [r"\C-x\C-v", r"\ev", r"\C-g", r"\M-\C-d", r"\e[15~", r"\C-xd", r"\033v", r"\x18\x16"],
    "zsh": ["^X^V", r"\ev", "^G", r"\M-d", "^[[15~", r"\C-xd", "^Xd"],
    "fish": [r"\cx\cv", r"\ev", r"\cg", r"\e\[15~", r"\e\[1\;5C", r"\cxd", "ctrl-x,ctrl-v", "alt-v"],
}

BAD_KEYS = {
    "bash": [
        "",
        r'\C-x": echo pwned; #',
        r"\C-x' ; touch pwned; '",
        "\\",
        r"\C-x\\",
        "a b",
        "$(touch pwned)",
        "`touch pwned`",
        "\\C-x\n",
        "x" * 65,
    ],
    "zsh": ["", "^X'; touch pwned; '", "$(touch pwned)", "\\", "^X ^V", "^X\n", "`id`"],
    "fish": [
        "",
        r"\cx; touch pwned",
        "(touch pwned)",
        "$HOME",
        "~x",
        "a*",
        "x'y",
        "[x",
        r"\cx\\",
        "{a,b}",
        "a#b",
        "%self",
    ],
}


def need(shell: str) -> str:
    if shutil.which(shell) is None:
        rig_unavailable(f"{shell} is not installed (apt-get install {shell})")
    return shell


@pytest.fixture(params=shellinit.SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return need(request.param)


def test_default_snippets_parse_in_their_shell(shell: str, tmp_path: Path) -> None:
    file = tmp_path / f"snippet.{shell}"
    file.write_text(shellinit.snippet(shell, ["/opt/dictate env/bin/dictate"]))
    result = subprocess.run([*SYNTAX_CHECK[shell], str(file)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_cli_prints_a_snippet_that_binds_ctrl_x_ctrl_v(
    shell: str, tmp_path: Path, user_env: dict[str, str]
) -> None:
    result = proc.run(["shell-init", shell], user_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    file = tmp_path / f"snippet.{shell}"
    file.write_text(result.stdout)
    listing = _bindings(shell, file, user_env)
    expected = {"bash": '"\\C-x\\C-v": "__dictate_insert"', "zsh": '"^X^V" __dictate_insert', "fish": None}[shell]
    if shell == "fish":
        assert "bind \\cx\\cv __dictate_insert" in listing
        assert "bind -M insert \\cx\\cv __dictate_insert" in listing
    else:
        assert listing.count(expected) == 2, listing  # emacs and vi insert keymaps


@pytest.mark.parametrize(("shell_name", "key"), [(s, k) for s in shellinit.SHELLS for k in GOOD_KEYS[s]])
def test_keys_in_the_shells_notation_are_accepted_and_bound(shell_name: str, key: str, tmp_path: Path) -> None:
    need(shell_name)
    file = tmp_path / f"snippet.{shell_name}"
    file.write_text(shellinit.snippet(shell_name, ["dictate"], key))
    syntax = subprocess.run([*SYNTAX_CHECK[shell_name], str(file)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    listing = _bindings(shell_name, file, proc.clean_env(tmp_path / "home"))
    assert listing.count("__dictate_insert") == 2, listing


@pytest.mark.parametrize("shell_name", shellinit.SHELLS)
def test_unsafe_or_malformed_keys_are_refused(shell_name: str) -> None:
    for key in BAD_KEYS[shell_name]:
        with pytest.raises(shellinit.BadKey) as caught:
            shellinit.snippet(shell_name, ["dictate"], key)
        assert caught.value.exit_code == 2
        assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("shell_name", "key"),
    [("bash", r'\C-x": touch pwned #'), ("zsh", "^X'; touch pwned; '"), ("fish", r"\cx; touch pwned")],
)
def test_a_bad_key_is_a_one_line_usage_error(shell_name: str, key: str, user_env: dict[str, str]) -> None:
    result = proc.run(["shell-init", shell_name, "--key", key], user_env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"dictate: invalid --key for {shell_name}: ")
    assert "notation such as" in result.stderr


def test_an_unknown_shell_is_a_usage_error(user_env: dict[str, str]) -> None:
    result = proc.run(["shell-init", "tcsh"], user_env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "dictate: shell 'tcsh' is not one of bash, zsh, fish; see `dictate shell-init --help`\n"


def test_the_snippet_runs_the_dictate_that_printed_it(tmp_path: Path) -> None:
    main = tmp_path / "site" / "dictate" / "__main__.py"
    assert shellinit.dictate_command(str(main), "/venv/bin/python", safe_path=True) == [
        "/venv/bin/python",
        "-P",
        "-m",
        "dictate",
    ]
    assert shellinit.dictate_command(str(main), "/venv/bin/python", safe_path=False) == [
        "/venv/bin/python",
        "-m",
        "dictate",
    ]
    script = tmp_path / "bin" / "dictate"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert shellinit.dictate_command(str(script), "/usr/bin/python3") == [str(script)]


def test_without_a_known_program_the_snippet_uses_dictate_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shellinit.dictate_command("/usr/bin/pytest", "/usr/bin/python3") == ["dictate"]
    (tmp_path / "dictate").write_text("#!/bin/sh\n")
    (tmp_path / "dictate").chmod(0o755)
    assert shellinit.dictate_command("/usr/bin/pytest", "/usr/bin/python3") == [str(tmp_path / "dictate")]


NASTY_WORDS = [
    "plain",
    "/opt/dictate env/bin/dictate",
    "it's",
    'dq"uote',
    "back\\slash",
    "trail\\",
    "$HOME",
    "`id`",
    "a;b",
    "~",
    "%self",
    "=ls",
    "*",
    "{a,b}",
    "-P",
    "",
]
ECHO_WORDS = {
    "bash": (["bash", "--norc", "--noprofile", "-c"], shellinit.sh_quote),
    "zsh": (["zsh", "-f", "-c"], shellinit.sh_quote),
    "fish": (["fish", "--no-config", "-c"], shellinit.fish_quote),
}


def test_quoted_words_reach_the_command_unchanged(shell: str, tmp_path: Path) -> None:
    run, quote = ECHO_WORDS[shell]
    (tmp_path / "a").touch()  # something for a glob to find
    script = "\n".join(f"printf '[%s]\\n' {quote(w)}" for w in NASTY_WORDS)
    result = subprocess.run([*run, script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"[{w}]" for w in NASTY_WORDS]


def _fake_dictate(folder: Path, output: str, status: int = 0) -> Path:
    """A stand-in `dictate` at a path that needs quoting; it prints `output` for `once`."""
    folder.mkdir(parents=True)
    (folder / "said").write_text(output)
    fake = folder / "dictate"
    fake.write_text(f'#!/bin/sh\n[ "$1" = once ] || exit 2\ncat "$(dirname "$0")/said"\nexit {status}\n')
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    ("said", "status", "line", "point"),
    [
        ("café 你好\n", 0, "echo acafé 你好b", 13),
        ("text\n", 1, "echo ab", 6),  # dictate failed: nothing inserted
        ("one\ntwo\r\n\x1b[31mred\x07\n", 0, "echo aone two   [31mred b", 24),
    ],
)
def test_bash_inserts_at_the_point_counting_characters(
    said: str, status: int, line: str, point: int, tmp_path: Path
) -> None:
    """Call the bind -x function directly, as readline would, with READLINE_LINE and READLINE_POINT set."""
    fake = _fake_dictate(tmp_path / "it's a dir", said, status)
    need("bash")
    file = tmp_path / "snippet.bash"
    file.write_text(shellinit.snippet("bash", [str(fake)]))
    script = (
        f"source {sh_quote(file)}; READLINE_LINE='echo ab'; READLINE_POINT=6; __dictate_insert; "
        'printf "%s|%s" "$READLINE_LINE" "$READLINE_POINT"'
    )
    env = proc.clean_env(tmp_path / "home", {"LC_ALL": "C.UTF-8"})
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{line}|{point}"


def sh_quote(path: Path) -> str:
    return shlex.quote(str(path))


def _bindings(shell: str, file: Path, env: dict[str, str]) -> str:
    quoted = shellinit.fish_quote(str(file)) if shell == "fish" else sh_quote(file)
    args = [a.replace("{file}", quoted) for a in LIST_BINDINGS[shell]]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout
