"""Rendering in the browser: the static scripts (latent.js, render.js), the routes that serve them with
onnxruntime-web's files and the exported models (`assets`), and what the panel sends the page when
the user switches it on (`payload`)."""
