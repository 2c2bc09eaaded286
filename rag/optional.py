"""Heavy or optional libraries are imported where used, with an install hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, package: str, needed_by: str) -> ModuleType:
    """Import ``module``, or say which package ``needed_by`` (a setting and value) is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{needed_by} needs the {package!r} package: pip install {package}") from exc
