"""The command lines as a user runs them: real subprocesses, tiny models."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_image_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--ngf", "8", "--ndf", "8", "--nz", "16", "--device", "cpu", "--threads", "1"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, env=env,
                         timeout=300)
    if check and out.returncode != 0:
        raise AssertionError(f"{args} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out


@pytest.mark.slow
def test_train_resume_sample_acgan_mnist(tmp_path: Path) -> None:
    r = tmp_path / "R"
    base = ["gan_core.train", "--dataset", "mnist", "--model", "acgan", "--image-size", "32", "--batch-size", "16",
            "--out", str(r), "--log-every", "10", "--sample-every", "15", "--ckpt-every", "15", *TINY]
    run(*base, "--steps", "30")
    rows = [json.loads(line) for line in (r / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [10, 20, 30]
    assert all(np.isfinite(row["loss_d"]) and row["img_per_s"] > 0 for row in rows)
    assert json.loads((r / "status.json").read_text())["state"] == "finished"
    # a new run may not overwrite an existing one
    again = run(*base, "--steps", "30", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    out = run(*base, "--steps", "45", "--resume")
    assert "steps 30 -> 45" in out.stderr
    steps = [json.loads(line)["step"] for line in (r / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30, 40, 45]
    cfg = json.loads((r / "config.json").read_text())
    assert cfg["train"]["steps"] == 45 and cfg["model"]["class_names"] == [str(i) for i in range(10)]
    run("gan_core.sample", "--checkpoint", str(r), "--classes", "all", "--n", "20", "--out", str(tmp_path / "x.npz"))
    npz = np.load(tmp_path / "x.npz")
    assert npz["images"].shape == (20, 32, 32, 1) and npz["images"].dtype == np.uint8
    assert npz["labels"].tolist() == [i // 2 for i in range(20)]
    run("gan_core.sample", "--checkpoint", str(r), "--class", "3", "--n", "8", "--out", str(tmp_path / "x.png"))
    assert (tmp_path / "x.png").stat().st_size > 0


@pytest.mark.slow
def test_train_dcgan_orl_faces_64(tmp_path: Path) -> None:
    r = tmp_path / "F"
    run("gan_core.train", "--dataset", "orl-faces", "--model", "dcgan", "--image-size", "64", "--steps", "6",
        "--batch-size", "8", "--out", str(r), "--log-every", "3", "--sample-every", "6", "--ckpt-every", "6",
        "--hflip", "--diffaug", "translation,cutout,color", *TINY)
    cfg = json.loads((r / "config.json").read_text())
    assert cfg["model"]["channels"] == 1 and cfg["model"]["num_classes"] == 0 and cfg["data"]["num_images"] == 320
    assert (r / "samples" / "step_000006.png").is_file()
    run("gan_core.sample", "--checkpoint", str(r), "--n", "4", "--out", str(tmp_path / "f.npz"))
    assert np.load(tmp_path / "f.npz")["images"].shape == (4, 64, 64, 1)


def test_folder_with_bad_files_trains_and_names_them(tmp_path: Path) -> None:
    data = write_image_folder(tmp_path / "pets", {"cats": 12, "dogs": 12}, size=20)
    (data / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (data / "dogs" / "notes.txt").write_text("not an image")
    out = run("gan_core.train", "--dataset", str(data), "--model", "acgan", "--image-size", "32", "--steps", "3",
              "--batch-size", "8", "--out", str(tmp_path / "P"), "--log-every", "1", "--sample-every", "3",
              "--ckpt-every", "3", *TINY)
    warning = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert warning and "broken.png" in out.stderr and "notes.txt" in out.stderr
    cfg = json.loads((tmp_path / "P" / "config.json").read_text())
    assert cfg["model"]["class_names"] == ["cats", "dogs"] and cfg["data"]["num_images"] == 24


@pytest.mark.parametrize("case", ["empty", "missing", "flat-acgan", "bad-flag"])
def test_unusable_inputs_fail_with_one_clear_line(tmp_path: Path, case: str) -> None:
    (tmp_path / "empty").mkdir()
    write_image_folder(tmp_path / "flat", {"": 10})
    args = {"empty": ["--dataset", str(tmp_path / "empty")],
            "missing": ["--dataset", str(tmp_path / "nope")],
            "flat-acgan": ["--dataset", str(tmp_path / "flat"), "--model", "acgan"],
            "bad-flag": ["--dataset", "mnist", "--loss", "magic"]}[case]
    out = run("gan_core.train", *args, "--image-size", "32", "--steps", "2", "--out", str(tmp_path / "R"),
              *TINY, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
    if case == "bad-flag":
        assert "invalid choice: 'magic'" in out.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert {"empty": "no image", "missing": "not found", "flat-acgan": "at least 2 classes"}[case] in lines[0]
    assert not (tmp_path / "R").exists()


def test_dry_run_prints_an_estimate_and_writes_nothing(tmp_path: Path) -> None:
    out = run("gan_core.train", "--dataset", "mnist", "--model", "dcgan", "--image-size", "32", "--steps", "1000",
              "--batch-size", "16", "--out", str(tmp_path / "D"), "--dry-run", "--calibration-steps", "2", "--json",
              *TINY)
    est = json.loads(out.stdout)
    assert est["images"] == 60000 and est["ms_per_step"] > 0 and est["train_s"] == pytest.approx(
        est["ms_per_step"] * 1000 / 1000, rel=0.01)
    assert est["eta_s"] == pytest.approx(est["train_s"] + est["overhead_s"], abs=0.15)  # + samples, checkpoints, logs
    assert not (tmp_path / "D").exists()


def test_sample_rejects_bad_arguments(tmp_path: Path) -> None:
    out = run("gan_core.sample", "--checkpoint", str(tmp_path / "none"), "--n", "2", "--out", str(tmp_path / "a.png"),
              check=False)
    assert out.returncode == 2 and out.stderr.startswith("error: checkpoint not found")
    out = run("gan_core.sample", "--checkpoint", "x", "--n", "2", "--out", str(tmp_path / "a.gif"), check=False)
    assert out.returncode == 2 and ".png or .npz" in out.stderr



def test_help_states_each_default_once() -> None:
    """`--help` of train and sample: no "(default: None)" noise and no default stated twice."""
    from gan_core import sample, train

    for parser in (train.build_parser(), sample.build_parser()):
        text = " ".join(parser.format_help().split())
        assert "(default: None)" not in text and "(default: False)" not in text
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.help and action.option_strings:
                shown = formatter._get_help_string(action) or ""  # "(default: %(default)s)" when added
                stated = re.findall(r"\(default[ :]", shown)
                assert len(stated) <= 1, (action.option_strings, shown)
    assert "where to render (default: cpu)" in " ".join(sample.build_parser().format_help().split())
    assert "generator width (default 64) --ndf" in " ".join(train.build_parser().format_help().split())


def test_r1_flags_reach_the_config_and_resume_keeps_them() -> None:
    from gan_core import train

    for flag in ("--r1-gamma", "--r1"):  # --r1 is the older spelling
        args = train.parse_args(["--dataset", "mnist", flag, "2.5", "--r1-every", "4", "--out", "x"])
        tc = train.config_from_args(args).train
        assert (tc.r1_gamma, tc.r1_every) == (2.5, 4)
    default = train.config_from_args(train.parse_args(["--dataset", "mnist", "--out", "x"])).train
    assert (default.r1_gamma, default.r1_every) == (0.0, 16)
    assert {"train.r1_gamma", "train.r1_every"} <= set(train.FROZEN)  # a resumed run keeps its own penalty


@pytest.mark.slow
def test_a_prepared_run_trains_as_written_and_finishes_at_its_time_budget(tmp_path: Path) -> None:
    """The app's way to start a run: RunDir.create(cfg), then `--out RUN` alone."""
    from gan_core import presets
    from gan_core.config import build_run_config
    from gan_core.runs import RunDir

    r = RunDir(tmp_path / "prepared")
    cfg = build_run_config({**presets.get("Tiny smoke test").values, "data.source": "mnist", "train.steps": 1_000_000,
                            "train.minutes": 0.05, "train.device": "cpu", "train.threads": 1})
    r.create(cfg)
    assert r.state() == "prepared"
    out = run("gan_core.train", "--out", str(r.path), "--quiet")
    step = r.read_status()["step"]
    assert f"time budget of 0.05 min reached at step {step}" in out.stderr
    assert r.state() == "finished" and r.has_checkpoint("latest") and 0 < step < 1_000_000
    assert r.read_status()["note"] == "time budget of 0.05 min reached"
    trained = r.load_config()
    assert trained.train == cfg.train and trained.model.ngf == 8 and trained.model.channels == 1  # filled from the data
    again = run("gan_core.train", "--out", str(r.path), check=False)
    assert again.returncode == 2 and "already been trained; pass --resume" in again.stderr
    bad = run("gan_core.train", "--dataset", "mnist", "--minutes", "-1", "--out", str(tmp_path / "B"), check=False)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: train.minutes must be 0 (no time limit) or positive, got -1.0"
