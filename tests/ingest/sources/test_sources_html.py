from datetime import date
from pathlib import Path

from rag.ingest.sources.html import html_to_text, read_html
from rag.types import Article, Failure

PARAGRAPHS = [
    "Several rockets struck the Ain al-Asad air base in western Iraq on Tuesday, officials said, "
    "in the latest of a series of attacks on bases hosting US forces.",
    "The Islamic Resistance in Iraq claimed responsibility for the attack in a statement posted "
    "online late on Tuesday evening.",
    "No casualties were reported, a coalition spokesperson told reporters, "
    "adding that damage was being assessed.",
]
PAGE = f"""<!DOCTYPE html><html><head><title>Rockets hit base - The Daily Test</title>
<link rel="canonical" href="https://www.example.com/news/rockets?utm_source=feed">
<meta property="og:site_name" content="The Daily Test">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2023-10-25T10:00:00Z">
<meta property="og:title" content="Rockets hit base">
</head><body><nav><a href="/">Home</a> | <a href="/world">World</a> | Subscribe now</nav>
<article><h1>Rockets hit base</h1>{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}</article>
<footer>Copyright 2023 The Daily Test. All rights reserved.</footer></body></html>"""


def test_html_page(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    article = read_html(PAGE, str(path), path=path)
    assert isinstance(article, Article)
    assert article.title == "Rockets hit base"
    assert article.outlet == "The Daily Test"
    assert article.authors == ("Jane Doe",)
    assert article.published == date(2023, 10, 25)
    assert article.doc_id == "https://example.com/news/rockets"
    assert article.body.startswith(PARAGRAPHS[0])
    assert all(p in article.body for p in PARAGRAPHS)
    assert "Subscribe now" not in article.body and "Copyright" not in article.body


def test_page_without_canonical_uses_file_id(tmp_path: Path) -> None:
    path = tmp_path / "plain.html"
    page = f"<html><body><p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[2]}</p></body></html>"
    article = read_html(page, str(path), path=path)
    assert isinstance(article, Article)
    assert article.doc_id == f"file://{path.resolve().as_posix()}"
    assert (article.title, article.published, article.outlet) == ("", None, "")


def test_malformed_html_is_still_read(tmp_path: Path) -> None:
    page = (
        f"<html><head><title>Broken page</title><body><div><p>{PARAGRAPHS[0]}<p>{PARAGRAPHS[1]}<div></span>"
    )
    article = read_html(page, "broken.html", path=tmp_path / "broken.html")
    assert isinstance(article, Article)
    assert PARAGRAPHS[0] in article.body and PARAGRAPHS[1] in article.body


def test_page_without_text_is_a_failure() -> None:
    for page in ("<html><head><title>Only a title</title></head><body></body></html>", "<<<>>>", ""):
        result = read_html(page, "x.html")
        assert isinstance(result, Failure) and "no article text" in result.reason


def test_html_to_text_keeps_paragraphs() -> None:
    assert (
        html_to_text("<p>First <b>bold</b> para.</p><p>Second para.</p>") == "First bold para.\nSecond para."
    )
    assert html_to_text("Plain &amp; short") == "Plain & short"


def test_the_outlet_is_the_site_name_or_the_host_never_the_file(tmp_path: Path) -> None:
    story = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    path = tmp_path / "000_saved_page.html"
    named = read_html(f'<html><head><meta property="og:site_name" content="Harbour Gazette"></head>'
                      f"<body><article>{story}</article></body></html>", str(path), path=path)
    assert isinstance(named, Article) and named.outlet == "Harbour Gazette"
    hosted = read_html(f'<html><head><link rel="canonical" href="https://www.gazette.example/a"></head>'
                       f"<body><article>{story}</article></body></html>", str(path), path=path)
    assert isinstance(hosted, Article) and hosted.outlet == "gazette.example"
    fileish = read_html(f'<html><head><meta property="og:site_name" content="000_saved_page.html"></head>'
                        f"<body><article>{story}</article></body></html>", str(path), path=path)
    assert isinstance(fileish, Article) and fileish.outlet == ""
