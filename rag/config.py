"""One Settings object, read from the environment (RAG_ prefix) and passed explicitly.

Nothing reads settings at import time: the CLI and the UI build a ``Settings`` and
hand it down, so tests and several indexes can coexist in one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the pipeline, with defaults that work on a laptop."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    index_root: Path = Field(Path("indexes"), description="folder holding one folder per index")
    index: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="index name")
    embed_model: Literal["minilm", "minilm-int8"] = Field(
        "minilm", description="all-MiniLM-L6-v2 through sentence-transformers, or its int8 ONNX build"
    )
    embed_batch_size: int = Field(32, gt=0, description="passages per embedding call")
    write_batch: int = Field(256, gt=0, description="passages embedded and written per step (whole articles)")
    chunk_size: int = Field(200, ge=32, le=256, description="passage size in model tokens")
    chunk_overlap: int = Field(32, ge=0, description="tokens shared by consecutive passages")
    max_file_mb: float = Field(50.0, gt=0, description="larger files are refused")
    max_download_mb: float = Field(20.0, gt=0, description="larger downloads are cut off and refused")
    url_timeout: float = Field(20.0, gt=0, description="seconds per HTTP request")
    max_redirects: int = Field(5, ge=0, description="redirects followed per URL")
    allow_private_urls: bool = Field(False, description="allow URLs on loopback/private networks")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap must be smaller than chunk_size, got {self.chunk_overlap} >= {self.chunk_size}"
            )
        return self

    @property
    def index_dir(self) -> Path:
        """The folder of the selected index."""
        return self.index_root / self.index
