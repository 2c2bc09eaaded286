"""Generative backends against real models: Qwen2.5-Coder-0.5B in this process (llama.cpp via xllamacpp) and
behind llama.cpp's own OpenAI-compatible server (`newsrag llm-server`). Scripted servers on 127.0.0.1 are used
only for wire-protocol details and error replies (and for Ollama, which cannot run here). No internet.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from rag.answer import models
from rag.answer.grounded import letter_shares
from rag.answer.llm import ContextOverflow, Generator, LLMError, complete, get_generator
from rag.config import Settings
from tests import ROOT

MODELS_DIR = ROOT / "models"
SMALL = "qwen2.5-coder-0.5b"  # the bundled model the tests run: three times faster than the default 1.5B
SYSTEM = "Answer from the sources only."
USER = "Who won the match?"
PIECES = ["The home side", " won", " 2-1 [1]."]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


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


def openai_first_token(top: dict[str, float] | None) -> Callable[[ModelServer, BaseHTTPRequestHandler], None]:
    """A non-streamed chat completion of one token, with ``top`` as its top log-probabilities (None: no logprobs)."""
    def reply(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
        tops = top or {"A": 0.0}
        first = max(tops, key=lambda t: tops[t])
        entry = {"token": first, "logprob": tops[first], "bytes": list(first.encode()),
                 "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in tops.items()]}
        choice = {"index": 0, "message": {"role": "assistant", "content": first}, "finish_reason": "length",
                  "logprobs": {"content": [entry]} if top is not None else None}
        send_json(handler, 200, {"id": "c1", "object": "chat.completion", "created": 1, "model": "test-model",
                                 "choices": [choice],
                                 "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}})

    return reply


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


def ollama_first_token(top: dict[str, float] | None) -> Callable[[ModelServer, BaseHTTPRequestHandler], None]:
    """Ollama /api/chat without streaming: one token, with ``top`` as its top log-probabilities (None: none)."""
    def reply(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
        body = {"model": "test-model", "created_at": "2024-05-01T00:00:00Z", "done": True, "done_reason": "length",
                "message": {"role": "assistant", "content": next(iter(top or {"A": 0}))}}
        if top is not None:
            first = next(iter(top))
            body["logprobs"] = [{"token": first, "logprob": top[first],
                                 "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()]}]
        send_json(handler, 200, body)

    return reply


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


def streamed(gen: Generator, server: ModelServer, schema: dict | None = None) -> list[str]:
    """The deltas; lets the server go on only after the first delta arrived (so nothing was buffered)."""
    deltas = []
    for delta in gen.stream(SYSTEM, USER, schema):
        deltas.append(delta)
        server.go_on.set()
    assert not server.waited_out, "the first delta only arrived after the whole reply: not streamed"
    return deltas


def local_settings(**update: object) -> Settings:
    """Settings for the bundled models installed in the repository, on one llama.cpp thread (2 shared cores)."""
    return Settings(_env_file=None, models_dir=MODELS_DIR, llm_threads=1, **update)


@contextmanager
def llm_server(model: str = SMALL, timeout: float = 120.0) -> Iterator[tuple[subprocess.Popen, str]]:
    """`newsrag llm-server` in a subprocess on a free port: (the process, its /v1 URL) once it says it serves."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("newsrag")), "llm-server", "--model", model, "--port", str(port)]
    env = {**os.environ, "RAG_MODELS_DIR": str(MODELS_DIR), "RAG_LLM_THREADS": "1"}
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=ROOT)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()  # type: ignore
        try:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"newsrag llm-server said nothing in {timeout:g} s")
            url = f"http://127.0.0.1:{port}/v1"
            if not line.startswith("serving ") or url not in line:
                errors.seek(0)
                pytest.fail(f"newsrag llm-server did not start: {line!r} {errors.read()[-2000:]}")
            yield proc, url
        finally:
            proc.kill()
            proc.wait(30)


# --- factory -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["gpt", "", "openai:gpt-4o", "ollama:llama3", "local:", "extractive"])
def test_unknown_spec_refused_with_choices(spec: str) -> None:
    names = ", ".join(models.MODELS)
    with pytest.raises(ValueError, match=rf"'openai', 'ollama', 'local', 'local:MODEL' \({names}\) or "
                                         rf"'local:PATH.gguf', got {spec!r}"):
        get_generator(spec, Settings())


