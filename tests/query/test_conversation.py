"""Follow-ups: read with the conversation (rules without a model, the condense prompt with one)."""

import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler

import pytest

from rag.answer.qa import Ask, answer
from rag.config import Settings
from rag.engine import Engine
from rag.query.conversation import Turn, reads_as_follow_up, standalone_question
from tests.answer.test_llm import ModelServer
from tests.answer.test_qa import AS_OF
from tests.answer.test_qa_llm import drafted, scripted

FIRST = "Who refused to meet Sudani?"
FOLLOW_UP = "And what did the US say?"
US_STATEMENTS = ("Pentagon Press Secretary", "State Department Spokesperson")  # who speaks for the US in the seed


def cited_passages(result) -> str:  # noqa: ANN001 - an Answer
    return " ".join(c.hit.text for claim in result.claims for c in claim.citations)


@pytest.mark.parametrize(("question", "expected"), [
    (FOLLOW_UP, True), ("But why did they refuse?", True), ("What about his party?", True),
    (FIRST, False), ("Who won the 2022 World Cup?", False), ("What happened this week in Iraq?", False),
])
def test_what_reads_as_a_follow_up(question: str, expected: bool) -> None:
    assert reads_as_follow_up(question) is expected


def test_without_a_model_a_follow_up_carries_the_thread(seed_settings: Settings) -> None:
    first = Turn(FIRST, FIRST, "...")
    asked = standalone_question(FOLLOW_UP, [first], AS_OF, "extractive", Engine(seed_settings))
    assert asked == f"{FIRST} {FOLLOW_UP}"
    third = standalone_question("And what did they do next?", [first, Turn(FOLLOW_UP, asked, "...")], AS_OF,
                                "extractive", Engine(seed_settings))
    assert third == f"{FIRST} {FOLLOW_UP} And what did they do next?", "the thread is carried, two questions back"
    assert standalone_question("Who won the 2022 World Cup?", [first], AS_OF, "extractive", Engine(seed_settings)) \
        == "Who won the 2022 World Cup?", "a new topic is asked as it stands"


def test_follow_up_retrieves_the_us_statements(seed_settings: Settings) -> None:
    alone = answer(Ask(FOLLOW_UP, as_of=AS_OF), Engine(seed_settings))
    assert not any(s in cited_passages(alone) for s in US_STATEMENTS), "without context it misses them"
    asked = standalone_question(FOLLOW_UP, [Turn(FIRST, FIRST, "...")], AS_OF, "extractive", Engine(seed_settings))
    result = answer(Ask(asked, as_of=AS_OF), Engine(seed_settings))
    assert not result.refused and all(c.supported for c in result.claims)
    passages = cited_passages(result)
    assert all(s in passages for s in US_STATEMENTS), passages
    assert "Austin" in result.text and "Blinken" in result.text


class CondenseServer(ModelServer):
    """A loopback OpenAI-compatible server: condense requests get ``standalone``, others ``reply``."""

    def __init__(self, standalone: str, reply: str) -> None:
        def route(server: ModelServer, handler: BaseHTTPRequestHandler) -> None:
            system = server.requests[-1].body["messages"][0]["content"]
            scripted(standalone if "standalone question" in system else reply)(server, handler)

        super().__init__(route)
        self.go_on.set()


@pytest.fixture
def model(seed_settings: Settings) -> Iterator[tuple[CondenseServer, Settings]]:
    server = CondenseServer("What did the US say about the Iraqi militias attacking US forces?",
                            drafted("", [1]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, seed_settings.replace(openai_base_url=f"{server.base}/v1", openai_model="m")
    server.shutdown()
    server.server_close()


def test_with_a_model_the_follow_up_is_condensed_with_the_date(model: tuple[CondenseServer, Settings]) -> None:
    server, settings = model
    turns = [Turn(FIRST, FIRST, "Akram al-Kaabi refused to engage with Al-Sudani [1].")]
    asked = standalone_question(FOLLOW_UP, turns, date(2023, 10, 26), "openai", Engine(settings))
    assert asked == "What did the US say about the Iraqi militias attacking US forces?"
    prompt = server.requests[-1].body["messages"]
    assert "2023-10-26" in prompt[1]["content"] and "2023-10-26" not in prompt[0]["content"]
    assert FIRST in prompt[1]["content"] and "Kaabi" in prompt[1]["content"] and FOLLOW_UP in prompt[1]["content"]


def test_a_configured_model_condenses_for_the_extractive_answerer(model: tuple[CondenseServer, Settings]) -> None:
    server, settings = model
    asked = standalone_question(FOLLOW_UP, [Turn(FIRST, FIRST, "...")], AS_OF, "extractive",
                                Engine(settings.replace(llm="openai")))
    assert asked.startswith("What did the US say about the Iraqi militias") and len(server.requests) == 1
