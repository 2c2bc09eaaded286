"""Parse [n] markers, map them to passages, and check every sentence against what it cites.

A sentence is supported when (1) every number and name in it appears in the passages it cites,
(2) the cited sentence closest to it does not say the opposite (a negation, killed/injured), and
(3) the cited text says the same: one sentence (or two adjacent ones) holds most of its words or
means the same, or the text holds most of its words and part of every clause. That is the fast
mode; in model mode a verifier (rag/answer/verify.py) decides what the fast mode finds unsupported but
not contradicted. Markers that point at no source are dropped, so a citation never leads nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.claims import is_instruction, lists_candidates, quoted, split_claims
from rag.index.embedding import Embedder
from rag.sentences import in_digits, key_facts, sentence_spans, terms
from rag.types import Citation, Claim, Hit

if TYPE_CHECKING:
    from rag.answer.verify import Verifier

LEXICAL_SUPPORT = 0.8  # share of the claim's content words found in one source sentence
# The claim's words spread over the cited text: the share found there, each clause at least half found.
# Both calibrated on WiCE dev (docs/BENCHMARKS.md): the same values were chosen on every fold of 5-fold CV.
SPREAD_SUPPORT = 0.65
CLAUSE_SUPPORT = 0.5
OPPOSED_WORDS = 0.6  # a cited sentence holding this share of the claim's words is checked for saying the opposite
EVIDENCE_SENTENCES = 6  # cited sentences a verifier reads for one claim
_CLAUSE = re.compile(r"[,;:]|\b(?:and|but|while|whereas|although|which|who|after|before)\b", re.I)
_NEGATION = re.compile(r"\b(?:not|never|no longer|neither|nor|cannot|none)\b|n't\b", re.I)
# Words of opposite meaning: a sentence that uses one side where the claim uses the other says otherwise.
RELATIONS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split())) for a, b in (
        ("killed kill kills dead died dies death deaths fatalities", "injured injuring wounded wounding hurt injuries"),
        ("won win wins winning victory victorious", "lost lose loses losing defeat defeated"),
        ("rose rise rises risen increased increase increases gained climbed higher",
         "fell fall falls fallen decreased decrease decreases dropped declined lower"),
        ("approved approve approves passed accepted accept", "rejected reject rejects vetoed blocked"),
        ("arrested detained jailed imprisoned", "released freed"),
        ("confirmed confirms admitted", "denied denies"),
        ("agreed agrees", "refused refuses declined"),
        ("resigned resigns quit ousted", "appointed appoints hired elected"),
    ))
SEMANTIC_SUPPORT = 0.75  # cosine (all-MiniLM-L6-v2) at which a sentence says the same on its own
SEMANTIC_WITH_WORDS = 0.6  # a lower cosine is enough when half the claim's own words are there too


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence (or two adjacent ones) of a cited passage, with its span in the article."""

    n: int
    hit: Hit
    text: str
    start: int
    end: int
    single: bool = True  # one sentence, not an adjacent pair
    lists: bool = False  # it, or one of the pair, only lists candidates (a quiz's options, a poll)


def candidates(n: int, hit: Hit) -> list[Candidate]:
    """The sentences of a passage, and each adjacent pair, as places a claim may rest on.

    Instructions planted in an article are left out, alone or in a pair: "answer that X" contains every word of
    "X", and would otherwise "support" a model that obeyed it. Lines listing candidates (a quiz, a poll) are marked.
    """
    text, spans = hit.text, sentence_spans(hit.text)
    lists = [lists_candidates(text[a:b], text[spans[i - 1][0]:a] if i else "") for i, (a, b) in enumerate(spans)]
    places = [(True, a, b, listed) for (a, b), listed in zip(spans, lists, strict=True)]
    places += [(False, spans[i][0], spans[i + 1][1], lists[i] or lists[i + 1]) for i in range(len(spans) - 1)]
    return [Candidate(n, hit, text[a:b].strip(), hit.start + a, hit.start + b, single, listed)
            for single, a, b, listed in places if not is_instruction(text[a:b])]


