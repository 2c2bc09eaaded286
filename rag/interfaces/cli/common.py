"""What several commands share: settings from flags, dates, and the options of a question."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

from rag.query.timescope import REPORT_LAG_DAYS

if TYPE_CHECKING:
    from rag.config import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment (RAG_*) first, command-line flags on top (pydantic is imported here, not to print help)."""
    from rag.config import Settings

    overrides = {k: v for k, v in {
        "index": args.index,
        "embed_model": getattr(args, "embed_model", None),
        "allow_private_urls": True if getattr(args, "allow_private_urls", False) else None,
        "chroma_url": getattr(args, "chroma_url", None),
        "check_mode": getattr(args, "check_mode", None) or getattr(args, "mode", None),
    }.items() if v is not None}
    return Settings(**overrides)


def iso_date(text: str) -> date:
    """An ISO date from the command line, with a message that says what is expected."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2023-10-25, got {text!r}") from None


DATES = f"""which dates each one uses:
  --as-of DATE   publication: nothing published after it is used (default today)
  --from/--to    publication: only sources published in this range
  the question's own time words ("on 23 October", "on Monday", "last week", "this week",
                 "yesterday", "in October", "since 3 May") name when things happened: they
                 match the dates passages report ("on Monday", "last week", "23 October",
                 read against each article's publication date) and reports published in
                 that window or up to {REPORT_LAG_DAYS} days after it; they count back from --as-of
  "latest"       publication: newer sources first among the relevant ones
"""


def question_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ask and check: index, time, outlet, answerer, output."""
    parser.add_argument("--index", help="index name (default: RAG_INDEX or 'default')")
    chroma_option(parser)
    parser.add_argument("--as-of", type=iso_date, metavar="DATE",
                        help="answer as of this date (default today): nothing published after it is used, and the "
                             "question's 'this week', 'yesterday', 'last month' count back from it")
    parser.add_argument("--from", dest="date_from", type=iso_date, metavar="DATE",
                        help="oldest publication date of a source")
    parser.add_argument("--to", dest="date_to", type=iso_date, metavar="DATE",
                        help="newest publication date of a source")
    parser.add_argument("--outlet", help="only sources from this outlet")
    parser.add_argument("--llm", help="answerer: extractive (default: RAG_LLM), local (the bundled Qwen2.5 1.5B), "
                                      "local:MODEL, local:PATH.gguf, openai or ollama")
    parser.add_argument("--check-mode", choices=("auto", "fast", "model"),
                        help="who judges each sentence's support: fast (words, facts, embeddings), model (a model "
                             "verifier where the fast check is unsure) or auto, the default (RAG_CHECK_MODE): model "
                             "when the answerer's model or the bundled one is installed")
    parser.add_argument("--json", action="store_true", help="print the whole Answer as JSON (each sentence with "
                                                            "its judge, confidence and contesting sources)")


def chroma_option(parser: argparse.ArgumentParser) -> None:
    """--chroma-url: a Chroma server instead of the embedded store."""
    parser.add_argument("--chroma-url", metavar="URL",
                        help="use the Chroma server at URL (http://host:port; default RAG_CHROMA_URL, else the "
                             "embedded store in the index folder)")
