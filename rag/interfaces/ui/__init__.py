"""The chat UI: ``render`` turns answers into HTML, ``app`` is the Gradio screen, ``server`` starts it safely."""
