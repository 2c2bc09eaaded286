"""`newsrag bench ingest`: the whole ingest pipeline against plain encoding of the same passages.

The baseline (plain ``SentenceTransformer.encode`` of the very same passage texts) runs before
and after the pipelines; the faster of the two runs is the reference (a run slowed by other work
on the machine would flatter the pipeline). Each runtime's vectors are compared with the
baseline's too: a faster runtime is only of use if it gives the same model's vectors.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from rag.benchmarks.common import machine
from rag.config import Settings
from rag.engine import Engine
from rag.index.embedding import import_torch, model_dir
from rag.ingest.chunking import chunk_article
from rag.ingest.ingest import ingest
from rag.ingest.sources import read_sources
from rag.types import Article

SAMPLE = 500  # passages each runtime embeds again to compare its vectors with plain encode's


def _articles(targets: Sequence[str], limit: int, settings: Settings) -> list[Article]:
    """The first ``limit`` distinct articles of the targets (the pipeline would skip the repeats,
    so the baseline must not encode them either)."""
    seen: set[str] = set()
    articles: list[Article] = []
    for item in (i for t in targets for i in read_sources(t, settings) if isinstance(i, Article)):
        if item.content_key not in seen and item.doc_id not in seen:
            seen |= {item.content_key, item.doc_id}
            articles.append(item)
        if len(articles) == limit:
            break
    return articles


def _write_jsonl(articles: list[Article], path: Path) -> None:
    """The sample as a JSONL dump, so the pipeline run includes reading it."""
    with path.open("w") as out:
        for a in articles:
            row = asdict(a) | {"text": a.body, "source": a.outlet}
            row["published"] = a.published.isoformat() if a.published else None
            out.write(json.dumps(row) + "\n")


def _plain_encode(texts: list[str]) -> tuple[float, np.ndarray]:
    """Seconds for plain SentenceTransformer.encode of the texts (the baseline), and its vectors.

    torch is loaded as the runtimes load it (OpenMP threads sleep when idle): the baseline gets the same
    threads, and the runtimes measured here are the ones ``newsrag ingest`` runs.
    """
    import_torch("minilm")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    model.encode(texts[:8], batch_size=32)  # warm-up
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    return time.perf_counter() - start, vectors


def _agreement(engine: Engine, texts: list[str], reference: np.ndarray) -> dict[str, float]:
    """Cosine of the runtime's vectors to plain encode's, over an even sample of the passages."""
    picks = list(range(0, len(texts), max(1, len(texts) // SAMPLE)))
    cosines = (engine.embedder().embed([texts[i] for i in picks]) * reference[picks]).sum(axis=1)
    return {"cos_mean": float(cosines.mean()), "cos_min": float(cosines.min()), "cos_n": len(picks)}


def _timed_ingest(path: Path, engine: Engine) -> tuple[float, int]:
    """Seconds and passages of one ingest run."""
    report = ingest([str(path)], engine, progress=False)
    if report.failed:
        raise RuntimeError(f"benchmark ingest failed: {report.failed[:3]}")
    return report.seconds, report.chunks


def bench_ingest(targets: Sequence[str], *, limit: int, models: Sequence[str], json_out: str | None) -> str:
    """Ingest throughput and re-ingest cost, as Markdown (and JSON if asked)."""
    defaults = Engine()
    articles = _articles(targets, limit, defaults.settings)
    shape = defaults.settings.ingest
    chunks = [c for a in articles for c in chunk_article(a, shape.chunk_size, shape.chunk_overlap)]
    texts = [c.embed_text for c in chunks]
    tokens = sum(len(e.ids) for e in defaults.tokenizer().encode_batch(texts))
    results: dict[str, Any] = {"articles": len(articles), "passages": len(texts), "tokens": tokens,
                               "date": date.today().isoformat(), "machine": machine()}
    seconds, reference = _plain_encode(texts)
    baseline = [seconds]
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "sample.jsonl"
        _write_jsonl(articles, dump)
        for name in models:
            engine = Engine(Settings(index_root=Path(tmp), index=f"bench-{name}", embed_model=name))
            engine.embedder().embed(texts[:8])  # load and warm the model outside the timing
            first, n = _timed_ingest(dump, engine)
            again, _ = _timed_ingest(dump, engine)
            results[name] = {"first_s": first, "passages": n, "reingest_s": again, "runtime": engine.embedder().name,
                             **_agreement(engine, texts, reference)}
    baseline.append(_plain_encode(texts)[0])
    results["baseline_s"] = min(baseline)  # the least disturbed run: conservative for the pipeline
    results["baseline_runs_s"] = baseline
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2) + "\n")
    return _markdown(results, models)


def _markdown(r: dict[str, Any], models: Sequence[str]) -> str:
    """One table: throughput and ratios against the same-run baseline."""
    base = r["baseline_s"]
    rows = [
        f"{r['articles']} articles, {r['passages']} passages, {r['tokens']} tokens; {r['machine']}; {r['date']}",
        "",
        "| run | seconds | passages/s | tokens/s | vs plain encode | cosine to plain encode (mean / min) |",
        "|---|---:|---:|---:|---:|---:|",
        f"| plain `SentenceTransformer.encode` (fastest of {len(r['baseline_runs_s'])}: "
        f"{', '.join(f'{b:.1f}' for b in r['baseline_runs_s'])} s) | {base:.1f} | "
        f"{r['passages'] / base:.1f} | {r['tokens'] / base:.0f} | 1.00x | |",
    ]
    for name in models:
        m = r[name]
        runs = f"`{name}`" + (f" (runs `{m['runtime']}`)" if m["runtime"] != name else "")
        rows.append(f"| pipeline {runs}: read, chunk, embed, store | {m['first_s']:.1f} | "
                    f"{m['passages'] / m['first_s']:.1f} | {r['tokens'] / m['first_s']:.0f} | "
                    f"{base / m['first_s']:.2f}x | {m['cos_mean']:.4f} / {m['cos_min']:.4f} ({m['cos_n']} passages) |")
        rows.append(f"| re-ingest unchanged, `{name}` | {m['reingest_s']:.2f} | | | "
                    f"{100 * m['reingest_s'] / m['first_s']:.2f}% of first ingest | |")
    rows += ["", f"Peak RSS of the benchmark process: {r['peak_rss_mb']:.0f} MB"]
    return "\n".join(rows)
