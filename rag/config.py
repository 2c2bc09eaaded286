"""One Settings object, read from the environment (RAG_ prefix) and passed explicitly.

Nothing reads settings at import time: the CLI and the UI build a ``Settings`` and
hand it down, so tests and several indexes can coexist in one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.query.timescope import REPORT_LAG_DAYS


class Settings(BaseSettings):
    """Every knob of the pipeline, with defaults that work on a laptop."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    index_root: Path = Field(Path("indexes"), description="folder holding one folder per index")
    index: str = Field("default", pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$",
                       description="index name: letters, digits and _.- inside")
    chroma_url: str | None = Field(
        None, pattern=r"^https?://[^/\s]+/?$",
        description="a Chroma server (http://host:port) shared by several processes or people, instead of the "
        "embedded store in the index folder; the folder then only holds this machine's keyword index",
    )
    embed_model: Literal["minilm", "minilm-int8"] = Field(
        "minilm", description="runtime that embeds passages at ingest: all-MiniLM-L6-v2 in sentence-transformers "
        "(fp32, fastest in bulk here) or as int8 ONNX"
    )
    query_embed_model: Literal["minilm", "minilm-int8"] = Field(
        "minilm-int8", description="runtime that embeds questions: int8 ONNX starts in under a second, no torch"
    )
    embed_batch_size: int = Field(16, gt=0, description="passages per embedding call")
    write_batch: int = Field(512, gt=0, description="passages embedded and written per step (whole articles)")
    chunk_size: int = Field(200, ge=32, le=256, description="passage size in model tokens")
    chunk_overlap: int = Field(32, ge=0, description="tokens shared by consecutive passages")
    max_file_mb: float = Field(50.0, gt=0, description="larger files are refused")
    max_download_mb: float = Field(20.0, gt=0, description="larger downloads are cut off and refused")
    url_timeout: float = Field(20.0, gt=0, description="seconds per HTTP request")
    max_redirects: int = Field(5, ge=0, description="redirects followed per URL")
    allow_private_urls: bool = Field(False, description="allow URLs on loopback/private networks")
    top_k: int = Field(6, gt=0, le=50, description="sources an answer is built from")
    report_lag_days: int = Field(REPORT_LAG_DAYS, ge=0, le=14, description="a question's dates also match reports "
                                 "published up to this many days after them (measured: `newsrag eval lag`)")
    llm: str = Field("extractive", description="answerer: extractive, local (the bundled model), local:MODEL, "
                     "local:PATH.gguf, openai or ollama")
    strict: bool = Field(True, description="drop answer sentences their sources do not support")
    check_mode: Literal["auto", "fast", "model"] = Field(
        "auto", description="who judges whether a sentence's sources support it: fast (words, facts and "
        "embeddings), model (a generative model reads the cited sentences), or auto (model when one is at "
        "hand: the answerer's model, or the bundled local model once installed)")

    # generative backends (rag/llm.py); the API key also falls back to the usual OPENAI_API_KEY
    llm_max_tokens: int = Field(256, gt=0, description="most tokens a model may write per reply")
    llm_timeout: float = Field(120.0, gt=0, description="seconds to wait for a model server")
    llm_retries: int = Field(1, ge=0, description="retries of a request a model server failed")
    llm_context_window: int = Field(4096, ge=512, description="context tokens of the model (local and Ollama "
                                    "num_ctx); sources that do not fit are left out, last first")
    local_model: str = Field("qwen2.5-coder-1.5b", min_length=1,
                             description="the model llm='local' runs: a bundled one (newsrag models) or a .gguf path")
    models_dir: Path = Field(Path("models"), description="folder of the bundled models (newsrag models install)")
    llm_sources: int = Field(4, gt=0, le=50, description="the top sources a generative model reads (on a CPU each "
                             "costs seconds before the first word)")
    llm_threads: int = Field(0, ge=0, description="llama.cpp threads for llm='local' (0: every core)")
    openai_base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible /v1 endpoint")
    openai_model: str = Field("gpt-4o-mini", min_length=1, description="model name the endpoint serves")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key (local servers accept any)",
    )
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama server")
    ollama_model: str = Field("llama3.2", min_length=1, description="Ollama model tag (ollama pull NAME)")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be smaller than chunk_size, got {self.chunk_overlap} >= {self.chunk_size}"
            )
        return self

    @property
    def location(self) -> str:
        """Where the vectors live, as a person would name it in an error message."""
        if self.chroma_url:
            return f"Chroma server {self.chroma_url.rstrip('/')}, collection {collection_name(self.index)!r}"
        return str(self.index_dir)

    @property
    def index_dir(self) -> Path:
        """The folder of the selected index."""
        return self.index_root / self.index


def collection_name(index: str) -> str:
    """The index's collection on a Chroma server (which holds several indexes side by side)."""
    return f"newsrag-{index}"
