"""Generated answers are checked before anyone sees them as final.

The real Qwen2.5-Coder-0.5B answers the seed questions, in this process and behind llama.cpp's own
server (llm="openai"); an OpenAI-compatible server on loopback returns scripted replies where exact
control over what is invented, malformed or mis-cited is needed.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler

import pytest

from rag.answer import judge
from rag.answer.choices import split_alternatives
from rag.answer.evidence import tokens
from rag.answer.llm import ContextOverflow, get_generator
from rag.answer.prompts import load_prompt
from rag.answer.qa import REFUSAL, Ask, answer, check, evidence_for, stream_answer
from rag.config import Settings
from rag.engine import Engine
from rag.ingest.sources import read_sources
from rag.query.retrieve import retrieve
from rag.sentences import sentence_spans
from rag.types import Answer, Article, Hit
from tests import ROOT
from tests.answer.test_llm import MODELS_DIR, SMALL, ModelServer, llm_server, send_stream
from tests.answer.test_qa import AS_OF

LOCAL = f"local:{SMALL}"
DEFAULT = "local"  # the bundled 1.5B: the seed questions are asked of the model a user gets
QUESTION = "Who refused to meet Sudani?"
INJURED = "How many US military personnel were injured in drone attacks?"
SEED_QUESTIONS = {QUESTION: "Kaabi", INJURED: "24"}  # and a word of the one article sentence that answers each
CHOICES = ("Akram al-Kaabi", "Masoud Barzani", "Nouri al-Maliki", "Muqtada al-Sadr")


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


def drafted(answer: str, sources: list[int]) -> str:
    """A reply in the shape the answer prompt asks for."""
    return json.dumps({"answer": answer, "sources": sources})


def scripted_servers(base: Settings) -> Iterator[Callable[[str], Settings]]:
    """A fixture's body: ``base`` with an `openai` answerer that is a loopback server replying with the given text."""
    servers: list[ModelServer] = []

    def start(text: str) -> Settings:
        server = ModelServer(scripted(text))
        server.go_on.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return base.replace(openai_base_url=f"{server.base}/v1", openai_model="m")

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def via_server(seed_settings: Settings) -> Iterator[Callable[[str], Settings]]:
    """Settings over the seed index whose `openai` answerer says the given text."""
    yield from scripted_servers(seed_settings)


@cache
def seed_article() -> Article:
    (article,) = read_sources(ROOT / "seeds", Settings(_env_file=None))
    assert isinstance(article, Article)
    return article


def sentence_with(word: str) -> tuple[int, int]:
    """(start, end) in the seed article's body of its one sentence containing ``word``."""
    body = seed_article().body
    (span,) = [(a, b) for a, b in sentence_spans(body) if word in body[a:b]]
    return span


def streamed(events: list[str | Answer]) -> tuple[str, Answer]:
    """The text streamed before the final Answer, and the Answer; the Answer comes last and only once."""
    *deltas, final = events
    assert isinstance(final, Answer) and all(isinstance(d, str) for d in deltas)
    return "".join(deltas), final  # type: ignore[arg-type]


def assert_answered_from(final: Answer, word: str) -> None:
    """Not refused, every claim supported, every citation a span of the one seed sentence holding ``word``."""
    assert not final.refused and final.text != REFUSAL, final.text
    assert word in final.text, final.text
    assert final.claims and all(c.supported for c in final.claims), [(c.text, c.reason) for c in final.claims]
    start, end = sentence_with(word)
    body = seed_article().body
    for claim in final.claims:
        assert claim.citations, claim
        for c in claim.citations:
            assert c.hit == final.sources[c.n - 1] and c.hit.doc_id == seed_article().doc_id
            assert start <= c.start < c.end <= end, (c.n, c.quote, body[start:end])
            assert body[c.start:c.end].strip() == c.quote


def number_of(hits: list[Hit], word: str) -> int:
    """The number (1-based) of the first source containing ``word``."""
    return next(n for n, h in enumerate(hits, 1) if word in h.text)


