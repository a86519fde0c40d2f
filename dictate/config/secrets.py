"""Protect the API key: where it is read from, whether the file holding it is private, and whether the
endpoint may be reached over plain http (the key and the audio would travel in clear).
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from urllib.parse import urlsplit

from dictate.config.schema import Config
from dictate.errors import ConfigError, add_secret


def api_key(config: Config, environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """Return the API key and where it came from (never the key itself in that description).

    DICTATE_API_KEY > the variable named by [api] api_key_env > [api] api_key in the file. The key
    found is masked in every message from then on (dictate.errors).
    """
    key, source = _find_key(config, environ)
    add_secret(key)
    return key, source


def _find_key(config: Config, environ: Mapping[str, str]) -> tuple[str | None, str]:
    if environ.get("DICTATE_API_KEY"):
        return environ["DICTATE_API_KEY"], "DICTATE_API_KEY"
    env_name = config.api.api_key_env
    if env_name and environ.get(env_name):
        return environ[env_name], env_name
    if config.api.api_key:
        return config.api.api_key, f"[api] api_key in {config.path}"
    return None, "none"


def insecure_permissions_warning(config: Config) -> str | None:
    """A warning when the file holding the API key can be read by other users, else None."""
    if not config.api.api_key or config.path is None or os.name != "posix":
        return None
    mode = config.path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"{config.path} holds an API key and is readable by other users; run: chmod 600 {config.path}"
    return None


def check_endpoint(config: Config) -> None:
    """Refuse plain http to a public host unless allowed: the key and the audio would travel in clear."""
    parts = urlsplit(config.api.base_url)
    if parts.scheme == "https" or config.api.allow_insecure:
        return
    host = parts.hostname or ""
    # Single-label names ("speaches" in a compose network) and local suffixes are not public hosts.
    if "." not in host or host.endswith((".localhost", ".local", ".lan", ".internal", ".home.arpa")):
        return
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        addr = None
    if addr is not None and (addr.is_loopback or addr.is_private or addr.is_link_local):
        return
    where = f"{config.path}: " if config.path else ""
    raise ConfigError(
        f"{where}[api] base_url {config.api.base_url!r} uses plain http to a public host; "
        "use https, or set [api] allow_insecure = true"
    )
