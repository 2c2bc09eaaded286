"""Questions that offer their own answers: "Which city hosted the summit: Rome, Paris or Oslo?".

People ask news questions this way to settle a doubt, and quizzes (RealTime QA among them) are
written this way. Treated as ordinary questions, the offered names count as words the answer
must contain, so the best sentence is the one listing all of them, or none is relevant enough
and the question is refused. Split off, the stem says what to look for and the alternatives say
what to choose between.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.sentences import STOPWORDS, in_digits

_LIST = re.compile(r"^(?P<stem>.+?)\s*:\s*(?P<items>[^:]+?)\s*\?*\s*$", re.S)
_OR = re.compile(r",?\s+or\s+", re.I)
_SEPARATOR = re.compile(r",?\s+or\s+|,(?!\d)\s*", re.I)  # "200,000, 350,000 or 1,000" keeps its numbers whole
_MARKERS = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
MAX_WORDS = 8  # longer "alternatives" are a clause after a colon, not a list of answers
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+")  # "4.96" and "700,000" are one number: "$4" does not name them
# Words saying what kind of thing a name is, which news drops once that is clear ("Mar-a-Lago", "Labour"). Left
# out on purpose: city, state, county, island(s), river, lake, airport, university, where the bare name is often
# another place or body ("Kansas City" is not Kansas, "Islamic State" is not "Islamic", "Kabul airport" is not Kabul).
QUALIFIERS = frozenset("estate resort club hotel stadium arena company co inc corp corporation ltd llc plc "
                       "party".split())
# First words of place names: "Virginia" is not "West Virginia", nor "Korea" "North Korea".
PLACE_PREFIXES = frozenset("north south east west northern southern eastern western new central upper lower "
                           "great greater united".split())
# Words that may stand before a surname without making it part of another name ("Prime Minister Truss").
TITLES = frozenset("mr mrs ms dr sir dame lord lady president vice prime minister secretary chancellor senator "
                   "sen rep representative gov governor mayor judge justice general gen king queen prince princess "
                   "pope speaker leader chief former".split())


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


def named_choices(text: str, choices: Sequence[str], *, context: str = "", loose: bool = False) -> list[int]:
    """Indexes of the choices the text names, as whole words, case and punctuation ignored.

    Longer choices are matched first and blanked out, so "West Virginia" does not also name
    "Virginia". Citation markers are ignored ("[2]" must not name the choice "2").

    This strict form scores answers. ``loose`` is for finding a source sentence that names a pick, as
    news words it: numbers in digits or words, a surname alone when the full name is in ``context``
    (the article around the sentence), a name without its kind ("Mar-a-Lago" for "Mar-a-Lago estate").
    """
    if loose:
        return _loosely_named(text, choices, context)
    remaining = _normal(_MARKERS.sub(" ", text))
    named = []
    for i in sorted(range(len(choices)), key=lambda j: -len(_normal(choices[j]))):
        choice = _normal(choices[i])
        if choice.strip() and choice in remaining:
            named.append(i)
            remaining = remaining.replace(choice, " | ")
    return sorted(named)


@dataclass(frozen=True, slots=True)
class _Word:
    """A word as matched (case folded, numbers in digits), with what tells names apart."""

    low: str
    cap: bool  # capitalised as written
    joined: bool  # only a space or hyphen since the word before: one name, when both are capitalised


def _words(text: str) -> list[_Word]:
    text = in_digits(_MARKERS.sub(" ", text))
    words: list[_Word] = []
    end = 0
    for m in _TOKEN.finditer(text):
        joined = bool(words) and not text[end:m.start()].strip(" -")
        words.append(_Word(m.group().casefold(), m.group()[:1].isupper(), joined))
        end = m.end()
    return words


def _lows(text: str) -> list[str]:
    return [w.low for w in _words(text)]


def _loosely_named(text: str, choices: Sequence[str], context: str) -> list[int]:
    """Whole choices first (longest first, as strict), then the shorter forms on the words left over."""
    words = _words(text)
    taken = [False] * len(words)
    named = set()
    for i in sorted(range(len(choices)), key=lambda j: -len(_normal(choices[j]))):
        if _take(words, taken, _lows(choices[i]), lambda a, _: not _after_place_prefix(words, a)):
            named.add(i)
    article: str | None = None
    for i, (form, needs_full_name) in _short_forms(choices).items():
        if i in named or not any(w.low == form[0] for w in words):
            continue
        if needs_full_name:
            article = f" {' '.join(_lows(context))} " if article is None else article
            if f" {' '.join(_lows(choices[i]))} " not in article:
                continue  # another person of that surname, for all this article says
        if _take(words, taken, form, lambda a, b: words[a].cap and not _in_longer_name(words, a, b)):
            named.add(i)
    return sorted(named)


def _take(words: list[_Word], taken: list[bool], phrase: list[str], valid: Callable[[int, int], bool]) -> bool:
    """Mark every valid, untaken occurrence of the phrase as taken; whether there was one."""
    n, found = len(phrase), False
    for a in range(len(words) - n + 1) if phrase else ():
        if not any(taken[a:a + n]) and [w.low for w in words[a:a + n]] == phrase and valid(a, a + n):
            taken[a:a + n] = [True] * n
            found = True
    return found


def _short_forms(choices: Sequence[str]) -> dict[int, tuple[list[str], bool]]:
    """Each choice's shorter form, and whether it needs the full name in the article; none that another
    choice shares ("Biden" for both "Hunter Biden" and "Joe Biden" names neither)."""
    forms = {i: form for i, choice in enumerate(choices) if (form := _short_form(choice))}
    others = [f" {' '.join(_lows(c))} " for c in choices]
    return {i: (words, full) for i, (words, full) in forms.items()
            if not any(f" {' '.join(words)} " in other for j, other in enumerate(others) if j != i)}


def _short_form(choice: str) -> tuple[list[str], bool] | None:
    """The name without a trailing kind word ("Mar-a-Lago estate"), or a person's surname ("Liz Truss")."""
    words = _words(choice)
    if len(words) >= 2 and words[-1].low in QUALIFIERS:
        name = words[:-1]
        if name[0].cap and name[-1].cap and not all(w.low in STOPWORDS | QUALIFIERS for w in name):
            return [w.low for w in name], False
        return None
    person = 2 <= len(words) <= 4 and all(w.cap and w.low.isalpha() for w in words) and "," not in choice
    last = words[-1].low if words else ""
    if person and words[0].low not in PLACE_PREFIXES and len(last) > 1 and last not in STOPWORDS:
        return [last], True
    return None


def _after_place_prefix(words: list[_Word], a: int) -> bool:
    """Whether the word at ``a`` ends a longer place name: "Virginia" in "West Virginia"."""
    return a > 0 and words[a].joined and words[a - 1].cap and words[a - 1].low in PLACE_PREFIXES


def _in_longer_name(words: list[_Word], a: int, b: int) -> bool:
    """Whether words[a:b] is part of a longer name: "Biden" in "Hunter Biden" or "Trump Organization"
    ("Prime Minister Truss" and "But Truss" are not)."""
    def name(w: _Word) -> bool:
        return w.cap and w.low not in STOPWORDS

    before = a > 0 and words[a].joined and name(words[a - 1]) and words[a - 1].low not in TITLES
    return before or (b < len(words) and words[b].joined and name(words[b]))
