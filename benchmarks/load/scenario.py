"""The load benchmark's session: sign in, open Explore, click a trailer, open Compare, and what counts as an error."""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field

from mmx_core.serving.serve import sign_in
from testing import streamlit_client as sc

STEPS = ("open Explore", "click a trailer", "open Compare")
RUN_TIMEOUT = 300.0          # seconds a script run may take before it counts as an error
PASSWORD = "mmx-bench-load"  # the stack's sign-in password (loopback only)


@dataclass
class Outcome:
    """What one session's scenario produced: (step, seconds) per run, and its errors."""

    times: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def session_rng(seed: int, index: int) -> random.Random:
    """The random choices of session ``index`` of a phase seeded ``seed``."""
    return random.Random(seed * 100_000 + index)


def error_count(outcomes: list[Outcome]) -> int:
    return sum(len(o.errors) for o in outcomes)


def trailer_count(run: sc.Run) -> int:
    for text in run.texts("markdown"):
        if match := re.search(r"([\d,]+) trailers", text):
            return int(match.group(1).replace(",", ""))
    return 0


def check(step: str, run: sc.Run) -> str | None:
    """Why the page is not what a browser would show after ``step`` (None when it is)."""
    if not run.ok:
        return f"{step}: {run.status}" + (f" ({run.exceptions[0][:120]})" if run.exceptions else "")
    if step == "open Explore" and run.widget("map") is None:
        return f"{step}: no map"
    if step == "click a trailer" and "**Nearest neighbours**" not in run.texts("markdown"):
        return f"{step}: no neighbour panel"
    if step == "open Compare" and sum(e.key.startswith("cmp_") for e in run.elements if e.kind == "plotly_chart") < 2:
        return f"{step}: fewer than two maps"
    return None


async def run_step(session: sc.Session, step: str, rng: random.Random, explore: sc.Run | None) -> sc.Run | None:
    """Run one step of the scenario; None for a click with no map to click on."""
    if step == "open Explore":
        return await session.run(page="")
    if step == "click a trailer":
        chart, count = (explore.widget("map"), trailer_count(explore)) if explore is not None else (None, 0)
        if chart is None or not count:
            return None
        session.set_widget(chart.id, string_value=sc.plotly_click(rng.randrange(count)))
        return await session.run()
    return await session.run(page="Compare")


async def scenario(url: str, rng: random.Random, hold: asyncio.Event | None = None,
                   finished: list | None = None) -> Outcome:
    """One session: sign in, open Explore, click a random trailer, open Compare (through the proxy at ``url``).

    With ``hold``, the session then stays open (idle) until the event is set, after appending its
    outcome to ``finished`` so the caller knows its steps are over.
    """
    outcome = Outcome()
    stage = "sign-in"
    try:
        cookie = await asyncio.to_thread(sign_in, url, PASSWORD)  # urllib, in a thread
        stage = "connect"
        session = await sc.Session.open(url, timeout=RUN_TIMEOUT, cookie=cookie)
    except Exception as exc:  # noqa: BLE001 - a refused sign-in or connection is a measured error
        outcome.errors.append(f"{stage}: {type(exc).__name__}: {str(exc)[:120]}")
        if finished is not None:
            finished.append(outcome)
        return outcome
    try:
        explore = None
        for step in STEPS:
            run = await run_step(session, step, rng, explore)
            if run is None:
                break                       # already counted: "open Explore: no map"
            if step == "open Explore":
                explore = run
            outcome.times.append((step, run.seconds))
            if (problem := check(step, run)) is not None:
                outcome.errors.append(problem)
                if session.closed or run.status == "timeout":
                    break
    except Exception as exc:  # noqa: BLE001 - anything the protocol did not expect
        outcome.errors.append(f"protocol: {type(exc).__name__}: {str(exc)[:120]}")
    try:
        if finished is not None:
            finished.append(outcome)
        if hold is not None:
            await hold.wait()
    finally:
        await session.close()
    return outcome
