"""answer(question): retrieve, build sources, generate, verify, return an Answer.

``stream_answer`` is the one implementation: it yields text deltas as they are produced
and the checked ``Answer`` last; ``answer`` just runs it to the end. A model's answer
names the sources it rests on (rag/answer/grounded.py) and is never shown as final unchecked:
unsupported sentences are dropped (strict) or marked. When nothing holds, or nothing that holds
gives what the question asks for (``rag.answer.asked``), whatever the answerer said, the reply is the
fixed refusal with the closest sources.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

from rag.answer import grounded, judge
from rag.answer.asked import answering
from rag.answer.choices import split_alternatives
from rag.answer.citations import check_claims
from rag.answer.claims import disagreement, neutralise
from rag.answer.disputes import contest, disputes
from rag.answer.evidence import MIN_BUDGET, Evidence, gather
from rag.answer.extractive import extract
from rag.query.retrieve import retrieve
from rag.query.timescope import time_scope
from rag.types import Answer, Answerer, Citation, Claim, Hit

if TYPE_CHECKING:
    from rag.engine import Engine

REFUSAL = "Not found in the indexed news."
EMPTY = "Ask a question about the indexed news."
NO_SOURCES = "no passage in the index matches the question and its dates"
NO_QUOTE = "no sentence of the sources gives what the question asks for"
UNSUPPORTED = "no sentence of the model's answer is supported by the sources it cites"
DISPUTED = "the sources disagree about what was asked: both sides are shown"


class EmptyQuestion(ValueError):
    """A blank question: there is nothing to search for, so nothing is answered."""


@dataclass(frozen=True, slots=True)
class Ask:
    """One question and what only this question decides; everything else comes from the Engine's settings.

    ``answerer`` None is the configured one (``RAG_LLM``); ``lenient`` keeps unsupported sentences,
    marked, for this question; ``index`` None is the configured index.
    """

    question: str
    as_of: date
    date_from: date | None = None
    date_to: date | None = None
    outlet: str | None = None
    answerer: Answerer | str | None = None
    lenient: bool = False
    index: str | None = None

    def __post_init__(self) -> None:
        if not self.question.strip():
            raise EmptyQuestion(EMPTY)

    def who(self, engine: Engine) -> Answerer:
        """The answerer this question goes to."""
        return Answerer(self.answerer or engine.settings.answer.llm)

    def strict(self, engine: Engine) -> bool:
        """Whether unsupported sentences are dropped (the setting, unless this question is lenient)."""
        return engine.settings.answer.strict and not self.lenient


@dataclass(frozen=True, slots=True)
class Written:
    """What an answerer produced, checked: the text, its claims, the sources it saw, how it read alternatives."""

    text: str
    claims: list[Claim]
    sources: list[Hit]
    readings: list[list[float]] = field(default_factory=list)
    fallback: str = ""  # why the reply is not what the answerer wrote
    read: str = ""  # the text the answerer read (a model's evidence block; the passages, for quotes)
    signals: dict[str, float] = field(default_factory=dict)  # the answerer's own, for rag.answer.judge

    def refused(self, why: str) -> Written:
        """Nothing kept, and why: the reply becomes the refusal with the closest sources."""
        return Written("", [], self.sources, self.readings, why, self.read, self.signals)


def stream_answer(ask: Ask, engine: Engine) -> Iterator[str | Answer]:
    """Text deltas while the answer is produced, then the checked Answer.

    Its timings say what the asker waited for: ``first_text_ms``, the first words, and ``checked_ms``,
    the checked answer, both counted from the question.
    """
    clock = _Clock()
    started = clock.started
    found = retrieve(ask.question, engine, as_of=ask.as_of, date_from=ask.date_from, date_to=ask.date_to,
                     outlet=ask.outlet, k=_depth(ask, engine), index=ask.index)
    clock.lap("retrieve")
    first = None
    for event in stream_answer_from(ask, found.hits, engine, window=found.window,
                                    timings={**found.timings, **clock.laps}):
        waited = round(1000 * (time.perf_counter() - started), 1)
        if isinstance(event, Answer):
            event.timings |= {"first_text_ms": first or waited, "checked_ms": waited}
        elif first is None and event.strip():
            first = waited
        yield event


def _depth(ask: Ask, engine: Engine) -> int:
    """Passages to retrieve: a model reads sentences gathered from more of them than a quote is chosen from."""
    top_k = engine.settings.retrieval.top_k
    return max(top_k, engine.settings.llm.sources) if ask.who(engine).generative else top_k


def stream_answer_from(ask: Ask, sources: Sequence[Hit], engine: Engine, *,
                       window: tuple[date | None, date | None] = (None, None),
                       timings: dict[str, float] | None = None) -> Iterator[str | Answer]:
    """The answer stage alone, on sources already chosen: what ``stream_answer`` runs after retrieval.

    Public so that a caller holding its own passages (an evaluation set, a pinned document) gets
    exactly the product's answerer and checks, not a copy of them.
    """
    clock = _Clock()
    who, phrase = ask.who(engine), time_scope(ask.question, ask.as_of).phrase
    if who.generative:
        written = yield from _generate(ask, sources, engine, phrase)
    else:
        text, claims = extract(ask.question, sources, phrase, ask.as_of)
        written = Written(text, claims, list(sources), fallback="" if claims else NO_QUOTE if sources else NO_SOURCES,
                          read="\n\n".join(h.text for h in sources))
        yield text
    if written.claims and (reasons := answering(written.claims, ask.question, ask.as_of)):
        written = written.refused(f"what the sources support does not answer the question: {reasons[0]}")
    written, confidence = _judged(written, ask.question, phrase, who.generative, engine.settings.answer.judge)
    written = _disagreements(written, ask.question)
    clock.lap("answer")
    refused = not written.claims
    yield Answer(question=ask.question, text=REFUSAL if refused else written.text, claims=written.claims,
                 sources=written.sources, refused=refused, as_of=ask.as_of, window=window, answerer=who,
                 fallback=written.fallback, evidence=written.read, confidence=confidence, signals=written.signals,
                 timings={**(timings or {}), **clock.laps},
                 choice_readings=written.readings)


def _judged(written: Written, question: str, phrase: str, generative: bool, refuse: bool
            ) -> tuple[Written, float | None]:
    """The answer, or the refusal when it is unlikely to be right (``rag.answer.judge``), and its confidence."""
    if not written.claims:
        return written, None
    stem, choices = split_alternatives(question)
    found = judge.signals(stem, written.text, written.claims, written.sources, phrase) | written.signals
    kind = judge.form(generative, choices)
    written = replace(written, signals=found)
    if refuse and (why := judge.doubtful(kind, found)):
        return written.refused(why), judge.confidence(kind, found)
    return written, judge.confidence(kind, found)


def _disagreements(written: Written, question: str) -> Written:
    """The answer with what other sources say instead, when they state its facts differently.

    Sources that disagree on a figure, a name or a date are never settled silently: each contested
    sentence is followed by the contradicting sentence, quoted and cited, so both sides are shown.
    When the answer states neither side (it quoted another sentence, or found nothing to say), the
    first two sentences on which the sources disagree about what was asked are shown instead: that
    they disagree is the answer a reader needs, better than a refusal.
    """
    claims = contest(written.claims, written.sources, question)
    if not any(c.contested_by for c in claims):
        found = disputes(question, written.sources)
        if not found:
            return written
        shown = claims + [_reported(c, lead=i == 0) for i, c in enumerate(found[0])]
        return Written(render_claims(shown), shown, written.sources, written.readings, DISPUTED)
    shown = []
    noted: set[tuple[int, str]] = set()
    for claim in claims:
        if any((c.n, c.quote) in noted for c in claim.citations):
            continue  # this side is already shown, as what a source reports instead
        shown.append(claim)
        for c in claim.contested_by:
            noted.add((c.n, c.quote))
            shown.append(_reported(c, lead=True))
    return Written(render_claims(shown), shown, written.sources, written.readings, DISPUTED)


def _reported(citation: Citation, lead: bool) -> Claim:
    """What a source says, quoted and cited: one side of a disagreement (the outlet shows on the citation)."""
    quote = neutralise(citation.quote)
    return Claim(disagreement(quote) if lead else f'"{quote}"', [citation], True, judge="quote")


def answer(ask: Ask, engine: Engine) -> Answer:
    """The checked Answer, without streaming."""
    return _last(stream_answer(ask, engine))


def answer_from(ask: Ask, sources: Sequence[Hit], engine: Engine) -> Answer:
    """The checked Answer from given sources, without streaming (retrieval skipped)."""
    return _last(stream_answer_from(ask, sources, engine))


def _last(stream: Iterator[str | Answer]) -> Answer:
    *_, final = stream
    assert isinstance(final, Answer)
    return final


def check(text: str, ask: Ask, engine: Engine) -> Answer:
    """Verify a given answer's [n] citations against the sources the question retrieves."""
    found = retrieve(ask.question, engine, as_of=ask.as_of, date_from=ask.date_from, date_to=ask.date_to,
                     outlet=ask.outlet, k=engine.settings.retrieval.top_k, index=ask.index)
    checked = check_claims(text, found.hits, engine.embedder("query"), engine.verifier(ask.who(engine)))
    return Answer(question=ask.question, text=text, claims=contest(checked, found.hits, ask.question),
                  sources=found.hits, refused=False, as_of=ask.as_of, window=found.window,
                  answerer=Answerer("given"), timings=found.timings)


