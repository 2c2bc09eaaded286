"""`newsrag ingest`: read files, folders, feeds and URLs into an index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.config import RUNTIMES
from rag.interfaces.cli.common import chroma_option, settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The ingest command."""
    ing = sub.add_parser("ingest", help="add files, folders, feeds or URLs to an index",
                         description="Read news into an index. Unchanged articles are skipped, changed ones "
                                     "replaced, the same text under two URLs stored once.")
    ing.add_argument("targets", nargs="+", metavar="PATH|URL|FEED",
                     help="file, folder (recursive), RSS/Atom feed file or URL, or web page URL")
    ing.add_argument("--index", help="index name under RAG_INDEX_ROOT (default: RAG_INDEX or 'default')")
    chroma_option(ing)
    ing.add_argument("--embed-model", choices=RUNTIMES, help="embedding runtime (default RAG_EMBED_MODEL or "
                     "auto: the built int8 graph on CPUs with VNNI, else its fp32 twin; all give the same model)")
    ing.add_argument("--prune", action="store_true",
                     help="remove documents that a re-read folder, dump or feed no longer contains")
    ing.add_argument("--rebuild", action="store_true", help="delete the index first and build it anew")
    ing.add_argument("--allow-private-urls", action="store_true",
                     help="allow URLs on loopback or private networks (refused by default)")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ing.add_argument("-v", "--verbose", action="store_true", help="list every duplicate, warning and failure")
    ing.set_defaults(func=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files, folders, feeds and URLs; exit 1 if any item failed."""
    from rag.engine import Engine
    from rag.ingest.ingest import ingest

    missing = [t for t in args.targets if not t.startswith(("http://", "https://")) and not Path(t).exists()]
    if missing:  # said before any model loads or any index is created
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    engine = Engine(settings_from(args))
    settings = engine.settings
    if args.rebuild:
        engine.delete_index()
    report = ingest(args.targets, engine, prune=args.prune, progress=not args.quiet)
    print(report.summary(limit=None if args.verbose else 10))
    from rag.index import index_exists

    if index_exists(settings):
        print(f"index '{settings.index}' at {settings.location}")
    else:
        print(f"index '{settings.index}' was not created: nothing could be added to it")
    return 0 if report.ok else 1
