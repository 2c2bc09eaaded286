"""The OpenAI-compatible API through the real server, spoken to by the official openai client.

The server is `newsrag serve`'s own (UI and API in one process) on a free loopback port, over a copy
of the seed index and a one-article index whose article has an outlet and a URL, with an API key set.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from rag.answer.qa import Ask, answer
from rag.benchmarks.ui import free_port
from rag.config import Settings, UISettings
from rag.engine import Engine
from rag.ingest.ingest import ingest
from rag.ingest.sources import read_sources
from rag.interfaces.ui.chat import answerers
from rag.interfaces.ui.server import UnsafeBind, check_bind, launch
from rag.types import Article
from tests import SEEDS
from tests.answer.test_qa import AS_OF

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*:Warning:gradio.queueing")
KEY = "sk-newsrag-test-0123456789"
QUESTION = "Who refused to meet Sudani?"
FOLLOW_UP = "And what did the US say?"
AS_OF_BODY = {"as_of": AS_OF.isoformat()}
WIRE = """---
title: Militia leader snubs Iraq's prime minister
outlet: Wire Example
url: https://news.example/2023/10/25/kaabi-snub
date: 2023-10-25
---
Akram al-Kaabi, the leader of Harakat al-Nujaba, refused to meet Prime Minister Mohammed Shia al-Sudani on Monday.

Sudani had asked the leaders of armed factions to stop attacks on bases hosting US forces in Iraq.
"""


@pytest.fixture(scope="module")
def api_settings(seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the seed index and a one-article index 'wire' under one root, an API key, and an
    OpenAI-compatible model server that is down."""
    root = tmp_path_factory.mktemp("api-indexes")
    shutil.copytree(seed_settings.index_dir, root / "seed")
    settings = Settings(index_root=root, index="seed", check_mode="fast", ui=UISettings(api_key=KEY),
                        openai_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_retries=0)  # a server that is down
    folder = tmp_path_factory.mktemp("wire")
    (folder / "snub.md").write_text(WIRE)
    assert ingest([str(folder)], Engine(settings.replace(index="wire")), progress=False).ok
    return settings


@pytest.fixture(scope="module")
def server(api_settings: Settings) -> Iterator[str]:
    """The UI and its API, as `newsrag serve` starts them; the base URL."""
    demo = launch(api_settings, port=free_port(), block=False, quiet=True)
    yield demo.local_url.rstrip("/")
    demo.close()


@pytest.fixture(scope="module")
def engine(api_settings: Settings) -> Engine:
    """The pipeline called directly, for what the API must return."""
    return Engine(api_settings)


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def seed_body() -> str:
    (article,) = [a for a in read_sources(SEEDS, Settings()) if isinstance(a, Article)]
    return article.body


def ask(client: OpenAI, *messages: str, **extra: object):  # noqa: ANN201 - the openai client's ChatCompletion
    """A plain completion of alternating user/assistant messages, as of the seed articles' week."""
    said = [{"role": "user" if i % 2 == 0 else "assistant", "content": m} for i, m in enumerate(messages)]
    return client.chat.completions.create(model="extractive", messages=said, extra_body={**AS_OF_BODY, **extra})


def ask_with(client: OpenAI, model: str):  # noqa: ANN201 - the openai client's ChatCompletion
    """The seed question to another answerer."""
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}],
                                          extra_body=AS_OF_BODY)


def post(server: str, path: str, body: object = None, key: str | None = KEY, content: object = None) -> httpx.Response:
    """A raw POST to the API, with the key unless told otherwise; ``content`` is sent as is."""
    headers = ({"Authorization": f"Bearer {key}"} if key else {}) | {"Content-Type": "application/json"}
    if content is not None:
        return httpx.post(f"{server}/v1{path}", content=content, headers=headers, timeout=120)
    return httpx.post(f"{server}/v1{path}", json=body, headers=headers, timeout=120)


# --- answers ---------------------------------------------------------------------------------------

def test_models_are_the_answerers(client: OpenAI, api_settings: Settings) -> None:
    models = client.models.list()
    assert [m.id for m in models] == answerers(api_settings) and models.data[0].id == "extractive"
    assert {m.object for m in models} == {"model"}


def test_a_completion_is_the_checked_answer_with_its_citations(client: OpenAI, engine: Engine,
                                                               seed_body: str) -> None:
    reply = ask(client, QUESTION)
    expected = answer(Ask(QUESTION, as_of=AS_OF), engine)
    content = reply.choices[0].message.content
    assert reply.object == "chat.completion" and reply.model == "extractive"
    assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.role == "assistant"
    assert content.startswith(expected.text) and "Akram al-Kaabi" in content and "Hezbollah Brigades" in content
    assert "\n\nSources:\n[1] Anti-US armed groups in Iraq" in content
    assert reply.refused is False and reply.question == QUESTION
    kaabi = next(c for c in reply.citations if "Kaabi" in c["sentence"])
    assert f"[{kaabi['n']}]" in content and kaabi["supported"] is True
    assert kaabi["outlet"] == "" and kaabi["date"] == "2023-10-25"
    assert kaabi["headline"].startswith("Anti-US armed groups in Iraq") and kaabi["url"] == ""  # the seed has none
    start, end = kaabi["span"]
    assert " ".join(seed_body[start:end].split()) == kaabi["quote"] and "Akram al-Kaabi" in kaabi["quote"]
    assert kaabi["quote"] in " ".join(kaabi["passage"].split())
    assert len(reply.citations) == sum(len(c.citations) for c in expected.claims)


