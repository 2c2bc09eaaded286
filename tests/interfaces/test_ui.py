"""The chat UI through its real server: gradio_client sessions, uploads, errors, safe binding, HTML.

The app runs in this process on a free loopback port over the seed index (the real embedder,
Chroma on disk); clients talk to it over HTTP like a browser does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from rag.answer.qa import Ask, answer
from rag.benchmarks.ui import free_port, run_session
from rag.config import Settings
from rag.engine import Engine
from rag.interfaces.ui import render
from rag.interfaces.ui.chat import Chat, ask, parse_day
from rag.interfaces.ui.library import InputError, add_news, settings_for
from rag.interfaces.ui.server import PASSWORD_ENV, USER_ENV, UnsafeBind, check_bind, credentials
from tests import ROOT
from tests.answer.test_qa import AS_OF
from tests.answer.test_qa_llm import drafted
from tests.ingest.test_ingest import write_article
from tests.query.test_conversation import CondenseServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*:Warning:gradio.queueing")
QUESTION = "Who refused to meet Sudani?"


@pytest.fixture(scope="module")
def ui_url(seed_settings: Settings) -> Iterator[str]:
    """The real app on a free loopback port, serving the seed index."""
    from rag.interfaces.ui.server import launch

    demo = launch(seed_settings, port=free_port(), block=False, quiet=True)
    yield demo.local_url
    demo.close()


def text(message: dict) -> str:
    content = message["content"]
    return " ".join(part.get("text", "") for part in content) if isinstance(content, list) else str(content)


# --- through the server ---------------------------------------------------------------------------

def test_ten_sessions_five_questions_each_no_errors_no_cross_talk(ui_url: str) -> None:
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda s: run_session(ui_url, s, 5, AS_OF.isoformat()), range(10)))
    assert [r["errors"] for r in results] == [[]] * 10
    assert all(r["own_history"] for r in results), "a session saw another session's questions"
    assert sum(len(r["latencies"]) for r in results) == 50


def test_a_session_keeps_its_own_conversation(ui_url: str) -> None:
    from gradio_client import Client

    ana, ben = Client(ui_url, verbose=False), Client(ui_url, verbose=False)
    first = ana.predict(QUESTION, as_of=AS_OF.isoformat(), api_name="/ask")[0]
    assert "Akram al-Kaabi" in text(first[-1]) and 'class="nr-chip"' in text(first[-1])
    follow = ana.predict("And what did the US say?", as_of=AS_OF.isoformat(), api_name="/ask")[0]
    reply = text(follow[-1])
    assert f"Asked as: “{QUESTION} And what did the US say?”" in reply
    assert "Pentagon Press Secretary" in reply and "State Department Spokesperson" in reply
    alone = ben.predict("And what did the US say?", as_of=AS_OF.isoformat(), api_name="/ask")[0]
    assert len(alone) == 2 and "Asked as" not in text(alone[-1]), "ben's session has no history to lean on"
    assert "Pentagon Press Secretary" not in text(alone[-1])
    assert ana.predict(api_name="/new_conversation")[0] == []
    again = ana.predict("And what did the US say?", as_of=AS_OF.isoformat(), api_name="/ask")[0]
    assert len(again) == 2 and "Asked as" not in text(again[-1]), "a new conversation forgets the old one"


def test_answer_streams_status_then_the_checked_answer(ui_url: str) -> None:
    from gradio_client import Client

    job = Client(ui_url, verbose=False).submit(QUESTION, as_of=AS_OF.isoformat(), api_name="/ask")
    job.result(timeout=120)
    shown = [text(out[0][-1]) for out in job.outputs()]
    assert "Searching the news" in shown[0] and "nr-pending" in shown[0]
    assert "nr-pending" not in shown[-1] and "Kaabi" in shown[-1] and "sentences supported" in shown[-1]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"index": "../etc"}, "Index name '../etc' is not valid"),
    ({"index": "missing"}, "There is no index named 'missing'"),
    ({"as_of": "25/10/2023"}, "As-of date '25/10/2023' is not a date"),
    ({"date_from": "2023-10-26", "date_to": "2023-10-01"}, "From date 2023-10-26 is after To date 2023-10-01"),
])
def test_bad_controls_are_explained_in_the_chat(ui_url: str, kwargs: dict, expected: str) -> None:
    from gradio_client import Client

    history = Client(ui_url, verbose=False).predict(QUESTION, **kwargs, api_name="/ask")[0]
    reply = text(history[-1]).replace("&#x27;", "'")
    assert "nr-error" in reply and expected in reply


def test_unanswerable_question_is_a_refusal_with_closest_sources(ui_url: str) -> None:
    from gradio_client import Client

    history, sources, _ = Client(ui_url, verbose=False).predict("Who won the 2022 World Cup?",
                                                                 as_of=AS_OF.isoformat(), api_name="/ask")
    reply = text(history[-1])
    assert "nr-refused" in reply and "Not found in the indexed news." in reply and "came closest" in reply
    assert reply.count('class="nr-chip"') >= 1 and "Closest sources (refused)" in sources


def test_upload_and_ask_the_new_index(ui_url: str, seed_settings: Settings, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    article = write_article(tmp_path, 5)
    junk = tmp_path / "scan.bin"
    junk.write_bytes(bytes(range(256)) * 8)
    client = Client(ui_url, verbose=False)
    summary = client.predict([handle_file(str(article)), handle_file(str(junk))], "http://127.0.0.1:9/feed.xml",
                             "uploaded", api_name="/add_news")[0]
    assert summary.startswith("added 1, updated 0, unchanged 0") and "failed 2" in summary
    assert "scan.bin: binary file" in summary and "non-public address 127.0.0.1" in summary
    kept = seed_settings.index_root / "uploaded" / "uploads"
    assert sorted(p.name for p in kept.iterdir()) == [article.name], "only the readable upload is kept"
    again = client.predict([handle_file(str(article))], "", "uploaded", api_name="/add_news")[0]
    assert again.startswith("added 0, updated 0, unchanged 1")
    history = client.predict("What did officials in district 5 describe?", index="uploaded",
                             as_of="2023-10-31", api_name="/ask")[0]
    assert "district 5" in text(history[-1]) and "nr-chip" in text(history[-1])


def test_upload_errors_leave_nothing_behind(ui_url: str, seed_settings: Settings, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    junk = tmp_path / "notes.bin"
    junk.write_bytes(b"\x00\x01\x02" * 100)
    client = Client(ui_url, verbose=False)
    summary = client.predict([handle_file(str(junk))], "", "brand-new", api_name="/add_news")[0]
    assert "FAILED" in summary and "notes.bin" in summary and "was not created" in summary
    assert not (seed_settings.index_root / "brand-new").exists()
    refused = client.predict(None, "ftp://example.org/feed", "seed", api_name="/add_news")[0]
    assert refused.startswith("Nothing was added. Not a web address: ftp://example.org/feed")
    bad = client.predict(None, "https://example.org/", "no/such", api_name="/add_news")[0]
    assert bad.startswith("Nothing was added. Index name 'no/such' is not valid")


def test_oversize_upload_is_refused_before_anything_is_written(seed_settings: Settings, tmp_path: Path) -> None:
    small = seed_settings.replace(index_root=tmp_path / "idx", max_file_mb=0.001)
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    summary, *_ = add_news(Engine(small), [str(big)], "", "news")
    assert summary.startswith("Nothing was added. big.txt is 0.0 MB, over the 0.001 MB limit")
    assert not (tmp_path / "idx").exists() and big.exists()


def test_uploads_stay_under_the_index_root(ui_url: str, seed_settings: Settings) -> None:
    assert Path(os.environ["GRADIO_TEMP_DIR"]) == (seed_settings.index_root / ".uploads").resolve()


# --- the handler with a model ------------------------------------------------------------------------

def test_with_a_model_the_ui_condenses_and_streams_the_draft(seed_settings: Settings) -> None:
    server = CondenseServer("What did the US say about the Iraqi militias?",
                            drafted("US officials warned that American forces in the region would respond if attacks "
                                    "caused any losses. He met him in Paris.", [1, 2]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = Engine(seed_settings.replace(openai_base_url=f"{server.base}/v1", openai_model="m"))
        chat = Chat()
        for _ in ask(engine, QUESTION, chat, "seed", AS_OF.isoformat(), None, None, None, "openai", False):
            pass
        steps = [text(m[-1]) for m, *_ in ask(engine, "And what did they say?", chat, "seed", AS_OF.isoformat(),
                                                None, None, None, "openai", True)]
    finally:
        server.shutdown()
        server.server_close()
    drafts = [s for s in steps if "nr-draft" in s]
    assert any("Reading the sources with openai" in s for s in steps), "a status shows until the model writes"
    assert any("Checking every sentence" in d and "American forces" in d for d in drafts), "the draft is shown"
    assert "Asked as: “What did the US say about the Iraqi militias?”" in steps[-1]
    assert "nr-unsupported" in steps[-1] and "Paris" in steps[-1], "lenient mode marks the invented sentence"
    assert len(chat.turns) == 2 and chat.turns[1].standalone == "What did the US say about the Iraqi militias?"


def test_with_the_local_model_the_chat_says_it_loads_then_the_server_warms_it(seed_settings: Settings) -> None:
    """Asked before the model is loaded, the chat says so; `serve` loads and warms it in the background, so
    the next engine's first question finds it ready; the sources panel says how long the asker waited."""
    import time

    from rag.interfaces.ui.server import _warm

    settings = seed_settings.replace(llm="local:qwen2.5-coder-0.5b", models_dir=ROOT / "models", llm_threads=1)
    cold = Engine(settings)
    steps = list(ask(cold, QUESTION, Chat(), "seed", AS_OF.isoformat(), None, None, None, None, False))
    assert any("Loading the model (local:qwen2.5-coder-0.5b)" in text(m[-1]) for m, *_ in steps)
    assert re.search(r"First words after \d+\.\d s, checked answer after \d+\.\d s\.", steps[-1][2])

    warm = Engine(settings)
    _warm(warm, quiet=True)
    deadline = time.monotonic() + 120
    while not warm.ready(settings.answer.llm) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert warm.ready(settings.answer.llm), "the server did not warm its model"
    steps = list(ask(warm, QUESTION, Chat(), "seed", AS_OF.isoformat(), None, None, None, None, False))
    assert not any("Loading the model" in text(m[-1]) for m, *_ in steps)
    assert any("Reading the sources with local:qwen2.5-coder-0.5b" in text(m[-1]) for m, *_ in steps)


