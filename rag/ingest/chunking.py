"""Sentence-aware passages with char offsets into the article body.

Passages are measured in the embedding model's own tokens, so none is silently
truncated by the model, and every passage keeps ``start``/``end`` so a citation can
later highlight the exact span in the article.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rag.types import Article, Chunk

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter


@lru_cache(maxsize=4)
def make_splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    """A llama-index SentenceSplitter counting tokens with the embedder's tokenizer."""
    from llama_index.core.node_parser import SentenceSplitter

    from rag.index.embedding import load_tokenizer
    from rag.sentences import split_sentences

    tokenizer = load_tokenizer()

    def token_ids(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids

    return SentenceSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=token_ids, include_metadata=False,
        chunking_tokenizer_fn=split_sentences,
    )


def chunk_article(article: Article, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split ``article.body`` into passages whose offsets point back into the body."""
    from llama_index.core import Document

    splitter = make_splitter(chunk_size, chunk_overlap)
    nodes = splitter.get_nodes_from_documents([Document(text=article.body)])
    spans: list[tuple[int, int, str]] = []
    cursor = 0
    for node in nodes:
        text = node.get_content()
        start = node.start_char_idx
        if start is None or article.body[start : start + len(text)] != text:
            start = article.body.find(text, cursor)
            if start < 0:  # the splitter altered whitespace; keep the text, point at the nearest place
                start = cursor
        spans.append((start, start + len(text), text))
        cursor = start + 1
    return [
        Chunk(article=article, index=i, start=s, end=e, text=t, n_chunks=len(spans))
        for i, (s, e, t) in enumerate(spans)
    ]
