"""Sentence-aware passages with char offsets into the article body.

Passages are measured in the embedding model's own tokens, so none is silently
truncated by the model, and every passage keeps ``start``/``end`` so a citation can
later highlight the exact span in the article: a passage's text is always
``body[start:end]``, never re-found by searching.

The packing reproduces the boundaries of llama-index 0.14's ``SentenceSplitter``, which
built the existing indexes, on spans instead of strings (three differences, all rare: its
offsets were re-found with ``str.find``, so a passage whose text also occurred earlier
pointed at the earlier copy; it cut a run without spaces into single characters, counted
as a token each; an empty body gave one empty passage):

* units: the whole body if it fits; else its paragraphs (cut before each ``"\\n\\n\\n"``),
  then sentences (``rag.sentences``), then clauses (after ``, . ;``), then words (before
  each space), then single tokens. A unit that fits ``chunk_size`` is kept whole, a larger
  one is cut at the next level down. Units tile the body: a sentence keeps the whitespace
  after it.
* a unit's size is its number of model tokens (WordPiece: whitespace and punctuation split
  words, so counts add up across units), read off one encoding of the whole body.
* greedy packing: units are added while the passage stays within ``chunk_size``; a new
  passage starts with the last whole units of the previous one that together fit in
  ``chunk_overlap``, dropping the oldest of them if the next unit would not fit.
* each passage is trimmed of surrounding whitespace; whitespace-only ones are dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from rag.index.embedding import load_tokenizer
from rag.sentences import sentence_spans, trimmed
from rag.types import Article, Chunk

if TYPE_CHECKING:
    import tokenizers

PARAGRAPH = "\n\n\n"
# a clause: a run without , . ; (or their CJK forms) plus the mark ending it, or a lone mark
_CLAUSE = re.compile(r"[^,.;。？！]+[,.;。？！]?|[,.;。？！]")
_SPACE = re.compile(" ")


class _Unit(NamedTuple):
    start: int
    end: int
    tokens: int


class _Text(NamedTuple):
    """The body with what every cut needs: sentence starts and the model tokens' char offsets."""

    body: str
    sentence_starts: list[int]
    offsets: list[tuple[int, int]]  # (start, end) per token, in order; (n,) sorts before every (n, end)

    def tokens(self, start: int, end: int) -> int:
        """Tokens starting in [start, end): the span's own count when it is cut at a word boundary."""
        return bisect_left(self.offsets, (end,)) - bisect_left(self.offsets, (start,))


def chunk_article(article: Article, chunk_size: int, chunk_overlap: int,
                  tokenizer: tokenizers.Tokenizer | None = None) -> list[Chunk]:
    """Split ``article.body`` into passages whose offsets point back into the body.

    ``tokenizer`` is the embedder's (``Engine.tokenizer()``); without one it is loaded for this call.
    """
    spans = passage_spans(article.body, chunk_size, chunk_overlap, tokenizer)
    body = article.body
    return [
        Chunk(article=article, index=i, start=s, end=e, text=body[s:e], n_chunks=len(spans))
        for i, (s, e) in enumerate(spans)
    ]


def passage_spans(body: str, chunk_size: int, chunk_overlap: int,
                  tokenizer: tokenizers.Tokenizer | None = None) -> list[tuple[int, int]]:
    """(start, end) of each passage of ``body``: at most ``chunk_size`` model tokens each."""
    if chunk_size <= 0 or not 0 <= chunk_overlap <= chunk_size:
        raise ValueError(f"need 0 <= chunk_overlap <= chunk_size and chunk_size > 0, got {chunk_overlap}, {chunk_size}")
    if not body.strip():
        return []
    offsets = (tokenizer or load_tokenizer()).encode(body, add_special_tokens=False).offsets
    sentence_starts = [s for s, _ in sentence_spans(body)] if len(offsets) > chunk_size else []  # else one unit
    text = _Text(body, sentence_starts, offsets)
    spans = [trimmed(body, *span) for span in _pack(_units(text, 0, len(body), chunk_size), chunk_size, chunk_overlap)]
    return [(start, end) for start, end in spans if end > start]


def _units(text: _Text, start: int, end: int, size: int) -> list[_Unit]:
    """``[start, end)`` as consecutive units of at most ``size`` tokens (a lone token may be more)."""
    tokens = text.tokens(start, end)
    if tokens <= size:
        return [_Unit(start, end, tokens)]
    cuts = next((c for cut in _CUTS if (c := cut(text, start, end))), [])
    bounds = [start, *cuts, end]
    units: list[_Unit] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        tokens = text.tokens(a, b)
        if tokens <= size or not cuts:  # nothing left to cut at: an oversized unit, alone in its passage
            units.append(_Unit(a, b, tokens))
        else:
            units.extend(_units(text, a, b, size))
    return units


def _paragraph_cuts(text: _Text, start: int, end: int) -> list[int]:
    """Before each paragraph separator, as ``str.split`` finds them (left to right, no overlap)."""
    cuts = []
    at = text.body.find(PARAGRAPH, start, end)
    while at >= 0:
        if at > start:
            cuts.append(at)
        at = text.body.find(PARAGRAPH, at + len(PARAGRAPH), end)
    return cuts


def _sentence_cuts(text: _Text, start: int, end: int) -> list[int]:
    """At each sentence start but the first: leading whitespace stays with the first sentence."""
    first = bisect_left(text.sentence_starts, start)
    last = bisect_left(text.sentence_starts, end)
    return text.sentence_starts[first + 1 : last]


def _clause_cuts(text: _Text, start: int, end: int) -> list[int]:
    return [m.start() for m in _CLAUSE.finditer(text.body, start, end)][1:]


def _word_cuts(text: _Text, start: int, end: int) -> list[int]:
    """Before each space (a run of spaces gives one-space units, as ``str.split(" ")`` does)."""
    return [m.start() for m in _SPACE.finditer(text.body, start + 1, end)]


def _token_cuts(text: _Text, start: int, end: int) -> list[int]:
    """Before each token (a Hangul syllable's jamo tokens share one char: one cut)."""
    first = bisect_left(text.offsets, (start + 1,))
    last = bisect_left(text.offsets, (end,))
    return sorted({token_start for token_start, _ in text.offsets[first:last]})


_CUTS: tuple[Callable[[_Text, int, int], list[int]], ...] = (
    _paragraph_cuts, _sentence_cuts, _clause_cuts, _word_cuts, _token_cuts,
)


def _pack(units: Sequence[_Unit], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing with whole-unit overlap: (start, end) of each passage, untrimmed."""
    passages: list[tuple[int, int]] = []
    current: list[_Unit] = []
    length = 0
    fresh = True  # the passage holds only units carried over from the previous one (or none)
    for unit in units:
        if length + unit.tokens > size and not fresh:
            passages.append((current[0].start, current[-1].end))
            current = _carried(current, overlap)
            length = sum(u.tokens for u in current)
            fresh = True
        while fresh and current and length + unit.tokens > size:  # make room by dropping the oldest carried
            length -= current.pop(0).tokens
        current.append(unit)
        length += unit.tokens
        fresh = False
    if not fresh:
        passages.append((current[0].start, current[-1].end))
    return passages


def _carried(passage: Sequence[_Unit], overlap: int) -> list[_Unit]:
    """The passage's last units that together fit in ``overlap`` tokens (stopping at the first that does not)."""
    length = 0
    first = len(passage)
    while first > 0 and length + passage[first - 1].tokens <= overlap:
        first -= 1
        length += passage[first].tokens
    return list(passage[first:])
