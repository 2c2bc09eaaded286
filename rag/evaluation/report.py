"""What a run writes for people: a Markdown table per suite and PNG plots.

Every table states the command, date, machine and versions, so a figure can be traced to
the run that made it, and puts the dataset's own anchors beside ours for scale.
matplotlib is imported only when plotting (Agg backend: no display on a server).
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.benchmarks.common import machine

VERSIONS = ("newsrag", "chromadb", "bm25s", "onnxruntime", "sentence-transformers", "torch", "numpy")
# From the RealTime QA files for the 11 dev weeks, and plain BM25 on this pool (GUIDE.md section 5).
RECALL_ANCHORS = {"Google search (dataset)": {5: 0.536, 10: 0.545}, "BM25 whole articles": {5: 0.67, 10: 0.77}}
MC_ANCHORS = [("GPT-3 + Google search", 0.705), ("BART-RAG + Google search", 0.529),
              ("BM25 top-5, count each choice's mentions", 0.50), ("GPT-3 + DPR", 0.465),
              ("GPT-3 closed-book", 0.432)]
REPORT_DIR = Path("docs")
SAMPLE = " (an even sample: every k-th question)"
GOALS = ("goals: answer precision >= 0.80 (a model) and >= 0.70 (extractive); citation precision >= 0.95; "
         "evidence coverage >= 0.70; gold recall@5 >= 0.90")


def environment(command: str) -> dict[str, Any]:
    """Command, UTC time, machine and library versions of this run."""
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {"command": command, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(), "versions": versions}


def fmt(rate: dict[str, Any], digits: int = 3) -> str:
    """"0.627 (69/110)" for a share of items, "0.512 (n=110)" for a mean score."""
    value, hits, n = rate["value"], rate["hits"], rate["n"]
    if n == 0 or (isinstance(value, float) and math.isnan(value)):
        return "n/a (n=0)"
    count = f"{int(hits)}/{n}" if float(hits).is_integer() else f"n={n}"
    return f"{value:.{digits}f} ({count})"


def header(title: str, env: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return [f"### {title}", "", f"`{env['command']}`", "", f"{env['date']}; {env['machine']}; {versions}", ""]


RETRIEVAL_STAGES = {"total", "keyword", "embed", "dense", "fuse", "fetch"}  # inside retrieve_ms


def _latency_rows(latency: dict[str, dict[str, float]]) -> list[str]:
    rows = ["| stage (from `Answer.timings`) | p50 ms | p95 ms | n |", "|---|---:|---:|---:|"]
    return rows + [f"| {'retrieve: ' + k if k in RETRIEVAL_STAGES else k} | {v['p50']:.1f} | {v['p95']:.1f} "
                   f"| {v['n']} |" for k, v in latency.items()]


def realtimeqa_markdown(result: dict[str, Any], env: dict[str, Any], plots: dict[str, str] | None = None) -> str:
    """The RealTime QA table: trust first (answer and citation precision), then answers, retrieval,
    citations, latency, with the anchors."""
    s = result["summary"]
    google, bm25 = RECALL_ANCHORS["Google search (dataset)"], RECALL_ANCHORS["BM25 whole articles"]
    asked = "asked without their choices (free form)" if result.get("free") else "asked with their choices"
    rows = header("RealTime QA", env) + [
        f"{s['questions']} questions{SAMPLE if result.get('sample') else ''}, {asked}, "
        f"weeks {result['weeks'][0]}..{result['weeks'][-1]} ({len(result['weeks'])}); "
        f"answerer `{result['llm']}`; index `{result['index']}` (questions embedded by {result['embed_model']}, "
        f"top_k {result['top_k']}); "
        f"gold articles in the index: {fmt(result['gold_articles_in_index'])}. {GOALS}.",
        "",
        "| measure (subset) | newsrag | anchors |",
        "|---|---:|---|",
        f"| answer precision (right over answered) | {fmt(s['answer_precision'])} | |",
        f"| citation precision, ALCE (citations) | {fmt(s['citation_precision'])} | |",
        *(_free_rows(s) if result.get("free") else []),
        f"| gold recall@1 (questions with a gold article) | {fmt(s['recall']['1'])} | |",
        f"| gold recall@5 | {fmt(s['recall']['5'])} | Google {google[5]:.3f}; BM25 {bm25[5]:.2f} |",
        f"| gold recall@10 | {fmt(s['recall']['10'])} | Google {google[10]:.3f}; BM25 {bm25[10]:.2f} |",
        f"| gold MRR@10 | {fmt(s['mrr'])} | |",
        *([] if result.get("free") else _mc_rows(s)),
        f"| refusal rate (all) | {fmt(s['refusal'])} | |",
        f"| citation recall, ALCE (answer sentences) | {fmt(s['citation_recall'])} | |",
        "",
        *_latency_rows(s["latency_ms"]),
    ]
    rows += ["", *[f"![{name}]({_link(path)})" for name, path in (plots or {}).items()]] if plots else []
    return "\n".join(rows) + "\n"


def _coverage_rows(s: dict[str, Any]) -> list[str]:
    """Whether the gold answer was in the text the answerer read, and how long that text was."""
    rows = [f"| evidence coverage: the gold choice is in the text the answerer read (scorable) | "
            f"{fmt(s['evidence_coverage'])} | |"]
    if tokens := s.get("evidence_tokens"):
        rows.append(f"| evidence read, tokens p50 | {tokens['p50']:.0f} (n={tokens['n']}) | |")
    return rows


def _free_rows(s: dict[str, Any]) -> list[str]:
    """Free form: right when the answer holds 75% of the gold choice's content words; the questions whose gold
    has none ("None of the above") are counted apart."""
    rows = [f"| free-form right: answer holds the gold choice's content words (scorable) | {fmt(s['free_right'])} | |",
            f"| free-form refused (scorable) | {fmt(s['free_refusal'])} | |",
            *_coverage_rows(s)]
    if s["free_unscorable"]:
        rows.append(f"| not scorable free-form (gold has no content word): refused | "
                    f"{fmt(s['free_unscorable_refusal'])} | |")
    return rows


def _mc_rows(s: dict[str, Any]) -> list[str]:
    """Multiple choice: the answer names the gold choice only, beside the published systems and the baseline."""
    return [
        f"| multiple-choice accuracy: answer names the gold choice only (all) | {fmt(s['mc_accuracy'])} | "
        + "; ".join(f"{name} {v:.3f}" for name, v in MC_ANCHORS) + " |",
        f"| same, over answered questions | {fmt(s['mc_accuracy_answered'])} | |",
        f"| baseline in the same run: BM25 top-5 articles, most-mentioned choice | "
        f"{fmt(s.get('mc_baseline_bm25_count', {'value': float('nan'), 'hits': 0, 'n': 0}))} | |",
        *_coverage_rows(s),
        *_nota_rows(s.get("nota")),
        *_choice_rows(s.get("choice_pick")),
    ]


def _nota_rows(nota: dict[str, Any] | None) -> list[str]:
    """Accuracy and refusals where "None of the above" is right (a refusal counts), and where a listed choice is."""
    if not nota:
        return []
    return [f"| {label}: accuracy / refused | {fmt(nota[key]['accuracy'])} / {fmt(nota[key]['refusal'])} | |"
            for key, label in (("none_of_the_above", '"None of the above" is right (naming no listed choice counts)'),
                               ("listed_choice", "a listed choice is right"))]


def _choice_rows(picks: dict[str, Any] | None) -> list[str]:
    """The model's raw pick (before citing and checking), read in the order asked and over all rotations."""
    if not picks:
        return []
    return [f"| model's pick, order as asked: accuracy / in first half of the list | "
            f"{fmt(picks['as_asked_accuracy'])} / {fmt(picks['as_asked_first_half'])} | "
            f"gold in first half {fmt(picks['gold_first_half'])} |",
            f"| model's pick, mean over every rotation: accuracy / in first half | "
            f"{fmt(picks['rotated_accuracy'])} / {fmt(picks['rotated_first_half'])} | |"]


