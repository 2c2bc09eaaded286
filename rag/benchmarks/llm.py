"""`newsrag bench llm`: where an answer's time goes, for each answerer, free-form and with alternatives.

Every answerer runs in a fresh child process (``python -m rag.benchmarks.llm``) so that its load time and
peak RSS are its own. The child loads and warms the model as ``serve`` does, then asks each question as
typed (free-form) and, from a RealTime QA folder, again with its alternatives. Per question it records the
time to the first words and to the checked answer, and llama.cpp's own figures summed over the question's
requests: tokens read, tokens found already read (the prompt cache), tokens written, and their
milliseconds. The extractive answerer, run the same way in the same run, is the baseline; ``compare``
repeats every model answerer under other settings (``RAG_LLM_SLOTS=1``, ``RAG_LLM_EVIDENCE_TOKENS=300``)
for ratios measured on the same machine at the same time. ``openai`` is measured against llama.cpp's own
HTTP server (``newsrag llm-server``) started here on loopback with the bundled model.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rag.benchmarks.common import machine, percentile
from rag.config import Settings
from rag.optional import require
from rag.types import Answerer

KINDS = ("free", "choices")


@dataclass(frozen=True, slots=True)
class Asked:
    """One question as the bench asks it: its text, its as-of date, and whether it offers alternatives."""

    text: str
    as_of: date
    kind: str


def load_asked(path: Path, limit: int) -> list[Asked]:
    """``limit`` questions evenly spread over a RealTime QA folder, each asked free-form and with its
    alternatives; or the first ``limit`` lines of a text file, free-form, as of today."""
    if not path.is_dir():
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()][:limit]
        return [Asked(line, date.today(), "free") for line in lines]
    from rag.evaluation.realtimeqa import load_questions, week_files

    found = load_questions(week_files(path))
    sample = found[:: max(1, len(found) // limit)][:limit] if limit else []
    return [Asked(q.asked_free, q.as_of, "free") for q in sample] + [
        Asked(q.asked, q.as_of, "choices") for q in sample if q.choices]


def measure(spec: str, asked: list[Asked], settings: Settings) -> dict[str, Any]:
    """Load and warm the answerer, then each question's waits and llama.cpp figures, and the process's RSS."""
    from rag.engine import Engine

    engine, who = Engine(settings), Answerer(spec)
    started = time.perf_counter()
    model = engine.generator(who) if who.generative else None
    if model is not None:
        engine.warm(who)
    load_s = time.perf_counter() - started
    openings = [_tokens(r) for r in getattr(model, "requests", [])]
    rows = [_ask(item, engine, who, model) for item in asked]
    return {"spec": spec, "load_s": load_s, "openings_tokens": openings, "rows": rows,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _ask(item: Asked, engine: Any, who: Answerer, model: Any) -> dict[str, Any]:
    """One question through ``stream_answer``: its waits, what the model read and wrote, RSS afterwards."""
    from rag.answer.qa import Ask, stream_answer
    from rag.types import Answer

    requests = getattr(model, "requests", None)
    if requests is not None:
        requests.clear()
    final = None
    for event in stream_answer(Ask(item.text, as_of=item.as_of, answerer=who), engine):
        if isinstance(event, Answer):
            final = event
    assert final is not None
    figures = [_tokens(r) for r in requests or []]
    summed = {k: sum(f[k] for f in figures) for k in ("read", "cached", "read_ms")}
    writing = [f for f in figures if f["written"] > 1]  # a one-token reading is all prompt: no writing speed
    summed |= {k: sum(f[k] for f in writing) for k in ("written", "written_ms")}
    return {"kind": item.kind, "refused": final.refused, "first_text_s": final.timings["first_text_ms"] / 1000,
            "checked_s": final.timings["checked_ms"] / 1000, "requests": len(figures), **summed,
            "rss_mb": _rss(os.getpid())}


def _tokens(timings: dict[str, float]) -> dict[str, float]:
    """llama.cpp's timings of one request, named for the report."""
    return {"read": timings.get("prompt_n", 0), "cached": timings.get("cache_n", 0),
            "read_ms": timings.get("prompt_ms", 0.0), "written": timings.get("predicted_n", 0),
            "written_ms": timings.get("predicted_ms", 0.0)}


def bench_llm(path: Path, settings: Settings, *, answerers: list[str], limit: int, json_out: str | None,
              threads: list[int] | None = None, busy: bool = False, compare: list[str] | None = None) -> str:
    """Run each answerer in its own process over the same questions; Markdown with the extractive baseline.

    ``threads`` repeats each model answerer at those llama.cpp thread counts; ``busy`` repeats every run
    beside a process that keeps one core busy; each ``compare`` entry ("KEY=VALUE,KEY=VALUE", settings
    as environment variables) repeats every model answerer with those settings.
    """
    if not load_asked(path, limit):
        raise ValueError(f"no questions found in {path}: give a RealTime QA folder (*_qa.jsonl) or one question "
                         "per line")
    results = []
    for spec in answerers:
        generative = Answerer(spec).generative
        for count in (threads or [settings.llm.threads]) if generative else [0]:
            for extra in ([""] + (compare or [])) if generative else [""]:
                for neighbour in ([False, True] if busy else [False]):
                    results.append(_run(spec, path, limit, settings, count, neighbour, extra))
    report = {"date": date.today().isoformat(), "machine": f"{machine()}; llama.cpp kernels: {llama_kernels()}",
              "index": settings.index, "data": str(path), "results": results}
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2) + "\n")
    return markdown(report)


