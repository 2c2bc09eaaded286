"""What a question asks for, and whether a sentence gives it.

A cited sentence can be true and still not answer: "What is the population of Erbil?" is not
answered by a sentence that merely names Erbil, nor "How many Iraqi soldiers were killed?" by one
that counts US personnel. So every answerer's reply must hold, in one of its sentences:

- the kind of thing asked for: a number for "how many", a date for "when", a name for "who";
- the things asked about: each name of the question (in the sentence, its headline or the
  sentence before it, where a pronoun's antecedent sits);
- the attribute asked for: "population" in "what is the population of", "soldiers" in "how many
  Iraqi soldiers" (or a word of the same family: troops, personnel);
- the question's constraints: a year it names, and the days it asks about, which the sentence must
  not contradict by dating what it says elsewhere.

Otherwise the reply is the refusal with the closest sources. Plain word rules, like the rest of the
fast path: each is one line of reason a person can read ("names no number").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from rag.answer.choices import split_alternatives
from rag.query.events import event_dates
from rag.query.timescope import MONTHS, WEEKDAYS, time_scope
from rag.sentences import STOPWORDS, key_facts, sentence_spans, terms
from rag.types import Claim, Hit

_LEAD = re.compile(r"^\W*(?P<lead>\w+(?:\s+\w+)?)", re.I)
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\b(?P<what>[^?.,;:]*)", re.I)
_WORDS = re.compile(r"[\w'’-]+")
_ATTRIBUTE = re.compile(r"\bwhat\s+(?:is|was|are|were)\s+(?:the\s+)?(?P<what>[\w'’-]+(?:\s+[\w'’-]+)?)\s+of\b"
                        r"|\b(?P<owner>[A-Z][\w'’-]+)['’]s\s+(?P<what2>population|capital|budget|death toll|age|"
                        r"salary|revenue|cost|price)\b", re.I)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                     r"forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|half)\b", re.I)
_WHEN = re.compile(r"\b(?:\d{4}|" + "|".join(m.capitalize() for m in MONTHS if len(m) > 3) + "|"
                   + "|".join(w.capitalize() for w in WEEKDAYS) + r"|yesterday|today|tonight)\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_POSSESSIVE = re.compile(r"['’]s$")
_ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}")  # "U.S." is "US"
# "how many" nouns that say nothing of what is counted, and families whose members count alike
_GENERIC = frozenset(terms("people person times things ones cases money dollars percent name title kind type "
                           "number amount total"))
_FAMILIES = [frozenset(terms(words)) for words in (
    "soldiers troops personnel servicemembers",
    "people persons civilians residents victims",
    "dead deaths killed died fatalities",
    "injured wounded injuries hurt",
)]
_ALIASES = [frozenset(terms(words)) for words in (  # one country's common names: "US" is rarely spelled out twice
    "US USA America American Americans", "UK Britain British England")]
_DATE_WORDS = frozenset(terms("date day year"))
_STARTERS = frozenset("however despite last meanwhile according following although earlier later still yet "
                      "instead since until as but even once now".split())  # capitalised only by starting a sentence
_ROLES = frozenset(terms(  # who a sentence can name without a name
    "minister president premier chancellor secretary spokesman spokeswoman spokesperson official officials "
    "police officer leader chief governor mayor judge court government ministry company army military "
    "militia group committee council board lawmakers senator parliament king queen prince general commander "
    "ceo chairman director manager coach player team authorities agency department union prosecutors"))
_NOT_NAMES = frozenset(
    {m.capitalize() for m in MONTHS} | {w.capitalize() for w in WEEKDAYS}
    | {"Who", "Whom", "Whose", "What", "Which", "When", "Where", "Why", "How", "Is", "Are", "Was", "Were",
       "Did", "Do", "Does", "The", "A", "An", "In", "On", "Of", "I"})


@dataclass(frozen=True, slots=True)
class Asked:
    """What a question wants: ``kind`` ("person", "number", "date", "place" or "" for anything), the
    names it is about, the attribute it asks for, its other words, the years it names and the days it asks about."""

    kind: str
    names: tuple[str, ...]
    attribute: frozenset[str]
    event: frozenset[str]  # what happened to what is counted ("killed", "injured"), when it is a known family
    words: frozenset[str]  # its other content words, by which a sentence can describe what it is about
    years: frozenset[str]
    window: tuple[date | None, date | None] = (None, None)


def asked(question: str, as_of: date | None = None) -> Asked:
    """Read a question's wants from its words (``as_of`` places its time words, when it has any)."""
    scope = time_scope(question, as_of) if as_of else None
    phrase = scope.phrase.split(", ")[0] if scope else ""
    plain = question.replace(phrase, " ") if phrase else question
    names, attribute = _names(plain), _attribute(plain)
    kind = "date" if attribute & _DATE_WORDS else _kind(plain)  # "what is the release date of ..."
    return Asked(kind=kind, names=names, attribute=attribute - _DATE_WORDS, event=_event(plain),
                 words=frozenset(terms(plain)) - frozenset(terms(" ".join(names))),
                 years=frozenset(_YEAR.findall(question)),
                 window=(scope.start, scope.end) if scope else (None, None))


