"""The shape the code keeps: small files and functions, one owner of the stores, no state outside the Engine."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import ROOT

SOURCES = sorted((ROOT / "rag").rglob("*.py"))
PURE_CACHES = {("rag/answer/asked.py", "_stems"), ("rag/answer/disputes.py", "_parsed")}  # text in, text out


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_file_over_300_lines_and_no_function_over_40() -> None:
    long_files = [_name(p) for p in SOURCES if len(p.read_text(encoding="utf-8").splitlines()) > 300]
    long_functions = [f"{_name(p)}:{n.name} ({n.end_lineno - n.lineno + 1})" for p in SOURCES
                      for n in ast.walk(_tree(p)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                      and n.end_lineno - n.lineno + 1 > 40]
    assert not long_files and not long_functions, (long_files, long_functions)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_index_imports_chromadb_or_bm25s() -> None:
    outside = [_name(p) for p in SOURCES if {"chromadb", "bm25s"} & _imports(p)
               and not _name(p).startswith("rag/index/")]
    assert not outside, outside


def _module_state(path: Path) -> list[str]:
    """Module-level locks, caches and ``global`` rebinding: state that belongs in the Engine."""
    found = []
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"global {', '.join(node.names)}")
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in {"cache", "lru_cache"} and (_name(path), node.name) not in PURE_CACHES:
                    found.append(f"@{name} {node.name}")
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in {
                "Lock", "RLock", "Event", "local", "Queue"}:
            found.append(f"{ast.unparse(node)[:60]}")
        empty = (isinstance(value, ast.Dict) and not value.keys) or (isinstance(value, ast.List | ast.Set)
                                                                      and not value.elts)
        if empty:  # filled at run time: a registry or a cache
            found.append(f"empty container {ast.unparse(node)[:60]}")
    return found


def test_no_module_level_state_outside_the_engine() -> None:
    found = {_name(p): state for p in SOURCES if (state := _module_state(p))}
    assert not found, found
