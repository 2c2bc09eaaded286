"""A generative model answering from numbered sources, checkable by construction.

Small models invent, so their output is held to a shape: an answer plus the numbers of the sources
it rests on (a JSON schema the decoder cannot leave). Each sentence of the answer then cites those
sources, and the per-sentence check points every citation at the sentence that says the same, or
rejects the claim. Questions that offer alternatives are not written out at all: the
model's next-token probabilities rank the alternatives, averaged over every rotation of their order
so that no alternative wins by being listed first.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from rag.answer.asked import asked
from rag.answer.choices import named_choices
from rag.answer.citations import check_claims, missing_facts
from rag.answer.claims import neutralise
from rag.answer.evidence import Evidence
from rag.answer.extractive import quote_claim, score_sentences, unmet_by
from rag.answer.llm import Generator as Model
from rag.answer.prompts import load_prompt
from rag.answer.verify import Verifier
from rag.index.embedding import Embedder
from rag.sentences import sentence_spans
from rag.types import Claim, Hit

MAX_SOURCES = 3
LETTERS = "ABCDEFGHIJ"
AGREED = 0.5  # two readings this sure of the same alternative settle it (choice_readings)
_ANSWER_FIELD = re.compile(r'"answer"\s*:\s*"')


@dataclass(frozen=True, slots=True)
class Draft:
    """What the model wrote, parsed: its answer and the sources it named."""

    answer: str
    cited: list[int]  # empty when the reply was cut off or was not the JSON asked for
    logprob: float | None = None  # mean log-probability of the answer's tokens (None: the backend gives none)


def answer_schema(count: int) -> dict:
    """The reply's shape: the answer, then the numbers of the one to three sources it rests on.

    The numbers can only be sources that exist. Asked to quote instead, the 1.5B model paraphrased
    its quotes; held to each source's own sentences, it picked the wrong ones while its answers were
    right. So the model names its sources and the check finds the sentence there that says the same.
    """
    cited = {"type": "array", "minItems": 1, "maxItems": min(MAX_SOURCES, count),
             "items": {"type": "integer", "enum": list(range(1, count + 1))}}
    return {"type": "object", "properties": {"answer": {"type": "string"}, "sources": cited},
            "required": ["answer", "sources"], "additionalProperties": False}


def stream_draft(model: Model, question: str, evidence: Evidence, as_of: date) -> Generator[str, None, Draft]:
    """Stream the answer field's text as the model writes it; return the parsed Draft."""
    system, user = load_prompt("answer").render(question=question, sources=evidence.text, as_of=as_of.isoformat())
    raw, shown = "", ""
    for delta in model.stream(system, user, answer_schema(len(evidence.sources))):
        raw += delta
        text = partial_answer(raw)
        if len(text) > len(shown) and text.startswith(shown):
            yield text[len(shown):]
            shown = text
    draft = parse_draft(raw, len(evidence.sources))
    return replace(draft, logprob=answer_logprob(getattr(model, "last_logprobs", [])))


def openings() -> list[tuple[str, str]]:
    """The prompts a model is warmed with: each prompt's fixed opening (instructions, then the sources'
    start), which every question's prompt shares and llama.cpp's cache then keeps read."""
    empty = {"question": "", "sources": "", "as_of": ""}
    return [load_prompt("choose").render(**empty, options=""), load_prompt("answer").render(**empty)]


def answer_logprob(tokens: Sequence[tuple[str, float]]) -> float | None:
    """Mean log-probability of the tokens inside the reply's "answer" string: the model's certainty of
    what it said, not of the JSON around it (which the grammar forces)."""
    raw, inside = "", []
    for token, logprob in tokens:
        if len(partial_answer(raw + token)) > len(partial_answer(raw)):
            inside.append(logprob)
        raw += token
    return sum(inside) / len(inside) if inside else None


def partial_answer(raw: str) -> str:
    """The "answer" string of a JSON reply still being written, decoded as far as it safely goes.

    An escape cut off mid-way, or the first half of a surrogate pair, waits for the rest; an escape
    that is not JSON (a server ignoring the schema) ends the text there rather than the stream.
    """
    match = _ANSWER_FIELD.search(raw)
    if not match:
        return ""
    body = raw[match.end():]
    end = next((i for i, ch in enumerate(body) if ch == '"' and _unescaped(body, i)), len(body))
    text = body[:end]
    for cut in (len(text), *range(len(text) - 1, max(len(text) - 12, -1), -1)):
        try:
            decoded = json.loads(f'"{text[:cut]}"')
        except ValueError:
            continue
        return decoded if not (decoded and "\ud800" <= decoded[-1] <= "\udbff") else decoded[:-1]
    return ""


def _unescaped(text: str, i: int) -> bool:
    """Whether the character at ``i`` is preceded by an even number of backslashes."""
    slashes = len(text[:i]) - len(text[:i].rstrip("\\"))
    return slashes % 2 == 0


def parse_draft(raw: str, count: int) -> Draft:
    """The answer and the valid source numbers; a reply that is not the JSON asked for keeps its answer only."""
    try:
        reply = json.loads(raw)
    except json.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict):
        return Draft(partial_answer(raw).strip(), [])
    numbers = reply.get("sources") if isinstance(reply.get("sources"), list) else []
    cited = [n for n in dict.fromkeys(numbers) if isinstance(n, int) and 1 <= n <= count][:MAX_SOURCES]
    return Draft(str(reply.get("answer") or "").strip(), cited)


