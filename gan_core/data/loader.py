"""`load_dataset`: any source -> ImageData, decoded once and cached by fingerprint."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DatasetError
from . import cache
from .cache import CachedData
from .paths import default_cache_dir, display
from .pipeline import decode_items
from .sources import SPLITS, FileSource, MnistSource, effective_split, open_source
from .transform import stack_channels, to_array, transform_grey_batch
from .types import ImageData

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 1024
MAX_ARRAY_BYTES = 8 * 1024**3  # refuse datasets whose decoded arrays would exceed this
WARN_LIST = 10  # skipped files named in the warning


def load_dataset(
    source: str | os.PathLike[str],
    image_size: int,
    *,
    channels: int = 0,
    split: str = "train",
    require_classes: bool = False,
    cache_dir: str | Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> ImageData:
    """Load `source` ("mnist", "orl-faces", a folder or a .zip) as resized, center-cropped uint8.

    `channels` 0 picks 1 for all-greyscale data and 3 otherwise; `split` selects MNIST's
    train/test/all images. Skipped files are reported once through `warn` (default
    `warnings.warn`). Raises DatasetError/ArchiveError/ConfigError with a one-line message.
    """
    label = check_args(source, image_size, channels, split)
    source_str = os.fspath(source)
    split = effective_split(source_str, split)
    with open_source(source_str, split) as src:
        key = cache.fingerprint(src.stamp_lines(), image_size, channels, split)
        folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        data = cache.load(folder, key, image_size)
        if data is None:
            if isinstance(src, MnistSource):
                data = _build_mnist(src, image_size, channels, key)
            else:
                data = _build_files(src, image_size, channels, key)
            cache.save(folder, data)
    result = ImageData(
        images=data.images,
        labels=data.labels,
        class_names=data.class_names,
        channels=data.channels,
        source=source_str,
        fingerprint=data.fingerprint,
        skipped=data.skipped,
        converted=data.converted,
    )
    messages = [skip_summary(label, data.skipped, data.dropped)] if data.skipped or data.dropped else []
    if channels == 0:
        messages += colour_mix_note(label, data.images)
    for message in messages:
        if warn is None:
            warnings.warn(message, UserWarning, stacklevel=2)
        else:
            warn(message)
    if require_classes:
        check_classes(result, label)
    return result


def check_args(source: object, image_size: object, channels: object, split: object) -> str:
    """Validate the arguments; returns the source as shown in messages."""
    if not isinstance(source, (str, os.PathLike)) or not os.fspath(source):
        raise ConfigError(f"dataset source must be a built-in name, a folder or a .zip path, got {source!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
        raise ConfigError(f"image_size must be an integer, got {image_size!r}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ConfigError(f"image_size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE}, got {image_size}")
    if isinstance(channels, bool) or channels not in (0, 1, 3):
        raise ConfigError(f"channels must be 0 (auto), 1 or 3, got {channels!r}")
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return display(os.fspath(source))


def skip_summary(label: str, skipped: list[tuple[str, str]], dropped: list[str]) -> str:
    """One line naming the skipped files (first WARN_LIST) and dropped class folders."""
    parts = []
    if skipped:
        named = "; ".join(f"{rel} ({reason})" for rel, reason in skipped[:WARN_LIST])
        more = f"; and {len(skipped) - WARN_LIST} more" if len(skipped) > WARN_LIST else ""
        parts.append(f"skipped {len(skipped)} file{'s' if len(skipped) != 1 else ''}: {named}{more}")
    if dropped:
        parts.append(f"dropped class folder(s) with no usable images: {', '.join(dropped)}")
    return f"{label}: " + "; ".join(parts)


def check_classes(data: ImageData, label: str) -> None:
    """ACGAN needs labelled data with at least 2 classes."""
    if data.num_classes >= 2:
        return
    if data.num_classes == 0:
        found = f"a flat folder of {len(data)} image{'s' if len(data) != 1 else ''}"
    else:
        found = f"1 class: {data.class_names[0]}"
    raise DatasetError(
        f"ACGAN needs at least 2 classes: put each class's images in its own subfolder of {label} (found {found})"
    )


def _build_mnist(src: MnistSource, size: int, channels: int, key: str) -> CachedData:
    raw, labels = src.load()
    images = transform_grey_batch(raw, size)
    if channels == 3:
        images = np.ascontiguousarray(np.repeat(images, 3, axis=3))
    names = [str(d) for d in range(10)]
    return CachedData(images, labels, names, images.shape[3], key)


def _build_files(src: FileSource, size: int, channels: int, key: str) -> CachedData:
    """Decode, convert and transform every file once; drop empty classes."""
    items = src.layout.items
    if not items:
        raise DatasetError(f"no image files in {src.label}{_first_problems(src.skipped, ' (skipped: ', ')')}")
    needed = len(items) * size * size * (channels or 3)
    if needed > MAX_ARRAY_BYTES:
        raise DatasetError(
            f"{src.label}: {len(items):,} images at {size}x{size} need {needed / 1024**3:.1f} GiB of memory "
            f"(limit {MAX_ARRAY_BYTES / 1024**3:.0f} GiB); choose a smaller image size"
        )
    problems: list[tuple[str, str]] = []
    arrays: list[np.ndarray | None] = []
    labels: list[int] = []
    converted: list[tuple[str, str]] = []
    for item in decode_items(src, problems):
        image = item.decoded.image
        if channels == 1 and image.mode != "L":
            image = image.convert("L")
        arrays.append(to_array(image, size))
        labels.append(item.label)
        converted.extend((item.entry.rel, note) for note in item.decoded.notes)
    if not arrays:
        raise DatasetError(
            f"none of the {len(items)} files in {src.label} could be decoded"
            f"{_first_problems(problems, '; first problems: ', '')}"
        )
    final_channels = channels or (3 if any(a.shape[2] == 3 for a in arrays if a is not None) else 1)
    images = stack_channels(arrays, final_channels, size)
    label_array, names, dropped = _drop_empty_classes(np.asarray(labels, dtype=np.int64), src.layout.class_names)
    return CachedData(images, label_array, names, final_channels, key, src.skipped + problems, converted, dropped)


def _first_problems(skipped: list[tuple[str, str]], before: str, after: str, count: int = 5) -> str:
    if not skipped:
        return ""
    return before + ", ".join(f"{rel} ({reason})" for rel, reason in skipped[:count]) + after


def _drop_empty_classes(labels: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Remove classes without any usable image and renumber the labels."""
    if not names:
        return labels, [], []
    counts = np.bincount(labels, minlength=len(names))
    keep = [i for i, count in enumerate(counts) if count > 0]
    if len(keep) == len(names):
        return labels, names, []
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    dropped = [name for i, name in enumerate(names) if counts[i] == 0]
    return remap[labels], [names[i] for i in keep], dropped


