"""Protect the API keys: where they are read from and what they may contain, whether the file holding
one is private, and where a key and what goes with it (the voice, or the text to clean up) may travel:
the one transport policy every command and every endpoint applies.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from urllib.parse import urlsplit

from dictate.config.schema import CleanupConfig, Config
from dictate.config.values import display_url
from dictate.errors import ConfigError, add_secret


def api_key(config: Config, environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """Return the API key and where it came from (never the key itself in that description).

    1. $DICTATE_API_KEY
    2. the variable named by [api] api_key_env ($OPENAI_API_KEY by default)
    3. the key stored by `dictate key set` (config.keyfile)
    4. [api] api_key in the config file
    The first that is set and not blank wins, and is cleaned by `clean_key`: a ConfigError naming
    the source, never the key, when it cannot be a key. The key found is masked in every message
    from then on (dictate.errors).
    """
    from dictate.config import keyfile

    candidates = [("DICTATE_API_KEY", lambda: environ.get("DICTATE_API_KEY"))]
    if config.api.api_key_env:
        name = config.api.api_key_env
        candidates.append((name, lambda: environ.get(name)))
    candidates.append((f"the stored key ({keyfile.key_path(environ)})", lambda: keyfile.read_key(environ)))
    candidates.append((f"[api] api_key in {config.path}", lambda: config.api.api_key))
    for source, read in candidates:
        value = read()
        if value is not None and value.strip():
            return clean_key(value, source), source
    return None, "none"


def clean_key(value: str, source: str) -> str:
    """`value` as a key: surrounding whitespace (a trailing newline from `echo` or a pasted line)
    dropped, registered as a secret, and refused with a ConfigError naming `source` when a space, a
    control character or a non-ASCII character is left inside."""
    key = value.strip()
    add_secret(key)
    if any(not ("!" <= ch <= "~") for ch in key):
        raise ConfigError(
            f"the API key from {source} has a space, a control character or a non-ASCII character inside; "
            "set it again as the provider shows it"
        )
    return key


def cleanup_key(config: Config, settings: CleanupConfig, environ: Mapping[str, str] = os.environ) -> str | None:
    """The chat endpoint's key: the variable named by [cleanup] api_key_env, else the transcription key
    when both endpoints are on the same host, else None. Cleaned and masked as api_key() does."""
    name = settings.api_key_env
    value = environ.get(name) if name else None
    if value is not None and value.strip():
        return clean_key(value, name)
    if urlsplit(settings.base_url).netloc == urlsplit(config.api.base_url).netloc:
        return api_key(config, environ)[0]
    return None


# ---- the config file's permissions -----------------------------------------------------------------


def insecure_permissions_warning(config: Config, environ: Mapping[str, str] = os.environ) -> str | None:
    """A warning when other users can change the config (and so send the key and the voice elsewhere),
    or read the API key it holds, or the stored key (`dictate key set`); else None."""
    from dictate.config.keyfile import key_file_problem

    stored = key_file_problem(environ)
    if stored:
        return stored
    if config.path is None or os.name != "posix":
        return None
    path = config.path
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # /dev/null or a pipe given as the config: nothing of ours to chmod
    if info.st_uid not in (os.getuid(), 0):  # root's files are the system's, and only root changes them
        from dictate.config.paths import owner_name

        return (
            f"{path} belongs to {owner_name(info.st_uid)}, who could send your recordings and key elsewhere; "
            f"use a config file of your own: cp {path} ~/.config/dictate/config.toml"
        )
    if others_may(info, stat.S_IWGRP, stat.S_IWOTH):
        return (
            f"{path} can be changed by other users, who could send your recordings and key elsewhere; "
            f"run: chmod 600 {path}"
        )
    folder = path.resolve().parent
    try:
        folder_info = folder.stat()
    except OSError:
        folder_info = None
    sticky = folder_info is not None and folder_info.st_mode & stat.S_ISVTX  # like /tmp: files stay their owners'
    if folder_info is not None and not sticky and others_may(folder_info, stat.S_IWGRP, stat.S_IWOTH):
        return (
            f"{folder} can be changed by other users, who could replace {path.name} and send your "
            f"recordings and key elsewhere; run: chmod 700 {folder}"
        )
    if folder_info is not None and not sticky and folder_info.st_uid not in (os.getuid(), 0):
        from dictate.config.paths import owner_name

        return (
            f"{folder} belongs to {owner_name(folder_info.st_uid)}, who could replace {path.name} and send your "
            f"recordings and key elsewhere; keep your config in a folder of your own"
        )
    if config.api.api_key and others_may(info, stat.S_IRGRP, stat.S_IROTH):
        return f"{path} holds an API key and is readable by other users; run: chmod 600 {path}"
    return None


def others_may(info: os.stat_result, group_bit: int, other_bit: int) -> bool:
    """Whether users other than the owner have a permission: the "other" bit, or the group bit of a
    group that is not the owner's private one (a user-private group, as umask 002 systems use, holds
    only its user)."""
    if info.st_mode & other_bit:
        return True
    return bool(info.st_mode & group_bit) and not _private_group(info.st_uid, info.st_gid)


def _private_group(uid: int, gid: int) -> bool:
    try:
        import grp
        import pwd

        user, group = pwd.getpwuid(uid), grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user.pw_name and user.pw_gid == gid and not [m for m in group.gr_mem if m != user.pw_name]


# ---- where a key and what goes with it may travel ---------------------------------------------------

# What each section's endpoint is sent besides the key, for the messages.
CARRIES = {"api": "the audio", "cleanup": "the text"}

# Names that never leave the machine or the local network.
LOCAL_SUFFIXES = (".localhost", ".local", ".lan", ".internal", ".home.arpa")


def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as an address stands for, in every form the resolver takes: IPv6,
    dotted IPv4, and the legacy forms (8.8.8.8 as 134744072, 0x8080808, 010.010.010.010 or 8.8.2056)."""
    host = host.strip("[]").rstrip(".")
    if not host.isascii():
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        number = _legacy_number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _legacy_number(part: str) -> int | None:
    """One part of a legacy IPv4 address: decimal, 0x hexadecimal or 0 octal (as inet_aton reads it)."""
    # Digits checked one by one: int() would also take "0x" twice, "_", "+" and spaces, as inet_aton does not.
    if part[:2].lower() == "0x":
        digits = part[2:]
        return int(digits, 16) if digits and all(c in "0123456789abcdefABCDEF" for c in digits) else None
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8) if all(c in "01234567" for c in part[1:]) else None
    return int(part, 10) if part.isascii() and part.isdigit() else None