def _generate(ask: Ask, sources: Sequence[Hit], engine: Engine, phrase: str) -> Generator[str, None, Written]:
    """A model's answer from the evidence block, streamed as written, then checked; only the supported
    claims are kept (strict).

    When the block does not fit the model's context, it is gathered again in half the tokens.
    """
    from rag.answer.llm import ContextOverflow

    if not sources:  # nothing retrieved: nothing to read, and no source number the reply could name
        return Written("", [], [], fallback=NO_SOURCES)
    budget = engine.settings.llm.evidence_tokens
    while True:
        evidence = evidence_for(ask, sources, budget)
        if not evidence.sources:
            return Written("", [], list(sources[: engine.settings.retrieval.top_k]), fallback=NO_QUOTE)
        try:
            claims, readings, found = yield from _model_claims(ask, evidence, engine, phrase)
            break
        except ContextOverflow:
            if budget < 2 * MIN_BUDGET:
                raise
            budget //= 2
    kept = [c for c in claims if c.supported or not ask.strict(engine)]
    if not any(c.supported for c in kept):
        return Written("", [], evidence.sources, readings, UNSUPPORTED, evidence.text, found)
    return Written(render_claims(kept), kept, evidence.sources, readings, read=evidence.text, signals=found)


def evidence_for(ask: Ask, sources: Sequence[Hit], budget: int) -> Evidence:
    """The evidence block a model reads for this question (``rag.answer.evidence``)."""
    stem, choices = split_alternatives(ask.question)
    return gather(stem, sources, budget, choices, time_scope(ask.question, ask.as_of).phrase)


