"""gan_core.data: loading, validation, conversion, archives, cache, built-ins and the doctor."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import (
    make_class_folder,
    make_flat_folder,
    odd_images,
    pattern,
    png_bomb,
    save_pattern,
    symlink_member,
    zip_folder,
)
from PIL import Image

from gan_core.data import BUILTIN_DATASETS, DatasetReport, ImageData, inspect_dataset, load_dataset, safe_extract
from gan_core.data import archive, decode
from gan_core.data.builtin import data_root
from gan_core.data.doctor import NEAR_DUP_MAX_DIFF
from gan_core.errors import ArchiveError, ConfigError, DatasetError


class Warnings(list):
    """A `warn` callback that records its messages."""

    def __call__(self, message: str) -> None:
        self.append(message)


def load(source, size=16, cache=None, **kw) -> ImageData:
    kw.setdefault("warn", Warnings())
    return load_dataset(str(source), size, cache_dir=cache, **kw)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def one_line_error(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and message
    return message


# ------------------------------------------------------------------ layouts


def test_class_folder(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds")
    data = load(root, 16, cache)
    assert isinstance(data, ImageData)
    assert data.images.shape == (18, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.images.flags.c_contiguous
    assert data.class_names == ["c1", "c2", "c10"]  # natural order
    assert data.num_classes == 3 and len(data) == 18 and data.channels == 3
    assert data.labels.dtype == np.int64 and list(np.bincount(data.labels)) == [6, 6, 6]
    assert data.skipped == [] and data.converted == [] and data.source == str(root)
    assert len(data.fingerprint) == 64


def test_flat_folder_is_unlabelled(tmp_path, cache):
    data = load(make_flat_folder(tmp_path / "flat"), 16, cache)
    assert data.class_names == [] and data.num_classes == 0
    assert (data.labels == -1).all() and len(data) == 6


def test_nested_images_belong_to_their_class(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds", classes=("a", "b"), per_class=2)
    save_pattern(root / "a" / "deeper" / "more" / "x.png", 55)
    data = load(root, 16, cache)
    assert list(np.bincount(data.labels)) == [3, 2]


def test_zip_layouts_match_folders(tmp_path, cache):
    classes = make_class_folder(tmp_path / "classes")
    flat = make_flat_folder(tmp_path / "flat")
    ref_classes, ref_flat = load(classes, 16, cache), load(flat, 16, cache)
    for zip_path, ref in (
        (zip_folder(classes, tmp_path / "classes.zip"), ref_classes),
        (zip_folder(classes, tmp_path / "wrapped.zip", prefix="mydata/"), ref_classes),
        (zip_folder(flat, tmp_path / "flat.zip"), ref_flat),
    ):
        data = load(zip_path, 16, cache)
        assert data.class_names == ref.class_names, zip_path.name
        np.testing.assert_array_equal(data.images, ref.images)
        np.testing.assert_array_equal(data.labels, ref.labels)
        assert data.skipped == []


def test_double_wrapper_and_junk_around_it(tmp_path, cache):
    classes = make_class_folder(tmp_path / "classes", classes=("x", "y"), per_class=2)
    zip_path = zip_folder(classes, tmp_path / "w.zip", prefix="outer/inner/")
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr("README.txt", "hello")
        zf.writestr("__MACOSX/outer/._x.png", "junk")
    data = load(zip_path, 16, cache)
    assert data.class_names == ["x", "y"] and len(data) == 4
    assert [rel for rel, _ in data.skipped] == ["README.txt"]


def test_root_images_next_to_class_folders_are_skipped(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds", classes=("a", "b"), per_class=3)
    save_pattern(root / "stray.png", 77)
    warn = Warnings()
    data = load(root, 16, cache, warn=warn)
    assert data.class_names == ["a", "b"] and len(data) == 6
    assert data.skipped == [("stray.png", "outside class folders (the dataset has class sub-folders)")]
    assert len(warn) == 1 and "stray.png" in warn[0]


def test_single_class_folder_is_one_class(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds", classes=("cats",), per_class=3)
    data = load(root, 16, cache)
    assert data.class_names == ["cats"] and (data.labels == 0).all()


def test_unicode_hidden_and_junk(tmp_path, cache):
    root = tmp_path / "uni"
    save_pattern(root / "猫" / "图像 1.png", 1)
    save_pattern(root / "猫" / "图像 2.png", 2)
    save_pattern(root / "café" / "é.png", 3)
    save_pattern(root / "café" / ".hidden.png", 4)
    save_pattern(root / ".git" / "objects" / "x.png", 5)
    save_pattern(root / "__MACOSX" / "café" / "._é.png", 6)
    (root / "café" / "Thumbs.db").write_bytes(b"junk")
    (root / ".DS_Store").write_bytes(b"junk")
    warn = Warnings()
    data = load(root, 16, cache, warn=warn)
    assert data.class_names == ["café", "猫"]
    assert np.bincount(data.labels).tolist() == [1, 2]
    assert data.skipped == [] and warn == []
    zipped = load(zip_folder(root, tmp_path / "uni.zip"), 16, cache)
    assert zipped.class_names == data.class_names and len(zipped) == 3


# ------------------------------------------------------------------ bad files


def make_bad_folder(root: Path) -> Path:
    make_class_folder(root, classes=("a", "b"), per_class=3)
    good = (root / "a" / "img0.png").read_bytes()
    (root / "a" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "a" / "empty.png").write_bytes(b"")
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "b" / "fake.png").write_text("I am text pretending to be a PNG")
    (root / "b" / "bomb.png").write_bytes(png_bomb(100_000, 100_000))
    return root


def test_bad_files_are_skipped_and_named_once(tmp_path, cache):
    root = make_bad_folder(tmp_path / "bad")
    warn = Warnings()
    data = load(root, 16, cache, warn=warn)
    assert len(data) == 6
    reasons = dict(data.skipped)
    assert set(reasons) == {"a/truncated.png", "a/empty.png", "b/notes.txt", "b/fake.png", "b/bomb.png"}
    assert reasons["a/empty.png"] == "empty file"
    assert reasons["a/truncated.png"].startswith("corrupt")
    assert reasons["b/notes.txt"] == reasons["b/fake.png"] == "not an image"
    assert "100000x100000" in reasons["b/bomb.png"]
    assert len(warn) == 1 and "\n" not in warn[0]
    for name in reasons:
        assert name in warn[0]


def test_default_warn_uses_warnings(tmp_path, cache):
    root = make_bad_folder(tmp_path / "bad")
    with pytest.warns(UserWarning, match="truncated.png"):
        load_dataset(str(root), 16, cache_dir=cache)


def test_warning_lists_ten_then_counts(tmp_path, cache):
    root = make_flat_folder(tmp_path / "flat", count=2)
    for i in range(13):
        (root / f"junk{i:02d}.txt").write_text("x")
    warn = Warnings()
    load(root, 16, cache, warn=warn)
    assert len(warn) == 1 and "and 3 more" in warn[0] and "junk09.txt" in warn[0] and "junk10" not in warn[0]


def test_bomb_refused_from_header_without_decoding(monkeypatch):
    def no_decode(self, *a, **k):
        raise AssertionError("a bomb was decoded")

    bombs = {(w, h): png_bomb(w, h) for w, h in ((100_000, 100_000), (7_000, 7_000))}  # PIL-refused, ours-only
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decode)
    for (width, height), data in bombs.items():
        with pytest.raises(decode.Unusable, match=f"{width}x{height}"):
            decode.decode_image(data)
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= decode.MAX_PIXELS


def test_odd_modes_are_converted(tmp_path, cache):
    folder = tmp_path / "odd"
    expected = odd_images(folder)
    data = load(folder, 16, cache)
    assert len(data) == len(expected) and data.skipped == []
    notes: dict[str, list[str]] = {}
    for rel, note in data.converted:
        notes.setdefault(rel, []).append(note)
    for name, fragment in expected.items():
        assert any(fragment in n for n in notes.get(name, [])), (name, notes.get(name))
    assert data.channels == 3


def test_conversion_values():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 255
    out = decode.decode_image(_png(Image.fromarray(rgba, "RGBA")))
    arr = np.asarray(out.image)
    assert out.image.mode == "RGB" and tuple(arr[0, 0]) == (200, 0, 0) and tuple(arr[1, 1]) == (255, 255, 255)
    deep = Image.fromarray(np.array([[0, 32768, 65535, 257]], np.uint16))
    out = decode.decode_image(_png(deep))
    assert out.mode.startswith("I;16") and np.asarray(out.image).tolist() == [[0, 128, 255, 1]]
    grey_palette = Image.fromarray(pattern(3, colour=False)).convert("P")
    out = decode.decode_image(_png(grey_palette))
    assert out.image.mode == "L" and out.notes == ["P -> L"]
    floats = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F")
    out = decode.decode_image(_tiff(floats))
    assert np.asarray(out.image).tolist() == [[0, 128, 255]]


def _png(im: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _tiff(im: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, "TIFF")
    return buf.getvalue()


# ------------------------------------------------------------------ channels and transform


def test_channel_detection_and_override(tmp_path, cache):
    grey = make_class_folder(tmp_path / "grey", colour=False)
    # an RGB file whose channels are equal still counts as grey
    Image.fromarray(np.repeat(pattern(9, colour=False)[..., None], 3, axis=2)).save(grey / "c1" / "rgb.png")
    colour = make_class_folder(tmp_path / "colour")
    assert load(grey, 16, cache).channels == 1
    assert load(colour, 16, cache).channels == 3
    forced = load(grey, 16, cache, channels=3)
    assert forced.images.shape[3] == 3 and (forced.images[..., 0] == forced.images[..., 2]).all()
    as_grey = load(colour, 16, cache, channels=1)
    assert as_grey.images.shape == (18, 16, 16, 1) and as_grey.channels == 1


def test_transform_shape_and_center_crop(tmp_path, cache):
    root = tmp_path / "t"
    root.mkdir()
    cols = np.tile((np.arange(40) * 6).astype(np.uint8), (20, 1))  # 40 wide, 20 high, value = 6*x
    Image.fromarray(cols, "L").save(root / "wide.png")
    assert load(root, 16, cache).images.shape == (1, 16, 16, 1)
    data = load(root, 20, cache)  # no resize: crop columns 10..29
    assert data.images.shape == (1, 20, 20, 1)
    np.testing.assert_array_equal(data.images[0, :, :, 0], cols[:, 10:30])


def test_transform_matches_torchvision():
    import torchvision.transforms as transforms  # pinned in requirements.txt
    from gan_core.data.transform import resize_center_crop

    rng = np.random.default_rng(0)
    for width, height, size in ((40, 20, 16), (92, 112, 64), (33, 71, 32), (28, 28, 32), (300, 17, 9)):
        im = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        ref = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size)])(im)
        np.testing.assert_array_equal(np.asarray(resize_center_crop(im, size)), np.asarray(ref))


# ------------------------------------------------------------------ errors


def test_error_messages_are_one_line(tmp_path, cache):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    bad_only = tmp_path / "bad_only"
    bad_only.mkdir()
    (bad_only / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (bad_only / "b.txt").write_text("x")
    flat = make_flat_folder(tmp_path / "flat", count=12)
    one = make_class_folder(tmp_path / "one", classes=("cats",), per_class=2)
    cases = [
        (tmp_path / "missing", {}, "dataset not found: "),
        (tmp_path / "file.txt", {}, "neither a folder nor a .zip"),
        (tmp_path / "empty", {}, "no image files in "),
        (bad_only, {}, "none of the 2 files in "),
        (flat, {"require_classes": True}, "found a flat folder of 12 images"),
        (one, {"require_classes": True}, "found 1 class: cats"),
    ]
    for path, kwargs, fragment in cases:
        with pytest.raises(DatasetError) as exc_info:
            load(path, 16, cache, **kwargs)
        message = one_line_error(exc_info)
        assert fragment in message, message
        assert str(path) in message or path.name in message
    with pytest.raises(DatasetError, match=r"a.png \(corrupt.*b.txt \(not an image\)"):
        load(bad_only, 16, cache)


def test_invalid_arguments(tmp_path, cache):
    root = make_flat_folder(tmp_path / "flat", count=1)
    for kwargs in ({"channels": 2}, {"split": "validation"}):
        with pytest.raises(ConfigError):
            load(root, 16, cache, **kwargs)
    for size in (4, 2048, 16.0, True):
        with pytest.raises(ConfigError):
            load_dataset(str(root), size, cache_dir=cache)
    with pytest.raises(ConfigError, match="split 'test'"):
        load(root, 16, cache, split="test")


def test_empty_class_is_dropped_with_warning(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds", classes=("a", "b"), per_class=2)
    (root / "c").mkdir()
    (root / "c" / "broken.png").write_bytes(b"not really")
    warn = Warnings()
    data = load(root, 16, cache, warn=warn)
    assert data.class_names == ["a", "b"] and sorted(set(data.labels.tolist())) == [0, 1]
    assert len(warn) == 1 and "dropped" in warn[0] and "c/broken.png" in warn[0]
    shutil.rmtree(root / "b")
    with pytest.raises(DatasetError, match="found 1 class: a"):
        load(root, 16, cache, require_classes=True)


# ------------------------------------------------------------------ archives


def hostile_zip(path: Path) -> Path:
    good = (pattern(1), pattern(2))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, arr in enumerate(good):
            zf.writestr(f"ok{i}.png", _png(Image.fromarray(arr)))
        zf.writestr("../evil.png", _png(Image.fromarray(pattern(3))))
        zf.writestr("sub/../../evil2.png", _png(Image.fromarray(pattern(4))))
        zf.writestr("/abs.png", _png(Image.fromarray(pattern(5))))
        zf.writestr("C:\\win.png", _png(Image.fromarray(pattern(6))))
        symlink_member(zf, "link.png", "../../../../etc/passwd")
    return path


def test_unsafe_members_are_skipped_and_named(tmp_path, cache):
    warn = Warnings()
    data = load(hostile_zip(tmp_path / "h.zip"), 16, cache, warn=warn)
    assert len(data) == 2
    reasons = dict(data.skipped)
    assert reasons["../evil.png"] == reasons["sub/../../evil2.png"] == "path traversal (..)"
    assert reasons["/abs.png"] == reasons["C:\\win.png"] == "absolute path"
    assert reasons["link.png"] == "symlink (not followed)"
    assert len(warn) == 1 and all(name in warn[0] for name in reasons)


def test_safe_extract_stays_inside(tmp_path):
    dest = tmp_path / "box" / "dest"
    before = {p for p in tmp_path.rglob("*")}
    skipped = safe_extract(hostile_zip(tmp_path / "h.zip"), dest)
    unsafe = {"../evil.png", "sub/../../evil2.png", "/abs.png", "C:\\win.png", "link.png"}
    assert {name for name, _ in skipped} == unsafe
    assert sorted(p.name for p in dest.rglob("*")) == ["ok0.png", "ok1.png"]
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(p == tmp_path / "h.zip" or p == dest.parent or dest in [p, *p.parents] for p in created)


def test_safe_extract_refuses_bombs_and_non_zips(tmp_path, monkeypatch):
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(ArchiveError, match="is not a valid zip archive"):
        safe_extract(tmp_path / "fake.zip", tmp_path / "out")
    monkeypatch.setattr(archive, "MAX_MEMBERS", 1)
    with pytest.raises(ArchiveError):
        safe_extract(hostile_zip(tmp_path / "h.zip"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_bombs_are_refused(tmp_path, cache, monkeypatch):
    ratio = tmp_path / "ratio.zip"
    with zipfile.ZipFile(ratio, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", bytes(50 * 1024 * 1024))
    with pytest.raises(ArchiveError, match="zip bomb") as exc_info:
        load(ratio, 16, cache)
    assert "zeros.png" in one_line_error(exc_info)

    many = zip_folder(make_flat_folder(tmp_path / "flat", count=6), tmp_path / "many.zip")
    monkeypatch.setattr(archive, "MAX_MEMBERS", 5)
    with pytest.raises(ArchiveError, match="6 members"):
        load(many, 16, cache)
    monkeypatch.setattr(archive, "MAX_MEMBERS", 200_000)
    monkeypatch.setattr(archive, "MAX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(ArchiveError, match="would expand"):
        load(many, 16, cache)


def test_not_a_zip(tmp_path, cache):
    (tmp_path / "data.zip").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ArchiveError) as exc_info:
        load(tmp_path / "data.zip", 16, cache)
    assert one_line_error(exc_info) == f"{tmp_path / 'data.zip'} is not a valid zip archive"


# ------------------------------------------------------------------ cache


def test_cache_hit_decodes_nothing(tmp_path, cache, monkeypatch):
    root = make_bad_folder(tmp_path / "ds")
    first_warn, second_warn = Warnings(), Warnings()
    first = load(root, 16, cache, warn=first_warn)
    assert len(list(cache.glob("*.npz"))) == 1

    def no_open(*a, **k):
        raise AssertionError("decoded on a cache hit")

    monkeypatch.setattr("PIL.Image.open", no_open)
    second = load(root, 16, cache, warn=second_warn)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert (second.class_names, second.skipped, second.fingerprint) == (
        first.class_names, first.skipped, first.fingerprint)
    assert first_warn == second_warn and len(second_warn) == 1


def test_cache_invalidated_by_changes_and_rebuilt_when_corrupt(tmp_path, cache):
    root = make_class_folder(tmp_path / "ds", classes=("a", "b"), per_class=2)
    first = load(root, 16, cache)
    assert load(root, 24, cache).fingerprint != first.fingerprint
    assert load(root, 16, cache, channels=1).fingerprint != first.fingerprint
    save_pattern(root / "a" / "img0.png", 999, (32, 24))  # new content, same name
    changed = load(root, 16, cache)
    assert changed.fingerprint != first.fingerprint
    assert not np.array_equal(changed.images[0], first.images[0])
    (root / "b" / "img1.png").rename(root / "b" / "renamed.png")
    renamed = load(root, 16, cache)
    assert renamed.fingerprint not in (first.fingerprint, changed.fingerprint)
    for path in cache.glob("*.npz"):
        path.write_bytes(b"garbage")
    again = load(root, 16, cache)
    np.testing.assert_array_equal(again.images, renamed.images)


# ------------------------------------------------------------------ built-ins


def test_builtin_names():
    assert set(BUILTIN_DATASETS) == {"mnist", "orl-faces"}


def test_orl_faces(cache):
    everything = load("orl-faces", 64, cache, split="all")
    assert everything.images.shape == (400, 64, 64, 1) and everything.channels == 1
    assert everything.class_names == [f"s{i}" for i in range(1, 41)]
    assert np.bincount(everything.labels).tolist() == [10] * 40
    train, test = load("orl-faces", 64, cache), load("orl-faces", 64, cache, split="test")
    assert (len(train), len(test)) == (320, 80)
    assert train.class_names == test.class_names == everything.class_names
    train_rows = {row.tobytes() for row in train.images}
    assert not any(row.tobytes() in train_rows for row in test.images)


def test_mnist_test_split(cache):
    data = load("mnist", 32, cache, split="test")
    assert data.images.shape == (10_000, 32, 32, 1) and data.channels == 1
    assert data.class_names == [str(d) for d in range(10)]
    assert np.bincount(data.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_tampered_builtin_data_is_refused(tmp_path, cache, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(data_root() / "orl_faces", copy / "orl_faces")
    (copy / "mnist").mkdir()
    for name in ("SHA256SUMS", "MD5SUMS", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_root() / "mnist" / name, copy / "mnist" / name)
    monkeypatch.setenv("GAN_STUDIO_DATA", str(copy))
    assert len(load("orl-faces", 32, cache, split="test")) == 80  # the copy itself is fine
    for rel in ("orl_faces/s7/9.pgm", "mnist/t10k-labels-idx1-ubyte.gz"):
        target = copy / rel
        raw = bytearray(target.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        target.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="checksum mismatch") as exc_info:
        load("orl-faces", 32, tmp_path / "fresh-cache", split="test")
    assert "s7/9.pgm" in one_line_error(exc_info)
    with pytest.raises(DatasetError, match="checksum mismatch.*t10k-labels"):
        load("mnist", 32, cache, split="test")


# ------------------------------------------------------------------ doctor


def test_inspect_dataset(tmp_path):
    root = make_class_folder(tmp_path / "ds", classes=("a", "b"), per_class=4)
    for i in range(20):  # make 'a' big: imbalance
        save_pattern(root / "a" / f"more{i}.png", 500 + i, (40, 40))
    shutil.copy(root / "a" / "img1.png", root / "b" / "copy.png")
    bright = np.clip(pattern(2, (40, 24)).astype(int) + 12, 0, 255).astype(np.uint8)
    Image.fromarray(bright).save(root / "b" / "bright.png")  # img2 of class a is pattern(2, (40, 24))
    (root / "b" / "junk.txt").write_text("x")
    report = inspect_dataset(str(root), 32, preview=5)
    assert isinstance(report, DatasetReport)
    assert report.num_images == 30 and report.num_files == 31
    assert report.class_counts == {"a": 24, "b": 6}
    assert report.sizes["40x40"] == 20 and report.modes == {"RGB": 30}
    assert report.skipped == [("b/junk.txt", "not an image")]
    assert [sorted(g) for g in report.exact_duplicates] == [["a/img1.png", "b/copy.png"]]
    assert [{a, b} for a, b, _ in report.near_duplicates] == [{"a/img2.png", "b/bright.png"}]  # confirmed on pixels
    assert report.near_duplicate_count == 1 and report.near_duplicates[0][2] <= NEAR_DUP_MAX_DIFF
    assert report.preview.shape == (5, 32, 32, 3) and report.channels == 3
    text = " | ".join(report.advice)
    assert "small dataset" in text and "imbalance" in text and "duplicate" in text
    assert "upscaled from" in text and "junk.txt" in text


def test_inspect_flat_and_builtin(tmp_path):
    report = inspect_dataset(str(make_flat_folder(tmp_path / "flat", colour=False)), 16)
    assert report.class_counts == {} and report.channels == 1
    assert any("no class folders" in a for a in report.advice)
    faces = inspect_dataset("orl-faces", 64, preview=8, split="all")
    assert faces.num_images == 400 and faces.sizes == {"92x112": 400} and faces.modes == {"L": 400}
    assert faces.preview.shape == (8, 64, 64, 1) and len(faces.class_counts) == 40


def test_builtin_split_suffix(cache):
    assert len(load("orl-faces:test", 16, cache)) == 80
    assert len(load("ORL_Faces:all", 16, cache)) == 400
    with pytest.raises(ConfigError):
        load("orl-faces:test", 16, cache, split="all")
