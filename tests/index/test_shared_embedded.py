"""A long-running reader (the chat UI, say) and a separate `newsrag ingest` on the same embedded index:
the reader sees the new articles on its next question, in both the dense and the keyword side."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from rag.config import Settings
from rag.engine import Engine
from rag.ingest.ingest import ingest
from rag.query.retrieve import retrieve
from tests.ingest.test_ingest import write_article


def test_reader_follows_another_processs_ingest(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    settings = Settings(index_root=tmp_path / "indexes", index="shared", embed_model="minilm-int8")
    ingest([str(write_article(first, 1))], Engine(settings), progress=False)
    assert [h.doc_id for h in retrieve("story number 1", Engine(settings), as_of=date(2024, 1, 1)).hits]

    write_article(second, 2, extra="\n\nThe zyxwvut inquiry opened on Tuesday.")
    env = {**os.environ, "RAG_INDEX_ROOT": str(settings.index_root), "RAG_EMBED_MODEL": "minilm-int8"}
    out = subprocess.run([sys.executable, "-m", "rag", "ingest", str(second), "--index", "shared", "-q"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr

    hits = retrieve("zyxwvut inquiry", Engine(settings), as_of=date(2024, 1, 1)).hits
    assert hits and hits[0].doc_id.endswith("article_002.txt") and "zyxwvut" in hits[0].text
    dense_only = retrieve("What happened in district 2 on day 1?", Engine(settings), as_of=date(2024, 1, 1)).hits
    assert any(h.doc_id.endswith("article_002.txt") for h in dense_only)
