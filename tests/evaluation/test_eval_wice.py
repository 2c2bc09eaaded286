"""`newsrag eval wice`: WiCE-shaped claims the test writes itself, scored by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.config import Settings
from rag.evaluation.wice import best_threshold, evaluate, load_wice, summarise
from rag.interfaces.cli import main

ROWS = [
    {"label": "supported", "claim": "Alice Smith won the 2031 Widget Prize in Lisbon.",
     "evidence": ["The jury met on Friday.", "Alice Smith won the 2031 Widget Prize at a ceremony in Lisbon."],
     "meta": {"id": "c1"}},
    {"label": "partially_supported", "claim": "Bob Jones won the 2019 Widget Prize and retired in 2020.",
     "evidence": ["Bob Jones won the 2019 Widget Prize."], "meta": {"id": "c2"}},
    {"label": "not_supported", "claim": "The Zorblatt 9 console sold 9 million units in 2030.",
     "evidence": ["The Zorblatt 9 console was released in 2029."], "meta": {"id": "c3"}},
    {"label": "not_supported", "claim": "The Zorblatt 9 console sold 9 million units in 2030.",
     "evidence": ["Zorb Games makes consoles."], "meta": {"id": "c3"}},
]


@pytest.fixture
def wice_file(tmp_path: Path) -> Path:
    path = tmp_path / "oracle_claim_dev.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    return path


def test_rows_are_grouped_by_claim(wice_file: Path) -> None:
    claims = load_wice(wice_file)
    assert [(c.cid, c.label, len(c.evidence)) for c in claims] == [
        ("c1", "supported", 1), ("c2", "partially_supported", 1), ("c3", "not_supported", 2)]


def test_an_unknown_label_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], "label": "maybe"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: label 'maybe' is not one of"):
        load_wice(path)


def test_the_check_is_scored_against_the_labels(wice_file: Path, tmp_path: Path) -> None:
    result = evaluate(wice_file, Settings(index_root=tmp_path), progress=False)
    verdicts = {r["id"]: (r["predicted"], [row["supported"] for row in r["rows"]]) for r in result["records"]}
    # the second half of c2 (2020) and all of c3 are backed by nothing: only c1 is supported
    assert verdicts == {"c1": (True, [True]), "c2": (False, [False]), "c3": (False, [False, False])}
    s = result["summary"]
    assert (s["precision"]["value"], s["recall"]["value"], s["f1"], s["balanced_accuracy"]) == (1.0, 1.0, 1.0, 1.0)
    assert s["judged_supported_by_label"]["partially_supported"] == {"value": 0.0, "hits": 0.0, "n": 1}
    assert {row["judge"] for r in result["records"] for row in r["rows"]} == {"fast"} and result["mode"] == "fast"


def test_the_threshold_is_calibrated_on_the_verifier_rows_only() -> None:
    def record(label: str, *rows: tuple[str, bool, float]) -> dict:
        return {"label": label, "ms": 1.0, "predicted": False,
                "rows": [{"judge": j, "supported": ok, "confidence": c} for j, ok, c in rows]}

    records = [record("supported", ("fast", True, 0.9)),  # the fast check's "supported" stands at any threshold
               record("supported", ("model", False, 0.8)),
               record("partially_supported", ("model", False, 0.6)),
               record("not_supported", ("fast", False, 0.0))]
    best = best_threshold(records)
    assert best["threshold"] == 0.8 and best["f1"] == 1.0 and best["balanced_accuracy"] == 1.0

def test_summary_by_hand() -> None:
    records = [{"label": "supported", "predicted": True, "ms": 1.0}, {"label": "supported", "predicted": False,
               "ms": 3.0}, {"label": "partially_supported", "predicted": True, "ms": 2.0},
               {"label": "not_supported", "predicted": False, "ms": 4.0}]
    s = summarise(records)
    assert (s["precision"]["value"], s["recall"]["value"]) == (0.5, 0.5)
    assert s["f1"] == pytest.approx(0.5) and s["balanced_accuracy"] == pytest.approx(0.5)  # (1/2 + 1/2) / 2
    assert s["ms_per_claim"]["p50"] == 2.0


def test_cli_prints_the_table_and_writes_json(wice_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_INDEX_ROOT", str(tmp_path))
    out = tmp_path / "wice.json"
    assert main(["eval", "wice", str(wice_file), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| newsrag, fast mode | 1.000 (1/1) | 1.000 (1/1) | 1.000 | 1.000 |" in table and "GPT-4" in table
    assert json.loads(out.read_text())["summary"]["claims"] == 3
