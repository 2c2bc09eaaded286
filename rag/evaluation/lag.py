"""How many days after an event its reports appear: what ``Settings.report_lag_days`` should be.

Two readings of an index, both needing no labels beyond RealTime QA's own:

- Reports that name an event by its weekday ("said on Monday") place it within the week before
  they were published; how far back, across every such passage, is how late news of an event comes.
- RealTime QA questions whose window closes before the day they were asked ("on Tuesday", "last
  year") are retrieved with each candidate lag: the gold article's recall at 5 says which lag finds
  the reports without crowding them out.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.engine import Engine
from rag.evaluation import metrics as m

LAGS = (0, 1, 2, 3, 5, 7)


def weekday_lags(engine: Engine) -> dict[str, Any]:
    """Days from a weekday named in a passage ("on Monday", not "last"/"next Monday") to its publication."""
    from rag.query.events import weekdays_named

    counts: Counter[int] = Counter()
    for hit in engine.index().hits():
        if hit.published is not None:
            counts.update((hit.published - day).days for day in weekdays_named(hit.text, hit.published))
    total = sum(counts.values())
    shares = [sum(counts[d] for d in range(day + 1)) / total if total else 0.0 for day in range(7)]
    return {"mentions": total, "by_day": [counts[d] for d in range(7)], "within": [round(s, 3) for s in shares]}


def dated_recall(root: Path, engine: Engine, lags: tuple[int, ...] = LAGS) -> dict[str, Any]:
    """Gold-article recall at 5 of the questions whose window closes before their as-of date, per lag.

    The lag is a setting retrieval reads, so each lag is its own Engine (one per lag, not per question).
    """
    from rag.evaluation.realtimeqa import RECALL_DEPTH, RECALL_PASSAGES, gold_keys, load_questions, week_files
    from rag.query.retrieve import retrieve
    from rag.query.timescope import time_scope

    files = week_files(root, None, "qa")
    questions = [q for q in load_questions(files, "qa") if q.gold_urls
                 and (end := time_scope(q.asked, q.as_of).end) is not None and end < q.as_of]
    keys, _ = gold_keys(questions, engine)
    recall = {}
    for lag in lags:
        lagged = Engine(engine.settings.replace(report_lag_days=lag))
        ranked = [m.ranked_articles(retrieve(q.asked, lagged, as_of=q.as_of, k=RECALL_PASSAGES).hits)[:RECALL_DEPTH]
                  for q in questions]
        ranks = [m.first_rank(r, keys[q.qid]) for r, q in zip(ranked, questions, strict=True)]
        recall[str(lag)] = m.recall_at(ranks, 5).as_dict()
    return {"questions": len(questions), "recall_at_5": recall}


def evaluate(root: Path, settings: Settings, index: str | None = None) -> dict[str, Any]:
    """Both readings over the index ``index`` (which must exist: build it with `newsrag eval realtimeqa`)."""
    engine = Engine(settings.replace(index=index) if index else settings)
    return {"suite": "lag", "data": str(root), "index": engine.settings.index,
            "shipped": settings.retrieval.report_lag_days, "weekday_reports": weekday_lags(engine),
            "dated_questions": dated_recall(root, engine)}


def markdown(result: dict[str, Any], env: dict[str, Any]) -> str:
    """The two readings as tables, under the command and machine that produced them."""
    from rag.evaluation.report import header

    w, d = result["weekday_reports"], result["dated_questions"]
    rows = [*header("Report lag", env),
            f"Reports naming an event by weekday ({w['mentions']} mentions in '{result['index']}'): "
            "share published within N days of it", "", "| N days | " + " | ".join(map(str, range(7))) + " |",
            "|---|" + "---:|" * 7, "| share | " + " | ".join(f"{s:.3f}" for s in w["within"]) + " |", "",
            f"RealTime QA questions whose window closes before their date ({d['questions']}): gold recall@5 by lag "
            f"(shipped: {result['shipped']})", "", "| lag (days) | recall@5 |", "|---:|---:|"]
    rows += [f"| {lag} | {r['value']:.3f} ({r['hits']:.0f}/{r['n']}) |" for lag, r in d["recall_at_5"].items()]
    return "\n".join(rows)
