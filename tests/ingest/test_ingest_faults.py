"""An ingest killed with SIGKILL at ten points across the pipeline, then run again.

Each case starts from the same index of 20 articles and re-ingests their folder after 5 were
changed, 5 deleted and 8 added (`--prune`), in a child process that kills itself at one point:
before anything is written, while writing passages, between writing a new version and dropping
the old, while pruning, and at each step of the keyword index's rebuild. The re-run must leave
exactly the expected documents, each complete, no duplicates or orphans, and a keyword index
whose rows are exactly Chroma's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index, keyword
from rag.ingest.ingest import ingest
from rag.ingest.sources import read_sources
from rag.types import Article
from tests.ingest.test_ingest import assert_consistent, write_article

# point -> (module, function, "before" or "after", which call): the child kills itself there.
POINTS = {
    "read, nothing written": ("rag.ingest.ingest", "_Sorter._classify", "before", 1),
    "chunking": ("rag.ingest.ingest", "chunk_article", "after", 4),
    "marker written, no passage yet": ("rag.index.keyword", "_write_atomic", "after", 1),
    "first group written, old versions kept": ("rag.index.index", "Index.upsert", "after", 1),
    "between two groups": ("rag.index.index", "Index.upsert", "before", 2),
    "some old versions dropped": ("rag.index.index", "Index.drop_other_versions", "after", 3),
    "before pruning": ("rag.index.index", "Index.delete_docs", "before", 1),
    "pruned, keyword not rebuilt": ("rag.index.index", "Index.delete_docs", "after", 1),
    "keyword segment written aside": ("rag.index.keyword", "_save_segment", "after", 1),
    "keyword generation written, not live": ("rag.index.keyword", "_write_atomic", "after", 1),
    "keyword swapped in, marker left": ("rag.index.keyword", "_write_atomic", "after", 2),
}

CHILD = """
import importlib, os, signal, sys
module, name, when, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
owner = importlib.import_module(module)
holder, _, attr = name.rpartition(".")
if holder:
    owner = getattr(owner, holder)
original, calls = getattr(owner, attr), [0]
def wrapped(*args, **kwargs):
    calls[0] += 1
    if when == "before" and calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    if when == "after" and calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, attr, wrapped)
from rag.interfaces.cli import main
sys.exit(main(sys.argv[5:]))
"""

EXPECTED = set(range(15)) | set(range(20, 28))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An index of articles 0-19, and their folder as it is now: 0-4 changed, 15-19 gone, 20-27 new."""
    folder, root = tmp_path_factory.mktemp("news"), tmp_path_factory.mktemp("base")
    for n in range(20):
        write_article(folder, n)
    engine = Engine(Settings(index_root=root, index="f", embed_model="minilm-int8"))
    report = ingest([str(folder)], engine, progress=False)
    assert len(report.added) == 20
    for n in range(5):
        write_article(folder, n, extra="\n\nA correction was appended to this story on Friday.")
    for n in range(15, 20):
        (folder / f"article_{n:03d}.txt").unlink()
    for n in range(20, 28):
        write_article(folder, n)
    return folder, root


def run(folder: Path, root: Path, point: tuple[str, str, str, int] | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_EMBED_MODEL": "minilm-int8", "RAG_WRITE_BATCH": "8"}
    args = ["ingest", str(folder), "--index", "f", "--prune", "-q"]
    cmd = [sys.executable, "-c", CHILD, *map(str, point), *args] if point else [sys.executable, "-m", "rag", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("where", list(POINTS))
def test_killed_at_any_point_then_rerun(base: tuple[Path, Path], tmp_path: Path, where: str) -> None:
    folder, base_root = base
    root = tmp_path / "indexes"
    shutil.copytree(base_root, root)
    killed = run(folder, root, POINTS[where])
    assert killed.returncode == -signal.SIGKILL, f"not killed at {where}: {killed.stderr[-2000:]}"

    rerun = run(folder, root, None)
    assert rerun.returncode == 0, rerun.stderr

    settings = Settings(index_root=root, index="f", embed_model="minilm-int8")
    store = Index(settings)
    assert_consistent(store, expected_docs=len(EXPECTED))
    states = store.doc_states()
    assert {int(Path(doc).stem.split("_")[1]) for doc in states} == EXPECTED
    ids = [hit.chunk_id for hit in store.hits()]
    assert len(ids) == len(set(ids))
    current = {a.doc_id: a.version for a in read_sources(str(folder), settings) if isinstance(a, Article)}
    assert {doc: next(iter(s.present)) for doc, s in states.items()} == current, "a stale version survived"

    folder_kw = keyword.folder_of(store.dir)
    assert not (folder_kw / keyword.STALE).exists(), "the re-run left the keyword index marked stale"
    build = keyword.load_build(folder_kw, keyword.current_stamp(folder_kw) or "")
    assert sorted(build.ids) == sorted(ids), "keyword and dense sides disagree"
    third = run(folder, root, None)
    assert "added 0, updated 0, unchanged 23" in third.stdout
