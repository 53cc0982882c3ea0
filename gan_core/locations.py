"""Where the library finds the files the project ships (the shipped checkpoints and their judges)
and the user's own files (the app home, where judges trained on uploaded datasets are cached).

`GAN_STUDIO_SHIPPED` points the shipped-checkpoint folder elsewhere (tests, demos, a Space);
default `<project>/checkpoints`. The judges live in its `judges/` subfolder. The data and cache
folders have their own overrides in `gan_core.data.paths` (`GAN_STUDIO_DATA`, `GAN_STUDIO_CACHE`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .data.paths import project_root

SHIPPED_ENV = "GAN_STUDIO_SHIPPED"
# a checkpoint, run or upload name: letters, digits, '.', '_', '-' (at most 64), never '..'
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_safe_name(name: object) -> bool:
    """Whether `name` can be used as one folder name under a known base (no path tricks)."""
    return isinstance(name, str) and bool(NAME_RE.match(name)) and ".." not in name


def shipped_dir() -> Path:
    """The shipped-checkpoint folder (`$GAN_STUDIO_SHIPPED`, default <project>/checkpoints), read on each call."""
    env = os.environ.get(SHIPPED_ENV)
    return Path(env).expanduser() if env else project_root() / "checkpoints"


def judges_dir() -> Path:
    """The folder of the judge classifiers: `judges/` inside the shipped-checkpoint folder."""
    return shipped_dir() / "judges"


HOME_ENV = "GAN_STUDIO_HOME"


def app_home() -> Path:
    """Where the app keeps the user's files (runs, uploads, published checkpoints, judges trained
    on uploads): `$GAN_STUDIO_HOME`, default <project>/app_data; read on each call, not created."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else project_root() / "app_data"


def dataset_judges_dir() -> Path:
    """The judges trained on users' datasets (one folder per dataset fingerprint): `judges/` in the app home."""
    return app_home() / "judges"
