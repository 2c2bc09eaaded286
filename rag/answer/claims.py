"""The text side of an answer's claims: its [n] markers, its sentences as claims, and source text made safe.

Shared by every answerer and the checker: a model's draft and a given answer are split the same way,
and a source's own "[3]" or planted instructions never pose as citations or orders, nor a quiz's options
as the answer.
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
# Lines that list candidate answers (see ``lists_candidates``): option markers "A." "b)" "(c)" "1)", names
# joined by "or", a quiz or poll heading.
_OPTION = re.compile(r"(?<!\S)(?:\((?P<p>[A-Ea-e1-9])\)|(?P<b>[A-Ea-e1-9])\)|(?P<d>[A-E1-9])\.)(?=\s|$)")
_NAME = r"[A-Z0-9][\w'’.&-]*(?:\s+(?:of|the|de|[A-Z0-9][\w'’.&-]*)){0,3}"
_ALTERNATIVES = re.compile(rf"{_NAME}(?:\s*,\s*{_NAME})*,?\s+or\s+{_NAME}\W*")
_HEADING = re.compile(r"\b(?:quiz|poll|trivia)\b[^.?!:]{0,20}:|\bwhich of the following\b", re.I)
_OR = re.compile(r"\bor\b", re.I)
_CLOSING = "\"'”’)] "
OPTION_WORDS = 6  # a lettered line this short is an answer option ("B. Peppermint Sugar Latte"), not a report


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


def lists_candidates(sentence: str, previous: str = "") -> bool:
    """Whether a source sentence only lists candidate answers: a quiz's options ("A. X B. Y", "a) X b) Y"),
    a question offering alternatives ("Does PSL stand for X or Y?"), a poll ("Who will win? X, Y or Z").

    Such a line names the wrong answers as plainly as the right one, so it supports none of them: a model
    once answered a quiz's wrong option, cited to the quiz line, and the check let it through. ``previous``
    is the sentence before: names joined by "or" after a question are its options. Kept narrow, as the
    check must not reject news: "He may resign or be fired, aides said.", "'Why now?' she asked.", a
    numbered ranking ("2. $1.5 billion, Oct. 23, 2018") and a headline "Poll: Biden leads" are not lists.
    """
    text = sentence.strip().rstrip(_CLOSING)
    stem, mark, after = text.rpartition("?")
    if _HEADING.search(text) and (mark or _OPTION.search(text)):
        return True
    if mark and not after and _OR.search(re.split(r"[.?!…:;]\s", stem)[-1]):
        return True  # a question whose last clause offers alternatives
    follows_question = bool(mark) or previous.strip().rstrip(_CLOSING).endswith("?")
    return (follows_question and bool(_ALTERNATIVES.fullmatch(after.strip()))) or _options(text)


def _options(text: str) -> bool:
    """Option markers opening the line or following its question: two in sequence ("A. X B. Y", "1) X 2) Y"),
    or one lettered on a short line ("B. Peppermint Sugar Latte"; numbered short lines are rankings)."""
    found = [(m.start(), m["p"] or m["b"] or m["d"]) for m in _OPTION.finditer(text)]
    for (at, label), (_, following) in zip(found, [*found[1:], (0, "")], strict=False):
        if text[:at].rstrip()[-1:] not in ("", "?"):
            continue  # "bans (a) smoking and (b) vaping" is a statement; "T. A. Knuuttila" a name
        if following and ord(following) == ord(label) + 1:
            return True
        if label.isalpha() and len(text[at:].split()) <= OPTION_WORDS + 1 and not text.endswith("."):
            return True
    return False


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

