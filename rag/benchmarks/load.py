"""`newsrag bench load`: chat sessions while news is being added, against the same sessions on a quiet app.

A scratch index (the seed articles) is served by `newsrag serve` on a free loopback port. N
sessions ask questions in a loop, through gradio_client, twice: first for ``baseline_s``
seconds with nothing else running (the baseline, same run), then while one more client uploads
a batch of articles through the UI's own "Add news" endpoint, so the ingest runs in the server
process, as when a person adds news while others chat. Afterwards every uploaded document must
be found by its own headline.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from rag.benchmarks.common import machine, percentile
from rag.benchmarks.ui import QUESTIONS, served
from rag.benchmarks.watchload import growing_feed, publish_rounds, watch
from rag.config import Settings
from rag.engine import Engine

AS_OF = date(2023, 10, 26)  # the seed article's week: its questions have answers


def batch_rows(sources: list[str], limit: int, settings: Settings) -> list[dict[str, str]]:
    """The first ``limit`` readable articles of ``sources``, as scraper-dump records."""
    from rag.ingest.sources import read_sources
    from rag.types import Article

    rows: list[dict[str, str]] = []
    for target in sources:
        for item in read_sources(target, settings):
            if isinstance(item, Article) and len(rows) < limit:
                rows.append({"url": item.url or f"https://bench.invalid/{len(rows)}", "title": item.title,
                             "text": item.body, "publish_date": item.published.isoformat() if item.published else "",
                             "source": item.outlet})
        if len(rows) >= limit:
            break
    return rows


def write_batch(rows: list[dict[str, str]], folder: Path) -> Path:
    """The records as one JSONL dump to upload."""
    path = folder / "batch.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def chat_until(url: str, session: int, stop: Callable[[], bool], minimum: int) -> dict[str, Any]:
    """One session asking in a loop until ``stop()`` (and at least ``minimum`` questions)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies: list[float] = []
    errors: list[str] = []
    asked = 0
    while asked < minimum or not stop():
        question = QUESTIONS[(session + asked) % len(QUESTIONS)]
        if asked and asked % len(QUESTIONS) == 0:
            client.predict(api_name="/new_conversation")  # keep histories short: measure answers, not transcripts
        started = time.perf_counter()
        try:
            history = client.predict(question, as_of=AS_OF.isoformat(), api_name="/ask")[0]
            if "nr-error" in str(history[-1]["content"]):
                errors.append(f"{question}: {str(history[-1]['content'])[:200]}")
            else:
                latencies.append(1000 * (time.perf_counter() - started))
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{question}: {exc}")
        asked += 1
    return {"latencies": latencies, "errors": errors}


def run_phase(url: str, sessions: int, minimum: int, background: Callable[[], Any] | None) -> dict[str, Any]:
    """Sessions chatting; with ``background``, until it returns; figures for the phase."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = background() if background else None
        except Exception as exc:  # noqa: BLE001 - reported with the figures
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            done.set()

    started = time.perf_counter()
    with ThreadPoolExecutor(sessions + 1) as pool:
        chats = [pool.submit(chat_until, url, s, done.is_set, minimum) for s in range(sessions)]
        pool.submit(work)
        results = [c.result() for c in chats]
    wall = time.perf_counter() - started
    latencies = [ms for r in results for ms in r["latencies"]]
    errors = [e for r in results for e in r["errors"]] + ([outcome["error"]] if "error" in outcome else [])
    return {"answered": len(latencies), "errors": len(errors), "errors_sample": errors[:5],
            "wall_s": round(wall, 2), "throughput_qps": round(len(latencies) / wall, 2),
            **{f"p{q}_ms": round(percentile(latencies, q), 1) for q in (50, 95, 99)},
            "background": outcome.get("value")}


def upload(url: str, batch: Path, index: str) -> str:
    """Add the batch through the UI's own endpoint; returns the summary it shows."""
    from gradio_client import Client, handle_file

    return str(Client(url, verbose=False).predict([handle_file(str(batch))], "", index, api_name="/add_news")[0])


