"""The Streamlit studio script: page setup and navigation over pages/ (app.py serves it)."""

from ui.studio_nav import build

build().run()
