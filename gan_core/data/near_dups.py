"""Near-duplicate images for the dataset doctor, in two steps: a 64-bit dHash of each image's
centred grey thumbnail proposes candidate pairs, and the pixels confirm them (`near_duplicates`):
a hash of a small, mostly black picture says too little to pair images on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# Near-duplicates: the dHash only proposes candidate pairs; a pair is confirmed on pixels.
NEAR_DUP_BITS = 4  # candidates: dHashes differing in at most this many of their 64 bits
NEAR_DUP_FULL_LIMIT = 5000  # above this many images, candidates come from sorted neighbours (see hash_candidates)
NEAR_DUP_WINDOW = 32  # above NEAR_DUP_FULL_LIMIT: neighbours compared in each sorted order
THUMB_SIDE = 24  # each image keeps a 24x24 grey, centred thumbnail (576 bytes) for the pixel check
MID_SIDE = 2 * THUMB_SIDE  # images are first reduced to this square, then centred and halved
FINGERPRINT_BATCH = 4096  # reduced images held before their thumbnails are made in one numpy pass
HASH_MARGIN = 4.0  # grey levels: a dHash bit is set only when a cell is clearly brighter (noise-proof)
# Confirmed when, with both thumbnails centred on their centre of mass (aligned) and normalised
# to zero mean and unit standard deviation (brightness and contrast do not count), the RMS pixel
# difference is at most this many standard deviations: 0 is the same picture, ~1.4 unrelated ones.
NEAR_DUP_MAX_DIFF = 0.08
FLAT_STD = 2.0  # grey levels: thumbnails flatter than this are compared as flat (no contrast to scale up)
CROWDED_BUCKET = 2000  # images sharing one dHash above this many are not checked pair by pair
CONFIRM_CHUNK = 20_000  # candidate pairs checked per vectorised step
MAX_REPORTED_PAIRS = 1000  # pairs listed; the count covers them all
# Centring forgives any shift and grey normalising any colour; a copy is only *slightly* moved
# and only brightened or darkened, so a confirmed pair must also have its two centres of mass
# within this share of the image side of each other (a 1-2 px shift of a 28-40 px picture is
# 3-7%) ...
NEAR_DUP_MAX_SHIFT = 0.1
# ... and its two mean colours must differ by about the same amount in R, G and B (a brightness
# change moves them together; another colour does not): at most this many grey levels apart.
NEAR_DUP_MAX_TINT = 12.0


class Fingerprints:
    """Centred grey thumbnails, dHashes, centre-of-mass offsets and mean colours of the images
    seen so far, made in numpy batches."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # MID_SIDE x MID_SIDE grey pixels per image
        self._thumbs: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        self._colours: list[tuple[float, float, float]] = []

    def add(self, image: Image.Image) -> None:
        grey = image if image.mode == "L" else image.convert("L")
        self._pending.append(grey.resize((MID_SIDE, MID_SIDE), Image.BILINEAR).tobytes())
        rgb = np.asarray(image.convert("RGB").resize((8, 8), Image.BOX), dtype=np.float32)  # (8, 8, 3)
        self._colours.append(tuple(rgb.reshape(-1, 3).mean(axis=0)))
        if len(self._pending) >= FINGERPRINT_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            mids = np.frombuffer(b"".join(self._pending), dtype=np.uint8).reshape(-1, MID_SIDE, MID_SIDE)
            thumbs, hashes, offsets = _fingerprints(mids)
            self._thumbs.append(thumbs)
            self._hashes.append(hashes)
            self._offsets.append(offsets)
            self._pending.clear()

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(N, THUMB_SIDE, THUMB_SIDE) uint8 thumbnails, (N,) uint64 dHashes, (N, 2) centre-of-mass
        offsets (rows, columns) as shares of the side, and (N, 3) mean colours."""
        self._flush()
        if not self._thumbs:
            return (np.zeros((0, THUMB_SIDE, THUMB_SIDE), np.uint8), np.zeros(0, np.uint64),
                    np.zeros((0, 2), np.float32), np.zeros((0, 3), np.float32))
        return (np.concatenate(self._thumbs), np.concatenate(self._hashes), np.concatenate(self._offsets),
                np.asarray(self._colours, dtype=np.float32))


def fingerprints(mids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, MID_SIDE, MID_SIDE) uint8 grey images -> centred thumbnails (B, THUMB_SIDE, THUMB_SIDE)
    uint8 and their 64-bit dHashes (B,) uint64 (see `_fingerprints`)."""
    thumbs, hashes, _ = _fingerprints(mids)
    return thumbs, hashes


