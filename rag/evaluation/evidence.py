"""`newsrag eval evidence`: is the answer in what a model reads, and at what cost in tokens?

For each RealTime QA question, the passages a model's evidence is gathered from are retrieved as the
product retrieves them, and the gold choice is looked for (the free-form rule: 75% of its content
words) in the top four passages as a model read them before (each whole, under its own header) and
in the evidence block at each budget. No model runs: this is what decides the budget before the
model's time is spent, and it costs seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.answer.evidence import tokens
from rag.answer.qa import Ask, evidence_for
from rag.benchmarks.common import percentile
from rag.config import Settings
from rag.evaluation import metrics as m
from rag.evaluation.realtimeqa import load_questions, prepare_index, sampled, week_files
from rag.query.retrieve import retrieve
from rag.types import Hit

PASSAGES_BEFORE = 4  # what a model read before the evidence block: the top four passages, whole


def passages_text(hits: Sequence[Hit]) -> str:
    """The top passages as a model read them before: each under its "[n] outlet | headline | date" line."""
    return "\n\n".join(f"[{n}] {h.outlet} | {h.title} | {h.published}\n{h.text.strip()}" for n, h in enumerate(hits, 1))


def evaluate(root: Path, settings: Settings, *, budgets: Sequence[int], index: str | None = None,
             sample: int | None = None, free: bool = False, nota: bool = False, progress: bool = True
             ) -> dict[str, Any]:
    """Coverage and tokens of the top passages and of the evidence block at each budget, per question."""
    kind = "qa_nota" if nota else "qa"
    files = week_files(root, None, kind)
    questions = [q for q in sampled(load_questions(files, kind), sample)
                 if q.gold_choice is not None and m.content_words(q.choices[q.gold_choice])]
    engine, prepared = prepare_index(files, settings, index, progress)
    depth = max(engine.settings.retrieval.top_k, engine.settings.llm.sources)
    records = []
    for q in tqdm(questions, desc="gathering", unit=" questions", disable=not progress):
        asked = q.asked_free if free else q.asked
        hits = retrieve(asked, engine, as_of=q.as_of, k=depth).hits
        gold = q.choices[q.gold_choice]
        shown = {f"top {PASSAGES_BEFORE} passages": passages_text(hits[:PASSAGES_BEFORE]),
                 f"top {depth} passages": passages_text(hits)}
        shown |= {f"evidence {b}": evidence_for(Ask(asked, as_of=q.as_of), hits, b).text for b in budgets}
        records.append({"id": q.qid, "asked": asked, "gold": gold,
                        "read": {name: {"covered": m.holds_answer(text, gold), "tokens": tokens(text)}
                                 for name, text in shown.items()}})
    return {"suite": "evidence", "data": str(root), "index": engine.settings.index, "index_prepared": prepared,
            "free": free, "nota": nota, "sample": sample, "passages": depth, "summary": summarise(records),
            "records": records}


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per way of reading: the share of questions whose gold is in it, and its tokens (p50, p95)."""
    names = list(records[0]["read"]) if records else []
    return {name: {"coverage": m.rate(r["read"][name]["covered"] for r in records).as_dict(),
                   "tokens_p50": percentile([r["read"][name]["tokens"] for r in records], 50),
                   "tokens_p95": percentile([r["read"][name]["tokens"] for r in records], 95)}
            for name in names}


def markdown(result: dict[str, Any]) -> str:
    """One row per way of reading."""
    asked = "without choices (free form)" if result["free"] else "with choices"
    lines = [f"{len(result['records'])} questions asked {asked}; index `{result['index']}`.", "",
             "| what the model reads | gold named in it | tokens p50 | tokens p95 |", "|---|---:|---:|---:|"]
    for name, row in result["summary"].items():
        cov = row["coverage"]
        lines.append(f"| {name} | {cov['value']:.3f} ({cov['hits']}/{cov['n']}) | {row['tokens_p50']:.0f} | "
                     f"{row['tokens_p95']:.0f} |")
    return "\n".join(lines)
