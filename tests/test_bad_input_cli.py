"""Bad input through the trainer's command line (`gan_core.train` main on datasets made here): each
case gets a clear message or a stated, visible adjustment on stderr, and never a traceback."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core import train
from gan_core.cli import run_main
from gan_core.config import CLASS_IMBALANCE, FEW_CLASS_IMAGES, FEW_IMAGES, dataset_warnings

from conftest import write_image_folder

# a tiny model, so a --dry-run checks data and config and times one step in about a second
TINY = ["--image-size", "32", "--ngf", "8", "--ndf", "8", "--nz", "16", "--batch-size", "8",
        "--dry-run", "--calibration-steps", "1"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = run_main(train.main, argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


def test_a_class_folder_with_one_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_image_folder(tmp_path / "set", {"cats": 20, "dogs": 20, "owl": 1})
    rc, err = run(["--dataset", str(folder), "--model", "acgan", *TINY, "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "warning: class 'owl' (1 image) has fewer than" in err and "remove its folder" in err
    # an unconditional model does not use the classes: nothing to say about them
    rc, err = run(["--dataset", str(folder), "--model", "dcgan", *TINY, "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "owl" not in err


def test_two_classes_of_30000_and_3_images_rule() -> None:
    """The rule on the counts (the CLI case with 30,003 real files is the slow test below)."""
    notes = dataset_warnings("acgan", {"many": 30_000, "few": 3}, 30_003)
    assert len(notes) == 2 and "'few' (3 images)" in notes[0]
    assert "very unbalanced: 'many' has 30,000 images, 'few' 3 (10,000x)" in notes[1]
    assert dataset_warnings("dcgan", {"many": 30_000, "few": 3}, 30_003) == []  # unconditional: classes unused
    assert dataset_warnings("r3gan", {"a": 400, "b": 400 // int(CLASS_IMBALANCE)}, 420) == []  # at the limit
    assert dataset_warnings("acgan", {"a": FEW_CLASS_IMAGES, "b": FEW_CLASS_IMAGES * 2}, FEW_IMAGES) == []


@pytest.mark.slow
def test_two_classes_of_30000_and_3_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rs = np.random.RandomState(0)
    pngs = []
    for _ in range(16):  # a few distinct pictures, repeated: decoding 30,003 files is the point, not variety
        buf = io.BytesIO()
        Image.fromarray(rs.randint(0, 256, (8, 8), dtype=np.uint8)).save(buf, "PNG")
        pngs.append(buf.getvalue())
    path = tmp_path / "unbalanced.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(30_000):
            zf.writestr(f"many/{i:05d}.png", pngs[i % 16])
        for i in range(3):
            zf.writestr(f"few/{i}.png", pngs[i])
    rc, err = run(["--dataset", str(path), "--model", "acgan", *TINY, "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "class 'few' (3 images)" in err and "very unbalanced" in err and "(10,000x)" in err


def test_a_set_of_12_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_image_folder(tmp_path / "twelve", {"": 12}, size=32)
    out = tmp_path / "r"
    # asked for a batch larger than the data: refused before any run folder is written
    rc, err = run(["--dataset", str(folder), "--model", "dcgan", "--batch-size", "64", "--steps", "5",
                   "--out", str(out)], capsys)
    assert rc == 2 and "error: the batch of 64 images is larger than the dataset (12 images)" in err
    assert not out.exists()
    # the automatic preset adjusts the batch to the data and says so; the tiny set is named as such
    rc, err = run(["--dataset", str(folder), "--preset", "auto", "--model", "dcgan", "--loss", "bce",
                   "--ngf", "8", "--ndf", "8", "--nz", "16", "--dry-run", "--calibration-steps", "1",
                   "--out", str(out)], capsys)
    assert rc == 0 and "preset auto: From the data (12 images, no classes, 36 px pictures)" in err
    assert "batch 8" in err and "warning: only 12 images" in err


def test_a_set_mixing_grey_and_colour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mixed"
    write_image_folder(folder / "colour", {"": 10}, mode="RGB")
    write_image_folder(folder / "grey", {"": 10}, mode="L", seed=1)
    flat = tmp_path / "flat"
    flat.mkdir()
    for sub in ("colour", "grey"):
        for p in (folder / sub).iterdir():
            p.rename(flat / f"{sub}-{p.name}")
    rc, err = run(["--dataset", str(flat), "--model", "dcgan", *TINY, "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "10 of 20 images are greyscale and the others in colour: all are used in colour" in err
    # asked for grey: no adjustment to state
    rc, err = run(["--dataset", str(flat), "--channels", "1", "--model", "dcgan", *TINY,
                   "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "greyscale" not in err


def test_minutes_zero_means_no_limit_and_negative_is_refused(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_image_folder(tmp_path / "set", {"": 16})
    rc, err = run(["--dataset", str(folder), "--model", "dcgan", "--minutes", "0", *TINY,
                   "--out", str(tmp_path / "r")], capsys)
    assert rc == 0 and "--minutes 0: no time limit" in err
    rc, err = run(["--dataset", str(folder), "--model", "dcgan", "--minutes", "-1", *TINY,
                   "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "error: train.minutes must be 0 (no time limit) or positive, got -1.0" in err
    assert "0 (given or not) = no time limit" in " ".join(train.build_parser().format_help().split())


def test_an_unknown_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_image_folder(tmp_path / "set", {"": 16})
    rc, err = run(["--dataset", str(folder), "--preset", "Huge", "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "error: unknown preset 'Huge'; choose from: auto; MNIST digits" in err
    rc, err = run(["--dataset", str(folder), "--preset", "tiny smoke tst", "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "did you mean 'Tiny smoke test'?" in err
    assert not (tmp_path / "r").exists()
