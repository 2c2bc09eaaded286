"""The library of an index: one row per article from the real pipeline, ingest times, selecting and removing."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index
from rag.index.library import Document, remove, select, within
from rag.index.schema import utc_now
from rag.ingest.ingest import ingest
from rag.query.retrieve import retrieve
from tests.ingest.test_ingest import write_article

AS_OF = date(2023, 12, 31)
RECORDS = [  # a scraper dump: two outlets, one undated article
    {"url": "https://www.gazette.example/harbour?utm_source=rss", "title": "Kestrelport harbour reopens",
     "source": "Harbour Gazette", "publish_date": "2023-10-20",
     "text": "The Kestrelport harbour reopened on Friday after storm repairs, the port authority said. "
             "Fishing boats returned to the Kestrelport quay within hours of the announcement."},
    {"url": "https://wire.example/tariff", "title": "Quillmark tariff talks stall", "source": "Wire Service",
     "publish_date": "2023-09-01",
     "text": "Negotiators in Quillmark failed to agree on tariff cuts after two days of talks. "
             "The Quillmark delegation said it would return next month with new proposals."},
    {"url": "https://wire.example/festival", "title": "Brambleton festival draws record crowds",
     "source": "Wire Service",
     "text": "The Brambleton lantern festival drew record crowds this year, organisers said. "
             "More than forty thousand people walked the Brambleton riverside on the final night."},
]


def write_corpus(folder: Path) -> dict[str, Path]:
    """Two plain articles (no outlet, no URL) and a dump of three, as a folder to ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    return {"first": write_article(folder, 1), "second": write_article(folder, 2), "dump": dump}


def build(engine: Engine, index: str, folder: Path) -> Index:
    """An index of the folder, made by the real ingest."""
    assert ingest([str(folder)], engine, progress=False, index=index).ok
    return engine.index(index)


def found(engine: Engine, index: str, question: str) -> set[str]:
    """The articles retrieval returns for a question."""
    return {h.doc_id for h in retrieve(question, engine, as_of=AS_OF, index=index, k=8).hits}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(index_root=tmp_path_factory.mktemp("indexes"), index="x"))


def test_every_article_is_listed_once_with_its_fields(engine: Engine, tmp_path: Path) -> None:
    started = utc_now()
    paths = write_corpus(tmp_path / "news")
    store = build(engine, "listed", tmp_path / "news")
    ended = utc_now()
    docs = store.documents()
    assert [d.title for d in docs] == ["Kestrelport harbour reopens", "The drought story number 2",
                                       "The election story number 1", "Quillmark tariff talks stall",
                                       "Brambleton festival draws record crowds"]  # newest first, undated last
    assert [d.published for d in docs] == [date(2023, 10, 20), date(2023, 10, 3), date(2023, 10, 2),
                                           date(2023, 9, 1), None]
    assert [d.outlet for d in docs] == ["Harbour Gazette", "", "", "Wire Service", "Wire Service"]
    assert docs[0].doc_id == "https://gazette.example/harbour" and docs[0].location == docs[0].url == RECORDS[0]["url"]
    assert docs[1].url == "" and docs[1].path == paths["second"].resolve().as_posix() == docs[1].location
    states = store.doc_states()
    assert {d.doc_id: d.passages for d in docs} == {k: next(iter(s.expected.values())) for k, s in states.items()}
    assert sum(d.passages for d in docs) == store.count()
    for doc in docs:
        assert doc.first_ingested == doc.last_ingested and started <= doc.last_ingested <= ended
        assert doc.last_ingested.endswith("+00:00") and len(doc.last_ingested) == 25  # UTC, to the second
    row = docs[0].as_dict()
    assert row["headline"] == docs[0].title and row["published"] == "2023-10-20" and row["passages"] >= 1


def test_an_update_keeps_first_ingested_and_moves_ingested(engine: Engine, tmp_path: Path) -> None:
    paths = write_corpus(tmp_path / "news")
    before = {d.doc_id: d for d in build(engine, "updated", tmp_path / "news").documents()}
    time.sleep(1.1)  # stamps are to the second
    write_article(tmp_path / "news", 1, extra="\n\nA correction was appended to this story.")
    report = ingest([str(tmp_path / "news")], engine, progress=False, index="updated")
    assert len(report.updated) == 1 and len(report.unchanged) == 4
    after = {d.doc_id: d for d in engine.index("updated").documents()}
    changed = next(doc for doc in after if doc.endswith(paths["first"].name))
    assert after[changed].first_ingested == before[changed].first_ingested
    assert after[changed].last_ingested > before[changed].last_ingested
    assert engine.index("updated").doc_states()[changed].first_ingested == before[changed].first_ingested
    assert all(after[d] == before[d] for d in after if d != changed)  # unchanged articles keep both times


