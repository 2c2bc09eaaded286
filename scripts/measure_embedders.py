"""Throughput and parity of the embedding backends on real news passages, in one interleaved run.

Usage: .venv/bin/python scripts/measure_embedders.py ../shared/eval/realtimeqa-dev/20220617_gcs.jsonl

The machine is shared and noisy, so every configuration is timed once per round, rounds rotate the
order, and the median is reported: a background burst then hurts all configurations alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.index.embedding import get_embedder, load_tokenizer, max_seq_length, model_dir  # noqa: E402

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_passages(text: str, words: int) -> list[str]:
    """Whole sentences packed into passages of about ``words`` words, as a sentence-aware chunker does."""
    passages, current = [], []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        current.append(sentence)
        if sum(len(s.split()) for s in current) >= words:
            passages.append(" ".join(current))
            current = []
    return [*passages, " ".join(current)] if current else passages


def load_passages(path: Path, n: int, words: int, per_article: int) -> list[tuple[str, str]]:
    """(title, passage) pairs, a few per distinct article so that many stories are covered."""
    passages: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in path.read_text().splitlines():
        for result in json.loads(line).get("search_result", []):
            url = result.get("url", "")
            if url in seen:
                continue
            seen.add(url)
            cuts = [c for c in split_passages(result.get("text") or "", words) if len(c.split()) >= words // 2]
            passages += [(result.get("title", ""), c) for c in cuts[:per_article]]
    if len(passages) < n:
        print(f"note: only {len(passages)} passages available, wanted {n}", file=sys.stderr)
    return passages[:n]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build_configs(texts: list[str], sizes: list[int]) -> dict[str, Callable[[], np.ndarray]]:
    """Name -> a call that embeds all texts; models are loaded (and load times printed) here."""
    configs: dict[str, Callable[[], np.ndarray]] = {}
    for name in ("minilm-int8", "minilm"):  # int8 first: its load time must not include importing torch
        start = time.perf_counter()
        get_embedder(Settings(embed_model=name, embed_batch_size=sizes[0])).embed(texts[:4])  # + warm-up
        print(f"load+first call {name}: {time.perf_counter() - start:.1f} s")
        for size in sizes:
            embedder = get_embedder(Settings(embed_model=name, embed_batch_size=size))
            configs[f"{name} bs{size}"] = lambda e=embedder: e.embed(texts)
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(model_dir()), device="cpu")
    plain.encode(texts[:4])  # warm-up: the first call allocates and picks kernels
    configs["baseline ST.encode bs32"] = lambda: plain.encode(texts, batch_size=32, show_progress_bar=False)
    return configs


def throughput(configs: dict[str, Callable[[], np.ndarray]], n: int, rounds: int) -> dict[str, list[float]]:
    """Passages per second of every configuration, each round in a rotated order."""
    names = list(configs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            rates[name].append(n / timed(configs[name]))
        print(f"round {r + 1}/{rounds} done (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    return rates


def first_sentence(text: str, min_words: int = 8) -> str:
    """The passage's first sentence, extended past splits like "Gov." until it has a few words."""
    sentences = _SENTENCE_END.split(text)
    for end in range(1, len(sentences) + 1):
        query = " ".join(sentences[:end])
        if len(query.split()) >= min_words:
            return query
    return text


def retrieval(vectors: np.ndarray, queries: np.ndarray, sources: list[int]) -> tuple[float, float, np.ndarray]:
    """Top-1 and top-5 rate at which a query finds its own passage, and the top-5 ids."""
    top = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    src = np.array(sources)[:, None]
    return float((top[:, :1] == src).mean()), float((top == src).any(axis=1).mean()), top


def parity(texts: list[str], pairs: list[tuple[str, str]], sizes: list[int]) -> None:
    """Cosine of int8 vs fp32 vectors, and whether both retrieve the same passages."""
    fp = get_embedder(Settings(embed_model="minilm", embed_batch_size=32))
    i8 = get_embedder(Settings(embed_model="minilm-int8", embed_batch_size=32))
    a, b = fp.embed(texts), i8.embed(texts)
    cos = (a * b).sum(axis=1)
    print(
        f"int8 vs fp32 cosine over {len(texts)} passages: mean {cos.mean():.4f}, min {cos.min():.4f}, "
        f"p1 {np.percentile(cos, 1):.4f}"
    )
    other = get_embedder(Settings(embed_model="minilm-int8", embed_batch_size=sizes[-1])).embed(texts)
    print(f"int8 bs32 vs bs{sizes[-1]}: max |diff| {np.abs(other - b).max():.2e}")
    picks = list(range(0, len(texts), max(1, len(texts) // 50)))[:50]
    queries = [first_sentence(pairs[i][1]) for i in picks]
    print(
        f"retrieval: {len(picks)} first-sentence queries against {len(texts)} passages "
        f"(mean {np.mean([len(q.split()) for q in queries]):.0f} words)"
    )
    tops = {}
    for name, emb, vecs in (("minilm", fp, a), ("minilm-int8", i8, b)):
        top1, top5, tops[name] = retrieval(vecs, emb.embed(queries), picks)
        article = np.mean([pairs[top[0]][0] == pairs[i][0] for top, i in zip(tops[name], picks, strict=True)])
        print(f"  {name:12s} top-1 {top1:.0%}  top-5 {top5:.0%}  (top-1 from the source article {article:.0%})")
    same1 = (tops["minilm"][:, 0] == tops["minilm-int8"][:, 0]).mean()
    overlap = np.mean([len(set(x) & set(y)) / 5 for x, y in zip(tops["minilm"], tops["minilm-int8"], strict=True)])
    print(f"  backends agree on top-1 {same1:.0%}; top-5 overlap {overlap:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a RealTime QA *_gcs.jsonl file")
    parser.add_argument("-n", type=int, default=600, help="passages")
    parser.add_argument("--words", type=int, default=150, help="words per passage")
    parser.add_argument("--per-article", type=int, default=4, help="passages taken from one article")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per configuration")
    parser.add_argument("--sizes", default="16,32,64", help="batch sizes to try")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs = load_passages(args.data, args.n, args.words, args.per_article)
    texts = [f"{title}\n{body}" for title, body in pairs]  # what Chunk.embed_text gives the model
    lengths = [len(e.ids) for e in load_tokenizer().encode_batch(texts)]
    print(
        f"{len(texts)} passages, {len({t for t, _ in pairs})} titles; tokens mean {np.mean(lengths):.0f}, "
        f"max {max(lengths)}, over {max_seq_length()}: {np.mean(np.array(lengths) > max_seq_length()):.0%}; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    configs = build_configs(texts, sizes)
    if args.rounds > 0:  # --rounds 0: parity only
        report(throughput(configs, len(texts), args.rounds))
    parity(texts, pairs, sizes)


def report(rates: dict[str, list[float]]) -> None:
    print(f"\n{'configuration':28s} {'median/s':>9s} {'best/s':>7s}  runs (passages/s)")
    for name, values in sorted(rates.items(), key=lambda kv: -statistics.median(kv[1])):
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:28s} {statistics.median(values):9.1f} {max(values):7.1f}  {runs}")
    print()


if __name__ == "__main__":
    main()