def model_sources(settings: Settings, question: str) -> list[Hit]:
    """The sources a model answering ``question`` sees, numbered as it sees them (its evidence block's)."""
    k = max(settings.retrieval.top_k, settings.llm.sources)
    hits = retrieve(question, Engine(settings), as_of=AS_OF, k=k).hits
    return evidence_for(Ask(question, as_of=AS_OF), hits, settings.llm.evidence_tokens).sources


def choice_question(order: tuple[str, ...]) -> str:
    return f"Who refused to even engage with Al-Sudani: {', '.join(order[:-1])} or {order[-1]}?"


# --- the real 0.5B model, in this process ----------------------------------------------------------------


@pytest.fixture(scope="module")
def local(seed_settings: Settings) -> Settings:
    return seed_settings.replace(models_dir=MODELS_DIR, llm_threads=1)


@pytest.fixture(scope="module")
def local_answers(local: Settings) -> dict[str, tuple[str, Answer]]:
    """Each seed question asked once of the default local model (the model's time is what costs here), then
    looked at by several tests. The 0.5B reads the evidence block less well: it answered "Who refused to meet
    Sudani?" with the sentence before the one naming Kaabi."""
    engine = Engine(local)
    return {q: streamed(list(stream_answer(Ask(q, as_of=AS_OF, answerer=DEFAULT), engine))) for q in SEED_QUESTIONS}


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_local_model_answers_seed_questions(local_answers: dict[str, tuple[str, Answer]], question: str) -> None:
    text, final = local_answers[question]
    assert final.answerer == DEFAULT and final.question == question
    assert text.strip(), "nothing was streamed before the final answer"
    assert all(c.text in text for c in final.claims), (text, final.text)  # the claims are what was streamed
    assert_answered_from(final, SEED_QUESTIONS[question])


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_local_model_reads_an_evidence_block_within_its_budget(local: Settings,
                                                              local_answers: dict[str, tuple[str, Answer]],
                                                              question: str) -> None:
    """The model read sentences grouped under their article's header, numbered as the answer's sources."""
    _, final = local_answers[question]
    assert 0 < tokens(final.evidence) <= local.llm.evidence_tokens, final.evidence
    numbered = [line for line in final.evidence.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in numbered] == [f"[{n}" for n in range(1, len(final.sources) + 1)]
    assert all(h.doc_id == seed_article().doc_id for h in final.sources)
    assert final.evidence.startswith("## ") and final.evidence.count("\n## ") == 0  # one article, one header
    assert SEED_QUESTIONS[question] in final.evidence


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_local_answer_carries_what_the_judgement_reads(local_answers: dict[str, tuple[str, Answer]],
                                                       question: str) -> None:
    """The model's own certainty and whether the extractive quote names the same thing, read from the real model."""
    _, final = local_answers[question]
    assert -20 < final.signals["logprob"] <= 0, final.signals
    assert final.signals["agree"] == 1.0, (final.text, final.signals)  # the quote names what the model said
    assert "corroboration" not in final.signals  # one article: nothing else could corroborate it
    assert final.confidence is None and "model-free" not in judge.WEIGHTS  # nothing fitted held for this form


ASKED_OF_THE_SEED = {  # the default local model: dated events answered by the day they happened, the rest refused
    "Who did Antony Blinken speak with on 23 October?": "Sudani over the phone",
    "How many US military personnel were injured in last week's drone attacks?": "24",
    "What is the population of Erbil?": None,
    "How many Iraqi soldiers were killed in the Victoria base attack?": None,
}


@pytest.mark.parametrize("question", ASKED_OF_THE_SEED)
def test_default_local_model_answers_by_event_date_and_refuses_what_is_not_there(seed_settings: Settings,
                                                                                 question: str) -> None:
    settings = seed_settings.replace(models_dir=MODELS_DIR)
    final = answer(Ask(question, as_of=AS_OF, answerer="local"), Engine(settings))
    word = ASKED_OF_THE_SEED[question]
    if word is None:
        assert final.refused and final.text == REFUSAL and final.sources, final.text
    else:
        assert_answered_from(final, word)


ORDERS = {"kaabi-first": CHOICES, "kaabi-last": CHOICES[1:] + CHOICES[:1]}  # one a rotation of the other


