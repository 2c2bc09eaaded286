"""`newsrag serve` and `newsrag llm-server`: the chat UI with its OpenAI-compatible API, and a local model over
HTTP."""

from __future__ import annotations

import argparse
import os
import sys

from rag.interfaces.cli.common import chroma_option, settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The serve and llm-server commands."""
    srv = sub.add_parser("serve", help="chat in the browser (Gradio), or from any OpenAI client (/v1)",
                         description="Start the chat UI and, on the same port, an OpenAI-compatible API at /v1\n"
                                     "(GET /v1/models, POST /v1/chat/completions, POST /v1/ask): the models are\n"
                                     "the answerers, and every reply carries its citations. With RAG_API_KEY set,\n"
                                     "every /v1 request must send 'Authorization: Bearer KEY'.\n\n"
                                     "It binds 127.0.0.1 unless told otherwise; another address needs the UI's\n"
                                     "credentials (RAG_UI_USERNAME and RAG_UI_PASSWORD) and the API's key\n"
                                     "(RAG_API_KEY), or --open to say it is meant to be open to anyone who can\n"
                                     "reach it.",
                         epilog="examples:\n  newsrag serve --index world --port 8080\n"
                                "  RAG_UI_USERNAME=ana RAG_UI_PASSWORD=... RAG_API_KEY=... \\\n"
                                "    newsrag serve --host 0.0.0.0\n"
                                "  then point a chat client at http://127.0.0.1:7860/v1 with model 'extractive'",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    srv.add_argument("--index", help="index selected at start (default: RAG_INDEX or 'default'); "
                                     "every index under RAG_INDEX_ROOT can be picked in the UI")
    chroma_option(srv)
    srv.add_argument("--open", action="store_true",
                     help="allow a non-loopback --host without credentials or API key (anyone who reaches it can "
                          "use it)")
    srv.add_argument("--concurrency", type=int, default=4, help="questions answered at once (default 4)")
    _watch_options(srv)
    srv.set_defaults(func=cmd_serve)

    lls = sub.add_parser("llm-server", help="serve a local model over an OpenAI-compatible HTTP API",
                         description="llama.cpp's own server for a bundled model or a .gguf file, for other tools "
                                     "or for `--llm openai`. Set RAG_LLM_SERVER_KEY to require that API key.")
    lls.add_argument("--model", help="bundled model name or .gguf path (default RAG_LOCAL_MODEL)")
    lls.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    lls.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    lls.set_defaults(func=cmd_llm_server, index=None)


def _watch_options(srv: argparse.ArgumentParser) -> None:
    """--watch and its interval: the served index's watcher, which always runs, gets these sources too."""
    srv.add_argument("--watch", nargs="+", metavar="FEED|URL|PATH", default=[],
                     help="also watch these sources: checked on a schedule, new and changed articles ingested "
                          "into the served index (the list is kept with the index; see newsrag watch --help)")
    srv.add_argument("--every", default="15m", help="how often to check the --watch sources (default 15m)")
    srv.add_argument("--prune", action="store_true", help="remove articles a --watch source no longer has")
    srv.add_argument("--allow-private-urls", action="store_true",
                     help="allow watched URLs on loopback or private networks (refused by default)")


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the chat UI and its API; refuse a non-loopback address without credentials and key, or --open."""
    from rag.ingest.watchlist import parse_every
    from rag.interfaces.ui.server import UnsafeBind, Watching, launch

    settings = settings_from(args)
    try:
        watch = Watching(tuple(args.watch), parse_every(args.every), args.prune)
    except ValueError as exc:
        print(f"error: --every: {exc}", file=sys.stderr)
        return 2
    missing = [s for s in args.watch if "://" not in s and not os.path.exists(s)]
    if missing:
        print(f"error: no such file or folder to watch: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        launch(settings, host=args.host, port=args.port, open_=args.open, concurrency=args.concurrency, watch=watch)
    except UnsafeBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_llm_server(args: argparse.Namespace) -> int:
    """Serve a local model over llama.cpp's OpenAI-compatible HTTP API until interrupted."""
    import signal

    from rag.answer.llm import LLMError, local_model_path
    from rag.answer.llm.local import llama_params, start_llama, threads
    from rag.interfaces.ui.server import is_loopback

    settings = settings_from(args)
    key = os.environ.get("RAG_LLM_SERVER_KEY")
    if not key and not is_loopback(args.host):
        print(f"error: --host {args.host} reaches beyond this machine: set RAG_LLM_SERVER_KEY to the API key "
              "clients must send, or serve on 127.0.0.1", file=sys.stderr)
        return 2
    try:
        params = llama_params(local_model_path(args.model or "", settings), threads(settings),
                              settings.llm.context_window, settings.llm.slots)
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
