"""Embedders on the real model: unit vectors in input order, int8 faithful to fp32, lazy heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rag.config import IngestSettings, Settings
from rag.engine import Engine
from rag.index import int8
from rag.index.embedding import Embedder, _require, build_embedder, load_tokenizer, max_seq_length, model_dir
from tests import ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BACKENDS = ["minilm", "minilm-bf16", "minilm-int8"]
BUILT = ["minilm-onnx", "minilm-vnni"]  # graphs `make models` builds (tests/index/test_embedding_int8.py)
LONG = " ".join(f"Officials in city number {i} said the flood barriers held overnight." for i in range(60))
MIXED = ["Flooding closed roads.", LONG, "", "The central bank raised interest rates by half a point.", "Hi"]
# Measured over 600 news passages (scripts/measure_embedders.py): int8 vs fp32 cosine min 0.998,
# mean 0.999; 0.99 leaves room for short or odd inputs while still catching a wrong pooling or
# truncation (those drop the cosine far below 0.95).
INT8_MIN_COSINE = 0.99
# bf16 keeps 8 bits of mantissa but sums in fp32: measured cosine 0.9999 over 946 news passages (docs/BENCHMARKS.md)
BF16_MIN_COSINE = 0.99


def embedder_for(name: str, batch_size: int = 32) -> Embedder:
    return Engine(Settings(embed_model=name, embed_batch_size=batch_size)).embedder()


@pytest.fixture(scope="module", params=BACKENDS + BUILT)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    """Each backend once per module: the Engine keeps what it loaded, so later tests reuse the model."""
    if request.param in BUILT and int8.stamp(ROOT / "models") is None:
        pytest.skip(f"{request.param} needs the graphs `make models` builds (newsrag models build-int8)")
    return build_embedder(request.param, 32, ROOT / "models") if request.param in BUILT else embedder_for(request.param)


def test_shape_dtype_and_unit_norm(embedder: Embedder) -> None:
    vectors = embedder.embed(MIXED)
    assert embedder.dimension == 384
    assert vectors.shape == (len(MIXED), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic(embedder: Embedder) -> None:
    np.testing.assert_allclose(embedder.embed(MIXED), embedder.embed(MIXED), atol=1e-6)


def test_order_preserved_across_length_sorted_batches(embedder: Embedder) -> None:
    small_batches = build_embedder(embedder.name, 2, ROOT / "models")  # sorting + 3 batches + restoring order
    together = small_batches.embed(MIXED)
    alone = np.vstack([embedder.embed([text]) for text in MIXED])
    if embedder.name == "minilm-vnni":  # activations are quantised per batch, so a neighbour moves a vector a
        # little: measured cosine 0.978-1.000 here, the least for "Hi" batched beside "" (real passages: > 0.99)
        assert ((together * alone).sum(axis=1) > 0.96).all()
    elif embedder.name == "minilm-bf16":  # another batch shape rounds differently in bf16: measured cosine > 0.99997
        assert ((together * alone).sum(axis=1) > 0.9999).all()
    else:
        np.testing.assert_allclose(together, alone, atol=1e-4)


def test_empty_input(embedder: Embedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, embedder.dimension) and vectors.dtype == np.float32


def test_paraphrase_is_closer_than_an_unrelated_sentence(embedder: Embedder) -> None:
    query, paraphrase, unrelated = embedder.embed(
        [
            "The president refused to meet the prime minister.",
            "The head of state declined a meeting with the premier.",
            "Strawberries are best picked early in the morning.",
        ]
    )
    assert query @ paraphrase > query @ unrelated + 0.2


def test_text_past_max_seq_length_is_ignored(embedder: Embedder) -> None:
    """Both backends truncate like sentence-transformers: what lies past 256 tokens cannot matter."""
    assert len(load_tokenizer().encode(LONG).ids) > max_seq_length()
    base, extended = embedder.embed([LONG, LONG + " Completely different words about football."])
    assert base @ extended > 0.9999


def test_int8_agrees_with_fp32() -> None:
    texts = [*MIXED, "Russia and Ukraine traded accusations over the shelling of the nuclear plant."]
    fp32, int8 = embedder_for("minilm").embed(texts), embedder_for("minilm-int8").embed(texts)
    cosines = (fp32 * int8).sum(axis=1)
    assert cosines.min() > INT8_MIN_COSINE, cosines


def test_bf16_agrees_with_fp32() -> None:
    texts = [*MIXED, "Russia and Ukraine traded accusations over the shelling of the nuclear plant."]
    fp32, bf16 = embedder_for("minilm").embed(texts), embedder_for("minilm-bf16").embed(texts)
    cosines = (fp32 * bf16).sum(axis=1)
    assert cosines.min() >= BF16_MIN_COSINE, cosines
    assert not np.allclose(fp32, bf16, atol=1e-6), "the same vectors: the model did not run in bf16"


def test_int8_tokenises_exactly_like_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    expected = reference.preprocess(MIXED)
    got = embedder_for("minilm-int8").tokenize(MIXED)  # type: ignore[attr-defined]
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(got[key], expected[key].numpy(), err_msg=key)


def run_isolated(code: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_load_tokenizer_counts_true_tokens_without_importing_torch() -> None:
    """Chunking counts tokens with it: the shipped 128-token truncation/padding must be off."""
    out = run_isolated(
        "import sys\n"
        "from rag.index.embedding import load_tokenizer\n"
        "tok = load_tokenizer()\n"
        f"print(len(tok.encode({LONG!r}).ids), len(tok.encode('Hi there').ids))\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    counts, imported = out.splitlines()
    assert counts.split()[1] == "4" and int(counts.split()[0]) > 600
    assert imported == "[]"


def test_int8_backend_runs_without_torch() -> None:
    out = run_isolated(
        "import sys\n"
        "from rag.config import Settings\n"
        "from rag.engine import Engine\n"
        "print(Engine(Settings(embed_model='minilm-int8')).embedder().embed(['hello']).shape)\n"
        "print('torch' in sys.modules)\n"
    )
    assert out.split("\n")[:2] == ["(1, 384)", "False"]


def test_the_engine_loads_each_runtime_once() -> None:
    engine = Engine(Settings(embed_model="minilm-int8", embed_batch_size=8))
    first = engine.embedder()
    assert engine.embedder() is first and engine.embedder("query") is first, "same runtime: loaded once"
    assert embedder_for("minilm-int8", batch_size=8) is not first, "another engine loads its own"
    assert {embedder_for(name).name for name in BACKENDS} == set(BACKENDS)  # names match the settings


def test_unknown_backend_lists_the_valid_ones() -> None:
    settings = Settings(ingest=IngestSettings.model_construct(embed_model="e5-large", embed_batch_size=32))
    with pytest.raises(ValueError, match=r"'e5-large'.*minilm, minilm-bf16, minilm-int8"):
        Engine(settings).embedder()


def test_missing_package_names_the_install_command() -> None:
    with pytest.raises(ImportError, match="pip install no-such-embedder"):
        _require("no_such_embedder", "no-such-embedder", "minilm")
