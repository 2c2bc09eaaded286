"""`newsrag eval wice FILE`: the citation checker against human judgements of support (WiCE).

Each WiCE row is a claim, the sentences of the article it cites, and what people judged:
supported, partially supported or not supported. The checker sees exactly what it sees in the
product: the claim with a [1] marker and the cited text as source 1. The task is binary, because
a partly backed sentence must not be shown as supported; a claim is scored by its best row (several
rows carry different evidence sets for one claim), as WiCE scores it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.answer.citations import check_claims
from rag.answer.verify import Verifier
from rag.benchmarks.common import percentile
from rag.config import Settings
from rag.engine import Engine
from rag.evaluation import metrics as m
from rag.index.embedding import Embedder
from rag.types import Hit

LABELS = ("supported", "partially_supported", "not_supported")
# Published on WiCE's held-out split, the same binary reading (Kamoi et al. 2023): F1, balanced accuracy.
ANCHORS = [("GPT-4", 0.61, 0.79), ("T5-3B NLI model", 0.67, 0.83), ("T5-3B trained on WiCE", 0.76, 0.90)]


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim, its human label, and the evidence sets annotators gave for it (one per row)."""

    cid: str
    text: str
    label: str
    evidence: tuple[tuple[str, ...], ...]


def load_wice(path: Path) -> list[Claim]:
    """Rows grouped by claim id, in file order; a label outside WiCE's three is an error naming the row."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if row.get("label") not in LABELS:
                raise ValueError(f"{path}:{number}: label {row.get('label')!r} is not one of {', '.join(LABELS)}")
            grouped[str(row["meta"]["id"])].append(row)
    return [Claim(cid, rows[0]["claim"], rows[0]["label"], tuple(tuple(r["evidence"]) for r in rows))
            for cid, rows in grouped.items()]


def source(sentences: Sequence[str]) -> Hit:
    """The cited article's sentences as source 1, one per line (a line always ends a sentence)."""
    text = "\n".join(" ".join(s.split()) for s in sentences)
    return Hit("wice", "wice", text, "", "", "", None, 0, len(text))


def judge(claim: Claim, embedder: Embedder, verifier: Verifier | None = None) -> dict[str, Any]:
    """The checker's verdict on each row (and who judged it, how sure), the claim's verdict (its best row),
    and the time it took."""
    started = time.perf_counter()
    rows = []
    for evidence in claim.evidence:
        checked = check_claims(f"{claim.text} [1]", [source(evidence)], embedder, verifier)
        rows.append({"supported": bool(checked) and all(c.supported for c in checked),
                     "judge": "+".join(sorted({c.judge for c in checked})),
                     "confidence": min((c.confidence for c in checked), default=0.0)})
    return {"id": claim.cid, "label": claim.label, "rows": rows, "predicted": any(r["supported"] for r in rows),
            "ms": round(1000 * (time.perf_counter() - started), 1)}


def summarise(records: Sequence[dict[str, Any]], said: Sequence[bool] | None = None) -> dict[str, Any]:
    """Precision, recall and F1 of "supported", balanced accuracy, and the verdicts by human label."""
    gold = [r["label"] == "supported" for r in records]
    said = [r["predicted"] for r in records] if said is None else list(said)
    tp = sum(g and p for g, p in zip(gold, said, strict=True))
    precision, recall = m.Rate(tp, sum(said)), m.Rate(tp, sum(gold))
    negatives = m.Rate(sum(not g and not p for g, p in zip(gold, said, strict=True)), len(gold) - sum(gold))
    f1 = 2 * precision.value * recall.value / (precision.value + recall.value) if tp else 0.0
    by_label = {label: m.rate(p for r, p in zip(records, said, strict=True) if r["label"] == label).as_dict()
                for label in LABELS}
    times = [r["ms"] for r in records]
    return {"claims": len(records), "precision": precision.as_dict(), "recall": recall.as_dict(), "f1": f1,
            "balanced_accuracy": (recall.value + negatives.value) / 2 if records else float("nan"),
            "judged_supported_by_label": by_label,
            "ms_per_claim": {"p50": percentile(times, 50), "p95": percentile(times, 95)}}


def best_threshold(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The verifier threshold that maximises F1 on these claims, and the figures it gives: how a threshold
    is calibrated on dev (in-sample here, so an upper bound for other data)."""
    if not any(r["label"] == "supported" for r in records):
        return {}
    def said(record: dict[str, Any], threshold: float) -> bool:
        return any(row["confidence"] >= threshold if row["judge"] == "model" else row["supported"]
                   for row in record["rows"])

    cuts = sorted({round(row["confidence"], 3) for r in records for row in r["rows"] if row["judge"] == "model"})
    scored = [(summarise(records, [said(r, t) for r in records]), t) for t in cuts]
    if not scored:
        return {}
    figures, threshold = max(scored, key=lambda item: item[0]["f1"])
    return {"threshold": threshold, **{k: figures[k] for k in ("precision", "recall", "f1", "balanced_accuracy")}}


def evaluate(path: Path, settings: Settings, *, limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the checker, in the settings' check mode, over the claims; figures and a record per claim."""
    engine = Engine(settings)
    claims = load_wice(path)[:limit]
    embedder = engine.embedder("query")
    verifier = engine.verifier()
    records = [judge(c, embedder, verifier)
               for c in tqdm(claims, desc="checking", unit=" claims", disable=not progress)]
    result = {"suite": "wice", "data": str(path), "mode": "model" if verifier else "fast",
              "verifier": verifier.name if verifier else "", "embed_model": settings.retrieval.query_embed_model,
              "summary": summarise(records), "records": records}
    if verifier:
        result["summary"]["threshold"] = verifier.threshold
        result["summary"]["best_threshold_here"] = best_threshold(records)
    return result
