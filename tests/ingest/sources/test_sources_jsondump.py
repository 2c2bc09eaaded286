import json
from datetime import date
from pathlib import Path

from rag.ingest.sources.jsondump import read_json_text, read_jsonl
from rag.types import Article, Failure

RECORD = {
    "url": "https://www.cnn.com/2022/06/12/media/squid-game/index.html",
    "title": "'Squid Game' renewed - CNN",
    "text": "Netflix announced Sunday that the show is green lit for a second season.",
    "authors": ["Ramishah Maruf"],
    "publish_date": "2022/06/12",
}


def _articles(items: list) -> list[Article]:
    return [item for item in items if isinstance(item, Article)]


def test_single_object(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    [article] = read_json_text(json.dumps(RECORD), str(path), path)
    assert isinstance(article, Article)
    assert article.title == "'Squid Game' renewed - CNN"
    assert article.body == RECORD["text"]
    assert article.authors == ("Ramishah Maruf",)
    assert article.published == date(2022, 6, 12)
    assert article.outlet == "cnn.com"  # no source field: the host without www.
    assert article.doc_id == "https://cnn.com/2022/06/12/media/squid-game/index.html"
    assert article.origin == str(path)


def test_list_with_alternative_field_names(tmp_path: Path) -> None:
    records = [
        {
            "headline": "A",
            "body": "First body.",
            "published": "2023-10-25",
            "source": {"id": "x", "name": "Reuters"},
        },
        {"title": "B", "content": "Second body.", "date": "Wed, 25 Oct 2023 10:00:00 GMT", "outlet": "AP"},
        {"title": "C", "text": "   "},
    ]
    path = tmp_path / "list.json"
    items = list(read_json_text(json.dumps(records), str(path), path))
    first, second, third = items
    assert isinstance(first, Article) and (first.title, first.outlet) == ("A", "Reuters")
    assert first.doc_id == f"file://{path.resolve().as_posix()}#[0]"
    assert isinstance(second, Article) and (second.outlet, second.published) == ("AP", date(2023, 10, 25))
    assert isinstance(third, Failure) and third.origin == f"{path}[2]" and "no article text" in third.reason


def test_jsonl_with_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    lines = [
        json.dumps(RECORD),
        "{not json",
        "",
        json.dumps({**RECORD, "url": "https://example.org/b"}),
        "[1, 2",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(read_jsonl(path))
    assert [type(i).__name__ for i in items] == ["Article", "Failure", "Article", "Failure"]
    assert items[1].origin == f"{path}:2" and "invalid JSON" in items[1].reason
    assert items[2].origin == f"{path}:4" and items[2].outlet == "example.org"
    assert items[3].origin == f"{path}:5"


def test_realtimeqa_search_results(tmp_path: Path) -> None:
    question = {
        "question_id": "20220617_0",
        "search_time": "2022/06/17/16:34",
        "search_result": [
            RECORD,
            {"url": "https://www.bbc.co.uk/news/x", "text": "", "title": "Empty"},
            {**RECORD, "url": "https://www.bbc.co.uk/news/y", "title": "Other"},
        ],
    }
    path = tmp_path / "20220617_gcs.jsonl"
    path.write_text(json.dumps(question) + "\n" + json.dumps({**question, "search_result": []}) + "\n")
    items = list(read_jsonl(path))
    assert len(items) == 3
    assert isinstance(items[0], Article) and items[0].origin == f"{path}:1[0]"
    assert isinstance(items[1], Failure) and items[1].origin == f"{path}:1[1]"
    assert isinstance(items[2], Article) and (items[2].title, items[2].outlet) == ("Other", "bbc.co.uk")


def test_jsonl_saved_as_json(tmp_path: Path) -> None:
    text = json.dumps(RECORD) + "\noops\n" + json.dumps({**RECORD, "title": "Second"}) + "\n"
    items = list(read_json_text(text, "x.json"))
    assert [type(i).__name__ for i in items] == ["Article", "Failure", "Article"]
    assert items[1].origin == "x.json:2"


def test_malformed_json_document() -> None:
    [failure] = read_json_text('{\n  "title": "x",\n  "text": oops\n}', "bad.json")
    assert isinstance(failure, Failure) and "invalid JSON" in failure.reason and "line 3" in failure.reason


def test_non_object_record() -> None:
    [failure] = read_json_text('["just a string"]', "s.json")
    assert isinstance(failure, Failure) and "expected a JSON object" in failure.reason


def test_empty_and_binary_jsonl(tmp_path: Path) -> None:
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    [e] = read_jsonl(empty)
    [b] = read_jsonl(binary)
    assert isinstance(e, Failure) and "empty file" in e.reason
    assert isinstance(b, Failure) and "binary file" in b.reason


def test_jsonl_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "lazy.jsonl"
    path.write_text(json.dumps(RECORD) + "\n" + "{bad\n")
    items = read_jsonl(path)
    assert isinstance(next(items), Article)  # the first record arrives before the rest is read


def test_the_outlet_is_never_a_file_name(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    rows = [
        {"text": "One.", "source": "000_6f57e6f2eacdf9d5.txt"},  # a file name, no URL: no outlet
        {"text": "Two.", "source": "scrape/out.json", "publisher": "Harbour Gazette"},  # the next that is a name
        {"text": "Three.", "source": "https://www.reuters.com/world/x"},  # a URL stands for its host
        {"text": "Four.", "source": "file:///tmp/x.html", "url": "https://www.gazette.example/a"},  # the URL's host
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    outlets = [a.outlet for a in _articles(list(read_jsonl(path)))]
    assert outlets == ["", "Harbour Gazette", "reuters.com", "gazette.example"]
