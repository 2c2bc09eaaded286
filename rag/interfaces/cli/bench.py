"""`newsrag bench`: speed against baselines measured in the same run."""

from __future__ import annotations

import argparse
from pathlib import Path

from rag.interfaces.cli import bench_store
from rag.interfaces.cli.common import settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The bench command and its suites."""
    bench = sub.add_parser("bench", help="measure speed against baselines run alongside")
    bench_sub = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    _ingest_and_ask(bench_sub)
    _models_and_sessions(bench_sub)
    _load(bench_sub)
    _api(bench_sub)
    bench_store.add(bench_sub)


def _ingest_and_ask(bench_sub: argparse._SubParsersAction) -> None:
    """bench ingest and bench ask: the pipeline's own speed."""
    bi = bench_sub.add_parser("ingest", help="ingest throughput vs plain SentenceTransformer.encode")
    bi.add_argument("targets", nargs="+", metavar="PATH", help="articles to ingest (files, folders, dumps)")
    bi.add_argument("--limit", type=int, default=300, help="articles to use (default 300)")
    bi.add_argument("--models", default="auto,minilm-onnx,minilm",
                    help="comma-separated embedding runtimes to measure (auto names the one it runs)")
    bi.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bi.set_defaults(func=cmd_bench, index=None)
    ba = bench_sub.add_parser("ask", help="per-stage answer latency (p50/p95) and CLI cold start")
    ba.add_argument("questions", metavar="QUESTIONS",
                    help="a RealTime QA folder (*_qa.jsonl, each question asked as of its date) "
                         "or a text file with one question per line")
    ba.add_argument("--index", help="index to ask (default: RAG_INDEX or 'default')")
    ba.add_argument("--limit", type=int, default=100, help="questions to ask (default 100)")
    ba.add_argument("--llm", help="answerer (default: RAG_LLM or extractive)")
    ba.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    ba.set_defaults(func=cmd_bench)


