"""The UI's conversation: a question read in the light of the turns before it, answered as a stream.

The conversation (what was asked, how it was read, what was answered) is a ``gr.State``, which
Gradio keeps per browser session on the server: two tabs or two people never share one, and the
chat display is rebuilt from it, never sent back by the browser.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import gradio as gr

from rag.answer.qa import Ask, answer, stream_answer
from rag.config import Settings
from rag.engine import Engine
from rag.interfaces.ui import render
from rag.interfaces.ui.library import ALL_OUTLETS, InputError, settings_for
from rag.query.conversation import Turn, standalone_question
from rag.types import EXTRACTIVE, Answer, Answerer


@dataclass
class Chat:
    """One session's conversation: the turns that were answered, and every message shown."""

    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)


def parse_day(text: str | None, what: str) -> date | None:
    """A date field's value ('' means none), or an error naming the field."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date: write it like 2023-10-25.") from None


def answerers(settings: Settings) -> list[str]:
    """Extractive (always works) plus the models this setup configures: RAG_LLM, an OpenAI-compatible
    endpoint given by URL or key, an Ollama server given by URL, and the bundled local models installed."""
    from rag.answer import models

    chosen = [EXTRACTIVE, settings.answer.llm]
    given = settings.llm.model_fields_set
    if {"openai_base_url", "openai_model"} & given or settings.llm.openai_api_key:
        chosen.append("openai")
    if {"ollama_base_url", "ollama_model"} & given:
        chosen.append("ollama")
    for name, model in models.MODELS.items():
        if (settings.llm.models_dir / model.file_name).is_file():
            chosen.append("local" if name == settings.llm.local_model else f"local:{name}")
    return list(dict.fromkeys(chosen))


def model_status(llm: str, ahead: int, ready: bool = True) -> str:
    """What the page says until the model's first words arrive."""
    if ahead:
        return f"Waiting for the model: {ahead} question{'s' if ahead > 1 else ''} ahead of this one…"
    if not ready:
        return f"Loading the model ({llm}): the first question waits for it, the next ones do not…"
    return f"Reading the sources with {llm}…"


def build_ask(engine: Engine, question: str, turns: list[Turn], index: str, as_of: str | None,
              date_from: str | None, date_to: str | None, outlet: str | None, answerer: str | None,
              lenient: bool) -> Ask:
    """Validate the controls and read the question in the light of the conversation."""
    settings = settings_for(engine.settings, index)
    day = parse_day(as_of, "As-of date") or date.today()
    start, end = parse_day(date_from, "From date"), parse_day(date_to, "To date")
    if start and end and start > end:
        raise InputError(f"From date {start} is after To date {end}: swap them or clear one.")
    who = Answerer(answerer or settings.answer.llm)
    standalone = standalone_question(question, turns, day, who, engine)
    return Ask(question=standalone, as_of=day, date_from=start, date_to=end,
               outlet=None if outlet in ("", None, ALL_OUTLETS) else outlet, answerer=who, lenient=lenient,
               index=settings.index)


def ask(engine: Engine, message: str, chat: Chat, index: str, as_of: str | None, date_from: str | None,
        date_to: str | None, outlet: str | None, answerer: str | None, lenient: bool) -> Iterator[tuple[Any, ...]]:
    """Stream one reply: a status, the draft as it is written, then the checked answer with its sources."""
    from rag.answer.llm import LLMError
    from rag.index import StoreError

    question = (message or "").strip()
    if not question:  # Enter on an empty box: a hint that fades, nothing recorded in the conversation
        from rag.answer.qa import EMPTY

        gr.Info(EMPTY)
        yield chat.messages, chat, gr.skip(), ""
        return
    chat.messages = [*chat.messages, {"role": "user", "content": question}]
    shown = chat.messages + [{"role": "assistant", "content": render.draft_html("", "Searching the news…")}]
    yield shown, chat, gr.skip(), ""
    try:
        request = build_ask(engine, question, chat.turns, index, as_of, date_from, date_to, outlet, answerer, lenient)
        final = yield from _answer_events(request, engine, chat)
    except (InputError, StoreError, LLMError, FileNotFoundError, ValueError) as exc:
        chat.messages = [*chat.messages, {"role": "assistant", "content": render.error_html(str(exc))}]
        yield chat.messages, chat, gr.skip(), ""
        return
    reply = render.answer_html(final, asked=question)
    chat.turns = [*chat.turns, Turn(question, final.question, final.text)]
    chat.messages = [*chat.messages, {"role": "assistant", "content": reply}]
    yield chat.messages, chat, render.sources_html(final), ""


def _answer_events(request: Ask, engine: Engine, chat: Chat) -> Generator[tuple[Any, ...], None, Answer]:
    """Page updates while the answer is produced: the queue status, then the draft as it is written."""
    who = request.who(engine)
    if not who.generative:  # checked as soon as it exists: nothing to show on the way
        return answer(request, engine)

    def page(draft: str, status: str) -> tuple[Any, ...]:
        return chat.messages + [{"role": "assistant", "content": render.draft_html(draft, status)}], \
            chat, gr.skip(), ""

    with engine.model_users() as ahead:
        yield page("", model_status(who, ahead, engine.ready(who)))
        draft = ""
        for event in stream_answer(request, engine):
            if isinstance(event, Answer):
                return event
            draft += event
            yield page(draft, "Checking every sentence against its sources…")
    raise AssertionError("stream_answer ended without an Answer")


def clear() -> tuple[list, Chat, str]:
    """A new conversation in this session only."""
    return [], Chat(), render.sources_html(None)