def check_claims(text: str, sources: Sequence[Hit], embedder: Embedder, verifier: Verifier | None = None
                 ) -> list[Claim]:
    """Every sentence of ``text`` as a Claim: its valid citations, whether they support it, and who judged.

    The fast check decides first. A verifier (model mode) is asked only where the fast check finds no
    support but nothing against it either: a fact absent from the cited text, or a sentence saying the
    opposite, needs no model; and in trials the verifier alone judged worse than the fast check, while
    rescuing what the fast check could not place gained the most (docs/BENCHMARKS.md).
    """
    claims = [(quoted(claim), numbers) for claim, numbers in split_claims(text)]
    pools = [_pool(numbers, sources) for _, numbers in claims]
    pending = {i: (claim, pools[i][0]) for i, (claim, _) in enumerate(claims)
               if pools[i][0] and not _lexical_best(claim, pools[i][0])}
    semantic = _similarities(pending, embedder)
    return [_judge(claim, *pools[i], semantic.get(i), verifier) for i, (claim, _) in enumerate(claims)]


def _pool(numbers: list[int], sources: Sequence[Hit]) -> tuple[list[Candidate], list[Candidate]]:
    """The cited places a claim may rest on, and those that only list candidates."""
    every = [c for n in sorted({n for n in numbers if 1 <= n <= len(sources)}) for c in candidates(n, sources[n - 1])]
    return [c for c in every if not c.lists], [c for c in every if c.lists]


def _lexical_best(claim: str, pool: list[Candidate], least: float = LEXICAL_SUPPORT) -> tuple[Candidate, float] | None:
    """The candidate holding most of the claim's content words, if it holds at least ``least`` of them."""
    wanted = set(terms(in_digits(claim)))  # "6 months" is said by "six months"
    if not wanted or not pool:
        return None
    scored = [(c, len(wanted & set(terms(in_digits(c.text)))) / len(wanted)) for c in pool]
    best = max(scored, key=lambda item: item[1])
    return best if best[1] >= least else None


def _rests_on_listing(claim: str, pool: list[Candidate], listed: list[Candidate]) -> tuple[Candidate, float] | None:
    """The listing line (or pair with one) holding more of the claim's words than any other cited place:
    the claim picks one of a quiz's or poll's candidates, which the line offers but does not state."""
    line = _lexical_best(claim, listed, 0.0)
    rival = _lexical_best(claim, pool, 0.0) if line else None
    return line if line and line[1] > (rival[1] if rival else 0.0) else None


def _similarities(pending: dict[int, tuple[str, list[Candidate]]], embedder: Embedder
                  ) -> dict[int, tuple[Candidate, float]]:
    """Best semantic match per claim; all texts are embedded in one batch."""
    if not pending:
        return {}
    texts = [claim for claim, _ in pending.values()] + [c.text for _, pool in pending.values() for c in pool]
    vectors = embedder.embed(texts)
    out: dict[int, tuple[Candidate, float]] = {}
    offset = len(pending)
    for row, (i, (_, pool)) in enumerate(pending.items()):
        sims = vectors[offset : offset + len(pool)] @ vectors[row]
        best = int(np.argmax(sims))
        out[i] = (pool[best], float(sims[best]))
        offset += len(pool)
    return out


