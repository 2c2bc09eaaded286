"""Sentences and the words that matter in them: shared by chunking, answering and checking.

Punkt as shipped to llama-index knows no abbreviations, so "U.S." or "Brig. Gen." end a
sentence there, and news is full of them. One splitter that knows the common ones is used
everywhere, so passage boundaries, extracted answers and checked claims agree.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "u.s", "u.k", "u.n", "e.u", "u.s.a", "d.c", "e.g", "i.e", "a.m", "p.m", "vs", "st", "mt", "ft",
    "mr", "mrs", "ms", "dr", "prof", "rev", "jr", "sr", "gen", "brig", "col", "lt", "maj", "sgt", "capt",
    "adm", "gov", "sen", "rep", "pres", "inc", "corp", "co", "ltd", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec",
}
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in "
    "into is it its me more most my no not of on or our out over said says she so than that the their them "
    "then there these they this those to up was we were what when where which who whom whose why will with "
    "would you your about after against all also any because before between both during each few other "
    "same some such only own very just now al el".split()
)
_WORD = re.compile(r"[\w'’]+", re.UNICODE)  # hyphens split: "Al-Sudani" matches "Sudani"
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"\b[A-Z][\w'’-]*")
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLED = re.compile(rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[ -](?P<unit>{'|'.join(_UNITS[1:10])}))?|"
                      rf"(?P<small>{'|'.join(_UNITS)}))\b", re.I)


# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote; unless the word before the stop is a known abbreviation or an initial.
_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
_LAST_WORD = re.compile(r"(\S+)$")


def _is_abbreviation(text: str, stop: int) -> bool:
    match = _LAST_WORD.search(text, max(0, stop - 40), stop)  # a window: scanning from 0 is quadratic
    if match is None or text[stop] != ".":
        return False
    word = match.group(1).lstrip("\"'“‘([").lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, so a sentence can be cited by its exact place.

    A line break always ends a sentence (news text puts paragraphs on lines); inside a
    line the rule above applies. Plain regex: importing nltk's punkt costs ~1.5 s.
    """
    spans = []
    for block in re.finditer(r"[^\n]+", text):
        start = block.start()
        for end in _END.finditer(text, block.start(), block.end()):
            if not _is_abbreviation(text, end.start()):
                spans.append(trimmed(text, start, end.end()))
                start = end.end()
        spans.append(trimmed(text, start, block.end()))
    return [(a, b) for a, b in spans if b > a]


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding whitespace (what ``str.strip`` removes)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing space, joinable back into the text (for the splitter)."""
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    cuts = [0] + [start for start, _ in spans[1:]] + [len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _stemmer():  # noqa: ANN202 - PyStemmer has no type hints
    """A stemmer per call: PyStemmer's are not thread-safe, and one costs well under a microsecond."""
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Lower-cased stems of the content words: what lexical matching compares."""
    words = [w.strip("'’").lower() for w in _WORD.findall(text)]
    return _stemmer().stemWords([w for w in words if w and w not in STOPWORDS])


def key_facts(sentence: str) -> set[str]:
    """Numbers and capitalised words (names, places, months): each must appear in the cited source.

    Words are checked one by one, so "Defence Secretary Austin" is backed by "Secretary of
    Defence Lloyd J. Austin III"; the sentence's first word is capitalised anyway and skipped.
    """
    numbers = {n.rstrip(".,") for n in _NUMBER.findall(sentence)}
    first = _WORD.search(sentence)
    names = {m.group().strip("'’-") for m in _NAME.finditer(sentence)
             if not (first and m.start() == first.start())}
    return numbers | {n for n in names if n.lower() not in STOPWORDS}


def in_digits(text: str) -> str:
    """The text with numbers from zero to ninety-nine written in digits ("six" -> "6", "Twenty-five" -> "25").

    News spells small numbers out and writes large ones in digits, while a question or an answer may do
    either: "six months to six years" states "6 months to 6 years". Larger spelled numbers ("two hundred")
    are rare in both and left as they are.
    """
    def digits(m: re.Match[str]) -> str:
        if m["small"]:
            return str(_UNITS.index(m["small"].lower()))
        return str(20 + 10 * _TENS.index(m["tens"].lower()) + (_UNITS.index(m["unit"].lower()) if m["unit"] else 0))

    return _SPELLED.sub(digits, text)
