"""An Answer as terminal text: the answer, its checked claims, its numbered sources."""

from __future__ import annotations

import textwrap

from rag.types import Answer, Claim, Hit


def render_text(answer: Answer, show_support: bool = False) -> str:
    """What `newsrag ask` prints; ``show_support`` adds a verdict per sentence (for `check`)."""
    lines = [textwrap.fill(answer.text, 100), ""]
    if answer.fallback:
        lines[1:1] = [textwrap.fill(f"({answer.fallback})", 100)]
    if show_support or any(not c.supported for c in answer.claims):
        lines += [f"- {verdict(claim)}: {claim.text}" for claim in answer.claims] + [""]
    cited = {c.n: c for claim in answer.claims for c in [*claim.citations, *claim.contested_by]}
    lines.append("Closest sources:" if answer.refused else "Sources:")
    for n, hit in enumerate(answer.sources, 1):
        if n not in cited and not answer.refused:
            continue
        also = f" (also in {', '.join(hit.also_in)})" if hit.also_in else ""
        lines.append(f"[{n}] {source_line(hit)}{also}")
        if hit.url:
            lines.append(f"    {hit.url}")
        if n in cited:
            lines.append(textwrap.fill(f"“{cited[n].quote}”", 100, initial_indent="    ", subsequent_indent="    "))
    others = [str(n) for n in range(1, len(answer.sources) + 1) if n not in cited]
    if others and not answer.refused:
        lines.append(f"(also retrieved, not cited: {', '.join(others)}; --json shows them)")
    lines += ["", answer.recency(), _timings(answer)]
    return "\n".join(lines)


def source_line(hit: Hit) -> str:
    """"Outlet: headline (date)", or the headline alone when the outlet is unknown (a file is no outlet)."""
    when = hit.published.isoformat() if hit.published else "undated"
    headline = f"{hit.title or ' '.join(hit.text[:80].split())} ({when})"
    return f"{hit.outlet}: {headline}" if hit.outlet else headline


def verdict(claim: Claim) -> str:
    """"supported", "UNSUPPORTED (why)" or "CONTESTED by [n]", with the judge and how sure it was."""
    said = "supported" if claim.supported else f"UNSUPPORTED ({claim.reason})"
    if claim.contested_by:
        said = f"CONTESTED by [{', '.join(str(c.n) for c in claim.contested_by)}]"
    return f"{said} [{claim.judge}, {claim.confidence:.2f}]"


def _timings(answer: Answer) -> str:
    return "(" + ", ".join(f"{k.removesuffix('_ms')} {v:.0f} ms" for k, v in answer.timings.items()) + ")"
