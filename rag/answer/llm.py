"""Generative models: one small interface, three backends, one factory.

``local`` runs a GGUF model in this process with llama.cpp (xllamacpp): by default the bundled
Qwen2.5-Coder-1.5B (rag/models.py), ``local:qwen2.5-coder-0.5b`` the smaller one, ``local:PATH.gguf``
any file. ``openai`` talks to any OpenAI-compatible server (OpenAI, vLLM, a llama.cpp server), and
``ollama`` to an Ollama server, both through llama-index. Every backend decodes greedily, can be held
to a JSON schema, and can report the log-probabilities of the next token: the answerer needs all three
to make small models checkable and free of position bias.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from rag.answer import models
from rag.config import Settings
from rag.optional import require

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
        return OpenAIGenerator(settings)
    if kind == "ollama" and not colon:
        return OllamaGenerator(settings)
    if kind == "local" and not (colon and not arg):
        return LocalGenerator(local_model_path(arg, settings), settings)
    raise ValueError(f"llm must be 'openai', 'ollama', 'local', 'local:MODEL' ({', '.join(models.MODELS)}) or "
                     f"'local:PATH.gguf', got {spec!r}")


def local_model_path(arg: str, settings: Settings) -> Path:
    """A bundled model by name (default: the settings' local model), or a GGUF file by path."""
    name = arg or settings.local_model
    if name in models.MODELS:
        try:
            return models.path(name, settings.models_dir)
        except models.ModelError as exc:
            raise LLMError(str(exc)) from exc
    file = Path(name).expanduser()
    if not file.is_file():
        raise LLMError(f"no GGUF file at {file}: give local:PATH the path of a .gguf file, or a bundled model "
                       f"({', '.join(models.MODELS)})")
    return file


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def response_format(schema: dict) -> dict:
    """The OpenAI-style structured-output field, which llama.cpp's server also reads."""
    return {"type": "json_schema", "json_schema": {"name": "reply", "strict": True, "schema": schema}}


def threads(settings: Settings) -> int:
    """llama.cpp threads: the setting, or every core.

    Measured on 2 cores with the 1.5B model (docs/BENCHMARKS.md): 2 threads gave the first text in 9.4 s
    against 18.1 s for one, and still 15.7 s against 18.4 s beside a process keeping a core busy. The
    collapse seen earlier beside a busy process came from OpenMP threads spinning while they wait, which
    OMP_WAIT_POLICY=PASSIVE (set before llama.cpp loads) stops.
    """
    return settings.llm_threads or os.cpu_count() or 1


def llama_params(path: Path, n_threads: int, context: int) -> Any:
    """llama.cpp settings for one model: greedy, quiet, one sequence at a time (two would share the cores)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning
    xlc = require("xllamacpp", "xllamacpp", "llm='local'")
    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = context
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = n_threads
    params.warmup = False
    params.verbosity = -1
    params.cors_origins = ""  # no web page in the user's browser may read its replies
    return params


def start_llama(params: Any) -> Any:
    """Load the model and start llama.cpp's server (in-process calls, and HTTP on params' address)."""
    xlc = require("xllamacpp", "xllamacpp", "llm='local'")
    try:
        return xlc.Server(params)
    except Exception as exc:
        raise LLMError(f"llama.cpp could not load {params.model.path} ({exc}): is it a GGUF chat model?") from exc


@dataclass
class _Loaded:
    server: Any
    last_timings: dict[str, float] = field(default_factory=dict)  # llama.cpp's figures for the last reply


_LOADING = threading.Lock()  # two sessions asking at start-up must not load the model twice


def _llama(path: Path, n_threads: int, context: int) -> _Loaded:
    """One loaded model per file and shape for the whole process (its prompt cache serves every session)."""
    with _LOADING:
        return _load(path, n_threads, context)


@cache
def _load(path: Path, n_threads: int, context: int) -> _Loaded:
    params = llama_params(path, n_threads, context)
    params.api_keys = [secrets.token_urlsafe(24)]  # its HTTP listener on loopback then serves nobody
    return _Loaded(start_llama(params))


class LocalGenerator:
    """A GGUF chat model run in this process by llama.cpp, greedy, streamed token by token."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path.resolve()
        self.name = f"local:{self.path.stem}"
        self.max_tokens = settings.llm_max_tokens
        self.timeout = settings.llm_timeout
        self._shape = (self.path, threads(settings), settings.llm_context_window)

    @property
    def last_timings(self) -> dict[str, float]:
        """llama.cpp's own figures (tokens read and written per second) for the model's last reply."""
        return _llama(*self._shape).last_timings

    def _request(self, system: str, user: str, **extra: Any) -> dict:
        return {"messages": _messages(system, user), "temperature": 0.0, "max_tokens": self.max_tokens,
                "cache_prompt": True, **extra}

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas as the model writes them; stopping early, or the time limit, ends the generation."""
        loaded = _llama(*self._shape)
        request = self._request(system, user, stream=True, **({"grammar": compact_json(schema)} if schema else {}))
        chunks: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        done = object()

        def run() -> None:
            try:
                chunks.put(loaded.server.handle_chat_completions(request, lambda c: chunks.put(c) or stop.is_set()))
            except Exception as exc:  # handed to the consumer
                chunks.put(exc)
            finally:
                chunks.put(done)

        worker = threading.Thread(target=run, name=f"generate {self.name}", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.timeout
        try:
            while (item := self._next(chunks, deadline)) is not done:
                if text := self._delta(item, loaded):
                    yield text
        finally:
            stop.set()

    def _next(self, chunks: queue.Queue[Any], deadline: float) -> Any:
        try:
            return chunks.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise LLMError(f"{self.name} took longer than llm_timeout ({self.timeout:g} s), waiting behind other "
                           "questions included: raise RAG_LLM_TIMEOUT, or choose a smaller model or fewer sources"
                           ) from None

    def _delta(self, item: Any, loaded: _Loaded) -> str:
        if isinstance(item, Exception):
            raise LLMError(f"{self.name} failed while generating: {item}") from item
        if not isinstance(item, dict):
            return ""
        if "error" in item:
            raise _error(self.name, item["error"])
        if "timings" in item:
            loaded.last_timings = item["timings"]
        choices = item.get("choices") or [{}]
        return (choices[0].get("delta") or {}).get("content") or ""

    def next_token(self, system: str, user: str) -> dict[str, float]:
        """Top log-probabilities of the reply's first token (one decoding step; the prompt cache keeps the rest)."""
        reply = _llama(*self._shape).server.handle_chat_completions(
            self._request(system, user, max_tokens=1, logprobs=True, top_logprobs=SCORE_TOP))
        if "error" in reply:
            raise _error(self.name, reply["error"])
        try:
            first = reply["choices"][0]["logprobs"]["content"][0]
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"{self.name} returned no log-probabilities for its first token") from None
        return {t["token"]: t["logprob"] for t in first["top_logprobs"]}


