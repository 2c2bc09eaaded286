"""`newsrag bench keyword` and `newsrag bench scale`: the store's own costs, as the index grows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.interfaces.cli.common import chroma_option, settings_from


def add(bench_sub: argparse._SubParsersAction) -> None:
    """The keyword and scale suites."""
    bk = bench_sub.add_parser("keyword", help="keyword side: adding articles vs rebuilding it whole",
                              description="On a scratch copy of an embedded index: rebuild the keyword side from "
                                          "the whole collection (the baseline), ingest --articles new articles "
                                          "from TARGETS and time the keyword side's share of that write, then a "
                                          "reader catching up on it.")
    bk.add_argument("targets", nargs="+", metavar="PATH", help="where the new articles come from (files, dumps)")
    bk.add_argument("--index", help="index to copy (default: RAG_INDEX or 'default')")
    bk.add_argument("--articles", type=int, default=100, help="new articles in the write (default 100)")
    bk.set_defaults(func=cmd_keyword)
    sc = bench_sub.add_parser("scale", help="hybrid retrieval, keyword updates, memory and disk at N passages",
                              description="Make --passages passages from the --index's own (recombined, with "
                                          "averaged vectors), write them through the real write path into a "
                                          "scratch index, then measure hybrid retrieval p50/p95/p99 of QUESTIONS "
                                          "with and without a 30-day window, one more write of 100 articles on "
                                          "the keyword side against a full rebuild, memory and disk.")
    sc.add_argument("questions", metavar="QUESTIONS", help="a RealTime QA folder (*_qa.jsonl) or a text file")
    sc.add_argument("--index", help="index whose passages are recombined (default: RAG_INDEX or 'default')")
    chroma_option(sc)
    sc.add_argument("--passages", type=int, default=500_000, help="passages to make (default 500000)")
    sc.add_argument("--per-write", type=int, default=50_000, help="passages per write (default 50000)")
    sc.add_argument("--limit", type=int, default=100, help="questions to time (default 100)")
    sc.add_argument("--server", action="store_true", help="put the scratch collection on a `chroma run` started "
                                                          "here (Chroma server mode) instead of embedded")
    sc.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    sc.set_defaults(func=cmd_scale)


def cmd_keyword(args: argparse.Namespace) -> int:
    """Time one write's keyword segment and a reader's catch-up against a full rebuild."""
    from rag.benchmarks.keyword import bench_keyword

    print(bench_keyword(settings_from(args), args.targets, args.articles))
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    """Build a large scratch index and print what it costs."""
    from rag.benchmarks.ask import load_questions
    from rag.benchmarks.scale import bench_scale, markdown

    figures = bench_scale(settings_from(args), load_questions(Path(args.questions))[: args.limit],
                          passages=args.passages, per_write=args.per_write, server=args.server)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    print(markdown(figures))
    return 0
