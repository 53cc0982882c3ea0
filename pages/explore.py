"""Explore: the Gradio latent panel, served by the same server at /gradio and embedded here."""

import streamlit as st

from ui.nav import through_studio
from ui.server import panel_url

through_studio()

st.title("Explore")
st.markdown(
    "Pick a checkpoint and drag **t** to morph seed A into seed B in real time; add keyframes for a "
    "longer path, blend classes of a class-conditional model, move along the latent directions the "
    "model discovered, or lower the truncation **ψ** for more typical images. Export a GIF, or "
    "share a *recipe* (a link, a JSON file, or the PNG itself) that reproduces an image exactly.")
code = st.query_params.get("recipe")
src = panel_url(code if isinstance(code, str) else None)
if code and "recipe=" not in src:
    st.warning("The recipe in this link could not be read, so the panel starts from its defaults.")
st.iframe(src, height=2300)  # the whole panel, so the page scrolls once, not twice
st.caption(f"[Open the panel on its own page]({src}) · its API is listed under *Use via API* at the "
           "bottom of the panel.")
