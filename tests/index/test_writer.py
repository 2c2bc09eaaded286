"""One writer per index across processes: a second ingest waits, and the index ends whole."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rag.config import Settings
from rag.engine import Engine
from rag.index.writer import LOCK, sole_writer
from tests.ingest.test_ingest import assert_consistent, write_article

HOLD = "import sys, time; from pathlib import Path; from rag.index.writer import sole_writer\n" \
       "with sole_writer(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(float(sys.argv[2]))"


def test_an_ingest_waits_for_another_process_writing_the_same_index(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    for n in range(5):
        write_article(folder, n)
    root = tmp_path / "indexes"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root / "shared"), "3"], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    env = {**os.environ, "RAG_INDEX_ROOT": str(root)}
    run = subprocess.run([sys.executable, "-m", "rag", "ingest", str(folder), "--index", "shared", "-q"], env=env,
                         capture_output=True, text=True, timeout=300)
    holder.wait()
    assert run.returncode == 0, run.stderr
    assert f"waiting for another process (pid {holder.pid})" in run.stderr
    assert time.monotonic() - started >= 2.5  # it started writing only once the other let go
    assert_consistent(Engine(Settings(index_root=root, index="shared")).index(), expected_docs=5)


def test_a_write_that_created_nothing_leaves_no_folder(tmp_path: Path) -> None:
    with sole_writer(tmp_path / "never"):
        assert (tmp_path / "never" / LOCK).exists()
    assert not (tmp_path / "never").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "manifest.json").write_text("{}")
    with sole_writer(tmp_path / "kept"):
        pass
    assert (tmp_path / "kept" / "manifest.json").exists()