def _link(path: str) -> str:
    """A plot's path as seen from docs/, where the report (docs/BENCHMARKS.md) lives."""
    return Path(os.path.relpath(Path(path).resolve(), REPORT_DIR.resolve())).as_posix()


RGB_CONDITIONS = {"positive": "positive (true)", "wrong": "positive_wrong (planted error)",
                  "mixed": "mixed (true and planted, interleaved)"}


def rgb_markdown(result: dict[str, Any], env: dict[str, Any]) -> str:
    """The RGB table: accuracy on true passages; repeated error versus flagged conflict on wrong ones."""
    summary = result["summary"]
    rows = header("RGB counterfactual", env) + [
        f"{result['questions']} questions; answerer `{result['llm']}`; given passages (up to top_k "
        f"{result['top_k']}), retrieval bypassed.",
        "",
        "| passages | answer right | repeats the planted error | flags the conflict | refused |",
        "|---|---:|---:|---:|---:|",
    ] + [f"| {label} | {fmt(summary[c]['correct'])} | {fmt(summary[c]['repeats_error'])} | "
         f"{fmt(summary[c]['flags_conflict'])} | {fmt(summary[c]['refused'])} |"
         for c, label in RGB_CONDITIONS.items() if c in summary]
    return "\n".join(rows) + "\n"