def test_citations_carry_outlet_url_and_date(client: OpenAI) -> None:
    reply = ask(client, QUESTION, index="wire")
    content = reply.choices[0].message.content
    assert "Akram al-Kaabi" in content and "[1]" in content and not reply.refused
    assert "[1] Wire Example: Militia leader snubs Iraq's prime minister (2023-10-25) " \
           "https://news.example/2023/10/25/kaabi-snub" in content
    kaabi = next(c for c in reply.citations if "Kaabi" in c["sentence"])
    assert kaabi == kaabi | {"n": 1, "outlet": "Wire Example", "url": "https://news.example/2023/10/25/kaabi-snub",
                             "date": "2023-10-25", "headline": "Militia leader snubs Iraq's prime minister",
                             "supported": True}
    assert kaabi["quote"].startswith("Akram al-Kaabi, the leader of Harakat al-Nujaba, refused to meet")


def test_a_stream_sends_the_same_answer_as_openai_chunks(client: OpenAI, server: str) -> None:
    whole = ask(client, QUESTION)
    chunks = list(client.chat.completions.create(model="extractive", stream=True, extra_body=AS_OF_BODY,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert chunks[-1].citations == whole.citations and chunks[-1].refused is False
    body = {"model": "extractive", "stream": True, "messages": [{"role": "user", "content": QUESTION}], **AS_OF_BODY}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=120) as raw:
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
        events = "".join(raw.iter_text()).split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: {") for e in events[:-2])
    assert json.loads(events[-3].removeprefix("data: "))["choices"][0]["finish_reason"] == "stop"


def test_a_follow_up_is_read_with_the_earlier_turns(client: OpenAI, engine: Engine) -> None:
    first = ask(client, QUESTION).choices[0].message.content
    follow = ask(client, QUESTION, first, FOLLOW_UP)
    assert follow.question == f"{QUESTION} {FOLLOW_UP}", "read as the UI reads it (Asked as: ...)"
    expected = answer(Ask(follow.question, as_of=AS_OF), engine)
    assert follow.choices[0].message.content.startswith(expected.text) and "Blinken" in expected.text
    alone = ask(client, FOLLOW_UP)
    assert alone.question == FOLLOW_UP and "Blinken" not in alone.choices[0].message.content


def test_ask_returns_the_whole_answer_as_ask_json_prints_it(server: str, engine: Engine) -> None:
    reply = post(server, "/ask", {"question": QUESTION, **AS_OF_BODY})
    expected = json.loads(json.dumps(answer(Ask(QUESTION, as_of=AS_OF), engine).to_dict()))
    got = reply.json()
    assert reply.status_code == 200 and set(got) == set(expected)
    assert {k: v for k, v in got.items() if k != "timings"} == {k: v for k, v in expected.items() if k != "timings"}
    assert got["answerer"] == "extractive" and "Akram al-Kaabi" in got["text"]


def test_questions_at_once_each_get_their_own_answer(client: OpenAI, engine: Engine) -> None:
    questions = [QUESTION, "Which US bases were attacked?", "What did Sistani say about Gaza?"] * 2
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda q: ask(client, q), questions))
    for question, reply in zip(questions, replies, strict=True):
        assert reply.question == question
        assert reply.choices[0].message.content.startswith(answer(Ask(question, as_of=AS_OF), engine).text)


def test_a_model_that_is_down_is_a_503_or_an_error_event(client: OpenAI, api_settings: Settings) -> None:
    assert "openai" in answerers(api_settings)
    with pytest.raises(openai.InternalServerError) as caught:
        ask_with(client, "openai")
    assert caught.value.status_code == 503 and caught.value.body["code"] == "model_unavailable"
    stream = client.chat.completions.create(model="openai", stream=True, extra_body=AS_OF_BODY,
                                            messages=[{"role": "user", "content": QUESTION}])
    seen = []
    with pytest.raises(openai.APIError, match=caught.value.body["message"][:40]):
        seen.extend(stream)
    assert seen[0].choices[0].delta.role == "assistant", "the stream started before the model failed"
    assert seen[1].choices[0].delta.reasoning_content.startswith("Reading the sources with openai")
    assert not any(c.choices[0].delta.content for c in seen), "nothing unchecked is shown as the answer"


