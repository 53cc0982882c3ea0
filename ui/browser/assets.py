"""The in-browser renderer's files, served by the app itself under /gs-browser (no CDN):

    /gs-browser/js/<name>          this folder's scripts (latent.js, render.js)
    /gs-browser/ort/<name>         onnxruntime-web's JS and WASM, from node_modules at the version
                                   package.json pins (installed by `npm ci`, see the README)
    /gs-browser/model/<hash>/<f>   an exported generator (gan_core.onnx_export), cached per
                                   weights hash under <app home>/onnx/

Both `python gradio_app.py` (launch's app_kwargs) and the studio (`ui.server.routes`) add `routes()`.
Only the files named here are served; anything else is a 404.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..paths import PROJECT_ROOT, app_home

PREFIX = "/gs-browser"
BROWSER_DIR = Path(__file__).resolve().parent
SCRIPTS = ("latent.js", "render.js")
RUNTIME_PACKAGE = "onnxruntime-web"
# the WASM build (every browser with WebAssembly SIMD) and the WebGPU build, each with its loader
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
                 "ort.webgpu.min.js", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
MODEL_FILES = ("model.json", "generator.onnx", "generator-fp16.onnx")
HASH = re.compile(r"^[0-9a-f]{16}$")
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".onnx": "application/octet-stream"}
NO_RUNTIME = ("In-browser rendering needs onnxruntime-web, which is not installed on this server "
              "(run `npm ci` in the project folder, see the README): rendering on the server instead.")


def runtime_dir() -> Path:
    return PROJECT_ROOT / "node_modules" / RUNTIME_PACKAGE / "dist"


def pinned_version() -> str:
    """The onnxruntime-web version package.json pins."""
    raw = json.loads((PROJECT_ROOT / "package.json").read_text())
    return str(raw["dependencies"][RUNTIME_PACKAGE])


def runtime_problem() -> str | None:
    """None when the pinned runtime is installed with every file served; else a sentence for the user."""
    pkg = runtime_dir().parent / "package.json"
    try:
        installed = json.loads(pkg.read_text()).get("version")
    except (OSError, ValueError):
        return NO_RUNTIME
    try:
        pinned = pinned_version()
    except (OSError, ValueError, KeyError):
        pinned = installed
    if installed != pinned:
        return (f"In-browser rendering needs onnxruntime-web {pinned}, but {installed} is installed "
                "(run `npm ci` in the project folder): rendering on the server instead.")
    missing = [f for f in RUNTIME_FILES if not (runtime_dir() / f).is_file()]
    return NO_RUNTIME if missing else None


def cache_root() -> Path:
    """Where exported models are kept, one folder per weights hash."""
    return app_home() / "onnx"


def _file(path: Path, cache: bool = True) -> Any:
    from starlette.responses import FileResponse, PlainTextResponse

    if not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    # the model files are named by their weights hash and the runtime by its pinned version: cacheable;
    # the project's own scripts change with the code: revalidated
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "public, max-age=3600" if cache else "no-cache"})


async def _script(request: Any) -> Any:
    name = request.path_params["name"]
    return _file(BROWSER_DIR / name, cache=False) if name in SCRIPTS else _file(Path("/nonexistent"))


async def _runtime(request: Any) -> Any:
    name = request.path_params["name"]
    return _file(runtime_dir() / name) if name in RUNTIME_FILES else _file(Path("/nonexistent"))


async def _model(request: Any) -> Any:
    digest, name = request.path_params["digest"], request.path_params["name"]
    if not HASH.match(digest) or name not in MODEL_FILES:
        return _file(Path("/nonexistent"))
    return _file(cache_root() / digest / name)


def routes() -> list[Any]:
    """One Starlette Mount at PREFIX serving the files above."""
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route

    app = Starlette(routes=[Route("/js/{name}", _script), Route("/ort/{name}", _runtime),
                            Route("/model/{digest}/{name}", _model)])
    return [Mount(PREFIX, app=app)]


def head() -> str:
    """The <script> tags the panel's page loads (Gradio's `head` option)."""
    return "".join(f'<script src="{PREFIX}/js/{name}"></script>' for name in SCRIPTS)
