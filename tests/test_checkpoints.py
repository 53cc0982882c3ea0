import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.checkpoints import (copy_checkpoint, load_generator, read_config, resolve, save_checkpoint,
                                  weights_hash)
from gan_core.config import ModelConfig
from gan_core.errors import CheckpointError
from gan_core.networks import build_generator
from gan_core.serialize import load_state, save_state
from conftest import SHIPPED


def tiny_cfg(**kw) -> ModelConfig:
    base = dict(arch="dcgan", image_size=32, channels=1, nz=8, ngf=4, ndf=4)
    base.update(kw)
    return ModelConfig(**base)


def test_round_trip_renders_identically(tmp_path: Path) -> None:
    cfg = tiny_cfg(arch="acgan", num_classes=3, class_names=["a", "b", "c"])
    g = build_generator(cfg).eval()
    path = save_checkpoint(tmp_path / "ck", cfg, g, meta={"step": 7})
    g2, cfg2, meta = load_generator(path)
    assert cfg2 == cfg and meta["step"] == 7 and not g2.training
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        assert torch.equal(g(z, y), g2(z, y))
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "generator.safetensors"]
    assert len(weights_hash(path)) == 16


def test_save_replaces_atomically_and_recovers_torn_swap(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    path = save_checkpoint(tmp_path / "latest", cfg, build_generator(cfg), meta={"step": 1})
    save_checkpoint(path, cfg, build_generator(cfg), meta={"step": 2})
    assert read_config(path)[1]["step"] == 2
    assert not list(tmp_path.glob(".latest.tmp-*")) and not (tmp_path / "latest.old").exists()
    # simulate a crash between the two renames: only latest.old is left
    os.rename(path, tmp_path / "latest.old")
    assert resolve(tmp_path / "latest") == path and read_config(path)[1]["step"] == 2


def test_run_directory_resolves_to_latest(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    save_checkpoint(tmp_path / "run" / "checkpoints" / "latest", cfg, build_generator(cfg))
    assert resolve(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "latest"


def test_nested_state_round_trip(tmp_path: Path) -> None:
    import random

    state = {"step": 3, "rng": {"np": np.random.get_state(), "py": random.getstate(), "t": torch.get_rng_state()},
             "opt": {"state": {0: {"exp_avg": torch.ones(2)}}, "param_groups": [{"betas": (0.5, 0.999), "params": [0]}]}}
    save_state(state, tmp_path / "s.safetensors")
    back = load_state(tmp_path / "s.safetensors")
    assert back["step"] == 3 and back["opt"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert 0 in back["opt"]["state"] and torch.equal(back["opt"]["state"][0]["exp_avg"], torch.ones(2))
    assert back["rng"]["np"][1].dtype == np.uint32 and np.array_equal(back["rng"]["np"][1], state["rng"]["np"][1])
    assert torch.equal(back["rng"]["t"], state["rng"]["t"])


class Boom:
    def __reduce__(self):  # what a malicious pickle does: run code when loaded
        return (os.system, ("touch /tmp/gan_studio_pwned",))


@pytest.mark.parametrize("payload", ["pickle", "random", "empty"])
def test_unsafe_or_garbage_weights_are_refused(tmp_path: Path, payload: str) -> None:
    cfg = tiny_cfg()
    path = save_checkpoint(tmp_path / "ck", cfg, build_generator(cfg))
    data = {"pickle": pickle.dumps(Boom()), "random": os.urandom(4096), "empty": b""}[payload]
    (path / "generator.safetensors").write_bytes(data)
    with pytest.raises(CheckpointError, match="safetensors"):
        load_generator(path)
    assert not Path("/tmp/gan_studio_pwned").exists()


def test_pickle_only_folder_is_refused_with_hint(tmp_path: Path) -> None:
    (tmp_path / "ck").mkdir()
    torch.save({"main.0.weight": torch.zeros(1)}, tmp_path / "ck" / "netG.pth")
    with pytest.raises(CheckpointError, match="never loaded"):
        load_generator(tmp_path / "ck")


def test_broken_config_and_wrong_shapes(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    path = save_checkpoint(tmp_path / "ck", cfg, build_generator(cfg))
    good = (path / "config.json").read_text()
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_generator(path)
    (path / "config.json").write_text(good.replace('"ngf": 4', '"ngf": 8'))
    with pytest.raises(CheckpointError, match="shape"):
        load_generator(path)
    (path / "config.json").write_text(good.replace('"image_size": 32', '"image_size": 33'))
    with pytest.raises(CheckpointError, match="image sizes"):
        load_generator(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "missing")


def test_copy_checkpoint_drops_training_state(tmp_path: Path) -> None:
    cfg = tiny_cfg()
    g = build_generator(cfg)
    src = save_checkpoint(tmp_path / "src", cfg, g, generator_ema=g, discriminator=g, training_state={"step": 1})
    dst = copy_checkpoint(src, tmp_path / "pub")
    assert sorted(p.name for p in dst.iterdir()) == ["config.json", "generator.safetensors", "generator_ema.safetensors"]


@pytest.mark.parametrize("target", ["config.json", "generator_ema.safetensors", "training_state.safetensors"])
def test_pickle_under_any_file_name_is_never_executed(tmp_path: Path, target: str) -> None:
    from gan_core.checkpoints import load_training_state

    cfg = tiny_cfg()
    g = build_generator(cfg)
    path = save_checkpoint(tmp_path / "ck", cfg, g, generator_ema=g, training_state={"step": 1})
    (path / target).write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError):
        load_generator(path)
        load_training_state(path)
    assert not Path("/tmp/gan_studio_pwned").exists()


def _rewrite_config(path: Path, **changes) -> None:
    import json

    raw = json.loads((path / "config.json").read_text())
    raw.update(changes)
    (path / "config.json").write_text(json.dumps(raw))


def test_a_newer_format_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    from gan_core import checkpoints

    cfg = tiny_cfg()
    path = save_checkpoint(tmp_path / "ck", cfg, build_generator(cfg))
    _rewrite_config(path, version=checkpoints.VERSION + 1)
    msg = (f"written by a newer GAN Studio: format {checkpoints.VERSION + 1}, "
           f"this version reads up to {checkpoints.VERSION}")
    for load in (read_config, load_generator, checkpoints.load_training_state):
        with pytest.raises(CheckpointError, match=msg):
            load(path)
    _rewrite_config(path, version="2")
    with pytest.raises(CheckpointError, match="format version '2' is not a positive whole number"):
        read_config(path)


def test_an_older_format_is_upgraded_through_the_migration_table(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the format is at version 3 and a version-1 folder spells `ngf` as `width`: v1 -> v2
    renamed it `g_width`, v2 -> v3 named it `ngf` and added a meta key. The v1 folder loads
    through both steps, in order, and renders as before."""
    import dataclasses

    from gan_core import checkpoints

    cfg = tiny_cfg(ngf=6)
    g = build_generator(cfg).eval()
    path = save_checkpoint(tmp_path / "ck", cfg, g, meta={"step": 3})
    seen: list[int] = []

    def rename(raw: dict, old: str, new: str) -> dict:
        seen.append(raw["version"])
        m = dict(raw["model"])
        m[new] = m.pop(old)
        return {**raw, "model": m}

    monkeypatch.setattr(checkpoints, "VERSION", 3)
    monkeypatch.setattr(checkpoints, "MIGRATIONS", {
        1: lambda raw: rename(raw, "width", "g_width"),
        2: lambda raw: {**rename(raw, "g_width", "ngf"), "meta": {**raw["meta"], "migrated": True}}})
    v1_model = {("width" if k == "ngf" else k): v for k, v in dataclasses.asdict(cfg).items()}
    _rewrite_config(path, version=1, model=v1_model)
    g2, cfg2, meta = load_generator(path)
    assert seen == [1, 2] and cfg2 == cfg and meta["migrated"] and meta["step"] == 3
    z = torch.randn(2, 8, 1, 1)
    with torch.no_grad():
        assert torch.equal(g(z), g2(z))
    monkeypatch.delitem(checkpoints.MIGRATIONS, 1)  # no way up from version 1
    with pytest.raises(CheckpointError, match="no migration from format 1 to 2"):
        read_config(path)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_r3gan_checkpoint_loads_as_the_generator_it_holds(tmp_path: Path, version: int) -> None:
    """Format 2 added model.g_upsample, format 3 model.g_output; an r3gan checkpoint written before
    them (no such keys) holds the 1x1-then-bilinear generator with a linear last layer, and loads
    as exactly that one whatever today's defaults."""
    import dataclasses

    from gan_core import checkpoints

    cfg = tiny_cfg(arch="r3gan", num_classes=3, g_upsample="bilinear", g_output="linear", ngf=8)
    g = build_generator(cfg).eval()
    with torch.no_grad():
        g.to_image.weight.mul_(50.0)  # an image outside [-1, 1]: a tanh would show
    path = save_checkpoint(tmp_path / "ck", cfg, g, meta={"step": 1})
    added = {"g_upsample", "g_output"} if version == 1 else {"g_output"}
    old_model = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in added}
    _rewrite_config(path, version=version, model=old_model)
    assert checkpoints.VERSION >= 3
    g2, cfg2, _ = load_generator(path)
    assert (cfg2.g_upsample, cfg2.g_output) == ("bilinear", "linear") and cfg2 == cfg
    z, y = torch.randn(2, 8), torch.tensor([0, 2])
    with torch.no_grad():
        out = g2(z, y)
        assert torch.equal(g(z, y), out) and out.abs().max() > 1.0
    # the conv generator's transitions are 3x3 kernels: the same file cannot pass for one
    with pytest.raises(CheckpointError):
        checkpoints.load_weights(build_generator(dataclasses.replace(cfg, g_upsample="conv")),
                                 path / checkpoints.GENERATOR)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_checkpoints_are_in_a_format_this_version_reads(name: str) -> None:
    import json

    from gan_core import checkpoints
    from gan_core.locations import shipped_dir

    path = shipped_dir() / name
    assert json.loads((path / "config.json").read_text())["version"] <= checkpoints.VERSION
    g, cfg, meta = load_generator(path)
    assert meta["name"] == name and sum(p.numel() for p in g.parameters()) > 0
