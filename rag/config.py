"""One Settings object, grouped by stage, read from the environment (RAG_ prefix) and passed explicitly.

Nothing reads settings at import time: the CLI and the UI build a ``Settings`` (inside an ``Engine``)
and hand it down, so tests and several indexes can coexist in one process. Each group reads the same
``RAG_*`` variables as before the grouping (``RAG_TOP_K``, ``RAG_LLM_TIMEOUT``, ...), and
``Settings(top_k=3)`` or ``settings.replace(top_k=3)`` still take the flat names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.query.timescope import REPORT_LAG_DAYS
from rag.types import Answerer

# the embedding runtimes (built by rag.index.embedding): one model, all-MiniLM-L6-v2, run several ways
EmbedRuntime = Literal["auto", "minilm", "minilm-bf16", "minilm-int8", "minilm-onnx", "minilm-vnni"]
RUNTIMES: tuple[str, ...] = get_args(EmbedRuntime)
INDEX_NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$"


def _env(prefix: str = "RAG_") -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore", populate_by_name=True)


def _alias(variable: str) -> AliasChoices:
    """A field read from a variable outside its group's prefix (kept from before the grouping); the field's
    own name still works in code (``populate_by_name``), but is not read from the environment."""
    return AliasChoices(variable)


class IngestSettings(BaseSettings):
    """Reading, chunking and embedding articles into an index."""

    model_config = _env()
    embed_model: EmbedRuntime = Field(
        "auto", description="runtime that embeds passages at ingest, all-MiniLM-L6-v2 each: auto (minilm-bf16 on "
        "CPUs with AMX, minilm-vnni on CPUs with VNNI, else minilm-onnx; minilm until `newsrag models build-int8` "
        "has run), minilm (sentence-transformers, fp32), minilm-bf16 (the same in bfloat16), minilm-int8 (the int8 "
        "wheel's ONNX graph), minilm-vnni (the built graph with integer matmuls) or minilm-onnx (the built graph "
        "in fp32)")
    embed_batch_size: int = Field(16, gt=0, description="passages per embedding call")
    write_batch: int = Field(512, gt=0, description="passages embedded and written per step (whole articles)")
    chunk_size: int = Field(200, ge=32, le=256, description="passage size in model tokens")
    chunk_overlap: int = Field(32, ge=0, description="tokens shared by consecutive passages")
    max_file_mb: float = Field(50.0, gt=0, description="larger files are refused")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be smaller than chunk_size, got {self.chunk_overlap} >= {self.chunk_size}")
        return self


class FetchSettings(BaseSettings):
    """Downloading URLs and feeds."""

    model_config = _env()
    max_download_mb: float = Field(20.0, gt=0, description="larger downloads are cut off and refused")
    url_timeout: float = Field(20.0, gt=0, description="seconds per HTTP request")
    max_redirects: int = Field(5, ge=0, description="redirects followed per URL")
    allow_private_urls: bool = Field(False, description="allow URLs on loopback/private networks")


class RetrievalSettings(BaseSettings):
    """Finding the passages a question is answered from."""

    model_config = _env()
    query_embed_model: EmbedRuntime = Field(
        "minilm-int8", description="runtime that embeds questions: int8 ONNX starts in under a second, no torch")
    top_k: int = Field(6, gt=0, le=50, description="sources an answer is built from")
    report_lag_days: int = Field(REPORT_LAG_DAYS, ge=0, le=14, description="a question's dates also match reports "
                                 "published up to this many days after them (measured: `newsrag eval lag`)")


class AnswerSettings(BaseSettings):
    """Who answers, and how strictly answers are checked."""

    model_config = _env()
    llm: str = Field("extractive", description="answerer: extractive, local (the bundled model), local:MODEL, "
                     "local:PATH.gguf, openai or ollama")
    judge: bool = Field(True, description="refuse an answer the fitted judgement finds unlikely to be right "
                        "(rag/answer/judge.py); off, every checked answer that answers is shown")
    strict: bool = Field(True, description="drop answer sentences their sources do not support")
    check_mode: Literal["auto", "fast", "model"] = Field(
        "auto", description="who judges whether a sentence's sources support it: fast (words, facts and "
        "embeddings), model (a generative model reads the cited sentences), or auto (model when one is at "
        "hand: the answerer's model, or the bundled local model once installed)")

    @field_validator("llm")
    @classmethod
    def _known_answerer(cls, value: str) -> Answerer:
        return Answerer(value)


class LLMSettings(BaseSettings):
    """Generative backends (rag/answer/llm); the API key also falls back to the usual OPENAI_API_KEY."""

    model_config = _env("RAG_LLM_")
    max_tokens: int = Field(256, gt=0, description="most tokens a model may write per reply")
    timeout: float = Field(120.0, gt=0, description="seconds to wait for a model server")
    retries: int = Field(1, ge=0, description="retries of a request a model server failed")
    context_window: int = Field(4096, ge=512, description="context tokens of the model (local and Ollama "
                                "num_ctx); sources that do not fit are left out, last first")
    sources: int = Field(16, gt=0, le=50, description="the top passages a generative model's evidence is "
                         "gathered from (their most relevant sentences, within evidence_tokens)")
    evidence_tokens: int = Field(600, ge=128, le=8192, description="tokens of evidence a generative model reads "
                                 "(on a CPU each 100 cost about a second before the first word)")
    threads: int = Field(0, ge=0, description="llama.cpp threads for llm='local' (0: every core)")
    slots: int = Field(2, ge=1, le=8, description="prompts llama.cpp keeps read for llm='local', each in "
                       "context_window tokens: the answer's and the check's keep their own, so neither is read again")
    local_model: str = Field("qwen2.5-coder-1.5b", min_length=1, validation_alias=_alias("RAG_LOCAL_MODEL"),
                             description="the model llm='local' runs: a bundled one (newsrag models) or a .gguf path")
    models_dir: Path = Field(Path("models"), validation_alias=_alias("RAG_MODELS_DIR"),
                             description="folder of the bundled models (newsrag models install)")
    openai_base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible /v1 endpoint",
                                 validation_alias=_alias("RAG_OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-4o-mini", min_length=1, description="model name the endpoint serves",
                              validation_alias=_alias("RAG_OPENAI_MODEL"))
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key (local servers accept any)")
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama server",
                                 validation_alias=_alias("RAG_OLLAMA_BASE_URL"))
    ollama_model: str = Field("llama3.2", min_length=1, description="Ollama model tag (ollama pull NAME)",
                              validation_alias=_alias("RAG_OLLAMA_MODEL"))


class UISettings(BaseSettings):
    """The chat UI's sign-in and the API's key: all set, or the server stays on this machine unless --open."""

    model_config = _env("RAG_UI_")
    username: str | None = Field(None, description="user name for the UI's sign-in (RAG_UI_USERNAME)")
    password: SecretStr | None = Field(None, description="password for the UI's sign-in (RAG_UI_PASSWORD)")
    api_key: SecretStr | None = Field(None, validation_alias=_alias("RAG_API_KEY"),
                                      description="bearer key the /v1 API asks of every request (RAG_API_KEY)")

    @property
    def credentials(self) -> tuple[str, str] | None:
        """Username and password, when both are set."""
        if self.username and self.password and self.password.get_secret_value():
            return self.username, self.password.get_secret_value()
        return None


GROUPS: dict[str, type[BaseSettings]] = {"ingest": IngestSettings, "fetch": FetchSettings,
                                         "retrieval": RetrievalSettings, "answer": AnswerSettings,
                                         "llm": LLMSettings, "ui": UISettings}
# the flat names of the settings before they were grouped (Settings(top_k=3)): name -> (group, field)
FLAT = {name: (group, name) for group, cls in GROUPS.items() for name in cls.model_fields} | {
    f"llm_{name}": ("llm", name) for name in ("max_tokens", "timeout", "retries", "context_window", "sources",
                                              "threads", "slots")} | {"llm": ("answer", "llm")}


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Top-level values, and flat names sorted into their groups (``llm="local"`` is the answerer)."""
    top: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name in FLAT and not (name == "llm" and not isinstance(value, str)):
            group, field = FLAT[name]
            grouped.setdefault(group, {})[field] = value
        else:
            top[name] = value
    return top, grouped