def _fingerprints(mids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`fingerprints`, plus each image's centre-of-mass offset from the middle (B, 2), rows and
    columns, as shares of the side.

    Centring moves each image's centre of mass (of its difference from the border's median
    grey, so brightness does not pull it) to the middle with sub-pixel accuracy: a copy shifted
    by a few pixels gets nearly the same thumbnail and, mostly, the same dHash.
    """
    a = mids.astype(np.float32)  # (B, M, M)
    side = a.shape[1]
    frame = np.concatenate([a[:, 0, :], a[:, -1, :], a[:, 1:-1, 0], a[:, 1:-1, -1]], axis=1)  # (B, 4M-4)
    background = np.median(frame, axis=1).astype(np.float32)  # (B,)
    weight = np.abs(a - background[:, None, None])
    total = weight.sum(axis=(1, 2))
    steps = np.arange(side, dtype=np.float32)
    safe = np.where(total > 0, total, 1.0)
    dy = np.where(total > 0, weight.sum(axis=2) @ steps / safe - (side - 1) / 2, 0.0)  # (B,) rows off centre
    dx = np.where(total > 0, weight.sum(axis=1) @ steps / safe - (side - 1) / 2, 0.0)  # (B,) columns off centre
    rows, cols = _area_matrix(THUMB_SIDE, side, dy), _area_matrix(THUMB_SIDE, side, dx)  # (B, T, M) each
    inside = rows.sum(axis=2)[:, :, None] * cols.sum(axis=2)[:, None, :]  # (B, T, T): share of each cell in the image
    thumbs = rows @ a @ cols.transpose(0, 2, 1) + (1 - inside) * background[:, None, None]  # (B, T, T)
    grid = _area_matrix(8, THUMB_SIDE) @ thumbs @ _area_matrix(9, THUMB_SIDE).transpose(0, 2, 1)  # (B, 8, 9)
    bits = grid[:, :, 1:] > grid[:, :, :-1] + HASH_MARGIN  # (B, 8, 8): clearly brighter than the cell on its left
    hashes = np.packbits(bits.reshape(len(a), 64), axis=1).view(">u8").ravel().astype(np.uint64)
    offsets = np.stack([dy, dx], axis=1).astype(np.float32) / side  # (B, 2)
    return np.clip(np.rint(thumbs), 0, 255).astype(np.uint8), hashes, offsets


def _area_matrix(n_out: int, n_in: int, offset: np.ndarray | None = None) -> np.ndarray:
    """(B, n_out, n_in) float32 box resampling: output cell t averages the input span
    [t, t+1) * n_in / n_out + offset[b] (B = 1 without offsets); the part of a span outside
    the input gets no weight, so a row sums to the share of its span inside."""
    shift = np.zeros(1, np.float32) if offset is None else np.asarray(offset, dtype=np.float32)
    edges = np.linspace(0, n_in, n_out + 1, dtype=np.float32)[None, :] + shift[:, None]  # (B, n_out + 1)
    cells = np.arange(n_in, dtype=np.float32)[None, None, :]
    high = np.clip(edges[:, 1:, None] - cells, 0, 1)  # covered part of each input cell, up to the span's end
    high -= np.clip(edges[:, :-1, None] - cells, 0, 1)  # minus the part before the span's start
    high *= n_out / n_in
    return high


@dataclass
class NearDuplicates:
    """Near-duplicate pairs confirmed on pixels."""

    pairs: list[tuple[str, str, float]]  # (name, name, pixel difference), most alike first, capped
    total: int  # confirmed pairs in all
    candidates: int  # pairs the dHashes proposed (and the pixels checked)
    unchecked: int  # images whose dHash bucket was too crowded to check pair by pair


def near_duplicates(
    names: list[str], hashes: np.ndarray, thumbs: np.ndarray, limit: int | None = None,
    offsets: np.ndarray | None = None, colours: np.ndarray | None = None,
) -> NearDuplicates:
    """Candidates from the dHashes (`hash_candidates`), kept when `pixel_difference` of their
    thumbnails (N, T, T) uint8 is at most NEAR_DUP_MAX_DIFF and, where given, their centre-of-mass
    `offsets` (N, 2) are within NEAR_DUP_MAX_SHIFT and their mean `colours` (N, 3) differ by a
    brightness change (`colour_apart` at most NEAR_DUP_MAX_TINT); lists the first `limit`
    (MAX_REPORTED_PAIRS by default)."""
    limit = MAX_REPORTED_PAIRS if limit is None else limit
    first, second, unchecked = hash_candidates(hashes)
    flat = thumbs.reshape(len(thumbs), int(np.prod(thumbs.shape[1:])))  # (N, T*T)
    stats = _stats(flat)
    keep_i, keep_j, keep_d = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for start in range(0, len(first), CONFIRM_CHUNK):
        i, j = first[start : start + CONFIRM_CHUNK], second[start : start + CONFIRM_CHUNK]
        diff = _difference(flat[i], flat[j], stats[:, i], stats[:, j])
        ok = diff <= NEAR_DUP_MAX_DIFF
        if offsets is not None:
            ok &= np.abs(offsets[i] - offsets[j]).max(axis=1) <= NEAR_DUP_MAX_SHIFT
        if colours is not None:
            ok &= colour_apart(colours[i], colours[j]) <= NEAR_DUP_MAX_TINT
        keep_i.append(i[ok])
        keep_j.append(j[ok])
        keep_d.append(diff[ok])
    i, j, diff = np.concatenate(keep_i), np.concatenate(keep_j), np.concatenate(keep_d)
    order = np.lexsort((j, i, diff))[:limit]
    pairs = [(names[i[k]], names[j[k]], round(float(diff[k]), 3)) for k in order]
    return NearDuplicates(pairs, int(len(diff)), int(len(first)), unchecked)


def hash_candidates(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Index pairs (i < j) whose dHashes differ in at most NEAR_DUP_BITS bits, and the number of
    images left out because more than CROWDED_BUCKET others share their dHash (blank or very
    plain pictures: too many pairs to check).

    Up to NEAR_DUP_FULL_LIMIT images every pair is compared. Above it (too slow) identical
    dHashes are paired, plus neighbours: a pair within NEAR_DUP_BITS bits agrees exactly on at
    least one of NEAR_DUP_BITS + 1 slices of the hash, so sorting by each slice (then the whole
    hash) and comparing each image with the next NEAR_DUP_WINDOW finds most such pairs.
    """
    n = len(hashes)
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    crowded = np.zeros(n, dtype=bool)
    for start, size in zip(starts[sizes > CROWDED_BUCKET], sizes[sizes > CROWDED_BUCKET]):
        crowded[order[start : start + size]] = True
    ok = np.flatnonzero(~crowded)
    values = hashes[ok]
    firsts: list[np.ndarray] = [np.zeros(0, np.int64)]
    seconds: list[np.ndarray] = [np.zeros(0, np.int64)]
    if n <= NEAR_DUP_FULL_LIMIT:
        for start in range(0, len(ok), 256):
            dist = np.bitwise_count(values[start : start + 256, None] ^ values[None, :])  # (256, n)
            rows, cols = np.nonzero(dist <= NEAR_DUP_BITS)
            keep = cols > rows + start
            firsts.append(ok[rows[keep] + start])
            seconds.append(ok[cols[keep]])
        return np.concatenate(firsts), np.concatenate(seconds), int(crowded.sum())
    shared = (sizes > 1) & (sizes <= CROWDED_BUCKET)
    for start, size in zip(starts[shared], sizes[shared]):  # identical dHashes: every pair
        a, b = np.triu_indices(int(size), k=1)
        firsts.append(order[start : start + size][a])
        seconds.append(order[start : start + size][b])
    slices = NEAR_DUP_BITS + 1
    bounds = np.linspace(0, 64, slices + 1).astype(int)
    for low, high in zip(bounds[:-1], bounds[1:]):
        key = (values >> np.uint64(low)) & np.uint64((1 << int(high - low)) - 1)
        place = np.lexsort((values, key))  # sorted by this slice, then by the whole hash
        by, key_by, hash_by = ok[place], key[place], values[place]
        for step in range(1, min(NEAR_DUP_WINDOW, len(by) - 1) + 1):
            bits = np.bitwise_count(hash_by[step:] ^ hash_by[:-step])
            near = (key_by[step:] == key_by[:-step]) & (bits <= NEAR_DUP_BITS)
            firsts.append(by[:-step][near])
            seconds.append(by[step:][near])
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    pairs = np.sort(np.minimum(first, second) * n + np.maximum(first, second))  # each pair once, as i * n + j
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    return pairs // n, pairs % n, int(crowded.sum())


