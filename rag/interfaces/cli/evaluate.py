"""`newsrag eval`: answer and citation quality on public news sets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag.interfaces.cli.common import settings_from

if TYPE_CHECKING:
    from rag.config import Settings


def add(sub: argparse._SubParsersAction) -> None:
    """The eval command and its suites."""
    ev = sub.add_parser("eval", help="measure answer quality on public news QA sets")
    ev_sub = ev.add_subparsers(dest="suite", required=True, metavar="SUITE")
    er = ev_sub.add_parser("realtimeqa", help="RealTime QA: gold-article recall, choice accuracy, citations")
    er.add_argument("path", metavar="DIR", help="folder of RealTime QA weekly *_qa/_gold/_gcs.jsonl files")
    er.add_argument("--weeks", help="comma-separated week ids, e.g. 20220617,20220624 (default: all)")
    er.add_argument("--index", help="reuse this index if it exists (default: rtqa-<weeks>, built from the pool)")
    er.add_argument("--plots", default="docs/img", metavar="DIR", help="where PNG plots go ('' for none)")
    er.add_argument("--nota", action="store_true",
                    help='ask the "None of the above" variants (*_qa_nota.jsonl): where the true answer was removed '
                         "from the list, an answer naming no listed choice is right")
    er.add_argument("--sample", type=int, metavar="N",
                    help="ask N questions spread evenly over the set (the same N every run; default: all)")
    eg = ev_sub.add_parser("rgb", help="RGB counterfactual: accuracy, planted errors repeated or flagged")
    eg.add_argument("path", metavar="FILE", help="RGB en_fact.json (JSON Lines)")
    ew = ev_sub.add_parser("wice", help="WiCE: the citation checker against human judgements of support",
                           description="Check each WiCE claim against the sentences of the article it cites, as "
                                       "`newsrag check` would, and compare with what people judged.")
    ew.add_argument("path", metavar="FILE", help="WiCE oracle_claim_dev.jsonl (JSON Lines)")
    ew.add_argument("--limit", type=int, help="check only the first N claims")
    ew.add_argument("--mode", choices=("fast", "model"),
                    help="checker mode (default: RAG_CHECK_MODE, auto: model when the bundled model is installed)")
    ew.add_argument("--json", metavar="OUT", help="also write figures and per-claim records as JSON")
    el = ev_sub.add_parser("lag", help="how many days after an event its reports appear (RAG_REPORT_LAG_DAYS)",
                           description="Read an index built from RealTime QA (`newsrag eval realtimeqa`): how late "
                                       "reports naming an event's weekday appear, and the gold recall@5 of the "
                                       "questions about a past window with each candidate lag.")
    el.add_argument("path", metavar="DIR", help="folder of RealTime QA weekly *_qa/_gold/_gcs.jsonl files")
    el.add_argument("--index", required=True, help="the index holding that folder's articles")
    el.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    el.set_defaults(func=cmd_eval, limit=None)
    for p in (er, eg):
        p.add_argument("--limit", type=int, help="ask only the first N questions")
        p.add_argument("--llm", help="answerer (default: RAG_LLM or extractive)")
        p.add_argument("--json", metavar="OUT", help="also write figures and per-question records as JSON")
    er.set_defaults(func=cmd_eval)
    eg.set_defaults(func=cmd_eval, index=None)
    ew.set_defaults(func=cmd_eval, index=None, llm=None)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation suite; print its Markdown table, and write JSON and plots."""
    from rag.evaluation import report

    settings = settings_from(args)
    flags = {"--weeks": getattr(args, "weeks", None), "--limit": args.limit, "--sample": getattr(args, "sample", None),
             "--llm": getattr(args, "llm", None), "--index": getattr(args, "index", None),
             "--mode": getattr(args, "mode", None), "--nota": getattr(args, "nota", None) or None}
    given = [k if v is True else f"{k} {v}" for k, v in flags.items() if v]  # a bare flag (--nota) alone
    command = " ".join(["newsrag eval", args.suite, args.path, *given])
    env = report.environment(command)
    try:
        result, text = _run_suite(args, settings, env)
    except ValueError as exc:  # a bad --weeks, a folder with no questions
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": env, **result}, indent=2) + "\n")
    print(text)
    return 0


def _run_suite(args: argparse.Namespace, settings: Settings, env: dict) -> tuple[dict, str]:
    """The suite's result and its Markdown table (and its plots, when asked)."""
    from rag.evaluation import report

    if args.suite == "realtimeqa":
        from rag.evaluation.realtimeqa import evaluate

        weeks = [w.strip() for w in args.weeks.split(",") if w.strip()] if args.weeks else None
        result = evaluate(Path(args.path), settings, weeks=weeks, limit=args.limit, llm=args.llm,
                          index=args.index, sample=args.sample, nota=args.nota)
        plots = report.write_plots(result, Path(args.plots)) if args.plots else {}
        text = report.realtimeqa_markdown(result, env, plots)
    elif args.suite == "wice":
        from rag.evaluation.wice import evaluate as evaluate_wice

        result = evaluate_wice(Path(args.path), settings, limit=args.limit)
        text = report.wice_markdown(result, env)
    elif args.suite == "lag":
        from rag.evaluation import lag

        result = lag.evaluate(Path(args.path), settings, index=args.index)
        text = lag.markdown(result, env)
    else:
        from rag.evaluation.rgb import evaluate as evaluate_rgb

        result = evaluate_rgb(Path(args.path), settings, limit=args.limit, llm=args.llm)
        text = report.rgb_markdown(result, env)
    return result, text
