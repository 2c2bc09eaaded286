"""Hostile input to every reader: whatever the bytes, nothing raises and every item says what it is.

Each property runs a reader on arbitrary or maliciously structured input and checks the one
contract ``read_sources`` promises: every item is an Article with a body that can be stored and
shown, or a Failure whose reason names the problem and what to do; and a document never vanishes
without a word. The same input also goes through ``read_sources`` as a file, the way ingest sees it.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.config import Settings
from rag.engine import Engine
from rag.ingest.ingest import ingest
from rag.ingest.sources import read_sources
from rag.ingest.sources.common import decode_bytes
from rag.ingest.sources.feed import read_feed
from rag.ingest.sources.html import read_html
from rag.ingest.sources.jsondump import DATE_KEYS, OUTLET_KEYS, TEXT_KEYS, read_json_text, read_jsonl
from rag.ingest.sources.text import read_text
from rag.types import Article, Failure

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETTINGS = Settings(_env_file=None, allow_private_urls=False, url_timeout=1.0)
EXTENSIONS = [".txt", ".md", ".html", ".json", ".jsonl", ".xml", ".rss", ""]
_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
SECRET = "planted-secret-7f3a91c2"
STORY = "Officials said on Monday that the talks between the two delegations would resume next week in Baghdad."

any_text = st.text(st.characters(exclude_categories=()), max_size=300)  # surrogates and controls included
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
FIELDS = [*TEXT_KEYS, *DATE_KEYS, *OUTLET_KEYS, "title", "headline", "url", "link", "authors", "author", "byline",
          "search_result"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole module: hypothesis reruns a test many times, a tmp_path per run is not needed."""
    path = tmp_path_factory.mktemp("hostile")
    (path / "secret.txt").write_text(SECRET)
    return path


def _storable(text: str) -> bool:
    """Text the tokenizer, Chroma and a terminal all take: no lone surrogates, no control characters."""
    return not _UNSHOWABLE.search(text)


def _clear(reason: str) -> bool:
    """A reason a person can act on: one storable line saying the problem, then what to do ("...; ...")."""
    problem, sep, advice = reason.partition("; ")
    return bool(sep and problem.strip() and advice.strip()) and "\n" not in reason and len(reason) < 600 \
        and _storable(reason) and "Traceback" not in reason


def check(items: Iterable[Article | Failure], may_be_empty: bool = False) -> list[Article | Failure]:
    """The reader contract: at least one item, each a storable Article or a clearly explained Failure.

    Only a RealTime QA question with no search results ``may_be_empty``: it holds no articles by design.
    """
    items = list(items)
    assert items or may_be_empty, "a document vanished without an article or a failure"
    for item in items:
        if isinstance(item, Failure):
            assert item.origin and _clear(item.reason), item
        else:
            assert isinstance(item, Article), item
            assert item.body.strip(), item
            fields = [item.doc_id, item.title, item.body, item.outlet, item.url, *item.authors]
            assert all(_storable(f) for f in fields), item
    return items


def via_file(folder: Path, data: bytes, suffix: str, may_be_empty: bool = False) -> list[Article | Failure]:
    """``data`` as a file with ``suffix``, read the way ingest reads it."""
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return check(read_sources(path, SETTINGS), may_be_empty)


# Arbitrary input -------------------------------------------------------------------------------------------------


