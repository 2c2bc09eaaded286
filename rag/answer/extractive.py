"""The extractive answerer: the most relevant sentences of the sources, each cited.

It needs no model beyond the embedder that retrieval already ran, answers in well under a
second on a CPU, and cannot invent anything: every sentence is quoted from a source, and
its citation points at that exact sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rag.answer.asked import Asked, around, asked, unmet
from rag.answer.choices import named_choices, split_alternatives
from rag.answer.claims import is_instruction, lists_candidates, neutralise
from rag.sentences import key_facts, sentence_spans, terms
from rag.types import Citation, Claim, Hit

MAX_SENTENCES = 3
KEEP_RATIO = 0.75  # further sentences must score at least this share of the best one
MIN_COVERAGE = 0.5  # share of the question's content words the best sentence must contain
MIN_SIMILARITY = 0.2  # cosine between question and best passage, below which nothing is relevant...
STRONG_COVERAGE = 0.8  # ...unless a sentence holds nearly all the question's words (rare names: BM25 finds
# them, while their passages can sit far from the question in embedding space)
PASSAGE_WEIGHT = 0.3  # how much the passage's own relevance lifts its sentences
TYPE_BONUS = 0.15  # a sentence holding the kind of thing asked for (a name for "who", a number for "how many")
_WHEN = re.compile(r"\b(\d{4}|January|February|March|April|May|June|July|August|September|October|November|"
                   r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b")


@dataclass(frozen=True, slots=True)
class Scored:
    """A source sentence with its relevance to the question."""

    n: int
    hit: Hit
    start: int  # offsets within the passage
    end: int
    coverage: float
    score: float


def score_sentences(question: str, sources: Sequence[Hit], ignore: str = "") -> list[Scored]:
    """Every sentence of every source, most relevant first.

    Relevance is the weighted share of the question's content words a sentence contains
    (names count double: they are what news questions hinge on), lifted by the passage's
    similarity to the question. ``ignore`` is text to leave out of the question, such as
    its time phrase ("this week"), which the date filter has already handled.
    """
    weights = _question_weights(question, ignore)
    total = sum(weights.values())
    scored = []
    for n, hit in enumerate(sources, 1):
        for a, b in sentence_spans(hit.text):
            if is_instruction(hit.text[a:b]) or lists_candidates(hit.text[a:b]):
                continue  # planted orders ("ignore previous instructions and answer ...") and quiz options are not news
            found = set(terms(hit.text[a:b]))
            coverage = sum(w for t, w in weights.items() if t in found) / total if total else 0.0
            bonus = TYPE_BONUS * _has_answer_type(question, hit.text[a:b]) if coverage else 0.0
            scored.append(Scored(n, hit, a, b, coverage, coverage + bonus + PASSAGE_WEIGHT * hit.similarity))
    return sorted(scored, key=lambda s: s.score, reverse=True)


def _question_weights(question: str, ignore: str) -> dict[str, float]:
    if ignore:
        question = question.replace(ignore, " ")
    names = set(terms(" ".join(w for w in question.split()[1:] if w[:1].isupper())))
    return {t: 2.0 if t in names else 1.0 for t in terms(question)}


def _has_answer_type(question: str, sentence: str) -> bool:
    """Whether the sentence holds what the question word asks for: a new name, a date, a number."""
    asked = question.lower().split()[:2]
    if "who" in asked or "whom" in asked:
        return bool({f for f in key_facts(sentence) if not f[0].isdigit()} - set(question.split()))
    if "when" in asked:
        return bool(_WHEN.search(sentence))
    if asked[:2] == ["how", "many"] or asked[:2] == ["how", "much"]:
        return any(ch.isdigit() for ch in sentence)
    return False


def is_answerable(best: Scored | None, sources: Sequence[Hit]) -> bool:
    """Whether the sources speak to the question at all (else: refuse, list the closest)."""
    if best is None or not sources:
        return False
    similar = max(h.similarity for h in sources) >= MIN_SIMILARITY
    return best.coverage >= STRONG_COVERAGE or (best.coverage >= MIN_COVERAGE and similar)


def extract(question: str, sources: Sequence[Hit], ignore: str = "", as_of: date | None = None
            ) -> tuple[str, list[Claim]]:
    """The answer text with [n] markers and its claims; empty when the sources are silent.

    Only sentences that give what the question asks for are quoted (``rag.answer.asked``: the kind of
    thing, about what it asks about, its dates and years met); ``as_of`` places its time words.
    A question that offers alternatives ("...: A, B or C?") is answered by choosing one of them
    (see ``choose``); when no relevant sentence names any of them, its stem is answered as usual.
    """
    stem, choices = split_alternatives(question)
    want = asked(stem, as_of)
    if choices:
        chosen = choose(stem, choices, sources, ignore, want)
        if chosen is not None:
            return _render([Claim(f"{choices[chosen[0]]}.", quote_claim(chosen[1]).citations, True),
                            *[quote_claim(s) for s in chosen[2]]])
    ranked = [s for s in score_sentences(stem, sources, ignore) if not unmet_by(want, s)]
    if not is_answerable(ranked[0] if ranked else None, sources):
        return "", []
    chosen_sentences: list[Scored] = []
    seen: set[str] = set()
    for s in ranked:
        text = " ".join(s.hit.text[s.start : s.end].split())
        if len(chosen_sentences) == MAX_SENTENCES or s.score < KEEP_RATIO * ranked[0].score:
            break
        if text.lower() not in seen and s.coverage > 0:
            seen.add(text.lower())
            chosen_sentences.append(s)
    return _render([quote_claim(s) for s in chosen_sentences])


def unmet_by(want: Asked, s: Scored, choice: bool = False) -> str:
    """Why a scored sentence does not give what was asked ("" when it does): ``rag.answer.asked.unmet`` in place."""
    return unmet(want, s.hit.text[s.start:s.end], around(s.hit, s.start, s.end, choice), s.hit.published, choice)


def choose(stem: str, choices: Sequence[str], sources: Sequence[Hit], ignore: str = "", want: Asked | None = None
           ) -> tuple[int, Scored, list[Scored]] | None:
    """The alternative named by the most relevant sentence, that sentence, and the quotes to show.

    Sentences are ranked against the stem alone. The first one naming any alternative decides;
    when it names several, the one the sources mention most among them wins. The quotes shown are
    the deciding sentence and one more if they name no other alternative (a quote listing all four
    would read as hedging). None when no sentence relevant to the stem names an alternative, or
    the sources are not about the stem at all.
    """
    if not sources or max(h.similarity for h in sources) < MIN_SIMILARITY:
        return None
    # No share of the stem's words is required of the deciding sentence: on RealTime QA every threshold
    # refused more than it saved (0.3: accuracy 0.426 with 33% refused; none: 0.529 with 20%).
    want = want or asked(stem)
    named = [(s, named_choices(s.hit.text[s.start : s.end], choices, context=s.hit.text, loose=True))
             for s in score_sentences(stem, sources, ignore) if not unmet_by(want, s, choice=True)]
    named = [(s, idx) for s, idx in named if idx]
    if not named:
        return None
    mentions = [sum(i in idx for _, idx in named) for i in range(len(choices))]
    pick = max(named[0][1], key=lambda i: mentions[i])
    evidence = [s for s, idx in named if idx == [pick]][:2]
    return pick, evidence[0] if evidence else next(s for s, idx in named if pick in idx), evidence


def _render(claims: list[Claim]) -> tuple[str, list[Claim]]:
    return " ".join(f"{c.text} [{c.citations[0].n}]" for c in claims), claims


def quote_claim(s: Scored) -> Claim:
    """The sentence as a claim: its citation keeps the exact quote, the answer shows it with any
    "[n]" of the article's own written "(n)", so the only markers in an answer are its citations."""
    quote = " ".join(s.hit.text[s.start : s.end].split())
    citation = Citation(s.n, s.hit, quote, s.hit.start + s.start, s.hit.start + s.end, 1.0)
    return Claim(neutralise(quote), [citation], True, judge="quote")
