"""The `newsrag` command as a person runs it: help, summary, exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.interfaces.cli import main
from tests.ingest.test_ingest import write_article


def run(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAG_INDEX_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "rag", *args], env=env, capture_output=True, text=True)


def test_help_lists_commands_without_loading_models(tmp_path: Path) -> None:
    out = run("--help", root=tmp_path)
    assert out.returncode == 0 and "ingest" in out.stdout and "examples:" in out.stdout
    probe = "import sys, rag.interfaces.cli; rag.interfaces.cli.build_parser(); " \
            "print(sorted(m for m in ('torch', 'chromadb', " \
            "'sentence_transformers', 'llama_index') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"


def test_ingest_summary_and_exit_codes(tmp_path: Path) -> None:
    folder, root = tmp_path / "news", tmp_path / "idx"
    folder.mkdir()
    write_article(folder, 1)
    ok = run("ingest", str(folder), "-q", root=root)
    assert ok.returncode == 0, ok.stderr
    assert "added 1, updated 0, unchanged 0" in ok.stdout
    (folder / "empty.md").write_text("   \n")
    bad = run("ingest", str(folder), "-q", root=root)
    assert bad.returncode == 1
    assert "unchanged 1" in bad.stdout and "failed 1" in bad.stdout and "empty.md" in bad.stdout


def test_mismatched_settings_exit_2_with_advice(tmp_path: Path) -> None:
    folder, root = tmp_path / "news", tmp_path / "idx"
    folder.mkdir()
    write_article(folder, 2)
    assert run("ingest", str(folder), "-q", root=root).returncode == 0
    env = {**os.environ, "RAG_INDEX_ROOT": str(root), "RAG_CHUNK_SIZE": "100"}
    out = subprocess.run([sys.executable, "-m", "rag", "ingest", str(folder), "-q"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2 and "chunk_size" in out.stderr and "--rebuild" in out.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "rag", "ingest", str(folder), "-q", "--rebuild"], env=env,
                             capture_output=True, text=True)
    assert rebuilt.returncode == 0 and "added 1" in rebuilt.stdout


def test_llm_server_beyond_loopback_needs_a_key(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("RAG_LLM_SERVER_KEY", raising=False)
    assert main(["llm-server", "--host", "0.0.0.0", "--port", "9"]) == 2
    assert "set RAG_LLM_SERVER_KEY" in capsys.readouterr().err


def test_missing_local_model_is_a_message_not_a_traceback(seed_settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("RAG_INDEX_ROOT", str(seed_settings.index_root))
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path))
    assert main(["ask", "Who refused to meet Sudani?", "--index", seed_settings.index, "--llm", "local"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the local model 'qwen2.5-coder-1.5b' is not installed"), err
    assert "newsrag models install" in err


def test_a_new_users_mistakes_get_one_line_each(tmp_path: Path) -> None:
    """A blank question, a bad index name and a missing path: one line that says what to do, exit 2,
    and nothing left behind (a missing path is found before any model loads or any index is made)."""
    blank = run("ask", "   ", root=tmp_path)
    assert blank.returncode == 2 and blank.stderr.strip() == "error: Ask a question about the indexed news."
    bad = run("ask", "Who?", "--index", "../x", root=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "index name '../x' is not valid" in bad.stderr and "letters, digits" in bad.stderr
    missing = run("ingest", str(tmp_path / "nope"), root=tmp_path)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("\n")
    failed = run("ingest", str(empty), "--index", "fresh", root=tmp_path)
    assert failed.returncode == 1 and "was not created" in failed.stdout
    assert not (tmp_path / "fresh").exists() and not list(tmp_path.glob("*/manifest.json"))


def test_stats_counts_what_the_index_holds(seed_settings: Settings) -> None:
    from rag.index import Index

    out = run("stats", "--index", seed_settings.index, "--json", root=seed_settings.index_root)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["articles"] == 1 and figures["passages"] == Index(seed_settings).count() > 1
    assert figures["first_published"] == figures["last_published"] == "2023-10-25"
    assert figures["embed_model"] == "all-MiniLM-L6-v2" and figures["dimension"] == 384
    assert figures["bytes_on_disk"] > 0 and figures["outlets"] == 0
