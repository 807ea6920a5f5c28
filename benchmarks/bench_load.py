"""Server load without browsers: N sessions at once drive ``streamlit run app.py`` through its own protocol.

Each session is a websocket client speaking Streamlit's protobuf messages as the browser does
(:mod:`benchmarks.st_client`): it opens Explore (the default page), clicks a trailer (sends the
selection the map's ``st.plotly_chart(key="map")`` produces for a click on one point, which
drives the trailer card and neighbour panel), then opens Compare. Measured, per N sessions at
once: client-side time from the rerun request to ``script_finished`` per script run (what the
server takes to run the script and send its messages, including waiting for the 2 cores it shares
with the other sessions and with this client), errors (connection failures, timeouts, exception
elements, ``st.error`` alerts, a click without its neighbour panel), the server's RSS growth per
session (``/proc/<pid>/status``) and its CPU time. Then idle sessions (memory per session with few
running at once) and a soak: sessions opening and closing for ``--soak-minutes``, RSS sampled.

The server runs with empty ``MMX_CACHE_DIR``, ``MMX_DATA_DIR`` and ``MMX_RUNS_DIR`` (temporary),
so it shows the published set and the shipped coarse/fine sets with the shipped caches; one
warm-up session runs the scenario before anything is measured (Streamlit's caches filled).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import st_client as sc
from benchmarks.harness import Table

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("open Explore", "click a trailer", "open Compare")
RUN_TIMEOUT = 300.0          # seconds a script run may take before it counts as an error
SETTLE = 4.0                 # seconds to let the server finish sending and free memory before RSS is read
GOALS = {"errors": "0 at 100 sessions", "click_p95": "< 1 s at 20 sessions", "idle_mb": "< 5 MB",
         "soak": "RSS flat within 10%"}


@dataclass
class Outcome:
    """What one session's scenario produced: (step, seconds) per run, and its errors."""

    times: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _trailer_count(run: sc.Run) -> int:
    for text in run.texts("markdown"):
        if match := re.search(r"([\d,]+) trailers", text):
            return int(match.group(1).replace(",", ""))
    return 0


def _check(step: str, run: sc.Run) -> str | None:
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


async def scenario(url: str, rng: random.Random, hold: asyncio.Event | None = None,
                   finished: list | None = None) -> Outcome:
    """One session: open Explore, click a random trailer, open Compare.

    With ``hold``, the session then stays open (idle) until the event is set, after appending its
    outcome to ``finished`` so the caller knows its steps are over.
    """
    outcome = Outcome()
    try:
        session = await sc.Session.open(url, timeout=RUN_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - a refused connection is a measured error
        outcome.errors.append(f"connect: {type(exc).__name__}: {str(exc)[:120]}")
        if finished is not None:
            finished.append(outcome)
        return outcome
    try:
        explore = None
        for step in STEPS:
            if step == "open Explore":
                run = explore = await session.run(page="")
            elif step == "click a trailer":
                chart, count = explore.widget("map"), _trailer_count(explore)
                if chart is None or not count:
                    break                       # already counted: "open Explore: no map"
                session.set_widget(chart.id, string_value=sc.plotly_click(rng.randrange(count)))
                run = await session.run()
            else:
                run = await session.run(page="Compare")
            outcome.times.append((step, run.seconds))
            if (problem := _check(step, run)) is not None:
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


class Server:
    """``streamlit run app.py`` on a free loopback port with empty cache/data/runs folders."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="mmx_bench_load_"))
        env = {f"MMX_{n.upper()}_DIR": str(self.home / n) for n in ("cache", "data", "runs")}
        self.port = sc.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = sc.start_server(Path("app.py"), self.port, ROOT, env, self.home / "server.log")
        try:
            sc.wait_healthy(self.url, self.process, 120)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> float:
        return sc.server_rss_mb(self.pid)

    def cpu(self) -> float:
        return sc.server_cpu_seconds(self.pid)

    def stop(self) -> None:
        sc.stop_server(self.process)
        shutil.rmtree(self.home, ignore_errors=True)


class RssSampler:
    """Samples the server's RSS every ``every`` seconds in the event loop (``peak``, ``samples``)."""

    def __init__(self, server: Server, every: float = 0.5):
        self.server, self.every = server, every
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        start = time.perf_counter()
        while True:
            self.samples.append((time.perf_counter() - start, self.server.rss()))
            await asyncio.sleep(self.every)

    def __enter__(self) -> "RssSampler":
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=float("nan"))


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95, ordered[-1]


async def _until(predicate, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not predicate() and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)


