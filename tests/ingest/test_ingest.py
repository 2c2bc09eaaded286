"""Ingestion end to end: real readers, real model, real Chroma on disk."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index
from rag.ingest.ingest import Report, ingest
from rag.types import Failure
from tests import SEEDS

TOPICS = ["harbour", "election", "drought", "vaccine", "railway", "festival", "tariff", "wildfire"]


def write_article(folder: Path, n: int, paragraphs: int = 3, extra: str = "") -> Path:
    """A small article in the seed's shape: headline, dateline, paragraphs."""
    topic = TOPICS[n % len(TOPICS)]
    body = "\n\n".join(
        f"Officials in district {n} described the {topic} situation on day {p}. "
        f"Residents said the {topic} had changed how they live, and reporters counted {p * 7 + n} people."
        for p in range(paragraphs)
    )
    path = folder / f"article_{n:03d}.txt"
    path.write_text(f"The {topic} story number {n}\n\n{n % 28 + 1} October, 2023\n\n{body}{extra}\n")
    return path


def wait_until_halfway(proc: subprocess.Popen) -> str:
    """Read an ingest's progress bars until some, not all, of its passages are embedded; the text read."""
    assert proc.stderr is not None
    progress = ""
    while proc.poll() is None:
        progress += proc.stderr.read(40)
        done = [(int(a), int(b)) for a, b in re.findall(r"embedding: .*?\| *(\d+)/(\d+)", progress)]
        if done and 0 < done[-1][0] < done[-1][1] // 2:
            break
    return progress


def assert_consistent(store: Index, expected_docs: int) -> None:
    """Every document stored once, complete, in one version, and no chunk beyond what they expect."""
    states = store.doc_states()
    assert len(states) == expected_docs
    assert all(len(s.present) == 1 and s.complete(next(iter(s.present))) for s in states.values())
    assert store.count() == sum(next(iter(s.expected.values())) for s in states.values())


def stored(settings: Settings) -> Index:
    return Index(settings, dimension=384, create=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_root=tmp_path / "indexes", index="t")


def test_seed_ingest_then_unchanged_reingest(settings: Settings) -> None:
    first = ingest([str(SEEDS)], Engine(settings), progress=False)
    assert (len(first.added), len(first.failed)) == (1, 0) and first.chunks > 3
    store = stored(settings)
    assert store.count() == first.chunks
    page = store.chroma.collection.get(include=["metadatas", "documents"])
    body_len = max(int(m["end"]) for m in page["metadatas"])
    assert {m["published_int"] for m in page["metadatas"]} == {20231025}
    assert all(m["title"].startswith("Anti-US armed groups in Iraq") for m in page["metadatas"])
    assert body_len > 5000
    again = ingest([str(SEEDS)], Engine(settings), progress=False)
    assert (len(again.unchanged), again.chunks, len(again.added)) == (1, 0, 0)
    assert stored(settings).count() == first.chunks


