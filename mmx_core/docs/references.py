"""Reference tables as generated blocks: the paper's Tables 2 and 3, and each feature expert's sampling and weights.

The paper's tables are read through :mod:`mmx_core.evaluate.paper` (``docs/paper/table2.csv`` and ``table3.csv``),
so prose can quote the paper's figures with an include, e.g.
``<!-- include: paper.md#paper-tables table="Table 2" row="MMX-Trailer-20" col="F1w" -->``; the experts' table
is read from the registry (:data:`mmx_core.extract.experts.EXPERTS`) and the audio front end.
"""

from __future__ import annotations

import math

from mmx_core.docs.includes import markdown_table
from mmx_core.evaluate.paper import SUMMARY_COLUMNS, load_table2, load_table3
from mmx_core.extract import audio
from mmx_core.extract.experts import EXPERTS
from mmx_core.extract.experts.base import AudioSampling, Expert
from mmx_core.trailers.genres import TABLE2_COLUMNS

__all__ = ["experts_markdown", "render_paper_block"]


def _cell(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}g}"


def render_paper_block() -> str:
    """Markdown of Table 2 (support, summary metrics) and Table 3 (AU(PRC) of every method)."""
    table2 = load_table2()
    printed = {genre: abbreviation for abbreviation, genre in TABLE2_COLUMNS.items()}
    summary = [(name, *(_cell(getattr(row, a)) for a in SUMMARY_COLUMNS.values())) for name, row in table2.rows.items()]
    return "\n".join([
        "### Table 2: summary metrics of each model (test set)", "",
        *markdown_table(["model", *SUMMARY_COLUMNS], summary),
        "", "### Table 2: test-set support per genre", "",
        "The header's Western and Thriller labels are swapped back (`mmx_core.trailers.genres.TABLE2_COLUMNS`).", "",
        *markdown_table(["genre", "printed column", "support"],
                        ((genre, printed[genre], count) for genre, count in table2.support.items())),
        "", "### Table 3: AU(PRC) of each method", "",
        *markdown_table(["method", "AU(PRC) micro", "AU(PRC) macro", "AU(PRC)w"],
                        ((row.name, _cell(row.auprc_micro), _cell(row.auprc_macro), _cell(row.auprc_weighted))
                         for row in load_table3()))])


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _input(expert: Expert) -> str:
    s = expert.sampling
    if isinstance(s, AudioSampling):
        return f"the clip's sound, mono, resampled to {s.sample_rate} Hz; examples of {s.example_seconds:g} s"
    when = (f"{s.frames_per_clip} consecutive frames at {s.fps:g} frames/s centred on the clip's middle"
            if s.fps is not None else f"{s.frames_per_clip} frames spread evenly over the clip")
    return f"{when}; short side {s.resize}, centre crop {s.size} x {s.size}; mean {_fmt(s.mean)}, std {_fmt(s.std)}"


def experts_markdown() -> str:
    """Markdown tables of the registered experts (sampling, output) and their weights files."""
    experts = [(f"`{e.name}`", e.weights.what, _input(e),
                f"{e.dim}-d {'per example' if e.temporal == 'frames' else 'per clip'}", f"`{e.temporal}`")
               for e in EXPERTS.values()]
    return "\n".join([
        *markdown_table(["expert", "backbone", "input per clip", "output", "temporal"], experts), "",
        f"Audio front end: {audio.WINDOW / audio.SAMPLE_RATE * 1000:g} ms periodic Hann window, "
        f"{audio.HOP / audio.SAMPLE_RATE * 1000:g} ms hop, {audio.N_FFT}-point FFT magnitude, "
        f"{audio.N_MELS} mel bands from {audio.F_MIN:g} to {audio.F_MAX:g} Hz (HTK), "
        f"log(mel + {audio.LOG_OFFSET:g}), examples of {audio.EXAMPLE_FRAMES} frames x {audio.N_MELS} bands.", "",
        *markdown_table(["expert", "weights file", "published at"],
                        ((f"`{e.name}`", f"`{e.weights.file_name}`", f"`{e.weights.url}`") for e in EXPERTS.values()))])