async def concurrent(server: Server, n: int, seed: int) -> dict:
    """N sessions at once; RSS before, with the N sessions open and idle after their scenario, after close."""
    await asyncio.sleep(SETTLE)
    rss0, cpu0, client0, load = server.rss(), server.cpu(), sum(os.times()[:2]), os.getloadavg()[0]
    hold, finished = asyncio.Event(), []
    with RssSampler(server) as sampler:
        start = time.perf_counter()
        tasks = [asyncio.create_task(scenario(server.url, random.Random(seed * 100_000 + i), hold, finished))
                 for i in range(n)]
        await _until(lambda: len(finished) == n, RUN_TIMEOUT * len(STEPS) + 60)
        wall = time.perf_counter() - start
        cpu1, client1 = server.cpu(), sum(os.times()[:2])
        await asyncio.sleep(SETTLE)
        rss1 = server.rss()
        hold.set()
        outcomes = await asyncio.gather(*tasks)
        await asyncio.sleep(SETTLE)
        rss2 = server.rss()
    runs = sum(len(o.times) for o in outcomes)
    return {"n": n, "outcomes": outcomes, "rss0": rss0, "rss1": rss1, "rss2": rss2, "peak": sampler.peak,
            "wall": wall, "runs": runs, "server_cpu": cpu1 - cpu0, "client_cpu": client1 - client0, "load": load}


async def idle_sessions(server: Server, m: int, at_once: int, seed: int) -> dict:
    """``m`` sessions, ``at_once`` running their scenario at a time, all left open: RSS per idle session."""
    await asyncio.sleep(SETTLE)
    rss0 = server.rss()
    hold, finished = asyncio.Event(), []
    tasks = []
    for i in range(m):
        tasks.append(asyncio.create_task(scenario(server.url, random.Random(seed * 100_000 + i), hold, finished)))
        await _until(lambda: len(tasks) - len(finished) < at_once, RUN_TIMEOUT * len(STEPS))
    await _until(lambda: len(finished) == m, RUN_TIMEOUT * len(STEPS))
    await asyncio.sleep(SETTLE)
    rss1 = server.rss()
    hold.set()
    outcomes = await asyncio.gather(*tasks)
    await asyncio.sleep(SETTLE)
    return {"m": m, "at_once": at_once, "rss0": rss0, "rss1": rss1, "rss2": server.rss(),
            "errors": sum(len(o.errors) for o in outcomes)}


async def soak(server: Server, minutes: float, workers: int, seed: int) -> dict:
    """``workers`` loops of open session -> scenario -> close (1-3 s pause) until ``minutes`` are up."""
    stop_at = time.perf_counter() + minutes * 60
    outcomes: list[Outcome] = []

    async def worker(index: int) -> None:
        rng = random.Random(seed * 100_000 + index)
        while time.perf_counter() < stop_at:
            outcomes.append(await scenario(server.url, rng))
            await asyncio.sleep(min(rng.uniform(1.0, 3.0), max(0.0, stop_at - time.perf_counter())))

    with RssSampler(server, every=5.0) as sampler:
        await asyncio.gather(*(worker(i) for i in range(workers)))
        await asyncio.sleep(SETTLE)
        sampler.samples.append((minutes * 60 + SETTLE, server.rss()))
    return {"minutes": minutes, "workers": workers, "outcomes": outcomes, "samples": sampler.samples}


def _median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def _first_errors(outcomes: list[Outcome], limit: int = 3) -> str:
    seen: dict[str, int] = {}
    for outcome in outcomes:
        for error in outcome.errors:
            seen[error] = seen.get(error, 0) + 1
    return "; ".join(f"{e} (x{c})" for e, c in list(seen.items())[:limit]) or "-"


async def _measure(sizes: tuple[int, ...], idle: tuple[int, int], soak_minutes: float, workers: int) -> dict:
    server = Server()
    try:
        results: dict = {"start_rss": server.rss()}
        start = time.perf_counter()
        warm = await scenario(server.url, random.Random(0))
        results["warm"] = (warm, time.perf_counter() - start)
        # idle sessions first: later phases leave freed heap that new sessions would reuse unseen
        results["idle"] = await idle_sessions(server, *idle, seed=99)
        results["concurrent"] = [await concurrent(server, n, seed=1 + i) for i, n in enumerate(sizes)]
        results["soak"] = await soak(server, soak_minutes, workers, seed=7) if soak_minutes > 0 else None
        return results
    finally:
        server.stop()


