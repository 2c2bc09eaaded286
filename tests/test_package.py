"""newsrag as a user gets it: every import declared, the locks agreeing with pyproject, and the built wheel
installed into a fresh venv outside the repository (runtime lock only) answering the seed question."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from functools import cache
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest

from tests import ROOT, SEEDS

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
CONSTRAINTS = ROOT / "constraints.txt"
BUILD_INPUTS = ("pyproject.toml", "README.md", "rag", "prompts")  # what building the wheel reads
QUESTION = "Who refused to meet Sudani?"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")
# building and installing the wheel with its whole runtime (torch included) into a fresh venv
INSTALL_TIMEOUT = 1800


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str], where: str) -> dict[str, str]:
    """``name==version`` lines (comments and blanks aside) as {canonical name: version}; anything else fails."""
    found: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{where}: {line!r} is not an exact pin (name==version)"
        found[canonical(match[1])] = match[2]
    return found


def lock(path: Path) -> dict[str, str]:
    return pins(path.read_text().splitlines(), path.name)


RUNTIME = pins(PYPROJECT["project"]["dependencies"], "pyproject dependencies")
EXTRAS = {extra: pins(reqs, f"pyproject extra {extra!r}")
          for extra, reqs in PYPROJECT["project"].get("optional-dependencies", {}).items()}


# --- every import under rag/ is a declared dependency -------------------------------------------------------

def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _dynamic_import(node: ast.AST) -> str | None:
    """``import_module("x")``, ``require("x", ...)`` (rag.optional) and wrappers named ``*require``."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return node.args[0].value if name.endswith("require") or name in ("import_module", "__import__") else None


def _collect(node: ast.AST, lazy: bool, found: dict[str, bool]) -> None:
    for child in ast.iter_child_nodes(node):
        inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or \
            _is_type_checking(child)
        names: list[str] = []
        if isinstance(child, ast.Import):
            names = [alias.name for alias in child.names]
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            names = [child.module]
        elif (dynamic := _dynamic_import(child)) is not None:
            names = [dynamic]
        for name in names:
            found[name] = found.get(name, True) and inner  # imported eagerly anywhere: eager
        _collect(child, inner, found)


@cache
def _top_level_owners() -> dict[str, list[str]]:
    return packages_distributions()


def third_party_imports() -> dict[str, tuple[bool, list[str]]]:
    """{module: (imported only inside functions, [files])} for every non-stdlib, non-rag import under rag/."""
    seen: dict[str, tuple[bool, list[str]]] = {}
    for path in sorted((ROOT / "rag").rglob("*.py")):
        found: dict[str, bool] = {}
        _collect(ast.parse(path.read_text(), str(path)), False, found)
        for module, lazy in found.items():
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "rag":
                continue
            was_lazy, files = seen.get(module, (True, []))
            seen[module] = (was_lazy and lazy, [*files, str(path.relative_to(ROOT))])
    return seen


@cache
def _files(dist: str) -> tuple[str, ...]:
    return tuple(str(f) for f in distribution(dist).files or [])


def owners(module: str) -> set[str]:
    """The installed distributions providing ``module``: of those shipping its top-level package (a namespace
    package such as llama_index has several), the ones shipping the deepest part of its dotted path."""
    parts = module.split(".")
    depth: dict[str, int] = {}
    for dist in set(_top_level_owners().get(parts[0], [])):
        files = _files(dist)
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        depth[dist] = max((n for n, prefix in enumerate(prefixes, 1) for f in files
                           if f.startswith((prefix + "/", prefix + "."))), default=0)
    deepest = max(depth.values(), default=0)
    return {canonical(dist) for dist, d in depth.items() if d == deepest and d > 0}


def test_every_import_under_rag_is_a_declared_dependency() -> None:
    optional = {name for extra in EXTRAS.values() for name in extra}
    problems = []
    imports = third_party_imports()
    assert {"numpy", "chromadb", "Stemmer"} <= set(imports), "the import scan found too little"
    for module, (lazy, files) in sorted(imports.items()):
        dists = owners(module)
        where = f"{module} (in {', '.join(sorted(set(files))[:3])})"
        if not dists:
            problems.append(f"{where}: no installed distribution provides it")
        elif not dists & RUNTIME.keys():
            if not lazy:
                problems.append(f"{where}: imported at module level, so {sorted(dists)} must be in dependencies")
            elif not dists & optional:
                problems.append(f"{where}: {sorted(dists)} is in neither dependencies nor an extra")
    assert not problems, "pyproject.toml does not declare what rag/ imports:\n" + "\n".join(problems)


# --- pyproject, constraints and the two locks agree -----------------------------------------------------------

def test_locks_pin_what_pyproject_declares() -> None:
    runtime, dev = lock(RUNTIME_LOCK), lock(DEV_LOCK)
    assert {n: runtime.get(n) for n in RUNTIME} == RUNTIME, "a dependency's pin differs from requirements.lock"
    assert {n: dev.get(n) for n in EXTRAS["dev"]} == EXTRAS["dev"], "a dev pin differs from requirements-dev.lock"
    assert {n: dev.get(n) for n in runtime} == runtime, "requirements-dev.lock must hold requirements.lock as is"
    assert not EXTRAS["dev"].keys() & runtime.keys(), "dev tools in the runtime lock: `make run` would install them"
    for name, version in pins(CONSTRAINTS.read_text().splitlines(), CONSTRAINTS.name).items():
        assert runtime.get(name) == version, f"constraints.txt pins {name}=={version}, the lock differs"


