"""The Gradio panel alone: `python gradio_app.py` (also the Hugging Face Space `app_file`).

Host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (default 127.0.0.1:7860; a
Space sets 0.0.0.0). Checkpoints are read from the local `checkpoints/` folder and the app's
published runs; nothing is downloaded at start.
"""

from __future__ import annotations

import os

# the renderer uses one thread (a training process may use the other cores); set before torch loads
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from ui.browser.assets import routes  # noqa: E402
from ui.panel import build_panel, launch_options  # noqa: E402
from ui.rate_limit import app_kwargs  # noqa: E402


def main() -> None:
    demo = build_panel()
    # the in-browser renderer's files (/gs-browser/...) are served by the same app, ahead of Gradio's routes
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                ssr_mode=False, app_kwargs={**app_kwargs(), "routes": routes()},  # the API's rate limit
                **launch_options())


if __name__ == "__main__":
    main()
