"""The Library tab: the articles of the chosen index in a table, searched and sorted, and removing some.

Removal is two steps, so a click never deletes: "Remove" states what would go and shows Confirm and
Cancel; only Confirm deletes, through the same ``rag.index.library`` functions as `newsrag remove`,
under the Engine's ingest lock so it never runs while news is being added. Handlers take plain values
(what the controls hold) so they are tested without a browser; ``build`` lays the controls out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from rag.engine import Engine
from rag.index import StoreError
from rag.index.library import Document, minute, remove, select
from rag.interfaces.ui.library import InputError, settings_for

HEADERS = ("Outlet", "Headline", "Published", "URL or file", "Passages", "First ingested", "Last ingested")
LOCATION = HEADERS.index("URL or file")
SORTS = ("Published", "Outlet", "Headline", "Passages", "First ingested", "Last ingested")
SHOWN = 10  # headlines named in a confirmation; the count covers the rest


def _row(doc: Document) -> list[Any]:
    return [doc.outlet, doc.title, doc.published.isoformat() if doc.published else "undated", doc.location,
            doc.passages, minute(doc.first_ingested), minute(doc.last_ingested)]


def _ordered(docs: Sequence[Document], sort: str) -> list[Document]:
    """Text columns A to Z (an empty outlet last), numbers and times largest and newest first (unknown last)."""
    orders: dict[str, tuple[Callable[[Document], Any], bool]] = {
        "Outlet": (lambda d: (not d.outlet, d.outlet.casefold(), d.title.casefold()), False),
        "Headline": (lambda d: d.title.casefold(), False),
        "Passages": (lambda d: d.passages, True),
        "First ingested": (lambda d: d.first_ingested or "", True),
        "Last ingested": (lambda d: d.last_ingested or "", True),
    }
    if sort not in orders:  # "Published": documents() lists the newest publication first
        return list(docs)
    key, newest_first = orders[sort]
    return sorted(docs, key=key, reverse=newest_first)


def view(docs: Sequence[Document], search: str = "", sort: str = "Published") -> list[list[Any]]:
    """The table rows: articles whose headline, outlet or URL holds the search text (any case), sorted."""
    words = (search or "").casefold().split()
    kept = [d for d in docs if all(w in f"{d.title}\n{d.outlet}\n{d.location}".casefold() for w in words)]
    return [_row(d) for d in _ordered(kept, sort)]


def _count(docs: Sequence[Document]) -> str:
    n, m = len(docs), sum(d.passages for d in docs)
    return f"{n} article{'s' * (n != 1)} ({m} passage{'s' * (m != 1)})"


def refresh(engine: Engine, index: str, search: str = "", sort: str = "Published"
            ) -> tuple[list[list[Any]], str, list[Document]]:
    """Read the index's articles afresh: the table, a line that counts them, and the articles for later views."""
    try:
        settings = settings_for(engine.settings, index)
        docs = engine.index(settings.index).documents()
    except (InputError, StoreError) as exc:
        return [], str(exc), []
    rows = view(docs, search, sort)
    shown = f"showing {len(rows)}; " if len(rows) != len(docs) else ""
    return rows, f"Index '{settings.index}': {shown}{_count(docs)}.", docs


def pick(row: Sequence[Any] | None, chosen: str) -> str:
    """Add a clicked row's URL (or file) to the list to remove, or take it off if it is there already."""
    lines = [line for line in (chosen or "").splitlines() if line.strip()]
    if not row or len(row) <= LOCATION or not str(row[LOCATION]).strip():
        return "\n".join(lines)
    target = str(row[LOCATION]).strip()
    return "\n".join([line for line in lines if line.strip() != target] if target in map(str.strip, lines)
                     else [*lines, target])


def ask_remove(engine: Engine, index: str, chosen: str) -> tuple[str, dict[str, Any], Any, Any]:
    """What the chosen URLs would remove, with Confirm and Cancel shown; nothing is deleted yet.

    Returns the message, the pending removal (index and article ids) and the two buttons' visibility.
    """
    targets = [line.strip() for line in (chosen or "").splitlines() if line.strip()]
    hidden = gr.update(visible=False)
    if not targets:
        return "Pick rows in the table or type URLs (one per line) first.", {}, hidden, hidden
    try:
        settings = settings_for(engine.settings, index)
        picked, missed = select(engine.index(settings.index).documents(), targets)
    except (InputError, StoreError) as exc:
        return f"Nothing removed. {exc}", {}, hidden, hidden
    unmatched = f" No article matches: {', '.join(missed)}." if missed else ""
    if not picked:
        return f"Nothing to remove in index '{settings.index}'.{unmatched}", {}, hidden, hidden
    names = ", ".join(f"“{d.title or d.location}”" for d in picked[:SHOWN])
    more = f" and {len(picked) - SHOWN} more" if len(picked) > SHOWN else ""
    message = f"Remove {_count(picked)} from index '{settings.index}'? {names}{more}.{unmatched}"
    pending = {"index": settings.index, "docs": [d.doc_id for d in picked]}
    shown = gr.update(visible=True)
    return message, pending, shown, shown


