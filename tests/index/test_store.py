"""The Chroma store on disk: manifest checks, document states, version replacement."""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.index import Index, StoreError, manifest
from rag.index.schema import chunk_metadata
from rag.types import Article, Chunk


def _chunks(article: Article, n: int) -> list[Chunk]:
    return [Chunk(article=article, index=i, start=i, end=i + 1, text=article.body[i], n_chunks=n) for i in range(n)]


def _vectors(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 4)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_root=tmp_path, index="t")


def test_manifest_mismatch_is_refused_with_what_differs(settings: Settings) -> None:
    Index(settings, dimension=4, create=True)
    with pytest.raises(StoreError) as err:
        Index(settings.replace(chunk_size=128), dimension=4, create=True)
    message = str(err.value)
    assert "chunk_size" in message and "200" in message and "128" in message and "--rebuild" in message
    with pytest.raises(StoreError, match="dimension"):
        Index(settings, dimension=8, create=True)


def test_collection_uses_cosine_space_and_persists(settings: Settings) -> None:
    store = Index(settings, dimension=4, create=True)
    assert store.chroma.collection.configuration["hnsw"]["space"] == "cosine"
    a = Article(doc_id="d1", title="T", body="abc")
    store.upsert(_chunks(a, 3), _vectors(3), ["src"] * 3)
    assert Index(settings, dimension=4, create=True).count() == 3


def test_states_detect_complete_partial_and_mixed_versions(settings: Settings) -> None:
    store = Index(settings, dimension=4, create=True)
    old = Article(doc_id="d1", title="T", body="abcd")
    new = Article(doc_id="d1", title="T", body="wxyz!")
    store.upsert(_chunks(old, 4), _vectors(4), ["s"] * 4)
    assert store.doc_states()["d1"].complete(old.version)
    store.upsert(_chunks(new, 5)[:2], _vectors(2), ["s"] * 2)  # a run killed half-way through
    state = store.doc_states()["d1"]
    assert not state.complete(old.version) and not state.complete(new.version)
    store.upsert(_chunks(new, 5), _vectors(5), ["s"] * 5)
    store.drop_other_versions("d1", new.version)
    assert store.doc_states()["d1"].complete(new.version)
    assert store.count() == 5


def test_metadata_has_numeric_dates_for_range_filters() -> None:
    a = Article(doc_id="d", title="T", body="x", outlet="O", authors=("A", "B"), published=date(2023, 10, 25))
    meta = chunk_metadata(Chunk(article=a, index=0, start=0, end=1, text="x", n_chunks=1), "src")
    assert meta["published_int"] == 20231025 and meta["published"] == "2023-10-25"
    assert meta["authors"] == "A; B" and meta["source"] == "src"
    assert all(isinstance(v, str | int) for v in meta.values())


def test_delete_docs_removes_all_their_chunks(settings: Settings) -> None:
    store = Index(settings, dimension=4, create=True)
    for doc in ("a", "b", "c"):
        store.upsert(_chunks(Article(doc_id=doc, title="", body="xyz"), 3), _vectors(3), ["s"] * 3)
    store.delete_docs(["a", "c"])
    assert set(store.doc_states()) == {"b"} and store.count() == 3


def test_an_index_made_by_the_splitter_packing_replaced_still_opens(settings: Settings) -> None:
    """Packing sentence spans draws the passages llama-index's splitter drew: its indexes stay valid."""
    Index(settings, dimension=4, create=True)
    path = settings.index_dir / manifest.FILE
    old = {**json.loads(path.read_text()), "chunker": "llama-index SentenceSplitter, model tokens, rag.sentences v1"}
    path.write_text(json.dumps(old))
    assert Index(settings).dimension == 4
    path.write_text(json.dumps({**old, "chunker": "something else"}))
    with pytest.raises(StoreError, match="chunker"):
        Index(settings)
