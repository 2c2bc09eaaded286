"""The BM25 keyword index: built by ingest, kept in step with Chroma, rebuilt only when it must be."""

import json
import logging
import subprocess
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index, keyword, lexical
from rag.index.segments import Segment
from rag.ingest.ingest import ingest
from tests.ingest.test_ingest import write_article


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_root=tmp_path / "indexes", index="t")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "news"
    path.mkdir()
    return path


def store_of(settings: Settings) -> Index:
    return Index(settings, dimension=384, create=True)


def chroma_ids(settings: Settings) -> set[str]:
    return set(store_of(settings).chroma.collection.get(include=[])["ids"])


def stamp(settings: Settings) -> str | None:
    return keyword.current_stamp(keyword.folder_of(settings.index_dir))


def test_ingest_builds_the_index_on_disk_in_step_with_chroma(settings: Settings, folder: Path) -> None:
    for n in range(3):
        write_article(folder, n)
    ingest([str(folder)], Engine(settings), progress=False)
    kw_dir = keyword.folder_of(settings.index_dir)
    [segment] = json.loads((kw_dir / f"{stamp(settings)}.json").read_text())["segments"]
    assert {"rows.json", "arrays.npz"} == {p.name for p in (kw_dir / segment).iterdir()}
    assert not (kw_dir / keyword.STALE).exists()
    index = store_of(settings).keyword()
    assert set(index.ids) == chroma_ids(settings) and len(index.ids) == len(index.published)
    assert set(index.published.tolist()) == {20231001, 20231002, 20231003}
    (top, _), *_ = index.search("What about the election?", 5)  # article 1 is the election story
    assert doc_of(settings, top).endswith("article_001.txt")


def doc_of(settings: Settings, chunk_id: str) -> str:
    metas = store_of(settings).chroma.collection.get(ids=[chunk_id], include=["metadatas"])["metadatas"]
    return str(metas[0]["doc_id"])


def test_unchanged_reingest_does_not_rebuild(settings: Settings, folder: Path) -> None:
    write_article(folder, 1)
    ingest([str(folder)], Engine(settings), progress=False)
    kw_dir = keyword.folder_of(settings.index_dir)
    before = (stamp(settings), (kw_dir / keyword.CURRENT).stat().st_mtime_ns, sorted(kw_dir.iterdir()))
    again = ingest([str(folder)], Engine(settings), progress=False)
    assert len(again.unchanged) == 1 and again.chunks == 0
    assert (stamp(settings), (kw_dir / keyword.CURRENT).stat().st_mtime_ns, sorted(kw_dir.iterdir())) == before


def test_update_and_prune_leave_no_stale_ids(settings: Settings, folder: Path) -> None:
    paths = [write_article(folder, n) for n in range(3)]
    ingest([str(folder)], Engine(settings), progress=False)
    first, old_ids = stamp(settings), chroma_ids(settings)
    write_article(folder, 0, extra="\n\nA correction about the zanzibarite shipment was appended.")
    paths[2].unlink()
    report = ingest([str(folder)], Engine(settings), prune=True, progress=False)
    assert len(report.updated) == 1 and len(report.pruned) == 1
    index = store_of(settings).keyword()
    assert stamp(settings) != first and set(index.ids) == chroma_ids(settings) != old_ids
    [(hit, _)] = index.search("zanzibarite", 5)
    assert doc_of(settings, hit).endswith(paths[0].name) and hit not in old_ids
    kw_dir = keyword.folder_of(settings.index_dir)
    segments = json.loads((kw_dir / f"{stamp(settings)}.json").read_text())["segments"]
    assert len(segments) == 2, "the update added a segment: nothing was tokenised again"
    assert old_ids - chroma_ids(settings) <= set(Segment.load(kw_dir / segments[1]).deleted)
    left = {p.name.removesuffix(".json") for p in kw_dir.iterdir() if p.name.startswith(("g-", "s-"))}
    assert left == {first, stamp(settings), *segments}, "only the live generation and the one before stay"


