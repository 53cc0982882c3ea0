"""Zip archives: bomb checks, unsafe-member filtering, direct reading and `safe_extract`.

An archive is refused as a whole (ArchiveError) when it is not a zip, or when its central
directory declares too much data, too many members, or a member that expands suspiciously
(a zip bomb). Unsafe members (`..` parts, absolute paths, symlinks, encrypted, special
files) are never read or written; they are reported as skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
import zlib
from pathlib import Path

from ..errors import ArchiveError
from .decode import Unusable
from .paths import display, is_ignored, natural_key, one_line
from .scan import Entry

MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # total declared size of all members
MAX_COMPRESSION_RATIO = 200  # uncompressed / compressed, for members above RATIO_MIN_BYTES
RATIO_MIN_BYTES = 1024 * 1024
MAX_MEMBERS = 200_000

_DRIVE = re.compile(r"^[A-Za-z]:")
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError)


def open_zip(path: Path, label: str) -> zipfile.ZipFile:
    """Open `path` and run the whole-archive bomb checks; ArchiveError when unusable."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise ArchiveError(f"{label} is not a valid zip archive") from None
    try:
        check_archive(zf, label)
    except ArchiveError:
        zf.close()
        raise
    return zf


def check_archive(zf: zipfile.ZipFile, label: str) -> None:
    """Refuse zip bombs from the central directory, before any member is read."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{label} has {len(infos):,} members (limit {MAX_MEMBERS:,}); refusing it as a zip bomb")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ArchiveError(
            f"{label} would expand to {total / 1024**3:.1f} GiB "
            f"(limit {MAX_UNCOMPRESSED_BYTES / 1024**3:.0f} GiB); refusing it as a zip bomb"
        )
    for info in infos:
        if info.file_size > RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise ArchiveError(
                    f"{label}: member {display(info.filename)} expands {ratio:,.0f} times "
                    f"(limit {MAX_COMPRESSION_RATIO}); refusing the archive as a zip bomb"
                )


def member_parts(name: str) -> tuple[str, ...]:
    """Path components of a member name (backslashes count as separators, `.` dropped)."""
    return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member must never be read or written, or None when it is safe."""
    name = info.filename
    kind = stat.S_IFMT(info.external_attr >> 16)
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symlink (not followed)"
    if "\x00" in name:
        return "invalid name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        return "absolute path"
    if ".." in normal.split("/"):
        return "path traversal (..)"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


class ZipListing:
    """The files of a zip archive, read directly from it (no extraction)."""

    def __init__(self, path: Path, label: str) -> None:
        st = path.stat()
        self.stamp = f"zip:{st.st_size}:{st.st_mtime_ns}"
        self.zf = open_zip(path, label)
        self.entries: list[Entry] = []
        self.skipped: list[tuple[str, str]] = []
        seen: set[tuple[str, ...]] = set()
        for info in self.zf.infolist():
            problem = member_problem(info)
            if problem is not None:
                self.skipped.append((display(info.filename), problem))
                continue
            parts = member_parts(info.filename)
            if info.is_dir() or not parts or is_ignored(parts):
                continue
            rel = "/".join(display(p) for p in parts)
            if parts in seen:
                self.skipped.append((rel, "duplicate name in the archive"))
                continue
            seen.add(parts)
            stamp = f"{info.file_size}:{info.CRC}:{info.compress_size}"
            self.entries.append(Entry(rel, parts, info.file_size, stamp, info))
        self.entries.sort(key=lambda e: natural_key(e.rel))

    def read(self, entry: Entry) -> bytes:
        """The member's bytes (bounded by its declared size); Unusable when unreadable."""
        try:
            return self.zf.read(entry.ref)
        except _READ_ERRORS as exc:
            raise Unusable(f"unreadable archive member ({one_line(exc, 60) or type(exc).__name__})") from None

    def close(self) -> None:
        self.zf.close()


def safe_extract(zip_path: str | os.PathLike[str], dest_dir: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Extract the safe regular files of a zip strictly inside `dest_dir`.

    Applies the same archive checks as reading (ArchiveError for bombs and non-zips) and
    returns (member, reason) for every member it did not write.
    """
    path = Path(zip_path)
    label = display(str(zip_path))
    if not path.is_file():
        raise ArchiveError(f"archive not found: {label}")
    skipped: list[tuple[str, str]] = []
    written: set[Path] = set()
    with open_zip(path, label) as zf:
        root = _make_dest(dest_dir)
        for info in zf.infolist():
            name = display(info.filename)
            parts = member_parts(info.filename)
            problem = member_problem(info)
            if problem is None and (info.is_dir() or not parts):
                continue
            target = root.joinpath(*parts).resolve() if problem is None else None
            if target is not None and root not in target.parents:
                problem = "would land outside the destination"
            elif target is not None and target in written:
                problem = "duplicate name in the archive"
            if problem is not None or target is None:
                skipped.append((name, problem or "unsafe"))
                continue
            reason = _write_member(zf, info, target, root)
            if reason:
                skipped.append((name, reason))
            else:
                written.add(target)
    return skipped


def _make_dest(dest_dir: str | os.PathLike[str]) -> Path:
    try:
        root = Path(dest_dir)
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve(strict=True)
    except OSError as exc:
        raise ArchiveError(f"cannot create the extraction folder {display(str(dest_dir))}: {exc.strerror}") from None


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, root: Path) -> str | None:
    """Write one member to `target`; returns a skip reason on failure (nothing left behind)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if root not in target.parent.resolve().parents and target.parent.resolve() != root:
            return "would land outside the destination"
        if target.is_symlink() or (target.exists() and not target.is_file()):
            return "would overwrite a link or folder"
    except OSError as exc:
        return f"cannot write ({exc.strerror})"
    try:
        with zf.open(info) as src:
            try:
                with open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            except OSError as exc:
                target.unlink(missing_ok=True)
                return f"cannot write ({exc.strerror})"
    except _READ_ERRORS as exc:
        target.unlink(missing_ok=True)
        return f"unreadable archive member ({one_line(exc, 60) or type(exc).__name__})"
    return None