async def _click_costs(server: Server, clicks: int, seed: int) -> dict:
    """One session opens Explore, then clicks ``clicks`` random trailers one after the other; the server's
    CPU seconds and the client-side seconds of each click run (nothing else runs on the server)."""
    rng = random.Random(seed)
    async with await sc.Session.open(server.url, timeout=RUN_TIMEOUT) as session:
        explore = await session.run(page="")
        chart, count = explore.widget("map"), _trailer_count(explore)
        if chart is None or not count:
            raise RuntimeError(_check("open Explore", explore) or "open Explore: no trailers")
        cpu, wall, errors = [], [], []
        for i in range(clicks + 1):                 # the first click (neighbour index, caches) is not counted
            session.set_widget(chart.id, string_value=sc.plotly_click(rng.randrange(count)))
            before = server.cpu()
            run = await session.run()
            await asyncio.sleep(0.2)                  # let the server finish sending before reading its CPU
            if i:
                cpu.append(server.cpu() - before)
                wall.append(run.seconds)
            if (problem := _check("click a trailer", run)) is not None:
                errors.append(problem)
            chart = run.widget("map") or chart      # the chart's id follows its figure (the star moves)
    return {"cpu": cpu, "wall": wall, "errors": errors}


def click_costs(clicks: int = 30, seed: int = 0) -> Table:
    """Server CPU per click on Explore, one session alone (the quick check of the click's cost)."""
    server = Server()
    try:
        asyncio.run(scenario(server.url, random.Random(seed)))          # warm-up: Streamlit's caches filled
        result = asyncio.run(_click_costs(server, clicks, seed + 1))
    finally:
        server.stop()
    rows = []
    for name, values in (("server CPU s", result["cpu"]), ("client-side s", result["wall"])):
        p50, p95, worst = _quantiles(values)
        rows.append([name, len(values), sum(values) / max(len(values), 1), p50, p95, worst])
    return Table("Click on Explore, one session alone", ["measure", "clicks", "mean", "p50", "p95", "max"], rows,
                 note=(f"One session opens Explore and clicks {clicks} random trailers in turn (a first click is not "
                       "counted); server CPU from /proc/<pid>/stat around each click run (10 ms ticks: the mean is the figure "
                       "to read). Errors: "
                       f"{'; '.join(result['errors'][:3]) or 'none'}."))


def run(quick: bool = False, soak_minutes: float | None = None) -> list[Table]:
    sizes = (1, 5) if quick else (1, 20, 100)
    idle = (10, 2) if quick else (100, 4)
    workers = 4 if quick else 5
    if soak_minutes is None:
        soak_minutes = 1.0 if quick else 30.0
    results = asyncio.run(_measure(sizes, idle, soak_minutes, workers))
    return _tables(results, sizes, workers, soak_minutes)


