"""Property-based fuzzing of video decoding into the planner (issue 17): containers made with PyAV with random
packet timestamps (jumps, out of order, repeated, huge), random frame sizes and random truncation points.

Each example ends either in a plan of at most the budget's clips, or in one reported line naming the file
(:class:`~mmx_core.extract.media.DecodeError`, what the extraction reports per file): never another exception,
never more than the per-example deadline. The example count and the deadline come from
``testing/reliability_cases.py`` (``FUZZ_EXAMPLES["video containers"]``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.reliability_cases import FUZZ_DEADLINE_SECONDS, FUZZ_EXAMPLES
from mmx_core.extract.budget import MediaBudget
from mmx_core.extract.decode import DecodeSpec, ExpertInput, decode_video
from mmx_core.extract.media import DecodeError
from mmx_core.extract.shots import ShotDetector

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extract"))
from hostile_videos import make_raw_video, truncate  # noqa: E402

pytestmark = pytest.mark.timeout(300)

BUDGET = MediaBudget(max_duration=60.0, max_frame_gap=5.0, max_frames=60, max_pixels=64 * 48, max_clips=20)
"""Small limits, so that random files cross each of them."""
SPEC = DecodeSpec((ExpertInput("img", "video", frames_per_clip=2, resize=16, size=16),
                   ExpertInput("snd", "audio", sample_rate=8000)),
                  ShotDetector(min_shot_seconds=0.0), 1.0, 4, thumbnails=False, budget=BUDGET)

STEPS = {"ordinary": st.integers(1, 200), "backwards or repeated": st.integers(-300, 0),
         "jump": st.integers(4_000, 80_000), "huge": st.integers(10**9, 10**13)}
"""Milliseconds between consecutive timestamps, by kind (drawn mostly ordinary, so that files also get decoded)."""


@st.composite
def containers(draw):
    """(timestamps in ms, (width, height), container format, truncation point as a fraction of the bytes or None)."""
    first = draw(st.sampled_from([0, 0, 0, -2_000, 7_000, 10**11]))
    kinds = st.sampled_from(["ordinary"] * 12 + ["backwards or repeated", "jump", "huge"])
    pts = [first]
    for _ in range(draw(st.integers(0, 80))):
        pts.append(pts[-1] + draw(STEPS[draw(kinds)]))
    size = (draw(st.sampled_from([8, 16, 32, 48, 64, 96])), draw(st.sampled_from([8, 16, 24, 48, 64])))
    fmt = draw(st.sampled_from(["matroska", "matroska", "mp4"]))
    cut = draw(st.one_of(st.none(), st.floats(0.05, 0.99)))
    return pts, size, fmt, cut


@settings(max_examples=FUZZ_EXAMPLES["video containers"], deadline=timedelta(seconds=FUZZ_DEADLINE_SECONDS),
          database=None, derandomize=True, suppress_health_check=list(HealthCheck), print_blob=False)
@given(case=containers(), allow_partial=st.booleans())
def test_random_containers_give_a_bounded_plan_or_one_reported_line(case, allow_partial):
    pts, size, fmt, cut = case
    spec = DecodeSpec(SPEC.experts, SPEC.detector, SPEC.clip_seconds, SPEC.clips_per_sequence, False, BUDGET,
                      allow_partial)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("v.mkv" if fmt == "matroska" else "v.mp4")
        make_raw_video(path, pts, size=size, container=fmt)
        if cut is not None:
            truncate(path, cut)
        started = time.perf_counter()
        try:
            messages = list(decode_video(path, spec))
        except DecodeError as exc:
            text = str(exc)
            assert text.startswith(str(path) + ": ") and "\n" not in text and len(text) < 400, text
            return
        finally:
            assert time.perf_counter() - started < FUZZ_DEADLINE_SECONDS
    plan = messages[0][1]
    assert messages[0][0] == "plan" and messages[-1][0] == "done"
    clips = sum(plan["clip_counts"])
    assert 1 <= clips <= BUDGET.max_clips
    assert sum(kind == "clip" for kind, _ in messages) == clips
    assert 0 < plan["duration"] <= BUDGET.max_duration + BUDGET.max_frame_gap
    assert plan["width"] * plan["height"] <= BUDGET.max_pixels
    assert bool(plan["partial"]) <= allow_partial  # a partial file is kept only when asked
