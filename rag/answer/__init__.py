"""The answer stage: takes a question and its passages; gives a checked ``Answer``.

``qa`` is the pipeline (retrieve, answer, check, return an Answer). The answerers: ``extractive``
quotes sentences (no model), ``choices`` and ``grounded`` read alternatives and drafts from a
generative model (``llm``, with ``prompts`` and the bundled ``models``). The checks: ``citations``
judges each claim against what it cites (``verify`` is the model verifier), ``asked`` holds a reply
to what the question asks for, ``disputes`` shows both sides when sources disagree.
"""