def compact_json(schema: dict) -> str:
    """A grammar for JSON matching ``schema`` written on one line: indentation would cost tokens, and time."""
    shape = {**schema, "x-guidance": {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}}
    return f"%llguidance {{}}\nstart: %json {json.dumps(shape)}"


def _error(name: str, error: dict) -> LLMError:
    message = f"{name} refused the request: {error.get('message', error)}"
    if error.get("type") == "exceed_context_size_error":
        return ContextOverflow(f"{message}; lower top_k or raise RAG_LLM_CONTEXT_WINDOW")
    return LLMError(message)


def _chat_deltas(llm: Any, system: str, user: str, **kwargs: Any) -> Iterator[str]:
    """Non-empty deltas of a llama-index chat stream."""
    from llama_index.core.llms import ChatMessage

    for response in llm.stream_chat([ChatMessage(**m) for m in _messages(system, user)], **kwargs):
        if response.delta:
            yield response.delta


class OpenAIGenerator:
    """Any OpenAI-compatible chat-completions endpoint, streamed at temperature 0."""

    def __init__(self, settings: Settings) -> None:
        openai_like = require("llama_index.llms.openai_like", "llama-index-llms-openai-like", "llm='openai'")
        self.url = settings.openai_base_url
        self.name = f"openai:{settings.openai_model}"
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        common = {"model": settings.openai_model, "api_base": self.url, "api_key": key, "is_chat_model": True,
                  "temperature": 0.0, "timeout": settings.llm_timeout, "max_retries": settings.llm_retries,
                  "context_window": settings.llm_context_window}
        self._llm = openai_like.OpenAILike(max_tokens=settings.llm_max_tokens, **common)
        self._scorer = openai_like.OpenAILike(max_tokens=1, logprobs=True, top_logprobs=SCORE_TOP, **common)

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas of the server's reply; connection and HTTP failures become an LLMError naming the URL."""
        extra = {"response_format": response_format(schema)} if schema else {}
        with self._errors():
            yield from _chat_deltas(self._llm, system, user, **extra)

    def next_token(self, system: str, user: str) -> dict[str, float]:
        from llama_index.core.llms import ChatMessage

        with self._errors():
            reply = self._scorer.chat([ChatMessage(**m) for m in _messages(system, user)])
        if not reply.logprobs:
            raise LLMError(f"the server at {self.url} returned no logprobs: it cannot score alternatives")
        return {t.token: t.logprob for t in reply.logprobs[0]}

    def _errors(self) -> AbstractContextManager[None]:
        return _openai_errors(self.url)


