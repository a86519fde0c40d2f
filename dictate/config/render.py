"""Write configuration out as TOML: the effective settings (`dictate config show`) and the commented
example file with every default (`dictate config init`, config.example.toml).
"""

from __future__ import annotations

import dataclasses

from dictate.config.schema import SECTIONS, Config, field_default
from dictate.config.values import toml_value


def render(config: Config) -> str:
    """The effective configuration as TOML (the API key masked)."""
    lines = []
    for name in SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if f.name == "api_key" and value:
                value = "(set, hidden)"
            lines.append(f"{f.name} = {toml_value(value)}")
        lines.append("")
    for profile in config.profiles:
        lines.append("[[profile]]")
        lines.append(f"match = {toml_value(profile.match)}")
        lines.extend(f"{section} = {toml_value(values)}" for section, values in profile.overrides.items())
        lines.append("")
    return "\n".join(lines)


def example() -> str:
    """A commented config file listing every key with its default (config.example.toml)."""
    out = [
        "# dictate configuration. Every key is optional; shown here with its default.",
        "# Location: --config PATH > $DICTATE_CONFIG > ~/.config/dictate/config.toml",
        "# The API key: $DICTATE_API_KEY > the variable named by api_key_env > the key stored by",
        "# `dictate key set` > api_key below.",
        "",
    ]
    for name, cls in SECTIONS.items():
        out.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            default = field_default(f)
            out.append(f"# {f.metadata['help']}")
            out.append(f"# {f.name} = {toml_value(default)}")
        out.append("")
    out.extend(PROFILE_EXAMPLE)
    return "\n".join(out)


PROFILE_EXAMPLE = [
    "# Per-application profiles: when the key is pressed, the first [[profile]] whose match (a regular",
    "# expression, any case) finds the focused window's class (X11 WM_CLASS instance or class; the app_id",
    "# under sway and Hyprland) overrides the keys it lists, for that dictation. `dictate -v run` names the",
    "# window's class and the profile applied. Terminals get no newline commands and no clean-up unless a",
    "# profile says otherwise, and a newline is never sent to a terminal as Enter.",
    "# [[profile]]",
    '# match = "XTerm|kitty|Alacritty|foot"',
    '# output = { method = "paste" }',
    "# text = { commands = false }",
    "# cleanup = { enabled = false }",
    "",
]
