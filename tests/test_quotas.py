"""ui/quotas.py: the limits from the environment and secrets, the disk quota refusing a run before
it starts (with the figures), the image-count and upload-size limits, and the training count."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import image_zip, isolate_home, tiny_config
from conftest import write_image_folder

from ui import paths, quotas, run_control, site_config, uploads
from ui.admission import admission


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("GAN_STUDIO_MAX_IMAGES", "GAN_STUDIO_MAX_TRAININGS", "GAN_STUDIO_DISK_QUOTA_GB",
                "GAN_STUDIO_API_RATE", "GAN_STUDIO_API_BURST", "STREAMLIT_SERVER_MAX_UPLOAD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv(site_config.SECRETS_ENV, str(secrets))
    return secrets


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = isolate_home(tmp_path, monkeypatch)
    spawned: list = []
    monkeypatch.setattr(run_control, "_spawn", lambda rd, argv, kind, steps, gpus=1: spawned.append(rd.name))
    return h


def test_limits_have_defaults_and_come_from_env_then_secrets(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lim = quotas.limits()
    assert (lim.max_images, lim.max_trainings, lim.disk_quota_gb, lim.api_rate, lim.api_burst) == \
        (quotas.Limits.max_images, 0, quotas.Limits.disk_quota_gb, quotas.Limits.api_rate, quotas.Limits.api_burst)
    clean_env.write_text("max_images = 500\ndisk_quota_gb = 1.5\napi_rate = 2.5\n")
    lim = quotas.limits()
    assert (lim.max_images, lim.disk_quota_gb, lim.api_rate) == (500, 1.5, 2.5)
    monkeypatch.setenv("GAN_STUDIO_MAX_IMAGES", "70")
    assert quotas.limits().max_images == 70


@pytest.mark.parametrize("var,value,message", [("GAN_STUDIO_DISK_QUOTA_GB", "lots", "must be a number"),
                                               ("GAN_STUDIO_API_BURST", "0", "at least 1"),
                                               ("GAN_STUDIO_MAX_IMAGES", "1.5", "must be a number")])
def test_a_bad_setting_is_named_in_a_clear_error(var: str, value: str, message: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(site_config.SettingsError, match=message) as err:
        quotas.limits()
    assert var in str(err.value)


def test_disk_used_counts_runs_uploads_and_published_models(home: Path) -> None:
    assert quotas.disk_used() == 0
    (paths.runs_dir() / "r").mkdir()
    (paths.runs_dir() / "r" / "a.bin").write_bytes(b"x" * 1000)
    (paths.uploads_dir() / "u").mkdir()
    (paths.uploads_dir() / "u" / "b.png").write_bytes(b"x" * 300)
    (paths.published_dir() / "p").mkdir()
    (paths.published_dir() / "p" / "c.safetensors").write_bytes(b"x" * 20)
    (home / "elsewhere.bin").write_bytes(b"x" * 5000)  # not the quota's business
    assert quotas.disk_used() == 1320


def test_a_new_run_over_the_disk_quota_is_refused_before_it_starts(home: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = write_image_folder(tmp_path / "shapes", {"a": 4, "b": 4})
    cfg = tiny_config(shapes)
    need = quotas.run_bytes(cfg)
    assert need > 0
    (paths.uploads_dir() / "big").mkdir()
    (paths.uploads_dir() / "big" / "blob").write_bytes(b"x" * 3_000_000)
    monkeypatch.setenv("GAN_STUDIO_DISK_QUOTA_GB", str((3_000_000 + need // 2) / quotas.GB))
    with pytest.raises(run_control.JobError) as refused:
        run_control.launch(cfg, "too big", "shapes")
    text = str(refused.value)
    assert "2.9 MB" in text and quotas.fmt_bytes(need) in text and "GAN_STUDIO_DISK_QUOTA_GB" in text
    assert not any(paths.runs_dir().iterdir())  # refused before anything was written
    monkeypatch.setenv("GAN_STUDIO_DISK_QUOTA_GB", str((3_000_000 + need * 2) / quotas.GB))
    assert run_control.launch(cfg, "fits", "shapes").name == "fits"
    monkeypatch.setenv("GAN_STUDIO_DISK_QUOTA_GB", "0")  # 0 = no quota
    quotas.check_disk(10 ** 15, "anything")


def test_the_run_estimate_grows_with_the_model(tmp_path: Path) -> None:
    small = quotas.run_bytes(tiny_config("mnist", ngf=8, ndf=8))
    large = quotas.run_bytes(tiny_config("mnist", ngf=32, ndf=32))
    assert large > 4 * small


def test_uploads_over_the_image_count_are_refused_before_unpacking(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAN_STUDIO_MAX_IMAGES", "5")
    with pytest.raises(uploads.UploadError, match=r"6 files, more than the 5 images .*GAN_STUDIO_MAX_IMAGES"):
        uploads.save_zip("six.zip", image_zip({"a": 6}))
    with pytest.raises(uploads.UploadError, match="GAN_STUDIO_MAX_IMAGES"):
        uploads.save_files([(f"{i}.png", b"png") for i in range(6)], "loose")
    assert not any(paths.uploads_dir().iterdir())
    assert uploads.save_zip("five.zip", image_zip({"a": 5})).files == 5


def test_uploads_over_the_size_or_disk_quota_are_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = image_zip({"a": 4}, size=64)
    monkeypatch.setattr(quotas, "_upload_mb", lambda: 0)  # under 1 MB allowed
    with pytest.raises(uploads.UploadError, match="server.maxUploadSize"):
        uploads.save_zip("four.zip", data)
    monkeypatch.setattr(quotas, "_upload_mb", lambda: 1)
    monkeypatch.setenv("GAN_STUDIO_DISK_QUOTA_GB", str(1000 / quotas.GB))  # 1000 bytes
    with pytest.raises(uploads.UploadError, match="Not enough room"):
        uploads.save_zip("four.zip", data)
    assert not any(paths.uploads_dir().iterdir())


def test_a_configured_training_count_overrides_the_machines_rule() -> None:
    assert admission(1, cores=64, max_trainings=1).allowed is False
    refused = admission(1, cores=64, max_trainings=1)
    assert "at most 1 at once (GAN_STUDIO_MAX_TRAININGS)" in refused.message
    assert admission(5, cores=2, max_trainings=6).allowed  # raised above the machine's 2
    assert not admission(2, cores=2, max_trainings=0).allowed  # 0: the machine's rule


def test_the_training_count_setting_reaches_launch(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = write_image_folder(tmp_path / "shapes", {"a": 4, "b": 4})
    monkeypatch.setenv("GAN_STUDIO_MAX_TRAININGS", "1")
    monkeypatch.setattr(run_control, "active_runs", lambda: ["one running"])
    with pytest.raises(run_control.JobError, match="GAN_STUDIO_MAX_TRAININGS"):
        run_control.launch(tiny_config(shapes), "second", "shapes")
