"""Where the studio's deployment settings come from: the environment first, then secrets.toml.

Streamlit reads `.streamlit/secrets.toml` from the user's home and from the folder the server
starts in (the later file wins); this module reads the same two files with `tomllib`, so the
settings mean the same in the Streamlit studio, the Gradio panel alone and the tests, with or
without a Streamlit server. It also says where this process is reachable from: a Hugging Face
Space (its environment says so) or a server's listen address.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

SECRETS_ENV = "GAN_STUDIO_SECRETS"  # one secrets.toml to read instead of Streamlit's two (tests, odd setups)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}

_cache: dict[Path, tuple[float, dict[str, Any]]] = {}


class SettingsError(ValueError):
    """A setting the studio cannot use; names the setting and what it should be."""


def secrets_files() -> list[Path]:
    """The secrets.toml files Streamlit reads, in the order it merges them."""
    if os.environ.get(SECRETS_ENV):
        return [Path(os.environ[SECRETS_ENV])]
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def _read(path: Path) -> dict[str, Any]:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    hit = _cache.get(path)
    if hit and hit[0] == mtime:
        return hit[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path.name} cannot be read as TOML ({type(exc).__name__}); fix or remove it") from None
    _cache[path] = (mtime, data)
    return data


def secrets() -> dict[str, Any]:
    """The merged secrets (later files override earlier ones, key by key at the top level)."""
    merged: dict[str, Any] = {}
    for path in secrets_files():
        merged.update(_read(path))
    return merged


def value(env: str, key: str) -> str | None:
    """A setting: environment variable `env` if set and not empty, else secrets.toml's top-level `key`."""
    got = os.environ.get(env)
    if got not in (None, ""):
        return got
    raw = secrets().get(key)
    return None if raw is None else str(raw)


def auth_section() -> dict[str, Any]:
    """The `[auth]` table of secrets.toml (Streamlit's OpenID Connect sign-in), or {}."""
    auth = secrets().get("auth")
    return auth if isinstance(auth, dict) else {}


def auth_providers() -> list[str]:
    """Named providers (`[auth.<name>]` tables); [] when `[auth]` configures a single default one."""
    return sorted(k for k, v in auth_section().items() if isinstance(v, dict))


def in_space() -> bool:
    """Whether this process runs inside a Hugging Face Space (which sets SPACE_ID and SYSTEM=spaces)."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("SYSTEM") == "spaces"


def is_loopback(address: str | None) -> bool:
    """Whether a listen address is reachable from this computer only. None or "" is Streamlit's
    default, every interface; 0.0.0.0 and :: are every interface too."""
    if not address:
        return False
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def streamlit_address() -> str | None:
    """The Streamlit server's `server.address` (None outside a Streamlit process)."""
    if "streamlit" not in sys.modules:
        return None
    from streamlit import config

    return config.get_option("server.address")


def local_only() -> bool:
    """Whether nobody but this computer can reach the studio: not in a Space, and either no
    Streamlit server in this process (a script, a test) or one listening on loopback only."""
    if in_space():
        return False
    if "streamlit" not in sys.modules:
        return True
    from streamlit import runtime

    if not runtime.exists():  # AppTest and plain imports: no server, no network
        return True
    return is_loopback(streamlit_address())
