"""The model verifier (model check mode) and sources that disagree, end to end.

The verifier runs on the bundled Qwen2.5-Coder-1.5B (the product's local model) through llama.cpp; the
disagreement test ingests two real articles into a real index and asks through the `newsrag` command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rag.answer import models
from rag.answer.citations import check_claims
from rag.answer.llm import LLMError, get_generator
from rag.answer.verify import THRESHOLD, Verifier, yes_share
from rag.config import Settings
from rag.engine import Engine
from rag.index.embedding import Embedder
from rag.types import Hit
from tests import ROOT

MODELS_DIR = ROOT / "models"
SOURCE = ("Firefighters contained the blaze at the Ostrava chemical plant on Sunday after nine hours. "
          "The plant's owner said production would resume within a month.")


def hit(text: str) -> Hit:
    return Hit(chunk_id="c", doc_id="d", text=text, title="Fire", outlet="Ostrava Daily", url="https://o.example/a",
               published=date(2031, 3, 2), start=0, end=len(text))


def test_yes_share_reads_yes_against_no_whatever_the_spelling() -> None:
    assert yes_share({"Yes": -0.1, " no": -2.4, "Maybe": -3.0}) == pytest.approx(0.9089, abs=1e-3)
    assert yes_share({"yes.": -1.0, "NO": -1.0}) == pytest.approx(0.5)
    assert yes_share({"The": -0.1}) == 0.5


def test_the_mode_picks_the_verifier(tmp_path: Path) -> None:
    empty = Settings(index_root=tmp_path, models_dir=tmp_path / "none")
    assert Engine(empty.replace(check_mode="fast")).verifier() is None
    assert Engine(empty.replace(check_mode="auto")).verifier() is None, "auto: no model at hand"
    with pytest.raises(LLMError, match="newsrag models install"):
        Engine(empty.replace(check_mode="model")).verifier()
    served = empty.replace(check_mode="auto")
    assert Engine(served).verifier("openai").model.name.startswith("openai"), "the answerer's own model verifies"
    installed = Settings(index_root=tmp_path, models_dir=MODELS_DIR, check_mode="auto")
    assert Engine(installed).verifier().model.name == "local:qwen2.5-coder-1.5b", "auto: the bundled model, installed"
    assert Engine(installed).verifier("local:qwen2.5-coder-0.5b").model.name == "local:qwen2.5-coder-0.5b"


class Recording:
    """A generator that says "yes" and counts the calls: which claims reach the verifier."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        raise AssertionError("the verifier reads one token, it never streams")

    def next_token(self, system: str, user: str) -> dict[str, float]:
        self.calls.append(user)
        return {"yes": -0.05, "no": -3.0}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Engine(Settings()).embedder()


def test_only_claims_the_fast_check_cannot_settle_reach_the_model(embedder: Embedder) -> None:
    model = Recording()
    claims = check_claims(
        "Firefighters contained the blaze at the Ostrava chemical plant on Sunday after nine hours [1]. "
        "The fire at the Ostrava plant killed 12 workers [1]. "
        "Crews needed most of the day to bring the Ostrava factory fire under control [1].",
        [hit(SOURCE)], embedder, Verifier(model))
    assert [c.judge for c in claims] == ["quote", "fast", "model"]
    assert not claims[1].supported and "12" in claims[1].reason, "a missing figure needs no model"
    assert claims[2].supported and claims[2].confidence > THRESHOLD and len(model.calls) == 1
    assert "Crews needed most of the day" in model.calls[0] and "Firefighters contained" in model.calls[0]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    try:
        models.path("qwen2.5-coder-1.5b", MODELS_DIR)
    except models.ModelError as exc:
        pytest.fail(f"the bundled model is part of the set-up (make setup): {exc}")
    return Verifier(get_generator("local", Settings(models_dir=MODELS_DIR)))


def test_the_real_model_tells_a_backed_claim_from_an_unbacked_one(verifier: Verifier) -> None:
    backed = verifier.p_supported("The Ostrava plant fire was contained on Sunday.", SOURCE.split(". "))
    unbacked = verifier.p_supported("The Ostrava plant will close for good after the fire.", SOURCE.split(". "))
    assert backed >= THRESHOLD > unbacked, (backed, unbacked)


def run(*args: str, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "RAG_INDEX_ROOT": str(root), **env})


def article(folder: Path, name: str, outlet: str, figure: str) -> None:
    (folder / f"{name}.md").write_text(
        f"---\ntitle: Blaze at Ostrava chemical plant\noutlet: {outlet}\ndate: 2031-03-02\n"
        f"url: https://{name}.example/ostrava-fire\n---\n"
        f"Firefighters in the Czech city of Ostrava fought a blaze at a chemical plant on Sunday.\n\n"
        f"The fire at the Ostrava chemical plant injured {figure} workers, the regional fire service said.\n\n"
        f"The plant's owner said production would resume within a month.\n")


def test_two_articles_differing_on_a_figure_are_shown_as_a_disagreement(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    article(folder, "ostrava-daily", "Ostrava Daily", "14")
    article(folder, "prague-wire", "Prague Wire", "41")
    assert run("ingest", str(folder), "-q", root=tmp_path / "idx").returncode == 0
    question = "How many workers did the fire at the Ostrava chemical plant injure?"
    asked = run("ask", question, "--as-of", "2031-03-03", root=tmp_path / "idx")
    assert asked.returncode == 0, asked.stderr
    assert "Sources disagree" in asked.stdout and "injured 14 workers" in asked.stdout, asked.stdout
    assert "injured 41 workers" in asked.stdout and "Ostrava Daily" in asked.stdout and "Prague Wire" in asked.stdout

    numbers = {outlet: n for n, outlet in re.findall(r"^\[(\d)\] (Ostrava Daily|Prague Wire):", asked.stdout, re.M)}
    daily, wire = numbers["Ostrava Daily"], numbers["Prague Wire"]
    checked = run("check", f"The fire at the Ostrava chemical plant injured 14 workers [{daily}].", "--question",
                  question, "--as-of", "2031-03-03", root=tmp_path / "idx", RAG_CHECK_MODE="fast")
    assert checked.returncode == 0, checked.stderr
    assert f"CONTESTED by [{wire}] [quote, 1.00]" in checked.stdout, checked.stdout
    assert "injured 41 workers" in checked.stdout, "the contradicting sentence is shown with its source"
