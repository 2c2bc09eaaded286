"""`newsrag bench api`: what the /v1 API adds to answering, against calling the pipeline directly.

The server (UI and API, as `newsrag serve` runs them) is started in this process on a free loopback
port over the same Engine the baseline uses, so both paths read the same loaded models and open
index. Each question is asked through ``POST /v1/chat/completions`` (extractive answerer, plain
HTTP) and then through ``rag.answer.qa.answer``, one after the other, so drift hits both alike.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from rag.answer.qa import Ask, answer
from rag.benchmarks.common import machine, percentile
from rag.benchmarks.ui import QUESTIONS, free_port
from rag.config import Settings
from rag.engine import Engine
from rag.types import EXTRACTIVE

DEFAULT_AS_OF = date(2023, 10, 26)  # the seed articles' week


def default_questions(count: int) -> list[tuple[str, date]]:
    """``count`` questions from the UI benchmark's pool, in turn, as of the seed articles' week."""
    return [(QUESTIONS[i % len(QUESTIONS)], DEFAULT_AS_OF) for i in range(count)]


def bench_api(settings: Settings, questions: list[tuple[str, date]], json_out: str | None = None) -> str:
    """p50/p95 latency through the API and directly, their ratio, as Markdown (and JSON when asked)."""
    import httpx

    from rag.interfaces.ui.server import api_key, launch

    if not questions:
        raise ValueError("no questions to ask: give *_qa.jsonl files or one question per line")
    engine = Engine(settings)
    demo = launch(settings, port=free_port(), block=False, quiet=True, engine=engine)
    key = api_key(settings)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(base_url=demo.local_url.rstrip("/") + "/v1", headers=headers, timeout=600) as client:
            _through_api(client, *questions[0])  # warm-up: the models load and the index opens once, for both
            through, direct = [], []
            for question, as_of in questions:
                through.append(_through_api(client, question, as_of))
                direct.append(_direct(engine, question, as_of))
    finally:
        demo.close(verbose=False)
    figures = _figures(settings, through, direct)
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2) + "\n")
    return markdown(figures)


def _through_api(client: Any, question: str, as_of: date) -> float:
    """Milliseconds of one chat completion, refusing to time a failed one."""
    started = time.perf_counter()
    reply = client.post("/chat/completions", json={"model": EXTRACTIVE, "as_of": as_of.isoformat(),
                                                   "messages": [{"role": "user", "content": question}]})
    elapsed = 1000 * (time.perf_counter() - started)
    if reply.status_code != 200:
        raise RuntimeError(f"the API answered {reply.status_code} to {question!r}: {reply.text[:300]}")
    return elapsed


def _direct(engine: Engine, question: str, as_of: date) -> float:
    """Milliseconds of the same question through rag.answer.qa.answer."""
    started = time.perf_counter()
    answer(Ask(question, as_of=as_of, answerer=EXTRACTIVE), engine)
    return 1000 * (time.perf_counter() - started)


def _figures(settings: Settings, through: list[float], direct: list[float]) -> dict[str, Any]:
    """Percentiles of both paths, their ratio and the milliseconds the API adds."""
    api = {"p50_ms": round(percentile(through, 50), 1), "p95_ms": round(percentile(through, 95), 1)}
    base = {"p50_ms": round(percentile(direct, 50), 1), "p95_ms": round(percentile(direct, 95), 1)}
    return {"questions": len(through), "index": settings.index, "date": date.today().isoformat(),
            "machine": machine(), "api": api, "direct": base,
            "ratio_p50": round(api["p50_ms"] / base["p50_ms"], 2),
            "ratio_p95": round(api["p95_ms"] / base["p95_ms"], 2),
            "overhead_p50_ms": round(api["p50_ms"] - base["p50_ms"], 1)}


def markdown(f: dict[str, Any]) -> str:
    """The figures as the report table."""
    return "\n".join([
        f"{f['questions']} questions, extractive answerer, index `{f['index']}`; {f['machine']}; {f['date']}",
        "",
        "| path | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
        f"| POST /v1/chat/completions (HTTP, loopback) | {f['api']['p50_ms']} | {f['api']['p95_ms']} |",
        f"| rag.answer.qa.answer, same Engine | {f['direct']['p50_ms']} | {f['direct']['p95_ms']} |",
        "",
        f"The API's p50 is {f['ratio_p50']}x the direct call's (p95: {f['ratio_p95']}x); "
        f"{f['overhead_p50_ms']} ms added at p50.",
    ])
