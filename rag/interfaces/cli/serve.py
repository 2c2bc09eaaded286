"""`newsrag serve` and `newsrag llm-server`: the chat UI, and a local model over HTTP."""

from __future__ import annotations

import argparse
import os
import sys

from rag.interfaces.cli.common import chroma_option, settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The serve and llm-server commands."""
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
    chroma_option(srv)
    srv.add_argument("--open", action="store_true",
                     help="allow a non-loopback --host without credentials (anyone who reaches it can use it)")
    srv.add_argument("--concurrency", type=int, default=4, help="questions answered at once (default 4)")
    srv.set_defaults(func=cmd_serve)

    lls = sub.add_parser("llm-server", help="serve a local model over an OpenAI-compatible HTTP API",
                         description="llama.cpp's own server for a bundled model or a .gguf file, for other tools "
                                     "or for `--llm openai`. Set RAG_LLM_SERVER_KEY to require that API key.")
    lls.add_argument("--model", help="bundled model name or .gguf path (default RAG_LOCAL_MODEL)")
    lls.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    lls.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    lls.set_defaults(func=cmd_llm_server, index=None)


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the chat UI; refuse a non-loopback address without credentials or --open."""
    from rag.interfaces.ui.server import UnsafeBind, launch

    settings = settings_from(args)
    try:
        launch(settings, host=args.host, port=args.port, open_=args.open, concurrency=args.concurrency)
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
