"""Versioned JSON formats (checkpoint config, run config, recipe): one rule for reading an
older or newer version.

Each format names its current version and a table `migrations` of version n -> a function that
returns the dict as version n + 1. `upgrade` walks an older dict up one step at a time, refuses
a newer version with a message that says to update GAN Studio, and refuses a version that is not
a positive whole number. A dict without a version is version 1 (the first format of each).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .errors import ConfigError

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def upgrade(raw: dict[str, Any], current: int, migrations: Mapping[int, Migration], what: str,
            error: type[Exception] = ConfigError) -> dict[str, Any]:
    """`raw` brought to version `current`; `what` names the file in messages ("checkpoint X")."""
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise error(f"{what}: format version {version!r} is not a positive whole number")
    if version > current:
        raise error(f"{what} was written by a newer GAN Studio: format {version}, "
                    f"this version reads up to {current}; update GAN Studio to load it")
    while version < current:
        if version not in migrations:
            raise error(f"{what}: no migration from format {version} to {version + 1}")
        raw = dict(migrations[version](dict(raw)), version=version + 1)
        version += 1
    return raw
