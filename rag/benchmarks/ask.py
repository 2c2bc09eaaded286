"""`newsrag bench ask`: per-stage latency of answering, and the CLI's cold start.

Stage timings come from the Answer itself (the same numbers a user sees with --json), so the
benchmark measures the real path. Cold start is compared with the import time of the
heaviest library `ask` needs, measured in fresh processes in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from rag.answer.qa import Ask, answer
from rag.benchmarks.common import machine, percentile
from rag.config import Settings
from rag.engine import Engine

HEAVY_IMPORTS = ["chromadb", "onnxruntime", "bm25s", "tokenizers", "numpy"]


def load_questions(path: Path) -> list[tuple[str, date]]:
    """RealTime QA weekly files (*_qa.jsonl: question + its date), or a text file of questions."""
    if path.is_dir():
        rows = [json.loads(line) for f in sorted(path.glob("*_qa.jsonl")) for line in f.read_text().splitlines()
                if line.strip()]
        return [(r["question_sentence"], date.fromisoformat(r["question_date"].replace("/", "-"))) for r in rows]
    return [(line.strip(), date.today()) for line in path.read_text().splitlines() if line.strip()]


def _stages(engine: Engine, questions: list[tuple[str, date]], llm: str) -> tuple[dict[str, list[float]], int]:
    """Per-stage milliseconds for every question, and how many were refused."""
    stages: dict[str, list[float]] = defaultdict(list)
    refused = 0
    for question, as_of in questions:
        started = time.perf_counter()
        result = answer(Ask(question, as_of=as_of, answerer=llm), engine)
        stages["end_to_end_ms"].append(1000 * (time.perf_counter() - started))
        for stage, ms in result.timings.items():
            stages[stage].append(ms)
        refused += result.refused
    return stages, refused


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def _cold_start(settings: Settings, question: str, runs: int = 3) -> dict[str, float]:
    """Median seconds of a fresh `newsrag ask`, and of importing each heavy library alone."""
    env = {**os.environ, "RAG_INDEX_ROOT": str(settings.index_root), "RAG_INDEX": settings.index}
    ask = statistics.median(_wall([sys.executable, "-m", "rag", "ask", question], env) for _ in range(runs))
    imports = {m: statistics.median(_wall([sys.executable, "-c", f"import {m}"], env) for _ in range(runs))
               for m in HEAVY_IMPORTS}
    python = statistics.median(_wall([sys.executable, "-c", "pass"], env) for _ in range(runs))
    heaviest = max(imports, key=lambda m: imports[m])
    return {"ask_s": ask, "python_s": python, "heaviest": heaviest, "heaviest_s": imports[heaviest]}  # type: ignore[dict-item]


def bench_ask(path: Path, settings: Settings, *, limit: int, llm: str, json_out: str | None) -> str:
    """Latency percentiles per stage over a question set, plus cold start, as Markdown."""
    questions = load_questions(path)[:limit]
    if not questions:
        raise ValueError(f"no questions found in {path}: give *_qa.jsonl files or one question per line")
    engine = Engine(settings)
    warm_started = time.perf_counter()
    answer(Ask(questions[0][0], as_of=questions[0][1], answerer=llm), engine)  # load models, open the index
    first_s = time.perf_counter() - warm_started
    stages, refused = _stages(engine, questions, llm)
    result: dict[str, Any] = {
        "questions": len(questions), "refused": refused, "llm": llm, "index": settings.index,
        "embed_model": settings.retrieval.query_embed_model, "date": date.today().isoformat(), "machine": machine(),
        "first_query_s": first_s, "cold_start": _cold_start(settings, questions[0][0]),
        "stages": {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in stages.items()},
    }
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2) + "\n")
    return _markdown(result)


def _markdown(r: dict[str, Any]) -> str:
    cold = r["cold_start"]
    rows = [
        f"{r['questions']} questions, answerer `{r['llm']}`, index `{r['index']}` "
        f"(questions embedded by {r['embed_model']}); "
        f"{r['machine']}; {r['date']}; refused {r['refused']}",
        "",
        "| stage | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    rows += [f"| {k.removesuffix('_ms')} | {v['p50']:.1f} | {v['p95']:.1f} |" for k, v in r["stages"].items()]
    rows += [
        "",
        f"First question in a fresh process (loads the model and the index): {r['first_query_s']:.2f} s.",
        f"Cold start of `newsrag ask` (median of 3): {cold['ask_s']:.2f} s; importing `{cold['heaviest']}` alone, the "
        f"heaviest library it needs: {cold['heaviest_s']:.2f} s; bare Python: {cold['python_s']:.2f} s. "
        f"Cold start beyond the heaviest import: {cold['ask_s'] - cold['heaviest_s']:.2f} s.",
    ]
    return "\n".join(rows)