# --- inputs, safety, HTML ------------------------------------------------------------------------------

def test_index_and_date_inputs_name_the_problem(seed_settings: Settings) -> None:
    with pytest.raises(InputError, match=r"'\.\./x' is not valid"):
        settings_for(seed_settings, "../x")
    with pytest.raises(InputError, match=r"no index named 'nope'.*pick one of: seed"):
        settings_for(seed_settings, "nope")
    assert settings_for(seed_settings, "nope", must_exist=False).index == "nope"
    assert parse_day("2023-10-25", "As-of date") == date(2023, 10, 25) and parse_day("", "x") is None
    with pytest.raises(InputError, match="From date 'soon' is not a date"):
        parse_day("soon", "From date")


def test_binding_beyond_loopback_needs_credentials_or_open() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, open_=False, auth=None)
    with pytest.raises(UnsafeBind, match=f"{USER_ENV} and {PASSWORD_ENV}.*--open"):
        check_bind("0.0.0.0", open_=False, auth=None)
    check_bind("0.0.0.0", open_=True, auth=None)
    check_bind("192.0.2.7", open_=False, auth=("ana", "secret"), api_key="k")
    assert credentials({USER_ENV: "ana", PASSWORD_ENV: "secret"}) == ("ana", "secret")
    assert credentials({USER_ENV: "ana"}) is None


