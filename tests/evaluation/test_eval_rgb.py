"""RGB counterfactual suite: matching rules by hand, and a tiny RGB-shaped file through the real answerer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.evaluation.report import environment, rgb_markdown
from rag.evaluation.rgb import answer_groups, evaluate, flags_conflict, has_answer, load_rgb, mentions
from tests.answer.test_llm import ModelServer
from tests.answer.test_qa_llm import drafted, scripted

ROWS = [
    {"id": 0, "query": "Who won the 2031 Widget Prize?", "answer": "Alice Smith", "fakeanswer": "Bob Jones",
     "positive": ["Alice Smith won the 2031 Widget Prize at a ceremony in Lisbon."],
     "positive_wrong": ["Bob Jones won the 2031 Widget Prize at a ceremony in Lisbon."],
     "negative": ["The Widget Fair opens in March."]},
    {"id": 1, "query": "When was the Zorblatt 9 console released?",
     "answer": [["March 3 2029", "March 3, 2029", "3 March 2029"]], "fakeanswer": "May 1, 2019",
     "positive": ["The Zorblatt 9 console was released on March 3, 2029, by Zorb Games."],
     "positive_wrong": ["The Zorblatt 9 console was released on May 1, 2019, by Zorb Games."],
     "negative": []},
]


def test_answer_groups_accept_rgb_spellings() -> None:
    assert answer_groups("Norway") == (("Norway",),)
    assert answer_groups([["Jun 2020", "June 2020"]]) == (("Jun 2020", "June 2020"),)
    assert answer_groups(["A", ["B", "b2"]]) == (("A",), ("B", "b2"))


def test_has_answer_needs_every_group_under_some_alias() -> None:
    assert has_answer("It came out in june  2020 [1].", (("Jun 2020", "June 2020"),))
    assert not has_answer("Released by Alpha.", (("Alpha",), ("Beta", "Gamma")))
    assert has_answer("Released by Alpha and gamma.", (("Alpha",), ("Beta", "Gamma")))
    assert not has_answer("anything", ())


def test_mentions_ignores_case_spacing_and_markers() -> None:
    assert mentions("Played in Glendale,\nArizona [2].", "glendale, arizona")
    assert not mentions("Tampa [1]", "")


def test_flags_conflict() -> None:
    assert flags_conflict("The documents contain factual errors.")
    assert flags_conflict("Source [2] contradicts source [1].")
    assert not flags_conflict("Bob Jones won the prize [1].")


def test_load_rgb_reads_json_lines_and_lists(tmp_path: Path) -> None:
    lines, listed = tmp_path / "a.json", tmp_path / "b.json"
    lines.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    listed.write_text(json.dumps(ROWS))
    assert load_rgb(lines) == load_rgb(listed)
    item = load_rgb(lines)[1]
    assert item.rid == "1" and item.fake == "May 1, 2019" and item.passages["wrong"] == tuple(ROWS[1]["positive_wrong"])


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("rgb") / "en_fact.json"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    return evaluate(path, Settings(index_root=tmp_path_factory.mktemp("unused")), llm="extractive", progress=False)


def test_extractive_follows_its_sources_right_or_wrong(result: dict) -> None:
    # The extractive answerer quotes its sources: right from the true passages, and it repeats the
    # planted error from the wrong ones without noticing (it has no world knowledge to notice with).
    pos, wrong = result["summary"]["positive"], result["summary"]["wrong"]
    assert (pos["correct"]["value"], pos["repeats_error"]["value"], pos["refused"]["value"]) == (1.0, 0.0, 0.0)
    assert (wrong["correct"]["value"], wrong["repeats_error"]["value"]) == (0.0, 1.0)
    assert wrong["flags_conflict"]["value"] == 0.0 and wrong["refused"]["n"] == 2
    first = next(r for r in result["records"] if r["id"] == "0" and r["condition"] == "wrong")
    assert "Bob Jones" in first["answer"] and "[1]" in first["answer"]


def test_mixed_passages_are_interleaved_and_the_disagreement_is_shown(result: dict, tmp_path: Path) -> None:
    (tmp_path / "en_fact.json").write_text(json.dumps(ROWS))
    items = load_rgb(tmp_path / "en_fact.json")
    assert items[0].passages["mixed"] == (ROWS[0]["positive"][0], ROWS[0]["positive_wrong"][0])
    assert items[1].passages["mixed"] == (ROWS[1]["positive_wrong"][0], ROWS[1]["positive"][0]), "wrong first"
    mixed = result["summary"]["mixed"]
    assert mixed["flags_conflict"]["value"] == 1.0 and mixed["correct"]["value"] == 1.0
    assert result["summary"]["positive"]["flags_conflict"]["value"] == 0.0
    first = next(r for r in result["records"] if r["id"] == "0" and r["condition"] == "mixed")
    assert "Sources disagree" in first["answer"] and "Alice Smith" in first["answer"] and "Bob Jones" in first["answer"]


def test_rgb_markdown_states_the_run(result: dict) -> None:
    text = rgb_markdown(result, environment("newsrag eval rgb en_fact.json"))
    assert "`newsrag eval rgb en_fact.json`" in text and "cores" in text
    assert "| positive (true) | 1.000 (2/2) |" in text and "| mixed (true and planted, interleaved) |" in text


@pytest.fixture
def model_says(tmp_path: Path) -> Iterator[Callable[[str, bool], Settings]]:
    """Settings whose `openai` answerer is a loopback server that always replies with the given text."""
    servers: list[ModelServer] = []

    def start(text: str, strict: bool) -> Settings:
        server = ModelServer(scripted(text))
        server.go_on.set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Settings(index_root=tmp_path, openai_base_url=f"{server.base}/v1", openai_model="m", strict=strict)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_generated_answers_go_through_the_products_check(tmp_path: Path,
                                                         model_says: Callable[[str, bool], Settings]) -> None:
    path = tmp_path / "en_fact.json"
    path.write_text(json.dumps(ROWS[0]) + "\n")
    reply = drafted("Bob Jones won the 2031 Widget Prize. The sources contain factual errors.", [1])
    lenient = evaluate(path, model_says(reply, False), llm="openai", progress=False)
    by_condition = {r["condition"]: r for r in lenient["records"]}
    # true passages: nothing the model wrote is supported, so the answer is the refusal, not the invention
    positive = by_condition["positive"]
    assert positive["refused"] and not positive["correct"] and not positive["repeats_error"]
    assert by_condition["wrong"]["repeats_error"] and by_condition["wrong"]["flags_conflict"]
    # strict mode drops the uncited warning: the check keeps only what a source supports
    strict = evaluate(path, model_says(reply, True), llm="openai", progress=False)
    wrong = next(r for r in strict["records"] if r["condition"] == "wrong")
    assert wrong["repeats_error"] and not wrong["flags_conflict"]
