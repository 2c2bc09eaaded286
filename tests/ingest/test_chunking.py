"""Passages: sentence-aware, within the model's token budget, offsets exact."""


import pytest

from rag.index.embedding import load_tokenizer
from rag.ingest.chunking import chunk_article
from rag.types import Article
from tests import ROOT

SEED = ROOT / "seeds" / "000_6f57e6f2eacdf9d5.txt"


@pytest.fixture(scope="module")
def seed_article() -> Article:
    body = SEED.read_text()
    return Article(doc_id="seed", title="Seed", body=body)


def test_offsets_point_at_the_passage_text(seed_article: Article) -> None:
    chunks = chunk_article(seed_article, 200, 32)
    assert len(chunks) > 3
    for chunk in chunks:
        assert seed_article.body[chunk.start : chunk.end] == chunk.text
        assert chunk.n_chunks == len(chunks)


def test_passages_fit_the_token_budget_and_overlap(seed_article: Article) -> None:
    tokenizer = load_tokenizer()
    chunks = chunk_article(seed_article, 120, 24)
    sizes = [len(tokenizer.encode(c.text, add_special_tokens=False).ids) for c in chunks]
    assert max(sizes) <= 120
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False)), "no overlap at all"
    assert chunks[0].start == 0 and chunks[-1].end == len(seed_article.body.rstrip())


def test_passages_end_on_sentence_boundaries(seed_article: Article) -> None:
    chunks = chunk_article(seed_article, 120, 24)
    endings = [c.text.rstrip()[-1] for c in chunks]
    assert sum(e in '.!?"”' for e in endings) >= len(chunks) - 1


def test_chunk_ids_change_with_the_article_version(seed_article: Article) -> None:
    edited = Article(doc_id="seed", title="Seed", body=seed_article.body + "\n\nA correction was added.")
    old = {c.id for c in chunk_article(seed_article, 200, 32)}
    new = {c.id for c in chunk_article(edited, 200, 32)}
    assert not old & new
    assert all(i.split(":")[0] == next(iter(old)).split(":")[0] for i in new), "document key must be stable"
