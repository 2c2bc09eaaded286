"""`newsrag eval realtimeqa DIR`: RealTime QA weeks asked of the real pipeline, as a user would ask them.

The pool (gold and search-result articles of the chosen weeks) goes into its own index, named
after the weeks it holds; ingestion is idempotent, so a second run (say with another answerer)
re-reads the files but embeds nothing. Each question is asked as of its own date, as the question
sentence followed by its choices (or, with ``free``, the sentence alone), through ``rag.answer.qa.answer``:
the figures are those of the product. How answers are scored is in ``rag.evaluation.trust``.

Retrieval is scored on a deeper ``retrieve`` call with the same question and date (the answer
only sees ``top_k`` passages, too few to count ten distinct articles).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.config import Settings
from rag.engine import Engine
from rag.evaluation import metrics as m
from rag.evaluation.trust import correct, coverage_figures, free_figures, nota_split, trust_record
from rag.types import Article

RECALL_DEPTH = 10  # distinct articles scored for recall@k and MRR
RECALL_PASSAGES = 40  # passages retrieved to find them (articles contribute several passages)
_FILE = re.compile(r"^(?P<week>.+?)_(?P<kind>qa_nota|qa|gold|gcs)$")
NOTA = "none of the above"


@dataclass(frozen=True, slots=True)
class Question:
    """One RealTime QA question with what scoring needs: its gold choice and gold articles."""

    qid: str
    as_of: date
    sentence: str
    choices: tuple[str, ...]
    gold_choice: int | None
    gold_urls: tuple[str, ...]
    gold_texts: tuple[str, ...]

    @property
    def gold_is_nota(self) -> bool:
        """The true answer was removed from the list: "None of the above" is right (the ``--nota`` variants)."""
        return self.gold_choice is not None and self.choices[self.gold_choice].strip().lower() == NOTA

    @property
    def asked(self) -> str:
        """The question as a user types it: "Which city ...: Rome, Paris or Oslo?"."""
        stem = self.sentence.strip().rstrip("?").rstrip()
        if not self.choices:
            return f"{stem}?"
        listed = ", ".join(self.choices[:-1])
        return f"{stem}: {listed} or {self.choices[-1]}?" if listed else f"{stem}: {self.choices[0]}?"

    @property
    def asked_free(self) -> str:
        """The question sentence alone, as typed, ending in "?": what a user asks who has no choices to offer."""
        return f"{self.sentence.strip().rstrip('?').rstrip()}?"


def week_files(root: Path, weeks: Sequence[str] | None = None, questions: str = "qa") -> dict[str, dict[str, Path]]:
    """week id -> {"qa"|"qa_nota"|"gold"|"gcs": path}, the weeks that have ``questions`` files; unknown weeks
    are an error that lists the known ones."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(root.glob("*_*.jsonl")):
        if match := _FILE.match(path.stem):
            found.setdefault(match["week"], {})[match["kind"]] = path
    found = {w: files for w, files in found.items() if questions in files}
    if not found:
        raise ValueError(f"no RealTime QA weeks (*_{questions}.jsonl) in {root}: give the folder of the weekly files")
    missing = sorted(set(weeks or ()) - set(found))
    if missing:
        raise ValueError(f"weeks {', '.join(missing)} not in {root}; it has {', '.join(sorted(found))}")
    return {w: found[w] for w in sorted(weeks or found)}


