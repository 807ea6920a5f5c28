"""What an extraction did: :class:`ExtractReport`, filled by each stage of ``extract_videos``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmx_core.base.errors import escape_control

__all__ = ["ExtractReport"]


@dataclass
class ExtractReport:
    """What :func:`extract_videos` did.

    Attributes
    ----------
    out : Path or None
        The data set (None on ranks other than 0, or when no video succeeded).
    videos : int
        Videos found.
    extracted : int
        Videos extracted by this run (this rank).
    resumed : int
        Videos finished by an earlier, interrupted run and not redone.
    failed : list of (str, str)
        (file, reason) of each video that could not be extracted (refused inputs included).
    partial : list of (str, str)
        (file, reason) of each truncated or damaged video kept in part (``allow_partial``).
    clips : int
        Clips in the data set.
    frames_decoded : int
        Frames decoded by this run (both passes).
    seconds : float
        Wall time.
    expert_seconds : dict of str to float
        Time spent in each expert's forward passes.
    expert_items : dict of str to int
        Items (clips, audio examples) each expert processed.
    untrained : bool
        The experts ran with random weights.
    precision : dict
        The precision the experts ran in (``precision``, ``requested``, ``reason``), as the manifest records it.
    """

    out: Path | None = None
    videos: int = 0
    extracted: int = 0
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    partial: list[tuple[str, str]] = field(default_factory=list)
    clips: int = 0
    frames_decoded: int = 0
    seconds: float = 0.0
    expert_seconds: dict[str, float] = field(default_factory=dict)
    expert_items: dict[str, int] = field(default_factory=dict)
    untrained: bool = False
    precision: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """The one-line summary the command prints (file names escaped, as every line here)."""
        resumed = f", {self.resumed} done by an earlier run" if self.resumed else ""
        marker = " (untrained backbones)" if self.untrained else ""
        marker += f" in {self.precision['precision']}" if self.precision else ""
        kept = f", {len(self.partial)} kept in part (--allow-partial)" if self.partial else ""
        return (f"extracted {self.videos - len(self.failed)} of {self.videos} videos ({self.clips} clips) "
                f"into {escape_control(self.out)}{marker} in {self.seconds:.1f} s{resumed}{kept}")

    def problem_lines(self) -> list[str]:
        """One line per video kept in part, then per failed video: ``file: reason``, control characters escaped."""
        lines = []
        if self.partial:
            lines.append(f"{len(self.partial)} video(s) kept in part (--allow-partial):")
            lines += [f"  {escape_control(file)}: partial: {escape_control(reason)}" for file, reason in self.partial]
        if self.failed:
            lines.append(f"{len(self.failed)} video(s) failed:")
            lines += [f"  {escape_control(file)}: {escape_control(reason)}" for file, reason in self.failed]
        return lines