@pytest.fixture(scope="module")
def choice_answers(local: Settings) -> dict[str, tuple[str, Answer]]:
    return {name: streamed(list(stream_answer(Ask(choice_question(order), as_of=AS_OF, answerer=LOCAL), Engine(local))))
            for name, order in ORDERS.items()}


@pytest.mark.parametrize("order", ORDERS)
def test_local_model_picks_the_alternative_in_any_order(choice_answers: dict[str, tuple[str, Answer]],
                                                        order: str) -> None:
    assert split_alternatives(choice_question(ORDERS[order]))[1] == ORDERS[order]
    text, final = choice_answers[order]
    assert final.claims[0].text == "Akram al-Kaabi.", final.text
    assert text == final.text
    assert_answered_from(final, "Kaabi")


def test_local_choice_readings_cover_every_rotation(choice_answers: dict[str, tuple[str, Answer]]) -> None:
    """Every rotation is read and averaged: a rotated list is the same set of prompts, so the same scores."""
    means = {}
    for name, order in ORDERS.items():
        readings = choice_answers[name][1].choice_readings
        assert len(readings) == len(order) and all(sum(r) == pytest.approx(1) for r in readings), readings
        means[name] = {c: sum(math.log(r[i]) for r in readings) / len(readings) for i, c in enumerate(order)}
    assert means["kaabi-last"] == pytest.approx(means["kaabi-first"], abs=0.02)
    assert max(means["kaabi-first"], key=means["kaabi-first"].__getitem__) == "Akram al-Kaabi"


