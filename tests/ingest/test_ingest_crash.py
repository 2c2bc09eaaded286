"""A process killed with SIGKILL in the middle of an ingest, then run again."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from rag.config import Settings
from rag.index import Index
from tests.ingest.test_ingest import assert_consistent, wait_until_halfway, write_article


def _ingest_cmd(folder: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "rag", "ingest", str(folder), "--index", "crash"]


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_EMBED_BATCH_SIZE": "8", "RAG_WRITE_BATCH": "16"}


def test_killed_ingest_is_completed_by_rerun_without_duplicates(tmp_path: Path) -> None:
    folder, root = tmp_path / "news", tmp_path / "indexes"
    folder.mkdir()
    for n in range(60):
        write_article(folder, n, paragraphs=8)
    proc = subprocess.Popen(_ingest_cmd(folder, root), env=_env(root), stderr=subprocess.PIPE, text=True)
    wait_until_halfway(proc)  # kill once some, not all, passages are written
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    settings = Settings(index_root=root, index="crash")
    assert 0 < len(Index(settings, dimension=384, create=True).doc_states()) < 60, "the kill did not land mid-ingest"

    rerun = subprocess.run(_ingest_cmd(folder, root), env=_env(root), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert_consistent(Index(settings, dimension=384, create=True), expected_docs=60)
    third = subprocess.run(_ingest_cmd(folder, root), env=_env(root), capture_output=True, text=True)
    assert "added 0, updated 0, unchanged 60" in third.stdout
