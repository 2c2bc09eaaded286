"""What goes wrong with an index, in words a person can act on (a server gone, a full disk, a read-only folder)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StoreError(RuntimeError):
    """The index cannot be used as asked (mismatched manifest, unreadable folder, server down)."""


def missing(location: str, index: str) -> StoreError:
    """No index where the settings point: say how to make one."""
    return StoreError(f"No index at {location}: ingest some news first, e.g. `newsrag ingest seeds/ --index {index}`.")


@contextmanager
def explained(location: str, url: str | None) -> Iterator[None]:
    """Turn what Chroma raises into a StoreError that names the index's location and says what to do;
    nothing is half-written by then."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:  # chromadb and its transports raise many unrelated types
        raise StoreError(_explain(location, url, exc)) from exc


def _nearly_full(folder: Path) -> bool:
    """Chroma often reports a full disk as some other failure (a compaction error, say): look."""
    probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return probe is not None and shutil.disk_usage(probe).free < 4 * 2**20


def _explain(location: str, url: str | None, exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if url is not None and any(w in lowered for w in ("connect", "timed out", "timeout", "refused", "unavailable")):
        return (f"The Chroma server at {url} is not answering ({text}). Start it (e.g. `chroma run --path DIR "
                f"--port PORT`) and run the same command again: what was written is kept, nothing is half-written.")
    if "full" in lowered or "no space" in lowered or (url is None and _nearly_full(Path(location))):
        return f"No space left for the index at {location} ({text}). Free some disk space and run the command again."
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return f"The index at {location} cannot be written ({text}). Make the folder writable or pick another one."
    return f"Cannot use the index at {location}: {text}"
