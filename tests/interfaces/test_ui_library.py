"""The UI's Library tab through its handlers, on a real index: list, search, sort, remove with a confirmation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index
from rag.interfaces.ui import render, shelf
from rag.types import Hit
from tests.index.test_library import build, found, write_corpus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
HARBOUR = "https://www.gazette.example/harbour?utm_source=rss"  # as the dump gives it: the table shows this


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(index_root=tmp_path_factory.mktemp("indexes"), index="x"))


@pytest.fixture
def library(engine: Engine, tmp_path: Path) -> tuple[str, Index]:
    name = tmp_path.name[:60].rstrip("_.-")
    write_corpus(tmp_path / "news")
    return name, build(engine, name, tmp_path / "news")


def column(rows: list[list], header: str) -> list:
    return [row[shelf.HEADERS.index(header)] for row in rows]


def test_the_table_lists_searches_and_sorts(engine: Engine, library: tuple[str, Index]) -> None:
    name, store = library
    rows, note, docs = shelf.refresh(engine, name)
    assert len(rows) == 5 and note == f"Index '{name}': 5 articles ({store.count()} passages)."
    assert column(rows, "Published") == ["2023-10-20", "2023-10-03", "2023-10-02", "2023-09-01", "undated"]
    assert rows[0][:4] == ["Harbour Gazette", "Kestrelport harbour reopens", "2023-10-20", HARBOUR]
    assert rows[0][5] == rows[0][6] != "" and len(rows[0][6]) == len("2023-10-20 12:00")
    assert column(shelf.view(docs, "wire", "Published"), "Headline") == [
        "Quillmark tariff talks stall", "Brambleton festival draws record crowds"]  # the outlet matches
    assert column(shelf.view(docs, "GAZETTE.example"), "Headline") == ["Kestrelport harbour reopens"]  # the URL
    assert column(shelf.view(docs, "story number"), "Published") == ["2023-10-03", "2023-10-02"]  # headlines
    assert shelf.view(docs, "nothing like this") == []
    assert column(shelf.view(docs, "", "Outlet"), "Outlet") == ["Harbour Gazette", "Wire Service", "Wire Service",
                                                                "", ""]
    assert column(shelf.view(docs, "", "Headline"), "Headline") == sorted(column(rows, "Headline"))
    assert column(shelf.view(docs, "", "Passages"), "Passages") == sorted(column(rows, "Passages"), reverse=True)
    filtered, note, _ = shelf.refresh(engine, name, "wire", "Headline")
    assert column(filtered, "Headline") == ["Brambleton festival draws record crowds", "Quillmark tariff talks stall"]
    assert note == f"Index '{name}': showing 2; 5 articles ({store.count()} passages)."
    rows, note, docs = shelf.refresh(engine, "no-such-index")
    assert (rows, docs) == ([], []) and "There is no index named 'no-such-index'" in note


def test_remove_needs_a_confirmation(engine: Engine, library: tuple[str, Index]) -> None:
    name, store = library
    rows, _, _ = shelf.refresh(engine, name)
    chosen = shelf.pick(rows[0], "")
    chosen = shelf.pick(rows[3], chosen)
    assert chosen.splitlines() == [HARBOUR, "https://wire.example/tariff"]
    assert shelf.pick(rows[3], chosen) == HARBOUR  # a second click takes it off again
    before = store.count()
    message, pending, confirm, cancel = shelf.ask_remove(engine, name, f"{chosen}\nhttps://nowhere.example/x")
    assert message.startswith("Remove 2 articles (") and f"from index '{name}'?" in message
    assert "“Kestrelport harbour reopens”" in message and "No article matches: https://nowhere.example/x" in message
    assert confirm["visible"] and cancel["visible"] and pending["index"] == name
    assert store.count() == before  # asking removes nothing
    message, pending_after, confirm, _ = shelf.cancel_remove()
    assert message == "Nothing removed." and pending_after == {} and not confirm["visible"]
    assert store.count() == before
    _, pending, _, _ = shelf.ask_remove(engine, name, chosen)
    message, cleared, confirm, cancel, box = shelf.confirm_remove(engine, pending)
    assert message.startswith("Removed 2 articles (") and f"index '{name}'" in message
    assert cleared == {} and not confirm["visible"] and not cancel["visible"] and box == ""
    titles = column(shelf.refresh(engine, name)[0], "Headline")
    assert titles == ["The drought story number 2", "The election story number 1",
                      "Brambleton festival draws record crowds"]
    assert store.count() == len(store.keyword()) == sum(d.passages for d in store.documents()) < before
    assert not {"https://gazette.example/harbour", "https://wire.example/tariff"} & found(
        engine, name, "Kestrelport harbour Quillmark tariff")


def test_remove_waits_for_no_ingest_and_explains_empty_requests(engine: Engine, library: tuple[str, Index]) -> None:
    name, store = library
    _, pending, _, _ = shelf.ask_remove(engine, name, HARBOUR)
    before = store.count()
    with engine.ingest_lock:  # news being added: the removal does not run now
        message, kept, _, _, _ = shelf.confirm_remove(engine, pending)
    assert "News is being added right now" in message and kept == pending and store.count() == before
    assert shelf.confirm_remove(engine, kept)[0].startswith("Removed 1 article")
    assert shelf.confirm_remove(engine, {})[0] == "Nothing is waiting to be removed."
    message, pending, confirm, _ = shelf.ask_remove(engine, name, "  \n")
    assert message.startswith("Pick rows") and pending == {} and not confirm["visible"]
    message, pending, _, _ = shelf.ask_remove(engine, name, HARBOUR)  # gone already
    assert message.startswith(f"Nothing to remove in index '{name}'") and pending == {}
    assert shelf.ask_remove(engine, "no/such", HARBOUR)[0].startswith("Nothing removed. Index name")


def test_the_library_tab_is_part_of_the_app(engine: Engine) -> None:
    from rag.interfaces.ui.app import build_app

    demo = build_app(engine)
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"library-tab", "library-table", "library-chosen", "library-confirm"} <= ids


def test_a_citation_without_an_outlet_shows_the_headline_alone() -> None:
    plain = Hit(chunk_id="c1", doc_id="file:///news/000_6f57e6f2eacdf9d5.txt", text="Rockets hit the base.",
                title="Rockets hit base", outlet="", url="", published=date(2023, 10, 25), start=0, end=21)
    assert render.chip_label(1, plain) == "[1] Rockets hit base · 25 Oct 2023"
    html = render.chip(1, plain)
    assert "file 000" not in html and "· ·" not in html and "— " not in html.split("nr-ev-head")[1][:60]
    assert 'title="Rockets hit base (25 Oct 2023)"' in html
    named = replace(plain, outlet="Gazette")
    assert render.chip_label(1, named) == "[1] Gazette · Rockets hit base · 25 Oct 2023"
    assert "<b>Gazette</b> — Rockets hit base" in render.chip(1, named)
