from datetime import date
from pathlib import Path

from rag.ingest.sources.text import read_text
from rag.types import Article, Failure
from tests import ROOT

SEED = ROOT / "seeds" / "000_6f57e6f2eacdf9d5.txt"
TITLE = "Anti-US armed groups in Iraq shrug aside warnings to cease attacks over Israel's war on Gaza"
KAABI = (
    '"However, there were other faction leaders who refused to even engage with Al-Sudani, '
    "like Harakat al-Nujaba leader Akram al-Kaabi, and some leaders in the Hezbollah Brigades, "
    'who are believed to be behind the recent attacks on Ain al-Asad and Hareer bases."'
)


def _read(text: str, path: Path) -> Article | Failure:
    return read_text(text, str(path), path=path)


def test_seed_article() -> None:
    article = _read(SEED.read_text(encoding="utf-8"), SEED)
    assert isinstance(article, Article)
    assert article.title == TITLE
    assert article.published == date(2023, 10, 25)
    assert article.doc_id == f"file://{SEED.as_posix()}"
    assert article.body.startswith("Iraqi PM has reportedly received a warning from US officials")
    assert TITLE not in article.body
    for furniture in ("5 min read", "25 October, 2023", "[Getty]", "Live Story", "\nAnalysis\n", "\nMENA\n"):
        assert furniture not in article.body
    assert KAABI in article.body
    assert "\n\nThe 90-year-old al-Sistani is the top Shia cleric" in article.body


def test_front_matter(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Rockets hit base\noutlet: The Daily Test\nurl: https://www.example.com/a/?utm_source=rss\n"
        "date: 2023-10-24\nauthors: [Jane Doe, John Roe]\n---\n# Rockets hit base\n\n"
        "Several rockets struck the base on Tuesday.\n\n## Reaction\n\nNobody was hurt, officials said.\n"
    )
    article = _read(text, tmp_path / "a.md")
    assert isinstance(article, Article)
    assert (article.title, article.outlet, article.authors) == (
        "Rockets hit base",
        "The Daily Test",
        ("Jane Doe", "John Roe"),
    )
    assert article.doc_id == "https://example.com/a"
    assert article.url == "https://www.example.com/a/?utm_source=rss"
    assert article.published == date(2023, 10, 24)
    assert article.body == (
        "Several rockets struck the base on Tuesday.\n\n## Reaction\n\nNobody was hurt, officials said."
    )


def test_front_matter_url_gives_outlet(tmp_path: Path) -> None:
    article = _read("---\nurl: https://www.cnn.com/x\n---\nHeadline\n\nBody text.\n", tmp_path / "a.txt")
    assert isinstance(article, Article) and article.outlet == "cnn.com"


def test_bad_front_matter_is_a_failure(tmp_path: Path) -> None:
    result = _read("---\ntitle: [unclosed\n---\nHeadline\n\nBody.\n", tmp_path / "a.md")
    assert isinstance(result, Failure) and "front matter" in result.reason


def test_no_title_no_date(tmp_path: Path) -> None:
    text = "Officials said on Monday that talks would resume.\n\nThe meeting is planned for next week.\n"
    article = _read(text, tmp_path / "n.txt")
    assert isinstance(article, Article)
    assert article.title == ""
    assert article.published is None
    assert article.body == text.strip()


def test_dated_article_without_title_line(tmp_path: Path) -> None:
    article = _read("Short headline\n3 Jan 2024\n\nBody sentence here.\n", tmp_path / "d.txt")
    assert isinstance(article, Article)
    assert (article.title, article.published, article.body) == (
        "Short headline",
        date(2024, 1, 3),
        "Body sentence here.",
    )


def test_caption_needs_capitalised_bracket(tmp_path: Path) -> None:
    text = "Headline\n\nHe said it was wrong [sic]\nPhoto of the scene [AFP via Getty Images]\n"
    article = _read(text, tmp_path / "c.txt")
    assert isinstance(article, Article) and article.body == "He said it was wrong [sic]"


def test_headline_only_is_a_failure(tmp_path: Path) -> None:
    result = _read("Headline\nHeadline\n5 min read\n", tmp_path / "h.txt")
    assert isinstance(result, Failure) and "no article text" in result.reason


def test_the_outlet_is_never_a_file_name(tmp_path: Path) -> None:
    body = "Officials said the harbour reopened on Monday after repairs.\n"
    seed = _read(SEED.read_text(encoding="utf-8"), SEED)
    assert isinstance(seed, Article) and seed.outlet == ""  # no outlet given and no URL: none, not "file 000_..."
    cases = {
        "source: 000_6f57e6f2eacdf9d5.txt\n": "",  # a file name given as the source is no outlet
        "source: /home/ana/news/page.html\nsite: Harbour Gazette\n": "Harbour Gazette",  # the next field that is one
        "source: https://www.reuters.com/world/harbour\n": "reuters.com",  # a URL stands for its host
        "site: Harbour Gazette\n": "Harbour Gazette",
        "publisher: Harbour Gazette\nurl: https://gazette.example/a\n": "Harbour Gazette",
        "source: notes.md\nurl: https://www.gazette.example/a\n": "gazette.example",  # else the URL's host
    }
    for front, outlet in cases.items():
        path = tmp_path / "000_story.txt"
        article = _read(f"---\n{front}---\nHarbour reopens\n\n{body}", path)
        assert isinstance(article, Article) and article.outlet == outlet, front
