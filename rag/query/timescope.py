"""Time expressions in a question become the window it asks about; the date grammar passages share.

News questions are about time ("this week", "in October", "the latest"), and the answer
depends on *when* it is asked, so every window is computed from an explicit ``as_of`` date,
never from the clock. A passage's own dates are read with the same grammar in ``rag.query.events``,
against its publication date, so a question about 23 October finds the report of it published on the
25th. Regexes, not dateparser: dateparser is slow to import and guesses (it reads "may" as a month and
"4" as a day); text that matches none of these forms simply gets no window.

Choices worth knowing:

- A window is the days things happened, not the days they were reported: retrieval matches
  it against a passage's event dates, and against publication dates up to ``REPORT_LAG_DAYS``
  after its end (news of an event is published that day or in the days after).
- A date without a year is the most recent such date not after ``as_of`` ("in December"
  asked on 2024-01-03 means December 2023).
- "this week" is the past seven days; "last week", "last month", "last year" are calendar
  periods; "past week", "past/last N days|weeks|months|years" are rolling and reach back N
  whole units from ``as_of``.
- When a question has several time expressions, the first one sets the window.
- Windows are not clipped to ``as_of`` here; retrieval does that (nothing published after
  the as-of date existed yet).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name: i for i, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sept", "sep"), ("october", "oct"),
    ("november", "nov"), ("december", "dec")), start=1) for name in names}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "several": 5}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)\b"


def date_forms(month: str) -> tuple[str, ...]:
    """12 October [2023], the 12th of October, October 12[, 2023], 2023-10-12."""
    return (rf"{_DAY}\s+(?:of\s+)?{month}(?:,?\s+{_YEAR})?",
            rf"{month}\s+{_DAY}\b(?:,?\s+{_YEAR})?",
            r"(?P<year>(?:19|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")


DATE_FORMS = date_forms(_MONTH)
_N = r"(?:(?P<n>\d{1,3}|" + "|".join(NUMBERS) + r")\s+)?"
_NAMED = (r"(?<!usa\s)today|tonight|this\s+(?:morning|afternoon|evening)|yesterday|last\s+night"
          r"|this\s+(?:week|month|year)")
_LATEST = re.compile(r"\b(?:latest|most\s+recent(?:ly)?|recent|newest)\b", re.I)  # not "recently": it dates an event

Window = tuple[date | None, date | None]


@dataclass(frozen=True, slots=True)
class TimeScope:
    """The publication window a question asks about; ``latest`` asks to prefer the newest items."""

    start: date | None = None
    end: date | None = None
    latest: bool = False
    phrase: str = ""  # the words that set the scope, e.g. "in October", "latest"


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _months_back(day: date, n: int) -> date:
    """The same day ``n`` months earlier (the 31st becomes the month's last day)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - n, 12)
    return date(year, month0 + 1, min(day.day, month_end(year, month0 + 1).day))


def _recent_date(month: int, day: int, as_of: date) -> date | None:
    """The most recent ``day month`` not after ``as_of`` (29 February may be years back)."""
    for year in range(as_of.year, as_of.year - 8, -1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= as_of:
            return found
    return None


def _nearest_date(month: int, day: int, published: date) -> date | None:
    """The ``day month`` nearest to ``published``: a report names past days and scheduled ones."""
    found = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return min(found, key=lambda d: abs((d - published).days), default=None)


def explicit_date(m: re.Match[str], as_of: date | None, nearest: bool = False) -> date | None:
    """The date a matched date form names; None for an impossible one (31 February) or a year-less one
    with nothing to place it by. Without a year: the last such day by ``as_of``, or the ``nearest`` one."""
    groups = m.groupdict()
    if groups.get("m"):
        month, day = int(groups["m"]), int(groups["d"])
    else:
        month, day = MONTHS[groups["month"].lower()], int(groups["day"])
    if not groups.get("year"):
        if as_of is None:
            return None
        return _nearest_date(month, day, as_of) if nearest else _recent_date(month, day, as_of)
    try:
        return date(int(groups["year"]), month, day)
    except ValueError:
        return None


def _on_date(m: re.Match[str], as_of: date) -> Window | None:
    day = explicit_date(m, as_of)
    return (day, day) if day else None


def _since_date(m: re.Match[str], as_of: date) -> Window | None:
    day = explicit_date(m, as_of)
    return (day, as_of) if day else None


def _month(m: re.Match[str], as_of: date) -> Window:
    month = MONTHS[m["month"].lower()]
    year = int(m["year"]) if m["year"] else (as_of.year if month <= as_of.month else as_of.year - 1)
    return date(year, month, 1), month_end(year, month)


def _year(m: re.Match[str], as_of: date) -> Window:
    return date(int(m["year"]), 1, 1), date(int(m["year"]), 12, 31)


def _weekday(m: re.Match[str], as_of: date) -> Window:
    """"on Monday": the most recent Monday not after as_of; "last Monday": strictly before it."""
    back = (as_of.weekday() - WEEKDAYS.index(m["wd"].lower())) % 7
    if back == 0 and m[0].lower().startswith("last"):
        back = 7
    day = as_of - timedelta(days=back)
    return day, day


def calendar_period(unit: str, as_of: date) -> Window:
    """The whole previous calendar week (Monday..Sunday), month or year."""
    if unit == "week":
        monday = as_of - timedelta(days=as_of.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if unit == "month":
        end = as_of.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)


def _span(m: re.Match[str], as_of: date) -> Window:
    """"last week" (calendar), "past week", "past 3 days", "last two months" (rolling)."""
    unit = m["unit"].lower()
    if m["n"] is None and m["which"].lower() != "past" and not unit.endswith("s"):
        return calendar_period(unit, as_of)
    raw = (m["n"] or ("1" if not unit.endswith("s") else "few")).lower()
    n = int(raw) if raw.isdigit() else NUMBERS[raw]
    if unit.startswith(("month", "year")):
        return _months_back(as_of, n * (12 if unit.startswith("year") else 1)), as_of
    return as_of - timedelta(days=n * (7 if unit.startswith("week") else 1)), as_of


def _named(m: re.Match[str], as_of: date) -> Window:
    """today, yesterday, this week (the past 7 days), this month, this year.

    "this week" is rolling, not from Monday: asked on a Monday, a calendar week would hold one day
    of news, while the reader means the week just gone (on RealTime QA's weekly questions, asked on
    Fridays, rolling lifted gold recall@5 from 0.773 to 0.836).
    """
    word = re.sub(r"\s+", " ", m[0].lower())
    if word in ("yesterday", "last night"):
        return as_of - timedelta(days=1), as_of - timedelta(days=1)
    return {
        "this week": (as_of - timedelta(days=7), as_of),
        "this month": (as_of.replace(day=1), as_of),
        "this year": (date(as_of.year, 1, 1), as_of),
    }.get(word, (as_of, as_of))


def _since(rule: Callable[[re.Match[str], date], Window | None]) -> Callable[[re.Match[str], date], Window | None]:
    """"since X": from the start of X's window up to as_of."""
    def since(m: re.Match[str], as_of: date) -> Window | None:
        window = rule(m, as_of)
        return (window[0], as_of) if window else None
    return since


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Window | None]]
_SPAN = r"(?P<which>past|last|previous)\s+" + _N + r"(?P<unit>days?|weeks?|months?|years?)\b"
RULES: list[_Rule] = [(re.compile(p, re.I), f) for p, f in [
    *[(rf"\bsince\s+(?:the\s+)?{form}", _since_date) for form in DATE_FORMS],
    *[(rf"\bon\s+(?:the\s+)?{form}", _on_date) for form in DATE_FORMS],
    (rf"\bsince\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?{_MONTH}(?:,?\s+{_YEAR})?", _since(_month)),
    (rf"\bsince\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?{_YEAR}", _since(_year)),
    (rf"\bsince\s+(?:the\s+start\s+of\s+)?(?:{_NAMED})\b", _since(_named)),
    (rf"\bsince\s+(?:the\s+start\s+of\s+)?{_SPAN}", _since(_span)),
    (rf"\b(?:in|during|throughout)\s+(?:early\s+|late\s+|mid-?\s*)?{_MONTH}(?:,?\s+{_YEAR})?", _month),
    (rf"\b(?:in|during|throughout)\s+{_YEAR}", _year),
    (r"\b(?:on|last|this\s+past)\s+(?P<wd>" + "|".join(WEEKDAYS) + r")\b", _weekday),
    (rf"\b{_SPAN}", _span),
    (rf"\b(?:{_NAMED})\b", _named),
]]