def test_local_specs_name_the_model_and_load_nothing() -> None:
    """A bundled name, the default, or a path pick their file; building a generator loads no model."""
    settings = local_settings(local_model=SMALL)
    by_name = get_generator(f"local:{SMALL}", settings)
    by_default = get_generator("local", settings)
    by_path = get_generator(f"local:{MODELS_DIR / f'{SMALL}.gguf'}", settings)
    assert by_name.name == by_default.name == by_path.name == f"local:{SMALL}"
    assert by_name.path == by_default.path == by_path.path == (MODELS_DIR / f"{SMALL}.gguf").resolve()


def test_import_is_light() -> None:
    """Importing rag.answer.llm loads none of the heavy backends."""
    code = ("import sys, rag.answer.llm; "
            "heavy = {'torch', 'transformers', 'llama_index', 'openai', 'ollama', 'xllamacpp'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- openai wire protocol (scripted server) -------------------------------------------------------------


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
    assert "response_format" not in body

    assert complete(gen, SYSTEM, USER) == "".join(PIECES)
    assert server.requests[-1].body["stream"] is True  # complete() is the stream, joined


def test_openai_schema_sent_as_response_format(serve: Callable[..., ModelServer]) -> None:
    server = serve(openai_sse)
    server.go_on.set()
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", llm_timeout=10))
    assert complete(gen, SYSTEM, USER, SCHEMA) == "".join(PIECES)
    body = server.requests[-1].body
    assert body["stream"] is True
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "reply", "strict": True, "schema": SCHEMA}}


def test_openai_next_token_asks_for_logprobs(serve: Callable[..., ModelServer]) -> None:
    top = {"B": -0.2, "A": -1.9, "C": -3.1, " The": -4.0}
    server = serve(openai_first_token(top))
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", openai_model="m", llm_timeout=10))
    assert gen.next_token(SYSTEM, USER) == top
    body = server.requests[-1].body
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert not body.get("stream") and body["temperature"] == 0
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]


def test_openai_without_logprobs_cannot_score(serve: Callable[..., ModelServer]) -> None:
    server = serve(openai_first_token(None))
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", llm_timeout=10))
    with pytest.raises(LLMError, match=rf"server at {server.base}/v1 returned no logprobs"):
        gen.next_token(SYSTEM, USER)


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
    with pytest.raises(LLMError, match=rf"cannot reach the OpenAI-compatible server at {url}\b.*RAG_OPENAI_BASE_URL"):
        complete(gen, SYSTEM, USER)
    with pytest.raises(LLMError, match=rf"cannot reach the OpenAI-compatible server at {url}\b"):
        gen.next_token(SYSTEM, USER)
    assert time.perf_counter() - started < 5


def test_openai_http_error_explained(serve: Callable[..., ModelServer]) -> None:
    server = serve(lambda _, h: send_json(h, 401, {"error": {"message": "Incorrect API key provided"}}))
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", llm_retries=0, llm_timeout=5))
    with pytest.raises(LLMError, match=r"HTTP 401: .*Incorrect API key.*RAG_OPENAI_API_KEY") as raised:
        complete(gen, SYSTEM, USER)
    assert not isinstance(raised.value, ContextOverflow)


def test_openai_context_refusal_is_an_overflow(serve: Callable[..., ModelServer]) -> None:
    """The answerer retries with fewer sources only on this error: it must be told apart from the others."""
    message = "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it"
    server = serve(lambda _, h: send_json(h, 400, {"error": {"code": 400, "message": message,
                                                             "type": "exceed_context_size_error"}}))
    gen = get_generator("openai", Settings(openai_base_url=f"{server.base}/v1", llm_retries=0, llm_timeout=5))
    with pytest.raises(ContextOverflow, match=r"HTTP 400: .*exceeds the available context size.*lower top_k"):
        complete(gen, SYSTEM, USER)


# --- ollama wire protocol (scripted server: no Ollama can be installed here) ----------------------------


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
    assert not body.get("format")
    assert complete(gen, SYSTEM, USER) == "".join(PIECES)


def test_ollama_schema_sent_as_format(serve: Callable[..., ModelServer]) -> None:
    server = serve(ollama_ndjson)
    server.go_on.set()
    gen = get_generator("ollama", Settings(ollama_base_url=server.base, ollama_model="test-model", llm_timeout=10))
    assert complete(gen, SYSTEM, USER, SCHEMA) == "".join(PIECES)
    body = server.requests[-1].body
    assert body["format"] == SCHEMA and body["stream"] is True


