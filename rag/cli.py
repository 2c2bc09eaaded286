"""`newsrag ingest | bench`: the command line.

Only argparse is imported at start-up; each command imports what it needs, so
`newsrag --help` is instant and no command pays for another's heavy libraries.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence

from rag.config import Settings

EXAMPLES = """examples:
  newsrag ingest seeds/                      index a folder of articles
  newsrag ingest dump.jsonl --index world    index a scraper dump into the index 'world'
  newsrag ingest https://example.com/feed.xml --prune
                                             re-read a feed, dropping entries it no longer has
  newsrag bench ingest ARTICLES --limit 300  measure ingestion against plain encoding
"""


def _settings(args: argparse.Namespace) -> Settings:
    """Environment (RAG_*) first, command-line flags on top."""
    overrides = {k: v for k, v in {
        "index": args.index,
        "embed_model": getattr(args, "embed_model", None),
        "allow_private_urls": True if getattr(args, "allow_private_urls", False) else None,
    }.items() if v is not None}
    return Settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files, folders, feeds and URLs; exit 1 if any item failed."""
    from rag.ingest import ingest

    settings = _settings(args)
    if args.rebuild and settings.index_dir.exists():
        if not (settings.index_dir / "manifest.json").exists():
            print(f"error: {settings.index_dir} does not look like an index; not deleting it", file=sys.stderr)
            return 2
        shutil.rmtree(settings.index_dir)
    report = ingest(args.targets, settings, prune=args.prune, progress=not args.quiet)
    print(report.summary())
    print(f"index '{settings.index}' at {settings.index_dir}")
    return 0 if report.ok else 1


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark suite and print its figures as Markdown."""
    from rag.bench import bench_ingest

    print(bench_ingest(args.targets, limit=args.limit, models=args.models.split(","), json_out=args.json))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help that shows how each command is used."""
    parser = argparse.ArgumentParser(
        prog="newsrag", description="Question answering over news, with citations you can check.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ing = sub.add_parser("ingest", help="add files, folders, feeds or URLs to an index",
                         description="Read news into an index. Unchanged articles are skipped, changed ones "
                                     "replaced, the same text under two URLs stored once.")
    ing.add_argument("targets", nargs="+", metavar="PATH|URL|FEED",
                     help="file, folder (recursive), RSS/Atom feed file or URL, or web page URL")
    ing.add_argument("--index", help="index name under RAG_INDEX_ROOT (default: RAG_INDEX or 'default')")
    ing.add_argument("--embed-model", choices=["minilm", "minilm-int8"], help="embedding backend")
    ing.add_argument("--prune", action="store_true",
                     help="remove documents that a re-read folder, dump or feed no longer contains")
    ing.add_argument("--rebuild", action="store_true", help="delete the index first and build it anew")
    ing.add_argument("--allow-private-urls", action="store_true",
                     help="allow URLs on loopback or private networks (refused by default)")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ing.set_defaults(func=cmd_ingest)

    bench = sub.add_parser("bench", help="measure speed against baselines run alongside")
    bench_sub = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    bi = bench_sub.add_parser("ingest", help="ingest throughput vs plain SentenceTransformer.encode")
    bi.add_argument("targets", nargs="+", metavar="PATH", help="articles to ingest (files, folders, dumps)")
    bi.add_argument("--limit", type=int, default=300, help="articles to use (default 300)")
    bi.add_argument("--models", default="minilm,minilm-int8", help="embedding backends to measure")
    bi.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bi.set_defaults(func=cmd_bench, index=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `newsrag` and `python -m rag`."""
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    from rag.store import StoreError

    try:
        return args.func(args)
    except (StoreError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to finish; nothing is half-written", file=sys.stderr)
        return 130
