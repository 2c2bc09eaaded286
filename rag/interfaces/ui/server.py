"""Start the chat UI and its /v1 API safely: loopback by default, credentials or an explicit --open elsewhere.

Gradio's analytics and version check are off, the theme uses the system's fonts (no font
service), and uploads land in a cache under the index root, from where an accepted file is
moved into its index's own folder. The OpenAI-compatible API (rag/interfaces/api) is served by
the same server on the same Engine: its routes are handed to the FastAPI app Gradio builds
(``app_kwargs={"routes": ...}``), which puts them ahead of every route of Gradio's own.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rag.config import Settings, UISettings
from rag.engine import Engine
from rag.types import Answerer

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, no version check

USER_ENV = "RAG_UI_USERNAME"
PASSWORD_ENV = "RAG_UI_PASSWORD"
API_KEY_ENV = "RAG_API_KEY"
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


class UnsafeBind(ValueError):
    """Serving beyond this machine was asked for without credentials or --open."""


def credentials(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Username and password, when both are set: from ``env`` when given, else the settings' (RAG_UI_*)."""
    if env is None:
        return UISettings().credentials
    return UISettings(username=env.get(USER_ENV) or None, password=env.get(PASSWORD_ENV) or None).credentials


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, open_: bool, auth: tuple[str, str] | None, api_key: str | None = None) -> None:
    """Refuse to expose the app beyond loopback unless the UI has credentials and the API a key, or it is
    meant to be open."""
    if is_loopback(host) or open_ or (auth and api_key):
        return
    missing = [f"{USER_ENV} and {PASSWORD_ENV} (the UI's sign-in)"] if not auth else []
    missing += [f"{API_KEY_ENV} (the key the /v1 API asks for)"] if not api_key else []
    raise UnsafeBind(f"refusing to serve on {host} without credentials: anyone who can reach it could read and "
                     f"change the index and ask through its API. Set {' and '.join(missing)}, or pass --open if it "
                     "is meant to be open, or use --host 127.0.0.1.")


def api_key(settings: Settings) -> str | None:
    """The key the /v1 API asks for (RAG_API_KEY), when one is set."""
    secret = settings.ui.api_key
    return (secret.get_secret_value() if secret else "") or None


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, open_: bool = False,
           concurrency: int = 4, block: bool = True, quiet: bool = False,
           engine: Engine | None = None, watch: Watching | None = None):  # noqa: ANN201 - gradio's Blocks
    """Build and start the app, its API and the index's watcher on one Engine (``engine``, else one built from
    ``settings``); ``watch`` adds sources to the watched list first. Returns the running Blocks
    (``block=False``) once it answers; closing it stops the watcher."""
    auth, key = settings.ui.credentials, api_key(settings)
    check_bind(host, open_, auth, key)
    uploads = (settings.index_root / ".uploads").resolve()
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read when the server starts: uploads stay under the index root

    import gradio as gr

    from rag.interfaces.api import api_routes
    from rag.interfaces.ui.app import build_app
    from rag.interfaces.ui.render import CSS

    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    engine = engine if engine is not None else Engine(settings)
    stop = _start_watching(engine, watch)
    _warm(engine, quiet)
    demo = build_app(engine)
    demo.queue(default_concurrency_limit=concurrency)
    _note_missing_index(settings, quiet)
    if not quiet:
        guard = f"asks for the {API_KEY_ENV} bearer key" if key else f"no key: set {API_KEY_ENV} to ask for one"
        print(f"OpenAI-compatible API at http://{host}:{port}/v1 ({guard})", flush=True)
    demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, show_error=True,
                quiet=quiet, share=False, inbrowser=False, max_file_size=int(settings.ingest.max_file_mb * 1_000_000),
                footer_links=["api"], run_history=False, pwa=False, mcp_server=False, ssr_mode=False,
                enable_monitoring=False, theme=theme, css=CSS,
                app_kwargs={"routes": api_routes(engine, key, concurrency)})
    _stop_with(demo, stop)
    return demo


def _warm(engine: Engine, quiet: bool) -> None:
    """Load the configured local model in the background, so the UI opens at once and the first question
    pays no load; a model that cannot load says why here, and again to whoever asks."""
    llm = Answerer(engine.settings.answer.llm)
    if llm.kind != "local":
        return

    def warm() -> None:
        from rag.answer.llm import LLMError

        try:
            engine.warm(llm)
        except LLMError as exc:
            print(f"note: {exc}", file=sys.stderr)
            return
        if not quiet:
            print(f"model ready: {llm}", flush=True)

    threading.Thread(target=warm, name=f"warm {llm}", daemon=True).start()


def _stop_with(demo: Any, stop: threading.Event) -> None:
    """Closing the app (tests and benchmarks close it) also stops its watcher."""
    close = demo.close

    def closing(*args: Any, **kwargs: Any) -> Any:
        stop.set()
        return close(*args, **kwargs)

    demo.close = closing


@dataclass(frozen=True)
class Watching:
    """Sources `serve --watch` adds to the served index's watched list, with their interval and pruning."""

    sources: tuple[str, ...]
    every: float = 900.0
    prune: bool = False


def _start_watching(engine: Engine, watch: Watching | None) -> threading.Event:
    """Add the sources asked for, start the index's watcher beside the UI, and return what stops it."""
    from rag.ingest.watch import watch_key
    from rag.interfaces.ui.watching import start_watcher, watchlist

    for source in watch.sources if watch else ():
        watchlist(engine).add(watch_key(source), watch.every, watch.prune)
    stop = threading.Event()
    start_watcher(engine, stop)
    return stop


def _note_missing_index(settings: Settings, quiet: bool) -> None:
    """Say how to fill the selected index when it does not exist yet (the server starts anyway)."""
    from rag.index import StoreError, index_exists

    try:
        missing = not index_exists(settings)
    except StoreError as exc:  # a Chroma server that is not up yet: say so, the UI names it on each question
        print(f"note: {exc}", file=sys.stderr)
        missing = False
    if not quiet and missing:
        print(f"note: index '{settings.index}' does not exist yet: add news in the UI's 'Add news' tab or run "
              f"`newsrag ingest seeds/ --index {settings.index}`", file=sys.stderr)