def _route(values: dict[str, Any]) -> dict[str, Any]:
    """Flat names into their groups; each group is built here so that it still reads the environment."""
    top, grouped = _split(values)
    for group, fields in grouped.items():
        base = top.get(group)
        base = base.model_dump(exclude_unset=True) if isinstance(base, BaseSettings) else dict(base or {})
        top[group] = GROUPS[group](**{**base, **fields})
    return top


class Settings(BaseSettings):
    """Where the index is, and every knob of the pipeline by stage, with defaults that work on a laptop."""

    model_config = _env()
    index_root: Path = Field(Path("indexes"), description="folder holding one folder per index")
    index: str = Field("default", description="index name: letters, digits and _.- inside")
    chroma_url: str | None = Field(
        None, pattern=r"^https?://[^/\s]+/?$",
        description="a Chroma server (http://host:port) shared by several processes or people, instead of the "
        "embedded store in the index folder; the folder then only holds this machine's keyword index")
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @field_validator("index")
    @classmethod
    def _index_name(cls, name: str) -> str:
        if not re.match(INDEX_NAME, name):
            raise ValueError(f"index name {name!r} is not valid: use up to 64 letters, digits, '_', '.' or '-', "
                             "starting and ending with a letter or digit")
        return name

    @model_validator(mode="before")
    @classmethod
    def _flat_names(cls, values: Any) -> Any:
        return _route(values) if isinstance(values, dict) else values

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, by their flat names (``top_k=3``) or as whole groups."""
        top, grouped = _split(changes)
        groups = {g: getattr(self, g).model_copy(update=fields) for g, fields in grouped.items()}
        return self.model_copy(update={**top, **groups})

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
