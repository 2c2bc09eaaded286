"""A full disk and a read-only index folder, for real: a small tmpfs mounted in a private mount namespace
(`unshare -rm`, no privileges needed), with the CLI run inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.test_ingest import write_article

CHECK = """
import json, sys
from rag.config import Settings
from rag.index import Index
store = Index(Settings(index="x"))
states = store.doc_states()
complete = all(len(s.present) == 1 and s.complete(next(iter(s.present))) for s in states.values())
expected = sum(next(iter(s.expected.values())) for s in states.values())
print(json.dumps({"docs": len(states), "complete": complete, "count": store.count(), "expected": expected}))
"""


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("news")
    for n in range(40):
        write_article(folder, n, paragraphs=8)
    return folder


def in_namespace(script: str, root: Path) -> list[str]:
    """Run a shell script in a private mount namespace; each step's output is one '\\0'-separated part."""
    root.mkdir(exist_ok=True)
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_EMBED_MODEL": "minilm-int8", "PY": sys.executable}
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert "unshare:" not in out.stderr and "mount:" not in out.stderr, out.stderr
    return (out.stdout + out.stderr).split("\x00")


def test_full_disk_is_named_and_a_rerun_with_space_completes(news: Path, tmp_path: Path) -> None:
    root = tmp_path / "idx"
    parts = in_namespace(f"""
        mount -t tmpfs -o size=1m tmpfs "$RAG_INDEX_ROOT"
        "$PY" -m rag ingest {news} -q --index x 2>&1; echo "rc=$?"; printf '\\0'
        mount -o remount,size=50m "$RAG_INDEX_ROOT"
        "$PY" -m rag ingest {news} -q --index x 2>&1; echo "rc=$?"; printf '\\0'
        "$PY" -c '{CHECK}'
    """, root)
    full, rerun, check = parts
    assert "rc=2" in full and f"No space left for the index at {root}/x" in full and "Free some disk space" in full
    assert "rc=0" in rerun, rerun
    state = json.loads(check)
    assert state["docs"] == 40 and state["complete"] and state["count"] == state["expected"] > 0


def test_read_only_index_is_named(news: Path, tmp_path: Path) -> None:
    root = tmp_path / "idx"
    changed = tmp_path / "changed"
    changed.mkdir()
    write_article(changed, 99)
    parts = in_namespace(f"""
        mount -t tmpfs -o size=50m tmpfs "$RAG_INDEX_ROOT"
        "$PY" -m rag ingest {news} -q --index x 2>&1; echo "rc=$?"; printf '\\0'
        mount -o remount,ro "$RAG_INDEX_ROOT"
        "$PY" -m rag ingest {changed} -q --index x 2>&1; echo "rc=$?"; printf '\\0'
        "$PY" -m rag ingest {changed} -q --index new 2>&1; echo "rc=$?"
    """, root)
    first, read_only, new_index = parts
    assert "rc=0" in first, first
    assert "rc=2" in read_only and f"The index at {root}/x cannot be written" in read_only
    assert "rc=2" in new_index and f"cannot write {root}/new" in new_index and "Read-only file system" in new_index
