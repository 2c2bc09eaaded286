"""`newsrag sources` and `newsrag remove` on a real index, as a person runs them; a source line without an outlet."""

from __future__ import annotations

import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index
from rag.interfaces.cli import build_parser, main
from rag.interfaces.cli.sources import count
from rag.interfaces.render import render_text
from rag.types import Answer, Citation, Claim, Hit
from tests.index.test_library import RECORDS, build, found, write_corpus

HARBOUR = "https://gazette.example/harbour"


class Terminal(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(Settings(index_root=tmp_path_factory.mktemp("indexes"), index="x"))


@pytest.fixture
def library(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Index]:
    """A fresh index of the corpus, named after the test, where `newsrag` looks for indexes."""
    monkeypatch.setenv("RAG_INDEX_ROOT", str(engine.settings.index_root))
    name = tmp_path.name[:60].rstrip("_.-")
    write_corpus(tmp_path / "news")
    return name, build(engine, name, tmp_path / "news")


def titles(store: Index) -> set[str]:
    return {d.title for d in store.documents()}


def test_sources_lists_every_article_as_a_table_and_as_json(library: tuple[str, Index],
                                                            capsys: pytest.CaptureFixture) -> None:
    name, store = library
    assert main(["sources", "--index", name]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["PUBLISHED", "OUTLET", "HEADLINE", "PASSAGES", "FIRST", "INGESTED", "LAST",
                                "INGESTED", "URL", "OR", "FILE"]
    docs = store.documents()
    for doc, line in zip(docs, lines[1:6], strict=True):  # newest first, undated last
        assert doc.title in line and doc.location in line and (doc.outlet or "-") in line
        assert line.startswith(doc.published.isoformat() if doc.published else "undated")
        assert f" {doc.passages} " in line and doc.last_ingested[:16].replace("T", " ") in line
    assert f"5 articles ({store.count()} passages) in index '{name}'" in out
    assert main(["sources", "--index", name, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["headline"] for r in rows] == [d.title for d in docs]
    assert rows[0] | {"first_ingested": None, "last_ingested": None} == {
        "doc_id": HARBOUR, "outlet": "Harbour Gazette", "headline": "Kestrelport harbour reopens",
        "published": "2023-10-20", "url": RECORDS[0]["url"], "path": "", "passages": docs[0].passages,
        "first_ingested": None, "last_ingested": None}
    assert all(r["first_ingested"] == r["last_ingested"] and r["last_ingested"] for r in rows)
    assert rows[1]["url"] == "" and rows[1]["path"].endswith("article_002.txt")


def test_sources_filters_by_outlet_and_dates(library: tuple[str, Index], capsys: pytest.CaptureFixture) -> None:
    name, _ = library
    assert main(["sources", "--index", name, "--outlet", "wire service", "--json"]) == 0
    assert [r["headline"] for r in json.loads(capsys.readouterr().out)] == [
        "Quillmark tariff talks stall", "Brambleton festival draws record crowds"]
    assert main(["sources", "--index", name, "--from", "2023-10-01", "--to", "2023-10-10"]) == 0
    out = capsys.readouterr().out
    assert "story number 2" in out and "story number 1" in out and "Kestrelport" not in out
    assert "2 articles" in out and "(of 5)" in out


def test_remove_a_url_from_both_sides(library: tuple[str, Index], engine: Engine,
                                      capsys: pytest.CaptureFixture) -> None:
    name, store = library
    before, keyword = store.count(), len(store.keyword())
    passages = next(d.passages for d in store.documents() if d.doc_id == HARBOUR)
    assert HARBOUR in found(engine, name, "Kestrelport harbour reopened")
    assert main(["remove", "https://www.gazette.example/harbour/?utm_source=mail", "--index", name, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"removed 1 article ({passages} passage" in out and "Kestrelport harbour reopens" in out
    assert store.count() == before - passages and len(store.keyword()) == keyword - passages == store.count()
    assert "Kestrelport harbour reopens" not in titles(store) and len(titles(store)) == 4
    assert HARBOUR not in found(engine, name, "Kestrelport harbour reopened")


def test_remove_before_a_date_keeps_undated_articles(library: tuple[str, Index], engine: Engine,
                                                     capsys: pytest.CaptureFixture) -> None:
    name, store = library
    assert main(["remove", "--before", "2023-10-03", "--index", name, "--yes"]) == 0
    assert "removed 2 articles" in capsys.readouterr().out
    assert titles(store) == {"Kestrelport harbour reopens", "The drought story number 2",
                             "Brambleton festival draws record crowds"}
    assert len(store.keyword()) == store.count() == sum(d.passages for d in store.documents())
    assert "https://wire.example/tariff" not in found(engine, name, "Quillmark tariff talks")
    assert "https://wire.example/festival" in found(engine, name, "Brambleton lantern festival")


def test_remove_an_outlet(library: tuple[str, Index], engine: Engine, capsys: pytest.CaptureFixture) -> None:
    name, store = library
    assert main(["remove", "--outlet", "WIRE SERVICE", "--index", name, "--yes"]) == 0
    assert "removed 2 articles" in capsys.readouterr().out
    assert {d.outlet for d in store.documents()} == {"Harbour Gazette", ""} and len(store.documents()) == 3
    assert len(store.keyword()) == store.count() and "Wire Service" not in store.outlets()
    assert not {"https://wire.example/tariff", "https://wire.example/festival"} & found(
        engine, name, "Quillmark tariff talks Brambleton lantern festival")


def test_remove_asks_at_a_terminal_and_refuses_without_one(library: tuple[str, Index],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    name, store = library
    doc = next(d for d in store.documents() if d.path.endswith("article_001.txt"))
    article, before = doc.path, store.count()
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is no confirmation
    assert main(["remove", article, "--index", name]) == 2
    assert "--yes" in capsys.readouterr().err and store.count() == before
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    assert main(["remove", article, "--index", name]) == 1
    out = capsys.readouterr().out
    assert f"Remove {count([doc])} from index {name}? [y/N]" in out and count([doc]).startswith("1 article (")
    assert "nothing removed" in out and store.count() == before
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert main(["remove", article, "--index", name]) == 0
    assert "removed 1 article" in capsys.readouterr().out and "The election story number 1" not in titles(store)


def test_nothing_matched_exits_1_and_nothing_asked_exits_2(library: tuple[str, Index],
                                                           capsys: pytest.CaptureFixture) -> None:
    name, store = library
    before = store.count()
    assert main(["remove", "https://nowhere.example/story", "--index", name, "--yes"]) == 1
    err = capsys.readouterr().err
    assert "no article in index" in err and "https://nowhere.example/story" in err and "nothing removed" in err
    assert main(["remove", "--before", "1999-01-01", "--index", name, "--yes"]) == 1
    assert main(["remove", "--index", name, "--yes"]) == 2
    assert "--before" in capsys.readouterr().err and store.count() == before
    assert main(["sources", "--index", "no-such-index"]) == 2


@pytest.mark.parametrize(("command", "options"), [
    ("sources", {"--outlet", "--from", "--to", "--json", "--index", "--chroma-url"}),
    ("remove", {"targets", "--before", "--outlet", "--yes", "--index", "--chroma-url"}),
])
def test_help_explains_every_option(command: str, options: set[str], capsys: pytest.CaptureFixture) -> None:
    parser = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    helped = {(a.option_strings or [a.dest])[-1]: a.help or "" for a in parser._actions if a.dest != "help"}
    assert set(helped) == options and all(len(h.split()) >= 4 for h in helped.values()), helped
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "newest publication first" in text.lower() if command == "sources" else (
        "undated articles are never removed by it" in text and "asks first" in text)


def test_a_source_without_an_outlet_shows_its_headline_alone() -> None:
    plain = Hit(chunk_id="c1", doc_id="file:///news/000_6f57e6f2eacdf9d5.txt", text="Rockets hit the base.",
                title="Rockets hit base", outlet="", url="", published=date(2023, 10, 25), start=0, end=21)
    named = Hit(chunk_id="c2", doc_id="https://a.example/x", text="Rockets hit the base.", title="Rockets hit base",
                outlet="Gazette", url="https://a.example/x", published=date(2023, 10, 25), start=0, end=21)
    claims = [Claim(text=f"Rockets hit the base [{n}].", supported=True,
                    citations=[Citation(n=n, hit=h, quote="Rockets hit the base.", start=0, end=21, support=1.0)])
              for n, h in ((1, plain), (2, named))]
    text = render_text(Answer(question="q", text="Rockets hit the base [1][2].", claims=claims,
                              sources=[plain, named], refused=False, as_of=date(2023, 10, 26)))
    assert "[1] Rockets hit base (2023-10-25)" in text and "[2] Gazette: Rockets hit base (2023-10-25)" in text
    assert "file " not in text and "000_6f57" not in text