@FAST
@given(data=st.binary(max_size=2000), suffix=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes_in_any_file(folder: Path, data: bytes, suffix: str) -> None:
    via_file(folder, data, suffix)


@FAST
@given(text=any_text)
def test_arbitrary_text_to_the_text_and_html_readers(text: str) -> None:
    check([read_text(text, "input.txt")])
    check([read_html(text, "input.html")])


@FAST
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_decoded_like_a_file(data: bytes) -> None:
    text = decode_bytes(data)
    if text is not None:
        check([read_text(text, "input.txt")])
        check(read_json_text(text, "input.json"))


@FAST
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_to_the_feed_reader(data: bytes) -> None:
    check(read_feed(data, "input.xml", SETTINGS))


@FAST
@given(lines=st.lists(st.binary(max_size=200) | st.builds(json.dumps, json_value), max_size=5))
def test_arbitrary_lines_to_the_jsonl_reader(folder: Path, lines: list[bytes | str]) -> None:
    path = folder / "lines.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines))
    check(read_jsonl(path))


# Structured but hostile -----------------------------------------------------------------------------------------


@FAST
@given(record=st.dictionaries(st.sampled_from(FIELDS), json_value, min_size=1), body=any_text)
def test_json_records_with_wrong_types_for_every_field(folder: Path, record: dict, body: str) -> None:
    """Every field the reader looks at, holding anything JSON can hold (and "\\ud800" escapes in strings)."""
    no_results = record.get("search_result") == []
    for doc in (record, {**record, "text": body}, [record, {"search_result": [record]}]):
        text = json.dumps(doc)  # ensure_ascii: lone surrogates and NUL become \\u escapes, as scrapers write them
        empty = no_results and isinstance(doc, dict)
        check(read_json_text(text, "input.json"), empty)
        via_file(folder, text.encode(), ".json", empty)
        via_file(folder, text.encode(), ".jsonl", empty)


@settings(FAST, max_examples=10)
@given(depth=st.integers(500, 50_000), opener=st.sampled_from(['[', '{"text": ', '{"search_result": [']))
def test_deeply_nested_json(folder: Path, depth: int, opener: str) -> None:
    closer = {"[": "]", '{"text": ': "}", '{"search_result": [': "]}"}[opener]
    text = opener * depth + "1" + closer * depth
    [failure] = check(read_json_text(text, "deep.json"))
    assert isinstance(failure, Failure)
    via_file(folder, text.encode(), ".json")
    via_file(folder, text.encode(), ".jsonl")


def test_empty_json_lists_are_failures_not_silence() -> None:
    for text, reason in [("[]", "empty JSON list"), ("[[]]", "got list"), ('[{"search_result": 1}]', "no article")]:
        [failure] = check(read_json_text(text, "empty.json"))
        assert isinstance(failure, Failure) and reason in failure.reason
    assert list(read_json_text('{"search_result": []}', "q.json")) == []  # a RealTime QA question with no results


def test_json_escapes_that_broke_the_ingest_are_cleaned(tmp_path: Path) -> None:
    """A lone surrogate escape crashed the chunker's tokenizer mid-ingest; now the article is indexed."""
    record = {"title": "Talks\u001b[2J resume", "text": f"{STORY}\ud800 The envoy\u0000 agreed.", "url": "http://x:99999/"}
    (tmp_path / "dump.jsonl").write_text(json.dumps(record) + "\n")
    [article] = check(read_sources(tmp_path / "dump.jsonl", SETTINGS))
    assert isinstance(article, Article)
    assert article.title == "Talks[2J resume" and "\ufffd The envoy agreed." in article.body
    assert article.url == "" and article.doc_id.endswith("dump.jsonl#1")  # the unparseable URL is no link
    report = ingest([str(tmp_path / "dump.jsonl")], Engine(SETTINGS.replace(index_root=tmp_path / "ix")),
                    progress=False)
    assert report.ok and report.chunks >= 1, report.summary()


def _xml(title: str, body: str, doctype: str = "", link: str = "") -> bytes:
    item = f"<item><title>{title}</title><link>{link}</link><description>{body}</description></item>"
    return (f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>Feed</title>{item}'
            "</channel></rss>").encode("utf-8", "surrogatepass")


def _doctypes(secret: Path) -> list[str]:
    """Entity tricks: external file (XXE), external DTD, parameter entities, billion laughs."""
    laughs = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return [
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE rss SYSTEM "file://{secret}">',
        f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>',
        f"<!DOCTYPE rss [{laughs}]>",
    ]


@FAST
@given(title=any_text, body=any_text, trick=st.integers(0, 3), entity=st.sampled_from(["&x;", "&l9;", "&p;", ""]),
       link=st.sampled_from(["", "http://127.0.0.1:9/story", "javascript:alert(1)", "http://[::1", "file:///etc/x"]))
def test_xml_entity_tricks(folder: Path, title: str, body: str, trick: int, entity: str, link: str) -> None:
    """XXE must not read local files and entity expansion must not blow up, in feeds and in HTML pages."""
    doctype = _doctypes(folder / "secret.txt")[trick]
    data = _xml(title + entity, body + entity, doctype, link)
    for items in (check(read_feed(data, "feed.xml", SETTINGS)), via_file(folder, data, ".rss"),
                  via_file(folder, data, ".html"), via_file(folder, data, "")):
        shown = repr(items)
        assert SECRET not in shown and "lollollol" not in shown, shown[:300]
        assert all(a.url == "" or a.url.startswith("http") for a in items if isinstance(a, Article))


@settings(FAST, max_examples=10)
@given(attr=st.integers(100_000, 1_000_000), text=any_text, depth=st.integers(0, 3000))
def test_html_with_huge_attributes_deep_nesting_and_bad_characters(folder: Path, attr: int, text: str,
                                                                   depth: int) -> None:
    page = (f'<html><head><title x="{"a" * attr}">T</title></head><body>{"<div>" * depth}'
            f'<p class="{"b" * attr}">{STORY} {text}</p>\x00<p>{text}\ud800</p>{"</div>" * depth}</body></html>')
    [item] = check([read_html(page, "page.html")])
    via_file(folder, page.encode("utf-8", "surrogatepass"), ".html")


@FAST
@given(parts=st.lists(st.tuples(any_text, st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16", "shift_jis"])),
                      min_size=1, max_size=4), suffix=st.sampled_from([".txt", ".html", ".json", ""]))
def test_mixed_encodings_in_one_file(folder: Path, parts: list[tuple[str, str]], suffix: str) -> None:
    data = b"".join(text.encode(encoding, "ignore") for text, encoding in parts)
    via_file(folder, codecs.BOM_UTF8 + data if len(parts) % 2 else data, suffix)


@FAST
@given(value=any_text, nested=json_value)
def test_hostile_front_matter(value: str, nested: object) -> None:
    front = {"title": nested, "url": value, "outlet": nested, "authors": nested, "date": value}
    text = f"---\n{json.dumps(front)}\n---\nHeadline\n\n{STORY}\n"  # JSON is YAML: any value, exactly
    check([read_text(text, "input.md")])


@pytest.mark.parametrize("front", [
    "date: 2023-02-30",  # YAML's own date type: a day that does not exist
    "title: " + "[" * 5000,
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                                                       for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    + "title: *i\nauthors: *i\noutlet: *i\nurl: *i",  # billion laughs: str() of it would never finish
])
def test_front_matter_that_crashed_or_hung_the_text_reader(front: str) -> None:
    [item] = check([read_text(f"---\n{front}\n---\nHeadline\n\n{STORY}\n", "input.md")])
    assert isinstance(item, Failure) or (item.title == "Headline" and item.authors == () and item.outlet == "")


def test_character_references_that_crashed_feedparser() -> None:
    """"&#xD800;", "&#x110000;" (with or without the ";") made feedparser's lenient parser raise from chr()."""
    refs = "&#xD800;&#56832 &#x110000;&#99999999999999;&#" + "9" * 5000 + ";"
    [item] = check(read_feed(_xml(f"Talks {refs}", f"{STORY} {refs}"), "feed.xml", SETTINGS))
    assert isinstance(item, Article) and item.title.startswith("Talks \ufffd") and STORY in item.body
