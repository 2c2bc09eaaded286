"""`newsrag ingest | watch | ask | check | stats | sources | remove | serve | models | llm-server | bench | eval`:
the command line.

One module per command, each owning its options and its handler. Only argparse is imported at
start-up; each command imports what it needs, so `newsrag --help` is instant and no command pays for
another's heavy libraries.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rag.interfaces.cli import ask, bench, evaluate, ingest, models, serve, sources, stats, watch

EXAMPLES = """examples:
  newsrag ingest seeds/                      index a folder of articles
  newsrag ingest dump.jsonl --index world    index a scraper dump into the index 'world'
  newsrag ingest https://example.com/feed.xml --prune
                                             re-read a feed, dropping entries it no longer has
  newsrag watch https://example.com/feed.xml --every 15m
                                             keep an index current: check a feed on a schedule
  newsrag ask "Who refused to meet Sudani?"  answer with numbered, checked sources
  newsrag ask "What happened this week?" --as-of 2023-10-26 --json
  newsrag ask "Who did Blinken speak with on 23 October?" --as-of 2023-10-26
                                             a question's own dates are when things happened: they
                                             match the dates articles report, and reports published
                                             soon after; --as-of, --from and --to bound when
                                             sources were published; "latest" prefers newer ones
  newsrag check "Kaabi refused to meet Sudani [1]." --question "Who refused to meet Sudani?"
  newsrag stats                              articles, passages, outlets, dates and size of the index
  newsrag sources --outlet Reuters --from 2023-10-01
                                             list the articles: outlet, headline, date, URL, passages,
                                             first and last ingested (--json for all of it)
  newsrag remove https://example.com/story   remove an article (asks first; --yes in scripts)
  newsrag remove --before 2023-01-01 --yes   remove what was published before 2023 (undated articles stay)
  newsrag ask "Who refused to meet Sudani?" --llm local   answer with the bundled local model
  newsrag models install                     fetch and check the bundled local model (once)
  newsrag serve                              chat in the browser at http://127.0.0.1:7860
  newsrag bench ingest ARTICLES --limit 300  measure ingestion against plain encoding
  newsrag bench ask QUESTIONS --index pool   answer latency per stage, p50/p95
  newsrag bench load ARTICLES --sessions 8   chat latency while news is added, vs chat alone
  newsrag eval realtimeqa ../shared/eval/realtimeqa-dev --index pool --json rtqa.json
                                             retrieval, answer and citation quality on RealTime QA
  newsrag eval rgb ../shared/eval/rgb/en_fact.json   faithfulness to given (and planted wrong) passages
  newsrag eval wice ../shared/eval/wice/oracle_claim_dev.jsonl   the citation check against human labels
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help that shows how each command is used."""
    parser = argparse.ArgumentParser(
        prog="newsrag", description="Question answering over news, with citations you can check.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (ingest, watch, ask, stats, sources, serve, models, bench, evaluate):
        command.add(sub)
    return parser


def one_line(exc: Exception) -> str:
    """A settings error as the rule each bad value broke, not pydantic's report."""
    errors = getattr(exc, "errors", lambda: [])()
    said = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}".removeprefix(": ") for e in errors]
    return "; ".join(s.replace("Value error, ", "") for s in said) or str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `newsrag` and `python -m rag`."""
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    from rag.answer.llm import LLMError
    from rag.answer.qa import EmptyQuestion
    from rag.index import StoreError

    try:
        return args.func(args)
    except ValidationError as exc:  # a bad RAG_* value or flag: the rule broken, in one line
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except (StoreError, LLMError, EmptyQuestion) as exc:  # LLMError: a model missing, unreachable or too slow
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `newsrag ask ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a full disk or a read-only folder met outside Chroma (manifest, keyword index)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}. Free disk space or make the folder writable, "
              "then run the same command again.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to finish; nothing is half-written", file=sys.stderr)
        return 130
