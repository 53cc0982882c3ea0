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

            host = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
            opts = launch_options()
            gr.mount_gradio_app(host, build_panel(), path=MOUNT_PATH, ssr_mode=False,
                                blocked_paths=[str(SHIPPED_DIR), str(app_home())], **opts)
            _host = host
        return _host


def routes() -> list[Any]:
    """The Starlette routes to add to Streamlit's server: the panel's mount, and the in-browser
    renderer's files at /gs-browser (ui/browser/assets.py)."""
    from starlette.routing import Mount

    from .browser.assets import routes as browser_routes

    host = _panel_host()
    mounts = [r for r in host.routes if isinstance(r, Mount) and r.path == MOUNT_PATH]
    if len(mounts) != 1:
        raise RuntimeError("the Gradio panel mount was not created")
    return [*browser_routes(), *mounts]


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