def _models_and_sessions(bench_sub: argparse._SubParsersAction) -> None:
    """bench llm, ui and load: answerers side by side, and chat sessions under load."""
    bm = bench_sub.add_parser("llm", help="where an answer's time goes: load, tokens read, first words, checked "
                                          "answer, tokens/s, memory",
                              description="Each answerer answers the same questions in its own fresh process "
                                          "(so its load time and peak RSS are its own), free-form and, from a "
                                          "RealTime QA folder, again with the alternatives; the extractive answerer "
                                          "is the baseline. 'openai' goes through llama.cpp's HTTP server started "
                                          "here on loopback with the default local model.",
                              epilog="example:\n  newsrag bench llm ../shared/eval/realtimeqa-dev --index rtqa-dev "
                                     "--answerers extractive,local --limit 20 \\\n"
                                     "    --compare RAG_LLM_SLOTS=1 --compare RAG_LLM_EVIDENCE_TOKENS=300",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    bm.add_argument("questions", metavar="QUESTIONS",
                    help="a RealTime QA folder (*_qa.jsonl, asked as of each date) or one question per line")
    bm.add_argument("--index", help="index to ask (default: RAG_INDEX or 'default')")
    bm.add_argument("--answerers", default="extractive,local:qwen2.5-coder-0.5b,local,openai",
                    help="comma-separated answerers (default: extractive, both local models, openai)")
    bm.add_argument("--limit", type=int, default=10,
                    help="questions per answerer, spread evenly over the folder (default 10; each also asked "
                         "with its alternatives)")
    bm.add_argument("--compare", action="append", metavar="RAG_NAME=VALUE,...",
                    help="also run every model answerer with these settings (repeatable)")
    bm.add_argument("--threads", metavar="N,M", help="llama.cpp thread counts to compare (default: RAG_LLM_THREADS)")
    bm.add_argument("--busy", action="store_true",
                    help="also run each answerer beside a process that keeps one core busy")
    bm.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bm.set_defaults(func=cmd_bench)
    bu = bench_sub.add_parser("ui", help="chat UI under load: N sessions x M questions via gradio_client",
                              description="Start the UI on a free loopback port (or use --url), let N sessions ask "
                                          "M questions each at once, and compare with calling rag.answer.qa.answer "
                                          "directly for the same questions in the same run.")
    bu.add_argument("--index", help="index to ask (default: RAG_INDEX or 'default')")
    bu.add_argument("--sessions", type=int, default=10, help="concurrent sessions (default 10)")
    bu.add_argument("--questions", type=int, default=5, help="questions per session (default 5)")
    bu.add_argument("--url", help="a running UI to measure instead of starting one")
    bu.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bu.set_defaults(func=cmd_bench)


def _load(bench_sub: argparse._SubParsersAction) -> None:
    """bench load: chat sessions while news is uploaded, then while a watched feed grows."""
    bl = bench_sub.add_parser("load", help="chat sessions while an ingest runs, against the same sessions alone",
                              description="Serve a scratch index of seeds/ on a free loopback port; N sessions "
                                          "chat through gradio_client, first alone (the baseline), then while "
                                          "--limit articles from TARGETS are uploaded through the UI. Reports "
                                          "throughput, p50/p95/p99, errors, and whether every uploaded article "
                                          "is found by its own headline afterwards; then while the server's watcher "
                                          "ingests a loopback feed that grows every --watch-every seconds, and "
                                          "how soon each new article is searchable.")
    bl.add_argument("targets", nargs="+", metavar="PATH", help="articles to upload (files, folders, dumps)")
    bl.add_argument("--sessions", type=int, default=8, help="concurrent chat sessions (default 8)")
    bl.add_argument("--limit", type=int, default=50, help="articles uploaded while they chat (default 50)")
    bl.add_argument("--questions", type=int, default=5, help="fewest questions per session and phase (default 5)")
    bl.add_argument("--baseline-seconds", type=float, default=20.0, help="length of the chat-only phase (default 20)")
    bl.add_argument("--watch-every", type=float, default=30.0, metavar="SECONDS",
                    help="watch phase: the watcher's interval, and how often the feed grows (default 30)")
    bl.add_argument("--rounds", type=int, default=3, help="watch phase: times the feed grows (default 3)")
    bl.add_argument("--per-round", type=int, default=3, help="watch phase: articles added each time (default 3)")
    bl.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bl.set_defaults(func=cmd_bench, index=None)


def _api(bench_sub: argparse._SubParsersAction) -> None:
    """bench api: what the OpenAI-compatible API adds to answering."""
    bp = bench_sub.add_parser("api", help="/v1/chat/completions latency (p50/p95) vs rag.answer.qa.answer",
                              description="Serve the UI and its API in this process on a free loopback port, "
                                          "over the same Engine as the baseline; ask each question through "
                                          "POST /v1/chat/completions (extractive) and then directly, and report "
                                          "p50/p95 of both and their ratio.")
    bp.add_argument("questions", metavar="QUESTIONS", nargs="?",
                    help="a RealTime QA folder (*_qa.jsonl) or one question per line (default: the UI "
                         "benchmark's five questions in turn, as of 2023-10-26)")
    bp.add_argument("--index", help="index to ask (default: RAG_INDEX or 'default')")
    bp.add_argument("--limit", type=int, default=20, help="questions to ask (default 20)")
    bp.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bp.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark suite and print its figures as Markdown."""
    if args.suite == "api":
        from rag.benchmarks.api import bench_api, default_questions
        from rag.benchmarks.ask import load_questions

        questions = load_questions(Path(args.questions)) if args.questions else default_questions(args.limit)
        print(bench_api(settings_from(args), questions[: args.limit], json_out=args.json))
    elif args.suite == "load":
        from rag.benchmarks.load import bench_load

        print(bench_load(args.targets, settings_from(args), sessions=args.sessions, limit=args.limit,
                         minimum=args.questions, baseline_s=args.baseline_seconds, json_out=args.json,
                         interval=args.watch_every, rounds=args.rounds, per_round=args.per_round))
    elif args.suite == "ui":
        from rag.benchmarks.ui import bench_ui

        print(bench_ui(settings_from(args), sessions=args.sessions, questions=args.questions, url=args.url,
                       json_out=args.json))
    elif args.suite == "llm":
        from rag.benchmarks.llm import bench_llm

        threads = [int(t) for t in args.threads.split(",")] if args.threads else None
        print(bench_llm(Path(args.questions), settings_from(args), answerers=args.answerers.split(","),
                        limit=args.limit, json_out=args.json, threads=threads, busy=args.busy,
                        compare=args.compare))
    elif args.suite == "ingest":
        from rag.benchmarks.ingest import bench_ingest

        print(bench_ingest(args.targets, limit=args.limit, models=args.models.split(","), json_out=args.json))
    else:
        from rag.benchmarks.ask import bench_ask

        settings = settings_from(args)
        print(bench_ask(Path(args.questions), settings, limit=args.limit, llm=args.llm or settings.answer.llm,
                        json_out=args.json))
    return 0
