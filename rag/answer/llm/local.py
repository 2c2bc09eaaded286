"""The local backend: a GGUF chat model run in this process by llama.cpp (xllamacpp), greedy, streamed.

The model loads on the generator's first use and stays with it: the ``Engine`` keeps one generator
per model, so its prompt cache serves every session of the process.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answer.llm import SCORE_TOP, ContextOverflow, LLMError, messages
from rag.config import Settings
from rag.optional import require


def threads(settings: Settings) -> int:
    """llama.cpp threads: the setting, or every core.

    Measured on 2 cores with the 1.5B model (docs/BENCHMARKS.md): 2 threads gave the first text in 9.4 s
    against 18.1 s for one, and still 15.7 s against 18.4 s beside a process keeping a core busy. The
    collapse seen earlier beside a busy process came from OpenMP threads spinning while they wait, which
    OMP_WAIT_POLICY=PASSIVE (set before llama.cpp loads) stops.
    """
    return settings.llm.threads or os.cpu_count() or 1


def llama_params(path: Path, n_threads: int, context: int, slots: int = 1) -> Any:
    """llama.cpp settings for one model: greedy, quiet, ``slots`` sequences of ``context`` tokens each.

    Each slot keeps the last prompt it read, and a request goes to the slot whose prompt shares the most
    with it. With one slot, the check's short prompts replaced the answer's, and the next question read
    the instructions again (some 140 tokens, 2 s on two cores); with two, the answer's stay read.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning
    xlc = require("xllamacpp", "xllamacpp", "llm='local'")
    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = context * slots
    params.n_parallel = slots
    params.cache_ram_mib = 0  # no copies of past prompts in memory: they grew the process 13 MB a question
    params.cache_idle_slots = False  # an idle slot keeps what it read (with no copies, saving would clear it)
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
    requests: deque[dict[str, float]] = field(default_factory=lambda: deque(maxlen=64))  # the same, per request
    last_logprobs: list[tuple[str, float]] = field(default_factory=list)  # each token of the last reply


class LocalGenerator:
    """A GGUF chat model run in this process by llama.cpp, greedy, streamed token by token."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path.resolve()
        self.name = f"local:{self.path.stem}"
        self.max_tokens = settings.llm.max_tokens
        self.timeout = settings.llm.timeout
        self._shape = (self.path, threads(settings), settings.llm.context_window, settings.llm.slots)
        self._model: _Loaded | None = None
        self._loading = threading.Lock()  # two sessions asking at start-up must not load the model twice

    def _loaded(self) -> _Loaded:
        """The model, loaded on first use; its HTTP listener on loopback gets a random key, so it serves nobody."""
        with self._loading:
            if self._model is None:
                params = llama_params(*self._shape)
                params.api_keys = [secrets.token_urlsafe(24)]
                self._model = _Loaded(start_llama(params))
            return self._model

    @property
    def ready(self) -> bool:
        """Whether the model is loaded: a question asked now pays no load time."""
        return self._model is not None

    def warm(self, prompts: Sequence[tuple[str, str]] = ()) -> None:
        """Load the model and read each (system, user) prompt's opening once, so that the first question
        finds its instructions already read (``serve`` calls this in the background as it starts)."""
        loaded = self._loaded()
        for system, user in prompts:
            reply = loaded.server.handle_chat_completions(self._request(system, user, max_tokens=1))
            if "error" in reply:
                raise _error(self.name, reply["error"])
            loaded.requests.append(reply.get("timings") or {})

    @property
    def last_timings(self) -> dict[str, float]:
        """llama.cpp's own figures (tokens read and written per second) for the model's last reply."""
        return self._loaded().last_timings

    @property
    def requests(self) -> deque[dict[str, float]]:
        """llama.cpp's figures for each recent request (tokens read, found already read, written; their
        milliseconds), newest last: ``newsrag bench llm`` sums a question's."""
        return self._loaded().requests

    @property
    def last_logprobs(self) -> list[tuple[str, float]]:
        """Each token of the model's last streamed reply with its log-probability: how sure it was."""
        return self._loaded().last_logprobs

    def _request(self, system: str, user: str, **extra: Any) -> dict:
        return {"messages": messages(system, user), "temperature": 0.0, "max_tokens": self.max_tokens,
                "cache_prompt": True, **extra}

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas as the model writes them; stopping early, or the time limit, ends the generation."""
        loaded = self._loaded()
        request = self._request(system, user, stream=True, logprobs=True, top_logprobs=1,
                                **({"grammar": compact_json(schema)} if schema else {}))
        loaded.last_logprobs = []
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
            loaded.requests.append(item["timings"])
        choices = item.get("choices") or [{}]
        for token in (choices[0].get("logprobs") or {}).get("content") or []:
            loaded.last_logprobs.append((token.get("token", ""), float(token.get("logprob", 0.0))))
        return (choices[0].get("delta") or {}).get("content") or ""

    def next_token(self, system: str, user: str) -> dict[str, float]:
        """Top log-probabilities of the reply's first token (one decoding step; the prompt cache keeps the rest)."""
        loaded = self._loaded()
        reply = loaded.server.handle_chat_completions(
            self._request(system, user, max_tokens=1, logprobs=True, top_logprobs=SCORE_TOP))
        if "error" in reply:
            raise _error(self.name, reply["error"])
        loaded.requests.append(reply.get("timings") or {})
        try:
            first = reply["choices"][0]["logprobs"]["content"][0]
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"{self.name} returned no log-probabilities for its first token") from None
        return {t["token"]: t["logprob"] for t in first["top_logprobs"]}


def compact_json(schema: dict) -> str:
    """A grammar for JSON matching ``schema`` written on one line: indentation would cost tokens, and time.

    llama.cpp writes it with llguidance where its build has it (the portable wheel) and as GBNF otherwise
    (the native build ``make setup`` compiles): there the whitespace rule is narrowed to one optional space.
    """
    grammar = require("xllamacpp", "xllamacpp", "llm='local'").json_schema_to_grammar(schema)
    if grammar.startswith("%llguidance"):
        shape = {**schema, "x-guidance": {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}}
        return f"%llguidance {{}}\nstart: %json {json.dumps(shape)}"
    return re.sub(r"(?m)^space ::= .*$", 'space ::= " "?', grammar)


def _error(name: str, error: dict) -> LLMError:
    message = f"{name} refused the request: {error.get('message', error)}"
    if error.get("type") == "exceed_context_size_error":
        return ContextOverflow(f"{message}; lower top_k or raise RAG_LLM_CONTEXT_WINDOW")
    return LLMError(message)


