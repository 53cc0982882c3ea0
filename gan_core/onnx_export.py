"""A checkpoint's generator as ONNX, for rendering outside PyTorch (e.g. `onnxruntime-web` in a browser).

`export_onnx(checkpoint, out_dir)` writes:
    generator.onnx        fp32; inputs `z` (1, nz) and, for a class-conditional model,
                          `class_weights` (1, K); output `image` (1, C, S, S) in [-1, 1]
    generator-fp16.onnx   the same graph with fp16 weights (cast to fp32 inside the graph, so every
                          runtime computes in fp32), written only when its images stay within
                          FP16_MAX_LEVELS grey levels of the fp32 graph's
    model.json            the manifest (`Manifest`): inputs, sizes, class names, weights hash, opset,
                          files, and the parity figures measured at export

What goes inside the graph: the EMA weights (the render service's), and for conditional models the
class embedding table: the graph computes `class_weights @ E` (E: (K, nz)) and passes it to the
generator as its class embedding, so one-hot weights give exactly E[a] and (1 - mix, mix) at a and b
give the service's blend (`latent.blend_embeddings`). The latent maths before the generator (seeded
z, interpolation, truncation, directions) is not in the graph: it is the caller's (a port of
`explore.inputs` where the graph runs).

Generic over generators: any nn.Module the trainer builds that renders as the render service calls
it, `generator(z)` or `generator(z, None, class_embedding)` with a `label_emb` table for
conditional models. Layers written for CPU training speed (`for_inference`'s fused upsampling, the
matmul image convolution) are swapped for their plain equivalents first, so the graph holds standard
operators; anything else is traced as written. The pixels' one rule (`images.to_uint8`) is the
caller's too: the graph's output is the generator's.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .checkpoints import load_generator, resolve, weights_hash
from .errors import CheckpointError, GanStudioError
from .images import to_uint8
from .latent import z_from_seed

FORMAT = "gan-studio-onnx"
VERSION = 1
OPSET = 20
FP32_FILE = "generator.onnx"
FP16_FILE = "generator-fp16.onnx"
MANIFEST = "model.json"
PARITY_TOL = 1e-3  # max abs difference (output in [-1, 1]) between the fp32 graph and torch
FP16_MAX_LEVELS = 2  # the fp16 file is kept when no pixel moves by more than this many grey levels
PARITY_SEEDS = (0, 1, 7, 42, 123)


class ExportError(GanStudioError):
    """The checkpoint's generator cannot be exported (unsupported layer, missing table, tools absent)."""


@dataclass
class Manifest:
    """model.json: everything a runtime needs to feed the graph and read its output."""

    checkpoint: str
    weights_hash: str
    arch: str
    image_size: int
    channels: int
    nz: int
    num_classes: int  # 0: unconditional (no class_weights input)
    class_names: list[str]
    opset: int
    inputs: list[dict[str, Any]]  # [{"name", "shape", "dtype"}]
    output: dict[str, Any]  # {"name", "shape", "dtype", "range"}
    files: dict[str, str]  # precision -> file name ("fp32" always, "fp16" when it keeps quality)
    sizes: dict[str, int]  # file name -> bytes
    parity: dict[str, float] = field(default_factory=dict)  # figures measured at export
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def read(cls, folder: str | Path) -> "Manifest":
        path = Path(folder) / MANIFEST
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ExportError(f"cannot read {path}: {e}") from None
        if raw.get("format") != FORMAT or raw.get("version") != VERSION:
            raise ExportError(f"{path} is not a version-{VERSION} {FORMAT} manifest")
        return cls(**raw)


class RenderGraph(nn.Module):
    """What the ONNX graph computes: z (B, nz) [+ class_weights (B, K)] -> image (B, C, S, S) in [-1, 1]."""

    def __init__(self, generator: nn.Module, conditional: bool):
        super().__init__()
        self.generator = generator
        self.conditional = conditional

    def forward(self, z: torch.Tensor, class_weights: torch.Tensor | None = None) -> torch.Tensor:
        if not self.conditional:
            return self.generator(z)
        emb = class_weights @ self.generator.label_emb.weight  # (B, K) @ (K, nz) -> (B, nz)
        return self.generator(z, None, emb)