@contextmanager
def _openai_errors(url: str) -> Iterator[None]:
    """The openai client's exceptions as LLMErrors that name the server and the fix."""
    import httpx
    import openai

    try:
        yield
    except (openai.APIConnectionError, httpx.TransportError) as exc:  # includes timeouts and cut streams
        raise LLMError(f"cannot reach the OpenAI-compatible server at {url}, or it stopped mid-reply ({exc}): "
                       "start it, or set RAG_OPENAI_BASE_URL to where it runs") from exc
    except openai.APIStatusError as exc:
        text = f"the OpenAI-compatible server at {url} refused the request with HTTP {exc.status_code}: {exc.message}"
        if exc.status_code == 400 and "context" in str(exc.message).lower():
            raise ContextOverflow(f"{text}; lower top_k") from exc
        raise LLMError(f"{text} (check RAG_OPENAI_MODEL and RAG_OPENAI_API_KEY)") from exc


class OllamaGenerator:
    """An Ollama server's /api/chat, streamed at temperature 0; construction sends no request."""

    def __init__(self, settings: Settings) -> None:
        ollama = require("llama_index.llms.ollama", "llama-index-llms-ollama", "llm='ollama'")
        self.url = settings.ollama_base_url
        self.model = settings.ollama_model
        self.name = f"ollama:{self.model}"
        self._llm = ollama.Ollama(  # a set context_window stops it asking the server at construction
            model=self.model, base_url=self.url, temperature=0.0, context_window=settings.llm_context_window,
            request_timeout=settings.llm_timeout, additional_kwargs={"num_predict": settings.llm_max_tokens},
        )

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas of the model's reply; an unreachable server or unknown model becomes an LLMError."""
        with self._errors():
            yield from _chat_deltas(self._llm, system, user, **({"format": schema} if schema else {}))

    def next_token(self, system: str, user: str) -> dict[str, float]:
        with self._errors():
            reply = self._llm.client.chat(model=self.model, messages=_messages(system, user), stream=False,
                                          options={"temperature": 0.0, "num_predict": 1,
                                                   "num_ctx": self._llm.context_window},
                                          logprobs=True, top_logprobs=SCORE_TOP)
        if not reply.logprobs:
            raise LLMError(f"the Ollama server at {self.url} returned no logprobs (Ollama 0.12.11 or newer has them)")
        return {t.token: t.logprob for t in reply.logprobs[0].top_logprobs}

    def _errors(self) -> AbstractContextManager[None]:
        return _ollama_errors(self.url, self.model)


@contextmanager
def _ollama_errors(url: str, model: str) -> Iterator[None]:
    """The ollama client's exceptions as LLMErrors that name the server, the model and the fix."""
    import httpx
    import ollama

    try:
        yield
    except (httpx.TransportError, ConnectionError) as exc:
        raise LLMError(f"cannot reach the Ollama server at {url} ({exc}): start it with 'ollama serve', "
                       "or set RAG_OLLAMA_BASE_URL to where it runs") from exc
    except ollama.ResponseError as exc:
        hint = f": run 'ollama pull {model}'" if exc.status_code == 404 else ""
        raise LLMError(f"the Ollama server at {url} refused model {model!r}: {exc.error}{hint}") from exc
