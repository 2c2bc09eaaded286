"""`newsrag bench load` end to end at a small scale: a real served UI, real sessions, a real upload."""

import json
from pathlib import Path

from rag.benchmarks.load import bench_load
from rag.config import Settings
from tests import SEEDS
from tests.ingest.test_ingest import write_article


def test_sessions_chat_while_news_is_added_or_watched_and_all_of_it_is_searchable(tmp_path: Path) -> None:
    news = tmp_path / "news"
    news.mkdir()
    for n in range(8):  # 3 uploaded, 1 + 2 rounds of 2 published on the watched feed
        write_article(news, n, paragraphs=4)
    out = tmp_path / "load.json"
    report = bench_load([str(news)], Settings(index_root=tmp_path / "unused"), sessions=2, limit=3, minimum=2,
                        baseline_s=1.0, seeds=str(SEEDS), json_out=str(out),
                        interval=3.0, rounds=2, per_round=2)
    figures = json.loads(out.read_text())
    assert figures["quiet"]["errors"] == 0 and figures["ingesting"]["errors"] == 0, report
    assert figures["quiet"]["answered"] >= 4 and figures["ingesting"]["answered"] >= 4
    assert figures["searchable"] == {"found": 3, "total": 3, "missing_sample": []}
    assert "added 3" in figures["ingesting"]["background"]
    assert "p99 ms" in report and "found by their own headline afterwards: 3 of 3" in report
    watched = figures["watching"]
    assert watched["errors"] == 0 and watched["answered"] >= 4, report
    delays = watched["background"]["delays_s"]
    assert len(delays) == 2 and all(d <= 3.0 + 15 for d in delays), report  # an interval, plus the ingest itself
    assert "chat while watching a feed" in report