def _kind(question: str) -> str:
    """From the question's last sentence: a quiz question often opens with a sentence of background."""
    spans = sentence_spans(question)
    question = question[spans[-1][0]:] if spans else question
    lead = (m["lead"].lower() if (m := _LEAD.search(question)) else "").split()
    first = lead[0] if lead else ""
    if first in ("who", "whom", "whose"):
        return "person"
    if first == "when" or lead[:2] in (["what", "date"], ["what", "day"], ["which", "year"], ["what", "year"]):
        return "date"
    if first == "where":
        return "place"
    if _HOW_MANY.search(question):
        return "number"
    return ""


def _names(question: str) -> tuple[str, ...]:
    """The capitalised words of the question that are not question words, months or its first word
    ("UK’s" counted as "UK")."""
    facts = {_POSSESSIVE.sub("", f) for f in key_facts(question)}
    return tuple(sorted(f for f in facts if not f[:1].isdigit() and f not in _NOT_NAMES and len(f) > 1))


def _attribute(question: str) -> frozenset[str]:
    """The head noun of "how many X" and of "what is the X of" / "Y's X", less generic counts."""
    m = _HOW_MANY.search(question)
    if m:  # the words up to the verb: "how many [Iraqi soldiers] were", "how many [viewers] watched"
        phrase = []
        for word in _WORDS.findall(m["what"]):
            if word.lower() in STOPWORDS or word.lower().endswith("ed"):
                break
            phrase.append(word)
        head = terms(phrase[-1]) if phrase and not phrase[-1][:1].isupper() else []
        return frozenset(head) - _GENERIC
    a = _ATTRIBUTE.search(question)
    if a:
        return frozenset(terms(a["what"] or a["what2"] or "")) - _GENERIC
    return frozenset()


def _event(question: str) -> frozenset[str]:
    """"how many ... were killed / injured": the word, when a family of such words knows it."""
    m = _HOW_MANY.search(question)
    words = terms(m["what"]) if m else []
    return next((f for w in words for f in _FAMILIES[2:] if w in f), frozenset())


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """``terms`` as a set, remembered: every candidate sentence of a passage is checked against the
    same headline and passage text."""
    return frozenset(terms(text))


def _has_term(wanted: str, found: set[str]) -> bool:
    """A stem found as itself, by another name ("US" / "United States"), or as a longer or shorter form of
    a name ("Iraq" / "Iraqi")."""
    if any(wanted in names and names & found for names in _ALIASES):
        return True
    return wanted in found or any(len(w) >= 4 and len(wanted) >= 4 and (w.startswith(wanted) or wanted.startswith(w))
                                  for w in found)


def _family(term: str) -> frozenset[str]:
    return next((f for f in _FAMILIES if term in f), frozenset({term}))