def _model_claims(ask: Ask, evidence: Evidence, engine: Engine, phrase: str
                  ) -> Generator[str, None, tuple[list[Claim], list[list[float]], dict[str, float]]]:
    """Alternatives ranked by the model, or its written answer: the claims to check, the readings, and
    the model's signals for the judgement (how sure it was; whether the extractive quote agrees)."""
    who = ask.who(engine)
    model = engine.generator(who)
    stem, choices = split_alternatives(ask.question)
    if 1 < len(choices) <= len(grounded.LETTERS):
        readings = grounded.choice_readings(model, stem, choices, evidence, ask.as_of)
        chosen = grounded.pick(readings)
        claims = grounded.chosen_claims(choices, chosen, stem, evidence.sources, phrase, ask.as_of)
        yield render_claims(claims)
        return claims, readings, judge.choice_signals(readings, chosen)
    draft = yield from grounded.stream_draft(model, ask.question, evidence, ask.as_of)
    quoted, _ = extract(ask.question, evidence.sources, phrase, ask.as_of)
    found = {"agree": judge.agreement(draft.answer, quoted, ask.question)}
    if draft.logprob is not None:
        found["logprob"] = draft.logprob
    return grounded.draft_claims(draft, evidence.sources, engine.embedder("query"), engine.verifier(who)), [], found


def render_claims(claims: Sequence[Claim]) -> str:
    """Claims back into text, each with its [n] markers."""
    parts = []
    for claim in claims:
        marks = ", ".join(str(c.n) for c in claim.citations)
        parts.append(f"{claim.text.rstrip()} [{marks}]" if marks else claim.text)
    return " ".join(parts)


class _Clock:
    """Milliseconds per stage, for the Answer's timings."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.started = self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[f"{name}_ms"] = round(1000 * (now - self._last), 1)
        self._last = now
