"""Generative models: one small interface, three backends, one factory.

``local`` runs a GGUF model in this process with llama.cpp (xllamacpp): by default the bundled
Qwen2.5-Coder-1.5B (rag/models.py), ``local:qwen2.5-coder-0.5b`` the smaller one, ``local:PATH.gguf``
any file. ``openai`` talks to any OpenAI-compatible server (OpenAI, vLLM, a llama.cpp server), and
``ollama`` to an Ollama server, both through llama-index. Every backend decodes greedily, can be held
to a JSON schema, and can report the log-probabilities of the next token: the answerer needs all three
to make small models checkable and free of position bias.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rag.answer import models
from rag.config import Settings

SCORE_TOP = 20  # alternatives whose log-probability a scoring call reads


class LLMError(RuntimeError):
    """A model could not produce text; the message says which server or file, and what to do."""


class ContextOverflow(LLMError):
    """The prompt does not fit the model's context: the caller can retry with fewer sources."""


class Generator(Protocol):
    """What the pipeline needs from a generative model."""

    name: str

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Non-empty text deltas whose concatenation is the reply; JSON matching ``schema`` when given."""
        ...

    def next_token(self, system: str, user: str) -> dict[str, float]:
        """Log-probabilities of the likeliest first tokens of the reply (at least the top few)."""
        ...


def complete(gen: Generator, system: str, user: str, schema: dict | None = None) -> str:
    """The whole reply: the stream joined, so both paths can never disagree."""
    return "".join(gen.stream(system, user, schema))


def get_generator(spec: str, settings: Settings) -> Generator:
    """The backend ``spec`` names: "openai", "ollama", "local", "local:MODEL" or "local:PATH.gguf"."""
    kind, colon, arg = spec.strip().partition(":")
    if kind == "openai" and not colon:
        from rag.answer.llm.served import OpenAIGenerator

        return OpenAIGenerator(settings)
    if kind == "ollama" and not colon:
        from rag.answer.llm.served import OllamaGenerator

        return OllamaGenerator(settings)
    if kind == "local" and not (colon and not arg):
        from rag.answer.llm.local import LocalGenerator

        return LocalGenerator(local_model_path(arg, settings), settings)
    raise ValueError(f"llm must be 'openai', 'ollama', 'local', 'local:MODEL' ({', '.join(models.MODELS)}) or "
                     f"'local:PATH.gguf', got {spec!r}")


def local_model_path(arg: str, settings: Settings) -> Path:
    """A bundled model by name (default: the settings' local model), or a GGUF file by path."""
    name = arg or settings.llm.local_model
    if name in models.MODELS:
        try:
            return models.path(name, settings.llm.models_dir)
        except models.ModelError as exc:
            raise LLMError(str(exc)) from exc
    file = Path(name).expanduser()
    if not file.is_file():
        raise LLMError(f"no GGUF file at {file}: give local:PATH the path of a .gguf file, or a bundled model "
                       f"({', '.join(models.MODELS)})")
    return file


def messages(system: str, user: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def response_format(schema: dict) -> dict:
    """The OpenAI-style structured-output field, which llama.cpp's server also reads."""
    return {"type": "json_schema", "json_schema": {"name": "reply", "strict": True, "schema": schema}}


