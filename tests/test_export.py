"""The ONNX export: parity with the torch renderer for every architecture, fp16, the manifest, errors, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.checkpoints import save_checkpoint
from gan_core.config import IMAGE_SIZES, ModelConfig
from gan_core.explore import Recipe
from gan_core.networks import GENERATORS, build_generator
from gan_core.render import RenderService

ort = pytest.importorskip("onnxruntime")
from gan_core import onnx_export as ox  # noqa: E402
from gan_core.export import main as export_main  # noqa: E402
from conftest import SHIPPED  # noqa: E402


def _session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _torch_float(svc: RenderService, z: np.ndarray, emb: np.ndarray | None) -> np.ndarray:
    """The render service's generator output (before the uint8 rule) for one latent."""
    with torch.inference_mode():
        zt = torch.from_numpy(z[None])
        x = svc.generator(zt) if emb is None else svc.generator(zt, None, torch.from_numpy(emb[None]))
    return x.float().contiguous().numpy()


def _weights(k: int, a: int, b: int, mix: float) -> np.ndarray:
    w = np.zeros((1, k), np.float32)
    w[0, a] += 1.0 - mix
    w[0, b] += mix
    return w


def _check_parity(ckpt: Path, out: Path) -> ox.Manifest:
    """Export, then compare onnxruntime with the render service on seeds, classes and blends."""
    m = ox.export_onnx(ckpt, out)
    svc = RenderService(ckpt, threads=0)
    sess = _session(out / m.files["fp32"])
    cases = [(s, None) for s in (3, 99, 2024)]
    if svc.conditional:
        k = svc.cfg.num_classes
        cases = [(3, (0, 0, 0.0)), (99, (k - 1, k - 1, 0.0)), (2024, (0, k - 1, 0.35)), (5, (1 % k, 0, 0.8))]
    for seed, cls in cases:
        z = svc.z(seed)
        feed = {"z": z[None]}
        emb = None
        if cls is not None:
            feed["class_weights"] = _weights(svc.cfg.num_classes, *cls)
            emb = svc.class_embedding(*cls)
        got = sess.run(["image"], feed)[0]
        ref = _torch_float(svc, z, emb)
        assert got.shape == ref.shape == (1, svc.cfg.channels, svc.cfg.image_size, svc.cfg.image_size)
        assert np.abs(got - ref).max() <= 1e-3, (seed, cls)
        assert np.abs(got - ref).max() > 0 or seed == 3  # a real comparison, not two copies of one array
    return m


def _small(arch: str, channels: int = 1) -> ModelConfig:
    """The smallest model of an architecture (dcgan unconditional, every other one with 4 classes)."""
    classes = {} if arch == "dcgan" else {"num_classes": 4}
    return ModelConfig(arch=arch, image_size=min(IMAGE_SIZES[arch]), channels=channels, nz=16, ngf=8, **classes)


@pytest.mark.parametrize("arch", sorted(GENERATORS))
def test_every_architecture_exports_with_fp32_parity(arch: str, tmp_path: Path) -> None:
    """Every generator the trainer can build (random weights, BatchNorm stats moved off 0/1)."""
    cfg = _small(arch, channels=3)
    g = build_generator(cfg).eval()
    with torch.no_grad():
        for mod in g.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    ckpt = save_checkpoint(tmp_path / arch, cfg, g, generator_ema=g)
    m = _check_parity(ckpt, tmp_path / "out")
    assert m.arch == arch and m.nz == 16 and m.parity["fp32_max_abs"] <= ox.PARITY_TOL
    names = [i["name"] for i in m.inputs]
    assert names == (["z", "class_weights"] if cfg.conditional else ["z"])


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_export_with_parity_and_fp16(name: str, tmp_path: Path) -> None:
    ckpt = Path(__file__).resolve().parents[1] / "checkpoints" / name
    m = _check_parity(ckpt, tmp_path)
    # fp16 weights: half the bytes, pixels within the stated grey levels of fp32 (measured here, too)
    assert "fp16" in m.files and m.sizes[m.files["fp16"]] < 0.6 * m.sizes[m.files["fp32"]]
    svc = RenderService(ckpt, threads=0)
    r = Recipe(checkpoint=name, seed_a=11, seed_b=12, t=0.4)
    inp = svc.inputs(r)
    assert inp.blend is not None or not svc.conditional  # between two seeds' classes: a blend, fed as class weights
    half = _session(tmp_path / m.files["fp16"]).run(["image"], ox.feed(inp, m.num_classes))[0]
    pixels = ((np.clip(half, -1, 1) + 1) * 127.5).round().astype(np.int16)[0].transpose(1, 2, 0)
    assert np.abs(pixels - svc.render_recipe(r).astype(np.int16)).max() <= ox.FP16_MAX_LEVELS


