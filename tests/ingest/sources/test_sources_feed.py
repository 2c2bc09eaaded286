from datetime import date

from rag.config import Settings
from rag.ingest.sources.feed import read_feed
from rag.types import Article, Failure

STORY = (
    "Several rockets struck the Ain al-Asad air base in western Iraq on Tuesday, officials said, "
    "in the latest of a series of attacks on bases hosting US forces in the region."
)
SECOND = "The Islamic Resistance in Iraq claimed responsibility in a statement posted online late on Tuesday."


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **{"allow_private_urls": True, "url_timeout": 2.0, **kw})


def _rss(items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>The Daily Test</title>
<link>https://www.example.com/</link><description>News</description>{items}</channel></rss>""".encode()


def test_rss_with_full_content() -> None:
    data = _rss(f"""<item><title>Rockets hit base</title><link>https://www.example.com/a?utm_source=rss</link>
<pubDate>Wed, 25 Oct 2023 10:00:00 GMT</pubDate><dc:creator>Jane Doe</dc:creator>
<description>Teaser only.</description>
<content:encoded><![CDATA[<p>{STORY}</p><p>{SECOND}</p>]]></content:encoded></item>""")
    [article] = read_feed(data, "feed.xml", _settings())
    assert isinstance(article, Article)
    assert (article.title, article.outlet, article.authors) == (
        "Rockets hit base",
        "The Daily Test",
        ("Jane Doe",),
    )
    assert article.published == date(2023, 10, 25)
    assert article.doc_id == "https://example.com/a"
    assert article.body == f"{STORY}\n{SECOND}"
    assert article.origin == "feed.xml[entry 0]"


def test_atom_with_content() -> None:
    data = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom Times</title><id>urn:x</id><updated>2023-10-24T00:00:00Z</updated>
<entry><title>Talks resume</title><id>urn:e1</id><link href="https://atom.example.org/talks"/>
<updated>2023-10-24T09:00:00Z</updated><author><name>Ann Poe</name></author>
<content type="html">&lt;p&gt;{STORY}&lt;/p&gt;</content></entry></feed>""".encode()
    [article] = read_feed(data, "atom.xml", _settings())
    assert isinstance(article, Article)
    assert (article.title, article.outlet, article.authors) == ("Talks resume", "Atom Times", ("Ann Poe",))
    assert (article.published, article.body) == (date(2023, 10, 24), STORY)


def test_entries_with_only_links_are_fetched(http_server) -> None:
    page = f"""<html><head><title>Fetched story</title><meta name="author" content="Jo Bloggs">
<meta property="article:published_time" content="2023-10-20"></head>
<body><article><h1>Fetched story</h1><p>{STORY}</p><p>{SECOND}</p></article></body></html>"""
    link = http_server.add("/story", page.encode())
    gone = http_server.url("/gone")
    data = _rss(f"""<item><title>Linked</title><link>{link}</link></item>
<item><title>Gone, with teaser</title><link>{gone}</link>
<description>&lt;b&gt;Short&lt;/b&gt; teaser.</description></item>
<item><title>Gone, nothing else</title><link>{gone}</link></item>""")
    fetched, teaser, failure = read_feed(data, "feed.xml", _settings())
    assert isinstance(fetched, Article)
    assert fetched.body == f"{STORY}\n{SECOND}"
    assert (fetched.title, fetched.authors, fetched.published) == (
        "Linked",
        ("Jo Bloggs",),
        date(2023, 10, 20),
    )
    assert isinstance(teaser, Article) and teaser.body == "Short teaser."
    assert isinstance(failure, Failure) and "HTTP 404" in failure.reason and gone in failure.reason


def test_linked_pages_obey_the_private_url_rule(http_server) -> None:
    link = http_server.add("/story", f"<html><body><p>{STORY}</p></body></html>".encode())
    data = _rss(f"<item><title>Linked</title><link>{link}</link></item>")
    [failure] = read_feed(data, "feed.xml", _settings(allow_private_urls=False))
    assert isinstance(failure, Failure) and "RAG_ALLOW_PRIVATE_URLS" in failure.reason
    assert http_server.seen == []


def test_feed_without_entries() -> None:
    [failure] = read_feed(_rss(""), "empty.xml", _settings())
    assert isinstance(failure, Failure) and "no entries" in failure.reason


def test_malformed_xml_and_non_feeds() -> None:
    cases = {
        b"<rss><channel><title>Broken": "malformed feed XML",
        b"{}": "malformed feed XML",
        b"<html><body><p>Just a page</p></body></html>": "not an RSS/Atom feed",
    }
    for data, message in cases.items():
        [failure] = read_feed(data, "bad.xml", _settings())
        assert isinstance(failure, Failure) and message in failure.reason


def test_malformed_xml_keeps_readable_entries() -> None:
    data = _rss(
        f"<item><title>Survivor &amp; co</title><link>https://e.com/s</link>"
        f"<description>{STORY}</description></item><item><title>Cut off"
    )
    items = list(read_feed(data[: data.index(b"</channel>")], "cut.xml", _settings()))
    assert isinstance(items[0], Article) and items[0].title == "Survivor & co" and items[0].body == STORY
