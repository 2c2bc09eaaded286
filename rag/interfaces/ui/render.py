"""An Answer as HTML for the chat: claims with citation chips, evidence, refusals, the sources panel.

Each chip is a ``<details>`` element: clicking it opens the cited passage with the supporting
sentence highlighted, in place, with no script and no request (so it works the same in every
browser tab and in the saved conversation). Everything from the index is escaped: an article
cannot inject markup into the page. Output is one line with no blank lines, so the chat's
Markdown renderer keeps it as one HTML block.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import date

from rag.types import Answer, Citation, Claim, Hit

HEADLINE_CHARS = 48  # a chip shows this much of the headline; the tooltip has all of it
SNIPPET_CHARS = 140  # a listed source shows the start of its passage, so same-article passages differ
CLOSEST = 3  # a refusal lists this many closest sources (the panel lists them all)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _day(when: date | None) -> str:
    return f"{when.day} {when:%b %Y}" if when else "undated"


def _short(text: str, limit: int = HEADLINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines(text: str) -> str:
    """Escaped text whose line breaks survive as <br> (a blank line would end the HTML block)."""
    return "<br>".join(_e(line) for line in text.strip().splitlines() if line.strip())


def chip_label(n: int, hit: Hit) -> str:
    """[n] outlet · headline · date, as the chip reads; without a known outlet, the headline alone."""
    return f"[{n}] " + " · ".join(p for p in (hit.outlet, _short(hit.title or hit.text), _day(hit.published)) if p)


def _file_name(hit: Hit) -> str:
    """The name of the file an article without a URL was read from ("" for other ids)."""
    return hit.doc_id.split("#", 1)[0].rsplit("/", 1)[-1] if hit.doc_id.startswith("file://") else ""


def snippet(hit: Hit) -> str:
    """The start of a passage, to tell listed sources apart at a glance."""
    return f'<div class="nr-snippet">“{_e(_short(" ".join(hit.text.split()), SNIPPET_CHARS))}”</div>'


def highlighted(hit: Hit, spans: Iterable[tuple[int, int]]) -> str:
    """The passage with the given article-body spans marked (clipped to the passage)."""
    text = hit.text
    marks = sorted({(max(0, a - hit.start), min(len(text), b - hit.start)) for a, b in spans})
    out, at = [], 0
    for a, b in marks:
        if b <= a or a < at:
            continue
        out += [_lines(text[at:a]) if text[at:a].strip() else " ", f"<mark>{_lines(text[a:b])}</mark>"]
        at = b
    out.append(_lines(text[at:]) if text[at:].strip() else "")
    return " ".join(part for part in out if part).strip()


def article_link(hit: Hit) -> str:
    """A link that opens the article, or where it came from when it has no web address."""
    if hit.url.startswith(("http://", "https://")):
        return f'<a href="{_e(hit.url)}" target="_blank" rel="noopener noreferrer">Open the article ↗</a>'
    if hit.outlet:
        return f'<span class="nr-origin">From {_e(hit.outlet)}</span>'
    name = _file_name(hit)
    return f'<span class="nr-origin">Saved copy: {_e(name)}</span>' if name else ""


def evidence(n: int, hit: Hit, citations: Iterable[Citation] = ()) -> str:
    """The passage behind source [n], its supporting sentences highlighted, and the article link."""
    cited = list(citations)
    outlet = f"<b>{_e(hit.outlet)}</b> — " if hit.outlet else ""
    head = f"{outlet}{_e(hit.title or 'untitled')} · {_e(_day(hit.published))}"
    also = f' · also in {_e(", ".join(hit.also_in))}' if hit.also_in else ""
    body = highlighted(hit, [(c.start, c.end) for c in cited])
    return (f'<div class="nr-evidence"><div class="nr-ev-head">{head}{also}</div>'
            f'<blockquote class="nr-passage">{body}</blockquote>'
            f'<div class="nr-ev-foot">{article_link(hit)}</div></div>')


def chip(n: int, hit: Hit, citations: Iterable[Citation] = ()) -> str:
    """A citation chip that opens its evidence when clicked."""
    title = f"{hit.outlet + ': ' if hit.outlet else ''}{hit.title or 'untitled'} ({_day(hit.published)})"
    return (f'<details class="nr-chip" data-n="{n}"><summary title="{_e(title)}">{_e(chip_label(n, hit))}</summary>'
            f"{evidence(n, hit, citations)}</details>")


def claim_html(claim: Claim) -> str:
    """One sentence and its chips; an unsupported one (lenient mode) is marked with the reason."""
    chips = "".join(chip(c.n, c.hit, [c]) for c in claim.citations)
    judged = f'data-judge="{_e(claim.judge)}" title="{_e(judged_by(claim))}"'
    if claim.supported:
        flag = '<span class="nr-flag">Contested</span> ' if claim.contested_by else ""
        return f'<div class="nr-claim" {judged}>{flag}<span class="nr-text">{_e(claim.text)}</span> {chips}</div>'
    reason = _e(claim.reason or "its sources do not say this")
    return (f'<div class="nr-claim nr-unsupported" {judged}><span class="nr-flag" title="{reason}">Unsupported</span> '
            f'<span class="nr-text">{_e(claim.text)}</span> <span class="nr-reason">({reason})</span> {chips}</div>')


def judged_by(claim: Claim) -> str:
    """Who judged the sentence and how sure it was, as a tooltip says it."""
    who = {"model": "the model verifier", "quote": "a verbatim quote", "fast": "the fast check"}.get(claim.judge,
                                                                                                  claim.judge)
    verdict = "supported" if claim.supported else "not supported"
    contested = f"; contested by [{', '.join(str(c.n) for c in claim.contested_by)}]" if claim.contested_by else ""
    return f"{verdict} by {who} ({claim.confidence:.0%} sure){contested}"


def answer_html(answer: Answer, asked: str = "") -> str:
    """The whole reply: claims, or the refusal with the closest sources; then what was checked."""
    notes = []
    if asked and asked != answer.question:
        notes.append(f"Asked as: “{_e(answer.question)}”")
    if answer.fallback:
        notes.append(f"Why: {_e(answer.fallback)}")
    if answer.refused:
        closest = "".join(f"<li>{chip(n, hit)}{snippet(hit)}</li>"
                          for n, hit in enumerate(answer.sources[:CLOSEST], 1))
        body = (f'<div class="nr-refusal"><b>{_e(answer.text)}</b> No passage in the index answers this'
                f"{'; these came closest:' if closest else '.'}</div>"
                + (f'<ul class="nr-closest">{closest}</ul>' if closest else ""))
    else:
        body = "".join(claim_html(c) for c in answer.claims)
        supported = sum(c.supported for c in answer.claims)
        judges = sorted({c.judge for c in answer.claims})
        notes.append(f"{supported} of {len(answer.claims)} sentences supported by their sources "
                     f"(judged by: {', '.join(judges)})")
        if contested := sum(bool(c.contested_by) for c in answer.claims):
            notes.append(f"{contested} contested: other sources state it differently")
        notes.append(_e(answer.recency()))
    meta = f'<div class="nr-meta">{" · ".join(notes)}</div>' if notes else ""
    kind = "nr-answer nr-refused" if answer.refused else "nr-answer"
    return f'<div class="{kind}">{body}{meta}</div>'


def draft_html(text: str, status: str) -> str:
    """What the chat shows while an answer is being produced: the draft so far, not yet checked."""
    draft = f'<div class="nr-draft">{_lines(text)}</div>' if text.strip() else ""
    return f'<div class="nr-answer nr-pending">{draft}<div class="nr-meta nr-status">{_e(status)}</div></div>'


def error_html(message: str) -> str:
    """A problem the person can fix, shown in the conversation where they asked."""
    return f'<div class="nr-answer nr-error"><b>Could not answer.</b> {_e(message)}</div>'


def sources_html(answer: Answer | None) -> str:
    """The sources panel: every source the answer was built from, cited ones first with their evidence."""
    if answer is None:
        return '<div class="nr-sources nr-empty">Sources of the latest answer appear here.</div>'
    by_n: dict[int, list[Citation]] = {}
    for claim in answer.claims:
        for c in claim.citations:
            by_n.setdefault(c.n, []).append(c)
    order = sorted(range(1, len(answer.sources) + 1), key=lambda n: (n not in by_n, n))
    items = []
    for n in order:
        hit = answer.sources[n - 1]
        badge = '<span class="nr-badge">cited</span>' if n in by_n else '<span class="nr-badge nr-dim">retrieved</span>'
        items.append(f"<li>{badge}{chip(n, hit, by_n.get(n, []))}{snippet(hit)}</li>")
    title = "Closest sources (refused)" if answer.refused else f"Sources ({len(by_n)} cited of {len(answer.sources)})"
    window = " – ".join(d.isoformat() if d else "…" for d in answer.window)
    timing = waited(answer.timings) + ", ".join(f"{k.removesuffix('_ms')} {v:.0f} ms"
                                               for k, v in answer.timings.items() if k not in WAITED)
    return (f'<div class="nr-sources"><div class="nr-sources-head">{_e(title)}</div>'
            f'<ol class="nr-source-list">{"".join(items)}</ol>'
            f'<div class="nr-meta">Searched {_e(window)} as of {_e(answer.as_of.isoformat())} with '
            f"{_e(answer.answerer)}. {_e(timing)}</div></div>")


WAITED = ("first_text_ms", "checked_ms")


def waited(timings: dict[str, float]) -> str:
    """What the asker waited for, first: the first words and the checked answer, in seconds."""
    if not all(k in timings for k in WAITED):
        return ""
    return f"First words after {timings['first_text_ms'] / 1000:.1f} s, checked answer after " \
           f"{timings['checked_ms'] / 1000:.1f} s. "


CSS = """
.nr-answer { line-height: 1.55; }
.nr-claim { margin: 0 0 .55em 0; }
.nr-chip { display: inline; }
.nr-chip > summary, .nr-chip-demo { display: inline-block; list-style: none; cursor: pointer; font-size: .78em;
  padding: .05em .55em; margin: 0 .15em; border-radius: 999px; border: 1px solid var(--color-accent);
  color: var(--color-accent); background: var(--background-fill-secondary); white-space: nowrap;
  max-width: 100%; overflow: hidden; text-overflow: ellipsis; vertical-align: baseline; }
