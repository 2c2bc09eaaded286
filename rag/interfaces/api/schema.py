"""What the /v1 API accepts and returns, in the shapes OpenAI-compatible clients already speak.

Requests are pydantic models that ignore the fields a chat client sends and newsrag has no use for
(temperature, top_p, ...), so any client works unchanged; newsrag's own options (``as_of``, ``index``,
...) ride along as extra fields (``extra_body`` in the openai client). Replies are plain dicts: the
OpenAI objects plus a ``citations`` field, which clients keep as an extra attribute.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.interfaces.ui.render import CLOSEST
from rag.types import Answer

MAX_BODY_BYTES = 1_000_000  # a question and its conversation, never a document
MAX_MESSAGES = 64
MAX_MESSAGE_CHARS = 8_000


class ApiError(Exception):
    """A request that cannot be answered, as the HTTP status and OpenAI error body that say why."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind = status, message, code, kind

    def body(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` object OpenAI clients raise from."""
        return {"error": {"message": self.message, "type": self.kind, "code": self.code, "param": None}}


class Options(BaseModel):
    """What only this question decides, as the UI's search settings and `newsrag ask` options name it."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    as_of: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    outlet: str | None = None
    index: str | None = None
    lenient: bool = False


class Part(BaseModel):
    """One piece of a message's content; only text is read."""

    model_config = ConfigDict(extra="ignore")
    type: str = "text"
    text: str = ""


class Message(BaseModel):
    """A chat message: the user's questions and the answers given to them are the conversation."""

    model_config = ConfigDict(extra="ignore")
    role: str
    content: str | list[Part] | None = None

    @property
    def text(self) -> str:
        """The message as one string, whether sent as a string or as content parts."""
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(Options):
    """``POST /v1/chat/completions``: the last user message is the question, the earlier ones its context."""

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


class AskRequest(Options):
    """``POST /v1/ask``: one question, answered as `newsrag ask --json` prints it."""

    question: str


def check_size(request: ChatRequest) -> None:
    """Refuse a conversation too long to be a conversation, naming the limit."""
    if len(request.messages) > MAX_MESSAGES:
        raise ApiError(413, f"{len(request.messages)} messages is more than the {MAX_MESSAGES} accepted: "
                            "send the recent turns only", "too_many_messages")
    longest = max(len(m.text) for m in request.messages)
    if longest > MAX_MESSAGE_CHARS:
        raise ApiError(413, f"a message of {longest} characters is longer than the {MAX_MESSAGE_CHARS} accepted",
                       "message_too_long")


def citations(answer: Answer) -> list[dict[str, Any]]:
    """Every [n] of the answer, per sentence: the source's outlet, headline, date and URL, the passage, the
    supporting sentence and its character span in the article, and whether the sources back the sentence."""
    return [{"n": c.n, "outlet": c.hit.outlet, "headline": c.hit.title,
             "date": c.hit.published.isoformat() if c.hit.published else None, "url": c.hit.url,
             "passage": c.hit.text, "quote": c.quote, "span": [c.start, c.end], "supported": claim.supported,
             "support": round(c.support, 3), "sentence": claim.text, "also_in": list(c.hit.also_in)}
            for claim in answer.claims for c in claim.citations]


def reply_text(answer: Answer) -> str:
    """The answer with its [n] markers, why it is not the answerer's own words, then the sources it cites
    (the closest ones for a refusal), so that a plain chat window can resolve every marker."""
    text = answer.text + (f" ({answer.fallback})" if answer.fallback else "")
    if answer.refused:
        shown, heading, note = range(1, min(len(answer.sources), CLOSEST) + 1), "Closest sources", ""
    else:
        shown = sorted({c.n for claim in answer.claims for c in claim.citations})
        heading, note = "Sources", f"\n\n{answer.recency()}"
    if not shown:
        return text
    lines = [f"[{n}] {answer.sources[n - 1].label} {answer.sources[n - 1].url}".rstrip() for n in shown]
    return f"{text}\n\n{heading}:\n" + "\n".join(lines) + note


def completion_id() -> str:
    """An id in OpenAI's style, one per reply."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(answer: Answer, model: str, reply_id: str) -> dict[str, Any]:
    """The whole reply as a ``chat.completion`` object."""
    return {"id": reply_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply_text(answer)},
                         "finish_reason": "stop"}],
            **extras(answer)}


def chunk(model: str, reply_id: str, delta: dict[str, Any], finish: str | None = None,
          **more: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a streamed reply."""
    return {"id": reply_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}


def extras(answer: Answer) -> dict[str, Any]:
    """What newsrag adds to an OpenAI reply: the citations, how the question was read, and whether it was
    a refusal."""
    return {"citations": citations(answer), "question": answer.question, "refused": answer.refused}
