"""What every benchmark report states: the machine, the date, percentiles."""

from __future__ import annotations

import os
import platform
from pathlib import Path

SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")  # what decides int8 and matmul speed


def machine() -> str:
    """Cores, CPU model and the instruction sets that decide speed here, for the report."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lines = info.splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
               platform.processor())
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    have = ", ".join(f for f in SPEED_FLAGS if f in flags) or "none of " + ", ".join(SPEED_FLAGS)
    return f"{os.cpu_count()} cores, {cpu} (flags: {have}), Python {platform.python_version()}"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank: no interpolation between runs."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
