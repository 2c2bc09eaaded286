"""`newsrag eval calibrate`: fit the answer judgement (rag/answer/judge.py) on one set, check it on another.

Reads the per-question records of `newsrag eval realtimeqa --json` runs made with the judgement off
(``RAG_JUDGE=false``, so that no answer was withheld by it): each answered question has the judgement's
signals and whether it was right. For each signal alone, and for a logistic model
over them, it reports ROC AUC on the fitting set and on the checking set; then it picks, on the
fitting set only, the lowest confidence threshold at which answer precision reaches the target, and
reports what that threshold keeps on the checking set. A threshold is only believed when it holds
on the set it was not fitted on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.judge import form
from rag.types import Answerer

L2 = 1.0  # ridge penalty on the standardised weights: the samples are small (tens to hundreds)


def records(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Answered questions (not refused before the judgement) with their signals, label and answer form."""
    found = []
    for path in paths:
        run = json.loads(Path(path).read_text(encoding="utf-8"))
        free, generative = bool(run.get("free")), Answerer(run.get("llm", "extractive")).generative
        for r in run["records"]:
            right = r.get("free_right") if free else r.get("mc_correct")
            if r.get("signals") and not r["refused"] and right is not None:
                kind = form(generative, () if free else ("choice",))
                found.append({"kind": kind, "signals": r["signals"], "right": bool(right)})
    return found


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """ROC AUC: the chance that a right answer scores above a wrong one (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fit(x: np.ndarray, y: np.ndarray, steps: int = 200) -> tuple[float, np.ndarray]:
    """Logistic regression by Newton steps with a ridge penalty; weights on the raw (unscaled) signals."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(z.shape[1])
    penalty = L2 * np.eye(z.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (p - y) + penalty @ w
        hess = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hess, grad)
    weights = w[1:] / std
    return float(w[0] - (weights * mean).sum()), weights


def matrix(rows: Sequence[dict[str, Any]], names: Sequence[str], means: dict[str, float] | None = None
           ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Signals as columns, a missing one filled with its mean over the rows that have it (as the judge does)."""
    x = np.array([[r["signals"].get(n, np.nan) for n in names] for r in rows], dtype=float).reshape(len(rows),
                                                                                                  len(names))
    means = means or {n: float(np.nanmean(x[:, i])) if (~np.isnan(x[:, i])).any() else 0.0
                      for i, n in enumerate(names)}
    for i, n in enumerate(names):
        x[np.isnan(x[:, i]), i] = means[n]
    return x, np.array([r["right"] for r in rows], dtype=float), means


def threshold(p: np.ndarray, y: np.ndarray, target: float) -> float:
    """The lowest confidence at which the kept answers' precision reaches ``target`` (1.0: none qualifies)."""
    for t in sorted(set(np.round(p, 3))):
        kept = p >= t
        if kept.any() and y[kept].mean() >= target:
            return float(t)
    return 1.0


def calibrate(fit_paths: Sequence[Path], check_paths: Sequence[Path], target: float) -> dict[str, Any]:
    """Per answer form: each signal's AUC, the fitted model, its threshold and what it keeps on both sets."""
    fitting, checking = records(fit_paths), records(check_paths)
    report: dict[str, Any] = {}
    for kind in sorted({r["kind"] for r in fitting}):
        a = [r for r in fitting if r["kind"] == kind]
        b = [r for r in checking if r["kind"] == kind]
        names = sorted({n for r in a for n in r["signals"]})
        xa, ya, means = matrix(a, names)
        xb, yb, _ = matrix(b, names, means)
        bias, weights = fit(xa, ya)
        pa, pb = _sigmoid(bias + xa @ weights), _sigmoid(bias + xb @ weights) if len(b) else np.array([])
        t = threshold(pa, ya, target)
        report[kind] = {
            "fit_answered": len(a), "check_answered": len(b),
            "signal_auc": {n: (auc(list(xa[:, i]), list(ya)), auc(list(xb[:, i]), list(yb)) if len(b) else None)
                           for i, n in enumerate(names)},
            "model_auc": (auc(list(pa), list(ya)), auc(list(pb), list(yb)) if len(b) else None),
            "bias": bias, "weights": dict(zip(names, map(float, weights), strict=True)), "means": means,
            "threshold": t,
            "fit_kept": _kept(pa, ya, t), "check_kept": _kept(pb, yb, t),
        }
    return report


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _kept(p: np.ndarray, y: np.ndarray, t: float) -> dict[str, Any]:
    """Answer precision before and after the threshold, and the share of right answers it keeps."""
    kept = p >= t
    return {"before": float(y.mean()) if len(y) else None, "after": float(y[kept].mean()) if kept.any() else None,
            "kept": int(kept.sum()), "of": len(y), "right_kept": int(y[kept].sum()), "right_of": int(y.sum())}


def markdown(report: dict[str, Any], target: float) -> str:
    """The calibration as tables: AUCs, then the threshold's effect on both sets."""
    lines = [f"target answer precision: {target}", ""]
    for kind, r in report.items():
        lines += [f"### {kind} ({r['fit_answered']} answered to fit, {r['check_answered']} to check)", "",
                  "| signal | AUC fit | AUC check |", "|---|---:|---:|"]
        for name, (fa, ca) in {**r["signal_auc"], "logistic model": r["model_auc"]}.items():
            lines.append(f"| {name} | {_f(fa)} | {_f(ca)} |")
        lines += ["", f"threshold {r['threshold']:.3f}; bias {r['bias']:.3f}; weights "
                  + ", ".join(f"{n} {w:.3f}" for n, w in r["weights"].items()), "",
                  "| set | precision before | after | answered kept | right kept |", "|---|---:|---:|---:|---:|"]
        for name, k in (("fit", r["fit_kept"]), ("check", r["check_kept"])):
            lines.append(f"| {name} | {_f(k['before'])} | {_f(k['after'])} | {k['kept']}/{k['of']} | "
                         f"{k['right_kept']}/{k['right_of']} |")
        lines.append("")
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
