from __future__ import annotations

import os
from pathlib import Path

import pytest

from dictate import ConfigError
from dictate.config.loading import from_dict, load
from dictate.config.schema import Config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_default_file_means_defaults() -> None:
    cfg = load()
    assert cfg == Config()
    assert cfg.path is None
    assert cfg.api.model == "whisper-1"
    assert cfg.api.base_url == "https://api.openai.com/v1"
    assert cfg.audio.sample_rate == 16000
    assert cfg.hotkey.keys == "ctrl+alt+space"


def test_the_file_at_the_default_location_is_read(tmp_path: Path) -> None:
    path = tmp_path / "xdg" / "dictate" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[api]\nmodel = "from-default-location"\n')
    cfg = load(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert cfg.api.model == "from-default-location"
    assert cfg.path == path


@pytest.mark.parametrize(("cli", "source"), [(True, "--config"), (False, "DICTATE_CONFIG")])
def test_explicit_missing_file_is_an_error(tmp_path: Path, cli: bool, source: str) -> None:
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=rf"\(from {source}\) does not exist") as info:
        load(missing if cli else None, {} if cli else {"DICTATE_CONFIG": missing})
    # The command it gives writes the file it looked for: --config is passed on ($DICTATE_CONFIG is
    # still set in the same shell).
    init = f"dictate --config {missing} config init" if cli else "dictate config init"
    assert info.value.message.endswith(f"create it with `{init}`")


def test_values_are_read_and_typed(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nmodel = "whisper-large-v3-turbo"\ntimeout = 5\n[audio]\ndevice = "USB"\n')
    cfg = load(str(path))
    assert cfg.api.model == "whisper-large-v3-turbo"
    assert cfg.api.timeout == 5.0 and isinstance(cfg.api.timeout, float)
    assert cfg.audio.device == "USB"
    assert cfg.path == path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[api]\nmodle = 'x'\n",
            r"unknown key \[api\] modle \(did you mean 'model'\?\); keys in \[api\]: engine, base_url",
        ),
        ("[apii]\n", r"unknown section \[apii\] \(did you mean 'api'\?\)"),
        ("[api]\ntimeout = 'soon'\n", r"\[api\] timeout = \"soon\": expected a number from 1 to 3600"),
        ("[api]\nformat = 'mp3'\n", r"\[api\] format = \"mp3\": accepted values: 'wav', 'flac', 'ogg'"),
        ("[api]\ntemperature = 2\n", r"\[api\] temperature = 2: expected a number from 0 to 1"),
        ("[audio]\nsample_rate = 16000.5\n", r"\[audio\] sample_rate = 16000.5: expected an integer"),
        ("[output]\nallow_newlines = 'yes'\n", r"expected true or false"),
        (
            "[hotkey]\nkeys = 'ctrl+hyper+x'\n",
            r"\[hotkey\] keys = \"ctrl\+hyper\+x\": unknown key name 'hyper'.*accepted",
        ),
        ("[hotkey]\nmode = 'press'\n", r"accepted values: 'hold', 'toggle'"),
        ("[api]\nbase_url = 'api.openai.com'\n", r"expected an http\(s\) URL"),
        ("[api]\nlanguage = 'English'\n", r"ISO-639-1"),
        ("api = 3\n", r"api must be a section"),
        ("[api\n", r"invalid TOML"),
        ("[api]\ntimeout = nan\n", r"\[api\] timeout = nan: expected a number from 1 to 3600, not nan"),
        ("[api]\nmax_upload_mb = inf\n", r"max_upload_mb = inf: expected a number .*, not inf"),
        ("[audio]\nmax_seconds = -nan\n", r"max_seconds = nan: expected a number"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", r"invalid TOML: nested too deeply$"),
    ],
)
def test_bad_values_name_file_key_and_accepted(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load(str(path))
    assert str(path) in info.value.message
    assert "\n" not in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"history": {"max_days": -1}}, r"^\[history\] max_days = -1: expected a number of at least 0$"),
        ({"api": {"model": 3}}, r"^\[api\] model = 3: expected a string$"),
        ({"api": {"format": 3}}, r"^\[api\] format = 3: expected a string: 'wav', 'flac', 'ogg'$"),
        ({"history": {"max_entries": True}}, r"^\[history\] max_entries = true: expected an integer of at least 0$"),
        ({"output": {"terminal_classes": ["xterm", ""]}}, r"expected a list of names"),
        ({"zzz": {}}, r"^unknown section \[zzz\]; sections: \[api\], \[local\], \[audio\]"),
    ],
)
def test_from_dict_without_a_file_names_the_key(data: dict[str, dict[str, object]], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        from_dict(data)


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('\ufeff[api]\nmodel = "whisper-large-v3"\n'.encode())
    assert load(str(path)).api.model == "whisper-large-v3"


@pytest.mark.parametrize("kind", ["pipe", "endless", "dangling link"])
def test_a_config_that_never_ends_or_is_not_there_is_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.toml"
    if kind == "pipe":
        os.mkfifo(path)  # nobody writes: it once waited for ever
        expected = f"the config file {path}: nothing came for 5 s (a pipe with no writer?); nothing was read"
    elif kind == "endless":
        path.symlink_to("/dev/zero")  # once read until memory ran out
        expected = f"the config file {path} is over 1 MB; nothing was read"
    else:
        path.symlink_to(tmp_path / "moved.toml")  # once meant the defaults, silently
        expected = f"config file {path} is a link to {tmp_path / 'moved.toml'}, which does not exist"
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert info.value.message == expected and info.value.exit_code == 2


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[api]\nmodel = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r": not UTF-8 text$"):
        load(str(path))


