"""The two result types of the data package: a loaded dataset and a dataset-doctor report."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImageData:
    """A decoded, resized and center-cropped image set, ready for the trainer.

    `images` is (N, H, W, C) uint8 (C-contiguous, C == `channels`); `labels` is (N,) int64,
    -1 everywhere for an unlabelled (flat) dataset. `skipped` and `converted` hold
    (path relative to the dataset root, reason) pairs.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    channels: int
    source: str
    fingerprint: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    converted: list[tuple[str, str]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """Number of classes (0 when unlabelled)."""
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class DatasetReport:
    """What the dataset doctor found in a source (see `inspect_dataset`)."""

    source: str
    num_images: int  # usable images
    num_files: int  # files seen (hidden files and OS junk excluded)
    class_counts: dict[str, int]  # empty when unlabelled
    sizes: dict[str, int]  # original "WxH" -> count
    modes: dict[str, int]  # original PIL mode -> count
    skipped: list[tuple[str, str]]
    converted: list[tuple[str, str]]
    exact_duplicates: list[list[str]]  # groups of identical images
    # (a, b, pixel difference): pairs confirmed on pixels (see doctor.NEAR_DUP_MAX_DIFF), most alike
    # first, at most doctor.MAX_REPORTED_PAIRS of them; `near_duplicate_count` counts them all
    near_duplicates: list[tuple[str, str, float]]
    preview: np.ndarray  # (K, H, W, C) uint8, as the trainer sees them
    channels: int
    advice: list[str]
    near_duplicate_count: int = 0  # confirmed near-duplicate pairs in all (the list may be shorter)
    near_duplicates_unchecked: int = 0  # images too crowded in one dHash bucket to be checked
