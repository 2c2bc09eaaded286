"""The interfaces: the command line (``cli``), the Gradio chat (``ui``) and an Answer as terminal text
(``render``). Each builds one ``Engine`` from ``Settings`` and calls the library; none parses its own
rendered text back.
"""