def searchable(engine: Engine) -> tuple[int, int, list[str]]:
    """Uploaded documents found among the top 10 passages for their own headline: (found, total, missing)."""
    from rag.interfaces.ui.library import UPLOADS
    from rag.query.retrieve import retrieve

    index = engine.index()
    folder = str((engine.settings.index_dir / UPLOADS).resolve())
    docs = {doc for doc, state in index.doc_states().items() if state.source.startswith(folder)}
    uploaded = {hit.doc_id: hit.title for hit in index.hits() if hit.doc_id in docs}
    missing = [doc for doc, title in uploaded.items()
               if doc not in {h.doc_id for h in retrieve(title, engine, as_of=date.today(), k=10).hits}]
    return len(uploaded) - len(missing), len(uploaded), missing


def bench_load(sources: list[str], settings: Settings, sessions: int = 8, limit: int = 50, minimum: int = 5,
               baseline_s: float = 20.0, seeds: str = "seeds", json_out: str | None = None,
               interval: float = 30.0, rounds: int = 3, per_round: int = 3) -> str:
    """Run the three phases on a scratch index and return the Markdown report (and JSON when asked)."""
    from rag.ingest.ingest import ingest

    rows = batch_rows(sources, limit + rounds * per_round + 1, settings)
    with tempfile.TemporaryDirectory(prefix="newsrag-load-") as tmp:
        scratch = settings.replace(index_root=Path(tmp) / "indexes", index="load")
        engine = Engine(scratch)
        ingest([seeds], engine, progress=False)
        batch = write_batch(rows[:limit], Path(tmp))
        with served(scratch, {"RAG_ALLOW_PRIVATE_URLS": "1"}) as url, growing_feed(rows[limit:]) as feed:
            run_phase(url, 1, 1, None)  # warm-up: model and index loaded in the server
            quiet = run_phase(url, sessions, minimum, lambda: time.sleep(baseline_s))
            busy = run_phase(url, sessions, minimum, lambda: upload(url, batch, scratch.index))
            feed.publish(1)  # the feed's first article, ingested by the watcher's first check
            watch(url, feed.url, f"{interval:g}s")
            watching = run_phase(url, sessions, minimum,
                                 lambda: publish_rounds(feed, engine, interval, rounds, per_round))
        found, total, missing = searchable(engine)
        shutil.rmtree(Path(tmp) / "indexes", ignore_errors=True)
    figures = {"sessions": sessions, "articles": len(rows[:limit]), "machine": machine(), "quiet": quiet,
               "ingesting": busy, "watching": watching,
               "searchable": {"found": found, "total": total, "missing_sample": missing[:5]},
               "ingesting_ratio_p95": round(busy["p95_ms"] / quiet["p95_ms"], 2),
               "watching_ratio_p95": round(watching["p95_ms"] / quiet["p95_ms"], 2),
               "ratio_throughput": round(busy["throughput_qps"] / quiet["throughput_qps"], 2)}
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2) + "\n")
    return markdown(figures)


def markdown(f: dict[str, Any]) -> str:
    """The figures as the report table."""
    rows = [f"{f['sessions']} sessions chatting; {f['articles']} articles uploaded through the UI in the second "
            f"phase; {f['machine']}", "",
            "| phase | answered | errors | wall s | questions/s | p50 ms | p95 ms | p99 ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, key in (("chat only (baseline)", "quiet"), ("chat while ingesting", "ingesting"),
                      ("chat while watching a feed", "watching")):
        p = f[key]
        rows.append(f"| {name} | {p['answered']} | {p['errors']} | {p['wall_s']} | {p['throughput_qps']} | "
                    f"{p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} |")
    s = f["searchable"]
    w = f["watching"]["background"] or {}
    rows += ["", f"While ingesting, p95 latency is {f['ingesting_ratio_p95']}x the baseline's and throughput "
                 f"{f['ratio_throughput']}x. Uploaded documents found by their own headline afterwards: "
                 f"{s['found']} of {s['total']}.", "", f"Ingest summary: {str(f['ingesting']['background'])[:300]}",
             "", f"While the watcher ingests a feed that grows every {w.get('interval_s')} s, p95 latency is "
                 f"{f['watching_ratio_p95']}x the baseline's. New articles searchable after (s, per round): "
                 f"{w.get('delays_s')}; within one poll interval: {w.get('within_interval')} of {w.get('rounds')} "
                 f"rounds; 304 answers to unchanged polls: {w.get('not_modified_answers')}."]
    errors = f["quiet"]["errors_sample"] + f["ingesting"]["errors_sample"] + f["watching"]["errors_sample"]
    if errors:
        rows += ["", "Errors (first 5 per phase):", *[f"- {e}" for e in errors]]
    return "\n".join(rows)
