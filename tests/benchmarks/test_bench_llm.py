"""`newsrag bench llm`: the questions it asks, and what it measures of a real answerer on the seed index."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.benchmarks.llm import Asked, load_asked, markdown, measure, parse_settings
from rag.config import Settings
from tests import ROOT
from tests.evaluation.test_eval_realtimeqa import QUESTIONS, write_week

SEED_QUESTION = Asked("Who refused to meet Sudani?", date(2023, 11, 10), "free")


def test_a_realtimeqa_folder_is_asked_free_form_and_again_with_its_alternatives(tmp_path: Path) -> None:
    asked = load_asked(write_week(tmp_path / "weeks"), limit=2)
    assert [a.kind for a in asked] == ["free", "free", "choices", "choices"]
    assert asked[0].text == QUESTIONS[0][0] and asked[0].as_of == date(2031, 1, 9)
    assert asked[2].text.startswith(QUESTIONS[0][0].rstrip("?")) and "Paris, Rome, Berlin or Madrid?" in asked[2].text
    assert asked[1].text == QUESTIONS[2][0]  # spread evenly: every second question of four


def test_a_text_file_is_asked_free_form_as_of_today(tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("Who won?\n\nWhere was it?\nWhen?\n")
    assert load_asked(questions, limit=2) == [Asked("Who won?", date.today(), "free"),
                                             Asked("Where was it?", date.today(), "free")]


def test_compared_settings_are_environment_variables_and_anything_else_is_refused() -> None:
    assert parse_settings("RAG_LLM_SLOTS=1, RAG_LLM_EVIDENCE_TOKENS=300") == {
        "RAG_LLM_SLOTS": "1", "RAG_LLM_EVIDENCE_TOKENS": "300"}
    assert parse_settings("") == {}
    with pytest.raises(ValueError, match="RAG_NAME=VALUE"):
        parse_settings("slots=1")
    with pytest.raises(ValueError, match="RAG_NAME=VALUE"):
        parse_settings("RAG_LLM_SLOTS")


def test_extractive_is_measured_without_a_model(seed_settings: Settings) -> None:
    result = measure("extractive", [SEED_QUESTION], seed_settings)
    [row] = result["rows"]
    assert result["load_s"] < 1 and result["openings_tokens"] == []
    assert not row["refused"] and row["requests"] == row["read"] == 0
    assert 0 < row["first_text_s"] <= row["checked_s"]
    assert result["peak_rss_mb"] > 50 and row["rss_mb"] > 50


def test_a_local_model_is_loaded_and_warmed_first_then_each_question_says_what_it_read(
        seed_settings: Settings) -> None:
    settings = seed_settings.replace(local_model="qwen2.5-coder-0.5b", models_dir=ROOT / "models", llm_threads=1)
    result = measure("local", [SEED_QUESTION], settings)
    [row] = result["rows"]
    assert result["load_s"] > 0 and len(result["openings_tokens"]) == 2  # both prompts' openings read at load
    assert all(o["read"] + o["cached"] > 40 for o in result["openings_tokens"])
    assert row["requests"] >= 1 and row["read"] > 100, row
    assert row["cached"] > 40, "the warmed instructions were read again"
    assert row["written"] > 1 and row["written_ms"] > 0
    assert 0 < row["first_text_s"] <= row["checked_s"]
    report = {"date": "2026-12-07", "machine": "test", "index": "seed", "data": "seed",
              "results": [result | {"threads": 1, "busy": False, "settings": ""},
                          result | {"threads": 1, "busy": False, "settings": "RAG_LLM_SLOTS=1"}]}
    table = markdown(report)
    assert "| `local` | defaults | 1 free | 1 | no |" in table and "| 1.00x |" in table
    assert "| `local` | RAG_LLM_SLOTS=1 | 1 free |" in table