def draft_claims(draft: Draft, sources: Sequence[Hit], embedder: Embedder, verifier: Verifier | None = None
                 ) -> list[Claim]:
    """Each sentence of the answer, checked against the sources the model named.

    The check points the claim at the sentence of the named sources that best says the same, and only
    that sentence is cited (a source named for the answer need not hold every sentence of it). Small
    models often name a neighbouring passage of the right article: a sentence the named sources do
    not support is checked against every source, and cites only the one whose sentence supports it.
    """
    if not draft.answer:
        return []
    if not draft.cited:  # cut off before its source numbers, or not the JSON asked for: try every source
        answer = neutralise(draft.answer)
        every = "".join(f"[{n}]" for n in range(1, len(sources) + 1))
        return [_recited(Claim(s, [], False, "no source says this"), every, sources, embedder, verifier)
                for s in [answer[a:b].strip() for a, b in sentence_spans(answer)] or [answer]]
    answer = neutralise(draft.answer)
    sentences = [answer[a:b].strip() for a, b in sentence_spans(answer)] or [answer]
    named = "".join(f"[{n}]" for n in draft.cited)
    claims = check_claims(" ".join(f"{s} {named}" for s in sentences), sources, embedder, verifier)
    every = "".join(f"[{n}]" for n in range(1, len(sources) + 1))
    return [_best_cited(claim) if claim.supported else _recited(claim, every, sources, embedder, verifier)
            for claim in claims]


def _recited(claim: Claim, every: str, sources: Sequence[Hit], embedder: Embedder, verifier: Verifier | None
             ) -> Claim:
    found = check_claims(f"{claim.text} {every}", sources, embedder, verifier)
    if len(found) != 1 or not found[0].supported:
        return claim
    return _best_cited(found[0])


def _best_cited(claim: Claim) -> Claim:
    """The claim citing the sentence that supports it, and only those other sources that state a figure or
    name of it the first lacks: the check points each other source it was given at that source's first
    sentence (support 0), which says nothing of the claim, but a fact it found there must stay cited."""
    best = max(claim.citations, key=lambda c: c.support)
    kept = [best]
    for other in claim.citations:
        if other is not best and len(missing_facts(claim.text, [c.hit for c in [*kept, other]])) < len(
                missing_facts(claim.text, [c.hit for c in kept])):
            kept.append(other)
    return replace(claim, citations=kept)


def choice_readings(model: Model, stem: str, choices: Sequence[str], evidence: Evidence,
                    as_of: date) -> list[list[float]]:
    """The model's probability of each alternative (in the order asked) under every rotation of their order.

    Read as one letter, a small model favours the first options it is shown; rotating the list puts
    every alternative in every position once, so averaging cancels that preference. The sources come
    before the options, so after the first call the prompt cache leaves one short step per rotation.
    Row 0 is the order as asked: what a single reading would have chosen. When the first two readings
    pick the same alternative, each at more than ``AGREED``, the rest are not read: on the dev sets that
    changed no pick and no judgement, and saved a tenth of the readings.
    """
    prompt = load_prompt("choose")
    context = evidence.text
    count = len(choices)
    readings: list[list[float]] = []
    for shift in range(count):
        if len(readings) == 2 and _agreed(readings):
            break
        order = [(j + shift) % count for j in range(count)]
        options = "\n".join(f"{LETTERS[j]}. {choices[i]}" for j, i in enumerate(order))
        system, user = prompt.render(question=stem, sources=context, options=options, as_of=as_of.isoformat())
        shares = letter_shares(model.next_token(system, user), count)
        reading = [0.0] * count
        for j, i in enumerate(order):
            reading[i] = shares[j]
        readings.append(reading)
    return readings


def _agreed(readings: Sequence[Sequence[float]]) -> bool:
    """Whether every reading's likeliest alternative is the same one, each above ``AGREED``."""
    tops = {max(range(len(r)), key=r.__getitem__) for r in readings}
    return len(tops) == 1 and all(r[next(iter(tops))] > AGREED for r in readings)


def pick(readings: Sequence[Sequence[float]]) -> int:
    """The alternative with the highest mean log-probability over the readings."""
    means = [sum(math.log(max(r[i], 1e-9)) for r in readings) / len(readings) for i in range(len(readings[0]))]
    return means.index(max(means))


def letter_shares(logprobs: dict[str, float], count: int) -> list[float]:
    """Probability of each of the first ``count`` letters as the next token, normalised over them."""
    mass = [0.0] * count
    for token, logprob in logprobs.items():
        letter = token.strip().rstrip(".):")  # capitals only: "a" is an article, not option A
        if len(letter) == 1 and letter in LETTERS[:count]:
            mass[LETTERS.index(letter)] += math.exp(logprob)
    total = sum(mass)
    return [m / total for m in mass] if total > 0 else [1.0 / count] * count


def chosen_claims(choices: Sequence[str], chosen: int, stem: str, sources: Sequence[Hit], ignore: str = "",
                  as_of: date | None = None) -> list[Claim]:
    """The alternative as the answer, cited at the most relevant sentence that names it and is about what
    the stem asks (``rag.answer.asked``), and that quote: one naming no other alternative, when there is one
    (a quote naming two reads as hedging).

    When no such sentence names the alternative, the claim cites nothing and the check refuses it.
    """
    want = asked(stem, as_of)
    named = [(s, named_choices(s.hit.text[s.start:s.end], choices, context=s.hit.text, loose=True))
             for s in score_sentences(stem, sources, ignore)]
    naming = sorted(((s, idx) for s, idx in named if chosen in idx and not unmet_by(want, s, choice=True)),
                    key=lambda pair: pair[1] != [chosen])
    answer = f"{neutralise(choices[chosen])}."
    if not naming:
        return [Claim(answer, [], False, "no source names this alternative")]
    deciding = quote_claim(naming[0][0])
    return [Claim(answer, deciding.citations, True), deciding]
