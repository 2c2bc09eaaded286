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
    er = _add_realtimeqa(ev_sub)
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
    _add_calibrate(ev_sub)
    _add_evidence(ev_sub)
    for p in (er, eg):
        p.add_argument("--limit", type=int, help="ask only the first N questions")
        p.add_argument("--llm", help="answerer (default: RAG_LLM or extractive)")
        p.add_argument("--json", metavar="OUT", help="also write figures and per-question records as JSON")
    er.set_defaults(func=cmd_eval)
    eg.set_defaults(func=cmd_eval, index=None)
    ew.set_defaults(func=cmd_eval, index=None, llm=None)


def _add_realtimeqa(ev_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`newsrag eval realtimeqa`: which questions, how they are asked, where the pool is indexed."""
    er = ev_sub.add_parser("realtimeqa", help="RealTime QA: gold-article recall, answer precision, citations")
    er.add_argument("path", metavar="DIR", help="folder of RealTime QA weekly *_qa/_gold/_gcs.jsonl files")
    er.add_argument("--weeks", help="comma-separated week ids, e.g. 20220617,20220624 (default: all)")
    er.add_argument("--index", help="reuse this index if it exists (default: rtqa-<weeks>, built from the pool)")
    er.add_argument("--plots", default="docs/img", metavar="DIR", help="where PNG plots go ('' for none)")
    er.add_argument("--nota", action="store_true",
                    help='ask the "None of the above" variants (*_qa_nota.jsonl): where the true answer was removed '
                         "from the list, an answer naming no listed choice is right")
    er.add_argument("--free", action="store_true",
                    help="ask each question as a user would, without its choices; right when the answer holds 75%% "
                         "of the gold choice's content words (a gold with none, \"None of the above\", is counted "
                         "apart); reports answer precision, right over answered (no BM25-count baseline)")
    er.add_argument("--sample", type=int, metavar="N",
                    help="ask N questions spread evenly over the set (the same N every run; default: all)")
    return er


def _add_calibrate(ev_sub: argparse._SubParsersAction) -> None:
    """`newsrag eval calibrate`: fit the answer judgement on some runs' records, check it on others."""
    ec = ev_sub.add_parser(
        "calibrate", help="fit the answer judgement (rag/answer/judge.py) on runs' records and check it on others",
        description="Read `newsrag eval realtimeqa --json` runs made with RAG_JUDGE=false: report each signal's ROC "
                    "AUC and a logistic model's on the fitting runs and the checking runs, and the threshold that "
                    "reaches the target answer precision on the fitting runs, with what it keeps on the others.")
    ec.add_argument("--fit", nargs="+", required=True, metavar="JSON", help="runs to fit on (e.g. the dev set's)")
    ec.add_argument("--check", nargs="+", default=[], metavar="JSON", help="runs to check on (e.g. the 2023 set's)")
    ec.add_argument("--target", type=float, default=0.8, help="answer precision to reach (default 0.8)")
    ec.add_argument("--json", metavar="OUT", help="also write the fitted weights and figures as JSON")
    ec.set_defaults(func=cmd_calibrate)


def _add_evidence(ev_sub: argparse._SubParsersAction) -> None:
    """`newsrag eval evidence`: gold coverage and tokens of what a model reads, at several budgets."""
    ee = ev_sub.add_parser(
        "evidence", help="is the answer in what a model reads, and at what cost in tokens (no model runs)",
        description="For each RealTime QA question: whether the gold choice is named in the top four passages (what "
                    "a model read before) and in the evidence block at each budget (RAG_LLM_EVIDENCE_TOKENS), and "
                    "how many tokens each costs.")
    ee.add_argument("path", metavar="DIR", help="folder of RealTime QA weekly *_qa/_gold/_gcs.jsonl files")
    ee.add_argument("--index", help="reuse this index if it exists (default: rtqa-<weeks>, built from the pool)")
    ee.add_argument("--budgets", default="300,450,600,900", help="evidence budgets in tokens, comma-separated")
    ee.add_argument("--free", action="store_true", help="ask without the choices, as people type")
    ee.add_argument("--nota", action="store_true", help='the "None of the above" variants (*_qa_nota.jsonl)')
    ee.add_argument("--sample", type=int, metavar="N", help="N questions spread evenly over the set")
    ee.add_argument("--json", metavar="OUT", help="also write figures and per-question records as JSON")
    ee.set_defaults(func=cmd_evidence)


def cmd_evidence(args: argparse.Namespace) -> int:
    """Measure what the evidence block holds; print its table."""
    from rag.evaluation import evidence

    try:
        budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
        result = evidence.evaluate(Path(args.path), settings_from(args), budgets=budgets, index=args.index,
                                   sample=args.sample, free=args.free, nota=args.nota)
    except ValueError as exc:  # a budget that is not a number, a folder with no questions
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(evidence.markdown(result))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit and check the judgement; print its tables."""
    from rag.evaluation.calibrate import calibrate, markdown

    missing = [p for p in [*args.fit, *args.check] if not Path(p).is_file()]
    if missing:
        print(f"error: no such run file: {', '.join(missing)} (write one with newsrag eval realtimeqa --json OUT)",
              file=sys.stderr)
        return 2
    result = calibrate([Path(p) for p in args.fit], [Path(p) for p in args.check], args.target)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result, args.target))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation suite; print its Markdown table, and write JSON and plots."""
    from rag.evaluation import report

    settings = settings_from(args)
    flags = {"--weeks": getattr(args, "weeks", None), "--limit": args.limit, "--sample": getattr(args, "sample", None),
             "--llm": getattr(args, "llm", None), "--index": getattr(args, "index", None),
             "--mode": getattr(args, "mode", None), "--nota": getattr(args, "nota", None) or None,
             "--free": getattr(args, "free", None) or None}
    given = [k if v is True else f"{k} {v}" for k, v in flags.items() if v]  # a bare flag (--nota, --free) alone
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
                          index=args.index, sample=args.sample, nota=args.nota, free=args.free)
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