def test_ollama_next_token_sends_logprobs_and_parses_them(serve: Callable[..., ModelServer]) -> None:
    top = {"B": -0.3, "A": -1.6, "D": -2.2, "C": -2.9}
    server = serve(ollama_first_token(top))
    gen = get_generator("ollama", Settings(ollama_base_url=server.base, ollama_model="test-model",
                                           llm_context_window=2048, llm_timeout=10))
    assert gen.next_token(SYSTEM, USER) == top
    assert letter_shares(top, 4).index(max(letter_shares(top, 4))) == 1  # B
    (request,) = server.requests
    body = request.body
    assert request.path == "/api/chat" and body["model"] == "test-model" and body["stream"] is False
    assert body["logprobs"] is True and body["top_logprobs"] == 20
    assert body["options"] == {"temperature": 0.0, "num_predict": 1, "num_ctx": 2048}
    assert body["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]


def test_ollama_without_logprobs_cannot_score(serve: Callable[..., ModelServer]) -> None:
    server = serve(ollama_first_token(None))
    gen = get_generator("ollama", Settings(ollama_base_url=server.base, llm_timeout=10))
    with pytest.raises(LLMError, match=rf"Ollama server at {server.base} returned no logprobs"):
        gen.next_token(SYSTEM, USER)


def test_ollama_unreachable_names_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    gen = get_generator("ollama", Settings(ollama_base_url=url, llm_timeout=5))
    with pytest.raises(LLMError, match=rf"cannot reach the Ollama server at {url} .*ollama serve"):
        complete(gen, SYSTEM, USER)
    with pytest.raises(LLMError, match=rf"cannot reach the Ollama server at {url} .*ollama serve"):
        gen.next_token(SYSTEM, USER)


def test_ollama_unknown_model_says_pull(serve: Callable[..., ModelServer]) -> None:
    server = serve(lambda _, h: send_json(h, 404, {"error": "model 'nope' not found"}))
    gen = get_generator("ollama", Settings(ollama_base_url=server.base, ollama_model="nope", llm_timeout=5))
    with pytest.raises(LLMError, match=r"refused model 'nope': model 'nope' not found: run 'ollama pull nope'"):
        complete(gen, SYSTEM, USER)


# --- local: the real Qwen2.5-Coder-0.5B in this process ---------------------------------------------------

NEWS_SYSTEM = "You answer questions about the news using only the source."
NEWS_USER = ("Source: Reuters | Floods in Valencia | 2024-10-30\nFlash floods in the Spanish region of Valencia "
             "killed at least 95 people, officials said on Wednesday.\n\nQuestion: What happened in Valencia? "
             "Explain in detail.")
COUNT_USER = "Count from 1 to 500, one number per line, nothing else."
CHOICE_SYSTEM = "You answer multiple-choice questions. Reply with the letter of the correct option only."
CHOICE_USER = ("Source: Flash floods in the Spanish region of Valencia killed at least 95 people.\n\n"
               "Question: Where did the floods happen?\nA. Lisbon\nB. Valencia\nC. Oslo\nD. Athens\nAnswer:")
LOCAL_MAX = 24


@pytest.fixture(scope="module")
def local() -> tuple[Generator, list[str]]:
    """The 0.5B model (loaded once for the whole session) and one reply, streamed, that several tests look at."""
    gen = get_generator(f"local:{SMALL}", local_settings(llm_max_tokens=LOCAL_MAX))
    return gen, list(gen.stream(NEWS_SYSTEM, NEWS_USER))


def test_local_streams_several_nonempty_deltas(local: tuple[Generator, list[str]]) -> None:
    gen, deltas = local
    assert gen.name == f"local:{SMALL}"
    assert len(deltas) >= 5 and all(isinstance(d, str) and d for d in deltas), deltas
    assert "Valencia" in "".join(deltas)


def test_local_greedy_complete_is_the_joined_stream(local: tuple[Generator, list[str]]) -> None:
    """Greedy: the same request, in the same state, gives the same tokens, and complete() is the stream joined.

    "The same state": llama.cpp's prompt cache computes a repeated prompt's last token alone, not in a batch,
    and that can flip a near-tie of the 0.5B model (measured: "southern" on the first ask, "western" after).
    """
    gen, deltas = local
    again = list(gen.stream(NEWS_SYSTEM, NEWS_USER))
    assert complete(gen, NEWS_SYSTEM, NEWS_USER) == "".join(again)
    assert list(gen.stream(NEWS_SYSTEM, NEWS_USER)) == again  # the same tokens, the same pieces
    assert again[0] == deltas[0] and len(again) == len(deltas) == LOCAL_MAX


def test_local_respects_max_tokens(local: tuple[Generator, list[str]]) -> None:
    gen, deltas = local
    assert len(deltas) <= LOCAL_MAX  # llama.cpp sends one delta per token at most (it had more to say)
    short = list(get_generator(f"local:{SMALL}", local_settings(llm_max_tokens=5)).stream(NEWS_SYSTEM, NEWS_USER))
    assert 0 < len(short) <= 5 and len("".join(short)) < len("".join(deltas))
    assert "".join(deltas).startswith("".join(short))  # greedy: the same reply, cut earlier


def test_local_schema_constrains_the_output(local: tuple[Generator, list[str]]) -> None:
    """Held to a schema, even an answer the model would not give is valid JSON of that shape."""
    gen = get_generator(f"local:{SMALL}", local_settings(llm_max_tokens=64))
    schema = {"type": "object", "additionalProperties": False, "required": ["colour", "sources"],
              "properties": {"colour": {"type": "string", "enum": ["green", "purple"]},
                             "sources": {"type": "array", "minItems": 1, "maxItems": 2,
                                         "items": {"type": "integer", "enum": [1, 2, 3]}}}}
    free = complete(gen, "Be brief.", "What colour is a clear daytime sky? Answer in one word.")
    assert "green" not in free.lower() and "purple" not in free.lower(), free
    deltas = list(gen.stream("Reply in JSON.", "What colour is a clear daytime sky? Which sources say so?", schema))
    assert len(deltas) >= 3
    reply = json.loads("".join(deltas))
    jsonschema.validate(reply, schema)
    assert "\n" not in "".join(deltas)  # written compactly: indentation would cost tokens


def test_local_next_token_scores_the_letters(local: tuple[Generator, list[str]]) -> None:
    gen, _ = local
    gen.next_token(CHOICE_SYSTEM, CHOICE_USER)  # fills the prompt cache: a cold first pass rounds differently
    logprobs = gen.next_token(CHOICE_SYSTEM, CHOICE_USER)
    assert len(logprobs) >= 10 and all(lp <= 0 for lp in logprobs.values())
    assert {"A", "B", "C", "D"} <= set(logprobs), logprobs
    shares = letter_shares(logprobs, 4)
    assert shares.index(max(shares)) == 1, logprobs  # B. Valencia
    again = gen.next_token(CHOICE_SYSTEM, CHOICE_USER)  # from the prompt cache: the same up to rounding
    assert letter_shares(again, 4) == pytest.approx(shares, abs=0.01), (logprobs, again)


def test_local_closing_early_stops_generation(local: tuple[Generator, list[str]]) -> None:
    gen, _ = local
    long = get_generator(f"local:{SMALL}", local_settings(llm_max_tokens=2000))
    stream = long.stream("", COUNT_USER)
    assert next(stream).strip()
    started = time.perf_counter()
    stream.close()
    assert time.perf_counter() - started < 1  # closing does not wait for the generation
    assert_model_free(gen)


def assert_model_free(gen: Generator) -> None:
    """The next request is answered at once: it did not queue behind an abandoned 2000-token count (40 s here)."""
    started = time.perf_counter()
    assert "Valencia" in complete(gen, NEWS_SYSTEM, NEWS_USER)
    assert time.perf_counter() - started < 15, "the next request waited for the abandoned generation"


def test_local_time_limit_raises_and_frees_the_model(local: tuple[Generator, list[str]]) -> None:
    gen, _ = local
    slow = get_generator(f"local:{SMALL}", local_settings(llm_max_tokens=2000, llm_timeout=0.3))
    started = time.perf_counter()
    with pytest.raises(LLMError, match=rf"local:{SMALL} took longer than llm_timeout \(0.3 s\).*RAG_LLM_TIMEOUT"):
        complete(slow, "", COUNT_USER)
    assert time.perf_counter() - started < 5
    assert_model_free(gen)


def test_local_prompt_longer_than_the_context_is_an_overflow() -> None:
    gen = get_generator(f"local:{SMALL}", local_settings(llm_context_window=1024, llm_max_tokens=8))
    long = "Flash floods killed at least 95 people in Valencia. " * 150
    with pytest.raises(ContextOverflow, match=r"exceeds the available context size \(1024 tokens\).*"
                                              r"RAG_LLM_CONTEXT_WINDOW"):
        complete(gen, NEWS_SYSTEM, long)
    with pytest.raises(ContextOverflow):
        gen.next_token(NEWS_SYSTEM, long)
    assert complete(gen, NEWS_SYSTEM, NEWS_USER).strip()  # a prompt that fits is still answered


def test_local_file_that_is_not_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model\n")
    gen = get_generator(f"local:{bad}", local_settings())
    with pytest.raises(LLMError, match=rf"llama.cpp could not load {bad} .*is it a GGUF chat model"):
        complete(gen, SYSTEM, USER)


# --- openai: llama.cpp's own server (`newsrag llm-server`) with the real 0.5B model ----------------------


@pytest.fixture(scope="module")
def served() -> Iterator[Settings]:
    """Settings whose `openai` answerer is `newsrag llm-server --model qwen2.5-coder-0.5b` on a free port."""
    with llm_server() as (_, url):
        yield Settings(_env_file=None, openai_base_url=url, openai_model="anything", llm_max_tokens=48,
                       llm_retries=0, llm_timeout=120)


def test_openai_real_server_streams(served: Settings) -> None:
    gen = get_generator("openai", served)
    first = list(gen.stream(NEWS_SYSTEM, NEWS_USER))
    assert len(first) >= 5 and all(first) and "Valencia" in "".join(first), first
    deltas = list(gen.stream(NEWS_SYSTEM, NEWS_USER))  # now from the server's prompt cache, as the next one
    assert complete(gen, NEWS_SYSTEM, NEWS_USER) == "".join(deltas)  # greedy on the server too


def test_openai_real_server_follows_the_schema(served: Settings) -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["colour", "sources"],
              "properties": {"colour": {"type": "string", "enum": ["green", "purple"]},
                             "sources": {"type": "array", "minItems": 1, "maxItems": 2,
                                         "items": {"type": "integer", "enum": [1, 2, 3]}}}}
    reply = json.loads(complete(get_generator("openai", served), "Reply in JSON.",
                                "What colour is a clear daytime sky? Which sources say so?", schema))
    jsonschema.validate(reply, schema)


