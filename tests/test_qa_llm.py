"""Generated answers are checked before anyone sees them as final.

An OpenAI-compatible server on loopback returns a scripted answer (exact control over
what is invented); the real SmolLM2-135M model shows the check on a model that invents.
"""

import json
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler

import pytest

from rag.citations import check_claims
from rag.config import Settings
from rag.embedding import get_embedder
from rag.qa import Ask, answer, stream_answer
from rag.types import Answer
from tests.test_llm import ModelServer, send_stream
from tests.test_qa import AS_OF

QUESTION = "Who refused to meet Sudani?"


def scripted(text: str) -> Callable[[ModelServer, BaseHTTPRequestHandler], None]:
    """An OpenAI chat-completions stream that says ``text``, a few words per event."""
    words = text.split(" ")
    pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]

    def reply(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
        events = [json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                              "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
                  for p in pieces]
        send_stream(server, handler, "text/event-stream",
                    [f"data: {e}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"])

    return reply


def scripted_servers(base: Settings) -> Iterator[Callable[[str], Settings]]:
    """A fixture's body: ``base`` with an `openai` answerer that is a loopback server replying with the given text."""
    servers: list[ModelServer] = []

    def start(text: str) -> Settings:
        server = ModelServer(scripted(text))
        server.go_on.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return base.model_copy(update={"openai_base_url": f"{server.base}/v1", "openai_model": "m"})

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def via_server(seed_settings: Settings) -> Iterator[Callable[[str], Settings]]:
    """Settings over the seed index whose `openai` answerer says the given text."""
    yield from scripted_servers(seed_settings)


def test_invented_sentences_and_keys_are_dropped(via_server: Callable[[str], Settings]) -> None:
    settings = via_server(
        "Akram al-Kaabi, the Harakat al-Nujaba leader, refused to engage with Al-Sudani [1]. "
        "He met Sudani in Paris in 2019 [1]. Some Hezbollah Brigades leaders also refused [7].")
    events = list(stream_answer(Ask(QUESTION, as_of=AS_OF, llm="openai"), settings))
    final = events[-1]
    assert isinstance(final, Answer) and final.answerer == "openai"
    assert "Paris" in "".join(e for e in events if isinstance(e, str)), "the draft was streamed as written"
    assert "Kaabi" in final.text and "Paris" not in final.text and "[7]" not in final.text
    assert all(c.supported for c in final.claims)
    lenient = answer(Ask(QUESTION, as_of=AS_OF, llm="openai", strict=False), settings)
    marked = {c.text: c.reason for c in lenient.claims if not c.supported}
    assert any("Paris" in text and "Paris" in reason for text, reason in marked.items())


def test_nothing_supported_falls_back_to_extraction(via_server: Callable[[str], Settings]) -> None:
    settings = via_server("Argentina won the 2022 World Cup in Qatar [1].")
    result = answer(Ask(QUESTION, as_of=AS_OF, llm="openai"), settings)
    assert result.answerer.startswith("extractive (fallback") and "Kaabi" in result.text


def test_model_saying_not_found_is_a_refusal(via_server: Callable[[str], Settings]) -> None:
    result = answer(Ask("Who won the 2022 World Cup?", as_of=AS_OF, llm="openai"), via_server("NOT FOUND"))
    assert result.refused and result.sources


def test_local_model_inventions_are_caught(seed_settings: Settings) -> None:
    settings = seed_settings.model_copy(update={"top_k": 2, "llm_max_tokens": 64})
    events = list(stream_answer(Ask(QUESTION, as_of=date(2023, 10, 26), llm="local"), settings))
    final = events[-1]
    assert isinstance(final, Answer)
    draft = "".join(e for e in events if isinstance(e, str))
    draft_claims = check_claims(draft, final.sources, get_embedder(settings))
    assert draft.strip() and any(not c.supported for c in draft_claims), f"nothing to catch in: {draft!r}"
    assert final.claims and all(c.supported for c in final.claims)
    kept = {c.text for c in final.claims}
    assert not kept & {c.text for c in draft_claims if not c.supported}
