# GAN Studio in one container: the Streamlit studio with the Gradio panel mounted at /gradio,
# on one port. Used as a Hugging Face Docker Space (app_port: 7860) or on any container host:
#   docker build -t gan-studio . && docker run -p 7860:7860 -e GAN_STUDIO_OWNER_PASSWORD=... gan-studio
#
# Who may change things (ui/roles.py): the server listens on every address here, so without an
# owner sign-in the studio starts in visitor-only mode (gallery, Monitor, Runs read-only, the
# whole Explore panel). To enable the owner, give the container GAN_STUDIO_OWNER_PASSWORD (on a
# Space: a *secret* in Settings -> Variables and secrets), or sign-in with Hugging Face
# (`hf_oauth: true` in the Space's README and GAN_STUDIO_OWNERS = your user name). Quotas: the
# GAN_STUDIO_* limits of ui/quotas.py (docs/spaces.md, "Share it safely").
#
# the in-browser renderer's runtime: onnxruntime-web at the version package-lock.json pins, from npm
# at build time (the app serves it itself; nothing is fetched from a CDN at run time)
FROM node:20-slim AS browser-runtime
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# Spaces run containers as user 1000; its home holds the app and its data (runs, uploads, published)
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    GAN_STUDIO_HOME=/home/user/app_data \
    FORWARDED_ALLOW_IPS="10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.1,::1"
# FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-For names the client (the explorer API's
# per-client limit). A Space's requests reach the container through Hugging Face's proxy on a
# private network; on a host that exposes the port directly, set it to 127.0.0.1.
WORKDIR /home/user/app

# Which torch wheels: a wheel index URL, or "pypi" for PyPI's own wheels (CUDA builds on Linux).
# The default, CPU-only wheels, keeps the image small. For a GPU, pass a CUDA index such as
# https://download.pytorch.org/whl/cu130: a Hugging Face Space passes its *variables* (Settings ->
# Variables and secrets) to the build as build arguments, so a GPU Space sets the variable
# TORCH_INDEX; elsewhere `docker build --build-arg TORCH_INDEX=... .`
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY --chown=user requirements.txt .
RUN if [ -z "$TORCH_INDEX" ] || [ "$TORCH_INDEX" = pypi ]; then set --; else set -- --extra-index-url "$TORCH_INDEX"; fi \
    && pip install --user "$@" -r requirements.txt \
    && python -c "import torch; print('installed torch', torch.__version__, 'for CUDA', torch.version.cuda)"

# the code and the shipped checkpoints (nothing is downloaded when the app starts)
COPY --chown=user . .
COPY --from=browser-runtime --chown=user /web/node_modules/onnxruntime-web node_modules/onnxruntime-web

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/_stcore/health')"
# first: the Space's OAuth app (hf_oauth: true) as Streamlit's [auth] sign-in, when there is one
ENTRYPOINT ["sh", "-c", "python -m ui.space_auth && exec \"$@\"", "--"]
CMD ["streamlit", "run", "app.py", "--server.port", "7860", "--server.address", "0.0.0.0", "--server.headless", "true"]