def llama_kernels() -> str:
    """The instruction sets llama.cpp was compiled for (the portable wheel: AVX2; ``make setup``'s native build:
    what this CPU has), which decide its speed more than the CPU's own flags."""
    try:
        info = require("xllamacpp", "xllamacpp", "llm='local'").get_system_info()
    except ImportError:
        return "not installed"
    return ", ".join(re.findall(r"(\w+) = 1", info)) or info.strip()


def _run(spec: str, path: Path, limit: int, settings: Settings, count: int, busy: bool,
         extra: str) -> dict[str, Any]:
    """One answerer in a child process, with its own llama.cpp server when it is ``openai``."""
    settings = settings.replace(llm_threads=count)
    server = _start_openai_server(settings) if spec == "openai" else None
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        env = {**os.environ, "RAG_LLM_THREADS": str(count), **parse_settings(extra)}
        if server:
            env |= {"RAG_OPENAI_BASE_URL": server[1], "RAG_OPENAI_MODEL": settings.llm.local_model}
        result = _child(spec, path, limit, settings, env)
        return result | {"threads": count or threads_auto(), "busy": busy, "settings": extra} | (
            {"server_rss_mb": _rss(server[0].pid, "VmHWM")} if server else {})
    finally:
        for process in (p for p in (neighbour, server[0] if server else None) if p):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def parse_settings(text: str) -> dict[str, str]:
    """"RAG_LLM_SLOTS=1,RAG_LLM_EVIDENCE_TOKENS=300" as environment variables; anything else is refused."""
    found = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key.startswith("RAG_"):
            raise ValueError(f"--compare {text!r}: give settings as RAG_NAME=VALUE, comma-separated "
                             "(e.g. RAG_LLM_SLOTS=1,RAG_LLM_EVIDENCE_TOKENS=300)")
        found[key] = value
    return found


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


def _rss(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(result: dict[str, Any], kind: str) -> dict[str, float] | None:
    """One answerer's figures over the questions of one kind: waits (p50, p95), tokens and rates, memory."""
    rows = [r for r in result["rows"] if r["kind"] == kind]
    if not rows:
        return None
    total = {k: sum(r[k] for r in rows) for k in ("read", "read_ms", "written", "written_ms")}
    first, checked = [r["first_text_s"] for r in rows], [r["checked_s"] for r in rows]
    return {"questions": len(rows), "refused": sum(r["refused"] for r in rows),
            "read_p50": percentile([r["read"] for r in rows], 50),
            "cached_p50": percentile([r["cached"] for r in rows], 50),
            "first_p50": percentile(first, 50), "first_p95": percentile(first, 95),
            "checked_p50": percentile(checked, 50), "checked_p95": percentile(checked, 95),
            "read_rate": 1000 * total["read"] / total["read_ms"] if total["read_ms"] else float("nan"),
            "write_rate": 1000 * total["written"] / total["written_ms"] if total["written_ms"] else float("nan"),
            "rss_growth_mb": rows[-1]["rss_mb"] - rows[0]["rss_mb"]}


def markdown(report: dict[str, Any]) -> str:
    """One row per answerer, kind of question, settings, threads and neighbour; ratios against extractive."""
    rows = [f"{report['machine']}; {report['date']}; index `{report['index']}`; questions from `{report['data']}`",
            "", "| answerer | settings | questions | threads | busy | load s | instructions tok | read tok p50 | "
            "already read tok p50 | first words p50 / p95 s | checked p50 / p95 s | reading tok/s | "
            "writing tok/s | peak RSS MB | RSS growth MB | refused | checked p50 vs defaults |",
            "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        generative = Answerer(r["spec"]).generative
        for kind in KINDS:
            s = summary(r, kind)
            if s is None:
                continue
            base = next((summary(b, kind) for b in report["results"] if not b["settings"] and all(
                b[k] == r[k] for k in ("spec", "threads", "busy"))), None)
            ratio = f"{s['checked_p50'] / base['checked_p50']:.2f}x" if base else "-"
            openings = "/".join(str(int(o["read"] + o["cached"])) for o in r["openings_tokens"]) or "-"
            rows.append(
                f"| `{r['spec']}` | {r['settings'] or 'defaults'} | {s['questions']} {kind} | "
                f"{r['threads'] if generative else '-'} | {'yes' if r['busy'] else 'no'} | {r['load_s']:.1f} | "
                f"{openings} | {s['read_p50']:.0f} | {s['cached_p50']:.0f} | "
                f"{s['first_p50']:.2f} / {s['first_p95']:.2f} | {s['checked_p50']:.2f} / {s['checked_p95']:.2f} | "
                f"{_rate(s['read_rate'])} | {_rate(s['write_rate'])} | "
                f"{r['peak_rss_mb'] + r.get('server_rss_mb', 0.0):.0f} | {s['rss_growth_mb']:+.0f} | "
                f"{s['refused']} | {ratio} |")
    return "\n".join(rows)


def _rate(value: float) -> str:
    return "n/a" if value != value else f"{value:.1f}"  # NaN: the answerer ran no model here


if __name__ == "__main__":
    spec, source, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(measure(spec, load_asked(source, count), Settings())))
