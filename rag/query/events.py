"""The dates a passage reports ("on 23 October", "on Monday", "last week"), read against its publication date.

Read once per passage at ingest and kept with it (``Chunk.events``), so retrieval can match a
question's window against when things happened, not only when they were reported. The grammar is
the questions' own (``rag.query.timescope``), with two differences: month and weekday names must be
capitalised (in running text "may", "march" and "sun" are words), and a date without a year is the
one nearest to publication, as news reports both what happened and what is scheduled.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from rag.query.timescope import MONTHS, WEEKDAYS, Window, calendar_period, date_forms, explicit_date, month_end

MAX_EVENT_DAYS = 31  # a longer span ("in 2022", "this year") dates nothing a question could pick out
# case-sensitive: in running text "may", "march" and "sun" are words, "May", "March" and "Sunday" dates
_CAP_MONTH = r"(?P<month>" + "|".join(sorted((m.capitalize() for m in MONTHS), key=len, reverse=True)) + r")\b\.?"
_PASSAGE_DATES = [re.compile(r"\b" + form) for form in date_forms(_CAP_MONTH)]
_PASSAGE_WEEKDAY = re.compile(r"(?:\b(?P<rel>[Ll]ast|[Nn]ext|this\s+past|this\s+coming)\s+)?\b(?P<wd>"
                              + "|".join(w.capitalize() for w in WEEKDAYS) + r")\b")
_PASSAGE_NAMED = re.compile(r"\b(?P<word>today|tonight|this\s+(?:morning|afternoon|evening)|yesterday|last\s+night"
                            r"|(?:earlier\s+|later\s+)?this\s+(?:week|month)|last\s+(?:week|month)|the\s+past\s+week)\b",
                            re.I)


def event_dates(text: str, published: date | None) -> list[Window]:
    """The days or short spans a passage says things happened on, sorted and without repeats.

    "on 23 October", "October 23, 2023", datelines ("BAGHDAD, Oct 25"), "on Monday" / "Monday",
    "yesterday", "last week", "earlier this month" and the like. Relative ones are read from the
    publication date (an undated passage keeps only dates with a year); a date without a year is
    the one nearest to it, as news reports both what happened and what is scheduled.
    """
    found: list[Window] = []
    explicit_starts: set[int] = set()
    for pattern in _PASSAGE_DATES:
        for m in pattern.finditer(text):
            day = explicit_date(m, published, nearest=True)
            if day is not None:
                found.append((day, day))
                explicit_starts.add(m.start())
    if published is not None:
        for m in _PASSAGE_WEEKDAY.finditer(text):
            if not any(re.fullmatch(r",?\s*", text[m.end():s]) for s in explicit_starts if s >= m.end()):
                # not the weekday of an explicit date ("Wednesday, 12 October")
                found.append(_passage_weekday(m, published))
        found += [_passage_named(m["word"], published) for m in _PASSAGE_NAMED.finditer(text)]
    return sorted({w for w in found if (w[1] - w[0]).days < MAX_EVENT_DAYS})


def weekdays_named(text: str, published: date) -> list[date]:
    """The days a passage names by weekday alone ("on Monday", "said Tuesday"; not "last"/"next Monday"),
    read against its publication date: how late such reports come is what ``REPORT_LAG_DAYS`` is set from."""
    return [_passage_weekday(m, published)[0] for m in _PASSAGE_WEEKDAY.finditer(text) if not m["rel"]]


def _passage_weekday(m: re.Match[str], published: date) -> Window:
    """Monday: the last one on or before publication; "last Monday" before it; "next Monday" after it."""
    wanted = WEEKDAYS.index(m["wd"].lower())
    rel = " ".join((m["rel"] or "").lower().split())
    if rel in ("next", "this coming"):
        day = published + timedelta(days=(wanted - published.weekday()) % 7 or 7)
    else:
        back = (published.weekday() - wanted) % 7
        day = published - timedelta(days=back or (7 if rel == "last" else 0))
    return day, day


def _passage_named(word: str, published: date) -> Window:
    """today, yesterday, this/last week (calendar weeks), this/last month, the past week."""
    word = " ".join(word.lower().split()).removeprefix("earlier ").removeprefix("later ")
    monday = published - timedelta(days=published.weekday())
    if word in ("yesterday", "last night"):
        return published - timedelta(days=1), published - timedelta(days=1)
    if word == "this week":
        return monday, monday + timedelta(days=6)
    if word in ("last week", "the past week"):
        return (monday - timedelta(days=7), monday - timedelta(days=1)) if word == "last week" else (
            published - timedelta(days=7), published)
    if word == "this month":
        return published.replace(day=1), month_end(published.year, published.month)
    if word == "last month":
        return calendar_period("month", published)
    return published, published