def plain_layers(generator: nn.Module) -> nn.Module:
    """An eval copy whose speed-only layers are standard ones (same function, same weights)."""
    from .networks import for_inference
    from .networks.image_conv import ImageConv3x3

    g = for_inference(generator)  # fused upsample+conv -> ConvTranspose2d
    for parent in list(g.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ImageConv3x3):  # its CPU path is a custom autograd op
                plain = nn.Conv2d(child.in_channels, child.out_channels, 3, 1, 1, bias=child.bias is not None)
                plain.load_state_dict(child.state_dict())
                setattr(parent, name, plain)
    return g.float().to(memory_format=torch.contiguous_format)


def graph_for(checkpoint: str | Path) -> tuple[RenderGraph, Any]:
    """(the module the graph is traced from, the model config) for a checkpoint's EMA generator."""
    generator, cfg, _ = load_generator(checkpoint, ema=True, device="cpu")
    if cfg.conditional:
        table = getattr(generator, "label_emb", None)
        if not isinstance(table, nn.Embedding) or tuple(table.weight.shape) != (cfg.num_classes, cfg.nz):
            raise ExportError(f"the {cfg.arch} generator is class-conditional but has no "
                              f"({cfg.num_classes}, {cfg.nz}) class embedding table `label_emb`: "
                              "class weights cannot be fed to it")
    return RenderGraph(plain_layers(generator), cfg.conditional).eval(), cfg


def example_inputs(cfg: Any, seeds: tuple[int, ...] = (0,)) -> list[dict[str, np.ndarray]]:
    """One feed per seed: the seed's z and (conditional) its one-hot class weights."""
    feeds = []
    for s in seeds:
        feed = {"z": z_from_seed(s, cfg.nz)[None]}
        if cfg.conditional:
            w = np.zeros((1, cfg.num_classes), np.float32)
            w[0, s % cfg.num_classes] = 1.0
            feed["class_weights"] = w
        feeds.append(feed)
    return feeds


def feed(inputs: Any, num_classes: int) -> dict[str, np.ndarray]:
    """One image's generator inputs (`explore.Inputs`) -> the graph's feed: z and, for a conditional
    model, its class weights (one-hot for one class, (1 - mix, mix) for a blend)."""
    out = {"z": np.asarray(inputs.z, np.float32)[None]}
    if num_classes:
        w = np.zeros((1, num_classes), np.float32)
        if inputs.blend is not None:
            a, b, mix = inputs.blend
            w[0, a], w[0, b] = 1.0 - mix, mix
        else:
            w[0, inputs.label] = 1.0
        out["class_weights"] = w
    return out


def _trace(graph: RenderGraph, feed: dict[str, np.ndarray], out: Path) -> None:
    """Write the fp32 ONNX file (torch.onnx's torch.export-based exporter)."""
    try:
        import onnx  # noqa: F401  (the exporter needs onnx and onnxscript)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise ExportError(f"ONNX export needs the packages onnx and onnxscript ({e.name} is missing): "
                          "pip install -r requirements.txt") from None
    args = tuple(torch.from_numpy(feed[k]) for k in ("z", "class_weights") if k in feed)
    names = ["z", "class_weights"][:len(args)]
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    chatter = io.StringIO()  # the exporter prints its steps and graphs; the error below says what matters
    try:
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(chatter), \
                contextlib.redirect_stderr(chatter):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(graph, args, dynamo=True, opset_version=OPSET, input_names=names,
                                        output_names=["image"], external_data=False, verbose=False)
            program.save(str(out))
    except GanStudioError:
        raise
    except Exception as e:  # the exporter's own errors name the operator it could not convert
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"the generator could not be exported to ONNX: {first[:300]}") from None


