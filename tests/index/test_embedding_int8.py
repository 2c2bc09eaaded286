"""The int8 graph built at set-up (`make models`): there, reproducible, faithful to fp32, chosen by the CPU."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.index import embedding, int8, manifest
from rag.index.embedding import (
    FP32_RUNTIME,
    Embedder,
    _auto,
    build_embedder,
    choose_runtime,
    cpu_flags,
    length_batches,
    load_tokenizer,
)
from rag.ingest.chunking import chunk_article
from rag.ingest.sources import read_sources
from rag.types import Article
from tests import ROOT, SEEDS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODELS = ROOT / "models"  # where `make models` builds it (MODELS_DIR)
# Measured on the seed article's 9 passages: cosine to fp32 torch mean 0.9962, min 0.9924; over 3,175 RealTime QA
# passages mean 0.9940, min 0.9853 (docs/BENCHMARKS.md). A wrong pooling, mask or scale falls far below these.
MEAN_COSINE, MIN_COSINE = 0.99, 0.98
CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 {extra}\nbogomips\t: 4800\n"

needs_build = pytest.mark.skipif(int8.stamp(MODELS) is None, reason=f"no int8 build in {int8.folder(MODELS)}: "
                                 "run `make models` (or `newsrag models build-int8`)")


def embedder(name: str, batch_size: int = 16) -> Embedder:
    return build_embedder(name, batch_size, MODELS)


@pytest.fixture(scope="module")
def passages() -> list[str]:
    """The seed articles' passages, as ingest embeds them."""
    settings = Settings()
    articles = [a for a in read_sources(str(SEEDS), settings) if isinstance(a, Article)]
    chunks = [c for a in articles for c in chunk_article(a, settings.ingest.chunk_size, settings.ingest.chunk_overlap)]
    assert len(chunks) >= 5
    return [c.embed_text for c in chunks]


@needs_build
def test_the_build_is_current_and_runs_integer_matmuls() -> None:
    stamp = int8.stamp(MODELS)
    assert stamp is not None and int8.current(MODELS), "stamp and files disagree: run `make models`"
    ops = int8.integer_ops(int8.folder(MODELS) / int8.INT8)
    assert ops["MatMulInteger"] + ops["DynamicQuantizeMatMul"] >= 12 and ops["QAttention"] == 6, ops


@needs_build
def test_a_rebuild_gives_the_same_bytes_and_a_second_one_is_skipped(tmp_path: Path) -> None:
    assert int8.build(tmp_path) is True
    assert int8.stamp(tmp_path)["outputs"] == int8.stamp(MODELS)["outputs"]  # type: ignore[index]
    assert int8.build(tmp_path) is False


@needs_build
def test_int8_agrees_with_fp32_torch_on_real_passages(passages: list[str]) -> None:
    fp32, vnni = embedder("minilm").embed(passages), embedder("minilm-vnni").embed(passages)
    cosines = (fp32 * vnni).sum(axis=1)
    assert cosines.mean() >= MEAN_COSINE and cosines.min() >= MIN_COSINE, cosines


@needs_build
def test_the_fp32_graph_matches_torch(passages: list[str]) -> None:
    cosines = (embedder("minilm").embed(passages) * embedder("minilm-onnx").embed(passages)).sum(axis=1)
    assert cosines.min() > 0.9999, cosines


@needs_build
def test_order_is_restored_after_sorting_by_length(passages: list[str]) -> None:
    texts = [*passages, "Flooding closed roads.", "Hi", "The central bank raised interest rates by half a point."]
    by_length = {len(load_tokenizer().encode(t).ids): t for t in texts}  # no ties: one batching for any order
    texts = list(by_length.values())
    small = embedder("minilm-vnni", batch_size=2)  # sorting, several batches, then input order again
    forward, backward = small.embed(texts), small.embed(texts[::-1])[::-1]
    np.testing.assert_allclose(forward, backward, atol=1e-6)  # same batches whatever the input order
    alone = np.vstack([small.embed([t]) for t in texts])  # each text at its own place, not its neighbour's
    assert (np.argmax(forward @ alone.T, axis=1) == np.arange(len(texts))).all()
    # activations are quantised per batch, so a neighbour moves a vector a little: measured cosine 0.990-1.000
    assert ((forward * alone).sum(axis=1) > 0.98).all()
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)


def test_length_batches_sort_longest_first_and_cover_every_input() -> None:
    batches = length_batches([3, 9, 1, 9, 5], batch_size=2)
    assert batches == [[1, 3], [4, 0], [2]]


def test_the_runtime_is_chosen_by_cpu_flags() -> None:
    vnni = cpu_flags(CPUINFO.format(extra="avx512f avx512_vnni"))
    assert "avx512_vnni" in vnni and "bogomips" not in vnni
    assert choose_runtime(vnni, built=True) == "minilm-vnni"
    assert choose_runtime(cpu_flags(CPUINFO.format(extra="avx_vnni")), built=True) == "minilm-vnni"
    assert choose_runtime(cpu_flags(CPUINFO.format(extra="avx512f")), built=True) == FP32_RUNTIME
    assert choose_runtime(vnni, built=False) == "minilm"  # nothing built: torch, never a missing file
    assert cpu_flags("") == frozenset()


def test_amx_runs_bf16_torch_with_or_without_a_build() -> None:
    """A Xeon with AMX lists VNNI too: bf16 measured faster there than the int8 graph (docs/BENCHMARKS.md)."""
    amx = cpu_flags(CPUINFO.format(extra="avx512f avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"))
    assert choose_runtime(amx, built=True) == choose_runtime(amx, built=False) == "minilm-bf16"
    # avx512_bf16 without the tiles: not measured, so the int8 graph measured on VNNI CPUs stays
    assert choose_runtime(cpu_flags(CPUINFO.format(extra="avx512_vnni avx512_bf16")), built=True) == "minilm-vnni"


def test_auto_without_a_build_says_how_to_make_one(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "cpu_flags", lambda: cpu_flags(CPUINFO.format(extra="avx512_vnni")))
    with caplog.at_level(logging.WARNING):
        assert _auto(tmp_path) == "minilm"
    assert "newsrag models build-int8" in caplog.text
    with pytest.raises(FileNotFoundError, match="models build-int8"):
        build_embedder("minilm-vnni", 8, tmp_path)


def test_every_runtime_records_the_same_model_so_indexes_stay_usable() -> None:
    wanted = {manifest.wanted(Settings(embed_model=name), 384)["embed_model"] for name in manifest.RUNTIMES}
    assert wanted == {manifest.MODEL}


def test_auto_with_amx_needs_no_build(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "cpu_flags", lambda: cpu_flags(CPUINFO.format(extra="avx512_vnni amx_bf16")))
    with caplog.at_level(logging.WARNING):
        assert _auto(tmp_path) == "minilm-bf16"
    assert not caplog.text  # nothing to build: no advice to build it


@needs_build
def test_auto_runs_what_this_cpu_is_fastest_with() -> None:
    assert build_embedder("auto", 8, MODELS).name == choose_runtime(cpu_flags(), built=True)


@needs_build
def test_the_built_graphs_run_without_torch() -> None:
    code = ("import sys\nfrom rag.index.embedding import build_embedder\n"
            f"print(build_embedder('minilm-vnni', 8, {str(MODELS)!r}).embed(['hello']).shape, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.split("\n")[0] == "(1, 384) False", done.stderr