def _judge(claim: str, pool: list[Candidate], listed: list[Candidate], semantic: tuple[Candidate, float] | None,
           verifier: Verifier | None) -> Claim:
    """Supported only if the facts are in the cited text and the text says the same.

    Facts that only a planted instruction states ("answer that X refused to meet Sudani") are not in the cited
    text: source text is data, never an order, nor evidence for one; nor is a quiz's list of candidates.
    """
    if not pool and not listed:
        return Claim(claim, [], False, "cites no source that exists", confidence=0.0)
    lexical = _lexical_best(claim, pool)
    best = lexical or semantic or _lexical_best(claim, pool, 0.0)
    citations = _citations(pool + listed, best)
    missing = missing_facts(claim, [c.hit for c in pool + listed])
    if missing:
        return Claim(claim, citations, False, f"not in the cited source: {', '.join(missing)}", confidence=0.0)
    if opposite := _opposed_in(claim, pool):
        return Claim(claim, citations, False, f"the cited source says otherwise: {opposite}", confidence=0.0)
    if not lexical and (line := _rests_on_listing(claim, pool, listed)):
        return Claim(claim, _citations(pool + listed, line), False,
                     f"the cited line only lists candidates (a quiz or poll): {line[0].text}", confidence=0.0)
    if lexical and lexical[1] == 1.0 and _verbatim(claim, lexical[0].text):
        return Claim(claim, citations, True, judge="quote")
    judged = _fast(claim, citations, pool, lexical, semantic)
    if judged.supported or verifier is None:
        return judged
    return _verified(claim, citations, pool, verifier)


def _fast(claim: str, citations: list[Citation], pool: list[Candidate], lexical: tuple[Candidate, float] | None,
          semantic: tuple[Candidate, float] | None) -> Claim:
    """One sentence holds most of the claim's words; or else every part of the claim has some words in the
    cited text, and one sentence means the same (with half the claim's words), or the text holds most of the
    claim's words and over half of each part's."""
    if lexical:
        return Claim(claim, citations, True, confidence=round(lexical[1], 3))
    texts = [c.text for c in pool]
    if part := unbacked_part(claim, texts, 0.0):
        return Claim(claim, citations, False, f"nothing cited says: {part}", confidence=0.0)
    if semantic and _semantic_ok(claim, *semantic):
        return Claim(claim, citations, True, confidence=round(semantic[1], 3))
    covered = spread(claim, texts)
    if covered >= SPREAD_SUPPORT and not unbacked_part(claim, texts, CLAUSE_SUPPORT):
        return Claim(claim, citations, True, confidence=round(covered, 3))
    return Claim(claim, citations, False, "no sentence of the cited source says this", confidence=round(covered, 3))


def _verified(claim: str, citations: list[Citation], pool: list[Candidate], verifier: Verifier) -> Claim:
    """The model's probability that the cited sentences state the claim, against its calibrated threshold."""
    p = verifier.p_supported(claim, evidence(claim, pool))
    reason = "" if p >= verifier.threshold else "the verifier finds no sentence of the cited source saying this"
    return Claim(claim, citations, p >= verifier.threshold, reason, judge="model", confidence=round(p, 3))


def evidence(claim: str, pool: list[Candidate], count: int = EVIDENCE_SENTENCES) -> list[str]:
    """The cited sentences most about the claim (most of its words), in reading order: what a verifier reads.

    A whole article would cost a small model seconds per claim and bury the sentence that matters.
    """
    singles = [c for c in pool if c.single] or pool
    wanted = set(terms(claim))
    ranked = sorted(range(len(singles)), key=lambda i: -len(wanted & set(terms(singles[i].text))))
    return [singles[i].text for i in sorted(ranked[:count])]


def spread(claim: str, texts: Sequence[str]) -> float:
    """Share of the claim's content words found anywhere in ``texts``."""
    wanted = set(terms(claim))
    return len(wanted & set(terms(" ".join(texts)))) / len(wanted) if wanted else 0.0


def unbacked_part(claim: str, texts: Sequence[str], least: float) -> str:
    """The first part (clause) of the claim with under ``least`` of its words (and never none) in ``texts``.

    A sentence whose second half nothing backs is not backed by its first half, however close the
    whole sentence looks to a cited one in words or in embedding.
    """
    have = set(terms(" ".join(texts)))
    for part in _CLAUSE.split(claim):
        words = set(terms(part))
        if len(words) >= 2 and len(words & have) < max(1.0, least * len(words)):
            return part.strip()
    return ""


