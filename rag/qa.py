"""answer(question): retrieve, build sources, generate, verify, return an Answer.

``stream_answer`` is the one implementation: it yields text deltas as they are produced
and the checked ``Answer`` last; ``answer`` just runs it to the end. A generated draft
is never shown as final: unsupported sentences are dropped (strict) or marked, an
answer with nothing supported falls back to the extractive one, and when the sources
are silent the reply is the fixed refusal with the closest sources.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from rag.citations import check_claims, neutralise, strip_unknown_markers
from rag.config import Settings
from rag.embedding import get_embedder
from rag.extractive import extract
from rag.retrieve import retrieve
from rag.timescope import time_scope
from rag.types import Answer, Claim, Hit

REFUSAL = "Not found in the indexed news."
NOT_FOUND = "NOT FOUND"  # what the answer prompt tells a model to say


@dataclass(frozen=True, slots=True)
class Ask:
    """One question and how to answer it; the CLI and the UI build this from their inputs."""

    question: str
    as_of: date
    date_from: date | None = None
    date_to: date | None = None
    outlet: str | None = None
    llm: str = "extractive"
    strict: bool = True


def stream_answer(ask: Ask, settings: Settings) -> Iterator[str | Answer]:
    """Text deltas while the answer is produced, then the checked Answer."""
    clock = _Clock()
    found = retrieve(ask.question, settings, as_of=ask.as_of, date_from=ask.date_from, date_to=ask.date_to,
                     outlet=ask.outlet, k=settings.top_k)
    clock.lap("retrieve")
    yield from stream_answer_from(ask, found.hits, settings, window=found.window,
                                  timings={**found.timings, **clock.laps})


def stream_answer_from(ask: Ask, sources: Sequence[Hit], settings: Settings, *,
                       window: tuple[date | None, date | None] = (None, None),
                       timings: dict[str, float] | None = None) -> Iterator[str | Answer]:
    """The answer stage alone, on sources already chosen: what ``stream_answer`` runs after retrieval.

    Public so that a caller holding its own passages (an evaluation set, a pinned document) gets
    exactly the product's answerer and checks, not a copy of them.
    """
    clock = _Clock()
    phrase = time_scope(ask.question, ask.as_of).phrase
    if ask.llm == "extractive":
        (text, claims), used = extract(ask.question, sources, phrase), "extractive"
        yield text
    else:
        draft = yield from _generate(ask, sources, settings)
        clock.lap("generate")
        text, claims, used = _verified(ask, draft, sources, settings, phrase)
    clock.lap("check")
    refused = not claims
    yield Answer(question=ask.question, text=REFUSAL if refused else text, claims=claims, sources=list(sources),
                 refused=refused, as_of=ask.as_of, window=window, answerer=used,
                 timings={**(timings or {}), **clock.laps})


def answer(ask: Ask, settings: Settings) -> Answer:
    """The checked Answer, without streaming."""
    return _last(stream_answer(ask, settings))


def answer_from(ask: Ask, sources: Sequence[Hit], settings: Settings) -> Answer:
    """The checked Answer from given sources, without streaming (retrieval skipped)."""
    return _last(stream_answer_from(ask, sources, settings))


def _last(stream: Iterator[str | Answer]) -> Answer:
    *_, final = stream
    assert isinstance(final, Answer)
    return final


def check(text: str, ask: Ask, settings: Settings) -> Answer:
    """Verify a given answer's [n] citations against the sources the question retrieves."""
    found = retrieve(ask.question, settings, as_of=ask.as_of, date_from=ask.date_from, date_to=ask.date_to,
                     outlet=ask.outlet, k=settings.top_k)
    claims = check_claims(text, found.hits, get_embedder(settings, "query"))
    return Answer(question=ask.question, text=text, claims=claims, sources=found.hits, refused=False,
                  as_of=ask.as_of, window=found.window, answerer="given", timings=found.timings)


def _generate(ask: Ask, sources: Sequence[Hit], settings: Settings) -> Iterator[str]:
    """Stream the model's draft; returns the whole draft."""
    from rag.llm import get_generator
    from rag.prompts import load_prompt

    prompt = load_prompt("answer")
    system, user = prompt.render(question=ask.question, sources=format_sources(sources),
                                 as_of=ask.as_of.isoformat())
    draft = ""
    for delta in get_generator(ask.llm, settings).stream(system, user):
        draft += delta
        yield delta
    return draft


def _verified(ask: Ask, draft: str, sources: Sequence[Hit], settings: Settings, phrase: str
              ) -> tuple[str, list[Claim], str]:
    """Check a draft sentence by sentence; fall back to extraction when nothing holds."""
    cleaned = strip_unknown_markers(draft, len(sources))
    if NOT_FOUND in cleaned.upper() and "[" not in cleaned:
        return "", [], ask.llm
    claims = check_claims(cleaned, sources, get_embedder(settings, "query"))
    kept = [c for c in claims if c.supported or not ask.strict]
    if not any(c.supported for c in kept):
        text, fallback = extract(ask.question, sources, phrase)
        return text, fallback, f"extractive (fallback: nothing {ask.llm} wrote was supported)"
    return render_claims(kept), kept, ask.llm


def render_claims(claims: Sequence[Claim]) -> str:
    """Claims back into text, each with its [n] markers."""
    parts = []
    for claim in claims:
        marks = ", ".join(str(c.n) for c in claim.citations)
        parts.append(f"{claim.text.rstrip()} [{marks}]" if marks else claim.text)
    return " ".join(parts)


def format_sources(sources: Sequence[Hit]) -> str:
    """Numbered source blocks as the model sees them: [n] outlet | headline | date, then the passage.

    Everything but the header is ``neutralise``d and the header's fields are kept on its one line:
    only the real headers start with "[n]", whatever an article (or its headline) contains.
    """
    def one_line(text: str, default: str) -> str:
        return neutralise(" ".join(text.split())) or default

    return "\n\n".join(f"[{n}] {one_line(h.outlet, 'unknown outlet')} | {one_line(h.title, 'untitled')} | "
                       f"{h.published.isoformat() if h.published else 'undated'}\n{neutralise(h.text.strip())}"
                       for n, h in enumerate(sources, 1))


def recency_note(answer: Answer) -> str:
    """How recent the newest source is, relative to the as-of date."""
    newest = answer.newest
    if newest is None:
        return "No dated source."
    days = (answer.as_of - newest).days
    return f"Newest source: {newest.isoformat()} ({days} day{'s' if days != 1 else ''} before {answer.as_of})."


class _Clock:
    """Milliseconds per stage, for the Answer's timings."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[f"{name}_ms"] = round(1000 * (now - self._last), 1)
        self._last = now
