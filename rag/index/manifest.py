"""The manifest: what made an index's vectors (model, dimension, chunking), so they are never mixed.

It sits in the index folder (``manifest.json``) or, on a Chroma server, in the collection's own
metadata so every process sharing it checks the same one. It records the dimension, so opening an
index to ask questions loads no model: only an ingest, which has the embedder at hand, sets it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rag.config import RUNTIMES, Settings
from rag.index.errors import StoreError

FORMAT = 1
FILE = "manifest.json"
CHUNKER = "sentence spans packed by model tokens, rag.sentences v1"
# the splitter this packing replaced drew the same passages (2,084 of 2,085 RealTime QA articles identical,
# the last one only in an offset it had pointed at an earlier copy of a sentence): its indexes stay valid
SAME_CHUNKS = {"llama-index SentenceSplitter, model tokens, rag.sentences v1": CHUNKER}
MODEL = "all-MiniLM-L6-v2"
# Every runtime runs this one model, so an index records the model, not the runtime: indexes made by `minilm` or
# `minilm-int8` stay usable with the others. Measured against fp32 torch on real passages (docs/BENCHMARKS.md):
# minilm-int8 cosine 0.999, minilm-onnx 1.000, minilm-vnni 0.994 on average, and the same retrieval (RealTime QA
# gold recall@10 equal, @5 0.836 vs 0.845; an index half fp32, half int8 finds passages as well as either).


def model_of(backend: str) -> str:
    """The model a runtime runs: what an index's vectors are, whichever runtime made them."""
    if backend not in RUNTIMES:
        raise ValueError(f"unknown embed_model {backend!r}: choose one of {', '.join(RUNTIMES)}")
    return MODEL


def wanted(settings: Settings, dimension: int | None) -> dict[str, Any]:
    """Everything that changes the vectors; the dimension only when an embedder is at hand (ingest)."""
    found = {"format": FORMAT, "embed_model": model_of(settings.ingest.embed_model), "dimension": dimension,
             "chunk_size": settings.ingest.chunk_size, "chunk_overlap": settings.ingest.chunk_overlap,
             "chunker": CHUNKER}
    return {k: v for k, v in found.items() if v is not None}


def read(index_dir: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None for an index not created yet."""
    path = index_dir / FILE
    return json.loads(path.read_text()) if path.is_file() else None


def write(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Create a new index's manifest atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = (index_dir / FILE).with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, index_dir / FILE)


def compare(stored: dict[str, Any], want: dict[str, Any], location: str, index: str) -> None:
    """Refuse to mix vectors made otherwise; say what differs and how to get out of it."""
    stored = {**stored, "chunker": SAME_CHUNKS.get(stored.get("chunker"), stored.get("chunker"))}
    diffs = [f"{k}: index has {stored.get(k)!r}, settings ask for {v!r}" for k, v in want.items()
             if stored.get(k) != v]
    if diffs:
        raise StoreError(
            f"Index at {location} was built with other settings ({'; '.join(diffs)}). Use those settings, pick "
            f"another index with --index NAME, or rebuild it with `newsrag ingest --rebuild ... --index {index}`.")
