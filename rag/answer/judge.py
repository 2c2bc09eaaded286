"""Whether a checked answer is likely right: a supported sentence is not always the answer.

The citation check proves that the sources say what the answer says; it cannot tell a true
sentence that answers from a true sentence beside the point. These signals can, in part, and each
is cheap once the answer exists:

- ``similarity``: how close the cited passage is to the question (retrieval's cosine);
- ``coverage``: the share of the question's words in the cited sentences and their headlines;
- ``corroboration``: how many other retrieved articles also name what the answer names (a right
  answer tends to be reported more than once; a neighbouring name seldom is);
- ``agree``: for a model's answer, whether the extractive quote over the same sources names it too
  (two readers that agree are right more often than either alone);
- ``logprob``: for a model's written answer, the mean log-probability of its tokens;
- ``pick`` and ``consistent``: for a model choosing an alternative, its mean probability over the
  rotations of the options and the share of rotations whose top letter it was.

A logistic model over them, fitted on RealTime QA dev answers and checked on the 2023 weeks
(`newsrag eval calibrate`, docs/BENCHMARKS.md), gives the confidence; below the threshold chosen there
for answer precision the reply is refused, with the reason shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rag.answer.claims import MARKER
from rag.sentences import terms
from rag.types import Claim, Hit

CORROBORATION_CAP = 3  # articles beyond the third say nothing more
NAMED_SHARE = 0.75  # an article names the answer when it holds this share of the answer's own words
# words that frame a question, not its subject ("what happened", "what did they say"): answers seldom repeat them
_FRAME = frozenset(terms("happened happening latest news update updates know say tell"))

# (bias, weights, means) per answer form, fitted by `newsrag eval calibrate` on RealTime QA dev (module doc);
# a signal an answer lacks (corroboration, in an index of one article) counts as its mean on the fitting set
WEIGHTS: dict[str, tuple[float, dict[str, float], dict[str, float]]] = {
    # 185 answered dev questions asked free-form; ROC AUC 0.68 there, 0.70 on the 115 answered 2023 ones
    "extractive-free": (-7.374, {"corroboration": 0.554, "coverage": 4.313, "new": 5.006, "similarity": -0.773},
                        {"corroboration": 0.026, "coverage": 0.761, "new": 0.989, "similarity": 0.674}),
    # the local model choosing among alternatives, 37 answered of 60 dev questions; ROC AUC 0.92 there, 0.96 on
    # 25 answered of 40 2023 ones (its mean probability of the pick alone: 0.89 and 1.00)
    "model-choice": (-2.955, {"pick": 8.328, "consistent": 0.296, "coverage": 3.095, "corroboration": 2.085,
                              "similarity": -2.354},
                     {"pick": 0.499, "consistent": 0.845, "coverage": 0.549, "corroboration": 0.019,
                      "similarity": 0.618}),
}
# the lowest confidence at which dev answer precision reaches the target: extractive 0.70 (0.58 before; the 2023
# weeks 0.45 -> 0.57), a model's pick 0.80 (0.76 -> 0.84; the 2023 weeks 0.80 -> 0.90)
THRESHOLDS: dict[str, float] = {"extractive-free": 0.556, "model-choice": 0.306}
DOUBT = "the answer is unlikely to be right"


def form(generative: bool, choices: Sequence[str]) -> str:
    """Which fitted model judges an answer: who wrote it, and whether it chose among alternatives."""
    return f"{'model' if generative else 'extractive'}-{'choice' if choices else 'free'}"


def core(text: str, question: str) -> set[str]:
    """The answer's own words: its content words that the question does not already say."""
    return set(terms(MARKER.sub(" ", text))) - set(terms(question))


def signals(question: str, answer: str, claims: Sequence[Claim], sources: Sequence[Hit], ignore: str = ""
            ) -> dict[str, float]:
    """The signals every answer has, from its text, its citations and the retrieved sources. ``ignore`` is
    the question's time phrase ("this week"), which the date filter has handled."""
    cited = [c for claim in claims for c in claim.citations]
    own = core(answer, question)
    wanted = set(terms(question.replace(ignore, " ") if ignore else question)) - _FRAME
    seen = set(terms(" ".join(f"{c.quote} {c.hit.title}" for c in cited)))
    cited_docs = {c.hit.doc_id for c in cited}
    others = {h.doc_id: h.text for h in sources if h.doc_id not in cited_docs}
    found = {
        "similarity": max((c.hit.similarity for c in cited), default=0.0),
        "coverage": len(wanted & seen) / len(wanted) if wanted else 0.0,
        "new": float(bool(own)),
    }
    if others:  # with no other article retrieved (a small index) there is nothing to corroborate: left unknown
        naming = sum(_names(text, own) for text in others.values())
        found["corroboration"] = min(naming, CORROBORATION_CAP) / CORROBORATION_CAP
    return found


def agreement(answer: str, other: str, question: str) -> float:
    """The share of the answer's own words that another reader's answer holds (1.0: it names the same)."""
    own = core(answer, question)
    return len(own & set(terms(MARKER.sub(" ", other)))) / len(own) if own else 0.0


def choice_signals(readings: Sequence[Sequence[float]], chosen: int) -> dict[str, float]:
    """How sure a model's pick among alternatives was: mean probability and agreement across rotations."""
    if not readings:
        return {}
    return {"pick": sum(r[chosen] for r in readings) / len(readings),
            "consistent": sum(max(range(len(r)), key=r.__getitem__) == chosen for r in readings) / len(readings)}


def _names(text: str, own: set[str]) -> bool:
    return bool(own) and len(own & set(terms(text))) >= NAMED_SHARE * len(own)


def confidence(kind: str, found: dict[str, float]) -> float | None:
    """The fitted probability that the answer is right (None when no model is fitted for this form)."""
    if kind not in WEIGHTS:
        return None
    bias, weights, means = WEIGHTS[kind]
    z = bias + sum(w * found.get(name, means[name]) for name, w in weights.items())
    return 1.0 / (1.0 + math.exp(-z))


def doubtful(kind: str, found: dict[str, float]) -> str:
    """Why the answer is refused as unlikely to be right ("" when it stands or nothing is fitted): the
    confidence, and the signals below a typical answer of the fitting set that pulled it down most."""
    p = confidence(kind, found)
    if p is None or p >= THRESHOLDS.get(kind, 0.0):
        return ""
    _, weights, means = WEIGHTS[kind]
    low = {name: found.get(name, means[name]) - means[name] for name in weights}
    pulls = sorted((weights[name] * gap, name) for name, gap in low.items() if gap < 0 < weights[name])
    reason = "; ".join(_BECAUSE.get(name, name) for _, name in pulls[:2]) or "its signals are weak"
    return f"{DOUBT} (confidence {p:.2f}): {reason}"


_BECAUSE = {"agree": "the quoted sources do not name it", "corroboration": "no other article names it",
            "coverage": "its sources hold little of the question", "pick": "the model was unsure of its pick",
            "consistent": "the model's pick changed with the order of the options",
            "similarity": "its passage is far from the question", "new": "it names nothing the question does not",
            "logprob": "the model was unsure of its words"}
