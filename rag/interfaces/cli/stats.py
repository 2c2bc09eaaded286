"""`newsrag stats`: what an index holds, for a person deciding what to ask it or what to add."""

from __future__ import annotations

import argparse
import json

from rag.interfaces.cli.common import chroma_option, settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The stats command."""
    st = sub.add_parser("stats", help="what an index holds: articles, passages, outlets, dates, size, model",
                        description="Count what the index holds, read from the index itself. On a Chroma server "
                                    "the size on disk is this machine's keyword index only.")
    st.add_argument("--index", help="index name (default: RAG_INDEX or 'default')")
    chroma_option(st)
    st.add_argument("--json", action="store_true", help="print the figures as JSON")
    st.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the index's figures, as lines or JSON."""
    from rag.engine import Engine

    figures = Engine(settings_from(args)).index().stats()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    span = f"{figures['first_published']} to {figures['last_published']}" if figures["first_published"] else "none"
    print(f"index '{figures['index']}' at {figures['location']}\n"
          f"  articles {figures['articles']}, passages {figures['passages']}, outlets {figures['outlets']}\n"
          f"  published {span}\n  size on disk {figures['bytes_on_disk'] / 1e6:.1f} MB\n"
          f"  embedding model {figures['embed_model']} ({figures['dimension']} dimensions)")
    return 0