def confirm_remove(engine: Engine, pending: dict[str, Any] | None) -> tuple[str, dict[str, Any], Any, Any, str]:
    """Delete the pending articles, unless news is being added right now (then say to try again).

    Returns the message, the cleared pending removal, the buttons' visibility and the cleared URL box.
    """
    hidden = gr.update(visible=False)
    if not pending or not pending.get("docs"):
        return "Nothing is waiting to be removed.", {}, hidden, hidden, gr.skip()
    if not engine.ingest_lock.acquire(blocking=False):
        return ("News is being added right now; press Confirm again when it is done.", pending, gr.skip(),
                gr.skip(), gr.skip())
    try:
        store = engine.index(pending["index"])
        wanted = set(pending["docs"])
        gone = remove(store, [d for d in store.documents() if d.doc_id in wanted])
    except StoreError as exc:
        return f"Nothing removed. {exc}", {}, hidden, hidden, gr.skip()
    finally:
        engine.ingest_lock.release()
    return f"Removed {_count(gone)} from index '{pending['index']}'.", {}, hidden, hidden, ""


def cancel_remove() -> tuple[str, dict[str, Any], Any, Any]:
    """Drop the pending removal: nothing was deleted."""
    hidden = gr.update(visible=False)
    return "Nothing removed.", {}, hidden, hidden


def build(engine: Engine, index: Any, tab: Any) -> dict[str, Any]:
    """The tab's controls, wired; ``index`` is the index dropdown of the search settings, ``tab`` this tab
    (opening it reads the index afresh). ``removed`` is the event that ends a confirmed removal."""
    with gr.Row():
        search = gr.Textbox(label="Search", placeholder="words in the headline, outlet or URL", scale=3)
        sort = gr.Dropdown(list(SORTS), value="Published", label="Sort by", scale=1,
                           info="dates newest first, text A to Z")
    with gr.Row():
        count = gr.Markdown(elem_id="library-count")
        reload = gr.Button("Refresh", size="sm", scale=0)
    table = gr.Dataframe(headers=list(HEADERS), datatype=["str", "str", "str", "str", "number", "str", "str"],
                         interactive=False, wrap=True, max_height=420, elem_id="library-table",
                         column_widths=[140, 300, 110, 260, 80, 140, 140])
    chosen = gr.Textbox(label="To remove", lines=2, elem_id="library-chosen",
                        placeholder="click rows above, or type URLs or file paths (one per line)")
    start = gr.Button("Remove", variant="stop", size="sm")
    notice = gr.Markdown(elem_id="library-notice")
    with gr.Row():
        confirm = gr.Button("Confirm", variant="stop", visible=False, elem_id="library-confirm")
        cancel = gr.Button("Cancel", visible=False)
    docs, pending = gr.State([]), gr.State({})
    parts = {"search": search, "sort": sort, "count": count, "refresh": reload, "table": table, "chosen": chosen,
             "remove": start, "notice": notice, "confirm": confirm, "cancel": cancel, "docs": docs,
             "pending": pending}
    _wire(engine, index, tab, parts)
    return parts


def _wire(engine: Engine, index: Any, tab: Any, p: dict[str, Any]) -> None:
    """Connect the controls to the handlers above."""
    def load(name: str, search: str, sort: str) -> tuple[list[list[Any]], str, list[Document]]:
        return refresh(engine, name, search, sort)

    def clicked(chosen: str, evt: gr.SelectData) -> str:
        return pick(evt.row_value, chosen)

    reading = {"fn": load, "inputs": [index, p["search"], p["sort"]], "outputs": [p["table"], p["count"], p["docs"]]}
    p["refresh"].click(**reading, api_name="library")
    index.change(**reading, api_visibility="private")
    tab.select(**reading, api_visibility="private")
    p["search"].change(view, [p["docs"], p["search"], p["sort"]], p["table"], api_visibility="private")
    p["sort"].change(view, [p["docs"], p["search"], p["sort"]], p["table"], api_visibility="private")
    p["table"].select(clicked, p["chosen"], p["chosen"], api_visibility="private")
    asked = [p["notice"], p["pending"], p["confirm"], p["cancel"]]
    p["remove"].click(lambda name, chosen: ask_remove(engine, name, chosen), [index, p["chosen"]], asked,
                      api_visibility="private")
    p["cancel"].click(cancel_remove, None, asked, api_visibility="private")
    p["removed"] = p["confirm"].click(lambda pending: confirm_remove(engine, pending), p["pending"],
                                      [*asked, p["chosen"]], api_visibility="private"
                                      ).then(**reading, api_visibility="private")