# ---- [text], [cleanup], [[profile]] and the vocabulary file -----------------------------------------


def test_text_cleanup_and_profiles_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[text]\nvocabulary = ["Kubernetes"]\nreplacements = { "fast api" = "FastAPI", "cube control" = "kubectl" }\n'
        "commands = true\n"
        '[cleanup]\nenabled = true\nmodel = "llama-3.1-8b-instant"\ntimeout = 2\n'
        '[[profile]]\nmatch = "XTerm|kitty"\noutput = { method = "paste" }\ncleanup = { enabled = false }\n'
        '[[profile]]\nmatch = "code"\n[profile.text]\ncommands = false\n'
    )
    cfg = load(str(path))
    assert cfg.text.replacements == {"fast api": "FastAPI", "cube control": "kubectl"}
    assert (cfg.cleanup.enabled, cfg.cleanup.model, cfg.cleanup.timeout) == (True, "llama-3.1-8b-instant", 2.0)
    first, second = cfg.profiles
    assert (first.number, first.match, first.overrides) == (
        1,
        "XTerm|kitty",
        {"output": {"method": "paste"}, "cleanup": {"enabled": False}},
    )
    assert second.overrides == {"text": {"commands": False}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[profile]]\nmatch = "Xterm("\n', '[[profile]] 1: match = "Xterm(" is not a regular expression'),
        ('[[profile]]\nmatch = "a"\n[[profile]]\noutput = {}\n', "[[profile]] 2: match is missing"),
        ('[[profile]]\nmatch = "a"\noutput = { method = "fax" }\n', '[[profile]] 1: [output] method = "fax"'),
        ('[[profile]]\nmatch = "a"\ntext = { comands = true }\n', "[[profile]] 1: unknown key [text] comands"),
        ('[[profile]]\nmatch = "a"\nhotkey = { keys = "f9" }\n', "[[profile]] 1: unknown key hotkey"),
        ('[[profile]]\nmatch = "a"\ncleanup = { timeout = 0 }\n', "[[profile]] 1: [cleanup] timeout = 0"),
        ('[profile]\nmatch = "a"\n', "profile must be written as [[profile]] tables"),
        ('[text]\nreplacements = { "c#" = "C#" }\n', '"c#" is not a spoken phrase'),
        ('[text]\nreplacements = { "fast api" = 3 }\n', "expected the text to write"),
        ("[text]\nvocabulary = [1]\n", "expected a list of words or names"),
        (
            f'[text]\nvocabulary = ["{"x" * 201}"]\n',
            "an entry of 201 characters; an entry is a word, a name or a phrase",
        ),
        ('[cleanup]\nbase_url = "ftp://x"\n', "[cleanup] base_url"),
    ],
)
def test_bad_text_cleanup_and_profiles_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    assert expected in caught.value.message
    assert str(path) in caught.value.message and "\n" not in caught.value.message


def test_the_vocabulary_file_beside_the_config_adds_entries(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[text]\nvocabulary = ["Kubernetes", "Redis"]\n')
    (tmp_path / "vocabulary.txt").write_text("# names\nRedis\n  Visual   Studio Code \n\nZoë\n")
    assert load(str(path)).text.vocabulary == ["Kubernetes", "Redis", "Visual Studio Code", "Zoë"]
    path.write_text('[text]\nvocabulary_file = ""\n')
    assert load(str(path)).text.vocabulary == []


def test_the_vocabulary_file_is_read_without_a_config_file(tmp_path: Path) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "dictate"
    folder.mkdir(parents=True)
    (folder / "vocabulary.txt").write_text("PostgreSQL\n")
    assert load().text.vocabulary == ["PostgreSQL"]


def test_a_vocabulary_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    (tmp_path / "vocabulary.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(ConfigError, match=r"vocabulary\.txt: not UTF-8"):
        load(str(path))