def test_manifest_names_inputs_sizes_classes_hash_and_opset(tmp_path: Path) -> None:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=16, ngf=8, num_classes=3,
                      class_names=("cat", "dog", "owl"))
    ckpt = save_checkpoint(tmp_path / "ac", cfg, build_generator(cfg).eval())
    m = ox.export_onnx(ckpt, tmp_path / "out", fp16=False)
    raw = json.loads((tmp_path / "out" / ox.MANIFEST).read_text())
    assert raw["class_names"] == ["cat", "dog", "owl"] and raw["num_classes"] == 3
    assert raw["inputs"] == [{"name": "z", "shape": [1, 16], "dtype": "float32"},
                             {"name": "class_weights", "shape": [1, 3], "dtype": "float32"}]
    assert raw["output"]["shape"] == [1, 1, 32, 32] and raw["opset"] == ox.OPSET
    assert raw["weights_hash"] == RenderService(ckpt, threads=0).weights_hash
    assert raw["files"] == {"fp32": ox.FP32_FILE} and not (tmp_path / "out" / ox.FP16_FILE).exists()
    assert raw["sizes"][ox.FP32_FILE] == (tmp_path / "out" / ox.FP32_FILE).stat().st_size
    assert ox.Manifest.read(tmp_path / "out") == m
    # nothing half-written is left behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [ox.FP32_FILE, ox.MANIFEST]


def test_cached_export_is_made_once_per_weights_hash(tmp_path: Path) -> None:
    cfg = ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=8)
    ckpt = save_checkpoint(tmp_path / "dc", cfg, build_generator(cfg).eval())
    folder, m = ox.cached_export(ckpt, tmp_path / "cache")
    assert folder.name == m.weights_hash
    stamp = (folder / ox.FP32_FILE).stat().st_mtime_ns
    folder2, m2 = ox.cached_export(ckpt, tmp_path / "cache")
    assert folder2 == folder and m2 == m and (folder / ox.FP32_FILE).stat().st_mtime_ns == stamp


class _NoTable(torch.nn.Module):
    """A conditional generator without a class table: class weights cannot be fed to it."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.l1 = torch.nn.Linear(cfg.nz, cfg.channels * cfg.image_size ** 2)

    def forward(self, z, labels=None, class_embedding=None):
        return self.l1(z).view(-1, self.cfg.channels, self.cfg.image_size, self.cfg.image_size)


def test_a_generator_that_cannot_take_class_weights_is_refused_clearly(tmp_path: Path, monkeypatch) -> None:
    cfg = ModelConfig(arch="acgan", image_size=32, channels=1, nz=8, ngf=8, num_classes=2)
    ckpt = save_checkpoint(tmp_path / "odd", cfg, _NoTable(cfg))
    monkeypatch.setitem(GENERATORS, "acgan", _NoTable)
    with pytest.raises(ox.ExportError, match="class embedding table"):
        ox.export_onnx(ckpt, tmp_path / "out")
    assert not (tmp_path / "out" / ox.MANIFEST).exists()


class _Untraceable(torch.nn.Module):
    """A generator whose layers depend on its values (a Python branch on a tensor): no graph holds that."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.l1 = torch.nn.Linear(cfg.nz, cfg.channels * cfg.image_size ** 2)

    def forward(self, z, labels=None, class_embedding=None):
        h = self.l1(z)
        for _ in range(int(h.abs().sum().item() * 1000) % 3):  # how many steps depends on the values
            h = torch.tanh(h)
        return h.view(-1, self.cfg.channels, self.cfg.image_size, self.cfg.image_size)


def test_an_untraceable_generator_gives_an_export_error_not_a_traceback(tmp_path: Path, monkeypatch,
                                                                        capsys) -> None:
    cfg = ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=8)
    ckpt = save_checkpoint(tmp_path / "odd", cfg, _Untraceable(cfg))
    monkeypatch.setitem(GENERATORS, "dcgan", _Untraceable)
    from gan_core.cli import run_main

    assert run_main(export_main, ["--checkpoint", str(ckpt), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "out" / ox.MANIFEST).exists()


def test_cli_writes_the_files_and_refuses_a_missing_checkpoint(tmp_path: Path, capsys) -> None:
    from gan_core.cli import run_main

    cfg = ModelConfig(arch="dcgan", image_size=32, channels=1, nz=8, ngf=8)
    ckpt = save_checkpoint(tmp_path / "dc", cfg, build_generator(cfg).eval())
    assert run_main(export_main, ["--checkpoint", str(ckpt), "--format", "onnx", "--out", str(tmp_path / "o")]) == 0
    assert "exported dc" in capsys.readouterr().out
    assert (tmp_path / "o" / ox.FP32_FILE).is_file() and (tmp_path / "o" / ox.MANIFEST).is_file()
    assert run_main(export_main, ["--checkpoint", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
