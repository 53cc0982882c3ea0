"""Home: what the studio does, the machine it runs on, and a gallery of every checkpoint."""

import streamlit as st

from ui import cached, catalog, doctor_view, gallery, run_views, visibility
from ui.display import for_display
from ui.nav import through_studio

through_studio()

st.title("GAN Studio")
st.markdown(
    "Train a GAN on **your own images** from this page: upload a folder or a zip, press start, "
    "and watch the losses and samples change live while it trains in the background. "
    "Stop, resume and publish the result, then play with what it learned in the Explore panel.")

c1, c2, c3, c4 = st.columns(4)
c1.page_link("pages/data.py", label="1 · Pick or upload data", icon=":material/photo_library:")
c2.page_link("pages/train.py", label="2 · Configure and start", icon=":material/model_training:")
c3.page_link("pages/monitor.py", label="3 · Watch it learn", icon=":material/monitoring:")
c4.page_link("pages/runs.py", label="4 · Compare and publish", icon=":material/history:")

active = visibility.visible_runs(run_views.active_runs())
if active:
    st.info(f"{len(active)} training(s) in progress: " + ", ".join(f"**{r.title}** ({r.state}, step {r.step:,})"
                                                            for r in active) + ". Open the Monitor page to watch.")

dev = cached.device_summary()
with st.container(border=True):
    if dev.get("gpus"):
        for g in dev["gpus"]:
            st.markdown(f":material/memory: **GPU {g['index']}: {g['name']}** · {g['memory_gib']} GiB memory — "
                        "training uses it by default.")
    else:
        bf16 = "with native bf16 (training uses bf16 mixed precision)" if dev.get("cpu_bf16") else "without bf16"
        st.markdown(f":material/memory: **CPU only: {dev.get('cpu_cores')} cores**, {bf16}. No CUDA GPU is visible, "
                    "so training runs on the CPU: small images (32–64 px) train in minutes.")
    if dev.get("mps"):
        st.markdown("Apple MPS is available.")

st.subheader("Gallery")
entries = catalog.list_checkpoints()
if not entries:
    st.info("No checkpoints yet. Train a model and publish it on the Runs page: it appears here and in the "
            "Explore panel.")
for entry in entries:
    with st.container(border=True):
        try:
            grid, info = cached.gallery(entry.name, gallery.weights_hash(entry.name))
        except Exception as exc:  # a broken published folder must not break the page
            st.warning(f"{entry.name}: cannot render this checkpoint "
                       f"({type(exc).__name__}: {visibility.shown(str(exc))})")
            continue
        left, right = st.columns([3, 1])
        with left:
            st.image(for_display(grid, min_width=480, max_factor=3))
        with right:
            st.markdown(f"**{entry.name}**")
            st.caption(f"{entry.kind} · {entry.arch.upper()} · {entry.image_size} px · "
                       f"{'colour' if entry.channels == 3 else 'greyscale'}")
            st.caption(gallery.grid_caption(entry.num_classes, entry.class_names))
            meta = entry.meta or {}
            if meta.get("step"):
                st.caption(f"trained {meta['step']:,} steps on {doctor_view.label_for_source(str(meta.get('dataset', '?')))}")
            quality = gallery.quality_summary(entry.path, meta)
            if quality:
                st.caption(quality)
