"""Passages: sentence-aware, within the model's token budget, offsets exact."""


import pytest

from rag.index.embedding import load_tokenizer
from rag.ingest.chunking import chunk_article, passage_spans
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


# Boundaries recorded from llama-index 0.14.25's SentenceSplitter, which built the existing indexes.
SEED_SPANS = {
    (200, 32): [(0, 812), (814, 1631), (1516, 2330), (2204, 3221), (3104, 3917), (3919, 4808), (4617, 5629),
                (5632, 6146)],
    (120, 24): [(0, 533), (526, 1103), (1105, 1631), (1516, 1944), (1890, 2330), (2333, 2758), (2760, 3360),
                (3361, 3917), (3919, 4155), (4156, 4615), (4617, 5263), (5266, 5725), (5728, 6146)],
}
PARAGRAPHS = [  # 20, 19 and 21 tokens; sentences of 5 to 7
    "The council met on Monday. It voted to close the old bridge. Repairs will take a year.",
    "Drivers must use the ring road. Buses will run every ten minutes. Cyclists may still cross.",
    "The mayor called it a hard choice. Critics want a temporary crossing. A hearing is set for June.",
]


def n_tokens(text: str) -> int:
    return len(load_tokenizer().encode(text, add_special_tokens=False).ids)


@pytest.mark.parametrize(("size", "overlap"), sorted(SEED_SPANS))
def test_seed_passages_keep_the_boundaries_of_existing_indexes(seed_article: Article, size: int, overlap: int) -> None:
    assert [(c.start, c.end) for c in chunk_article(seed_article, size, overlap)] == SEED_SPANS[size, overlap]


@pytest.mark.parametrize("size", [8, 12, 25, 40, 200])
def test_spans_are_exact_trimmed_and_cover_the_body(size: int) -> None:
    body = " \n" + "\n\n\n".join(PARAGRAPHS) + "\n\n  한국어 😀 一二三  café,  x.\t\n"
    spans = passage_spans(body, size, size // 4)
    covered = set()
    for start, end in spans:
        text = body[start:end]
        assert text and text == text.strip()
        assert n_tokens(text) <= size
        covered.update(range(start, end))
    assert [s for s, _ in spans] == sorted({s for s, _ in spans}), "passages go forward"
    assert {i for i, ch in enumerate(body) if not ch.isspace()} <= covered


def test_overlap_carries_whole_sentences_up_to_chunk_overlap() -> None:
    body = "\n\n".join(PARAGRAPHS)
    first, second = chunk_article(Article(doc_id="b", title="B", body=body), 40, 10)
    assert (first.start, first.end, second.start, second.end) == (0, 179, 154, 277)
    carried = body[second.start : first.end]
    assert carried == "Cyclists may still cross."  # 5 tokens; with the sentence before it, 11 > 10
    assert n_tokens(carried) <= 10 and second.text == body[second.start : second.end]


def test_a_paragraph_that_fits_is_kept_whole() -> None:
    """Paragraphs are cut at three line breaks first, as llama-index did: 19 tokens carry no overlap of 10."""
    body = "\n\n\n".join(PARAGRAPHS)
    assert passage_spans(body, 40, 10) == [(0, 180), (183, 279)]


def test_a_sentence_longer_than_chunk_size_is_cut_at_clauses() -> None:
    body = "The plan, which the council adopted after months of debate, covers roads, bridges, tunnels, ferries, " * 3
    body += "and rail."
    spans = passage_spans(body, 30, 8)
    assert spans == [(0, 110), (83, 211), (184, 312)]
    assert all(n_tokens(body[s:e]) <= 30 for s, e in spans)
    assert all(body[e - 1] == "," for _, e in spans[:-1]), "cut after a clause"


def test_a_run_without_spaces_is_cut_at_model_tokens() -> None:
    url = "https://example.com/" + "/".join(f"section-{i}" for i in range(40))
    body = f"Read more at {url}"
    spans = passage_spans(body, 20, 4)
    token_starts = {start for start, _ in load_tokenizer().encode(body, add_special_tokens=False).offsets}
    assert len(spans) > 5
    for start, end in spans:
        assert start in token_starts and (end == len(body) or end in token_starts)
        assert n_tokens(body[start:end]) <= 20
    assert spans[-1][1] == len(body) and all(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("body", ["", " \n\n\t "])
def test_an_empty_body_has_no_passages(body: str) -> None:
    assert chunk_article(Article(doc_id="e", title="E", body=body), 200, 32) == []


def test_an_overlap_larger_than_the_passage_is_refused() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        passage_spans("One. Two.", 10, 11)
