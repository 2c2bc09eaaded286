"""The chat screen as a person uses it: real headless Chromium (Debian's) against the real app.

Fails, never skips, when the browser cannot start: `make test` installs it. Screenshots go
to tests/interfaces/artifacts/ (ignored by git) so a person can look at what the test saw.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from rag.benchmarks.ui import free_port
from rag.config import Settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AS_OF = "2023-10-26"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*:Warning:gradio.queueing")


@pytest.fixture(scope="module")
def app_url(seed_settings: Settings) -> Iterator[str]:
    from rag.interfaces.ui.server import launch

    demo = launch(seed_settings, port=free_port(), block=False, quiet=True)
    yield demo.local_url
    demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, with a fresh profile; a failure to start fails the test."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        try:
            context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                            args=CHROMIUM_FLAGS, viewport={"width": 1400,
                                                                                           "height": 1000})
        except Error as exc:
            pytest.fail(f"headless Chromium at {CHROMIUM} did not start (run `make test`, which installs it): {exc}")
        yield context
        context.close()


def open_chat(browser, url: str, requests: list[str]):  # noqa: ANN001, ANN201 - playwright objects
    """A new tab on the app with the as-of date set, recording every request the page makes."""
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.get_by_role("tab", name="Search settings").click()
    as_of = page.locator("#as-of input")
    as_of.fill(AS_OF)
    as_of.press("Enter")
    page.get_by_role("tab", name="Sources").click()
    page.evaluate("""() => { window.sawPending = false;
        new MutationObserver(() => { if (document.querySelector('#chat .nr-pending')) window.sawPending = true; })
          .observe(document.body, {childList: true, subtree: true}); }""")
    return page


def ask(page, question: str, replies: int):  # noqa: ANN001, ANN201
    """Type a question, press Enter, wait for the checked reply number ``replies``; return it."""
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    reply = page.locator("#chat .nr-answer:not(.nr-pending)").nth(replies - 1)
    reply.wait_for(timeout=60_000)
    return reply


def claim(reply, words: str):  # noqa: ANN001, ANN201
    """The sentence of a reply that says ``words`` (not one whose hidden evidence does)."""
    return reply.locator(".nr-claim").filter(has=reply.page.locator(".nr-text", has_text=words)).first


def test_ask_open_evidence_follow_up_and_refusal(browser, app_url: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    page = open_chat(browser, app_url, requests)

    first = ask(page, "Who refused to meet Sudani?", 1)
    assert page.evaluate("window.sawPending"), "the reply streamed in: a status came before the answer"
    assert "Akram al-Kaabi" in first.inner_text()
    kaabi = claim(first, "Akram al-Kaabi")
    chip = kaabi.locator(".nr-chip summary").first
    assert "25 Oct 2023" in chip.inner_text() and "Anti-US armed groups" in chip.inner_text()
    evidence = kaabi.locator(".nr-evidence").first
    assert not evidence.is_visible()
    chip.click()
    evidence.wait_for(state="visible")
    mark = evidence.locator("mark")
    assert mark.is_visible() and "refused to even engage with Al-Sudani" in mark.inner_text()
    mark.scroll_into_view_if_needed()
    assert page.locator("#sources").inner_text().startswith("Sources (")
    page.screenshot(path=ARTIFACTS / "1-answer-with-evidence.png", full_page=True)

    second = ask(page, "And what did the US say?", 2)
    assert "Asked as: “Who refused to meet Sudani? And what did the US say?”" in second.inner_text()
    pentagon = claim(second, "Austin")
    pentagon.locator(".nr-chip summary").first.click()
    passage = pentagon.locator(".nr-passage").first
    passage.wait_for(state="visible")
    assert "Pentagon Press Secretary Brig. Gen. Pat Ryder said" in passage.inner_text()
    assert "Lloyd J. Austin III made a phone call with Sudani" in passage.locator("mark").inner_text()
    passage.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "2-follow-up.png", full_page=True)

    third = ask(page, "Who won the 2022 World Cup?", 3)
    assert "Not found in the indexed news." in third.inner_text()
    assert third.locator(".nr-closest .nr-chip").count() >= 1
    assert "Closest sources (refused)" in page.locator("#sources").inner_text()
    page.screenshot(path=ARTIFACTS / "3-refusal.png", full_page=True)

    other: list[str] = []
    stranger = open_chat(browser, app_url, other)
    assert stranger.locator("#chat .nr-answer").count() == 0, "another tab starts with its own, empty conversation"
    stranger.close()

    hosts = {urlsplit(u).netloc for u in requests + other if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {urlsplit(app_url).netloc}, f"the page loaded something from elsewhere: {hosts}"
    page.close()


def test_upload_with_progress_then_ask_the_new_index(browser, app_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    article = tmp_path / "floods.txt"
    sentence = "Heavy rain flooded the river valley, and officials closed the northern bridge on Tuesday. "
    article.write_text(f"Floods close the northern bridge\n\n24 October, 2023\n\n{sentence * 30}")
    page = open_chat(browser, app_url, [])
    page.get_by_role("tab", name="Search settings").click()
    index = page.locator("#index input")
    index.fill("from-browser")
    index.press("Enter")
    page.get_by_role("tab", name="Add news").click()
    page.evaluate("""() => { window.progress = [];
        new MutationObserver(() => document.querySelectorAll('.progress-level')
          .forEach(e => window.progress.push(e.textContent)))
          .observe(document.body, {childList: true, subtree: true}); }""")
    page.locator("input[type=file]").set_input_files(str(article))
    page.get_by_text("floods.txt").wait_for(timeout=90_000)  # slow beside other work on two cores
    page.get_by_role("button", name="Add to index").click()
    page.wait_for_function("document.querySelector('#ingest-summary textarea').value.includes('added')",
                           timeout=120_000)
    summary = page.locator("#ingest-summary textarea").input_value()
    assert summary.startswith("added 1, updated 0, unchanged 0") and "index 'from-browser'" in summary
    assert any("embedding" in p for p in page.evaluate("window.progress")), "a progress bar ran while ingesting"
    page.screenshot(path=ARTIFACTS / "4-upload.png", full_page=True)
    reply = ask(page, "Why was the northern bridge closed?", 1)
    assert "flooded the river valley" in reply.inner_text()
    assert "Floods close the northern bridge" in reply.locator(".nr-chip summary").first.inner_text()
    page.close()


def test_empty_question_hint_library_and_watched_tabs(browser, app_url: str) -> None:  # noqa: ANN001
    page = open_chat(browser, app_url, [])
    page.locator("#question textarea").fill("   ")
    page.locator("#question textarea").press("Enter")
    page.get_by_text("Ask a question about the indexed news.").first.wait_for(timeout=15_000)
    assert page.locator("#chat .nr-answer").count() == 0  # a hint, not an answer in the conversation

    from playwright.sync_api import expect

    page.get_by_role("tab", name="Library").click()  # the table loads when the tab opens
    expect(page.locator("#library-tab")).to_contain_text("Anti-US armed groups in Iraq", timeout=15_000,
                                                         use_inner_text=True)
    page.get_by_role("tab", name="Watched").click()
    expect(page.locator("#watched-tab")).to_contain_text("Feed or page URL", use_inner_text=True)