def test_openai_real_server_scores_the_letters(served: Settings) -> None:
    logprobs = get_generator("openai", served).next_token(CHOICE_SYSTEM, CHOICE_USER)
    assert len(logprobs) >= 10 and all(lp <= 0 for lp in logprobs.values())
    assert {"A", "B", "C", "D"} <= set(logprobs), logprobs
    shares = letter_shares(logprobs, 4)
    assert shares.index(max(shares)) == 1, logprobs


def test_openai_server_killed_mid_stream_raises() -> None:
    with llm_server() as (proc, url):
        settings = Settings(_env_file=None, openai_base_url=url, llm_max_tokens=2000, llm_retries=0, llm_timeout=60)
        stream = get_generator("openai", settings).stream("", COUNT_USER)
        assert next(stream).strip()
        os.kill(proc.pid, signal.SIGKILL)
        started = time.perf_counter()
        with pytest.raises(LLMError, match=rf"cannot reach the OpenAI-compatible server at {url}, or it stopped "
                                           "mid-reply"):
            for _ in stream:
                pass
        assert time.perf_counter() - started < 10


def test_local_warmed_model_has_read_its_instructions_before_the_first_question() -> None:
    """Warmed as `serve` warms it, the model is loaded before anyone asks, and the first question finds the
    answer prompt's instructions already read, though a check's prompt came in between (it keeps its own
    slot); a model not warmed reads them with the question."""
    from rag.answer.grounded import answer_schema
    from rag.answer.prompts import load_prompt
    from rag.engine import Engine

    spec = f"local:{SMALL}"
    engine = Engine(local_settings(llm_max_tokens=48))
    assert not engine.ready(spec)
    engine.warm(spec)
    assert engine.ready(spec)
    warmed = engine.generator(spec)
    instructions = len(load_prompt("answer").system) // 6  # well under the instructions' tokens
    system, user = load_prompt("answer").render(question="Where did the floods happen?", as_of="2024-10-31",
                                                sources=f"## elpais.com | Floods | 2024-10-30\n[1] {NEWS_USER}")
    warmed.next_token(*load_prompt("verify").render(claim="Floods hit Valencia.", source=NEWS_USER))
    first = "".join(warmed.stream(system, user, answer_schema(1)))
    assert warmed.requests[-1]["cache_n"] >= instructions, warmed.requests[-1]

    cold = get_generator(spec, local_settings(llm_max_tokens=48))
    assert not cold.ready
    assert "Valencia" in first and "Valencia" in "".join(cold.stream(system, user, answer_schema(1)))
    assert cold.requests[-1]["cache_n"] == 0 and cold.requests[-1]["prompt_n"] > warmed.requests[-1]["prompt_n"]