def test_changed_article_is_replaced_without_gap_or_duplicates(settings: Settings, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    path = write_article(folder, 1, paragraphs=14)
    ingest([str(folder)], Engine(settings), progress=False)
    before = stored(settings).count()
    write_article(folder, 1, paragraphs=2, extra="\n\nA correction was appended to this story.")

    seen_while_dropping: list[set[str]] = []
    original = Index.drop_other_versions

    def spy(self: Index, doc_id: str, keep: str) -> None:
        seen_while_dropping.append(set(self.doc_states()[doc_id].present))
        original(self, doc_id, keep)

    monkeypatch.setattr(Index, "drop_other_versions", spy)
    report = ingest([str(folder)], Engine(settings), progress=False)
    assert len(report.updated) == 1 and report.updated[0].endswith(path.name)
    assert len(seen_while_dropping[0]) == 2, "the new version must be stored before the old one goes"
    states = stored(settings).doc_states()
    (state,) = states.values()
    assert len(state.present) == 1 and stored(settings).count() == report.chunks < before


def test_same_text_under_two_urls_is_stored_once(settings: Settings, tmp_path: Path) -> None:
    text = "The council approved the new harbour budget on Tuesday after a long debate. " * 5
    rows = [{"url": u, "title": "Harbour budget", "text": text, "publish_date": "2023-10-24"}
            for u in ("https://a.example/story", "https://b.example/copy-of-story")]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = ingest([str(dump)], Engine(settings), progress=False)
    assert len(report.added) == 1 and len(report.duplicates) == 1
    assert report.duplicates[0] == ("https://b.example/copy-of-story", "https://a.example/story")
    assert set(stored(settings).doc_states()) == {"https://a.example/story"}


def test_prune_removes_only_what_the_folder_lost(settings: Settings, tmp_path: Path) -> None:
    folder, other = tmp_path / "news", tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    paths = [write_article(folder, n) for n in range(3)]
    write_article(other, 9)
    ingest([str(folder), str(other)], Engine(settings), progress=False)
    paths[0].unlink()
    kept = ingest([str(folder)], Engine(settings), progress=False)
    assert kept.pruned == [] and len(stored(settings).doc_states()) == 4
    report = ingest([str(folder)], Engine(settings), prune=True, progress=False)
    assert [p.rsplit("/", 1)[-1] for p in report.pruned] == [paths[0].name]
    docs = stored(settings).doc_states()
    assert len(docs) == 3 and not any(d.endswith(paths[0].name) for d in docs)


def test_prune_of_a_source_that_gave_nothing_deletes_nothing(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    write_article(folder, 1)
    ingest([str(folder)], Engine(settings), progress=False)
    shutil.rmtree(folder)
    folder.mkdir()
    report = ingest([str(folder)], Engine(settings), prune=True, progress=False)
    assert report.pruned == [] and any("nothing pruned" in w for w in report.warnings)
    assert len(stored(settings).doc_states()) == 1


def test_bad_items_fail_alone_and_the_rest_is_ingested(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    write_article(folder, 1)
    (folder / "empty.txt").write_text("")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "broken.json").write_text('{"title": "x", "text": ')
    (folder / "nodate.txt").write_text("A headline without a date\n\nSome body text about the harbour today.\n")
    report = ingest([str(folder)], Engine(settings), progress=False)
    failed = sorted(Path(f.origin.split(":")[0]).name for f in report.failed)
    assert failed == ["blob.bin", "broken.json", "empty.txt"]
    assert all(f.reason for f in report.failed) and not report.ok
    assert len(report.added) == 2
    assert any("nodate.txt" in w and "no publication date" in w for w in report.warnings)
    assert "FAILED" in report.summary() and "empty.txt" in report.summary()


def test_summary_caps_long_lists_unless_verbose() -> None:
    report = Report(failed=[Failure(f"f{i}.txt", "empty file") for i in range(15)])
    short = report.summary()
    assert "f9.txt" in short and "f10.txt" not in short and "... and 5 more failures" in short
    assert "f14.txt" in report.summary(limit=None)


def test_a_story_that_moved_url_replaces_its_pruned_copy(settings: Settings, tmp_path: Path) -> None:
    text = "The council approved the new harbour budget on Tuesday after a long debate. " * 5
    dump = tmp_path / "dump.jsonl"

    def write(*urls: str) -> None:
        rows = [{"url": u, "title": "Harbour budget", "text": text, "publish_date": "2023-10-24"} for u in urls]
        dump.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    write("https://a.example/old")
    ingest([str(dump)], Engine(settings), progress=False)
    write("https://a.example/new", "https://a.example/old")  # the copy is met before the stored one
    still = ingest([str(dump)], Engine(settings), prune=True, progress=False)
    assert still.duplicates == [("https://a.example/new", "https://a.example/old")] and still.pruned == []
    write("https://a.example/new")
    moved = ingest([str(dump)], Engine(settings), prune=True, progress=False)
    assert moved.added == ["https://a.example/new"] and moved.pruned == ["https://a.example/old"]
    assert set(stored(settings).doc_states()) == {"https://a.example/new"}