def unmet(want: Asked, sentence: str, context: str = "", published: date | None = None, choice: bool = False,
          quote: str = "") -> str:
    """Why the sentence does not give what was asked ("" when it does). ``context`` is where the things
    asked about may be named instead (the headline, the sentences either side). ``quote`` is the source
    sentence a model's reworded claim rests on: "24" answers "How many US personnel were injured?" when
    it cites "... injuries to at least 24 US military personnel": the claim must hold the kind of thing,
    the two together the rest.

    ``choice``: the sentence names an offered alternative, which is itself the answer, so only what the
    question is about and its constraints are checked: one of its names is enough (quiz stems carry
    background names: "Kim Kardashian wore a Marilyn Monroe dress at the Met Gala. Who designed it?"),
    or half its other words ("a plane crash in Nepal" for "a deadly plane crash in which South Asian country").
    """
    claim = sentence
    sentence, context = _plain_names(f"{sentence} {quote}".strip()), _plain_names(context)
    found = set(_stems(sentence))
    around = found | _stems(context)
    missing = [n for n in want.names if not all(_has_term(t, around) for t in terms(n))]
    described = choice and len(want.words & around) * 2 >= len(want.words) > 0
    if missing and len(missing) > (len(want.names) - 1 if choice else len(want.names) // 2) and not described:
        return f"not about {', '.join(missing)}"  # a name in full ("Antony Blinken" as "Blinken"), most of several
    if not choice and (reason := _what_missing(want, claim, found)):
        return reason
    if want.kind == "date":  # the dates in the sentence are the answer, not a constraint on it
        return ""
    years = set(_YEAR.findall(sentence))
    if want.years and years and not years & want.years and not (published and str(published.year) in want.years):
        return f"about {', '.join(sorted(years))}, not {', '.join(sorted(want.years))}"
    return _off_window(want, sentence, published)


def _plain_names(text: str) -> str:
    """"U.S." and "United States" as "US", "United Kingdom" as "UK": one spelling to match."""
    text = _ACRONYM.sub(lambda m: m[0].replace(".", ""), text)
    return text.replace("United States", "US").replace("United Kingdom", "UK")


def _what_missing(want: Asked, claim: str, found: set[str]) -> str:
    """The attribute and the event (in ``found``), and the kind of thing asked for (in the claim itself)."""
    if want.attribute and not any(_family(t) & found for t in want.attribute):
        return f"says nothing of {', '.join(sorted(want.attribute))}"
    if want.event and not want.event & found:
        return f"says nothing of {sorted(want.event)[0]}"
    return _kind_missing(want, _plain_names(claim))


def _kind_missing(want: Asked, sentence: str) -> str:
    if want.kind == "number" and not _NUMBER.search(sentence):
        return "names no number"
    if want.kind == "date" and not _WHEN.search(sentence):
        return "names no date"
    if want.kind in ("person", "place"):
        asked_about = set(_stems(" ".join(want.names)))
        new = {f for f in _capitalised(sentence) if f not in _NOT_NAMES
               and not any(_has_term(t, asked_about) for t in terms(f))}
        role = want.kind == "person" and bool(_ROLES & _stems(sentence) - want.words)
        if not new and not role:  # "the prime minister cancelled ..." answers "who" too
            return f"names no {want.kind} besides those asked about"
    return ""


def _capitalised(sentence: str) -> set[str]:
    """Names in a sentence: its capitalised words, the first too unless it is a common word ("Facebook
    acquired Instagram" names Facebook; "However, ..." names nobody)."""
    words = {f for f in key_facts(sentence) if not f[:1].isdigit()}
    first = re.match(r"\W*([A-Z][\w'’-]*)", sentence)
    if first and first[1].lower() not in STOPWORDS and first[1].lower() not in _STARTERS:
        words.add(first[1])
    return words


def _off_window(want: Asked, sentence: str, published: date | None) -> str:
    """The sentence dates what it says, and none of its dates falls in the days asked about."""
    first, last = want.window
    if first is None or last is None:
        return ""
    dates = event_dates(sentence, published)
    if dates and not any(a <= last and b >= first for a, b in dates):
        return f"dated {dates[0][0].isoformat()}, not in {first.isoformat()} – {last.isoformat()}"
    return ""


def around(hit: Hit, start: int, end: int, choice: bool = False) -> str:
    """Where a sentence's subject may be named instead: the headline and the sentences either side of
    ``hit.text[start:end]`` (a pronoun's antecedent before it, a quote's speaker after it); for a sentence
    naming an offered alternative, the whole passage (the alternative is the answer; the passage must be
    about what the question is about)."""
    if choice:
        return f"{hit.title} {hit.text}"
    spans = sentence_spans(hit.text)
    at = next((i for i, (a, b) in enumerate(spans) if a <= start < b), None)
    near = [] if at is None else [hit.text[a:b] for a, b in spans[max(at - 1, 0): at + 2]]
    return " ".join([hit.title, *near])


def answering(claims: Sequence[Claim], question: str, as_of: date) -> list[str]:
    """Why no claim gives what was asked, one reason per supported claim; empty when one does.

    A chosen alternative is itself the kind asked for, so for "...: A, B or C?" only the quote that
    names it is held to the rest: about what the question is about, its constraints met.
    """
    stem, choices = split_alternatives(question)
    want = asked(stem, as_of)
    reasons = []
    for claim in claims:
        if not claim.supported or not claim.citations:
            continue
        c = claim.citations[0]
        local = c.start - c.hit.start
        context = around(c.hit, local, local + len(c.quote), bool(choices))
        if choices:
            reason = unmet(want, c.quote, context, c.hit.published, choice=True)
        else:
            reason = unmet(want, claim.text, context, c.hit.published, quote=c.quote)
        if not reason:
            return []
        reasons.append(reason)
    return reasons or ["nothing supported"]
