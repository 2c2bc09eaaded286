"""Hybrid retrieval on the real model and a real Chroma index built through ingest."""

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index, StoreError
from rag.ingest.ingest import ingest
from rag.query.retrieve import Candidate, collapse_duplicates, fuse, retrieve, scope_of
from rag.query.timescope import REPORT_LAG_DAYS
from rag.types import Hit
from tests import SEEDS

AS_OF = date(2023, 10, 31)
SHARED = ("Heavy rain pushed the Danube above its banks on Sunday, closing river ports from Vienna to Budapest "
          "and forcing barge operators to halt grain shipments. Hydrologists said the water level at the "
          "Budapest gauge reached 8.4 metres, the highest since 2013, and warned it could rise further as "
          "meltwater arrives from the Alps. Emergency crews stacked sandbags along the embankments overnight.")


def row(url: str, outlet: str, published: str | None, title: str, text: str) -> dict[str, str]:
    record = {"url": url, "source": outlet, "title": title, "text": text}
    return {**record, "publish_date": published} if published else record


ROWS = [
    row("https://gazette.example/port-strike-begins", "Harbour Gazette", "2023-10-02",
        "Port strike begins as dock workers walk out over pay",
        "The port strike began on Monday when dock workers walked out over pay. The port strike has halted "
        "container traffic, and union leaders said the port strike would continue until wages rise. Ships "
        "queued outside the harbour as the strike at the port entered its first day."),
    row("https://gazette.example/port-strike-third-week", "Harbour Gazette", "2023-10-20",
        "Port strike enters third week as dock workers stay out",
        "The port strike entered its third week on Friday with no talks scheduled. Dock workers on strike at "
        "the port said they would stay out until wages rise, and container ships are being diverted to other "
        "harbours while the port strike goes on."),
    row("https://valley.example/library-budget", "Valley Times", "2023-10-10", "Council approves new library budget",
        "The council approved next year's library budget after a two-hour meeting. Opening hours will be "
        "extended on Saturdays. Councillor Zebedee Okonkwo-Farquharson said the reading rooms had been "
        "neglected for a decade and welcomed the extra money for books."),
    row("https://finance.example/central-bank-lifts-rates", "Finance Daily", "2023-10-12",
        "Central bank lifts its key rate by half a point",
        "The central bank raised its benchmark interest rate by half a percentage point on Thursday, citing "
        "stubborn inflation in services and wages. Mortgage lenders are expected to pass on the rise within weeks."),
    row("https://finance.example/central-bank-cuts-rates", "Finance Daily", "2023-11-05",
        "Central bank cuts its key rate as inflation cools",
        "The central bank cut its benchmark interest rate by a quarter point on Sunday as inflation cooled "
        "faster than expected."),
    row("https://wire.example/danube-floods", "Wire Post", "2023-10-15", "Danube floods close river ports",
        SHARED + "\n\nReporting by Anna Novak; editing by Tom Hall."),
    row("https://echo.example/news/2023/danube", "Daily Echo", "2023-10-15",
        "River ports shut as Danube bursts its banks", SHARED + "\n\nMore on this story on page 4."),
    row("https://sport.example/cup-final", "Sport Weekly", "2023-10-08", "City win the cup final on penalties",
        "City beat United on penalties in the cup final after a goalless draw. The goalkeeper saved two spot "
        "kicks and was named man of the match."),
    row("https://weather.example/autumn", "Weather Now", None, "Autumn storms expected to bring gales",
        "Forecasters expect a series of autumn storms to bring gales and heavy rain to coastal areas. Residents "
        "were advised to secure garden furniture."),
]


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One small corpus for the whole module: ingesting costs real embedding time."""
    root = tmp_path_factory.mktemp("retrieve")
    dump = root / "news.jsonl"
    dump.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    settings = Settings(index_root=root / "indexes", index="news")
    report = ingest([str(dump)], Engine(settings), progress=False)
    assert len(report.added) == len(ROWS) and report.ok
    return settings


def titles(hits: list[Hit]) -> list[str]:
    return [h.title for h in hits]


def test_keyword_only_and_paraphrase_only_matches_are_both_found(news: Settings) -> None:
    store, embedder = Index(news), Engine(news).embedder()
    rare = "What did Zebedee Okonkwo-Farquharson say?"
    dense = store.chroma.collection.query(query_embeddings=embedder.embed([rare]), n_results=1, include=["metadatas"])
    assert dense["metadatas"][0][0]["title"] != "Council approves new library budget", "dense alone misses it"
    assert titles(retrieve(rare, Engine(news), as_of=AS_OF).hits)[0] == "Council approves new library budget"

    paraphrase = "Which institution hiked borrowing costs?"  # no word in common with the article
    bank = set(store.chroma.collection.get(where={"title": ROWS[3]["title"]})["ids"])
    assert bank and not bank & {i for i, _ in store.keyword().search(paraphrase, 50)}
    found = retrieve(paraphrase, Engine(news), as_of=AS_OF).hits
    assert titles(found)[0] == "Central bank lifts its key rate by half a point"


def test_seed_article_answers_who_refused_to_meet_sudani(tmp_path: Path) -> None:
    settings = Settings(index_root=tmp_path / "indexes", index="seeds")
    ingest([str(SEEDS)], Engine(settings), progress=False)
    result = retrieve("Who refused to meet Sudani?", Engine(settings), as_of=date(2023, 10, 26))
    assert any("Akram al-Kaabi" in h.text for h in result.hits[:3]), [h.text[:80] for h in result.hits[:3]]


def test_date_window_and_outlet_filters_exclude_what_they_should(news: Settings) -> None:
    q = "news about ports, banks, storms, libraries and football"
    hits = retrieve(q, Engine(news), as_of=AS_OF, date_from=date(2023, 10, 10), date_to=date(2023, 10, 15), k=20).hits
    assert hits and all(h.published and date(2023, 10, 10) <= h.published <= date(2023, 10, 15) for h in hits)
    assert {o for h in hits for o in (h.outlet, *h.also_in)} == {"Valley Times", "Finance Daily", "Wire Post",
                                                                   "Daily Echo"}
    assert {h.outlet for h in retrieve(q, Engine(news), as_of=AS_OF, outlet="harbour gazette", k=20).hits} == {
        "Harbour Gazette"}
    on_day = retrieve("What did the central bank do on 12 October?", Engine(news), as_of=AS_OF)
    assert on_day.window == (date(2023, 10, 12), date(2023, 10, 12))
    # the bank's own report of that Thursday, then one published within REPORT_LAG_DAYS after it
    assert titles(on_day.hits) == ["Central bank lifts its key rate by half a point",
                                   "River ports shut as Danube bursts its banks"]
    storms = "storm warnings and gales"
    assert "Weather Now" in {h.outlet for h in retrieve(storms, Engine(news), as_of=AS_OF).hits}, "undated kept"
    since = retrieve(f"{storms} since 1 October", Engine(news), as_of=AS_OF, k=20)
    assert since.hits and "Weather Now" not in {h.outlet for h in since.hits}, "undated cannot be after a start"


def test_as_of_excludes_articles_published_later(news: Settings) -> None:
    q = "What did the central bank do with interest rates?"
    before = retrieve(q, Engine(news), as_of=AS_OF, k=20)
    assert before.window == (None, AS_OF) and all(h.published is None or h.published <= AS_OF for h in before.hits)
    assert "Central bank cuts its key rate as inflation cools" not in titles(before.hits)
    later = retrieve(q, Engine(news), as_of=date(2023, 11, 30), date_to=date(2024, 1, 1))
    assert later.window == (None, date(2023, 11, 30))
    assert "Central bank cuts its key rate as inflation cools" in titles(later.hits)[:2]


def test_latest_puts_the_newest_of_equally_relevant_articles_first(news: Settings) -> None:
    plain = retrieve("port strike", Engine(news), as_of=AS_OF)
    latest = retrieve("latest port strike", Engine(news), as_of=AS_OF)  # the same query once "latest" is set aside
    assert not plain.latest and latest.latest
    begins, third_week = ROWS[0]["title"], ROWS[1]["title"]
    assert titles(plain.hits)[:2] == [begins, third_week], "by relevance alone the older one leads"
    assert titles(latest.hits)[:2] == [third_week, begins], "newer first, and no newer off-topic item before"


def test_syndicated_copies_come_back_as_one_hit_with_also_in(news: Settings) -> None:
    hits = retrieve("Why were the Danube river ports closed?", Engine(news), as_of=AS_OF).hits
    copies = [h for h in hits if h.outlet in ("Wire Post", "Daily Echo")]
    assert len(copies) == 1 and hits[0] is copies[0]
    assert {copies[0].outlet, *copies[0].also_in} == {"Wire Post", "Daily Echo"}


def test_hits_carry_cosine_similarity_and_stage_timings(news: Settings) -> None:
    result = retrieve("Who won the cup final?", Engine(news), as_of=AS_OF, k=3)
    top = result.hits[0]
    stored = Index(news).chroma.collection.get(ids=[top.chunk_id], include=["embeddings"])["embeddings"][0]
    question = Engine(news).embedder("query").embed(["Who won the cup final?"])[0]
    assert top.title == "City win the cup final on penalties" and len(result.hits) == 3
    assert top.similarity == pytest.approx(float(np.dot(stored, question)), abs=1e-5)
    assert {"embed", "dense", "keyword", "fuse"} <= set(result.timings) and all(
        v >= 0 for v in result.timings.values())


def test_an_empty_window_finds_nothing_and_says_which_window(news: Settings) -> None:
    result = retrieve("What happened in December?", Engine(news), as_of=AS_OF, date_from=date(2023, 1, 1))
    assert result.window == (date(2023, 1, 1), date(2022, 12, 31)) and result.hits == []
    assert retrieve("storms", Engine(news), as_of=AS_OF, date_from=date(2023, 12, 1)).hits == []


def test_bad_arguments_and_missing_index_say_what_to_do(news: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="k must be greater than 0, got 0"):
        retrieve("storms", Engine(news), as_of=AS_OF, k=0)
    missing = Settings(index_root=tmp_path, index="nothing")
    with pytest.raises(StoreError, match="newsrag ingest"):
        retrieve("storms", Engine(missing), as_of=AS_OF)
    assert not missing.index_dir.exists(), "a query must not create an empty index"


def test_fusion_filters_and_collapse_units() -> None:
    assert list(fuse([["a", "b", "c"], ["c", "a"]])) == ["a", "c", "b"]
    v = np.eye(3, dtype=np.float32)

    def cand(i: int, outlet: str, text: str, vector: np.ndarray) -> Candidate:
        hit = Hit(chunk_id=str(i), doc_id=str(i), text=text, title="", outlet=outlet, url="", published=None,
                  start=0, end=0)
        return Candidate(hit, vector)

    ranked = [cand(0, "A", "One story.", v[0]), cand(1, "B", "one  STORY", v[1]), cand(2, "C", "x", v[2]),
              cand(3, "D", "y", v[0] * 0.99 + v[2] * 0.1), cand(4, "A", "z", v[0])]
    hits = collapse_duplicates(ranked, k=1)
    assert [(h.outlet, h.also_in) for h in hits] == [("A", ("B", "D"))]


def test_a_window_asked_about_matches_event_dates_and_later_reports() -> None:
    day = date(2023, 10, 23)
    scope = scope_of("Who did Blinken speak with on 23 October?", date(2023, 11, 30), date_to=date(2023, 11, 20))
    assert scope.asked == (day, day) and scope.published == (None, date(2023, 11, 20)) and scope.window == (day, day)

    def hit(published: date | None, *events: date) -> Hit:
        return Hit("c", "d", "text", "", "", "", published, 0, 0, events=tuple((e, e) for e in events))

    lag = timedelta(days=REPORT_LAG_DAYS)
    assert scope.holds(hit(day)) and scope.holds(hit(day + lag)), "reported that day or a few days after"
    assert not scope.holds(hit(day + lag + timedelta(days=1))), "a later report must say the date"
    assert scope.holds(hit(date(2023, 11, 2), day)), "a report weeks later that names the day"
    assert not scope.holds(hit(date(2023, 11, 21), day)), "published after --to"
    assert not scope.holds(hit(day - timedelta(days=1))) and not scope.holds(hit(date(2023, 11, 2), date(2023, 10, 24)))
    assert scope.holds(hit(None, day)) and not scope.holds(hit(None)), "undated: only by its event dates"
    plain = scope_of("Who did Blinken speak with?", date(2023, 11, 30))
    assert plain.asked is None and plain.holds(hit(None)) and plain.holds(hit(day)) and not plain.holds(
        hit(date(2023, 12, 1)))


def test_seed_events_are_found_by_when_they_happened(tmp_path: Path) -> None:
    """The seed article appeared on 25 October and tells of a call on 23 October and attacks the week before."""
    settings = Settings(index_root=tmp_path / "indexes", index="seeds")
    ingest([str(SEEDS)], Engine(settings), progress=False)
    as_of = date(2023, 10, 26)
    call = retrieve("Who did Antony Blinken speak with on 23 October?", Engine(settings), as_of=as_of)
    assert any("Blinken also spoke with Sudani over the phone on 23 October" in h.text for h in call.hits)
    attacks = retrieve("How many US military personnel were injured in last week's drone attacks?", Engine(settings),
                       as_of=as_of)
    assert attacks.window == (date(2023, 10, 16), date(2023, 10, 22))
    assert any("at least 24 US military personnel" in h.text for h in attacks.hits)
    assert retrieve("What happened in Iraq on 5 October?", Engine(settings), as_of=as_of).hits == []
    too_early = retrieve("Who did Antony Blinken speak with on 23 October?", Engine(settings), as_of=date(2023, 10, 24))
    assert too_early.hits == [], "the report was published after the as-of date"
