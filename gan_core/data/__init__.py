"""Datasets for GAN Studio: built-in MNIST / ORL faces, user folders and zip archives.

`load_dataset` decodes, checks, converts and resizes images once (then caches them);
`inspect_dataset` is the dataset doctor; `safe_extract` unpacks an uploaded zip safely.
Importing this package does no work.
"""

from .archive import safe_extract
from .builtin import BUILTIN_DATASETS
from .doctor import inspect_dataset
from .loader import load_dataset
from .types import DatasetReport, ImageData

__all__ = [
    "BUILTIN_DATASETS",
    "DatasetReport",
    "ImageData",
    "inspect_dataset",
    "load_dataset",
    "safe_extract",
]
