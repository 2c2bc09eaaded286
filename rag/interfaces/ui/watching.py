"""The UI's watched sources: what the server's index watches, how each check went, adding and removing.

The list is the index's own (``watch.json``), shared with `newsrag watch`; the checks are made by the
watcher `newsrag serve` runs beside the UI, or by another process that watches the same index. Only web
addresses can be added here: a folder on the server is the server owner's to name (`serve --watch`).
"""

from __future__ import annotations

import threading

import gradio as gr

from rag.engine import Engine
from rag.ingest.watch import Watcher, watch_key
from rag.ingest.watchlist import AlreadyWatched, WatchList, parse_every

RETAKE = 30.0  # seconds between attempts to take over the watching when another process does it
COLUMNS = ["Source", "Every", "Last check", "Outcome", "Next check"]


def watchlist(engine: Engine) -> WatchList:
    """The watched list of the index the server was started on."""
    return WatchList(engine.settings.index_dir)


def rows(engine: Engine) -> list[list[str]]:
    """One row per watched source, for the table."""
    return [[w.source, _every(w.every) + (", prune" if w.prune else ""), _time(w.last_check) or "not yet",
             w.outcome or "-", _time(w.next_run) or "now"] for w in watchlist(engine).load().values()]


def _every(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _time(iso: str) -> str:
    return iso.replace("T", " ").removesuffix("+00:00") + " UTC" if iso else ""


def add_watched(engine: Engine, source: str, every: str, prune: bool) -> tuple[str, list[list[str]]]:
    """Watch a feed or page URL; the running watcher checks it within seconds."""
    source = (source or "").strip()
    if not source.startswith(("http://", "https://")):
        return ("Not added: paste a feed or page address starting with http:// or https:// (folders on the "
                "server are watched with `newsrag serve --watch PATH`)."), rows(engine)
    try:
        seconds = parse_every(every)
    except ValueError as exc:
        return f"Not added: {exc}.", rows(engine)
    watchlist(engine).add(watch_key(source), seconds, prune)
    return f"Watching {source} every {_every(seconds)}; its first check starts shortly.", rows(engine)


def remove_watched(engine: Engine, source: str) -> tuple[str, list[list[str]]]:
    """Stop watching a source; what it already added stays in the index (remove it in the Library)."""
    source = (source or "").strip()
    if not source:
        return "Type or paste the source to stop watching.", rows(engine)
    if not watchlist(engine).remove(watch_key(source)):
        return f"{source} is not watched.", rows(engine)
    return f"Stopped watching {source}. Articles it added stay in the index.", rows(engine)


def start_watcher(engine: Engine, stop: threading.Event) -> threading.Thread:
    """Run the index's watcher beside the UI until ``stop`` is set; when another process already watches the
    index, that one keeps checking and the UI only edits the shared list."""
    def run() -> None:
        said = False
        while not stop.is_set():
            try:
                Watcher(engine, say=lambda line: print(f"watch: {line}", flush=True)).run(stop)
            except AlreadyWatched as exc:  # that process checks them; take over if it stops
                if not said:
                    print(f"note: {exc}", flush=True)
                said = True
                stop.wait(RETAKE)

    thread = threading.Thread(target=run, name="newsrag-watcher", daemon=True)
    thread.start()
    return thread


def section(engine: Engine) -> None:
    """The watched-sources block: the table (refreshed every few seconds), add and remove."""
    gr.Markdown(f"**Watched sources** of index '{engine.settings.index}': checked on their schedule, "
                "new and changed articles added as they appear.")
    table = gr.Dataframe(rows(engine), headers=COLUMNS, interactive=False, wrap=True, elem_id="watched")
    with gr.Row():
        source = gr.Textbox(label="Feed or page URL", placeholder="https://example.com/feed.xml", scale=3)
        every = gr.Textbox("15m", label="Every", scale=1)
    prune = gr.Checkbox(False, label="Remove articles the source no longer lists")
    with gr.Row():
        add = gr.Button("Watch", variant="primary")
        remove = gr.Button("Stop watching", variant="secondary")
    said = gr.Markdown()
    add.click(lambda s, e, p: add_watched(engine, s, e, p), [source, every, prune], [said, table],
              api_name="watch")
    remove.click(lambda s: remove_watched(engine, s), source, [said, table], api_name="unwatch")
    gr.Timer(5).tick(lambda: rows(engine), None, table, api_visibility="private")