# --- the wheel, installed outside the repository ------------------------------------------------------------

def clean_env() -> dict[str, str]:
    """This environment without anything that would point a child at the repository or change a default."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("RAG_")}


def run(cmd: list[str | Path], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=kw.pop("env", clean_env()), **kw)
    assert out.returncode == 0, f"{cmd} exited {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the build's inputs (the repository keeps no build/ leftovers)."""
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    assert (src / "rag" / "prompts").is_symlink(), "rag/prompts is meant to link to prompts/"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", src, "-w", dist])
    (built,) = dist.glob("newsrag-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv outside the repository with the wheel and the runtime lock, as `make setup` pins it
    (pip, like the Makefile's, takes torch's CPU build from this machine's disk). Removed afterwards: 2 GB."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", home])
    run([sys.executable, "-m", "pip", "--python", home / "bin" / "python", "install", "-q",
         "-c", CONSTRAINTS, "-r", RUNTIME_LOCK, wheel])
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def workdir(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the repository holding a copy of seeds/ and, after `newsrag ingest`, the index 'seed'."""
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(SEEDS, work / "news")
    out = run([venv / "bin" / "newsrag", "ingest", "news", "--index", "seed"], cwd=work)
    assert "added 1," in out.stdout and "failed 0" in out.stdout, out.stdout
    return work


def test_wheel_holds_the_prompts_as_files(wheel: Path) -> None:
    prompts = sorted((ROOT / "prompts").glob("*.txt"))
    assert prompts
    with zipfile.ZipFile(wheel) as whl:
        held = {info.filename: info for info in whl.infolist() if info.filename.startswith("rag/prompts/")}
        assert sorted(held) == [f"rag/prompts/{p.name}" for p in prompts]
        for p in prompts:
            info = held[f"rag/prompts/{p.name}"]
            assert not stat.S_ISLNK(info.external_attr >> 16), f"{info.filename} is a link in the wheel"
            assert whl.read(info) == p.read_bytes()
        entry = whl.read(next(n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "newsrag = rag.interfaces.cli:main" in entry


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_fresh_venv_holds_exactly_the_runtime_lock(venv: Path) -> None:
    listing = "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']: d.version " \
              "for d in m.distributions()}))"
    installed = {canonical(n): v for n, v in json.loads(run([venv / "bin" / "python", "-c", listing]).stdout).items()}
    assert installed.pop("newsrag") == PYPROJECT["project"]["version"]
    assert installed["torch"].endswith("+cpu"), "torch must be the CPU build (constraints.txt)"
    assert {n: v.split("+")[0] for n, v in installed.items()} == lock(RUNTIME_LOCK)
    assert not EXTRAS["dev"].keys() & installed.keys()


PROBE = """
import contextlib, io, json, sys
import rag
from rag.interfaces.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["ask", {question!r}, "--as-of", "2023-10-26", "--index", "seed", "--json"])
torch = "torch" in sys.modules
from rag.answer.prompts import PROMPTS_DIR, load_prompt
prompts = sorted(load_prompt(p.stem).name for p in PROMPTS_DIR.glob("*.txt"))
print(json.dumps({{"code": code, "answer": json.loads(out.getvalue()), "torch": torch, "rag": rag.__file__,
                  "prompts_dir": str(PROMPTS_DIR), "prompts": prompts}}))
"""


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_wheel_answers_the_seed_question_outside_the_repo_without_torch(venv: Path, workdir: Path) -> None:
    text = run([venv / "bin" / "newsrag", "ask", QUESTION, "--as-of", "2023-10-26", "--index", "seed"],
               cwd=workdir).stdout
    assert "Kaabi" in text and "[1]" in text and "Not found" not in text, text

    probe = json.loads(run([venv / "bin" / "python", "-c", PROBE.format(question=QUESTION)], cwd=workdir).stdout)
    assert Path(probe["rag"]).is_relative_to(venv), "rag was not imported from the installed wheel"
    assert not probe["torch"], "a question asked with the defaults imported torch"
    assert probe["code"] == 0
    answer = probe["answer"]
    assert not answer["refused"] and "Kaabi" in answer["text"]
    cited = [c["hit"] for claim in answer["claims"] for c in claim["citations"]]
    seed = next(SEEDS.glob("*.txt"))
    assert cited and all(hit["doc_id"].endswith(f"/news/{seed.name}") for hit in cited)
    assert {hit["published"] for hit in cited} == {"2023-10-25"}
    assert any("refused to even engage with Al-Sudani" in hit["text"] for hit in cited)
    assert Path(probe["prompts_dir"]).is_relative_to(venv)
    assert probe["prompts"] == sorted(p.stem for p in (ROOT / "prompts").glob("*.txt"))
