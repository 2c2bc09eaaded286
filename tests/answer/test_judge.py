"""The answer judgement's signals, and how a fitted model turns them into a refusal."""

from __future__ import annotations

from datetime import date

import pytest

from rag.answer import judge
from rag.types import Citation, Claim, Hit


def hit(doc: str, text: str, sim: float = 0.5) -> Hit:
    return Hit(f"{doc}#0", doc, text, f"{doc} headline", "Herald", "", date(2024, 5, 1), 0, len(text), similarity=sim)


CITED = hit("a", "The mayor of Springfield is Ana Lopez.", sim=0.7)
CLAIM = Claim("The mayor of Springfield is Ana Lopez.", [Citation(1, CITED, CITED.text, 0, len(CITED.text), 1.0)],
              True)


def test_corroboration_counts_other_articles_naming_the_answer() -> None:
    others = [hit("b", "Ana Lopez, the mayor, spoke."), hit("c", "Lopez's rival conceded to Ana Lopez."),
              hit("d", "The council met on Friday.")]
    found = judge.signals("Who is the mayor of Springfield?", "The mayor of Springfield is Ana Lopez. [1]", [CLAIM],
                          [CITED, *others])
    assert found["corroboration"] == pytest.approx(2 / judge.CORROBORATION_CAP)
    assert found["similarity"] == 0.7 and found["coverage"] == 1.0 and found["new"] == 1.0


def test_an_answer_naming_nothing_new_has_no_own_words() -> None:
    found = judge.signals("Who is the mayor of Springfield?", "Springfield has a mayor. [1]", [CLAIM], [CITED])
    assert found["new"] == 0.0
    assert "corroboration" not in found  # no other article was retrieved: nothing could corroborate it


def test_agreement_is_the_share_of_the_answer_the_other_reader_names() -> None:
    question = "Who is the mayor of Springfield?"
    assert judge.agreement("Ana Lopez.", "The mayor of Springfield is Ana Lopez. [2]", question) == 1.0
    assert judge.agreement("Ana Lopez.", "The mayor met Tom Reed. [1]", question) == 0.0
    assert judge.agreement("Ana Lopez.", "Ana Reed won. [1]", question) == 0.5
    assert judge.agreement("2 people.", "Nothing here [2]", question) == 0.0  # a marker is not the number 2


def test_choice_signals_read_the_rotations() -> None:
    readings = [[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.6, 0.3, 0.1]]
    found = judge.choice_signals(readings, 0)
    assert found["pick"] == pytest.approx(1.7 / 3) and found["consistent"] == pytest.approx(2 / 3)
    assert judge.choice_signals([], 0) == {}


def test_a_fitted_model_refuses_below_its_threshold_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(judge.WEIGHTS, "test-free", (-2.0, {"agree": 4.0}, {"agree": 0.5}))
    monkeypatch.setitem(judge.THRESHOLDS, "test-free", 0.5)
    assert judge.confidence("test-free", {"agree": 1.0}) == pytest.approx(1 / (1 + 2.718281828 ** -2))
    assert judge.doubtful("test-free", {"agree": 1.0}) == ""
    why = judge.doubtful("test-free", {"agree": 0.0})
    assert why.startswith(judge.DOUBT) and why.endswith(": the quoted sources do not name it"), why
    assert judge.confidence("test-free", {}) == pytest.approx(0.5)  # a missing signal counts as its mean
    assert judge.confidence("unfitted-form", {"agree": 0.0}) is None and judge.doubtful("unfitted-form", {}) == ""


def test_the_form_says_who_answered_and_how() -> None:
    assert judge.form(True, ()) == "model-free" and judge.form(False, ("A", "B")) == "extractive-choice"
