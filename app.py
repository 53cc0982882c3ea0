"""GAN Studio: `streamlit run app.py`.

Streamlit serves the studio (studio.py and its pages/); the Gradio panel is mounted into the
same server by ui/server.py, so one command and one port serve everything.
"""

import streamlit as st

from ui.server import lifespan, routes

app = st.App("studio.py", routes=routes(), lifespan=lifespan)
