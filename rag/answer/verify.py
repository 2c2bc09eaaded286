"""The model verifier: does what a sentence cites state it? A generative model's probability of "yes".

The fast check sees words, facts and embeddings; it cannot tell "partly said" from "said". A model
reading the cited sentences can, at the cost of one decoding step per claim: only the first token of
its reply is read, as the probability of "yes" against "no". The threshold is calibrated on WiCE dev
(`newsrag eval wice --mode model`, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.llm import Generator, LLMError, local_model_path
from rag.answer.prompts import load_prompt
from rag.config import Settings

THRESHOLD = 0.6  # calibrated on WiCE dev (best F1 on 4 of 5 folds of 5-fold CV): docs/BENCHMARKS.md


@dataclass(frozen=True, slots=True)
class Verifier:
    """A generator used as a yes/no judge of support, with the probability at which "yes" wins."""

    model: Generator
    threshold: float = THRESHOLD

    @property
    def name(self) -> str:
        return self.model.name

    def p_supported(self, claim: str, evidence: Sequence[str]) -> float:
        """P("yes") over P("yes") + P("no") for the first token of the reply; 0.5 when neither is likely."""
        system, user = load_prompt("verify").render(claim=claim, source="\n".join(evidence))
        return yes_share(self.model.next_token(system, user))


def yes_share(logprobs: dict[str, float]) -> float:
    """Probability mass of "yes" against "no" among the first tokens, whatever their case or spacing."""
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in logprobs.items():
        word = token.strip().lower().rstrip(".,!")
        if word in mass:
            mass[word] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total > 0 else 0.5


def available(spec: str, settings: Settings) -> bool:
    """Whether the model ``spec`` names can run without installing anything: a served model is assumed
    up (the user configured it), a bundled one must be installed and intact."""
    kind, _, arg = spec.partition(":")
    if kind != "local":
        return True
    try:
        local_model_path(arg, settings)
    except LLMError:
        return False
    return True
