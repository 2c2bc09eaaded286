"""``Engine``: what one process has loaded, built from ``Settings``, and the only place it is kept.

Embedding runtimes, open indexes, generative models and the verifier cost seconds to load and are
then shared by every question the process answers. The CLI, the UI, the evaluations, the benchmarks
and the tests build one the same way (``Engine(settings)``) and hand it down; no module keeps a
cache of its own, so two engines (two settings, two test cases) never see each other's state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from rag.config import Settings
from rag.types import EXTRACTIVE, Answerer

if TYPE_CHECKING:
    import tokenizers

    from rag.answer.llm import Generator
    from rag.answer.verify import Verifier
    from rag.index import Index
    from rag.index.embedding import Embedder


class Engine:
    """Loads each model and opens each index once, on first use, for the life of the process."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings()
        self.ingest_lock = threading.Lock()  # one ingest at a time: they would share the same cores anyway
        self._lock = threading.RLock()
        self._embedders: dict[str, Embedder] = {}
        self._indexes: dict[str, Index] = {}
        self._generators: dict[str, Generator] = {}
        self._tokenizer: tokenizers.Tokenizer | None = None
        self.with_model = 0  # questions a generative model is answering or about to, in this process

    @contextmanager
    def model_users(self) -> Iterator[int]:
        """Yields how many questions were with a model when this one joined: a model answers one at a time
        on a CPU (llama.cpp queues the rest), and a queued question should say why it waits."""
        with self._lock:
            ahead = self.with_model
            self.with_model += 1
        try:
            yield ahead
        finally:
            with self._lock:
                self.with_model -= 1

    def for_index(self, name: str | None) -> Settings:
        """The settings with another index selected (the UI switches index per question)."""
        return self.settings if name in (None, self.settings.index) else self.settings.replace(index=name)

    def embedder(self, purpose: Literal["index", "query"] = "index") -> Embedder:
        """The runtime that embeds passages at ingest (``index``) or questions (``query``).

        The two may differ: ingest wants the fastest bulk encoder for this CPU (``auto``), while a
        question wants a small graph that loads in under a second without torch; both run one model.
        """
        from rag.index.embedding import build_embedder

        runtime = self.settings.ingest.embed_model if purpose == "index" else self.settings.retrieval.query_embed_model
        with self._lock:
            if runtime not in self._embedders:
                self._embedders[runtime] = build_embedder(runtime, self.settings.ingest.embed_batch_size,
                                                          self.settings.llm.models_dir)
            return self._embedders[runtime]

    def tokenizer(self) -> tokenizers.Tokenizer:
        """The embedding model's tokenizer, which measures passages in the tokens the model reads."""
        from rag.index.embedding import load_tokenizer

        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer()
            return self._tokenizer

    def index(self, name: str | None = None, *, create: bool = False) -> Index:
        """An index, opened once (no model is loaded to open it); ``create`` for an ingest about to write."""
        from rag.index import Index

        settings = self.for_index(name)
        with self._lock:
            dimension = self.embedder().dimension if create else None  # an ingest's embedder sets or must match it
            opened = self._indexes.get(settings.index)
            if opened is None:
                opened = self._indexes[settings.index] = Index(settings, dimension=dimension, create=create)
            elif dimension is not None:
                opened.check(settings, dimension)
            return opened

    def delete_index(self, name: str | None = None) -> None:
        """Remove an index entirely (``--rebuild``), and forget it was open."""
        from rag.index import delete_index

        settings = self.for_index(name)
        with self._lock:
            self._indexes.pop(settings.index, None)
            delete_index(settings)

    def generator(self, spec: str) -> Generator:
        """A generative model by answerer name ("local", "local:MODEL", "openai", "ollama"), loaded once."""
        from rag.answer.llm import get_generator

        with self._lock:
            if spec not in self._generators:
                self._generators[spec] = get_generator(spec, self.settings)
            return self._generators[spec]

    def warm(self, spec: str) -> None:
        """Load the model ``spec`` names and have it read the answer prompts' openings, when it runs in this
        process: the first question then pays neither (a served model is the server's to load)."""
        from rag.answer.grounded import openings

        model = self.generator(spec)
        if hasattr(model, "warm"):
            model.warm(openings())

    def ready(self, spec: str) -> bool:
        """Whether a question to ``spec`` would start at once: no model to load in this process."""
        if Answerer(spec).kind != "local":
            return True
        with self._lock:
            model = self._generators.get(spec)
        return model is not None and getattr(model, "ready", True)

    def verifier(self, answerer: Answerer = EXTRACTIVE) -> Verifier | None:
        """The verifier the check mode calls for, on the answerer's own model when it has one.

        fast: none. model: the answerer's model, else the bundled local one (an error says how to install
        it when it is missing). auto: the same, but only when that model is at hand, else none.
        """
        from rag.answer.verify import Verifier, available

        mode = self.settings.answer.check_mode
        if mode == "fast":
            return None
        spec = answerer if Answerer(answerer).generative else "local"
        if mode == "auto" and not available(spec, self.settings):
            return None
        return Verifier(self.generator(spec))