# --- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "error", "said"), [
    ({"messages": [{"role": "system", "content": "Be brief."}]}, openai.BadRequestError, "the user's question"),
    ({"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "Kaabi [1]."}]},
     openai.BadRequestError, "the user's question"),
    ({"messages": [{"role": "user", "content": "  "}]}, openai.BadRequestError, "is empty"),
    ({"model": "gpt-4o"}, openai.NotFoundError, "model 'gpt-4o' is not served here; the models are: extractive"),
    ({"extra_body": {"as_of": "soon"}}, openai.BadRequestError, "As-of date 'soon' is not a date"),
    ({"extra_body": {"date_from": "2023-10-25", "date_to": "2023-10-01"}}, openai.BadRequestError,
     "From date 2023-10-25 is after To date 2023-10-01"),
    ({"extra_body": {"index": "nope"}}, openai.BadRequestError, "no index named 'nope'"),
])
def test_a_bad_request_is_refused_with_the_reason(client: OpenAI, kwargs: dict, error: type, said: str) -> None:
    request = {"model": "extractive", "messages": [{"role": "user", "content": QUESTION}], **kwargs}
    with pytest.raises(error, match=said) as caught:
        client.chat.completions.create(**request)
    assert caught.value.body["type"] in ("invalid_request_error", "not_found_error")


def test_malformed_bodies_and_unknown_paths_get_openai_errors(server: str) -> None:
    broken = post(server, "/chat/completions", content=b'{"model": "extractive", "messages": [')
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    assert "not JSON" in broken.json()["error"]["message"]
    assert post(server, "/chat/completions", ["a list"]).status_code == 400
    missing = post(server, "/chat/completions", {"model": "extractive"})
    assert missing.status_code == 400 and "messages" in missing.json()["error"]["message"]
    unknown = httpx.get(f"{server}/v1/embeddings", headers={"Authorization": f"Bearer {KEY}"})
    assert unknown.status_code == 404 and "POST /v1/chat/completions" in unknown.json()["error"]["message"]


def test_oversize_requests_are_refused_with_413(client: OpenAI, server: str) -> None:
    huge = post(server, "/chat/completions", content=b" " * 1_100_000)
    assert huge.status_code == 413 and "1000000" in huge.json()["error"]["message"]
    chunked = post(server, "/ask", content=iter([b" " * 100_000] * 12))
    assert chunked.status_code == 413, "a body without Content-Length is capped as it arrives"
    with pytest.raises(openai.APIStatusError, match="65 messages is more than the 64") as caught:
        ask(client, *[QUESTION, "An answer."] * 32, QUESTION)
    assert caught.value.status_code == 413
    with pytest.raises(openai.APIStatusError, match="longer than the 8000") as caught:
        ask(client, "Who " * 3000)
    assert caught.value.status_code == 413


def test_every_api_request_needs_the_key(server: str) -> None:
    bare = httpx.get(f"{server}/v1/models")
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert bare.json()["error"]["code"] == "invalid_api_key" and "RAG_API_KEY" in bare.json()["error"]["message"]
    assert post(server, "/chat/completions", {"model": "extractive", "messages": []}, key=None).status_code == 401
    assert post(server, "/ask", {"question": QUESTION}, key="sk-wrong").status_code == 401
    assert httpx.get(f"{server}/v1/anything").status_code == 401
    with pytest.raises(openai.AuthenticationError, match="not the one this server was started with"):
        OpenAI(base_url=f"{server}/v1", api_key="sk-wrong", max_retries=0).models.list()
    assert httpx.get(f"{server}/").status_code == 200, "the UI beside it is served as before"


def test_binding_beyond_loopback_needs_credentials_and_a_key(api_settings: Settings) -> None:
    with pytest.raises(UnsafeBind, match="Set RAG_API_KEY .*--open"):
        check_bind("0.0.0.0", open_=False, auth=("ana", "secret"))
    with pytest.raises(UnsafeBind, match="Set RAG_UI_USERNAME and RAG_UI_PASSWORD .*--open"):
        check_bind("192.0.2.7", open_=False, auth=None, api_key=KEY)
    check_bind("0.0.0.0", open_=False, auth=("ana", "secret"), api_key=KEY)
    check_bind("0.0.0.0", open_=True, auth=None)
    check_bind("127.0.0.1", open_=False, auth=None)
    keyless = api_settings.replace(ui=UISettings(username="ana", password="secret", api_key=None))
    with pytest.raises(UnsafeBind, match="refusing to serve on 0.0.0.0"):
        launch(keyless, host="0.0.0.0", port=free_port(), block=False, quiet=True)


def test_serve_help_names_the_api_and_its_key(capsys: pytest.CaptureFixture[str]) -> None:
    from rag.interfaces.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    said = capsys.readouterr().out
    assert "/v1/chat/completions" in said and "RAG_API_KEY" in said and "Authorization: Bearer" in said


def test_bench_api_compares_the_api_with_the_direct_call(api_settings: Settings, tmp_path: Path) -> None:
    from rag.benchmarks.api import bench_api, default_questions

    report = bench_api(api_settings, default_questions(3), json_out=str(tmp_path / "api.json"))
    figures = json.loads((tmp_path / "api.json").read_text())
    assert figures["questions"] == 3 and figures["api"]["p50_ms"] > 0 and figures["direct"]["p50_ms"] > 0
    assert f"{figures['ratio_p50']}x the direct call's" in report
