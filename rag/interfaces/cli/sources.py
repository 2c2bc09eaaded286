"""`newsrag sources` and `newsrag remove`: the articles an index holds, and taking some of them out."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rag.interfaces.cli.common import chroma_option, iso_date, settings_from

if TYPE_CHECKING:
    from rag.index.library import Document

HEADLINE_CHARS = 60  # a table row shows this much of a headline; --json has all of it
OUTLET_CHARS = 24
SHOWN = 20  # articles listed before the question whether to remove them


def add(sub: argparse._SubParsersAction) -> None:
    """The sources and remove commands."""
    src = sub.add_parser("sources", help="list the articles an index holds, newest publication first",
                         description="List the articles of an index, one row per article: publication date, "
                                     "outlet, headline, passages, when it was first and last ingested (UTC) "
                                     "and its URL (or the file it was read from). Newest publication first; "
                                     "undated articles last.")
    src.add_argument("--outlet", metavar="NAME", help="only articles from this outlet (any letter case)")
    src.add_argument("--from", dest="date_from", type=iso_date, metavar="DATE",
                     help="only articles published on or after DATE (undated articles are left out)")
    src.add_argument("--to", dest="date_to", type=iso_date, metavar="DATE",
                     help="only articles published on or before DATE (undated articles are left out)")
    src.add_argument("--json", action="store_true", help="print the articles as a JSON list, headlines whole")
    _index_options(src)
    src.set_defaults(func=cmd_sources)
    rm = sub.add_parser("remove", help="remove articles from an index, by URL, date or outlet",
                        description="Remove articles (all their passages) from an index, from its dense and "
                                    "keyword sides together. Lists what would go and asks first; given "
                                    "together, the criteria must all hold for an article to go.")
    rm.add_argument("targets", nargs="*", metavar="URL",
                    help="an article's URL, the file it was read from, or its id, as `newsrag sources` lists "
                         "them (a dump's path removes all of its records)")
    rm.add_argument("--before", type=iso_date, metavar="DATE",
                    help="articles published before DATE; undated articles are never removed by it")
    rm.add_argument("--outlet", metavar="NAME", help="articles from this outlet (any letter case)")
    rm.add_argument("-y", "--yes", action="store_true",
                    help="remove without asking; needed when the command is not run from a terminal")
    _index_options(rm)
    rm.set_defaults(func=cmd_remove)


def _index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help="index name (default: RAG_INDEX or 'default')")
    chroma_option(parser)


def cmd_sources(args: argparse.Namespace) -> int:
    """Print the index's articles as a table, or as JSON."""
    from rag.engine import Engine
    from rag.index.library import within

    store = Engine(settings_from(args)).index()
    everything = store.documents()
    docs = within(everything, args.outlet, args.date_from, args.date_to)
    if args.json:
        print(json.dumps([d.as_dict() for d in docs], indent=2, ensure_ascii=False))
        return 0
    if docs:
        print(table(docs))
    of = f" (of {len(everything)})" if len(docs) != len(everything) else ""
    print(f"{count(docs)}{of} in index '{store.name}' at {store.location}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove the articles the arguments pick, once confirmed.

    Exit 1 when nothing matches or the person says no; 2 when no confirmation can be asked for and --yes is missing.
    """
    from rag.engine import Engine
    from rag.index.library import remove, select

    if not (args.targets or args.before or args.outlet):
        print("error: say what to remove: URLs or file paths, --before DATE or --outlet NAME", file=sys.stderr)
        return 2
    store = Engine(settings_from(args)).index()
    picked, missed = select(store.documents(), args.targets, args.before, args.outlet)
    for target in missed:
        print(f"no article in index '{store.name}' matches {target}", file=sys.stderr)
    if not picked:
        print(f"nothing removed: no article in index '{store.name}' matches", file=sys.stderr)
        return 1
    print(table(picked[:SHOWN]) + (f"\n... and {len(picked) - SHOWN} more" if len(picked) > SHOWN else ""))
    if not args.yes and not sys.stdin.isatty():
        print("error: not removing without confirmation: run it in a terminal to be asked, or pass --yes",
              file=sys.stderr)
        return 2
    if not args.yes and not _confirmed(f"Remove {count(picked)} from index {store.name}? [y/N] "):
        return 1
    remove(store, picked)
    print(f"removed {count(picked)} from index '{store.name}':")
    print("\n".join(f"  {line(d)}" for d in picked))
    return 0


def _confirmed(question: str) -> bool:
    """A person's yes at the terminal (Enter or end of input is no)."""
    try:
        said = input(question)
    except EOFError:
        said = ""
    if said.strip().casefold() in ("y", "yes"):
        return True
    print("nothing removed")
    return False


def count(docs: list[Document]) -> str:
    """"2 articles (14 passages)", in words that agree with the numbers."""
    n, m = len(docs), sum(d.passages for d in docs)
    return f"{n} article{'s' * (n != 1)} ({m} passage{'s' * (m != 1)})"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def line(doc: Document) -> str:
    """One article in a line: date, outlet (when known), headline and where it is."""
    when = doc.published.isoformat() if doc.published else "undated"
    said = " · ".join(p for p in (doc.outlet, _cut(doc.title or "(no headline)", HEADLINE_CHARS)) if p)
    return f"{when}  {said}  {doc.location}"


def table(docs: list[Document]) -> str:
    """Articles in aligned columns, the URL (or file) last so a long one wraps alone."""
    from rag.index.library import minute

    head = ("PUBLISHED", "OUTLET", "HEADLINE", "PASSAGES", "FIRST INGESTED", "LAST INGESTED", "URL OR FILE")
    rows = [(d.published.isoformat() if d.published else "undated", _cut(d.outlet, OUTLET_CHARS) or "-",
             _cut(d.title or "(no headline)", HEADLINE_CHARS), str(d.passages), minute(d.first_ingested) or "-",
             minute(d.last_ingested) or "-", d.location) for d in docs]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head) - 1)]

    def shown(row: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        return "  ".join([*cells, row[-1]])

    return "\n".join([shown(head), *map(shown, rows)]) + "\n(ingest times in UTC)"
