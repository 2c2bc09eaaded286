"""`newsrag eval rgb FILE`: does the answer follow its sources, and does it notice when they are wrong?

RGB's counterfactual set gives each question its passages, so retrieval is bypassed: the passages
become Hits directly (similarity to the question computed with the project's embedder, as
retrieval would have) and go to the same answerer ``rag.answer.qa`` uses. A temporary index per question
was the alternative; it would measure retrieval as well (and its time window drops RGB's undated
passages whenever a question names a year), while this suite is about the answerer alone.

Three conditions: the ``positive`` passages (accuracy: the answer names the true answer), the
deliberately wrong ``positive_wrong`` ones (does the answer repeat the planted ``fakeanswer``, or
flag the conflict with what is generally known?), and both mixed (the sources disagree: does the
answer say so, citing both sides?).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.config import Settings
from rag.engine import Engine
from rag.evaluation.metrics import rate
from rag.types import Answer, Hit

CONDITIONS = {"positive": "positive", "wrong": "positive_wrong", "mixed": ""}
# RGB's own detection looks for "factual errors"; an answerer may word it otherwise.
CONFLICT = re.compile(r"factual errors?|disagree|incorrect|inaccura|contradict|conflict|inconsistent|not accurate|"
                      r"disput|mistaken|erroneous", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RgbItem:
    """One RGB question: its true answer (alias groups, every group must be named), the planted error
    and both passage sets."""

    rid: str
    query: str
    answers: tuple[tuple[str, ...], ...]
    fake: str
    passages: dict[str, tuple[str, ...]]  # condition -> passages


def answer_groups(value: object) -> tuple[tuple[str, ...], ...]:
    """RGB writes an answer as a string, or a list whose items are strings or lists of aliases."""
    items = value if isinstance(value, list) else [value]
    return tuple(tuple(str(a) for a in item) if isinstance(item, list) else (str(item),) for item in items)


def load_rgb(path: Path) -> list[RgbItem]:
    """RGB rows from a JSON Lines file (the upstream format) or a JSON list."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [RgbItem(rid=str(r["id"]), query=r["query"], answers=answer_groups(r["answer"]), fake=str(r["fakeanswer"]),
                    passages=_conditions(r, wrong_first=i % 2 == 1)) for i, r in enumerate(rows)]


def _conditions(row: dict[str, Any], wrong_first: bool) -> dict[str, tuple[str, ...]]:
    """The true passages, the planted-wrong ones, and both interleaved ("mixed": sources that disagree).

    Which side comes first alternates from question to question, so neither is favoured by rank.
    """
    true, wrong = tuple(row.get("positive") or ()), tuple(row.get("positive_wrong") or ())
    first, second = (wrong, true) if wrong_first else (true, wrong)
    mixed = tuple(p for pair in zip(first, second, strict=False) for p in pair)
    return {"positive": true, "wrong": wrong, "mixed": mixed}


def _plain(text: str) -> str:
    return " ".join(re.sub(r"\[\d+(?:\s*[,;]\s*\d+)*\]", " ", text).casefold().split())


def mentions(text: str, phrase: str) -> bool:
    """Case- and spacing-blind substring, as RGB's own checker does (it also ignores markers here)."""
    return bool(phrase.strip()) and _plain(phrase) in _plain(text)


def has_answer(text: str, groups: Sequence[Sequence[str]]) -> bool:
    """Every part of the answer is named, under any of its aliases."""
    return bool(groups) and all(any(mentions(text, alias) for alias in group) for group in groups)


def flags_conflict(text: str) -> bool:
    """The answer says its sources are wrong or disagree."""
    return bool(CONFLICT.search(text))


def passage_hits(rid: str, condition: str, query: str, passages: Sequence[str], engine: Engine) -> list[Hit]:
    """Given passages as Hits, in the given order, with the similarity retrieval would have given them."""
    if not passages:
        return []
    vectors = engine.embedder().embed([query, *passages])
    return [Hit(chunk_id=f"rgb-{rid}-{condition}-{i}", doc_id=f"rgb:{rid}:{condition}:{i}", text=p, title="",
                outlet=f"RGB passage {i}", url="", published=None, start=0, end=len(p),
                similarity=float(vectors[i] @ vectors[0]))
            for i, p in enumerate(passages, 1)]


def answer_given(question: str, hits: list[Hit], engine: Engine, llm: str) -> Answer:
    """The product's answer stage (``rag.answer.qa.answer_from``) on the given passages."""
    from rag.answer.qa import Ask, answer_from

    return answer_from(Ask(question, as_of=date.today(), answerer=llm), hits, engine)


def judge(item: RgbItem, condition: str, result: Answer) -> dict[str, Any]:
    """One answer's record: right answer, planted error repeated, conflict flagged, refused."""
    text = "" if result.refused else result.text
    return {"id": item.rid, "condition": condition, "query": item.query, "answer": result.text,
            "refused": result.refused, "correct": has_answer(text, item.answers),
            "repeats_error": mentions(text, item.fake), "flags_conflict": flags_conflict(text),
            "timings": result.timings}


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per condition: accuracy, planted error repeated, conflict flagged, refusals; each with its count."""
    out: dict[str, Any] = {}
    for condition in CONDITIONS:
        rows = [r for r in records if r["condition"] == condition]
        out[condition] = {key: rate(r[key] for r in rows).as_dict()
                          for key in ("correct", "repeats_error", "flags_conflict", "refused")}
    return out


def evaluate(path: Path, settings: Settings, *, limit: int | None = None, llm: str | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Answer every question from each passage set (up to ``top_k`` passages, as the product would see)."""
    engine = Engine(settings)
    items = load_rgb(path)[:limit]
    llm = llm or settings.answer.llm
    records = []
    for item in tqdm(items, desc="rgb", unit=" questions", disable=not progress):
        for condition, passages in item.passages.items():
            hits = passage_hits(item.rid, condition, item.query, passages[: settings.retrieval.top_k], engine)
            records.append(judge(item, condition, answer_given(item.query, hits, engine, llm)))
    return {"suite": "rgb", "data": str(path), "llm": llm, "embed_model": settings.ingest.embed_model,
            "top_k": settings.retrieval.top_k, "questions": len(items), "summary": summarise(records),
            "records": records}
