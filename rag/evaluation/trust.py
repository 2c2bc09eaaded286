"""What a user of a RealTime QA answer gets: is it right, was the answer there to be read, how sure was it.

A multiple-choice run scores whether the answer names the gold choice alone. A free-form run asks the
question as people type it, without choices, and scores whether the answer holds most of the gold
choice's content words (``metrics.holds_answer``). Either way the trust figure is answer precision,
right over answered: a refusal costs an answer, a wrong answer costs trust. Evidence coverage says
whether the gold choice was in the text the answerer read at all, which separates a retrieval miss
from a reading miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rag.answer.evidence import tokens
from rag.answer.judge import DOUBT
from rag.benchmarks.common import percentile
from rag.evaluation import metrics as m

if TYPE_CHECKING:
    from rag.evaluation.realtimeqa import Question
    from rag.types import Answer



def correct(q: Question, text: str, refused: bool) -> bool:
    """The answer names the gold choice and no other. When the gold is "None of the above", an answer naming
    no listed choice is right too (a refusal, or a quote naming the unlisted answer), and naming one is wrong."""
    if q.gold_choice is None:
        return False
    named = [] if refused else m.named_choices(text, q.choices)
    return named in ([], [q.gold_choice]) if q.gold_is_nota else named == [q.gold_choice]


def free_gold(q: Question) -> str | None:
    """The gold choice when free-form scoring can judge it; None when there is none or it has no content
    word ("None of the above": the true answer is not in the files, so no free answer can be checked)."""
    if q.gold_choice is None:
        return None
    gold = q.choices[q.gold_choice]
    return gold if m.content_words(gold) else None


def evidence_text(result: Answer) -> str:
    """The text the answerer read; its numbered passages when the answerer does not report it."""
    return result.evidence or " ".join(h.text for h in result.sources)


def trust_record(q: Question, result: Answer) -> dict[str, Any]:
    """One answer's free-form verdict, whether its evidence held the gold, and its confidence."""
    gold = free_gold(q)
    record: dict[str, Any] = {
        "free_scorable": gold is not None,
        "free_right": gold is not None and not result.refused and m.holds_answer(result.text, gold),
        "covered": None if gold is None else m.holds_answer(evidence_text(result), gold),
        "confidence": result.confidence,
        "signals": result.signals,
        "judged_out": result.fallback.startswith(DOUBT),
    }
    if result.evidence:
        record["evidence_tokens"] = tokens(result.evidence)
    return record


def coverage_figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Evidence coverage over scorable questions, and the evidence's size (p50 tokens) when answerers report it."""
    figures: dict[str, Any] = {
        "evidence_coverage": m.rate(r["covered"] for r in records if r["free_scorable"]).as_dict()}
    tokens = [r["evidence_tokens"] for r in records if "evidence_tokens" in r]
    if tokens:
        figures["evidence_tokens"] = {"p50": percentile(tokens, 50), "n": len(tokens)}
    return figures


def free_figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Free-form right and refused over scorable questions, answer precision over those answered; the
    questions free form cannot score are counted apart, with how often they were refused."""
    scorable = [r for r in records if r["free_scorable"]]
    unscorable = [r for r in records if not r["free_scorable"]]
    return {
        "answer_precision": m.rate(r["free_right"] for r in scorable if not r["refused"]).as_dict(),
        "free_right": m.rate(r["free_right"] for r in scorable).as_dict(),
        "free_refusal": m.rate(r["refused"] for r in scorable).as_dict(),
        "free_unscorable": len(unscorable),
        "free_unscorable_refusal": m.rate(r["refused"] for r in unscorable).as_dict(),
    }


def nota_split(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and refusals apart for questions whose answer is "None of the above" and the others."""
    if not any(r.get("gold_nota") for r in records):
        return {}
    return {"nota": {name: {"accuracy": m.rate(r["mc_correct"] for r in part).as_dict(),
                            "refusal": m.rate(r["refused"] for r in part).as_dict()}
                     for name, part in (("none_of_the_above", [r for r in records if r.get("gold_nota")]),
                                        ("listed_choice", [r for r in records if not r.get("gold_nota")]))}}
