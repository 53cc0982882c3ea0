"""The DCGAN-tutorial transform: Resize(shorter side = size) then CenterCrop(size).

Matches torchvision's `Resize(size)` + `CenterCrop(size)` on PIL images pixel for pixel
(bilinear with PIL's antialiasing; crop offsets rounded the same way). Output stays uint8;
normalisation to [-1, 1] and flips belong to the trainer.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) after scaling the shorter side to `size` (torchvision's rounding)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def resize_center_crop(im: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is `size`, then cut the central size x size square."""
    new_w, new_h = resized_size(im.width, im.height, size)
    if (new_w, new_h) != im.size:
        im = im.resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    if (left, top, new_w, new_h) == (0, 0, size, size):
        return im
    return im.crop((left, top, left + size, top + size))


def to_array(im: Image.Image, size: int) -> np.ndarray:
    """Transform an L or RGB image to a (size, size, 1 or 3) uint8 array."""
    arr = np.asarray(resize_center_crop(im, size), dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def transform_grey_batch(images: np.ndarray, size: int) -> np.ndarray:
    """Transform (N, H, W) uint8 greyscale images (e.g. MNIST) to (N, size, size, 1)."""
    count, height, width = images.shape
    out = np.empty((count, size, size, 1), dtype=np.uint8)
    if (height, width) == (size, size):
        out[..., 0] = images
        return out
    for i in range(count):
        out[i, :, :, 0] = np.asarray(resize_center_crop(Image.fromarray(images[i], "L"), size))
    return out


def stack_channels(arrays: list[np.ndarray | None], channels: int, size: int) -> np.ndarray:
    """Stack (size, size, 1|3) arrays into (N, size, size, channels) uint8.

    Grey arrays are repeated to 3 channels when `channels` is 3; colour arrays must already
    be grey when `channels` is 1. The list is emptied as it goes to keep peak memory low.
    """
    out = np.empty((len(arrays), size, size, channels), dtype=np.uint8)
    for i, arr in enumerate(arrays):
        assert arr is not None
        if arr.shape[2] == channels:
            out[i] = arr
        elif channels == 3:
            out[i] = arr  # broadcast the single grey channel over R, G and B
        else:
            raise AssertionError("colour image in a 1-channel stack")
        arrays[i] = None
    return out