def test_killed_run_leaves_it_stale_and_the_next_query_rebuilds_once(
        settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    write_article(folder, 1)
    ingest([str(folder)], Engine(settings), progress=False)
    first = stamp(settings)
    write_article(folder, 2)
    original = Index.upsert

    def upsert_then_die(self: Index, *args: object) -> None:
        original(self, *args)  # the passages reach Chroma, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "upsert", upsert_then_die)
    with pytest.raises(KeyboardInterrupt):
        ingest([str(folder)], Engine(settings), progress=False)
    monkeypatch.undo()
    kw_dir = keyword.folder_of(settings.index_dir)
    assert (kw_dir / keyword.STALE).exists() and stamp(settings) == first
    with caplog.at_level(logging.WARNING, logger="rag.index.keyword"):
        store = store_of(settings)
        index = store.keyword()
        again = store.keyword()
    warnings = [r.getMessage() for r in caplog.records if r.name == "rag.index.keyword"]
    assert len(warnings) == 1 and "interrupted" in warnings[0]
    assert again is index and stamp(settings) != first and not (kw_dir / keyword.STALE).exists()
    assert set(index.ids) == chroma_ids(settings)


def test_an_ingest_running_elsewhere_is_not_mistaken_for_a_crash(settings: Settings, folder: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    for n in range(2):
        write_article(folder, n)
    ingest([str(folder)], Engine(settings), progress=False)
    first = stamp(settings)
    other = subprocess.Popen(["sleep", "60"])  # stands in for an ingest in another process
    kw_dir = keyword.folder_of(settings.index_dir)
    (kw_dir / keyword.STALE).write_text(json.dumps({"pid": other.pid, "token": "other"}))
    store_of(settings).delete_docs([next(iter(store_of(settings).doc_states()))])  # its writes so far
    try:
        with caplog.at_level(logging.WARNING, logger="rag.index.keyword"):
            assert store_of(settings).keyword().stamp == first
        assert not [r for r in caplog.records if r.name == "rag.index.keyword"]
    finally:
        other.kill()
        other.wait()
    with caplog.at_level(logging.WARNING, logger="rag.index.keyword"):
        index = store_of(settings).keyword()
    assert "interrupted" in caplog.text and index.stamp != first and set(index.ids) == chroma_ids(settings)


def test_a_count_different_from_chroma_means_rebuild(settings: Settings, folder: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    for n in range(2):
        write_article(folder, n)
    ingest([str(folder)], Engine(settings), progress=False)
    store = store_of(settings)
    store.delete_docs([next(iter(store.doc_states()))])  # a change the index never heard of
    with caplog.at_level(logging.WARNING, logger="rag.index.keyword"):
        index = store.keyword()
    assert "but Chroma has" in caplog.text and set(index.ids) == chroma_ids(settings)


def test_loaded_index_is_cached_and_reloaded_when_the_stamp_changes(settings: Settings, folder: Path) -> None:
    write_article(folder, 1)
    ingest([str(folder)], Engine(settings), progress=False)
    store = store_of(settings)
    first = store.keyword()
    assert store.keyword() is first
    second = store.rebuild()
    assert store.keyword() is second and second.stamp != first.stamp
    kw_dir = keyword.folder_of(settings.index_dir)
    (kw_dir / keyword.CURRENT).write_text(first.stamp)  # another process swapped builds
    reloaded = store.keyword()
    assert reloaded.stamp == first.stamp and reloaded is not first


def test_filters_work_as_a_weight_mask(settings: Settings, tmp_path: Path) -> None:
    rows = [{"url": f"https://{o.lower()}.example/{n}", "source": o, "publish_date": d,
             "title": f"Harbour budget story {n}", "text": f"The harbour budget was debated again, part {n}."}
            for n, (o, d) in enumerate([("Alpha", "2023-10-01"), ("Beta", "2023-10-05"), ("Alpha", "2023-10-09")])]
    rows.append({"url": "https://gamma.example/x", "source": "Gamma", "title": "Undated harbour budget note",
                 "text": "An undated note on the harbour budget."})
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest([str(dump)], Engine(settings), progress=False)
    index = store_of(settings).keyword()

    def outlets_found(**filters: object) -> list[str]:
        found = dict(index.search("harbour budget", 10, lexical.Filters(**filters)))  # type: ignore[arg-type]
        return sorted(str(index.outlets[index.ids.index(i)]) for i in found)

    assert outlets_found() == ["Alpha", "Alpha", "Beta", "Gamma"]
    assert outlets_found(outlet="Alpha") == ["Alpha", "Alpha"]
    assert outlets_found(start=20231002, end=20231009) == ["Alpha", "Beta"]
    assert outlets_found(end=20231004) == ["Alpha", "Gamma"]  # undated passages have no start to fail
    assert outlets_found(asked=(20231004, 20231004, 20231007)) == ["Beta"], "reported within the lag"
    assert index.search("nothing matches zyzzyva", 10) == []
    assert index.outlet_named("alpha") == "Alpha" and index.outlet_named("Nobody") == "Nobody"
    # filters that exclude nothing are dropped before they reach Chroma; the undated row makes a start count
    assert index.narrowing(lexical.Filters(None, 20231009, "Alpha")) == lexical.Filters(None, None, "Alpha")
    assert index.narrowing(lexical.Filters(20231001, 20231005)) == lexical.Filters(20231001, 20231005)
