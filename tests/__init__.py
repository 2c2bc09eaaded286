"""Tests, one folder per stage of rag/; ROOT and SEEDS locate the repository's files from any of them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
