"""The studio's quotas and limits, in one typed settings object, and the checks that use them.

Each limit is an environment variable (or the lower-case key in `.streamlit/secrets.toml`)
with a default, and a clear refusal when reached:

- upload size: `STREAMLIT_SERVER_MAX_UPLOAD_SIZE` (MB; Streamlit's `server.maxUploadSize`, set in
  .streamlit/config.toml), 1024. The browser refuses a bigger file; the upload service too.
- images per upload: `GAN_STUDIO_MAX_IMAGES` / `max_images`, 100000 (files in the zip or the
  upload, counted before anything is unpacked or saved).
- trainings at once: `GAN_STUDIO_MAX_TRAININGS` / `max_trainings`, 0 = the machine's rule
  (ui.admission). Start and Resume are refused past it.
- disk for runs + uploads + published models: `GAN_STUDIO_DISK_QUOTA_GB` / `disk_quota_gb`, 20
  (0 = none). A new run or upload that would exceed it is refused before it starts.
- the explorer API per client (ui.rate_limit): `GAN_STUDIO_API_RATE` / `api_rate` requests per
  second and `GAN_STUDIO_API_BURST` / `api_burst` at once, 10 and 20; `GAN_STUDIO_API_PENDING` /
  `api_pending` requests waiting for their answers, 2. Beyond: HTTP 429 with a readable line.

The panel's export caps (frames, GIF size) stay in gan_core.explore as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from . import paths, site_config

T = TypeVar("T", int, float)

GB = 1024 ** 3
MB = 1024 ** 2


class QuotaError(Exception):
    """A request over a quota; one readable line with the figures and the setting to change."""


@dataclass(frozen=True)
class Limits:
    upload_mb: int = 1024
    max_images: int = 100_000
    max_trainings: int = 0  # 0: the machine's rule in ui.admission
    disk_quota_gb: float = 20.0  # 0: no quota
    api_rate: float = 10.0  # requests per second per client, sustained
    api_burst: int = 20  # requests a client may send at once before the rate applies
    api_pending: int = 2  # requests of one client waiting or running in the queue at once

    @property
    def disk_quota_bytes(self) -> int:
        return int(self.disk_quota_gb * GB)


def _number(env: str, key: str, default: T, kind: Callable[[str], T], low: float) -> T:
    raw = site_config.value(env, key)
    if raw is None:
        return default
    try:
        got = kind(raw.strip())
    except ValueError:
        raise site_config.SettingsError(f"{env} (or {key} in secrets.toml) must be a number, not {raw!r}") from None
    if got < low:
        raise site_config.SettingsError(f"{env} (or {key} in secrets.toml) must be at least {low:g}, not {raw!r}")
    return got


def _upload_mb() -> int:
    """Streamlit's own upload limit (its env var STREAMLIT_SERVER_MAX_UPLOAD_SIZE or config.toml)."""
    import sys

    if "streamlit" in sys.modules:
        from streamlit import config

        return int(config.get_option("server.maxUploadSize"))
    return _number("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "max_upload_mb", Limits.upload_mb, int, 1)


def limits() -> Limits:
    """The limits in force now (SettingsError names a setting that is not a valid number)."""
    d = Limits()
    return Limits(upload_mb=_upload_mb(),
                  max_images=_number("GAN_STUDIO_MAX_IMAGES", "max_images", d.max_images, int, 1),
                  max_trainings=_number("GAN_STUDIO_MAX_TRAININGS", "max_trainings", d.max_trainings, int, 0),
                  disk_quota_gb=_number("GAN_STUDIO_DISK_QUOTA_GB", "disk_quota_gb", d.disk_quota_gb, float, 0),
                  api_rate=_number("GAN_STUDIO_API_RATE", "api_rate", d.api_rate, float, 0.01),
                  api_burst=_number("GAN_STUDIO_API_BURST", "api_burst", d.api_burst, int, 1),
                  api_pending=_number("GAN_STUDIO_API_PENDING", "api_pending", d.api_pending, int, 1))


# -- disk ---------------------------------------------------------------------------------------
def tree_bytes(root: Path) -> int:
    """Bytes of the files under root (links are not followed; files vanishing meanwhile are skipped)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def disk_used() -> int:
    """Bytes used by runs, uploads and published models."""
    return sum(tree_bytes(d) for d in (paths.runs_dir(), paths.uploads_dir(), paths.published_dir()))


def fmt_bytes(n: float) -> str:
    return f"{n / GB:.2f} GB" if n >= GB / 10 else f"{n / MB:.1f} MB"


def check_disk(adding: int, what: str, lim: Limits | None = None) -> None:
    """QuotaError when `adding` more bytes (a new run's estimate, an upload) would take the app's
    folders past the disk quota; the message gives the figures."""
    lim = lim or limits()
    if not lim.disk_quota_gb:
        return
    used = disk_used()
    if used + adding > lim.disk_quota_bytes:
        raise QuotaError(f"Not enough room for {what}: runs, uploads and published models use {fmt_bytes(used)} "
                         f"and it needs about {fmt_bytes(adding)} more, over the {lim.disk_quota_gb:g} GB quota "
                         f"(GAN_STUDIO_DISK_QUOTA_GB). Delete runs or uploads first.")


def run_bytes(cfg: object) -> int:
    """About what a new run writes: two checkpoint folders (latest, best), each with the generator,
    its EMA copy, the discriminator and the training state (Adam's two moments for both nets),
    all fp32, plus 10% for sample grids, metrics and the log. Parameters are counted on the meta
    device, so nothing is allocated."""
    import torch

    from gan_core.networks import build_discriminator, build_generator

    with torch.device("meta"):
        g = sum(p.numel() for p in build_generator(cfg.model, init=False).parameters())  # type: ignore[attr-defined]
        d = sum(p.numel() for p in build_discriminator(cfg.model, init=False).parameters())  # type: ignore[attr-defined]
    per_checkpoint = 4 * (g + g + d + 2 * (g + d))
    return int(2 * per_checkpoint * 1.1)


# -- images -------------------------------------------------------------------------------------
def check_images(count: int, what: str, lim: Limits | None = None) -> None:
    lim = lim or limits()
    if count > lim.max_images:
        raise QuotaError(f"{what} holds {count:,} files, more than the {lim.max_images:,} images one dataset may "
                         "have here (GAN_STUDIO_MAX_IMAGES)")


def check_upload_size(size: int, what: str, lim: Limits | None = None) -> None:
    lim = lim or limits()
    if size > lim.upload_mb * MB:
        raise QuotaError(f"{what} is {fmt_bytes(size)}, more than the {lim.upload_mb:,} MB an upload may be "
                         "(server.maxUploadSize)")
