"""Extra routes and lifespan for the Streamlit server: the Gradio panel mounted at /gradio.

`app.py` does `st.App("studio.py", routes=routes(), lifespan=lifespan)`, so `streamlit run
app.py` serves the studio and the panel on one port. Gradio's own mount helper is used on a
small private FastAPI app: it builds the panel's ASGI app and wraps the FastAPI lifespan with
Gradio's (which starts the event queue). We hand Streamlit that app's `/gradio` mount as a
route and forward the wrapped lifespan from Streamlit's; without the lifespan, the queue never
starts and every event spins forever without an error.

The panel is built on the first call of `routes()` (not at import), once per process.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

MOUNT_PATH = "/gradio"
_host: Any = None
_lock = threading.Lock()


def _panel_host() -> Any:
    """A private FastAPI app with the panel mounted at MOUNT_PATH (built once)."""
    global _host
    with _lock:
        if _host is None:
            import gradio as gr
            from fastapi import FastAPI

            from .panel import build_panel, launch_options
            from .paths import SHIPPED_DIR, app_home
            from .rate_limit import app_kwargs

            host = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
            opts = launch_options()
            gr.mount_gradio_app(host, build_panel(), path=MOUNT_PATH, ssr_mode=False,
                                blocked_paths=[str(SHIPPED_DIR), str(app_home())], app_kwargs=app_kwargs(), **opts)
            _host = host
        return _host


def routes() -> list[Any]:
    """The Starlette routes to add to Streamlit's server: the panel's mount, the in-browser
    renderer's files at /gs-browser (ui/browser/assets.py), and the studio's pages."""
    from starlette.routing import Mount

    from .browser.assets import routes as browser_routes

    host = _panel_host()
    mounts = [r for r in host.routes if isinstance(r, Mount) and r.path == MOUNT_PATH]
    if len(mounts) != 1:
        raise RuntimeError("the Gradio panel mount was not created")
    return [*browser_routes(), *mounts, *page_routes()]


# -- deep links without 404s ------------------------------------------------------------------
# Streamlit's frontend does not know where its server's root is: on a deep link or a reload of
# /<page> it first probes /<page>/_stcore/health and /<page>/_stcore/host-config (404: logged in
# the browser console), then the parent path. It skips the guess when the page defines
# `window.__streamlit.BACKEND_BASE_URL`. So a page's URL gets Streamlit's own index.html with that
# one line added, naming the folder above the page (the server's root, or its base URL path). No
# redirect: a redirect could make the frontend take /<page> as its base path.
_BASE_SCRIPT = ('<script>window.__streamlit=Object.assign({},window.__streamlit,'
                '{BACKEND_BASE_URL:new URL(".",window.location.href).href})</script>')


def studio_index_html() -> str:
    """Streamlit's index.html with the backend base URL set before its module script runs."""
    import streamlit

    html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    marker = '<script type="module"'
    if marker not in html:
        raise RuntimeError("Streamlit's index.html has no module script to precede")
    return html.replace(marker, _BASE_SCRIPT + "\n    " + marker, 1)


def page_routes(pages_dir: Path | None = None) -> list[Any]:
    """GET /<page> for each page file but the default one (pages/home.py is /), under the server's
    base URL path."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route
    from streamlit import config

    from .paths import PROJECT_ROOT

    html = studio_index_html()

    async def index(request: Any) -> Any:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    names = sorted(p.stem for p in (pages_dir or PROJECT_ROOT / "pages").glob("*.py")
                   if p.stem not in ("home", "__init__") and not p.stem.startswith("_"))
    return [Route(f"{prefix}/{name}", index, methods=["GET", "HEAD"]) for name in names]


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run Gradio's startup (queue, startup events) inside Streamlit's server lifespan."""
    host = _panel_host()
    async with host.router.lifespan_context(host):
        yield None


def panel_url(recipe_code: str | None = None, theme: str = "light") -> str:
    """The same-origin URL of the mounted panel, with a validated `?recipe=` passed on (else dropped)."""
    from gan_core.explore import RecipeError, from_url

    url = f"{MOUNT_PATH}/?__theme={'dark' if theme == 'dark' else 'light'}"
    if recipe_code:
        try:
            url += "&recipe=" + from_url(recipe_code).to_url()  # re-encoded: a clean urlsafe string
        except RecipeError:
            pass  # the page shows the default instead of a broken link
    return url
