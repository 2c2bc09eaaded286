"""The scoring functions, pure and small, so each can be checked by hand on made-up inputs.

Every rate comes back with the count it is taken over (``Rate``): "0.62" means little
unless one knows it is 68 of 110 questions and not 2 of 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from rag.answer.choices import named_choices
from rag.answer.citations import check_claims
from rag.answer.claims import MARKER, split_claims
from rag.benchmarks.common import percentile
from rag.index.embedding import Embedder
from rag.ingest.sources.common import canonical_url
from rag.sentences import in_digits
from rag.types import Hit

MIRROR_HOSTS = ("www.", "edition.", "amp.", "m.", "mobile.")  # the same article served under another host
# Words that carry no answer: articles, prepositions, conjunctions, "to be", and the words of "None of the
# above" (so that choice has no content and is not scorable free-form). Short on purpose: a longer list
# starts dropping words that are the answer ("US", "who", "May").
STOP_WORDS = frozenset("the a an of in on at to for and or by with from as is are was were be been none above"
                       .split())
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_WORD = re.compile(r"[^\W_]+")  # letters and digits: hyphens, apostrophes and punctuation split words


@dataclass(frozen=True, slots=True)
class Rate:
    """A share and what it is a share of."""

    hits: float
    n: int

    @property
    def value(self) -> float:
        """hits / n, or NaN over an empty subset (never a misleading 0)."""
        return self.hits / self.n if self.n else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        """JSON form: the value with its numerator and count."""
        return {"value": self.value, "hits": self.hits, "n": self.n}


def rate(flags: Iterable[bool | float]) -> Rate:
    """Share of true flags (or mean of 0..1 scores) over the flags given."""
    values = [float(f) for f in flags]
    return Rate(sum(values), len(values))


def article_key(url: str) -> str:
    """One key per article however its URL is spelt (edition.cnn.com vs www.cnn.com, http vs https,
    trailing slash, #fragment, tracking parameters): gold URLs and stored doc ids meet here."""
    if "://" not in url or url.startswith("file://"):
        return url
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    host = parts.netloc.lower()
    for prefix in MIRROR_HOSTS:
        host = host.removeprefix(prefix)
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/') or '/'}{query}"


def ranked_articles(hits: Sequence[Hit]) -> list[str]:
    """Distinct articles in the order of their first passage: recall@k counts articles, not passages."""
    return list(dict.fromkeys(article_key(h.doc_id) for h in hits))


def first_rank(ranked: Sequence[str], gold: set[str]) -> int | None:
    """1-based rank of the first gold article, None when none was retrieved."""
    return next((i for i, key in enumerate(ranked, 1) if key in gold), None)


def recall_at(ranks: Sequence[int | None], k: int) -> Rate:
    """Share of questions with a gold article in the top ``k`` (the dataset's own "top 5" measure)."""
    return rate(r is not None and r <= k for r in ranks)


def mrr(ranks: Sequence[int | None]) -> Rate:
    """Mean reciprocal rank of the first gold article (0 when not retrieved)."""
    return rate(1.0 / r if r else 0.0 for r in ranks)


def choice_correct(text: str, choices: Sequence[str], gold: int) -> bool:
    """Right when the answer names the gold choice and no other (hedging over all four is not an answer)."""
    return named_choices(text, choices) == [gold]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can carry an answer, normalised so spellings of one answer meet:
    casefolded, possessive 's dropped, split at hyphens and punctuation, number words as digits, stop
    words and citation markers left out (an answer's "[2]" must not pass for the answer "2")."""
    text = _POSSESSIVE.sub(" ", MARKER.sub(" ", in_digits(text).casefold()))
    return [w for w in _WORD.findall(text) if w not in STOP_WORDS]


def holds_answer(text: str, gold: str, share: float = 0.75) -> bool:
    """Right in free form when ``text`` holds at least ``share`` of the gold answer's distinct content words.

    The question was asked without choices, so the answer is free text: it cannot be matched whole, and
    most of the gold's words (not all: "Volodymyr Zelenskyy" against "Zelenskyy") is what a reader would
    accept. A gold with no content word (``content_words`` empty) is never held: it is not scorable.
    """
    wanted = set(content_words(gold))
    if not wanted:
        return False
    return len(wanted & set(content_words(text))) / len(wanted) >= share


@dataclass(frozen=True, slots=True)
class CitationCounts:
    """ALCE-style tallies for one answer: sentences and how many are supported; citations and how
    many are precise."""

    sentences: int = 0
    supported: int = 0
    citations: int = 0
    precise: int = 0


def citation_counts(text: str, sources: Sequence[Hit], embedder: Embedder) -> CitationCounts:
    """Citation recall and precision as ALCE defines them (Gao et al. 2023), judged by the project's check.

    A sentence counts for recall when its citations together support it. A citation is precise
    when its sentence is supported and the citation either supports it alone or is needed (the
    others without it do not); unsupported sentences make all their citations imprecise.
    """
    claims = split_claims(text)

    def holds(claim: str, numbers: Sequence[int]) -> bool:
        checked = check_claims(f"{claim} [{', '.join(map(str, numbers))}]", sources, embedder)
        return bool(checked) and all(c.supported for c in checked)

    supported = citations = precise = 0
    for claim, numbers in claims:
        numbers = list(dict.fromkeys(numbers))
        citations += len(numbers)
        if not numbers or not holds(claim, numbers):
            continue
        supported += 1
        if len(numbers) == 1:
            precise += 1
            continue
        precise += sum(holds(claim, [n]) or not holds(claim, [m for m in numbers if m != n]) for n in numbers)
    return CitationCounts(len(claims), supported, citations, precise)


def citation_rates(counts: Sequence[CitationCounts]) -> dict[str, Rate]:
    """Recall over all answer sentences, precision over all citations (micro-averaged)."""
    return {
        "recall": Rate(sum(c.supported for c in counts), sum(c.sentences for c in counts)),
        "precision": Rate(sum(c.precise for c in counts), sum(c.citations for c in counts)),
    }


def latency(timings: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """p50 / p95 (nearest rank) per stage over the runs that have that stage, with their count."""
    stages: dict[str, list[float]] = {}
    for run in timings:
        for stage, ms in run.items():
            stages.setdefault(stage.removesuffix("_ms"), []).append(ms)
    return {stage: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)} for stage, v in stages.items()}
