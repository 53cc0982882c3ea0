"""The dataset doctor: `inspect_dataset` looks at a source the way `load_dataset` would and
reports counts, sizes, modes, skipped/converted files, duplicates and plain advice.

It runs the same listing, layout and decode code as the loader (each file decoded once)
and keeps only small per-image facts, plus a few transformed images as a preview.

Near-duplicates are proposed by a hash and confirmed on pixels (`near_dups`).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..config import ACGAN_SIZES, DCGAN_SIZES
from ..errors import ConfigError
from .loader import check_args
from .near_dups import (CROWDED_BUCKET, NEAR_DUP_MAX_DIFF, THUMB_SIDE, Fingerprints, NearDuplicates,
                        near_duplicates)
from .pipeline import decode_items
from .sources import FileSource, MnistSource, effective_split, open_source
from .transform import stack_channels, to_array
from .types import DatasetReport

SMALL_DATASET = 1000
IMBALANCE_RATIO = 3.0
MANY_DUPLICATES = 0.05  # fraction of images


@dataclass
class _Facts:
    """Per-image facts gathered in the single decode pass."""

    class_names: list[str]
    labels: list[int] = field(default_factory=list)
    rels: list[str] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)
    pixel_groups: dict[bytes, list[str]] = field(default_factory=dict)
    prints: Fingerprints = field(default_factory=lambda: Fingerprints())  # per image, in `rels` order
    preview: list[np.ndarray | None] = field(default_factory=list)
    colour: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)
    converted: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    num_files: int = 0

    def add(self, rel: str, label: int, image: Image.Image, original: tuple[int, int], mode: str) -> None:
        self.rels.append(rel)
        self.labels.append(label)
        self.sizes[f"{original[0]}x{original[1]}"] += 1
        self.modes[mode] += 1
        key = hashlib.blake2b(image.tobytes(), digest_size=16, person=image.mode.encode()[:16])
        key.update(repr(image.size).encode())
        self.pixel_groups.setdefault(key.digest(), []).append(rel)
        self.prints.add(image)


def inspect_dataset(
    source: str | os.PathLike[str],
    image_size: int = 64,
    *,
    channels: int = 0,
    preview: int = 36,
    split: str = "train",
) -> DatasetReport:
    """Report what `load_dataset(source, image_size, channels=..., split=...)` would see."""
    label = check_args(source, image_size, channels, split)
    if isinstance(preview, bool) or not isinstance(preview, int) or preview < 0:
        raise ConfigError(f"preview must be a non-negative integer, got {preview!r}")
    split = effective_split(os.fspath(source), split)
    with open_source(os.fspath(source), split) as src:
        if isinstance(src, MnistSource):
            facts = _scan_mnist(src, image_size, preview)
        else:
            facts = _scan_files(src, image_size, channels, preview)
    return _report(os.fspath(source), label, facts, image_size, channels)


def _preview_slots(count: int, wanted: int) -> list[int]:
    """Evenly spread positions (in layout order) for the preview images."""
    if count == 0 or wanted == 0:
        return []
    return sorted({int(round(x)) for x in np.linspace(0, count - 1, min(wanted, count))})


def _scan_files(src: FileSource, size: int, channels: int, preview: int) -> _Facts:
    facts = _Facts(list(src.layout.class_names), num_files=src.num_files)
    slots = deque(_preview_slots(len(src.layout.items), preview))
    held: Image.Image | None = None  # latest usable image not yet in the preview
    owed = 0  # slots whose file was unusable, to fill with the next usable image
    problems: list[tuple[str, str]] = []
    for item in decode_items(src, problems):
        decoded = item.decoded
        image = decoded.image
        facts.add(item.entry.rel, item.label, image, decoded.size, decoded.mode)
        facts.converted.extend((item.entry.rel, note) for note in decoded.notes)
        if channels == 1 and image.mode != "L":
            image = image.convert("L")
        facts.colour |= image.mode != "L"
        while slots and slots[0] < item.index:  # those slots' files were unusable
            slots.popleft()
            if held is not None:
                facts.preview.append(to_array(held, size))
                held = None
            else:
                owed += 1
        if slots and slots[0] == item.index:
            slots.popleft()
            facts.preview.append(to_array(image, size))
        elif owed:
            facts.preview.append(to_array(image, size))
            owed -= 1
        else:
            held = image
    if slots and held is not None:
        facts.preview.append(to_array(held, size))
    facts.skipped = src.skipped + problems
    return facts


def _scan_mnist(src: MnistSource, size: int, preview: int) -> _Facts:
    images, labels = src.load()
    facts = _Facts([str(d) for d in range(10)], num_files=len(images))
    for i, (pixels, label) in enumerate(zip(images, labels)):
        facts.add(f"{src.split}/{i}", int(label), Image.fromarray(pixels, "L"), (28, 28), "L")
    for i in _preview_slots(len(images), preview):
        facts.preview.append(to_array(Image.fromarray(images[i], "L"), size))
    facts.notes.append(f"built-in MNIST ({src.split} split): image names are '{src.split}/<index>'")
    return facts


def _report(source: str, label: str, facts: _Facts, size: int, channels: int) -> DatasetReport:
    exact = [group for group in facts.pixel_groups.values() if len(group) > 1]
    index = {rel: i for i, rel in enumerate(facts.rels)}
    reps = np.array([index[group[0]] for group in facts.pixel_groups.values()], dtype=np.int64)  # one per group
    thumbs, hashes, offsets, colours = facts.prints.arrays()
    near = near_duplicates([facts.rels[i] for i in reps], hashes[reps], thumbs[reps],
                           offsets=offsets[reps], colours=colours[reps])
    final_channels = channels or (3 if facts.colour else 1)
    preview = (
        stack_channels(facts.preview, final_channels, size)
        if facts.preview
        else np.zeros((0, size, size, final_channels), dtype=np.uint8)
    )
    counts = Counter(facts.labels)
    class_counts = {name: counts.get(i, 0) for i, name in enumerate(facts.class_names)}
    advice = _advice(label, facts, class_counts, exact, near, size)
    return DatasetReport(
        source=source,
        num_images=len(facts.rels),
        num_files=facts.num_files,
        class_counts=class_counts,
        sizes=dict(facts.sizes.most_common()),
        modes=dict(facts.modes.most_common()),
        skipped=facts.skipped,
        converted=facts.converted,
        exact_duplicates=exact,
        near_duplicates=near.pairs,
        preview=preview,
        channels=final_channels,
        advice=advice,
        near_duplicate_count=near.total,
        near_duplicates_unchecked=near.unchecked,
    )


def _advice(
    label: str, facts: _Facts, class_counts: dict[str, int], exact: list[list[str]], near: NearDuplicates, size: int
) -> list[str]:
    """Plain-language advice, most important first."""
    n = len(facts.rels)
    advice: list[str] = []
    if facts.num_files == 0:
        return [f"no image files found in {label}"]
    if n == 0:
        return [f"none of the {facts.num_files} files in {label} could be decoded: see the skipped list"]
    if facts.skipped:
        first = ", ".join(f"{rel} ({why})" for rel, why in facts.skipped[:3])
        advice.append(f"{len(facts.skipped)} file(s) will be skipped, e.g. {first}")
    if n < SMALL_DATASET:
        advice.append(
            f"small dataset ({n} images): enable DiffAugment (translation,cutout,color) and horizontal flips"
        )
    if not class_counts:
        advice.append(
            "no class folders: only DCGAN (unconditional) can train on this; "
            "put each class in its own subfolder for ACGAN"
        )
    elif len(class_counts) == 1:
        advice.append(
            f"only one class folder ({next(iter(class_counts))}): DCGAN can train on it; "
            "ACGAN needs at least 2 classes"
        )
    empty = [name for name, count in class_counts.items() if count == 0]
    if empty:
        advice.append(f"class folder(s) without usable images will be dropped: {', '.join(empty)}")
    used = {name: count for name, count in class_counts.items() if count > 0}
    if len(used) >= 2:
        big, small = max(used, key=used.get), min(used, key=used.get)
        if used[big] / used[small] > IMBALANCE_RATIO:
            advice.append(
                f"strong class imbalance: '{big}' has {used[big]} images but '{small}' only {used[small]} "
                f"({used[big] / used[small]:.0f}x); ACGAN will favour the big classes: balance them if you can"
            )
    advice.extend(_duplicate_advice(sum(len(group) - 1 for group in exact), near, n))
    advice.extend(_size_advice(facts, size))
    if facts.converted:
        kinds = Counter(note for _, note in facts.converted)
        advice.append(
            f"{len(facts.converted)} conversion(s) applied: "
            + ", ".join(f"{note} ({count})" for note, count in kinds.most_common(4))
        )
    advice.extend(facts.notes)
    return advice or ["no problems found"]


def _duplicate_advice(extra_copies: int, near: NearDuplicates, n: int) -> list[str]:
    """Duplicates, with how near-duplicates were confirmed; removal is advised only when many."""
    found = []
    if extra_copies:
        found.append(f"{extra_copies:,} exact cop{'y' if extra_copies == 1 else 'ies'} of other images")
    if near.total:
        found.append(
            f"{near.total:,} near-duplicate pair{'' if near.total == 1 else 's'} (confirmed on pixels: after "
            f"centring and normalising brightness and contrast, their {THUMB_SIDE}x{THUMB_SIDE} thumbnails "
            f"differ by less than {NEAR_DUP_MAX_DIFF:.0%} of the pixel spread, RMS)"
        )
    advice = []
    if found and extra_copies + near.total > MANY_DUPLICATES * n:
        advice.append(
            f"many duplicates: {' and '.join(found)}; remove the extra copies so the GAN does not memorise them"
        )
    elif found:
        advice.append(f"{' and '.join(found)} found")
    if near.unchecked:
        advice.append(
            f"{near.unchecked:,} nearly blank or very plain image(s) share one coarse fingerprint with more than "
            f"{CROWDED_BUCKET:,} others and were not checked for near-duplicates"
        )
    return advice


def _size_advice(facts: _Facts, size: int) -> list[str]:
    advice = []
    small = Counter()
    tall_or_wide = Counter()
    for text, count in facts.sizes.items():
        width, height = (int(v) for v in text.split("x"))
        if min(width, height) < size:
            small[text] += count
        if max(width, height) > 1.2 * min(width, height):
            tall_or_wide[text] += count
    if small:
        common = small.most_common(1)[0][0]
        smaller = sorted(s for s in set(DCGAN_SIZES) | set(ACGAN_SIZES) if s < size)
        hint = (
            f"a smaller image size ({', '.join(f'{s} px' for s in smaller)}) may look sharper"
            if smaller
            else f"{size} px is already the smallest size the models train at, so expect slightly soft images"
        )
        advice.append(
            f"{sum(small.values())} image(s) are smaller than {size}x{size} and will be upscaled "
            f"(most often upscaled from {common}); {hint}"
        )
    if sum(tall_or_wide.values()) > len(facts.rels) / 2:
        common = tall_or_wide.most_common(1)[0][0]
        advice.append(f"most images are not square (e.g. {common}): the center crop keeps only the middle square")
    return advice