def test_two_threads_ask_the_local_model_at_once(local: Settings) -> None:
    results: dict[str, Answer | BaseException] = {}
    engine = Engine(local)  # one per process, as the chat UI has: both threads share its loaded model

    def ask(question: str) -> None:
        try:
            results[question] = answer(Ask(question, as_of=AS_OF, answerer=DEFAULT), engine)
        except BaseException as exc:  # reported below
            results[question] = exc

    threads = [threading.Thread(target=ask, args=(q,)) for q in SEED_QUESTIONS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(t.is_alive() for t in threads), "an answer hung"
    for question, word in SEED_QUESTIONS.items():
        final = results[question]
        assert isinstance(final, Answer), final
        assert_answered_from(final, word)


def test_evidence_longer_than_the_context_is_gathered_again_in_fewer_tokens(local: Settings) -> None:
    tight = local.replace(llm_context_window=512, evidence_tokens=4000)
    block = evidence_for(Ask(INJURED, as_of=AS_OF), retrieve(INJURED, Engine(tight), as_of=AS_OF, k=16).hits, 4000)
    system, user = load_prompt("answer").render(question=INJURED, sources=block.text, as_of=AS_OF.isoformat())
    with pytest.raises(ContextOverflow):  # the whole block does not fit
        get_generator(LOCAL, tight).next_token(system, user)
    text, final = streamed(list(stream_answer(Ask(INJURED, as_of=AS_OF, answerer=LOCAL), Engine(tight))))
    assert tokens(final.evidence) < block.tokens, final.evidence  # gathered again, within less
    assert_answered_from(final, "24")


# --- the real 0.5B model behind llama.cpp's server, as llm="openai" --------------------------------------


@pytest.fixture(scope="module")
def served(seed_settings: Settings) -> Iterator[Settings]:
    with llm_server() as (_, url):
        yield seed_settings.replace(openai_base_url=url, openai_model="anything", llm_retries=0)


def test_openai_server_answers_a_seed_question(served: Settings) -> None:
    text, final = streamed(list(stream_answer(Ask(INJURED, as_of=AS_OF, answerer="openai"), Engine(served))))
    assert final.answerer == "openai" and text.strip()
    assert_answered_from(final, "24")


def test_openai_server_picks_the_alternative(served: Settings) -> None:
    final = answer(Ask(choice_question(ORDERS["kaabi-last"]), as_of=AS_OF, answerer="openai"), Engine(served))
    assert final.claims[0].text == "Akram al-Kaabi.", final.text
    assert_answered_from(final, "Kaabi")


# --- scripted replies --------------------------------------------------------------------------------------


def test_reply_that_is_not_json_is_refused(via_server: Callable[[str], Settings]) -> None:
    settings = via_server("Akram al-Kaabi refused to engage with Al-Sudani [1].")  # true, but not the shape asked
    text, final = streamed(list(stream_answer(Ask(QUESTION, as_of=AS_OF, answerer="openai"), Engine(settings))))
    assert final.refused and final.text == REFUSAL and final.claims == [] and final.sources


def test_invented_answer_is_refused(via_server: Callable[[str], Settings]) -> None:
    settings = via_server(drafted("Argentina won the 2022 World Cup.", [1]))
    text, final = streamed(list(stream_answer(Ask(QUESTION, as_of=AS_OF, answerer="openai"), Engine(settings))))
    assert text == "Argentina won the 2022 World Cup.", "the draft is streamed as written"
    assert final.refused and final.text == REFUSAL and final.claims == [] and final.sources
    lenient = answer(Ask(QUESTION, as_of=AS_OF, answerer="openai", lenient=True), Engine(settings))
    assert lenient.refused and "Argentina" not in lenient.text  # nothing supported: nothing is shown


def test_invented_sentences_and_keys_are_dropped(seed_settings: Settings,
                                                 via_server: Callable[[str], Settings]) -> None:
    real = number_of(model_sources(seed_settings, QUESTION), "Kaabi")
    settings = via_server(drafted("Akram al-Kaabi, the Harakat al-Nujaba leader, refused to engage with Al-Sudani. "
                                  "He met Sudani in Paris in 2019.", [real, 7, 0]))
    text, final = streamed(list(stream_answer(Ask(QUESTION, as_of=AS_OF, answerer="openai"), Engine(settings))))
    assert final.answerer == "openai" and "Paris" in text, "the draft was streamed as written"
    assert "Paris" not in final.text and "[7]" not in final.text
    assert_answered_from(final, "Kaabi")
    lenient = answer(Ask(QUESTION, as_of=AS_OF, answerer="openai", lenient=True), Engine(settings))
    marked = {c.text: c.reason for c in lenient.claims if not c.supported}
    assert list(marked) == ["He met Sudani in Paris in 2019."] and "Paris" in marked["He met Sudani in Paris in 2019."]


def test_wrong_source_number_is_corrected(seed_settings: Settings, via_server: Callable[[str], Settings]) -> None:
    """A true sentence naming a source that does not say it cites the source whose sentence does."""
    hits = model_sources(seed_settings, INJURED)
    wrong = next(n for n, h in enumerate(hits, 1) if "24" not in h.text)
    settings = via_server(drafted("At least 24 US military personnel were injured in drone attacks.", [wrong]))
    final = answer(Ask(INJURED, as_of=AS_OF, answerer="openai"), Engine(settings))
    assert_answered_from(final, "24")
    cited = [c.n for claim in final.claims for c in claim.citations]
    assert cited and wrong not in cited and all("24" in hits[n - 1].text for n in cited), cited


def test_a_true_reply_that_does_not_answer_is_refused(seed_settings: Settings,
                                                      via_server: Callable[[str], Settings]) -> None:
    question = "What is the population of Erbil?"
    erbil = number_of(model_sources(seed_settings, question), "Erbil")
    settings = via_server(drafted("Harir is in the northern Iraqi city of Erbil.", [erbil]))
    text, final = streamed(list(stream_answer(Ask(question, as_of=AS_OF, answerer="openai"), Engine(settings))))
    assert "Erbil" in text, "the draft was streamed as written"
    assert final.refused and final.text == REFUSAL and final.claims == [] and final.sources
    supported = check(f"Harir is in the northern Iraqi city of Erbil [{erbil}].", Ask(question, as_of=AS_OF),
                      Engine(seed_settings))
    assert supported.claims[0].supported, "true and cited: refused only because it is not what was asked"


def test_empty_answer_is_a_refusal(via_server: Callable[[str], Settings]) -> None:
    engine = Engine(via_server(drafted("", [1])))
    result = answer(Ask("Who won the 2022 World Cup?", as_of=AS_OF, answerer="openai"), engine)
    assert result.refused and result.text == REFUSAL and result.sources