def test_an_index_written_before_ingest_times_lists_them_as_none(engine: Engine, tmp_path: Path) -> None:
    write_corpus(tmp_path / "news")
    store = build(engine, "older", tmp_path / "news")
    page = store.chroma.collection.get(include=[])
    store.chroma.collection.update(ids=page["ids"], metadatas=[{"ingested": None, "first_ingested": None}] *
                                   len(page["ids"]))  # as an index written before the fields existed
    docs = store.documents()
    assert len(docs) == 5 and all(d.first_ingested is None and d.last_ingested is None for d in docs)
    assert all(s.first_ingested == "" for s in store.doc_states().values())
    time.sleep(1.1)
    write_article(tmp_path / "news", 2, extra="\n\nAn update.")
    assert ingest([str(tmp_path / "news")], engine, progress=False, index="older").updated
    updated = next(d for d in store.documents() if d.last_ingested)
    assert updated.first_ingested is None  # unknown stays unknown: not passed off as this update's time


def test_remove_takes_articles_from_both_sides(engine: Engine, tmp_path: Path) -> None:
    write_corpus(tmp_path / "news")
    store = build(engine, "removed", tmp_path / "news")
    harbour = "https://gazette.example/harbour"
    assert harbour in found(engine, "removed", "Kestrelport harbour reopened")
    docs = store.documents()
    picked, missed = select(docs, ["https://www.gazette.example/harbour/?utm_source=x"])
    assert [d.doc_id for d in picked] == [harbour] and missed == []
    count, keyword = store.count(), len(store.keyword())
    chunks = set(store.chroma.collection.get(where={"doc_id": harbour}, include=[])["ids"])
    assert len(chunks) == picked[0].passages and chunks <= set(store.keyword().ids)
    gone = remove(store, picked)
    assert gone == picked
    assert store.count() == len(store.keyword()) == count - len(chunks) == keyword - len(chunks)
    assert not chunks & set(store.keyword().ids)
    assert harbour not in {d.doc_id for d in store.documents()} and len(store.documents()) == 4
    assert harbour not in found(engine, "removed", "Kestrelport harbour reopened")
    reopened = Index(engine.for_index("removed"))  # another reader of the folder sees the same
    assert reopened.count() == store.count() and len(reopened.keyword()) == store.count()


def doc(doc_id: str, published: date | None, outlet: str = "", url: str = "", passages: int = 2) -> Document:
    return Document(doc_id=doc_id, title=doc_id, outlet=outlet, url=url, published=published, passages=passages)


DOCS = [doc("https://a.example/one", date(2023, 10, 5), "Gazette", "https://a.example/one"),
        doc("https://b.example/two", date(2023, 9, 1), "Wire", "https://b.example/two"),
        doc("file:///news/dump.jsonl#1", date(2023, 8, 1), "Wire"),
        doc("file:///news/dump.jsonl#2", None, "Wire"),
        doc("file:///news/plain.txt", None)]


def test_select_by_url_path_date_and_outlet() -> None:
    def ids(*args: object, **kw: object) -> list[str]:
        return [d.doc_id for d in select(DOCS, *args, **kw)[0]]

    assert ids(["https://www.a.example/one/?utm_medium=rss#top"]) == ["https://a.example/one"]
    assert ids(["/news/plain.txt"]) == ["file:///news/plain.txt"]
    assert ids(["/news/dump.jsonl"]) == ["file:///news/dump.jsonl#1", "file:///news/dump.jsonl#2"]
    assert ids(["file:///news/dump.jsonl#2"]) == ["file:///news/dump.jsonl#2"]
    assert ids(before=date(2023, 10, 1)) == ["https://b.example/two", "file:///news/dump.jsonl#1"]  # undated: never
    assert ids(outlet="wire") == ["https://b.example/two", "file:///news/dump.jsonl#1", "file:///news/dump.jsonl#2"]
    assert ids(before=date(2023, 10, 1), outlet="Wire") == ["https://b.example/two", "file:///news/dump.jsonl#1"]
    assert ids() == []  # no criterion picks nothing
    picked, missed = select(DOCS, ["https://a.example/one", "https://nowhere.example/x"])
    assert [d.doc_id for d in picked] == ["https://a.example/one"] and missed == ["https://nowhere.example/x"]
    assert [d.doc_id for d in within(DOCS, "GAZETTE")] == ["https://a.example/one"]
    assert [d.doc_id for d in within(DOCS, date_from=date(2023, 9, 1), date_to=date(2023, 9, 30))] == [
        "https://b.example/two"]
