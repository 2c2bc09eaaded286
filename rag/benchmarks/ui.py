"""`newsrag bench ui`: the chat UI under concurrent sessions, against calling the pipeline directly.

N sessions (one ``gradio_client.Client`` each, so one server-side conversation each) ask M
questions at once through the real HTTP/SSE path. The baseline, measured in the same run,
asks the same questions, read the same way (follow-ups included), through ``rag.answer.qa.answer``
in this process, one after another. Every history is checked for cross-talk.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from rag.benchmarks.common import machine, percentile
from rag.config import Settings
from rag.engine import Engine

QUESTIONS = [
    "Who refused to meet Sudani?",
    "And what did the US say?",
    "What did Sistani say about Gaza?",
    "Which US bases were attacked?",
    "Who won the 2022 World Cup?",
]


def session_questions(session: int, count: int) -> list[str]:
    """The questions one session asks: the pool rotated per session, so histories differ."""
    return [QUESTIONS[(session + i) % len(QUESTIONS)] for i in range(count)]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float = 180.0) -> None:
    """Poll the page until it answers; fail with the reason after ``seconds``."""
    deadline, last = time.monotonic() + seconds, ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - a loopback URL we started
                if reply.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise TimeoutError(f"the UI at {url} did not answer within {seconds:.0f} s ({last})")


@contextmanager
def served(settings: Settings, env: dict[str, str] | None = None) -> Iterator[str]:
    """`newsrag serve` in its own process on a free loopback port (``env`` added to its environment)."""
    port = free_port()
    env = {**os.environ, "RAG_INDEX_ROOT": str(settings.index_root), "RAG_INDEX": settings.index, **(env or {})}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            try:
                wait_until_up(url)
            except TimeoutError as exc:
                log.seek(0)
                raise TimeoutError(f"{exc}; its output ends: {log.read()[-2000:]}") from None
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_session(url: str, session: int, count: int, as_of: str) -> dict[str, Any]:
    """One session's conversation: latency per question, errors, and whether its history is its own."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    asked = session_questions(session, count)
    latencies, errors, history = [], [], []
    for question in asked:
        started = time.perf_counter()
        try:
            history = client.predict(question, as_of=as_of, api_name="/ask")[0]
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{question}: {exc}")
            continue
        latencies.append(1000 * (time.perf_counter() - started))
        if "nr-error" in _text(history[-1]):
            errors.append(f"{question}: {_text(history[-1])[:200]}")
    users = [_text(m) for m in history if m["role"] == "user"]
    return {"latencies": latencies, "errors": errors, "own_history": users == asked}


def _text(message: dict) -> str:
    content = message["content"]
    return " ".join(part.get("text", "") for part in content) if isinstance(content, list) else str(content)


def run_sessions(url: str, sessions: int, count: int, as_of: str) -> tuple[list[dict[str, Any]], float]:
    """All sessions at once; their results and the wall time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        results = list(pool.map(lambda s: run_session(url, s, count, as_of), range(sessions)))
    return results, time.perf_counter() - started


def direct(engine: Engine, sessions: int, count: int, as_of: date) -> tuple[list[float], float]:
    """The same conversations through rag.answer.qa.answer in this process, one question at a time."""
    from rag.answer.qa import Ask, answer
    from rag.query.conversation import Turn, standalone_question
    from rag.types import EXTRACTIVE

    latencies = []
    started = time.perf_counter()
    for session in range(sessions):
        turns: list[Turn] = []
        for question in session_questions(session, count):
            t0 = time.perf_counter()
            standalone = standalone_question(question, turns, as_of, EXTRACTIVE, engine)
            result = answer(Ask(standalone, as_of=as_of), engine)
            latencies.append(1000 * (time.perf_counter() - t0))
            turns.append(Turn(question, standalone, result.text))
    return latencies, time.perf_counter() - started


def bench_ui(settings: Settings, sessions: int = 10, questions: int = 5, url: str | None = None,
             as_of: date = date(2023, 10, 26), json_out: str | None = None) -> str:
    """Run both measurements and return the Markdown report (and write JSON when asked)."""
    engine = Engine(settings)
    with served(settings) if url is None else _given(url) as target:
        run_session(target, 0, 1, as_of.isoformat())  # warm-up: model and index loaded in the server
        results, wall = run_sessions(target, sessions, questions, as_of.isoformat())
    direct(engine, 1, 1, as_of)  # warm-up
    base_lat, base_wall = direct(engine, sessions, questions, as_of)
    ui_lat = [ms for r in results for ms in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    figures = {
        "sessions": sessions, "questions_per_session": questions, "as_of": as_of.isoformat(),
        "ui": {"answered": len(ui_lat), "errors": len(errors), "cross_talk_sessions": sum(not r["own_history"]
                                                                                          for r in results),
               "wall_s": round(wall, 2), "throughput_qps": round(len(ui_lat) / wall, 2),
               "p50_ms": round(percentile(ui_lat, 50), 1), "p95_ms": round(percentile(ui_lat, 95), 1)},
        "direct": {"answered": len(base_lat), "wall_s": round(base_wall, 2),
                   "throughput_qps": round(len(base_lat) / base_wall, 2),
                   "p50_ms": round(percentile(base_lat, 50), 1), "p95_ms": round(percentile(base_lat, 95), 1)},
        "machine": machine(), "errors_sample": errors[:5],
    }
    figures["ratio_p50"] = round(figures["ui"]["p50_ms"] / figures["direct"]["p50_ms"], 1)
    figures["ratio_throughput"] = round(figures["ui"]["throughput_qps"] / figures["direct"]["throughput_qps"], 2)
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2) + "\n")
    return markdown(figures)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def markdown(f: dict[str, Any]) -> str:
    """The figures as the report table."""
    ui, base = f["ui"], f["direct"]
    lines = [
        f"{f['sessions']} sessions x {f['questions_per_session']} questions at once (as of {f['as_of']}); "
        f"{f['machine']}",
        "",
        "| path | answered | errors | wall s | questions/s | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| UI via gradio_client | {ui['answered']} | {ui['errors']} | {ui['wall_s']} | {ui['throughput_qps']} "
        f"| {ui['p50_ms']} | {ui['p95_ms']} |",
        f"| rag.answer.qa.answer, sequential | {base['answered']} | 0 | {base['wall_s']} | {base['throughput_qps']} "
        f"| {base['p50_ms']} | {base['p95_ms']} |",
        "",
        f"UI p50 latency is {f['ratio_p50']}x the direct call's; UI throughput is {f['ratio_throughput']}x. "
        f"Sessions whose history held anything but their own questions: {ui['cross_talk_sessions']}.",
    ]
    if f["errors_sample"]:
        lines += ["", "Errors (first 5):", *[f"- {e}" for e in f["errors_sample"]]]
    return "\n".join(lines)
