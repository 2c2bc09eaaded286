from datetime import date, datetime
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest.sources.common import (
    as_authors,
    canonical_url,
    decode_bytes,
    file_doc_id,
    load_bytes,
    outlet_from_url,
    parse_date,
)
from rag.types import Failure


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-10-25", date(2023, 10, 25)),
        ("2023-10-25T22:30:00Z", date(2023, 10, 25)),
        ("Wed, 25 Oct 2023 10:00:00 GMT", date(2023, 10, 25)),
        ("25 October, 2023", date(2023, 10, 25)),
        ("2022/06/12", date(2022, 6, 12)),
        (datetime(2023, 1, 2, 3, 4), date(2023, 1, 2)),
        (date(2020, 5, 6), date(2020, 5, 6)),
    ],
)
def test_parse_date_formats(value: object, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "October 2023", "5 min read", "Live Story", None, 42])
def test_parse_date_refuses_non_dates(value: object) -> None:
    assert parse_date(value) is None


def test_canonical_url() -> None:
    url = "HTTPS://WWW.Example.COM/News/Story/?utm_source=x&id=7&fbclid=abc&gclid=1&utm_medium=y#top"
    assert canonical_url(url) == "https://example.com/News/Story?id=7"
    assert canonical_url("http://www.example.com/") == "http://example.com/"
    assert canonical_url("http://example.com") == "http://example.com/"
    assert canonical_url("https://example.com:443/a") == "https://example.com/a"
    assert canonical_url("http://example.com:8080/a/") == "http://example.com:8080/a"


def test_outlet_and_authors() -> None:
    assert outlet_from_url("https://www.cnn.com/2022/06/12/x.html") == "cnn.com"
    assert as_authors("Jane Doe, John Roe and Ann Poe") == ("Jane Doe", "John Roe", "Ann Poe")
    assert as_authors([{"name": "A"}, "B", "", "A"]) == ("A", "B")
    assert as_authors(None) == ()


def test_decode_bytes() -> None:
    text = (
        "Caf\u00e9 owners say the \u201cpeace talks\u201d will resume \u2013 na\u00efve hopes, critics said. "
        * 5
    )
    assert decode_bytes(b"\xef\xbb\xbfhello") == "hello"
    assert decode_bytes(text.encode("cp1252")) == text
    assert decode_bytes(b"abc\x00\x01\x02def") is None


def test_load_bytes_refuses_big_and_empty(tmp_path: Path) -> None:
    empty = tmp_path / "e.txt"
    empty.write_text("  \n")
    result = load_bytes(empty, Settings(_env_file=None))
    assert isinstance(result, Failure) and "empty file" in result.reason
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    result = load_bytes(big, Settings(_env_file=None, max_file_mb=0.001))
    assert isinstance(result, Failure) and "max_file_mb" in result.reason


def test_file_doc_id_is_absolute_posix(tmp_path: Path) -> None:
    assert (
        file_doc_id(tmp_path / "a" / ".." / "b.txt") == f"file://{(tmp_path / 'b.txt').resolve().as_posix()}"
    )
    assert file_doc_id(tmp_path / "b.txt", "3").endswith("/b.txt#3")
