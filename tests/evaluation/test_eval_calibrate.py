"""Fitting the answer judgement on one set and checking it on another; measuring what the evidence block holds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.evaluation import calibrate, evidence
from rag.interfaces.cli import main
from tests.evaluation.test_eval_realtimeqa import write_week


def run_file(path: Path, rows: list[tuple[dict, bool]], free: bool = True, refused: int = 0) -> Path:
    """A run's JSON as `newsrag eval realtimeqa --json` writes it, with the judgement's signals per record."""
    records = [{"signals": s, "refused": False, "free_right": y, "mc_correct": y} for s, y in rows]
    records += [{"signals": {}, "refused": True, "free_right": False, "mc_correct": False}] * refused
    path.write_text(json.dumps({"free": free, "llm": "local", "records": records}))
    return path


def noisy(n: int, seed: int) -> list[tuple[dict, bool]]:
    """Answers whose ``agree`` signal tells right from wrong most of the time, and whose ``noise`` does not."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        right = rng.random() < 0.5
        rows.append(({"agree": float(right if rng.random() < 0.85 else not right), "noise": rng.random()}, right))
    return rows


def test_auc_counts_pairs_ranked_right_and_ties_as_half() -> None:
    assert calibrate.auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert calibrate.auc([0.1, 0.9], [True, False]) == 0.0
    assert calibrate.auc([0.5, 0.5], [True, False]) == 0.5
    assert calibrate.auc([0.5], [True]) is None  # no wrong answer: nothing to rank against


def test_fit_recovers_the_informative_signal_and_the_threshold_holds_on_the_other_set(tmp_path: Path) -> None:
    fitting = run_file(tmp_path / "dev.json", noisy(300, 1), refused=5)
    checking = run_file(tmp_path / "2023.json", noisy(200, 2))
    report = calibrate.calibrate([fitting], [checking], target=0.8)["model-free"]
    assert report["fit_answered"] == 300 and report["check_answered"] == 200  # refusals are not fitted on
    assert report["signal_auc"]["agree"][0] > 0.8 > 0.6 > abs(report["signal_auc"]["noise"][0] - 0.5) + 0.5
    assert report["weights"]["agree"] > 5 * abs(report["weights"]["noise"])
    assert report["fit_kept"]["after"] >= 0.8 and report["check_kept"]["after"] >= 0.75
    assert report["fit_kept"]["before"] < 0.6  # the judgement, not the data, made the answers precise
    text = calibrate.markdown({"model-free": report}, 0.8)
    assert "| agree |" in text and "| check |" in text


def test_missing_signals_count_as_their_mean() -> None:
    rows = [{"signals": {"a": 1.0}, "right": True}, {"signals": {}, "right": False}, {"signals": {"a": 0.0},
                                                                                        "right": False}]
    x, y, means = calibrate.matrix(rows, ["a"])
    assert means == {"a": 0.5} and list(x[:, 0]) == [1.0, 0.5, 0.0] and list(y) == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(calibrate.matrix(rows, ["a"], {"a": 0.2})[0][:, 0], [1.0, 0.2, 0.0])


def test_cli_names_a_missing_run_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "calibrate", "--fit", str(tmp_path / "nope.json")]) == 2
    assert "no such run file" in capsys.readouterr().err


def test_evidence_eval_compares_the_block_with_the_top_passages(tmp_path: Path) -> None:
    data = write_week(tmp_path / "weeks")
    result = evidence.evaluate(data, Settings(index_root=tmp_path / "indexes"), budgets=[40, 400], free=True,
                               progress=False)
    rows = result["summary"]
    assert set(rows) == {"top 4 passages", "top 16 passages", "evidence 40", "evidence 400"}
    # q3's article is dated after its question: no way of reading holds it; the other three are found by all
    assert rows["top 4 passages"]["coverage"]["hits"] == rows["evidence 400"]["coverage"]["hits"] == 3
    assert rows["evidence 40"]["tokens_p50"] <= 40 < rows["top 4 passages"]["tokens_p50"]
    assert all(r["asked"].endswith("?") and ":" not in r["asked"] for r in result["records"])
    assert "| evidence 400 |" in evidence.markdown(result)
