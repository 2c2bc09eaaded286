"""The chat screen: a Gradio Blocks app whose conversation lives in per-session state.

The conversation (what was asked, how it was read, what was answered) is a ``gr.State``, which
Gradio keeps per browser session on the server: two tabs or two people never share one, and the
chat display is rebuilt from it, never sent back by the browser. Handlers take the controls as
plain values, so the same endpoints serve the browser and ``gradio_client``.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.qa import Ask, answer, stream_answer
from rag.config import Settings
from rag.index.chroma import delete_index, index_exists, list_indexes
from rag.interfaces.ui import render
from rag.query.conversation import Turn, standalone_question
from rag.types import Answer

ALL_OUTLETS = "All outlets"
EXAMPLES = ["Who refused to meet Sudani?", "And what did the US say?", "What did Sistani say about Gaza?"]
UPLOADS = "uploads"  # the folder inside an index where uploaded files are kept


class InputError(ValueError):
    """An input the person can correct; the message names it and says what to do."""


@dataclass
class Chat:
    """One session's conversation: the turns that were answered, and every message shown."""

    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)


# --- inputs ---------------------------------------------------------------------------------------

_INDEX_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")  # as rag.config.Settings.index


def index_names(settings: Settings) -> list[str]:
    """Indexes under the index root or on the Chroma server, the configured one first."""
    return [settings.index, *(n for n in list_indexes(settings) if n != settings.index)]


def settings_for(base: Settings, index: str | None, must_exist: bool = True) -> Settings:
    """The settings for the chosen index, refusing a malformed or (for questions) missing one."""
    name = (index or base.index).strip()
    if not _INDEX_NAME.match(name):
        raise InputError(f"Index name {name!r} is not valid: use up to 64 letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit.")
    settings = base.model_copy(update={"index": name})
    if must_exist and not index_exists(settings):
        others = [n for n in list_indexes(base) if n != name]
        hint = f"pick one of: {', '.join(others)}" if others else "no index exists yet"
        where = base.chroma_url or f"{base.index_root}/"
        raise InputError(f"There is no index named {name!r} in {where}. Add news to it in the "
                         f"'Add news' tab (the index is created then), or {hint}.")
    return settings


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

    chosen = ["extractive", settings.llm]
    given = settings.model_fields_set
    if {"openai_base_url", "openai_model"} & given or settings.openai_api_key:
        chosen.append("openai")
    if {"ollama_base_url", "ollama_model"} & given:
        chosen.append("ollama")
    for name, model in models.MODELS.items():
        if (settings.models_dir / model.file_name).is_file():
            chosen.append("local" if name == settings.local_model else f"local:{name}")
    return list(dict.fromkeys(chosen))


class _ModelQueue:
    """How many questions are with a model in this process, so a waiting one can say why it waits.

    A model answers one question at a time on these cores (llama.cpp queues the rest); without a
    word, a queued question looks like a hung page.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    @contextmanager
    def turn(self) -> Iterator[int]:
        """Yields how many questions were ahead when this one joined."""
        with self._lock:
            ahead = self.active
            self.active += 1
        try:
            yield ahead
        finally:
            with self._lock:
                self.active -= 1


MODEL_QUEUE = _ModelQueue()


def model_status(llm: str, ahead: int) -> str:
    """What the page says until the model's first words arrive."""
    if ahead:
        return f"Waiting for the model: {ahead} question{'s' if ahead > 1 else ''} ahead of this one…"
    return f"Reading the sources with {llm}…"


def build_ask(base: Settings, question: str, turns: list[Turn], index: str, as_of: str | None,
              date_from: str | None, date_to: str | None, outlet: str | None, answerer: str | None,
              lenient: bool) -> tuple[Ask, Settings]:
    """Validate the controls and read the question in the light of the conversation."""
    settings = settings_for(base, index)
    day = parse_day(as_of, "As-of date") or date.today()
    start, end = parse_day(date_from, "From date"), parse_day(date_to, "To date")
    if start and end and start > end:
        raise InputError(f"From date {start} is after To date {end}: swap them or clear one.")
    llm = answerer or settings.llm
    standalone = standalone_question(question, turns, day, llm, settings)
    return Ask(question=standalone, as_of=day, date_from=start, date_to=end,
               outlet=None if outlet in ("", None, ALL_OUTLETS) else outlet, llm=llm,
               strict=settings.strict and not lenient), settings


# --- chat -----------------------------------------------------------------------------------------