def _first_window(question: str, as_of: date) -> tuple[Window, str] | None:
    """The window of the earliest (then longest) time expression that names a real date."""
    found = []
    for pattern, rule in RULES:
        for m in pattern.finditer(question):
            window = rule(m, as_of)
            if window is not None:
                found.append((m.start(), -len(m[0]), window, m[0].strip()))
                break
    if not found:
        return None
    *_, window, phrase = min(found, key=lambda item: item[:2])
    return window, phrase


def time_scope(question: str, as_of: date) -> TimeScope:
    """The publication window and recency preference a question asks for, relative to ``as_of``."""
    first = _first_window(question, as_of)
    latest = _LATEST.search(question)
    (start, end), phrase = first if first else ((None, None), "")
    words = [p for p in (phrase, latest[0] if latest else "") if p]
    return TimeScope(start=start, end=end, latest=latest is not None, phrase=", ".join(words))


def strip_time(question: str) -> str:
    """The question without its time words: the window filters by date, the words would only add noise."""
    stripped = _LATEST.sub(" ", question)
    for pattern, _ in RULES:
        stripped = pattern.sub(" ", stripped)
    stripped = re.sub(r"\s+", " ", stripped).strip()
    return stripped if re.search(r"\w", stripped) else question


REPORT_LAG_DAYS = 3  # reports of a day's events are found published up to this many days after it