def _tables(results: dict, sizes: tuple[int, ...], workers: int, soak_minutes: float) -> list[Table]:
    warm, warm_seconds = results["warm"]
    runs_table = Table(
        "Script runs under load: N sessions at once (open Explore, click a trailer, open Compare)",
        ["sessions", "step", "runs", "errors", "p50 s", "p95 s", "max s", "wall s (all sessions)",
         "server CPU s per run", "client CPU s", "load average before"],
        note=("Time per run = client-side, from sending the rerun request to the final `script_finished` "
              "(script run + sending its messages, including waiting for the 2 cores shared by all sessions, "
              "the server's other threads and this client). Errors: connection failures, timeouts "
              f"({RUN_TIMEOUT:.0f} s), exception elements, `st.error` alerts, a click without its neighbour "
              "panel, a Compare page without its two maps. The cores are shared with other work: the load average "
              "(1 min) before each phase is shown. One warm-up session ran the scenario first "
              f"({warm_seconds:.1f} s, {len(warm.errors)} errors)."))
    memory_table = Table(
        "Server memory with N sessions open",
        ["sessions", "RSS before MB", "RSS with sessions open (idle after scenario) MB", "growth per session MB",
         "peak RSS during runs MB", "RSS after all closed MB"],
        note=("Server RSS from /proc/<pid>/status, read 4 s after the last run (and after closing). Growth per "
              "session includes what the allocator kept from N concurrent script runs (figures, JSON), not only "
              "what the idle sessions hold; the idle-session table (measured before this one, on a server that had run one warm-up session) runs few sessions at a time to separate the two."))
    errors_at: dict[int, list[Outcome]] = {}
    click_p95: dict[int, float] = {}
    for result in results["concurrent"]:
        n, outcomes = result["n"], result["outcomes"]
        errors_at[n] = outcomes
        errors = sum(len(o.errors) for o in outcomes)
        for step in (*STEPS, "all"):
            times = [s for o in outcomes for name, s in o.times if step in ("all", name)]
            p50, p95, worst = _quantiles(times)
            if step == "click a trailer":
                click_p95[n] = p95
            step_errors = errors if step == "all" else sum(e.startswith(step) for o in outcomes for e in o.errors)
            last = step == "all"
            runs_table.rows.append([n, step, len(times), step_errors, p50, p95, worst,
                                    result["wall"] if last else "", result["server_cpu"] / max(result["runs"], 1)
                                    if last else "", result["client_cpu"] if last else "",
                                    result["load"] if last else ""])
        memory_table.rows.append([n, result["rss0"], result["rss1"], (result["rss1"] - result["rss0"]) / n,
                                  result["peak"], result["rss2"]])
    error_notes = [f"{n} sessions: {_first_errors(o)}" for n, o in errors_at.items() if any(x.errors for x in o)]
    if error_notes:
        runs_table.note += " Errors seen: " + " | ".join(error_notes) + "."

    idle = results["idle"]
    idle_mb = (idle["rss1"] - idle["rss0"]) / idle["m"]
    idle_table = Table(
        "Memory per idle session",
        ["sessions", "running at once", "RSS before MB", "RSS with all open MB", "per idle session MB",
         "RSS after closing MB", "errors"],
        [[idle["m"], idle["at_once"], idle["rss0"], idle["rss1"], idle_mb, idle["rss2"], idle["errors"]]],
        note=("Each session ran the scenario (so it holds a selection, a trailer card and the Compare page's "
              "state) and stayed open; few ran at once, so the growth is what the open sessions hold. Measured "
              "right after the warm-up session, before the concurrent runs (whose freed heap would hide it)."))

    tables = [runs_table, idle_table, memory_table]
    soak_result = results["soak"]
    soak_change = float("nan")
    if soak_result is not None:
        samples = soak_result["samples"]
        span = samples[-1][0] if samples else 0.0
        first = _median(mb for t, mb in samples if t <= span / 4)
        last = _median(mb for t, mb in samples if t >= 3 * span / 4)
        soak_change = 100 * (last - first) / first if first == first and first else float("nan")
        outcomes = soak_result["outcomes"]
        times = [s for o in outcomes for _, s in o.times]
        p50, p95, worst = _quantiles(times)
        soak_table = Table(
            f"Soak: {soak_result['minutes']:g} minutes of sessions opening and closing",
            ["minutes", "workers", "sessions", "script runs", "errors", "p50 s", "p95 s", "max s",
             "RSS first quarter MB (median)", "RSS last quarter MB (median)", "RSS max MB", "change %"],
            [[soak_result["minutes"], workers, len(outcomes), len(times), sum(len(o.errors) for o in outcomes),
              p50, p95, worst, first, last, max(mb for _, mb in samples), soak_change]],
            note=(f"{workers} workers, each: open a session, run the scenario, close it, pause 1-3 s; RSS sampled "
                  "every 5 s. Change = last quarter's median RSS against the first quarter's."
                  + (f" Errors seen: {_first_errors(outcomes)}." if any(o.errors for o in outcomes) else "")))
        tables.append(soak_table)

    largest = max(sizes)
    errors_largest = sum(len(o.errors) for o in errors_at[largest])
    goal_rows = [
        [f"no error at {largest} sessions", GOALS["errors"], f"{errors_largest} errors", errors_largest == 0],
    ]
    if 20 in click_p95:
        goal_rows.append(["click -> neighbour panel, p95 of server time at 20 sessions", GOALS["click_p95"],
                          f"{click_p95[20]:.3g} s", click_p95[20] < 1.0])
    goal_rows.append(["memory per idle session", GOALS["idle_mb"], f"{idle_mb:.3g} MB", idle_mb < 5.0])
    if soak_result is not None:
        goal_rows.append([f"soak RSS ({soak_result['minutes']:g} min; the goal is stated for 30 min)", GOALS["soak"],
                          f"{soak_change:+.3g} %", abs(soak_change) <= 10.0])
    tables.insert(0, Table("Load goals", ["goal", "target", "measured", "met"], goal_rows))
    return tables


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_load",
                                     description="Server CPU per click on Explore (quick; writes nothing).")
    parser.add_argument("--clicks", type=int, default=30, help="clicks to time (default 30)")
    args = parser.parse_args()
    if args.clicks < 1:
        parser.error(f"--clicks must be at least 1, got {args.clicks}")
    print(click_costs(args.clicks).to_markdown())