def test_serve_command_refuses_an_open_address_and_helps(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (USER_ENV, PASSWORD_ENV)} | {"RAG_INDEX_ROOT": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag", "serve", "--host", "0.0.0.0"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "refusing to serve on 0.0.0.0" in out.stderr and USER_ENV in out.stderr
    helped = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0
    for word in ("--host", "--port", "--index", "--open", USER_ENV, PASSWORD_ENV):
        assert word in helped.stdout


def test_html_escapes_sources_and_highlights_the_quote(seed_settings: Settings) -> None:
    result = answer(Ask(QUESTION, as_of=AS_OF), Engine(seed_settings))
    claim = next(c for c in result.claims if "Kaabi" in c.text)
    citation = claim.citations[0]
    hostile = replace(citation.hit, title='<img src=x onerror="alert(1)">', url="https://news.example/a?b=1&c=2")
    html = render.chip(citation.n, hostile, [replace(citation, hit=hostile)])
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'href="https://news.example/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer"' in html
    marked = re.findall(r"<mark>(.*?)</mark>", html)
    assert len(marked) == 1 and "Akram al-Kaabi" in marked[0]
    assert "\n" not in render.answer_html(result) + render.sources_html(result), "one HTML block for Markdown"


def test_unsupported_claims_are_marked_with_their_reason(seed_settings: Settings) -> None:
    from rag.answer.qa import check

    ask_ = Ask(QUESTION, as_of=AS_OF)
    n = answer(ask_, Engine(seed_settings)).claims[0].citations[0].n
    result = check(f"Akram al-Kaabi refused to engage with Al-Sudani [{n}]. Kaabi met Sudani in Paris [{n}].",
                   ask_, Engine(seed_settings))
    html = render.answer_html(result)
    supported, unsupported = html.split('<div class="nr-claim nr-unsupported"')
    assert "Paris" not in supported and "Kaabi refused" in supported
    assert "Unsupported" in unsupported and "not in the cited source: Paris" in unsupported
    assert "1 of 2 sentences supported by their sources (judged by: fast)" in html
    assert 'title="not supported by the fast check (0% sure)"' in unsupported


def test_a_contested_claim_is_flagged_with_who_contests_it(seed_settings: Settings) -> None:
    result = answer(Ask(QUESTION, as_of=AS_OF), Engine(seed_settings))
    claim = result.claims[0]
    contested = replace(claim, contested_by=[replace(claim.citations[0], n=2)])
    html = render.claim_html(contested)
    assert '<span class="nr-flag">Contested</span>' in html
    assert "supported by a verbatim quote (100% sure); contested by [2]" in html


# --- the handler with the real local model -------------------------------------------------------------

SMALL_MODEL = "local:qwen2.5-coder-0.5b"


@pytest.fixture(scope="module")
def local_settings(seed_settings: Settings) -> Settings:
    return seed_settings.replace(models_dir=ROOT / "models", llm_max_tokens=48, llm_sources=2)


def test_installed_local_models_are_offered(local_settings: Settings, tmp_path: Path) -> None:
    from rag.interfaces.ui.chat import answerers

    assert {"local", SMALL_MODEL} <= set(answerers(local_settings))
    assert not any(a.startswith("local") for a in answerers(local_settings.replace(models_dir=tmp_path)))


def test_a_question_queued_behind_another_says_so_and_both_are_answered(local_settings: Settings) -> None:
    engine = Engine(local_settings)

    def steps(chat: Chat) -> list[str]:
        return [text(m[-1]) for m, *_ in ask(engine, QUESTION, chat, "seed", AS_OF.isoformat(), None, None,
                                              None, SMALL_MODEL, False)]

    with engine.model_users():  # another question is with the model
        queued = steps(Chat())
    assert any("Waiting for the model: 1 question ahead" in s for s in queued), queued[:3]
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: steps(Chat()), range(2)))
    assert all("Kaabi" in s[-1] and "nr-chip" in s[-1] for s in both), [s[-1][:300] for s in both]
    assert any(any("Waiting for the model" in step for step in s) for s in both), "the second one was not told"
    assert engine.with_model == 0
