"""Saving uploaded datasets under the app's uploads folder, never anywhere else.

A zip is written to a temporary file inside the uploads folder and unpacked with
`gan_core.data.safe_extract` (zip bombs, `..`, absolute paths and links are refused), then
the archive is deleted. Loose files (a multi-file or folder upload) are saved with every path
part passed through `safe_name`. Each upload becomes `uploads/<safe name>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable

from . import paths, quotas, roles

MAX_FILES = 20_000  # loose files per upload (large sets: upload a zip)
MAX_DEPTH = 3  # path parts kept below the upload folder (class/sub/file)
INFO = ".upload.json"


class UploadError(Exception):
    """An upload the app refuses; carries one readable line."""


@dataclass
class SavedUpload:
    name: str  # folder name under uploads/
    path: Path
    files: int
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _stem(filename: str) -> str:
    base = PurePosixPath(filename.replace("\\", "/")).name
    return base[:-4] if base.lower().endswith(".zip") else (PurePosixPath(base).stem or base)


def save_zip(filename: str, data: bytes, name: str | None = None) -> SavedUpload:
    """Unpack an uploaded zip into uploads/<name>/ (UploadError for unsafe or broken archives)."""
    from gan_core.errors import GanStudioError

    from gan_core.data import safe_extract

    roles.require_owner("upload data")
    if not data:
        raise UploadError(f"{filename} is empty")
    _within_quotas(filename, len(data), *_zip_contents(filename, data))
    root = paths.uploads_dir()
    dest = paths.unique_child(root, name or _stem(filename), fallback="dataset")
    tmp = root / f".incoming-{os.getpid()}-{time.time_ns()}.zip"
    try:
        tmp.write_bytes(data)
        skipped = safe_extract(tmp, dest)
    except GanStudioError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise UploadError(str(exc).replace(str(tmp), filename)) from None
    finally:
        tmp.unlink(missing_ok=True)
    files = sum(1 for p in dest.rglob("*") if p.is_file())
    if not files:
        shutil.rmtree(dest, ignore_errors=True)
        raise UploadError(f"{filename} holds no files that could be unpacked safely")
    _write_info(dest, filename, "zip", files, skipped)
    return SavedUpload(dest.name, dest, files, skipped)


def _zip_contents(filename: str, data: bytes) -> tuple[int, int]:
    """(files, unpacked bytes) a zip declares, read from its directory before anything is unpacked
    (safe_extract checks the real sizes while unpacking, and refuses what is not a zip)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return 0, len(data)  # not a zip: safe_extract says so, in its own words
    return len(members), sum(i.file_size for i in members)


def _within_quotas(what: str, size: int, files: int, unpacked: int) -> None:
    """UploadError when an upload is over the size, image-count or disk quota (ui.quotas)."""
    try:
        lim = quotas.limits()
        quotas.check_upload_size(size, what, lim)
        quotas.check_images(files, what, lim)
        quotas.check_disk(unpacked, what, lim)
    except quotas.QuotaError as exc:
        raise UploadError(str(exc)) from None


def clean_parts(filename: str) -> list[str] | None:
    """Safe path parts for one uploaded file name (None if nothing usable remains)."""
    raw = [p for p in filename.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not raw or any(p.startswith(".") for p in raw):
        return None  # hidden files / folders (.DS_Store, .git/...) are not data
    parts = raw[-MAX_DEPTH:]
    out = []
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        stem, suffix = (PurePosixPath(p).stem, PurePosixPath(p).suffix) if last else (p, "")
        safe = paths.safe_name(stem, fallback="file" if last else "folder")
        ext = paths.safe_name(suffix.lstrip("."), fallback="")[:10].lower()
        out.append(f"{safe}.{ext}" if ext else safe)
    return out


def strip_common_root(names: list[str]) -> list[str]:
    """Drop the selected folder's own name, shared by every file of a folder upload."""
    split = [n.replace("\\", "/").strip("/").split("/") for n in names]
    if len(split) > 0 and all(len(s) > 1 for s in split) and len({s[0] for s in split}) == 1:
        return ["/".join(s[1:]) for s in split]
    return names


def save_files(files: Iterable[tuple[str, bytes]], name: str) -> SavedUpload:
    """Save loose uploaded files (name, bytes) as uploads/<name>/...; sub-folders are kept as classes."""
    roles.require_owner("upload data")
    items = list(files)
    if not items:
        raise UploadError("no files were uploaded")
    _within_quotas(f"this upload of {len(items):,} files", sum(len(d) for _, d in items), len(items),
                   sum(len(d) for _, d in items))
    if len(items) > MAX_FILES:
        raise UploadError(f"{len(items):,} files is too many for a direct upload (limit {MAX_FILES:,}); "
                          "upload a .zip instead")
    names = strip_common_root([n for n, _ in items])
    dest = paths.unique_child(paths.uploads_dir(), name, fallback="dataset")
    dest.mkdir(parents=True)
    skipped: list[tuple[str, str]] = []
    written = 0
    used: set[str] = set()
    for (orig, data), rel in zip(items, names):
        parts = clean_parts(rel)
        if parts is None:
            skipped.append((orig, "hidden file"))
            continue
        if not data:
            skipped.append((orig, "empty file"))
            continue
        target_rel = "/".join(parts)
        n = 2
        while target_rel.lower() in used:  # two names that sanitise to the same one
            stem, dot, ext = parts[-1].rpartition(".")
            target_rel = "/".join(parts[:-1] + [f"{stem or ext}-{n}{dot}{ext if stem else ''}"])
            n += 1
        used.add(target_rel.lower())
        target = dest.joinpath(*target_rel.split("/"))
        if dest.resolve() not in target.resolve().parents:
            skipped.append((orig, "would land outside the upload folder"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    if not written:
        shutil.rmtree(dest, ignore_errors=True)
        raise UploadError("none of the uploaded files could be saved" +
                          (f" ({skipped[0][1]})" if skipped else ""))
    _write_info(dest, f"{len(items)} files", "files", written, skipped)
    return SavedUpload(dest.name, dest, written, skipped)


def _write_info(dest: Path, original: str, kind: str, files: int, skipped: list[tuple[str, str]]) -> None:
    info = {"original": original, "kind": kind, "files": files, "created": time.time(),
            "skipped": skipped[:200]}
    (dest / INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")


@dataclass
class UploadedSet:
    name: str
    path: Path
    files: int
    created: float
    original: str


def list_uploads() -> list[UploadedSet]:
    """Uploaded datasets, newest first."""
    out = []
    for p in paths.uploads_dir().iterdir():
        if not p.is_dir() or p.name.startswith("."):
            continue
        try:
            info = json.loads((p / INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        out.append(UploadedSet(p.name, p, int(info.get("files", 0)), float(info.get("created", p.stat().st_mtime)),
                               str(info.get("original", p.name))))
    return sorted(out, key=lambda u: u.created, reverse=True)


def upload_path(name: str) -> Path:
    """The folder of an uploaded dataset (ValueError for bad or unknown names)."""
    p = paths.child(paths.uploads_dir(), name)
    if not p.is_dir():
        raise ValueError(f"no uploaded dataset named {name!r}")
    return p


def delete_upload(name: str) -> None:
    roles.require_owner("delete uploaded data")
    shutil.rmtree(upload_path(name))
