"""Questions that offer their own answers: "Which city hosted the summit: Rome, Paris or Oslo?".

People ask news questions this way to settle a doubt, and quizzes (RealTime QA among them) are
written this way. Treated as ordinary questions, the offered names count as words the answer
must contain, so the best sentence is the one listing all of them, or none is relevant enough
and the question is refused. Split off, the stem says what to look for and the alternatives say
what to choose between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LIST = re.compile(r"^(?P<stem>.+?)\s*:\s*(?P<items>[^:]+?)\s*\?*\s*$", re.S)
_OR = re.compile(r",?\s+or\s+", re.I)
_SEPARATOR = re.compile(r",?\s+or\s+|,\s*", re.I)
_MARKERS = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
MAX_WORDS = 8  # longer "alternatives" are a clause after a colon, not a list of answers


def split_alternatives(question: str) -> tuple[str, tuple[str, ...]]:
    """("stem?", alternatives) for "stem: A, B or C?"; (question, ()) when it offers none.

    Only the colon form is read: "Did Biden or Trump win?" is ambiguous between a choice and a
    yes/no question, and its names are what retrieval needs anyway.
    """
    m = _LIST.match(question.strip())
    if not m or not _OR.search(m["items"]):
        return question, ()
    items = [p.strip() for p in _SEPARATOR.split(m["items"])]
    if len(items) < 2 or any(not p or len(p.split()) > MAX_WORDS for p in items):
        return question, ()
    return f"{m['stem'].rstrip(' ?')}?", tuple(items)


def _normal(text: str) -> str:
    return f" {_PUNCT.sub(' ', text.casefold()).strip()} "


def named_choices(text: str, choices: Sequence[str]) -> list[int]:
    """Indexes of the choices the text names, as whole words, case and punctuation ignored.

    Longer choices are matched first and blanked out, so "West Virginia" does not also name
    "Virginia". Citation markers are ignored ("[2]" must not name the choice "2").
    """
    remaining = _normal(_MARKERS.sub(" ", text))
    named = []
    for i in sorted(range(len(choices)), key=lambda j: -len(_normal(choices[j]))):
        choice = _normal(choices[i])
        if choice.strip() and choice in remaining:
            named.append(i)
            remaining = remaining.replace(choice, " | ")
    return sorted(named)
