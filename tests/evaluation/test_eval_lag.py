"""`newsrag eval lag` on a small RealTime QA-shaped pool written here: how late reports come, recall per lag."""

import json
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.evaluation import lag
from rag.ingest.ingest import ingest
from rag.interfaces.cli import main


def write_week(root: Path) -> None:
    """One week: a report on Thursday of a Tuesday vote (named by weekday), asked about on the Friday."""
    article = {"url": "https://news.example/vote", "publish_date": "2023-01-12", "title": "Council vote",
               "text": "The council voted on Tuesday to close the harbour. Officials said Monday it would reopen."}
    other = {"url": "https://news.example/old", "publish_date": "2023-01-02", "title": "Harbour history",
             "text": "The harbour has been open since 1850 and the council never voted to close it."}
    (root / "20230113_gcs.jsonl").write_text("\n".join(json.dumps(
        {"question_id": "20230113_0", "search_result": [a]}) for a in (article, other)) + "\n")
    (root / "20230113_gold.jsonl").write_text(json.dumps({"question_id": "20230113_0", "search_result": [
        {"url": article["url"], "text": article["text"]}]}) + "\n")
    (root / "20230113_qa.jsonl").write_text(json.dumps({
        "question_id": "20230113_0", "question_date": "2023/01/13",
        "question_sentence": "What did the council vote to close on Tuesday?", "choices": ["Harbour", "School"],
        "answer": ["0"]}) + "\n")


def test_lag_reads_weekday_reports_and_recall_per_lag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "rtqa"
    root.mkdir()
    write_week(root)
    settings = Settings(index_root=tmp_path / "indexes", index="pool")
    assert ingest([str(p) for p in sorted(root.glob("*_gcs.jsonl"))], Engine(settings), progress=False).ok
    result = lag.evaluate(root, settings)
    weekdays = result["weekday_reports"]
    assert weekdays["mentions"] == 2 and weekdays["by_day"][2] == 1 and weekdays["by_day"][3] == 1  # Tue, Mon
    assert weekdays["within"][1] == 0.0 and weekdays["within"][2] == 0.5 and weekdays["within"][6] == 1.0
    dated = result["dated_questions"]
    assert dated["questions"] == 1, "the Tuesday before the Friday it was asked"
    assert dated["recall_at_5"]["0"]["value"] == 1.0, "found by the Tuesday the report names"
    out = tmp_path / "lag.json"
    monkeypatch.setenv("RAG_INDEX_ROOT", str(tmp_path / "indexes"))
    assert main(["eval", "lag", str(root), "--index", "pool", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "newsrag eval lag" in printed and "| 0 | 1.000 (1/1) |" in printed
    assert json.loads(out.read_text())["dated_questions"]["recall_at_5"]["3"]["hits"] == 1
