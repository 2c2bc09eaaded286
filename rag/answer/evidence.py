"""Evidence for a model to read: the sentences that matter, from many articles, within a token budget.

Four whole passages hold the answer for too few questions (the gold choice is named in the top four
for 0.58 of the RealTime QA dev questions, in the top ten for 0.64), and most of their words are
beside the point, while every token a model reads costs time on a CPU. So the model reads the
sentences most relevant to the question from the top passages, each with the sentence before it
when that is where its subject is named, grouped under their article's header (outlet, headline,
date) written once. For a question offering alternatives, the most relevant sentence naming each
alternative comes first, so the model can weigh every option on what the sources say of it.

The numbers the model cites ("[n]") are passages, as before: the citation check reads the whole
passage, so a claim is still pointed at the exact sentence that supports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.choices import named_choices
from rag.answer.claims import neutralise
from rag.answer.extractive import Scored, score_sentences
from rag.sentences import sentence_spans
from rag.types import Hit

# Qwen2.5's tokenizer on English news: 4.3 characters a token, measured on the dev pool's evidence
# blocks against llama.cpp's own prompt count; rounded down, so a budget is not overrun.
CHARS_PER_TOKEN = 4.0
RANK_WEIGHT = 0.25  # a sentence of the n-th passage gains RANK_WEIGHT / n: retrieval's order knows more than words
MIN_BUDGET = 128  # the least evidence worth reading: a few sentences
MAX_SENTENCE_TOKENS = 90  # a longer "sentence" is scraped page text without stops: it would eat the budget
# a sentence opening with one of these names its subject in the sentence before
_CARRIED = frozenset("he she it they his her its their this that these those".split())


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a model reads: the block, the passages it numbers 1..n, and its length in tokens."""

    text: str
    sources: list[Hit]
    tokens: int


def tokens(text: str) -> int:
    """Model tokens a text costs, estimated (counting exactly would need the model loaded)."""
    return int(len(text) / CHARS_PER_TOKEN) + 1


def gather(stem: str, hits: Sequence[Hit], budget: int, choices: Sequence[str] = (), ignore: str = "") -> Evidence:
    """The evidence block for a question: relevant sentences of ``hits`` within ``budget`` tokens.

    ``stem`` is the question without its alternatives, ``choices`` the alternatives (if any), and
    ``ignore`` its time phrase (the date filter has handled it).
    """
    ranked = sorted((s for s in score_sentences(stem, hits, ignore) if s.coverage > 0),
                    key=lambda s: s.score + RANK_WEIGHT / s.n, reverse=True)
    chosen: dict[int, set[tuple[int, int]]] = {}
    used = 0
    for s in [*_naming_each(ranked, choices), *ranked]:
        spans = _with_subject(s)
        new = [sp for sp in spans if sp not in chosen.get(s.n, set())]
        cost = sum(tokens(s.hit.text[a:b]) + 1 for a, b in new) + (0 if s.n in chosen else _header_cost(s.hit))
        if not new or tokens(s.hit.text[s.start:s.end]) > MAX_SENTENCE_TOKENS or used + cost > budget:
            continue
        chosen.setdefault(s.n, set()).update(new)
        used += cost
    return _render(hits, chosen)


def _naming_each(ranked: Sequence[Scored], choices: Sequence[str]) -> list[Scored]:
    """The most relevant sentence naming each alternative (none for an alternative no sentence names)."""
    if not choices:
        return []
    first: dict[int, Scored] = {}
    for s in ranked:  # so the first sentences found come first
        for i in named_choices(s.hit.text[s.start:s.end], choices, context=s.hit.text, loose=True):
            first.setdefault(i, s)
    return list(first.values())


def _with_subject(s: Scored) -> list[tuple[int, int]]:
    """The sentence with the one after it (answers often follow the sentence that names the question's
    words), and the one before it when the sentence names its subject only by a pronoun."""
    spans = sentence_spans(s.hit.text)
    here = next((i for i, (a, b) in enumerate(spans) if a <= s.start < b), None)
    if here is None:
        return [(s.start, s.end)]
    words = s.hit.text[s.start:s.end].split()
    before = [spans[here - 1]] if here and words and words[0].lower().strip("\"'“‘(") in _CARRIED else []
    return [*before, spans[here], *spans[here + 1:here + 2]]


def _header(hit: Hit) -> str:
    def one_line(text: str, default: str) -> str:
        return neutralise(" ".join(text.split())) or default

    when = hit.published.isoformat() if hit.published else "undated"
    return f"## {one_line(hit.outlet, 'unknown outlet')} | {one_line(hit.title, 'untitled')} | {when}"


def _header_cost(hit: Hit) -> int:
    return tokens(_header(hit)) + 1


def _render(hits: Sequence[Hit], chosen: dict[int, set[tuple[int, int]]]) -> Evidence:
    """Passages renumbered in reading order, grouped by article, the most relevant first (small models
    weigh what they read first), each passage's sentences in text order, "..." where some were left out."""
    articles: dict[str, list[int]] = {}
    for n in chosen:  # in the order first chosen: the passage holding the most relevant sentence first
        articles.setdefault(hits[n - 1].doc_id, []).append(n)
    blocks, sources = [], []
    for numbers in articles.values():
        lines = [_header(hits[numbers[0] - 1])]
        for n in numbers:
            sources.append(hits[n - 1])
            lines.append(f"[{len(sources)}] {_excerpt(hits[n - 1], sorted(chosen[n]))}")
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    return Evidence(text, sources, tokens(text))


def _excerpt(hit: Hit, spans: Sequence[tuple[int, int]]) -> str:
    parts, last = [], None
    for a, b in spans:
        if last is not None and hit.text[last:a].strip():
            parts.append("...")
        parts.append(" ".join(hit.text[a:b].split()))
        last = b
    return neutralise(" ".join(parts))
