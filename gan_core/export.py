"""Export a checkpoint's generator for another runtime: `python -m gan_core.export --checkpoint C --format onnx --out DIR`.

Writes DIR/generator.onnx (fp32), DIR/generator-fp16.onnx when fp16 weights keep the images within
two grey levels, and DIR/model.json (inputs, sizes, class names, weights hash, opset, parity figures).
The graph and its checks live in `gan_core.onnx_export`; this is only the command line.
"""

from __future__ import annotations

import argparse
import sys

from .cli import run_main

FORMATS = ("onnx",)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan_core.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or shipped checkpoint name")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="output format (onnx)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--no-fp16", action="store_true", help="write only the fp32 graph")
    args = p.parse_args(argv)
    from .onnx_export import export_onnx

    m = export_onnx(args.checkpoint, args.out, fp16=not args.no_fp16)
    sizes = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in m.sizes.items())
    print(f"exported {m.checkpoint} ({m.arch}, {m.image_size} px, weights {m.weights_hash}) to {args.out}: {sizes}")
    print("parity vs PyTorch: " + ", ".join(f"{k} {v:.3g}" for k, v in m.parity.items()))
    if "fp16" not in m.files:
        print("fp16 weights moved pixels by more than the allowed grey levels: fp32 only")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