def _jsonl(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_questions(files: dict[str, dict[str, Path]], questions: str = "qa") -> list[Question]:
    """The questions of the weeks (``questions``: "qa", or "qa_nota" for the "None of the above" variants), in
    file order, each with its gold articles (often none)."""
    found = []
    for paths in files.values():
        gold = {row["question_id"]: row.get("search_result") or [] for row in _jsonl(paths.get("gold"))}
        for row in _jsonl(paths[questions]):
            articles = [a for a in gold.get(row["question_id"], []) if a.get("url")]
            answer = row.get("answer") or []
            found.append(Question(
                qid=row["question_id"], as_of=date.fromisoformat(row["question_date"].replace("/", "-")),
                sentence=row["question_sentence"], choices=tuple(row.get("choices") or ()),
                gold_choice=int(answer[0]) if answer else None,
                gold_urls=tuple(a["url"] for a in articles), gold_texts=tuple(a.get("text") or "" for a in articles),
            ))
    return found


def pool_targets(files: dict[str, dict[str, Path]]) -> list[str]:
    """Each week's search results, then its gold file: the order `newsrag ingest DIR` reads them.

    Where both hold a URL the first read wins. The search-result copy has the headline (gold
    records have none) though its text is sometimes an ad blurb; measured on the dev set, gold
    first gave recall@5 0.727 against 0.773 this way, the headline counting for more.
    """
    return [str(p[k]) for p in files.values() for k in ("gcs", "gold") if k in p]


def index_name(weeks: Sequence[str]) -> str:
    """Says what the index holds: first and last week, how many, and a hash of the exact set."""
    digest = hashlib.sha1(",".join(sorted(weeks)).encode()).hexdigest()[:6]
    return f"rtqa-{min(weeks)}-{max(weeks)}-{len(weeks)}w-{digest}"


def prepare_index(files: dict[str, dict[str, Path]], settings: Settings, index: str | None,
                  progress: bool) -> tuple[Engine, str]:
    """The run's Engine, on the pool's index, and what was done to get it.

    ``index`` naming an existing index reuses it untouched (the pool takes ~20 minutes to embed
    here); otherwise the pool is ingested, which is cheap when nothing changed.
    """
    from rag.index import index_exists
    from rag.ingest.ingest import ingest

    if index and index_exists(named := settings.replace(index=index)):
        return Engine(named), f"reused existing index '{index}'"
    engine = Engine(settings.replace(index=index or index_name(list(files))))
    report = ingest(pool_targets(files), engine, progress=progress)
    return engine, f"ingested into '{engine.settings.index}': {report.summary().splitlines()[0]}"


def gold_keys(questions: Sequence[Question], engine: Engine) -> tuple[dict[str, set[str]], m.Rate]:
    """Article keys that count as each question's gold article, and how many gold articles the index has.

    A gold article whose text is stored under another URL (ingestion keeps one copy of identical
    text) is found through that URL too.
    """
    states = engine.index().doc_states()
    stored = {m.article_key(doc) for doc in states}
    by_content: dict[str, set[str]] = {}
    for doc, state in states.items():
        by_content.setdefault(state.content_key, set()).add(m.article_key(doc))
    keys: dict[str, set[str]] = {}
    present: dict[str, bool] = {}
    for q in questions:
        keys[q.qid] = set()
        for url, text in zip(q.gold_urls, q.gold_texts, strict=True):
            aliases = {m.article_key(url)} | by_content.get(Article("", "", text.strip()).content_key, set())
            keys[q.qid] |= aliases
            present[m.article_key(url)] = bool(aliases & stored)
    return keys, m.rate(present.values())


def ask_one(q: Question, keys: set[str], engine: Engine, llm: str, free: bool = False) -> dict[str, Any]:
    """Answer one question through the product, and score it; retrieval is scored on the text asked."""
    from rag.answer.qa import Ask, answer
    from rag.query.retrieve import retrieve

    asked = q.asked_free if free else q.asked
    started = time.perf_counter()
    result = answer(Ask(asked, as_of=q.as_of, answerer=llm), engine)
    elapsed = round(1000 * (time.perf_counter() - started), 1)
    ranked = m.ranked_articles(retrieve(asked, engine, as_of=q.as_of, k=RECALL_PASSAGES).hits)[:RECALL_DEPTH]
    counts = m.CitationCounts() if result.refused else m.citation_counts(result.text, result.sources,
                                                                         engine.embedder())
    return {
        "id": q.qid, "as_of": q.as_of.isoformat(), "asked": asked, "gold_choice": q.gold_choice,
        "gold_urls": list(q.gold_urls), "gold_rank": m.first_rank(ranked, keys), "ranked": ranked,
        "answer": result.text, "answerer": result.answerer, "refused": result.refused,
        "named": m.named_choices(result.text, q.choices),
        "mc_correct": correct(q, result.text, result.refused), "gold_nota": q.gold_is_nota,
        "citations": asdict(counts), "timings": {**result.timings, "end_to_end_ms": elapsed},
        "choice_readings": result.choice_readings, **trust_record(q, result),
    }


def summarise(records: Sequence[dict[str, Any]], free: bool = False) -> dict[str, Any]:
    """Every figure over its own subset: retrieval over questions with gold articles, answers over questions
    with a gold choice (free form: one it can score), citations over answered questions."""
    ranks = [r["gold_rank"] for r in records if r["gold_urls"]]
    cites = m.citation_rates([m.CitationCounts(**r["citations"]) for r in records if not r["refused"]])
    return {
        "questions": len(records),
        **(free_figures(records) if free else mc_figures(records)),
        "recall": {str(k): m.recall_at(ranks, k).as_dict() for k in (1, 5, 10)},
        "recall_curve": [m.recall_at(ranks, k).value for k in range(1, RECALL_DEPTH + 1)],
        "mrr": m.mrr(ranks).as_dict(),
        "refusal": m.rate(r["refused"] for r in records).as_dict(),
        "citation_recall": cites["recall"].as_dict(),
        "citation_precision": cites["precision"].as_dict(),
        **coverage_figures(records),
        "latency_ms": m.latency([r["timings"] for r in records]),
    }


def mc_figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Multiple choice over questions with a gold choice; answer precision is the accuracy over those
    answered (also kept under its old name, ``mc_accuracy_answered``)."""
    scored = [r for r in records if r["gold_choice"] is not None]
    precision = m.rate(r["mc_correct"] for r in scored if not r["refused"]).as_dict()
    return {
        "answer_precision": precision,
        "mc_accuracy": m.rate(r["mc_correct"] for r in scored).as_dict(),
        "mc_accuracy_answered": precision,
        "mc_baseline_bm25_count": m.rate(r.get("baseline_correct", False) for r in scored).as_dict(),
        **position_bias(scored),
        **nota_split(scored),
    }


def position_bias(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How a model's choices depend on where an alternative is listed, read as asked and over all rotations.

    Over the questions a model read as alternatives: the accuracy of its pick from the order as asked
    (row 0) against the pick from every rotation averaged, and how often each lands on the first half
    of the list, beside how often the gold choice is there.
    """
    from rag.answer.grounded import pick

    read = [r for r in records if r.get("choice_readings")]
    if not read:
        return {}
    first = [pick(r["choice_readings"][:1]) for r in read]
    rotated = [pick(r["choice_readings"]) for r in read]
    half = [len(r["choice_readings"][0]) // 2 for r in read]
    return {"choice_pick": {
        "as_asked_accuracy": m.rate(p == r["gold_choice"] for p, r in zip(first, read, strict=True)).as_dict(),
        "rotated_accuracy": m.rate(p == r["gold_choice"] for p, r in zip(rotated, read, strict=True)).as_dict(),
        "as_asked_first_half": m.rate(p < h for p, h in zip(first, half, strict=True)).as_dict(),
        "rotated_first_half": m.rate(p < h for p, h in zip(rotated, half, strict=True)).as_dict(),
        "gold_first_half": m.rate(r["gold_choice"] < h for r, h in zip(read, half, strict=True)).as_dict(),
    }}


def sampled(questions: Sequence[Question], sample: int | None) -> list[Question]:
    """``sample`` questions spread evenly over the set (every k-th), the same ones on every run."""
    if not sample or sample >= len(questions):
        return list(questions)
    step = len(questions) / sample
    return [questions[int(i * step)] for i in range(sample)]


def evaluate(root: Path, settings: Settings, *, weeks: Sequence[str] | None = None, limit: int | None = None,
             llm: str | None = None, index: str | None = None, progress: bool = True,
             sample: int | None = None, nota: bool = False, free: bool = False) -> dict[str, Any]:
    """Run the suite: prepare the pool's index, ask every question, and return figures and per-question records.

    ``nota`` asks the "None of the above" variants (``*_qa_nota.jsonl``) instead of the plain questions;
    ``free`` asks each question without its choices (no BM25-count baseline then: it picks among choices).
    """
    kind = "qa_nota" if nota else "qa"
    files = week_files(root, weeks, kind)
    questions = sampled(load_questions(files, kind)[:limit], sample)
    llm = llm or settings.answer.llm
    engine, prepared = prepare_index(files, settings, index, progress)
    settings = engine.settings
    keys, in_index = gold_keys(questions, engine)
    baseline = [{}] * len(questions) if free else baseline_records(questions, files, settings)
    records = [ask_one(q, keys[q.qid], engine, llm, free) | extra
               for q, extra in zip(tqdm(questions, desc="asking", unit=" questions", disable=not progress), baseline,
                                   strict=True)]
    return {
        "suite": "realtimeqa", "data": str(root), "weeks": list(files), "llm": llm, "index": settings.index,
        "index_prepared": prepared, "gold_articles_in_index": in_index.as_dict(), "top_k": settings.retrieval.top_k,
        "embed_model": settings.retrieval.query_embed_model, "sample": sample, "nota": nota, "free": free,
        "summary": summarise(records, free), "records": records,
    }


def baseline_records(questions: Sequence[Question], files: dict[str, dict[str, Path]],
                     settings: Settings) -> list[dict[str, bool]]:
    """Per question, whether the BM25-count baseline picks the gold choice (in the same run, on the same pool)."""
    from rag.evaluation.baseline import bm25_choice_counts, pool_articles

    picks = bm25_choice_counts([(q.asked, q.choices) for q in questions], pool_articles(pool_targets(files), settings))
    return [{"baseline_correct": pick is not None and pick == q.gold_choice}
            for q, pick in zip(questions, picks, strict=True)]