def to_fp16_weights(src: Path, dst: Path) -> None:
    """Copy an ONNX file with every float32 weight stored as float16 and cast back to float32 in the graph."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < 16:  # scalars and tiny vectors: nothing to save
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(arr.astype(np.float16), name + "__fp16"))
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=onnx.TensorProto.FLOAT,
                                      name=name + "__cast"))
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.save(model, str(dst))


def _run(path: Path, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError("checking the export needs onnxruntime: pip install -r requirements.txt") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return np.concatenate([sess.run(["image"], f)[0] for f in feeds])
    except Exception as e:
        raise ExportError(f"onnxruntime cannot run the exported file {path.name}: {str(e)[:300]}") from None


def _levels(a: np.ndarray, b: np.ndarray) -> int:
    """The largest difference in 8-bit grey levels between two [-1, 1] outputs."""
    ua, ub = to_uint8(torch.from_numpy(a)), to_uint8(torch.from_numpy(b))
    return int(np.abs(ua.astype(np.int16) - ub.astype(np.int16)).max())


def export_onnx(checkpoint: str | Path, out_dir: str | Path, *, fp16: bool = True) -> Manifest:
    """Export a checkpoint's generator into out_dir (created) and check it against torch.

    Raises ExportError when it cannot be exported or the fp32 graph differs from torch by more than
    PARITY_TOL; files are written to a temporary folder first, so out_dir never holds half an export."""
    path = resolve(checkpoint)
    graph, cfg = graph_for(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feeds = example_inputs(cfg, PARITY_SEEDS)
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        tmp_dir = Path(tmp)
        _trace(graph, feeds[0], tmp_dir / FP32_FILE)
        with torch.no_grad():
            ref = np.concatenate([graph(*[torch.from_numpy(f[k]) for k in f]).numpy() for f in feeds])
        got = _run(tmp_dir / FP32_FILE, feeds)
        parity = {"fp32_max_abs": float(np.abs(got - ref).max()), "fp32_max_levels": _levels(got, ref)}
        if parity["fp32_max_abs"] > PARITY_TOL:
            raise ExportError(f"the exported graph differs from PyTorch by {parity['fp32_max_abs']:.2e} "
                              f"(allowed {PARITY_TOL:g}): not written")
        files = {"fp32": FP32_FILE}
        if fp16:
            to_fp16_weights(tmp_dir / FP32_FILE, tmp_dir / FP16_FILE)
            half = _run(tmp_dir / FP16_FILE, feeds)
            parity.update(fp16_max_abs=float(np.abs(half - ref).max()), fp16_max_levels=_levels(half, ref))
            if parity["fp16_max_levels"] <= FP16_MAX_LEVELS:
                files["fp16"] = FP16_FILE
            else:
                (tmp_dir / FP16_FILE).unlink()
        manifest = Manifest(
            checkpoint=path.name, weights_hash=weights_hash(path, ema=True), arch=cfg.arch,
            image_size=cfg.image_size, channels=cfg.channels, nz=cfg.nz,
            num_classes=cfg.num_classes if cfg.conditional else 0,
            class_names=list(cfg.class_names) if cfg.conditional else [], opset=OPSET,
            inputs=[{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in feeds[0].items()],
            output={"name": "image", "shape": [1, cfg.channels, cfg.image_size, cfg.image_size],
                    "dtype": "float32", "range": [-1.0, 1.0]},
            files=files, sizes={f: (tmp_dir / f).stat().st_size for f in files.values()}, parity=parity)
        (tmp_dir / MANIFEST).write_text(manifest.to_json())
        for name in (*files.values(), MANIFEST):  # the manifest last: its presence means complete
            os.replace(tmp_dir / name, out / name)
    return manifest


def cached_export(checkpoint: str | Path, cache_root: str | Path) -> tuple[Path, Manifest]:
    """The export of a checkpoint under cache_root/<weights hash>/, made on first use."""
    path = resolve(checkpoint)
    try:
        folder = Path(cache_root) / weights_hash(path, ema=True)
    except OSError as e:
        raise CheckpointError(f"cannot read the weights of {path.name}: {e}") from None
    if (folder / MANIFEST).is_file():
        try:
            return folder, Manifest.read(folder)
        except ExportError:
            pass  # an older or damaged manifest: export again
    return folder, export_onnx(path, folder)
