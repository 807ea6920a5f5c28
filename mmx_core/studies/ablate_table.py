"""Reading an ablation: the full model against its rivals (paired bootstrap) and the generated docs block."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from mmx_core.trailers.metrics import auprc_weighted, paired_bootstrap
from mmx_core.evaluate.paper import load_table2
from mmx_core.evaluate.report import format_markdown_per_genre, format_markdown_summary, json_safe
from mmx_core.studies.ablate_variants import FULL, AblationResult, VariantResult

__all__ = ["rivals", "compare_to_full", "ablation_markdown"]


def rivals(result: AblationResult) -> list[VariantResult]:
    """Naive concatenation and every single-expert model: what the full model must beat."""
    return [r for r in result.results if r.variant.kind == "model" and
            (r.variant.fusion == "concat" or (r.variant.experts is not None and len(r.variant.experts) == 1))]


def compare_to_full(result: AblationResult, test_labels: np.ndarray, seed: int = 0) -> dict[str, dict[str, float]]:
    """Paired bootstrap (over test trailers, 1,000 resamples) of the full model's AU(PRC)w minus each rival's."""
    full = result.get(FULL)
    if full is None or full.test_scores is None:
        return {}
    return {r.variant.name: paired_bootstrap(auprc_weighted, full.test_scores, r.test_scores, test_labels,
                                             n_resamples=1000, seed=seed)
            for r in rivals(result) if r.test_scores is not None}


def ablation_markdown(result: AblationResult) -> str:
    """The generated block of docs/results.md: commands, summary table, per-genre table, the issue's check."""
    paper = load_table2()
    summary = result.data_summary
    lines = [
        "## Coarse genre classification: ablation (Table 2)",
        "",
        f"Data: `{result.data}`: {summary['n_trailers']} trailers (train/val/test "
        f"{summary['splits']['train']}/{summary['splits']['val']}/{summary['splits']['test']}), "
        f"experts {summary['experts']}, generated: {summary['generated']}, fingerprint `{summary['fingerprint']}`.",
        "",
        "Made with:",
        "",
        "```",
        result.command or "(command not recorded)",
        "```",
        "",
        f"Settings: `{json.dumps(json_safe(result.settings), sort_keys=True)}`.",
        "",
        f"Wall time of this invocation: {result.seconds / 60:.1f} min (runs finished by an earlier invocation are "
        "reused, not retrained). Training time of each run (from its events.jsonl): "
        + ", ".join(f"{name} {minutes:.1f} min" for name, minutes in _training_minutes(result).items()) + ".",
        "",
        "Our rows: test split, at threshold 0.5 and with per-genre thresholds tuned for F1 on the val split. "
        "Paper rows: MMX-Trailer-20 test set (Table 2; AU(PRC) micro/macro from Table 3), a different data set.",
        "",
    ]
    rows: list[tuple[str, dict]] = []
    per_genre_rows: list[tuple[str, dict]] = []
    for r in result.results:
        rows += [(f"{r.variant.name} (ours, t=0.5)", r.fixed.to_dict()),
                 (f"{r.variant.name} (ours, tuned)", r.tuned.to_dict())]
        per_genre_rows.append((f"{r.variant.name} (ours)", {g: (e["f1"] if e["support"] else float("nan"))
                                                            for g, e in r.fixed.per_genre.items()}))
        if r.variant.paper_row and r.variant.paper_row in paper.rows:
            row_name, paper_row = f"*{r.variant.paper_row} (paper)*", paper.rows[r.variant.paper_row]
            rows.append((row_name, dataclasses.asdict(paper_row)))
            per_genre_rows.append((row_name, paper_row.per_genre_f1))
    lines += [format_markdown_summary(rows), _goal_check(result)]
    genres = list(result.results[0].fixed.per_genre) if result.results else []
    support = [("Support (ours, test)", {g: e["support"] for g, e in result.results[0].fixed.per_genre.items()}),
               ("Support (paper)", paper.support)] if result.results else []
    lines += ["", "Per-genre F1 at threshold 0.5:", "", format_markdown_per_genre(per_genre_rows, genres, support)]
    return "\n".join(lines)


def _training_minutes(result: AblationResult) -> dict[str, float]:
    """Minutes between the first 'start' and the last 'end' event of every run the ablation used."""
    from datetime import datetime

    minutes = {}
    run_dirs = {Path(r.run_dir) for r in result.results if r.run_dir}
    for run_dir in sorted(run_dirs):
        events = run_dir / "events.jsonl"
        if not events.exists():
            continue
        times = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
        starts = [e["time"] for e in times if e.get("event") == "start"]
        ends = [e["time"] for e in times if e.get("event") == "end"]
        if starts and ends:
            start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (starts[0], ends[-1]))
            minutes[run_dir.name] = (end - start).total_seconds() / 60
    return minutes


def _goal_check(result: AblationResult) -> str:
    full = result.get(FULL)
    if full is None:
        return ""
    others = rivals(result)
    beaten = [r for r in others if full.fixed.auprc_weighted > r.fixed.auprc_weighted]
    lines = [f"Goal (issue 4): the full model's AU(PRC)w ({full.fixed.auprc_weighted:.3f}) beats naive concatenation "
             f"and every single expert: **{'met' if len(beaten) == len(others) and others else 'not met'}** "
             f"({len(beaten)} of {len(others)} beaten: " +
             ", ".join(f"{r.variant.name} {r.fixed.auprc_weighted:.3f}" for r in others) + ")."]
    if result.comparisons:
        lines += ["", "Full model minus rival, AU(PRC)w on the test split, with a 95% paired bootstrap interval "
                  "over test trailers (1,000 resamples; the interval reflects test-set sampling only, not "
                  "training seeds):", ""]
        for name, c in result.comparisons.items():
            lines.append(f"- {name}: {c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}], "
                         f"share of resamples where the full model does not win {c['p_not_better']:.2f}")
    return "\n".join(lines) + "\n"
