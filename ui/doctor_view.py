"""Dataset choices and the dataset doctor, shaped for the Data and Train pages.

A dataset is chosen by a key: "builtin:mnist", "builtin:orl-faces" or "upload:<folder name>".
`resolve_choice` turns a key back into the `--dataset` source after checking the name.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import paths, uploads

BUILTIN_LABELS = {"mnist": "MNIST digits (built-in)", "orl-faces": "ORL faces (built-in)"}


class DoctorError(Exception):
    """The dataset cannot be read; one readable line."""


@dataclass(frozen=True)
class DatasetChoice:
    key: str
    source: str  # what the trainer's --dataset gets
    label: str
    kind: str  # builtin | upload


def builtin_choices() -> list[DatasetChoice]:
    return [DatasetChoice(f"builtin:{k}", k, v, "builtin") for k, v in BUILTIN_LABELS.items()]


def upload_choices() -> list[DatasetChoice]:
    return [DatasetChoice(f"upload:{u.name}", str(u.path), f"{u.name} (uploaded, {u.files:,} files)", "upload")
            for u in uploads.list_uploads()]


def all_choices() -> list[DatasetChoice]:
    return builtin_choices() + upload_choices()


def resolve_choice(key: str) -> DatasetChoice:
    """The choice for a key (ValueError for unknown keys or unsafe names)."""
    kind, _, name = str(key).partition(":")
    if kind == "builtin" and name in BUILTIN_LABELS:
        return DatasetChoice(key, name, BUILTIN_LABELS[name], "builtin")
    if kind == "upload":
        path = uploads.upload_path(name)
        return DatasetChoice(key, str(path), f"{name} (uploaded)", "upload")
    raise ValueError(f"unknown dataset {key!r}")


def source_stamp(source: str) -> str:
    """Changes when an uploaded folder changes (cache key for the doctor's report)."""
    p = Path(source)
    if not p.is_dir():
        return source
    latest, count = 0, 0
    for root, _dirs, files in os.walk(p):
        for f in files:
            count += 1
            try:
                latest = max(latest, os.stat(os.path.join(root, f)).st_mtime_ns)
            except OSError:
                pass
    return f"{source}:{count}:{latest}"


def diagnose(source: str, image_size: int = 64, preview: int = 36) -> Any:
    """Run the dataset doctor (gan_core.data.inspect_dataset); DoctorError with one line on failure."""
    from gan_core.errors import GanStudioError

    try:
        from gan_core.data import inspect_dataset

        return inspect_dataset(source, image_size, preview=preview)
    except GanStudioError as exc:
        raise DoctorError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except (OSError, ValueError) as exc:
        raise DoctorError(f"the dataset could not be read ({exc})") from None


def summary(report: Any) -> dict[str, Any]:
    """The headline numbers of a report."""
    counts = report.class_counts
    balance = (max(counts.values()) / max(1, min(counts.values()))) if counts else None
    return {"images": report.num_images, "files": report.num_files, "classes": len(counts),
            "skipped": len(report.skipped), "converted": len(report.converted),
            "exact_duplicate_groups": len(report.exact_duplicates),
            "near_duplicate_pairs": report.near_duplicate_count,  # confirmed on pixels, all of them
            "channels": report.channels,
            "imbalance": balance}


def near_duplicate_caption(pair: tuple[str, str, float]) -> str:
    """One listed near-duplicate pair and its evidence (the pixel difference that confirmed it)."""
    a, b, diff = pair
    return f"near-identical (pixels differ by {diff:.0%} of their spread after aligning): {a} · {b}"


def duplicates_heading(report: Any, shown: int) -> str:
    """The duplicates section's title: the confirmed count, and how many of them are shown
    (the page shows `shown` of the listed pairs; the doctor lists at most MAX_REPORTED_PAIRS)."""
    total, listed = report.near_duplicate_count, min(shown, len(report.near_duplicates))
    listed = f"showing {listed:,} of {total:,}" if total > listed else ""
    groups = len(report.exact_duplicates)
    near = f"{total:,} near-identical pair{'' if total == 1 else 's'}" + (f" ({listed})" if listed else "")
    return f"Duplicates: {groups} identical group{'' if groups == 1 else 's'}, {near}"


def table(counter: dict[str, int], key: str) -> list[dict[str, Any]]:
    """{"28x28": 10, ...} -> rows for st.dataframe, most common first."""
    return [{key: k, "images": v} for k, v in sorted(counter.items(), key=lambda kv: -kv[1])]


def reason_rows(pairs: list[tuple[str, str]], limit: int = 500) -> list[dict[str, str]]:
    return [{"file": a, "reason": b} for a, b in pairs[:limit]]


def preview_grid(report: Any, nrow: int = 9) -> np.ndarray | None:
    from gan_core.images import make_grid

    if report.preview is None or len(report.preview) == 0:
        return None
    return make_grid(report.preview, nrow=nrow)


@functools.lru_cache(maxsize=1)
def _mnist_train() -> np.ndarray:
    from gan_core.data.builtin import load_mnist

    return load_mnist("train")[0]


def thumbnail(source: str, rel: str, size: int = 72) -> np.ndarray | None:
    """A small picture of one dataset file named in a report (None if it cannot be shown)."""
    from PIL import Image

    try:
        if source == "mnist":
            split, _, idx = rel.partition("/")
            img = Image.fromarray(_mnist_train()[int(idx)], "L") if split == "train" else None
        else:
            root = _source_root(source)
            if root is None:
                return None
            target = (root / rel).resolve()
            if root not in target.parents or not target.is_file():
                return None
            with Image.open(target) as im:
                img = im.convert("RGB")
        if img is None:
            return None
        img.thumbnail((size, size))
        return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, IndexError):
        return None


def _source_root(source: str) -> Path | None:
    if source == "orl-faces":
        from gan_core.data.paths import data_root

        return (data_root() / "orl_faces").resolve()
    p = Path(source).resolve()
    return p if p.is_dir() else None


def is_upload(source: str) -> bool:
    try:
        return paths.uploads_dir().resolve() in Path(source).resolve().parents
    except OSError:
        return False


def label_for_source(source: str) -> str:
    """How people see a --dataset source: built-in names, an upload's name, or a folder name."""
    if source in BUILTIN_LABELS:
        return BUILTIN_LABELS[source].replace(" (built-in)", "")
    p = Path(source)
    return f"{p.name} (uploaded)" if is_upload(source) else (p.name or source)
