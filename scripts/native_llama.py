"""Rebuild xllamacpp for this CPU when the CPU has kernels the portable wheel lacks (run by ``make setup``).

The PyPI wheel of xllamacpp is compiled for AVX2 only. On a CPU with AVX-512 or AVX-VNNI, llama.cpp built
for that CPU reads a prompt faster (docs/BENCHMARKS.md, "Answers in seconds"), and reading the prompt is
most of a local answer's time. So where the CPU has such kernels, the same pinned version is built from its
sdist (sha256 checked) and replaces the wheel:

- without llguidance (its Rust crates come from a registry set-up cannot reach): JSON grammars are then
  written as GBNF (``rag.answer.llm.local.compact_json``);
- without BoringSSL (fetched from git at build time): the library serves no HTTPS of its own here;
- without the AMX kernels: ``ggml_backend_amx_mul_mat`` crashes on the bundled models' first matmul.

The wheel is kept under ``.venv/native/`` named by version and CPU flags, so a rebuilt .venv on the same CPU
reuses it, and a different CPU never gets it. Nothing is replaced when the build fails, when no compiler or
cmake is found, when the CPU has nothing beyond AVX2, or when ``RAG_NATIVE_LLAMA=0``: the portable wheel
stays, and the script says why. About 8 minutes on two cores, once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

VERSION = "2026.10.11549"
SDIST_SHA256 = "c17ee1163006f70726abb9f72137830818f3d8cb60bfc34cb232d08428eaa22b"
# the flags whose kernels the portable wheel lacks; -march=native enables them where the CPU lists them
BEYOND_AVX2 = ("avx512f", "avx512_vnni", "avx512_bf16", "avx512vbmi", "avx_vnni")
NO_AMX = "-mno-amx-int8 -mno-amx-tile -mno-amx-bf16"
CMAKE_ARGS = (f"-DLLAMA_LLGUIDANCE=OFF -DLLAMA_BUILD_BORINGSSL=OFF -DCMAKE_C_FLAGS='{NO_AMX}' "
              f"-DCMAKE_CXX_FLAGS='{NO_AMX}'")
BUILD_PINS = "cython==3.3.2\nsetuptools==84.2.1\nversioneer==0.29\n"  # the sdist's build requirements, pinned
SOURCES = 197  # files this version's build compiles, for the progress bar
MARKER = "native-build.txt"  # written into the installed package's dist-info: which CPU flags it was built for


def cpu_flags() -> set[str]:
    """The flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def wanted(flags: set[str]) -> list[str]:
    """The kernels this CPU has beyond the wheel's AVX2, in a fixed order."""
    return [flag for flag in BEYOND_AVX2 if flag in flags]


def installed_for() -> str | None:
    """The CPU flags the installed xllamacpp was built for, or None for the portable wheel (or none)."""
    try:
        dist = metadata.distribution("xllamacpp")
    except metadata.PackageNotFoundError:
        return None
    text = dist.read_text(MARKER)
    return text.strip() if text else None


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def build(cache: Path) -> Path:
    """The wheel for this CPU: from the cache, else built from the checked sdist."""
    if wheels := sorted(cache.glob("xllamacpp-*.whl")):
        return wheels[0]
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"xllamacpp=={VERSION}", "-d", tmp])
        (sdist,) = Path(tmp).glob("xllamacpp-*.tar.gz")
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            raise SystemExit(f"native_llama: {sdist.name} has sha256 {digest}, expected {SDIST_SHA256}: not built")
        print(f"native_llama: building xllamacpp {VERSION} for this CPU (about 8 minutes on two cores)", flush=True)
        out = Path(tmp) / "wheel"
        cache.mkdir(parents=True, exist_ok=True)
        compile_wheel(sdist, out, cache / "build.log")
        (wheel,) = out.glob("xllamacpp-*.whl")
        partial = cache / (wheel.name + ".partial")
        shutil.copyfile(wheel, partial)
        return partial.rename(cache / wheel.name)  # whole or absent: a killed copy is never taken for a wheel


def compile_wheel(sdist: Path, out: Path, log: Path) -> None:
    """``pip wheel`` of the sdist for this CPU, its output kept in ``log`` and its progress shown as a bar of
    the files compiled (cmake's percentages restart for each group of targets); a failure names the log."""
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-cache-dir", "--no-deps", "--no-binary",
               "xllamacpp", "-w", str(out), str(sdist)]
    pins = out.parent / "build-pins.txt"
    pins.write_text(BUILD_PINS)  # pip's isolated build environment honours PIP_CONSTRAINT
    with log.open("w") as sink, tqdm(total=SOURCES, unit="file", desc="compiling llama.cpp") as bar:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "CMAKE_ARGS": CMAKE_ARGS, "PIP_CONSTRAINT": str(pins)})
        assert process.stdout is not None
        for line in process.stdout:
            sink.write(line)
            if "Building C" in line and bar.n < bar.total:
                bar.update()
    if process.wait():
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise subprocess.CalledProcessError(process.returncode, command, output=f"{tail}(whole log: {log})")


def install(wheel: Path, tag: str) -> None:
    """Replace the installed xllamacpp with ``wheel`` and mark it with the flags it was built for."""
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)])
    dist = metadata.distribution("xllamacpp")
    Path(str(dist.locate_file(f"xllamacpp-{VERSION}.dist-info/{MARKER}"))).write_text(tag + "\n")


def main() -> int:
    kernels = wanted(cpu_flags())
    if os.environ.get("RAG_NATIVE_LLAMA", "1") == "0" or not kernels:
        print("native_llama: the portable xllamacpp wheel stays "
              f"({'RAG_NATIVE_LLAMA=0' if kernels else 'this CPU has nothing beyond AVX2'})")
        return 0
    tag = " ".join(kernels)
    if installed_for() == tag:
        return 0
    missing = [tool for tool in ("cc", "c++", "cmake") if shutil.which(tool) is None]
    if missing:
        print(f"native_llama: the portable xllamacpp wheel stays: {', '.join(missing)} not found")
        return 0
    cache = Path(sys.prefix) / "native" / f"xllamacpp-{VERSION}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"
    try:
        install(build(cache), tag)
    except (subprocess.CalledProcessError, SystemExit, ValueError) as exc:
        print(f"native_llama: the portable xllamacpp wheel stays: the build failed ({exc})\n"
              f"{getattr(exc, 'output', None) or ''}", file=sys.stderr)
        return 0
    print(f"native_llama: xllamacpp {VERSION} built for {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
