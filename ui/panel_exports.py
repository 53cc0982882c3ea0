"""Export files for the panel: PNG and GIF (with the recipe inside), MP4 when ffmpeg exists, recipe JSON.

Files go to a private folder under the system temp dir (created on first use), one new
sub-folder per export, named by this module only: nothing from a request names a path. The
oldest exports are deleted once more than KEEP exist (Gradio has copied them to its own cache
by then).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from gan_core.explore import Recipe, gif_bytes, png_bytes

KEEP = 64
SCALES = (1, 2, 4, 8)
_root: Path | None = None
_lock = threading.Lock()


def export_root() -> Path:
    """This process's export folder (created on first use)."""
    global _root
    with _lock:
        if _root is None or not _root.is_dir():
            _root = Path(tempfile.mkdtemp(prefix="gan-studio-exports-"))
        return _root


def _new_dir() -> Path:
    root = export_root()
    with _lock:
        olds = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for p in olds[: max(0, len(olds) - KEEP + 1)]:
            shutil.rmtree(p, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=root))


def _stem(r: Recipe) -> str:
    # the checkpoint name was checked by Recipe (letters, digits, . _ -); seeds are ints
    path = "-".join(str(s) for s in r.path_seeds) if r.keyframes else f"{r.seed_a}-{r.seed_b}"
    return f"{r.checkpoint}_{path}"


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale of (H, W, C) uint8 by an integer factor (keeps pixels crisp)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale}")
    return image if scale == 1 else image.repeat(scale, axis=0).repeat(scale, axis=1)


def write_png(image: np.ndarray, recipe: Recipe) -> Path:
    """The still image at its native size, recipe in an iTXt chunk."""
    path = _new_dir() / f"{_stem(recipe)}_t{recipe.t:.3f}.png"
    path.write_bytes(png_bytes(image, recipe))
    return path


def write_gif(frames: Sequence[np.ndarray], recipe: Recipe, scale: int = 1) -> Path:
    path = _new_dir() / f"{_stem(recipe)}_{len(frames)}f.gif"
    path.write_bytes(gif_bytes([upscale(f, scale) for f in frames], recipe))
    return path


def write_json(recipe: Recipe) -> Path:
    path = _new_dir() / f"{_stem(recipe)}.recipe.json"
    path.write_text(recipe.to_json(indent=2) + "\n", encoding="utf-8")
    return path


def ffmpeg() -> str | None:
    """The ffmpeg executable: the system's if it has one, else the static build the
    `imageio-ffmpeg` wheel ships (a requirement, so MP4 export works on a bare machine or Space);
    None if neither is usable (then the MP4 option is hidden)."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError):
        return None


def write_mp4(frames: Sequence[np.ndarray], recipe: Recipe, scale: int = 4) -> Path:
    """H.264 MP4 through an installed ffmpeg (frames piped raw; the recipe in the comment tag)."""
    exe = ffmpeg()
    if exe is None:
        raise ValueError("MP4 export needs ffmpeg, which is not installed here; export a GIF instead")
    big = [upscale(f, scale) for f in frames]
    if big[0].shape[2] == 1:
        big = [np.repeat(f, 3, axis=2) for f in big]
    h, w = big[0].shape[:2]
    path = _new_dir() / f"{_stem(recipe)}_{len(frames)}f.mp4"
    cmd = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(recipe.fps), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-movflags", "+faststart", "-metadata", f"comment={recipe.to_json()}", str(path)]
    proc = subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in big),
                          capture_output=True, timeout=120)
    if proc.returncode != 0 or not path.is_file():
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(f"ffmpeg could not write the MP4: {err[-1] if err else 'unknown error'}")
    return path
