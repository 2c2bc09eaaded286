"""The chat screen: a Gradio Blocks app over one Engine, its conversation in per-session state.

Handlers (``chat``, ``library``, ``shelf``) take the controls as plain values, so the same endpoints serve the
browser and ``gradio_client``; this module only lays the controls out and wires them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.engine import Engine
from rag.interfaces.ui import render, shelf, watching
from rag.interfaces.ui.chat import Chat, answerers, ask, clear
from rag.interfaces.ui.library import ALL_OUTLETS, add_news, index_changed, index_names, outlets

EXAMPLES = ["Who refused to meet Sudani?", "And what did the US say?", "What did Sistani say about Gaza?"]
PLACEHOLDER = ("**Ask the news.** Every sentence of an answer cites its source; click a chip like "
               "<span class='nr-chip-demo'>[1] outlet · headline · date</span> to read the passage.")


def _conversation() -> tuple[Any, Any, Any]:
    """The chat column: the conversation, the question box and a new-conversation button."""
    chatbot = gr.Chatbot(label="Conversation", show_label=False, height=600, placeholder=PLACEHOLDER,
                         buttons=[], feedback_options=None, elem_id="chat")
    message = gr.Textbox(show_label=False, placeholder="Ask about the news…", submit_btn="Ask",
                         elem_id="question", autofocus=True)
    with gr.Row():
        gr.Examples(EXAMPLES, inputs=message, label="Try")
        new = gr.Button("New conversation", variant="secondary", size="sm", scale=0)
    return chatbot, message, new


def _search_settings(engine: Engine) -> list[Any]:
    """Index, dates, outlet, answerer and leniency: the controls every question is asked with."""
    base = engine.settings
    index = gr.Dropdown(index_names(base), value=base.index, label="Index", allow_custom_value=True,
                        elem_id="index", info="indexes under " + str(base.index_root))
    as_of = gr.DateTime(include_time=False, type="string", label="As of", elem_id="as-of",
                        info="'this week' and 'latest' count from here; empty means today")
    with gr.Row():
        date_from = gr.DateTime(include_time=False, type="string", label="Published from")
        date_to = gr.DateTime(include_time=False, type="string", label="Published to")
    outlet = gr.Dropdown(outlets(engine), value=ALL_OUTLETS, label="Outlet", allow_custom_value=True)
    answerer = gr.Dropdown(answerers(base), value=base.answer.llm, label="Answerer",
                           info="extractive quotes the sources; a model writes, then is checked")
    lenient = gr.Checkbox(not base.answer.strict, label="Show unsupported sentences (marked)")
    return [index, as_of, date_from, date_to, outlet, answerer, lenient]


def _add_news() -> tuple[Any, Any, Any, Any]:
    """Uploads and URLs, the button that ingests them, and the summary of what happened."""
    gr.Markdown("Adds to the index chosen under *Search settings*; type a new name there to create one.")
    files = gr.File(label="Upload articles (.txt, .md, .html, .json, .jsonl, feeds)", file_count="multiple",
                    type="filepath")
    urls = gr.Textbox(label="Web page or feed URLs", lines=2, placeholder="https://example.com/article  (one per line)")
    add = gr.Button("Add to index", variant="primary")
    summary = gr.Textbox(label="Summary", lines=6, interactive=False, elem_id="ingest-summary")
    return files, urls, add, summary


def build_app(engine: Engine) -> gr.Blocks:
    """The Blocks app over this engine (its settings name the index root, default index and answerers)."""
    with gr.Blocks(title="newsrag", analytics_enabled=False, fill_width=True) as demo:
        chat = gr.State(Chat())
        gr.HTML("<div class='nr-header'><h1>newsrag</h1><p>Answers from the indexed news, every sentence "
                "checked against the passage it cites.</p></div>", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot, message, new = _conversation()
            with gr.Column(scale=2, min_width=320), gr.Tabs():
                with gr.Tab("Sources", elem_id="sources-tab"):
                    sources = gr.HTML(render.sources_html(None), js_on_load=None, elem_id="sources")
                with gr.Tab("Search settings"):
                    controls = _search_settings(engine)
                with gr.Tab("Add news"):
                    files, urls, add, summary = _add_news()
                with gr.Tab("Library", elem_id="library-tab") as library_tab:
                    library = shelf.build(engine, controls[0], library_tab)
                with gr.Tab("Watched", elem_id="watched-tab"):
                    watching.section(engine)
        index, outlet = controls[0], controls[4]

        def on_ask(message: str, chat: Chat, index: str, as_of: str | None = None, date_from: str | None = None,
                   date_to: str | None = None, outlet: str | None = None, answerer: str | None = None,
                   lenient: bool = False) -> Iterator[Any]:
            yield from ask(engine, message, chat, index, as_of, date_from, date_to, outlet, answerer, lenient)

        def on_add(files: list[str] | None, urls: str, index: str,
                   progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Any:  # noqa: B008 - Gradio's idiom
            return add_news(engine, files, urls, index, progress)

        message.submit(on_ask, [message, chat, *controls], [chatbot, chat, sources, message], api_name="ask")
        new.click(clear, None, [chatbot, chat, sources], api_name="new_conversation")
        chatbot.clear(clear, None, [chatbot, chat, sources], api_visibility="private")
        add.click(on_add, [files, urls, index], [summary, index, outlet], api_name="add_news", concurrency_limit=1)
        library["removed"].then(lambda name: index_changed(engine, name), index, outlet,
                                api_visibility="private")  # a removal may take an outlet's last article
        index.change(lambda name: index_changed(engine, name), index, outlet, api_visibility="private")
    return demo