def colour_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K,) how far two mean colours (K, 3) are from a pure brightness change: the spread (max -
    min) over R, G and B of their difference (0 for grey images and brightened copies)."""
    d = a - b
    return d.max(axis=1) - d.min(axis=1)


def pixel_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K,) RMS difference of K pairs of thumbnails (K, P) uint8 after normalising each to zero
    mean and unit standard deviation (std floored at FLAT_STD grey levels, so flat ones are
    only centred)."""
    return _difference(a, b, _stats(a), _stats(b))


def _stats(flat: np.ndarray) -> np.ndarray:
    """(2, N) float32: each thumbnail's mean and standard deviation (flat: (N, P) uint8)."""
    out = np.zeros((2, len(flat)), dtype=np.float32)
    for start in range(0, len(flat), FINGERPRINT_BATCH):
        part = flat[start : start + FINGERPRINT_BATCH].astype(np.float32)
        out[0, start : start + len(part)] = part.mean(axis=1)
        out[1, start : start + len(part)] = part.std(axis=1)
    return out


def _difference(a: np.ndarray, b: np.ndarray, stats_a: np.ndarray, stats_b: np.ndarray) -> np.ndarray:
    """`pixel_difference` from one dot product per pair: with z = (x - mean) / s, s = max(std,
    FLAT_STD), mean((za - zb)^2) = (std_a/s_a)^2 + (std_b/s_b)^2 - 2 cov(a, b) / (s_a s_b)."""
    (mean_a, std_a), (mean_b, std_b) = stats_a, stats_b
    scale_a, scale_b = np.maximum(std_a, FLAT_STD), np.maximum(std_b, FLAT_STD)
    cov = np.einsum("kp,kp->k", a.astype(np.float32), b.astype(np.float32)) / a.shape[1] - mean_a * mean_b
    squared = (std_a / scale_a) ** 2 + (std_b / scale_b) ** 2 - 2 * cov / (scale_a * scale_b)
    return np.sqrt(np.maximum(squared, 0.0))
