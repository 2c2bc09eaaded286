"""Sources that disagree: another article stating an answer's fact differently.

News outlets differ on casualty figures, names and dates, and a planted or stale copy can too. The
answer must not settle that silently: a claim another source contradicts is marked (``contest``), and
when the answer states neither side, the sentences on which the sources disagree are found
(``disputes``) so both can be shown, each quoted and cited.

A contradiction is the same sentence with one fact swapped: most of its words in the same order, a
number where the claim has another number, or a name where it has another name, and no other word of
the claim replaced ("raid" / "strike" is another event, not a dispute). Deliberately narrow: a false
"sources disagree" on every answer would teach people to ignore it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence, Set
from difflib import SequenceMatcher
from functools import lru_cache

from rag.answer.claims import is_instruction
from rag.sentences import STOPWORDS, sentence_spans, terms
from rag.types import Citation, Claim, Hit

# Another source contradicts a claim when one of its sentences repeats this share of the claim's words (or of
# the sentence it rests on), in order, with one of its facts swapped within a run of at most SWAP_WORDS words.
SAME_WORDS = 0.6
SWAP_WORDS = 4
CONTEXT_WORDS = 4
QUESTION_WORDS = 0.5  # a sentence is about the question when it holds half of the question's words
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_ABBREVIATION = re.compile(r"\b(?:[A-Za-z]\.){2,}")


def contest(claims: list[Claim], sources: Sequence[Hit], question: str = "") -> list[Claim]:
    """Mark each supported claim that another source contradicts: ``contested_by`` holds those sentences.

    Another source contradicts a claim when one of its sentences says the same thing (most of the
    claim's other words) with a different figure, name or date in place of one of the claim's. The
    articles a claim cites are never held against it. The facts a question names are what it asks
    about, not what the sources might dispute ("the president of FIFA": "President" is no answer).
    """
    asked = _fact_tokens(question)
    for claim in claims:
        if claim.supported:
            backing = {c.hit.doc_id for c in claim.citations}
            claim.contested_by = [found for n, hit in enumerate(sources, 1) if hit.doc_id not in backing
                                  for found in [_contradiction(claim, n, hit, asked)] if found]
    return claims


def _contradiction(claim: Claim, n: int, hit: Hit, asked: set[str]) -> Citation | None:
    """The sentence of ``hit`` that is the claim, or the sentence it rests on, with one of the claim's facts
    swapped for another of the same kind ("in Tampa" / "in Glendale", "killed 12" / "killed 15")."""
    facts = _fact_tokens(claim.text) - asked
    said = [t for t in [claim.text, *(c.quote for c in claim.citations)] if not _headline(t)]
    for a, b in sentence_spans(hit.text):
        sentence = hit.text[a:b]
        if is_instruction(sentence) or _headline(sentence):
            continue
        if any(_swapped(mine, sentence, facts) for mine in said):
            return Citation(n, hit, sentence, hit.start + a, hit.start + b, 0.0)
    return None


def _swapped(mine: str, theirs: str, facts: Set[str]) -> bool:
    """``theirs`` repeats most of ``mine`` word for word, but where ``mine`` has one of ``facts`` it has
    a different number (for a number) or name (for a name), and no other word of ``mine`` is replaced."""
    (a, _), (b, names) = _parsed(mine), _parsed(theirs)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    if same < CONTEXT_WORDS or same < SAME_WORDS * len(a):
        return False
    swapped = False
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace":
            continue
        gone = [t for t in a[i1:i2] if t in facts]
        new = [t for t in b[j1:j2] if t in names]
        if max(i2 - i1, j2 - j1) <= SWAP_WORDS and any(g[:1].isdigit() == t[:1].isdigit() for g in gone for t in new):
            swapped = True
        elif any(t not in STOPWORDS for t in a[i1:i2]):
            return False  # another word of the claim replaced too ("raid" / "strike"): another event, not a dispute
    return swapped


@lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """A sentence's lower-cased tokens and its facts. Cached: every claim is compared with every sentence of
    every source, and the same sentences come back for each claim."""
    return tuple(t.lower() for t in _tokens(text)), frozenset(_fact_tokens(text))


def _headline(text: str) -> bool:
    """Title Case ("Kansas Preschool Teacher Is the 2020 Teacher of the Year"): every word looks like a name."""
    words = [t for t in _tokens(text) if len(t) > 1 and not t[0].isdigit() and t.lower() not in STOPWORDS]
    return len(words) >= 3 and all(t[0].isupper() for t in words)


def _tokens(text: str) -> list[str]:
    """Words and numbers, accents and abbreviation dots dropped ("U.S." is "US", "Plíšková" is "Pliskova"),
    so that spelling variants of one name are not taken for two names."""
    plain = unicodedata.normalize("NFKD", _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), text))
    found = re.findall(r"\d[\d,.]*\d|\d|[^\W\d_]+", "".join(ch for ch in plain if not unicodedata.combining(ch)))
    return [_NUMBER_WORDS.get(t.lower(), t) for t in found]


def _fact_tokens(text: str) -> set[str]:
    """The numbers and capitalised words (names, places, months) of a text, lower-cased; the first word too,
    since a sentence may open with the very name in question."""
    return {t.lower() for t in _tokens(text) if (t[0].isdigit() or t[0].isupper()) and t.lower() not in STOPWORDS}


def disputes(question: str, sources: Sequence[Hit]) -> list[tuple[Citation, Citation]]:
    """Pairs of sentences from two articles that say the same thing about what the question asks with one
    fact swapped: the sources disagree on the fact asked, whatever the answer quoted."""
    asked = _fact_tokens(question)
    wanted = set(terms(question))
    about = [(n, hit, a, b) for n, hit in enumerate(sources, 1) for a, b in sentence_spans(hit.text)
             if len(wanted & set(terms(hit.text[a:b]))) >= QUESTION_WORDS * len(wanted)
             and not is_instruction(hit.text[a:b]) and not _headline(hit.text[a:b])]
    found: list[tuple[Citation, Citation]] = []
    for i, (n, hit, a, b) in enumerate(about):
        mine = hit.text[a:b]
        for m, other, c, d in about[i + 1:]:
            if other.doc_id != hit.doc_id and _swapped(mine, other.text[c:d], _parsed(mine)[1] - asked):
                found.append((Citation(n, hit, mine, hit.start + a, hit.start + b, 0.0),
                              Citation(m, other, other.text[c:d], other.start + c, other.start + d, 0.0)))
    return found
