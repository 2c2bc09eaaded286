"""`newsrag bench llm`: each answerer's time to first visible text, tokens/s and memory, side by side.

Every answerer runs in a fresh child process (``python -m rag.benchmarks.llm SPEC``) so its peak RSS
is its own; the extractive answerer, run the same way in the same run, is the baseline. ``openai``
is measured against llama.cpp's own HTTP server (``newsrag llm-server``) started here on loopback
with the bundled 1.5B model, so it is the same runtime seen through the network path.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from rag.benchmarks.ask import load_questions
from rag.benchmarks.common import machine, percentile
from rag.config import Settings
from rag.types import EXTRACTIVE, Answerer


def measure(spec: str, questions: list[tuple[str, date]], settings: Settings) -> dict[str, Any]:
    """Time to first text and end to end per question, llama.cpp's token rates, and this process's peak RSS."""
    from rag.answer.llm.local import LocalGenerator
    from rag.answer.qa import Ask, stream_answer
    from rag.engine import Engine
    from rag.types import Answer

    engine, who = Engine(settings), Answerer(spec)
    first, total, refused, rates = [], [], 0, []
    model = engine.generator(who) if who.generative else None  # the one the answers use: its timings are theirs
    for question, as_of in questions:
        started = time.perf_counter()
        seen = None
        for event in stream_answer(Ask(question, as_of=as_of, answerer=who), engine):
            if isinstance(event, str) and event.strip() and seen is None:
                seen = time.perf_counter() - started
            if isinstance(event, Answer):
                refused += event.refused
        total.append(time.perf_counter() - started)
        first.append(seen if seen is not None else total[-1])
        if isinstance(model, LocalGenerator):
            rates.append(dict(model.last_timings))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"spec": spec, "questions": len(questions), "refused": refused, "first_text_s": first,
            "end_to_end_s": total, "timings": [r for r in rates if r], "peak_rss_mb": peak_mb}


def bench_llm(path: Path, settings: Settings, *, answerers: list[str], limit: int, json_out: str | None,
              threads: list[int] | None = None, busy: bool = False) -> str:
    """Run each answerer in its own process over the same questions; Markdown with the extractive baseline.

    ``threads`` repeats each model answerer at those llama.cpp thread counts; ``busy`` repeats every run
    beside a process that keeps one core busy, as an ingest or another user would.
    """
    questions = load_questions(path)[:limit]
    if not questions:
        raise ValueError(f"no questions found in {path}: give *_qa.jsonl files or one question per line")
    results = []
    for spec in answerers:
        for count in (threads or [settings.llm.threads]) if Answerer(spec).generative else [0]:
            for neighbour in ([False, True] if busy else [False]):
                results.append(_run(spec, path, limit, settings, count, neighbour))
    report = {"date": date.today().isoformat(), "machine": machine(), "index": settings.index, "data": str(path),
              "results": results}
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2) + "\n")
    return markdown(report)


def _run(spec: str, path: Path, limit: int, settings: Settings, count: int, busy: bool) -> dict[str, Any]:
    """One answerer in a child process, with its own llama.cpp server when it is ``openai``."""
    settings = settings.replace(llm_threads=count)
    server = _start_openai_server(settings) if spec == "openai" else None
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        env = {**os.environ, "RAG_LLM_THREADS": str(count)}
        if server:
            env |= {"RAG_OPENAI_BASE_URL": server[1], "RAG_OPENAI_MODEL": settings.llm.local_model}
        result = _child(spec, path, limit, settings, env)
        return result | {"threads": count or threads_auto(), "busy": busy} | (
            {"server_rss_mb": _rss(server[0])} if server else {})
    finally:
        for process in (p for p in (neighbour, server[0] if server else None) if p):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def threads_auto() -> int:
    """What RAG_LLM_THREADS=0 means on this machine."""
    from rag.answer.llm.local import threads

    return threads(Settings(llm_threads=0))


def _child(spec: str, path: Path, limit: int, settings: Settings, env: dict[str, str]) -> dict[str, Any]:
    """One answerer measured in a fresh process (its own peak RSS); its figures as the last line of output."""
    command = [sys.executable, "-m", "rag.benchmarks.llm", spec, str(path), str(limit)]
    env = {**env, "RAG_INDEX": settings.index, "RAG_INDEX_ROOT": str(settings.index_root)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench llm {spec} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _start_openai_server(settings: Settings, wait_s: float = 300.0) -> tuple[subprocess.Popen, str]:
    """llama.cpp's server with the default local model on a free loopback port, once it says it is ready."""
    import selectors

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "rag", "llm-server", "--port", str(port)],
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "RAG_LLM_THREADS": str(settings.llm.threads)})
    with selectors.DefaultSelector() as ready:
        ready.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        line = process.stdout.readline() if ready.select(wait_s) and process.stdout else ""
    if "serving" not in line:
        process.kill()
        raise RuntimeError(f"newsrag llm-server did not say it was serving within {wait_s:g} s: {line!r}")
    return process, f"http://127.0.0.1:{port}/v1"


def _rss(process: subprocess.Popen) -> float:
    """Peak resident memory of another process, in MB (VmHWM)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def markdown(report: dict[str, Any]) -> str:
    """The report's table: one row per answerer, threads and neighbour."""
    rows = [f"{report['machine']}; {report['date']}; index `{report['index']}`; questions from `{report['data']}`",
            "", "| answerer | threads | busy neighbour | questions | refused | first text p50 s | p95 s | "
            "end to end p50 s | reading tok/s | writing tok/s | peak RSS MB | RSS vs extractive |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = next((r["peak_rss_mb"] for r in report["results"] if r["spec"] == EXTRACTIVE), None)
    for r in report["results"]:
        reading = [t["prompt_per_second"] for t in r["timings"] if t.get("prompt_n", 0) > 16]
        writing = [t["predicted_per_second"] for t in r["timings"] if t.get("predicted_n", 0) > 4]
        rss = r["peak_rss_mb"] + r.get("server_rss_mb", 0.0)
        rows.append(f"| `{r['spec']}` | {r['threads'] if Answerer(r['spec']).generative else '-'} | "
                    f"{'yes' if r['busy'] else 'no'} | {r['questions']} | {r['refused']} | "
                    f"{percentile(r['first_text_s'], 50):.2f} | "
                    f"{percentile(r['first_text_s'], 95):.2f} | {percentile(r['end_to_end_s'], 50):.2f} | "
                    f"{_median(reading)} | {_median(writing)} | {rss:.0f} | "
                    f"{f'{rss / base:.1f}x' if base else 'n/a'} |")
    return "\n".join(rows)


def _median(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f}" if values else "n/a"


if __name__ == "__main__":
    spec, source, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(measure(spec, load_questions(source)[:count], Settings())))