def ask(base: Settings, message: str, chat: Chat, index: str, as_of: str | None, date_from: str | None,
        date_to: str | None, outlet: str | None, answerer: str | None, lenient: bool) -> Iterator[tuple[Any, ...]]:
    """Stream one reply: a status, the draft as it is written, then the checked answer with its sources."""
    from rag.answer.llm import LLMError
    from rag.index.chroma import StoreError

    question = (message or "").strip()
    if not question:  # Enter on an empty box: nothing to answer, nothing to record
        yield chat.messages, chat, gr.skip(), ""
        return
    chat.messages = [*chat.messages, {"role": "user", "content": question}]
    shown = chat.messages + [{"role": "assistant", "content": render.draft_html("", "Searching the news…")}]
    yield shown, chat, gr.skip(), ""
    try:
        request, settings = build_ask(base, question, chat.turns, index, as_of, date_from, date_to, outlet,
                                      answerer, lenient)
        final = yield from _answer_events(request, settings, chat)
    except (InputError, StoreError, LLMError, FileNotFoundError, ValueError) as exc:
        chat.messages = [*chat.messages, {"role": "assistant", "content": render.error_html(str(exc))}]
        yield chat.messages, chat, gr.skip(), ""
        return
    reply = render.answer_html(final, asked=question)
    chat.turns = [*chat.turns, Turn(question, final.question, final.text)]
    chat.messages = [*chat.messages, {"role": "assistant", "content": reply}]
    yield chat.messages, chat, render.sources_html(final), ""


def _answer_events(request: Ask, settings: Settings, chat: Chat) -> Generator[tuple[Any, ...], None, Answer]:
    """Page updates while the answer is produced: the queue status, then the draft as it is written."""
    if request.llm == "extractive":  # checked as soon as it exists: nothing to show on the way
        return answer(request, settings)

    def page(draft: str, status: str) -> tuple[Any, ...]:
        return chat.messages + [{"role": "assistant", "content": render.draft_html(draft, status)}], \
            chat, gr.skip(), ""

    with MODEL_QUEUE.turn() as ahead:
        yield page("", model_status(request.llm, ahead))
        draft = ""
        for event in stream_answer(request, settings):
            if isinstance(event, Answer):
                return event
            draft += event
            yield page(draft, "Checking every sentence against its sources…")
    raise AssertionError("stream_answer ended without an Answer")


def clear() -> tuple[list, Chat, str]:
    """A new conversation in this session only."""
    return [], Chat(), render.sources_html(None)


# --- ingest ---------------------------------------------------------------------------------------

_INGEST_LOCK = threading.Lock()  # one ingest at a time per process: they would share the same cores anyway
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _check_size(path: Path, max_mb: float) -> None:
    """Refuse an oversize upload before anything is written (Gradio's own cap applies first)."""
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_mb:
        raise InputError(f"{path.name} is {size_mb:.1f} MB, over the {max_mb:g} MB limit (RAG_MAX_FILE_MB): "
                         "split it or raise the limit.")


def _keep_upload(path: Path, folder: Path) -> Path:
    """Move an uploaded file into the index's uploads folder under a safe name, atomically."""
    name = _SAFE_NAME.sub("_", path.name).lstrip(".") or "upload"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.part"
    shutil.copyfile(path, partial)  # copy then rename: a crash leaves no half-written file under the real name
    partial.replace(target)
    path.unlink(missing_ok=True)
    return target


def add_news(base: Settings, files: list[str] | None, urls: str, index: str,
             progress: Any = None) -> tuple[str, Any, Any]:
    """Ingest uploads and URLs into the chosen index; the CLI's summary, or what to fix."""
    from rag.index.chroma import StoreError
    from rag.ingest.ingest import ingest

    try:
        settings = settings_for(base, index, must_exist=False)
        links = [u.strip() for u in (urls or "").split() if u.strip()]
        bad = [u for u in links if not u.startswith(("http://", "https://"))]
        if bad:
            raise InputError(f"Not a web address: {', '.join(bad)}. Paste URLs starting with http:// or https://.")
        if not files and not links:
            raise InputError("Choose files to upload or paste a URL or feed URL first.")
        for f in files or []:
            _check_size(Path(f), settings.max_file_mb)
        if progress is not None:
            progress(0, desc="Reading")
        with _INGEST_LOCK:
            existed = index_exists(settings)
            kept = [_keep_upload(Path(f), settings.index_dir / UPLOADS) for f in files or []]
            report = ingest([*map(str, kept), *links], settings, progress=True)
            for path in kept:  # an upload that could not be read is not kept: nothing half-done stays behind
                if any(f.origin.startswith(str(path)) for f in report.failed):
                    path.unlink(missing_ok=True)
            if not existed and not report.added:  # an index this call created for nothing is not left behind
                delete_index(settings)
        where = (f"index '{settings.index}' at {settings.location}" if existed or report.added
                 else f"index '{settings.index}' was not created: nothing could be added to it")
        summary = f"{report.summary()}\n{where}"
    except (InputError, StoreError) as exc:
        return f"Nothing was added. {exc}", gr.skip(), gr.skip()
    names = index_names(base)
    return summary, gr.update(choices=names, value=settings.index if settings.index in names else base.index), \
        gr.update(choices=outlets(settings))


