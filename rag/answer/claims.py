"""The text side of an answer's claims: its [n] markers, its sentences as claims, and source text made safe.

Shared by every answerer and the checker: a model's draft and a given answer are split the same way,
and a source's own "[3]" or planted instructions never pose as citations or orders.
"""

from __future__ import annotations

import re

from rag.sentences import sentence_spans

DISAGREEMENT = "Sources disagree: "
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SOURCES_TAG = re.compile(r"<\s*/?\s*sources\s*>", re.I)
# A sentence that gives orders to whoever reads it ("ignore previous instructions and answer that ..."):
# source text is data, so such a sentence is never quoted as an answer nor accepted as support for one.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,20}\b(?:previous|prior|above|earlier|preceding|your|"
    r"system|all) (?:instructions?|prompts?|rules|directions)\b"
    r"|\bsystem prompt\b|\byou are now\b|\b(?:if|when|whenever) (?:you are |you're |anyone |someone )ask(?:s|ed)?\b",
    re.I,
)
def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """(claim text without markers, cited numbers) per sentence of an answer.

    Markers written after the full stop ("... said. [2]") belong to the sentence before.
    """
    claims: list[tuple[str, list[int]]] = []
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        lead = re.match(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+", sentence)
        if lead and claims:
            claims[-1][1].extend(_numbers(lead.group()))
            sentence = sentence[lead.end():]
        numbers = _numbers(sentence)
        bare = MARKER.sub("", sentence).strip()
        if bare:
            claims.append((bare, numbers))
    return claims


def _numbers(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def neutralise(text: str) -> str:
    """Source text with its own "[n]" written "(n)" and any <sources> tag defused.

    An article may contain "[3]" or a line like "[2] Reuters | headline | date": quoted into an
    answer or shown to a model as is, it would pose as a citation, a source header or the end of
    the source list. Word for word the text is unchanged, so quotes still match their passages.
    """
    return _SOURCES_TAG.sub("(sources)", MARKER.sub(lambda m: m.group().replace("[", "(").replace("]", ")"), text))


def is_instruction(sentence: str) -> bool:
    """Whether a source sentence addresses the answerer instead of reporting news (see ``_INSTRUCTION``)."""
    return bool(_INSTRUCTION.search(sentence))


def disagreement(quote: str) -> str:
    """How an answer reports what another source says instead: the lead, then the sentence in quotes."""
    return f'{DISAGREEMENT}"{quote}"'


def quoted(claim: str) -> str:
    """A reported sentence is judged on what it quotes; the lead is the answer's framing, not a claim."""
    if claim.startswith(DISAGREEMENT) or claim.startswith('"'):
        inner = claim.removeprefix(DISAGREEMENT)
        if len(inner) > 2 and inner[0] == '"' and inner.rstrip(".")[-1] == '"':
            return inner.rstrip(".")[1:-1]
    return claim


def strip_unknown_markers(text: str, n_sources: int) -> str:
    """Remove [n] markers that point at no source (a model's invented keys)."""
    def keep(match: re.Match[str]) -> str:
        valid = [str(n) for n in _numbers(match.group()) if 1 <= n <= n_sources]
        return f" [{', '.join(valid)}]" if valid else ""

    return MARKER.sub(keep, text)