def _pyplot():  # noqa: ANN202 - matplotlib is optional and imported lazily
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install matplotlib (or newsrag[dev])") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_recall(result: dict[str, Any], path: Path) -> Path:
    """Gold recall@k for k = 1..10, with the dataset's anchors as points."""
    plt = _pyplot()
    curve = result["summary"]["recall_curve"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(curve) + 1), curve, marker="o", color="tab:blue", label=f"newsrag ({result['index']})")
    for (name, points), marker, color in zip(RECALL_ANCHORS.items(), ("s", "^"), ("tab:red", "tab:orange"),
                                             strict=True):
        ax.scatter(list(points), list(points.values()), marker=marker, color=color, label=name, zorder=3)
    ax.axhline(0.9, linestyle="--", color="grey", linewidth=1, label="goal @5: 0.90")
    ax.set(xlabel="k (distinct articles)", ylabel="gold recall@k", ylim=(0, 1), xticks=range(1, len(curve) + 1),
           title=f"RealTime QA gold-article recall (n={result['summary']['recall']['1']['n']})")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, plt, path)


def plot_latency(result: dict[str, Any], path: Path) -> Path:
    """Histogram of end-to-end answer time, with the retrieval stage beside it."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for stage, label in (("end_to_end_ms", "end to end"), ("retrieve_ms", "retrieve")):
        values = [r["timings"][stage] for r in result["records"] if stage in r["timings"]]
        if values:
            ax.hist(values, bins=30, alpha=0.6, label=f"{label} (n={len(values)})")
    ax.set(xlabel="milliseconds", ylabel="questions", title=f"Answer latency, answerer {result['llm']}")
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_plots(result: dict[str, Any], folder: Path) -> dict[str, str]:
    """The suite's PNGs in ``folder``, named by suite and answerer so runs do not overwrite each other."""
    stem = f"{result['suite']}-{result['llm'].replace(':', '_').replace('/', '_')}"
    return {"gold recall@k": str(plot_recall(result, folder / f"{stem}-recall.png")),
            "latency": str(plot_latency(result, folder / f"{stem}-latency.png"))}


def wice_markdown(result: dict[str, Any], env: dict[str, Any]) -> str:
    """The WiCE table: one row per checker mode, with the published systems as anchors."""
    from rag.evaluation.wice import ANCHORS

    s = result["summary"]
    by = s["judged_supported_by_label"]
    rows = header("WiCE: the citation checker against human labels", env) + [
        f"{s['claims']} claims; \"supported\" against partially or not supported; a claim is judged by its best row.",
        "",
        "| checker | precision | recall | F1 | balanced accuracy | judged supported, by human label: supported / "
        "partially / not | ms per claim p50 / p95 |",
        "|---|---:|---:|---:|---:|---|---:|",
        f"| newsrag, {_mode(result)} | {fmt(s['precision'])} | {fmt(s['recall'])} | {s['f1']:.3f} | "
        f"{s['balanced_accuracy']:.3f} | {fmt(by['supported'])} / {fmt(by['partially_supported'])} / "
        f"{fmt(by['not_supported'])} | {s['ms_per_claim']['p50']:.0f} / {s['ms_per_claim']['p95']:.0f} |",
        *[f"| {name} (published, held-out split) | | | {f1:.2f} | {bacc:.2f} | | |" for name, f1, bacc in ANCHORS],
    ]
    if best := s.get("best_threshold_here"):
        rows += ["", f"Verifier threshold {s['threshold']:g}. The threshold that maximises F1 on these claims "
                 f"(in-sample, an upper bound elsewhere) is {best['threshold']:g}: F1 {best['f1']:.3f}, balanced "
                 f"accuracy {best['balanced_accuracy']:.3f}."]
    return "\n".join(rows) + "\n"


def _mode(result: dict[str, Any]) -> str:
    return f"model mode ({result['verifier']})" if result["mode"] == "model" else f"{result['mode']} mode"
