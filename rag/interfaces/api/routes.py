"""The /v1 endpoints: the index as an OpenAI-compatible chat model, on the UI's own Engine.

A question goes down the UI's path (``rag.interfaces.ui.chat.build_ask``: the same date checks, the
same reading of a follow-up in the light of the turns before it) and is answered by ``rag.answer.qa``.
Answering is CPU work, so it runs in worker threads, at most ``concurrency`` at once, and the event
loop that also serves the UI is never blocked. A streamed reply never shows unchecked words as the
answer: a model's draft streams as ``reasoning_content`` (what chat clients show as work in progress),
and ``content`` is the checked answer, as the UI's draft gives way to the checked answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import BaseRoute
from pydantic import BaseModel, ValidationError

from rag.answer.qa import Ask, answer, stream_answer
from rag.engine import Engine
from rag.interfaces.api import schema
from rag.interfaces.api.schema import MAX_BODY_BYTES, ApiError, AskRequest, ChatRequest, Message, Options
from rag.query.conversation import Turn
from rag.types import Answer

Parsed = TypeVar("Parsed", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]
ENDPOINTS = "GET /v1/models, POST /v1/chat/completions and POST /v1/ask"
SERVER_FAULT = "newsrag failed to answer; the server's log has the details"


def api_routes(engine: Engine, api_key: str | None = None, concurrency: int = 4) -> list[BaseRoute]:
    """The /v1 routes over ``engine``; with ``api_key``, every request must carry it as a bearer token."""
    api = Api(engine, api_key, concurrency)
    router = APIRouter(prefix="/v1", include_in_schema=False)
    router.add_api_route("/models", api.guarded(api.models), methods=["GET"])
    router.add_api_route("/chat/completions", api.guarded(api.chat), methods=["POST"])
    router.add_api_route("/ask", api.guarded(api.ask), methods=["POST"])
    router.add_api_route("/{path:path}", api.guarded(api.unknown), methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    return router.routes


class Api:
    """The endpoints, with what they share: the engine, the key, and the bound on answers at once."""

    def __init__(self, engine: Engine, api_key: str | None, concurrency: int) -> None:
        self.engine = engine
        self.key = api_key or None
        self.slots = asyncio.Semaphore(max(1, concurrency))  # binds to the server's loop on first use

    def guarded(self, handler: Handler) -> Handler:
        """The handler behind the key check, its refusals as OpenAI error bodies."""
        async def endpoint(request: Request) -> Response:
            try:
                self.authorize(request)
                return await handler(request)
            except ApiError as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
            except Exception:  # a fault here: logged in full, and still an error body the client can read
                logging.getLogger(__name__).exception("%s %s failed", request.method, request.url.path)
                return JSONResponse(ApiError(500, SERVER_FAULT, None, "server_error").body(), status_code=500)
        return endpoint

    def authorize(self, request: Request) -> None:
        """Refuse a request without this server's key, when it has one (loopback included)."""
        if self.key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "this server needs an API key: send 'Authorization: Bearer KEY' with the key it was "
                                "started with (RAG_API_KEY)", "invalid_api_key")
        if not secrets.compare_digest(token.strip().encode(), self.key.encode()):
            raise ApiError(401, "the API key is not the one this server was started with (RAG_API_KEY)",
                           "invalid_api_key")

    async def models(self, request: Request) -> Response:
        """The answerers this setup offers, as OpenAI's model list."""
        from rag.interfaces.ui.chat import answerers

        data = [{"id": name, "object": "model", "created": 0, "owned_by": "newsrag"}
                for name in answerers(self.engine.settings)]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        """A chat completion: the checked answer to the last user message, whole or streamed."""
        body = await read_json(request, ChatRequest)
        schema.check_size(body)
        model = self.known_model(body.model)
        question, turns = conversation(body.messages)
        asked = await self.run(prepare, self.engine, question, turns, body)
        if body.stream:
            return StreamingResponse(self.stream(asked, model), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        final = await self.run(lambda: last(answering(asked, self.engine)))
        return JSONResponse(schema.completion(final, model, schema.completion_id()))

    async def ask(self, request: Request) -> Response:
        """One question, answered as the whole Answer (what `newsrag ask --json` prints)."""
        body = await read_json(request, AskRequest)
        if len(body.question) > schema.MAX_MESSAGE_CHARS:
            raise ApiError(413, f"a question of {len(body.question)} characters is longer than the "
                                f"{schema.MAX_MESSAGE_CHARS} accepted", "message_too_long")
        body.model = self.known_model(body.model or self.engine.settings.answer.llm)
        asked = await self.run(prepare, self.engine, body.question, [], body)
        final = await self.run(lambda: last(answering(asked, self.engine)))
        return JSONResponse(final.to_dict())

    async def unknown(self, request: Request) -> Response:
        """Any other /v1 path: say what is served (Gradio's own routes must not answer it)."""
        raise ApiError(404, f"{request.method} {request.url.path} is not served here; this server has {ENDPOINTS}",
                       "unknown_url", "not_found_error")

    def known_model(self, name: str) -> str:
        """The answerer a request names, if this setup offers it; otherwise the error names those it does."""
        from rag.interfaces.ui.chat import answerers

        offered = answerers(self.engine.settings)
        if name not in offered:
            raise ApiError(404, f"model {name!r} is not served here; the models are: {', '.join(offered)}",
                           "model_not_found", "not_found_error")
        return name

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """Blocking work in a worker thread, at most ``concurrency`` at once; its failures as API errors."""
        try:
            async with self.slots:
                return await asyncio.to_thread(work, *args)
        except Exception as exc:  # noqa: BLE001 - only the failures a person can act on are kept (failure)
            raise failure(exc) from exc

    async def stream(self, asked: Ask, model: str) -> AsyncIterator[str]:
        """Server-sent events: the role, a model's status and draft as reasoning, the checked answer, its
        citations on the last chunk, then ``[DONE]``; a failure on the way ends the stream with its error."""
        reply_id = schema.completion_id()
        yield sse(schema.chunk(model, reply_id, {"role": "assistant", "content": ""}))
        events = answering(asked, self.engine)
        try:
            while (event := await self.run(next, events, None)) is not None:
                if isinstance(event, Answer):
                    yield sse(schema.chunk(model, reply_id, {"content": schema.reply_text(event)}))
                    yield sse(schema.chunk(model, reply_id, {}, "stop", **schema.extras(event)))
                else:
                    yield sse(schema.chunk(model, reply_id, {"reasoning_content": event}))
        except ApiError as exc:
            yield sse(exc.body())
        except Exception:  # a fault here, after the 200 went out: logged, and the stream still ends readably
            logging.getLogger(__name__).exception("streaming an answer to %r failed", asked.question)
            yield sse(ApiError(500, SERVER_FAULT, None, "server_error").body())
        finally:
            with suppress(ValueError):  # still running in its thread after a disconnect: it ends on its own
                events.close()
        yield "data: [DONE]\n\n"


def sse(data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def read_json(request: Request, model: type[Parsed]) -> Parsed:
    """The body as ``model``, refused early when too large, and with the reason when malformed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body ({int(declared)} bytes) is larger than the {MAX_BODY_BYTES} "
                            "accepted", "request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is larger than the {MAX_BODY_BYTES} bytes accepted",
                           "request_too_large")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"the request body is not JSON ({exc})", "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object", "invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        said = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ApiError(400, f"the request is not valid: {said}", "invalid_request") from None


def conversation(messages: list[Message]) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the turns before it, as the UI keeps them.

    A client sends back what was asked and answered, not how each question was read, so an earlier
    question stands for itself, and an earlier reply is the context as the client shows it.
    """
    said = [m for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question (role 'user')", "no_user_message")
    if not said[-1].text.strip():
        raise ApiError(400, "the question (the last user message) is empty", "empty_question")
    turns: list[Turn] = []
    pending: str | None = None
    for message in said[:-1]:
        if message.role == "user":
            if pending is not None:
                turns.append(Turn(pending, pending, ""))
            pending = message.text.strip()
        elif pending is not None:
            turns.append(Turn(pending, pending, message.text))
            pending = None
    if pending is not None:
        turns.append(Turn(pending, pending, ""))
    return said[-1].text, turns


def prepare(engine: Engine, question: str, turns: list[Turn], options: Options) -> Ask:
    """The question as the UI would ask it: its dates, index and outlet checked, a follow-up made standalone."""
    from rag.interfaces.ui.chat import build_ask

    return build_ask(engine, question, turns, options.index or engine.settings.index, options.as_of,
                     options.date_from, options.date_to, options.outlet, options.model, options.lenient)


def answering(asked: Ask, engine: Engine) -> Iterator[str | Answer]:
    """A model's place in the queue and its draft as it is written, then the checked Answer (only the
    Answer for the extractive answerer, which has nothing to show on the way)."""
    from rag.interfaces.ui.chat import model_status

    who = asked.who(engine)
    if not who.generative:
        yield answer(asked, engine)
        return
    with engine.model_users() as ahead:
        yield model_status(who, ahead, engine.ready(who)) + "\n\n"
        yield from stream_answer(asked, engine)


def last(events: Iterator[str | Answer]) -> Answer:
    """The checked Answer at the end of the events."""
    *_, final = events
    assert isinstance(final, Answer)
    return final


def failure(exc: Exception) -> ApiError:
    """An error while answering, as the status a client can act on: its request (400) or the server's
    index or model (503); anything else is a fault here and propagates."""
    from rag.answer.llm import LLMError
    from rag.index import StoreError

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, StoreError):
        return ApiError(503, str(exc), "index_unavailable", "server_error")
    if isinstance(exc, LLMError | FileNotFoundError):
        return ApiError(503, str(exc), "model_unavailable", "server_error")
    if isinstance(exc, ValueError):  # InputError, EmptyQuestion, a bad answerer name: the person can fix it
        return ApiError(400, str(exc), "invalid_request")
    raise exc