.nr-chip > summary::-webkit-details-marker { display: none; }
.nr-chip[open] > summary { background: var(--color-accent); color: white; }
.nr-evidence { display: block; margin: .4em 0 .8em 0; padding: .6em .8em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 6px; font-size: .92em; }
.nr-ev-head { margin-bottom: .3em; }
.nr-passage { margin: 0; padding: 0; border: 0; font-style: normal; }
.nr-passage mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: 2px; }
.nr-ev-foot { margin-top: .35em; font-size: .9em; }
.nr-unsupported { color: var(--body-text-color-subdued); }
.nr-flag { font-size: .72em; font-weight: 600; text-transform: uppercase; color: #b45309; border: 1px solid #b45309;
  border-radius: 4px; padding: 0 .3em; }
.nr-reason { font-size: .85em; font-style: italic; }
.nr-refusal { padding: .5em .7em; border-radius: 6px; background: var(--background-fill-secondary);
  border-left: 3px solid #9ca3af; }
.nr-closest { margin: .5em 0 0 0; padding: 0; list-style: none; }
.nr-closest li { margin-bottom: .45em; }
.nr-snippet { font-size: .8em; color: var(--body-text-color-subdued); margin: .15em 0 0 .3em; }
.nr-meta { margin-top: .4em; font-size: .8em; color: var(--body-text-color-subdued); }
.nr-error { border-left: 3px solid #dc2626; padding-left: .6em; }
.nr-sources-head { font-weight: 600; margin-bottom: .4em; }
.nr-source-list { padding-left: 1.2em; }
.nr-source-list li { margin-bottom: .35em; }
.nr-badge { font-size: .7em; text-transform: uppercase; margin-right: .3em; color: var(--color-accent); }
.nr-dim { color: var(--body-text-color-subdued); }
.nr-empty { color: var(--body-text-color-subdued); }
"""
