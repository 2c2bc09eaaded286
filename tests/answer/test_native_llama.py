"""The native llama.cpp build of ``make setup``: chosen by CPU flags, and what is installed is what it says."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

xllamacpp = pytest.importorskip("xllamacpp")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "native_llama.py"


@pytest.fixture(scope="module")
def native() -> ModuleType:
    spec = importlib.util.spec_from_file_location("native_llama", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_kernels_beyond_avx2_call_for_a_build(native: ModuleType) -> None:
    assert native.wanted({"sse4_2", "avx", "avx2", "fma"}) == []
    assert native.wanted({"avx2", "avx_vnni", "avx512f", "amx_int8"}) == ["avx512f", "avx_vnni"]


def test_switched_off_it_keeps_the_installed_build(native: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = native.installed_for()
    monkeypatch.setenv("RAG_NATIVE_LLAMA", "0")
    monkeypatch.setattr(native, "cpu_flags", lambda: {"avx2", "avx512f"})
    assert native.main() == 0
    assert "portable xllamacpp wheel stays (RAG_NATIVE_LLAMA=0)" in capsys.readouterr().out
    assert native.installed_for() == before


def test_the_installed_build_has_the_kernels_it_claims(native: ModuleType) -> None:
    """Set-up built for this CPU where it could, and the library then runs those kernels but never AMX's
    (whose matmul crashes on the bundled models)."""
    info = xllamacpp.get_system_info()
    kernels = native.wanted(native.cpu_flags())
    buildable = all(shutil.which(tool) for tool in ("cc", "c++", "cmake"))
    if kernels and buildable and os.environ.get("RAG_NATIVE_LLAMA", "1") != "0":
        assert native.installed_for() == " ".join(kernels)
    claimed = (native.installed_for() or "").split()
    if not claimed:
        assert "AVX512 = 1" not in info  # the portable wheel
        return
    assert "AMX_INT8 = 1" not in info
    for flag, kernel in (("avx512f", "AVX512 = 1"), ("avx_vnni", "AVX_VNNI = 1"), ("avx512_vnni", "AVX512_VNNI = 1")):
        assert (kernel in info) == (flag in claimed), (flag, info)