def _is_local(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback or addr.is_private or addr.is_link_local


def endpoint_problem(base_url: str, allow_insecure: bool = False, section: str = "api") -> str | None:
    """Why the key and what goes with it may not go to `base_url`, the endpoint of [section], or None:
    credentials in the URL, or plain http to a host that is not loopback, private or a local name."""
    parts = urlsplit(base_url)
    if "@" in parts.netloc:
        where = "DICTATE_API_KEY" if section == "api" else f"the variable named by [{section}] api_key_env"
        return (
            f"[{section}] base_url {display_url(base_url)!r} holds a user name or password; remove it and give "
            f"the key in {where}"
        )
    if parts.scheme == "https" or allow_insecure:
        return None
    host = (parts.hostname or "").rstrip(".")
    addr = parse_ip(host)
    if addr is not None:
        if _is_local(addr):
            return None
    # Single-label names ("speaches" in a compose network) and local suffixes are not public hosts.
    elif host and ("." not in host or host.endswith(LOCAL_SUFFIXES)):
        return None
    return (
        f"[{section}] base_url {base_url!r} uses plain http to a public host: the key and "
        f"{CARRIES.get(section, 'the data')} would travel in clear; use https, or set [{section}] allow_insecure = true"
    )


def check_endpoint(config: Config, cleanup: CleanupConfig | None = None) -> None:
    """Refuse an endpoint the key and what goes with it may not go to (see endpoint_problem): [api]'s,
    or with `cleanup` that clean-up endpoint (the file's [cleanup], or a profile's)."""
    if cleanup is None:
        problem = endpoint_problem(config.api.base_url, config.api.allow_insecure)
    else:
        problem = endpoint_problem(cleanup.base_url, cleanup.allow_insecure, "cleanup")
    if problem:
        where = f"{config.path}: " if config.path else ""
        raise ConfigError(where + problem)
