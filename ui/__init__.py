"""UI adapters between gan_core and the Streamlit/Gradio front ends (gan_core <- ui <- app.py, pages/)."""