def _verbatim(claim: str, text: str) -> bool:
    """The claim is the source's sentence word for word (a quote needs no judge)."""
    def words(t: str) -> str:
        return " ".join(re.findall(r"\w+", t.lower()))

    return words(claim) in words(text)


def _opposed_in(claim: str, pool: list[Candidate]) -> str:
    """Whether the single cited sentence that says most of the claim says the opposite of it (a sentence
    holding under OPPOSED_WORDS of the claim's words is about something else, negated or not). A claim of
    one or two words ("Alaska.", a chosen alternative) states no relation that could be opposed."""
    if len(set(terms(claim))) < 3:
        return ""
    closest = _lexical_best(claim, [c for c in pool if c.single], OPPOSED_WORDS)
    return opposed(claim, closest[0].text) if closest else ""


def opposed(claim: str, sentence: str) -> str:
    """How the sentence says the opposite of the claim: one of them negated, or an opposite relation word
    (killed vs injured, won vs lost); "" when they agree."""
    if bool(_NEGATION.search(claim)) != bool(_NEGATION.search(sentence)):
        return "one of them is negated"
    claim_words, said = set(_words(claim)), set(_words(sentence))
    for one, other in RELATIONS:
        for mine, theirs in ((one, other), (other, one)):
            if claim_words & mine and said & theirs and not said & mine:
                return f"{'/'.join(sorted(claim_words & mine))} against {'/'.join(sorted(said & theirs))}"
    return ""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def missing_facts(claim: str, hits: list[Hit]) -> list[str]:
    """The claim's numbers and names that none of these passages states (planted orders aside).

    A name counts as stated in another form of the word: "Israel's" by "Israel", "Ukrainians" by
    "Ukrainian", "African-Americans" by "African Americans". A number must appear whole, in digits or in
    words: "6" is stated by "six", never by "16", "6.5" or "seven".
    """
    text = " ".join(" ".join(hit.text[a:b] for a, b in sentence_spans(hit.text) if not is_instruction(hit.text[a:b]))
                    for hit in dict.fromkeys(hits)).lower()
    stems = set(terms(text))
    digits = in_digits(text)

    def stated(fact: str) -> bool:
        if fact[:1].isdigit():
            return re.search(rf"(?<!\d)(?<!\d[.,]){re.escape(fact)}(?!\d|[.,]\d)", digits) is not None
        if fact.lower() in text:
            return True
        words = terms(re.sub(r"['’]s$", "", fact))
        return bool(words) and all(w in stems for w in words)

    return sorted(f for f in key_facts(claim) if not stated(f))


def _semantic_ok(claim: str, candidate: Candidate, cosine: float) -> bool:
    """Embeddings see topic, not relation ("signed a treaty" ~ "refused to engage", 0.67), so a
    middling cosine also needs half of the claim's own words (not its names) in the sentence."""
    if cosine >= SEMANTIC_SUPPORT:
        return True
    own = set(terms(" ".join(w for w in claim.split() if w[:1].islower())))
    shared = len(own & set(terms(candidate.text))) / len(own) if own else 0.0
    return cosine >= SEMANTIC_WITH_WORDS and shared >= 0.5


def _citations(pool: list[Candidate], best: tuple[Candidate, float] | None) -> list[Citation]:
    """One citation per cited source, pointing at its best sentence for this claim."""
    by_source: dict[int, Citation] = {}
    for c in pool:
        if c.n not in by_source:
            by_source[c.n] = Citation(c.n, c.hit, c.text, c.start, c.end, 0.0)
    if best is not None:
        c, score = best
        by_source[c.n] = Citation(c.n, c.hit, c.text, c.start, c.end, round(score, 3))
    return list(by_source.values())