def outlets(settings: Settings) -> list[str]:
    """The outlets of an index, for the filter (empty for a missing index)."""
    if not index_exists(settings):
        return [ALL_OUTLETS]
    from rag.index import keyword
    from rag.index.chroma import Store
    from rag.index.embedding import get_embedder

    names = keyword.load(Store(settings, get_embedder(settings, "query").dimension)).outlet_names.values()
    return [ALL_OUTLETS, *sorted(n for n in names if n)]


def index_changed(base: Settings, index: str) -> Any:
    """New outlet choices when another index is picked (a bad name just offers all outlets)."""
    try:
        return gr.update(choices=outlets(settings_for(base, index)), value=ALL_OUTLETS)
    except Exception:  # noqa: BLE001 - the question handler reports a bad index with advice
        return gr.update(choices=[ALL_OUTLETS], value=ALL_OUTLETS)


# --- layout ---------------------------------------------------------------------------------------

PLACEHOLDER = ("**Ask the news.** Every sentence of an answer cites its source; click a chip like "
               "<span class='nr-chip-demo'>[1] outlet · headline · date</span> to read the passage.")


def build_app(base: Settings) -> gr.Blocks:
    """The Blocks app for these settings (index root, default index, answerers)."""
    with gr.Blocks(title="newsrag", analytics_enabled=False, fill_width=True) as demo:
        chat = gr.State(Chat())
        gr.HTML("<div class='nr-header'><h1>newsrag</h1><p>Answers from the indexed news, every sentence "
                "checked against the passage it cites.</p></div>", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(label="Conversation", show_label=False, height=600, placeholder=PLACEHOLDER,
                                     buttons=[], feedback_options=None, elem_id="chat")
                message = gr.Textbox(show_label=False, placeholder="Ask about the news…", submit_btn="Ask",
                                     elem_id="question", autofocus=True)
                with gr.Row():
                    gr.Examples(EXAMPLES, inputs=message, label="Try")
                    new = gr.Button("New conversation", variant="secondary", size="sm", scale=0)
            with gr.Column(scale=2, min_width=320), gr.Tabs():
                with gr.Tab("Sources", elem_id="sources-tab"):
                    sources = gr.HTML(render.sources_html(None), js_on_load=None, elem_id="sources")
                with gr.Tab("Search settings"):
                    index = gr.Dropdown(index_names(base), value=base.index, label="Index",
                                        allow_custom_value=True, elem_id="index",
                                        info="indexes under " + str(base.index_root))
                    as_of = gr.DateTime(include_time=False, type="string", label="As of", elem_id="as-of",
                                        info="'this week' and 'latest' count from here; empty means today")
                    with gr.Row():
                        date_from = gr.DateTime(include_time=False, type="string", label="Published from")
                        date_to = gr.DateTime(include_time=False, type="string", label="Published to")
                    outlet = gr.Dropdown(outlets(base), value=ALL_OUTLETS, label="Outlet",
                                         allow_custom_value=True)
                    answerer = gr.Dropdown(answerers(base), value=base.llm, label="Answerer",
                                           info="extractive quotes the sources; a model writes, then is checked")
                    lenient = gr.Checkbox(not base.strict, label="Show unsupported sentences (marked)")
                with gr.Tab("Add news"):
                    gr.Markdown("Adds to the index chosen under *Search settings*; type a new name there to "
                                "create one.")
                    files = gr.File(label="Upload articles (.txt, .md, .html, .json, .jsonl, feeds)",
                                    file_count="multiple", type="filepath")
                    urls = gr.Textbox(label="Web page or feed URLs", lines=2,
                                      placeholder="https://example.com/article  (one per line)")
                    add = gr.Button("Add to index", variant="primary")
                    summary = gr.Textbox(label="Summary", lines=6, interactive=False, elem_id="ingest-summary")
        controls = [index, as_of, date_from, date_to, outlet, answerer, lenient]

        def on_ask(message: str, chat: Chat, index: str, as_of: str | None = None, date_from: str | None = None,
                   date_to: str | None = None, outlet: str | None = None, answerer: str | None = None,
                   lenient: bool = False) -> Iterator[Any]:
            yield from ask(base, message, chat, index, as_of, date_from, date_to, outlet, answerer, lenient)

        def on_add(files: list[str] | None, urls: str, index: str,
                   progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008 - Gradio's idiom
            return add_news(base, files, urls, index, progress)

        message.submit(on_ask, [message, chat, *controls], [chatbot, chat, sources, message], api_name="ask")
        new.click(clear, None, [chatbot, chat, sources], api_name="new_conversation")
        chatbot.clear(clear, None, [chatbot, chat, sources], api_visibility="private")
        add.click(on_add, [files, urls, index], [summary, index, outlet], api_name="add_news", concurrency_limit=1)
        index.change(lambda name: index_changed(base, name), index, outlet, api_visibility="private")
    return demo
