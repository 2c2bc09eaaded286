"""`newsrag bench scale` end to end at a small scale, embedded and on a real `chroma run` server."""

from datetime import date

import pytest

from rag.benchmarks.scale import bench_scale, made_up, markdown, pool
from rag.config import Settings


@pytest.mark.parametrize("server", [False, True])
def test_a_scratch_index_is_built_measured_and_reported(seed_settings: Settings, server: bool) -> None:
    questions = [("Who refused to meet Sudani?", date(2023, 10, 26)), ("What did Blinken say?", date(2023, 10, 26))]
    figures = bench_scale(seed_settings, questions, passages=1500, per_write=500, server=server)
    assert figures["mode"] == ("Chroma server" if server else "embedded") and figures["passages"] == 1500
    assert len(figures["keyword_write_s"]) == 3 and figures["write_s"] > 0
    for key in ("unfiltered", "filtered"):
        assert 0 < figures[key]["p50_ms"] <= figures[key]["p95_ms"] <= figures[key]["p99_ms"]
    assert figures["update"]["segment_s"] > 0 and figures["update"]["rebuild_s"] > 0
    assert figures["update"]["reader_s"] > 0
    assert figures["disk_mb"]["keyword"] >= 0 and figures["disk_mb"]["chroma"] > 0
    assert "| whole index |" in markdown(figures) and "per 100k passages" in markdown(figures)


def test_made_up_passages_are_the_same_for_the_same_numbers(seed_settings: Settings) -> None:
    source = pool(seed_settings)
    first, vectors = made_up(source, 100, 20)
    again, same = made_up(source, 100, 20)
    assert [c.id for c in first] == [c.id for c in again] and (vectors == same).all()
    assert abs(float((vectors**2).sum(axis=1).mean()) - 1.0) < 1e-5  # unit vectors, like the model's
    assert len({c.article.doc_id for c in first}) == 2 and all(c.text for c in first)
