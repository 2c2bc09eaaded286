"""The UI's indexes: which exist, which one a question or an upload goes to, its outlets, and adding news.

Uploads are moved into the index's own ``uploads`` folder under a safe name before they are read,
and one ingest runs at a time per process (the Engine's lock): they would share the same cores.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from rag.config import INDEX_NAME, Settings
from rag.engine import Engine
from rag.index import StoreError, index_exists, list_indexes

ALL_OUTLETS = "All outlets"
UPLOADS = "uploads"  # the folder inside an index where uploaded files are kept
_INDEX_NAME = re.compile(INDEX_NAME)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class InputError(ValueError):
    """An input the person can correct; the message names it and says what to do."""


def index_names(settings: Settings) -> list[str]:
    """Indexes under the index root or on the Chroma server, the configured one first."""
    return [settings.index, *(n for n in list_indexes(settings) if n != settings.index)]


def settings_for(base: Settings, index: str | None, must_exist: bool = True) -> Settings:
    """The settings for the chosen index, refusing a malformed or (for questions) missing one."""
    name = (index or base.index).strip()
    if not _INDEX_NAME.match(name):
        raise InputError(f"Index name {name!r} is not valid: use up to 64 letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit.")
    settings = base.replace(index=name)
    if must_exist and not index_exists(settings):
        others = [n for n in list_indexes(base) if n != name]
        hint = f"pick one of: {', '.join(others)}" if others else "no index exists yet"
        where = base.chroma_url or f"{base.index_root}/"
        raise InputError(f"There is no index named {name!r} in {where}. Add news to it in the "
                         f"'Add news' tab (the index is created then), or {hint}.")
    return settings


def outlets(engine: Engine, index: str | None = None) -> list[str]:
    """The outlets of an index, for the filter (none but "All outlets" for a missing index)."""
    if not index_exists(engine.for_index(index)):
        return [ALL_OUTLETS]
    return [ALL_OUTLETS, *engine.index(index).outlets()]


def index_changed(engine: Engine, index: str) -> Any:
    """New outlet choices when another index is picked (a bad name just offers all outlets)."""
    try:
        return gr.update(choices=outlets(engine, settings_for(engine.settings, index).index), value=ALL_OUTLETS)
    except Exception:  # noqa: BLE001 - the question handler reports a bad index with advice
        return gr.update(choices=[ALL_OUTLETS], value=ALL_OUTLETS)


def _check_size(path: Path, max_mb: float) -> None:
    """Refuse an oversize upload before anything is written (Gradio's own cap applies first)."""
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_mb:
        raise InputError(f"{path.name} is {size_mb:.1f} MB, over the {max_mb:g} MB limit (RAG_MAX_FILE_MB): "
                         "split it or raise the limit.")


def _keep_upload(path: Path, folder: Path) -> Path:
    """Move an uploaded file into the index's uploads folder under a safe name, atomically."""
    name = _SAFE_NAME.sub("_", path.name).lstrip(".") or "upload"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.part"
    shutil.copyfile(path, partial)  # copy then rename: a crash leaves no half-written file under the real name
    partial.replace(target)
    path.unlink(missing_ok=True)
    return target


def _targets(settings: Settings, files: list[str] | None, urls: str) -> tuple[list[str], list[str]]:
    """The uploads and URLs asked for, checked before anything is written."""
    links = [u.strip() for u in (urls or "").split() if u.strip()]
    bad = [u for u in links if not u.startswith(("http://", "https://"))]
    if bad:
        raise InputError(f"Not a web address: {', '.join(bad)}. Paste URLs starting with http:// or https://.")
    if not files and not links:
        raise InputError("Choose files to upload or paste a URL or feed URL first.")
    for f in files or []:
        _check_size(Path(f), settings.ingest.max_file_mb)
    return list(files or []), links


def _ingest(engine: Engine, settings: Settings, files: list[str], links: list[str]) -> str:
    """Keep the uploads, ingest them and the links; leave nothing behind that could not be added."""
    from rag.ingest.ingest import ingest

    with engine.ingest_lock:
        existed = index_exists(settings)
        kept = [_keep_upload(Path(f), settings.index_dir / UPLOADS) for f in files]
        report = ingest([*map(str, kept), *links], engine, progress=True, index=settings.index)
        for path in kept:  # an upload that could not be read is not kept: nothing half-done stays behind
            if any(f.origin.startswith(str(path)) for f in report.failed):
                path.unlink(missing_ok=True)
    where = (f"index '{settings.index}' at {settings.location}" if existed or report.added
             else f"index '{settings.index}' was not created: nothing could be added to it")
    return f"{report.summary()}\n{where}"


def add_news(engine: Engine, files: list[str] | None, urls: str, index: str,
             progress: Any = None) -> tuple[str, Any, Any]:
    """Ingest uploads and URLs into the chosen index; the CLI's summary, or what to fix."""
    try:
        settings = settings_for(engine.settings, index, must_exist=False)
        uploads, links = _targets(settings, files, urls)
        if progress is not None:
            progress(0, desc="Reading")
        summary = _ingest(engine, settings, uploads, links)
    except (InputError, StoreError) as exc:
        return f"Nothing was added. {exc}", gr.skip(), gr.skip()
    names = index_names(engine.settings)
    chosen = settings.index if settings.index in names else engine.settings.index
    return summary, gr.update(choices=names, value=chosen), gr.update(choices=outlets(engine, settings.index))
