"""The RealTime QA harness end to end on a tiny fixture in the dataset's shape, with the real pipeline
(reader, model, Chroma, BM25, extractive answerer, support check).

The fixture is built so every figure can be worked out by hand. Each answering sentence restates its
question's words with the right choice (a question asked with four choices names four candidates, so a
sentence naming only one must carry the rest of the question to count as an answer):

- q0: gold article spelt ``edition.cnn.com/...#top`` in the gold file, ``www.cnn.com/...`` in the search
  results; it says "Rome" and no other choice -> gold at rank 1, answered right.
- q1: gold article spelt ``http://www.cnn.com/.../`` (trailing slash), ``https://edition.cnn.com/...``
  in the search results -> rank 1, answered right.
- q2: no gold article (not in the recall subset); a search result answers it -> answered right.
- q3: its only article is published after the question date, so it did not exist yet as of that date
  -> not retrieved (no rank), refused, wrong.

So: recall@1 = recall@5 = recall@10 = MRR = 2/3 (q0, q1 of q0, q1, q3); accuracy 3/4; refusal 1/4.
Asked free-form (the sentence alone) the same holds: right 3/4, answer precision 3/3, evidence coverage 3/4.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.evaluation.realtimeqa import (
    Question,
    evaluate,
    gold_keys,
    index_name,
    load_questions,
    pool_targets,
    summarise,
    week_files,
)
from rag.interfaces.cli import main

WEEK = "20310110"
SUMMIT = "https://www.cnn.com/2031/01/05/world/widget-summit/index.html"
ARTICLES = {
    "summit": {"title": "Rome to host Widget Summit", "publish_date": "2031/01/05",
               "text": "The city of Rome will host the 2031 Widget Summit, organisers announced.\n\n"
                       "The gathering brings together widget makers from forty countries."},
    "cup": {"title": "Cobras take the Zorb Cup", "publish_date": "2031/01/07",
            "text": "The Cobras team won the 2031 Zorb Cup final by three goals.\n\n"
                    "Fans celebrated in the streets until dawn."},
    "drone": {"url": "https://www.reuters.com/business/initech-skyloft-2031-01-06/", "title": "Initech buys Skyloft",
              "publish_date": "2031/01/06",
              "text": "Initech agreed to buy the drone maker Skyloft for two billion dollars, the companies said."},
    "lunar": {"url": "https://www.bbc.com/news/lunar-agency-head", "title": "Lunar agency head named",
              "publish_date": "2031/01/20", "text": "Ada Park was named the new head of the Lunar Mining Agency."},
    "weather": {"url": "https://www.weather.example/rain", "title": "Rain ahead", "publish_date": "2031/01/08",
                "text": "Heavy rain is expected across the coast, forecasters warned residents."},
}
QUESTIONS = [
    ("Which city will host the 2031 Widget Summit?", ["Paris", "Rome", "Berlin", "Madrid"], 1),
    ("Which team won the 2031 Zorb Cup final?", ["Lions", "Otters", "Cobras", "Llamas"], 2),
    ("Which company agreed to buy the drone maker Skyloft?", ["Acme", "Globex", "Initech", "Umbrella"], 2),
    ("Who was named the new head of the Lunar Mining Agency?", ["Ada Park", "Ben Ode", "Cy Ruiz", "Di Lo"], 0),
]


def article(key: str, url: str | None = None) -> dict:
    return {"url": url or ARTICLES[key]["url"], "authors": [], **{k: v for k, v in ARTICLES[key].items() if k != "url"}}


def write_week(root: Path) -> Path:
    """One week of *_qa, *_gold and *_gcs files, as RealTime QA publishes them."""
    root.mkdir(parents=True, exist_ok=True)
    qa = [{"question_id": f"{WEEK}_{i}", "question_date": "2031/01/09", "question_source": "CNN",
           "question_url": "https://example.com/quiz", "question_sentence": s, "choices": c, "answer": [str(a)],
           "evidence": ""} for i, (s, c, a) in enumerate(QUESTIONS)]
    gold = [[article("summit", "https://edition.cnn.com/2031/01/05/world/widget-summit/index.html#top")],
            [article("cup", "http://www.cnn.com/2031/01/07/sport/zorb-cup/")], [], [article("lunar")]]
    gcs = [[article("summit", SUMMIT), article("weather")],
           [article("cup", "https://edition.cnn.com/2031/01/07/sport/zorb-cup")],
           [article("drone"), article("weather")], [article("lunar"), article("weather")]]
    files = {
        "qa": qa,
        "gold": [{"question_id": f"{WEEK}_{i}", "search_result": r} for i, r in enumerate(gold)],
        "gcs": [{"question_id": f"{WEEK}_{i}", "search_time": "2031/01/10/10:00", "search_result": r}
                for i, r in enumerate(gcs)],
    }
    for kind, rows in files.items():
        (root / f"{WEEK}_{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_week(tmp_path_factory.mktemp("rtqa") / "weeks")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(index_root=tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="module")
def result(data: Path, settings: Settings) -> dict:
    return evaluate(data, settings, llm="extractive", progress=False)


@pytest.fixture(scope="module")
def free(data: Path, settings: Settings, result: dict) -> dict:
    return evaluate(data, settings, llm="extractive", progress=False, free=True, index=result["index"])


def test_questions_are_asked_with_their_choices(data: Path) -> None:
    questions = load_questions(week_files(data))
    assert [q.qid for q in questions] == [f"{WEEK}_{i}" for i in range(4)]
    assert questions[0].asked == "Which city will host the 2031 Widget Summit: Paris, Rome, Berlin or Madrid?"
    assert questions[2].gold_urls == ()
    two = Question("x", questions[0].as_of, "Is it on?", ("Yes", "No"), 0, (), ())
    assert two.asked == "Is it on: Yes or No?"
    assert questions[0].asked_free == "Which city will host the 2031 Widget Summit?"
    assert Question("y", two.as_of, "  Is it on ", ("Yes", "No"), 0, (), ()).asked_free == "Is it on?"


def test_pool_is_read_as_ingest_reads_the_folder_and_index_says_what_it_holds(data: Path) -> None:
    files = week_files(data)
    assert [Path(t).name for t in pool_targets(files)] == [f"{WEEK}_gcs.jsonl", f"{WEEK}_gold.jsonl"]
    assert index_name([WEEK]).startswith(f"rtqa-{WEEK}-{WEEK}-1w-")
    assert index_name(["20220624", "20220617"]) == index_name(["20220617", "20220624"])
    with pytest.raises(ValueError, match="20220101 not in"):
        week_files(data, ["20220101"])


def test_figures_match_the_hand_computed_ones(result: dict) -> None:
    s = result["summary"]
    third = {"value": pytest.approx(2 / 3), "hits": 2.0, "n": 3}
    assert s["recall"] == {"1": third, "5": third, "10": third}
    assert s["mrr"] == third
    assert s["mc_accuracy"] == {"value": 0.75, "hits": 3.0, "n": 4}
    assert s["mc_accuracy_answered"] == s["answer_precision"] == {"value": 1.0, "hits": 3.0, "n": 3}
    assert s["evidence_coverage"] == {"value": 0.75, "hits": 3.0, "n": 4}  # q3's article was not published yet
    assert s["refusal"] == {"value": 0.25, "hits": 1.0, "n": 4}
    assert s["citation_recall"]["value"] == 1.0 and s["citation_precision"]["value"] == 1.0
    assert result["gold_articles_in_index"] == {"value": 1.0, "hits": 3.0, "n": 3}


def test_records_explain_each_question(result: dict) -> None:
    by_id = {r["id"]: r for r in result["records"]}
    assert [by_id[f"{WEEK}_{i}"]["gold_rank"] for i in range(4)] == [1, 1, None, None]
    assert by_id[f"{WEEK}_0"]["ranked"][0] == "cnn.com/2031/01/05/world/widget-summit/index.html"
    assert by_id[f"{WEEK}_3"]["refused"] and by_id[f"{WEEK}_3"]["named"] == []
    assert "bbc.com/news/lunar-agency-head" not in by_id[f"{WEEK}_3"]["ranked"]  # published after the question
    assert {"retrieve_ms", "answer_ms", "end_to_end_ms"} <= set(by_id[f"{WEEK}_0"]["timings"])
    assert set(result["summary"]["latency_ms"]) >= {"retrieve", "answer", "end_to_end"}


def test_gold_text_stored_under_another_url_still_counts(settings: Settings, result: dict) -> None:
    # Ingestion keeps one copy of identical text: a gold article whose text is stored under another
    # URL is found through that URL.
    text = ARTICLES["drone"]["text"]
    q = Question("mirror", date(2031, 1, 9), "?", (), None, ("https://mirror.example/skyloft",), (text,))
    keys, present = gold_keys([q], Engine(settings.replace(index=result["index"])))
    assert keys["mirror"] == {"mirror.example/skyloft", "reuters.com/business/initech-skyloft-2031-01-06"}
    assert present.as_dict() == {"value": 1.0, "hits": 1.0, "n": 1}


def test_second_run_embeds_nothing_and_an_existing_index_is_reused(data: Path, settings: Settings,
                                                                   result: dict) -> None:
    again = evaluate(data, settings, llm="extractive", limit=1, progress=False)
    assert "added 0, updated 0" in again["index_prepared"] and again["index"] == result["index"]
    reused = evaluate(data, settings, llm="extractive", limit=1, index=result["index"], progress=False)
    assert reused["index_prepared"] == f"reused existing index '{result['index']}'"
    assert reused["records"][0]["gold_rank"] == 1


def test_cli_prints_the_table_and_writes_json_and_plots(data: Path, settings: Settings, result: dict, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAG_INDEX_ROOT", str(settings.index_root))
    out, plots = tmp_path / "rtqa.json", tmp_path / "img"
    code = main(["eval", "realtimeqa", str(data), "--weeks", WEEK, "--index", result["index"], "--json", str(out),
                 "--plots", str(plots)])
    assert code == 0
    text = capsys.readouterr().out
    assert f"`newsrag eval realtimeqa {data} --weeks {WEEK} --index {result['index']}`" in text
    assert "| gold recall@5 (" not in text and "0.667 (2/3)" in text and "Google 0.536" in text
    saved = json.loads(out.read_text())
    assert saved["summary"]["refusal"]["value"] == 0.25 and saved["environment"]["machine"]
    assert sorted(p.name for p in plots.iterdir()) == ["realtimeqa-extractive-latency.png",
                                                      "realtimeqa-extractive-recall.png"]


def test_cli_names_a_bad_week(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "realtimeqa", str(data), "--weeks", "20220101", "--plots", ""]) == 2
    assert f"weeks 20220101 not in {data}; it has {WEEK}" in capsys.readouterr().err


def test_none_of_the_above_variants_score_an_answer_naming_no_listed_choice(data: Path, settings: Settings,
                                                                           result: dict) -> None:
    rows = [{"question_id": f"{WEEK}_0_nota", "question_date": "2031/01/09", "question_sentence": QUESTIONS[0][0],
             "choices": ["Paris", "Berlin", "Madrid", "None of the above"], "answer": ["3"]},
            {"question_id": f"{WEEK}_1_nota", "question_date": "2031/01/09", "question_sentence": QUESTIONS[1][0],
             "choices": ["Lions", "Cobras", "Otters", "None of the above"], "answer": ["1"]}]
    (data / f"{WEEK}_qa_nota.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        nota = evaluate(data, settings, llm="extractive", progress=False, nota=True, index=result["index"])
        free = evaluate(data, settings, llm="extractive", progress=False, nota=True, free=True, index=result["index"])
    finally:
        (data / f"{WEEK}_qa_nota.jsonl").unlink()
    records = {r["id"]: r for r in nota["records"]}
    summit, cup = records[f"{WEEK}_0_nota"], records[f"{WEEK}_1_nota"]
    assert summit["gold_nota"] and "Rome" in summit["answer"] and summit["mc_correct"], "Rome is not listed"
    assert not cup["gold_nota"] and "Cobras" in cup["answer"] and cup["mc_correct"]
    split = nota["summary"]["nota"]
    assert split["none_of_the_above"]["accuracy"]["value"] == 1.0 and split["listed_choice"]["accuracy"]["n"] == 1
    assert nota["nota"] and "nota" not in result["summary"], "the plain questions have no such split"
    summit, cup = ({r["id"]: r for r in free["records"]}[f"{WEEK}_{i}_nota"] for i in (0, 1))
    assert summit["asked"] == QUESTIONS[0][0] and not summit["free_scorable"] and summit["covered"] is None
    assert cup["free_scorable"] and cup["free_right"]
    assert free["summary"]["free_right"]["n"] == 1 and free["summary"]["free_unscorable"] == 1


def test_free_form_asks_the_sentence_alone_and_scores_the_content_words(free: dict) -> None:
    s, records = free["summary"], {r["id"]: r for r in free["records"]}
    assert free["free"] and records[f"{WEEK}_0"]["asked"] == QUESTIONS[0][0], "asked without its choices"
    assert [records[f"{WEEK}_{i}"]["free_right"] for i in range(4)] == [True, True, True, False]
    assert [records[f"{WEEK}_{i}"]["covered"] for i in range(4)] == [True, True, True, False]
    assert all("confidence" in r and r["free_scorable"] for r in records.values())
    assert s["free_right"] == {"value": 0.75, "hits": 3.0, "n": 4}
    assert s["free_refusal"] == {"value": 0.25, "hits": 1.0, "n": 4}
    assert s["answer_precision"] == {"value": 1.0, "hits": 3.0, "n": 3}
    assert s["evidence_coverage"]["value"] == 0.75 and s["free_unscorable"] == 0
    assert s["recall"]["5"]["value"] == pytest.approx(2 / 3), "retrieved with the text asked"
    assert not {"mc_accuracy", "mc_baseline_bm25_count"} & set(s), "choices were not offered"
    assert not any("baseline_correct" in r for r in records.values())


def record(right: bool, refused: bool, covered: bool | None, **extra: object) -> dict:
    """A per-question record with only what ``summarise`` reads."""
    return {"gold_rank": None, "gold_urls": [], "gold_choice": 0, "refused": refused, "mc_correct": right,
            "free_right": right, "free_scorable": covered is not None, "covered": covered, "citations": {},
            "timings": {"answer_ms": 1.0}, **extra}


def test_answer_precision_is_right_over_answered_and_coverage_over_scorable() -> None:
    records = [record(True, False, True, evidence_tokens=100), record(False, False, True, evidence_tokens=300),
               record(False, True, False, evidence_tokens=200), record(False, True, None)]
    free = summarise(records, free=True)
    assert free["answer_precision"] == {"value": 0.5, "hits": 1.0, "n": 2}
    assert free["free_right"] == {"value": pytest.approx(1 / 3), "hits": 1.0, "n": 3}
    assert free["free_refusal"] == {"value": pytest.approx(1 / 3), "hits": 1.0, "n": 3}
    assert free["free_unscorable"] == 1 and free["free_unscorable_refusal"]["value"] == 1.0
    assert free["evidence_coverage"] == {"value": pytest.approx(2 / 3), "hits": 2.0, "n": 3}
    assert free["evidence_tokens"] == {"p50": 200, "n": 3}
    mc = summarise(records)
    assert mc["answer_precision"] == mc["mc_accuracy_answered"] == {"value": 0.5, "hits": 1.0, "n": 2}
    assert mc["mc_accuracy"]["n"] == 4 and "free_right" not in mc


def test_cli_free_flag_shows_free_form_rows_first_with_answer_precision(
        data: Path, settings: Settings, result: dict, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAG_INDEX_ROOT", str(settings.index_root))
    assert main(["eval", "realtimeqa", str(data), "--index", result["index"], "--free", "--plots", ""]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert f"`newsrag eval realtimeqa {data} --index {result['index']} --free`" in out
    assert rows[1].startswith("| answer precision (right over answered) | 1.000 (3/3)")
    assert rows[2].startswith("| citation precision") and rows[3].startswith("| free-form right")
    assert not any("multiple-choice" in row for row in rows)
