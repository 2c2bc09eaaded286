"""Served backends through llama-index: any OpenAI-compatible server, and Ollama.

Both decode at temperature 0, stream, can be held to a JSON schema, and report the next token's
log-probabilities; their clients' exceptions become LLMErrors that name the server and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from rag.answer.llm import SCORE_TOP, ContextOverflow, LLMError, messages, response_format
from rag.config import Settings
from rag.optional import require


def _chat_deltas(llm: Any, system: str, user: str, **kwargs: Any) -> Iterator[str]:
    """Non-empty deltas of a llama-index chat stream."""
    from llama_index.core.llms import ChatMessage

    for response in llm.stream_chat([ChatMessage(**m) for m in messages(system, user)], **kwargs):
        if response.delta:
            yield response.delta


class OpenAIGenerator:
    """Any OpenAI-compatible chat-completions endpoint, streamed at temperature 0."""

    def __init__(self, settings: Settings) -> None:
        openai_like = require("llama_index.llms.openai_like", "llama-index-llms-openai-like", "llm='openai'")
        self.url = settings.llm.openai_base_url
        self.name = f"openai:{settings.llm.openai_model}"
        key = settings.llm.openai_api_key.get_secret_value() if settings.llm.openai_api_key else "not-needed"
        common = {"model": settings.llm.openai_model, "api_base": self.url, "api_key": key, "is_chat_model": True,
                  "temperature": 0.0, "timeout": settings.llm.timeout, "max_retries": settings.llm.retries,
                  "context_window": settings.llm.context_window}
        self._llm = openai_like.OpenAILike(max_tokens=settings.llm.max_tokens, **common)
        self._scorer = openai_like.OpenAILike(max_tokens=1, logprobs=True, top_logprobs=SCORE_TOP, **common)

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas of the server's reply; connection and HTTP failures become an LLMError naming the URL."""
        extra = {"response_format": response_format(schema)} if schema else {}
        with self._errors():
            yield from _chat_deltas(self._llm, system, user, **extra)

    def next_token(self, system: str, user: str) -> dict[str, float]:
        from llama_index.core.llms import ChatMessage

        with self._errors():
            reply = self._scorer.chat([ChatMessage(**m) for m in messages(system, user)])
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
        self.url = settings.llm.ollama_base_url
        self.model = settings.llm.ollama_model
        self.name = f"ollama:{self.model}"
        self._llm = ollama.Ollama(  # a set context_window stops it asking the server at construction
            model=self.model, base_url=self.url, temperature=0.0, context_window=settings.llm.context_window,
            request_timeout=settings.llm.timeout, additional_kwargs={"num_predict": settings.llm.max_tokens},
        )

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        """Deltas of the model's reply; an unreachable server or unknown model becomes an LLMError."""
        with self._errors():
            yield from _chat_deltas(self._llm, system, user, **({"format": schema} if schema else {}))

    def next_token(self, system: str, user: str) -> dict[str, float]:
        with self._errors():
            reply = self._llm.client.chat(model=self.model, messages=messages(system, user), stream=False,
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