def colour_mix_note(label: str, images: np.ndarray, chunk: int = 4096) -> list[str]:
    """The adjustment made to a set mixing greyscale and colour pictures, said once: all are used in
    colour, the grey ones with their grey in red, green and blue ([] when the set is not mixed)."""
    if images.ndim != 4 or images.shape[3] != 3 or not len(images):
        return []
    grey = 0
    for i in range(0, len(images), chunk):
        x = images[i:i + chunk]
        grey += int(((x[..., 0] == x[..., 1]) & (x[..., 1] == x[..., 2])).all(axis=(1, 2)).sum())
    if grey == 0 or grey == len(images):
        return []
    return [f"{label}: {grey:,} of {len(images):,} images are greyscale and the others in colour: all are used in "
            "colour, the greyscale ones with their grey copied to red, green and blue (channels 1 uses all in grey)"]


@dataclass
class Survey:
    """A quick look at a source without decoding it (what the automatic preset needs)."""

    images: int  # image files in the layout (decoding decides which are usable)
    class_counts: dict[str, int]  # files per class folder; {} when flat
    sizes: dict[str, int]  # original "WxH" -> files, among those sampled (as the doctor's report counts them)


def survey(source: str, sample: int = 200) -> Survey:
    """Count a source's files per class and read the picture size from up to `sample` files'
    headers (evenly spread), without decoding any image."""
    import io
    from collections import Counter

    from PIL import Image

    from .decode import guard_pil

    label = check_args(source, 32, 0, "train")
    source_str = os.fspath(source)
    with open_source(source_str, effective_split(source_str, "train")) as src:
        if isinstance(src, MnistSource):
            raw, labels = src.load()
            return Survey(len(labels), {str(d): int((labels == d).sum()) for d in range(10)},
                          {f"{raw.shape[2]}x{raw.shape[1]}": len(labels)})
        items = src.layout.items
        names = src.layout.class_names
        per = Counter(lab for _, lab in items)
        counts = {names[k]: per.get(k, 0) for k in range(len(names))} if names else {}
        sizes: Counter = Counter()
        guard_pil()
        for entry, _ in items[:: max(1, len(items) // sample)][:sample]:
            try:
                with Image.open(io.BytesIO(src.listing.read(entry))) as im:  # the header only
                    sizes[f"{im.size[0]}x{im.size[1]}"] += 1
            except Exception:  # noqa: BLE001 - an unreadable file is the loader's to report
                continue
    if not items:
        raise DatasetError(f"no image files in {label}")
    return Survey(len(items), counts, dict(sizes))
