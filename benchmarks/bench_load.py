"""Server load without browsers: N sessions at once drive the served stack (nginx + Streamlit workers).

The stack is :func:`mmx_core.serving.serve.served`: nginx in front of ``--workers`` ``streamlit run app.py``
processes, sticky by the sign-in cookie. Each session signs in once (:func:`~mmx_core.serving.serve.sign_in`,
its own cookie, so nginx's hash gives it its own worker) and then is a websocket client speaking Streamlit's
protobuf messages as the browser does (:mod:`benchmarks.st_client`), through the proxy: it opens Explore (the
default page), clicks a trailer (sends the selection the map's ``st.plotly_chart(key="map")`` produces for a
click on one point, which drives the trailer card and neighbour panel), then opens Compare. Measured, per N
sessions at once: client-side time from the rerun request to ``script_finished`` per script run (what the
server takes to run the script and send its messages, including waiting for the 2 cores it shares with the
other sessions, nginx and this client), errors (sign-in or connection failures, timeouts, exception elements,
``st.error`` alerts, a click without its neighbour panel), the workers' RSS growth per session (the sum over
the worker processes of ``/proc/<pid>/status``) and their CPU time. Then idle sessions (memory per session
with few running at once), a soak (sessions opening and closing for ``--soak-minutes``, RSS sampled) and one
worker killed mid-load (its sessions reconnect as a browser tab does; the time from the kill to each one's
first complete run). The same runs with 1 worker give the table beside.

The workers run with empty ``MMX_CACHE_DIR``, ``MMX_DATA_DIR`` and ``MMX_RUNS_DIR`` (temporary), so they show
the published set and the shipped coarse/fine sets with the shipped caches; one warm-up session per worker
count runs the scenario before anything is measured, and the idle phase that follows reaches every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import st_client as sc
from benchmarks.harness import Table
from mmx_core.serving.serve import served, sign_in

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("open Explore", "click a trailer", "open Compare")
RUN_TIMEOUT = 300.0          # seconds a script run may take before it counts as an error
SETTLE = 4.0                 # seconds to let the server finish sending and free memory before RSS is read
PASSWORD = "mmx-bench-load"  # the stack's sign-in password (loopback only)
WORKERS = 2                  # default --workers
KILL_SESSIONS = 20           # sessions looping their scenario when one worker is killed
KILL_AFTER = 20.0            # seconds the sessions go on after the kill (longer while one is not back yet)
RECONNECT_SECONDS = 60.0     # a dropped session that is not back within this is lost
GOALS = {"errors_100": "0 at 100 sessions", "errors_300": "0 at 300 sessions", "click_p95": "< 1 s at 20 sessions",
         "idle_mb": "< 5 MB", "soak": "RSS flat within 10%", "back": "< 5 s", "lost": "0 lost"}


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


async def _sign_in(url: str) -> str:
    """The session's cookie (``mmx_session=...``): one sign-in through the proxy (urllib, in a thread)."""
    return await asyncio.to_thread(sign_in, url, PASSWORD)


async def _step(session: sc.Session, step: str, rng: random.Random, explore: sc.Run | None) -> sc.Run | None:
    """Run one step of the scenario; None for a click with no map to click on."""
    if step == "open Explore":
        return await session.run(page="")
    if step == "click a trailer":
        chart, count = (explore.widget("map"), _trailer_count(explore)) if explore is not None else (None, 0)
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
        cookie = await _sign_in(url)
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
            run = await _step(session, step, rng, explore)
            if run is None:
                break                       # already counted: "open Explore: no map"
            if step == "open Explore":
                explore = run
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
    """The served stack (nginx + ``workers`` Streamlit workers, sign-in with :data:`PASSWORD`) with empty
    cache/data/runs folders; ``rss``/``cpu`` sum over the worker processes."""

    def __init__(self, workers: int = WORKERS):
        self.home = Path(tempfile.mkdtemp(prefix="mmx_bench_load_"))
        env = {f"MMX_{n.upper()}_DIR": str(self.home / n) for n in ("cache", "data", "runs")}
        self._saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)              # the workers (and the ones restarted) inherit os.environ
        self._served = served(workers, PASSWORD, run_dir=self.home / "run", root=ROOT)
        try:
            self.stack = self._served.__enter__()
        except BaseException:
            self._served = None
            self.stop()
            raise
        self.url = self.stack.url

    @property
    def workers(self):
        return self.stack.workers

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.stack.workers]

    def _sum(self, read) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(OSError, sc.ProtocolError, IndexError, ValueError):   # one being restarted
                total += read(pid)
        return total

    def rss(self) -> float:
        return self._sum(sc.server_rss_mb)

    def cpu(self) -> float:
        return self._sum(sc.server_cpu_seconds)

    def stop(self) -> None:
        try:
            if self._served is not None:
                self._served.__exit__(None, None, None)
        finally:
            for name, value in self._saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            shutil.rmtree(self.home, ignore_errors=True)


class RssSampler:
    """Samples the workers' RSS every ``every`` seconds in the event loop (``peak``, ``samples``)."""

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


async def soak(server: Server, minutes: float, loops: int, seed: int) -> dict:
    """``loops`` loops of sign in -> open session -> scenario -> close (1-3 s pause) until ``minutes`` are up."""
    stop_at = time.perf_counter() + minutes * 60
    outcomes: list[Outcome] = []

    async def loop(index: int) -> None:
        rng = random.Random(seed * 100_000 + index)
        while time.perf_counter() < stop_at:
            outcomes.append(await scenario(server.url, rng))
            await asyncio.sleep(min(rng.uniform(1.0, 3.0), max(0.0, stop_at - time.perf_counter())))

    with RssSampler(server, every=5.0) as sampler:
        await asyncio.gather(*(loop(i) for i in range(loops)))
        await asyncio.sleep(SETTLE)
        sampler.samples.append((minutes * 60 + SETTLE, server.rss()))
    return {"minutes": minutes, "loops": loops, "outcomes": outcomes, "samples": sampler.samples}


@dataclass
class Looper:
    """One session of the kill phase: its complete runs, the times its websocket dropped and it was back."""

    runs: int = 0
    drops: list[float] = field(default_factory=list)     # perf_counter when its websocket dropped
    back: list[float] = field(default_factory=list)      # perf_counter of its first complete run after a drop
    lost: int = 0                                        # drops never followed by a complete run
    errors: list[str] = field(default_factory=list)      # runs that failed without a drop


async def _reconnect(url: str, cookie: str, page: str, query: str, deadline: float):
    """As a browser tab whose websocket dropped: connect again with the same cookie and rerun the page it
    shows with its query string, until a run completes; ``(session, run)``, or ``(None, None)`` past ``deadline``."""
    step = "open Compare" if page else "open Explore"
    while time.perf_counter() < deadline:
        session = None
        try:
            session = await sc.Session.open(url, timeout=RUN_TIMEOUT, cookie=cookie)
            run = await session.run(page=page, query=query)
            if _check(step, run) is None:
                return session, run
        except Exception:  # noqa: BLE001 - refused while the proxy finds a live worker: try again
            pass
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        await asyncio.sleep(0.1)
    return None, None


async def _looping_session(url: str, rng: random.Random, stop: asyncio.Event, ready: list, rec: Looper) -> None:
    """Sign in once, then run the scenario over and over until ``stop``; a dropped websocket reconnects."""
    try:
        cookie = await _sign_in(url)
        session = await sc.Session.open(url, timeout=RUN_TIMEOUT, cookie=cookie)
    except Exception as exc:  # noqa: BLE001
        rec.errors.append(f"connect: {type(exc).__name__}: {str(exc)[:120]}")
        ready.append(rec)
        return
    explore, index, announced = None, 0, False
    try:
        while not stop.is_set():
            step = STEPS[index % len(STEPS)]
            try:
                run = await _step(session, step, rng, explore)
            except Exception as exc:  # noqa: BLE001 - sending on a websocket that dropped between runs
                run = sc.Run(seconds=float("nan"), status="closed", exceptions=[f"{type(exc).__name__}: {exc}"])
            if run is None:
                rec.errors.append("click a trailer: no map")
                index += 1
                continue
            if run.status == "closed" or session.closed:
                dropped = time.perf_counter()
                rec.drops.append(dropped)
                page, query = ("Compare" if step == "open Compare" else ""), session.query
                with contextlib.suppress(Exception):
                    await session.close()
                new, back_run = await _reconnect(url, cookie, page, query, dropped + RECONNECT_SECONDS)
                if new is None:
                    rec.lost += 1
                    return
                session = new
                rec.back.append(time.perf_counter())
                rec.runs += 1
                if page:
                    index = 0                   # Compare done: the scenario starts again
                else:
                    explore, index = back_run, 1  # Explore shown again: its click comes next
                continue
            if (problem := _check(step, run)) is not None:
                rec.errors.append(problem)
            else:
                rec.runs += 1
            if step == "open Explore":
                explore = run
            index += 1
            if index == len(STEPS) and not announced:
                ready.append(rec)
                announced = True
    finally:
        with contextlib.suppress(Exception):
            await session.close()


def _healthy(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


async def worker_kill(server: Server, sessions: int, after: float, seed: int) -> dict:
    """``sessions`` sessions loop their scenario through the proxy; once each has run it once, the first worker
    is killed (SIGKILL to its process group). Its sessions reconnect (:func:`_reconnect`); the time from the kill
    to each one's first complete run, and whether every one came back, are recorded."""
    await asyncio.sleep(SETTLE)
    stop, ready = asyncio.Event(), []
    recs = [Looper() for _ in range(sessions)]
    tasks = [asyncio.create_task(_looping_session(server.url, random.Random(seed * 100_000 + i), stop, ready, rec))
             for i, rec in enumerate(recs)]
    await _until(lambda: len(ready) == sessions, RUN_TIMEOUT)
    victim = server.workers[0]
    restarts, pid = victim.restarts, victim.process.pid
    killed = time.perf_counter()
    os.killpg(pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    healthy_after = float("nan")
    deadline = killed + max(after, RECONNECT_SECONDS)
    while time.perf_counter() < deadline:
        if victim.process.pid != pid and await asyncio.to_thread(_healthy, victim.url):
            healthy_after = time.perf_counter() - killed
            break
        await asyncio.sleep(0.25)
    await _until(lambda: time.perf_counter() - killed >= after, after)
    await _until(lambda: all(len(r.back) + r.lost >= len(r.drops) for r in recs), RECONNECT_SECONDS)
    stop.set()
    await asyncio.gather(*tasks)
    return {"sessions": sessions, "after": after, "recs": recs, "killed": killed, "port": victim.port,
            "restarted": victim.restarts > restarts, "healthy_after": healthy_after}


def _median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def _first_errors(outcomes: list[Outcome], limit: int = 3) -> str:
    seen: dict[str, int] = {}
    for outcome in outcomes:
        for error in outcome.errors:
            seen[error] = seen.get(error, 0) + 1
    return "; ".join(f"{e} (x{c})" for e, c in list(seen.items())[:limit]) or "-"


async def _warm_up(server: Server, seed: int, tries: int = 20) -> tuple[list[Outcome], float]:
    """Warm-up sessions (one after the other) until each worker ran one: Streamlit's caches filled in each
    (a worker ran a session when its CPU time grew by more than half a second)."""
    start = time.perf_counter()
    pids, warmed, outcomes = server.pids, set(), []
    for i in range(tries):
        before = {pid: sc.server_cpu_seconds(pid) for pid in pids}
        outcomes.append(await scenario(server.url, random.Random(seed + i)))
        warmed |= {pid for pid in pids if sc.server_cpu_seconds(pid) - before[pid] > 0.5}
        if warmed >= set(pids):
            break
    return outcomes, time.perf_counter() - start


async def _phases(server: Server, sizes: tuple[int, ...], idle: tuple[int, int], soak_minutes: float,
                  loops: int, kill: tuple[int, float] | None) -> dict:
    results: dict = {"workers": len(server.workers), "start_rss": server.rss()}
    results["warm"] = await _warm_up(server, seed=0)
    # idle sessions first: later phases leave freed heap that new sessions would reuse unseen
    results["idle"] = await idle_sessions(server, *idle, seed=99)
    results["concurrent"] = [await concurrent(server, n, seed=1 + i) for i, n in enumerate(sizes)]
    results["soak"] = await soak(server, soak_minutes, loops, seed=7) if soak_minutes > 0 else None
    results["kill"] = await worker_kill(server, *kill, seed=11) if kill else None
    return results


def _measure(workers: int, sizes: tuple[int, ...], idle: tuple[int, int], soak_minutes: float, loops: int,
             kill: tuple[int, float] | None) -> dict:
    """All phases on one stack of ``workers`` workers (started here, stopped after)."""
    server = Server(workers)
    try:
        return asyncio.run(_phases(server, sizes, idle, soak_minutes, loops, kill))
    finally:
        server.stop()


async def _click_costs(server: Server, clicks: int, seed: int) -> dict:
    """One session opens Explore, then clicks ``clicks`` random trailers one after the other; the workers'
    CPU seconds and the client-side seconds of each click run (nothing else runs on the server)."""
    rng = random.Random(seed)
    cookie = await _sign_in(server.url)
    async with await sc.Session.open(server.url, timeout=RUN_TIMEOUT, cookie=cookie) as session:
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
    """Server CPU per click on Explore, one session alone through the proxy to one worker (the quick check)."""
    server = Server(1)
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
                 note=(f"One session opens Explore through the proxy (1 worker) and clicks {clicks} random trailers in "
                       "turn (a first click is not counted); server CPU from /proc/<pid>/stat around each click run "
                       "(10 ms ticks: the mean is the figure to read). Errors: "
                       f"{'; '.join(result['errors'][:3]) or 'none'}."))


def run(quick: bool = False, soak_minutes: float | None = None, workers: int = WORKERS) -> list[Table]:
    """The load tables: everything through the proxy with ``workers`` workers (the goals' setting), and the
    script runs, idle and concurrent memory with 1 worker beside (no soak or kill there)."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    sizes = (1, 5) if quick else (1, 20, 100, 300)
    idle = (10, 2) if quick else (100, 4)
    loops = 4 if quick else 5
    kill = (6, 10.0) if quick else (KILL_SESSIONS, KILL_AFTER)
    if soak_minutes is None:
        soak_minutes = 1.0 if quick else 30.0
    results = {workers: _measure(workers, sizes, idle, soak_minutes, loops, kill)}
    if workers != 1:
        results[1] = _measure(1, sizes, idle, 0.0, loops, None)
    return _tables(results, sizes, workers, loops)


def _label(workers: int) -> str:
    return f"{workers} worker{'s' if workers != 1 else ''}"


def _tables(all_results: dict[int, dict], sizes: tuple[int, ...], workers: int, loops: int) -> list[Table]:
    configs = [workers] + [w for w in all_results if w != workers]
    main = all_results[workers]
    labels = [_label(w) for w in configs]

    def both(values, fmt="{:.3g}") -> str:
        return " / ".join(fmt.format(v) for v in values)

    warm_text = "; ".join(f"{_label(w)}: {len(all_results[w]['warm'][0])} session(s), {all_results[w]['warm'][1]:.1f} s, "
                          f"{sum(len(o.errors) for o in all_results[w]['warm'][0])} errors" for w in configs)
    columns = ["sessions", "step"]
    for label in labels:
        columns += [f"runs, {label}", f"errors, {label}", f"p50 s, {label}", f"p95 s, {label}", f"max s, {label}"]
    columns += [f"wall s (all sessions), {' / '.join(labels)}", f"workers' CPU s per run, {' / '.join(labels)}",
                f"client CPU s, {' / '.join(labels)}", f"load average before, {' / '.join(labels)}"]
    runs_table = Table(
        "Script runs under load through the proxy: N sessions at once (open Explore, click a trailer, open Compare)",
        columns,
        note=("Every session signs in through nginx (its own cookie: nginx's hash gives it its worker) and runs its "
              f"scenario over the proxy's websocket; {' beside '.join(labels)}. Time per run = client-side, from "
              "sending the rerun request to the final `script_finished` (script run + sending its messages through "
              "nginx, including waiting for the 2 cores shared by all workers, nginx, the sign-in service and this "
              "client). Errors: sign-in or connection failures, timeouts "
              f"({RUN_TIMEOUT:.0f} s), exception elements, `st.error` alerts, a click without its neighbour "
              "panel, a Compare page without its two maps. Workers' CPU: the sum over the worker processes. Client "
              "CPU includes the sign-in service (a thread of this process, asked by nginx on every request). The "
              "cores are shared with other work: the load average (1 min) before each phase is shown. Warm-up "
              f"sessions ran the scenario first until each worker had run one ({warm_text})."))
    memory_table = Table(
        "Workers' memory with N sessions open",
        ["workers", "sessions", "RSS before MB", "RSS with sessions open (idle after scenario) MB",
         "growth per session MB", "peak RSS during runs MB", "RSS after all closed MB"],
        note=("RSS summed over the worker processes (/proc/<pid>/status), read 4 s after the last run (and after "
              "closing). Growth per session includes what the allocator kept from N concurrent script runs "
              "(figures, JSON), not only what the idle sessions hold; the idle-session table (measured before this "
              "one, right after the warm-up) runs few sessions at a time to separate the two."))
    errors_at: dict[int, dict[int, list[Outcome]]] = {w: {} for w in configs}
    click_p95: dict[int, dict[int, float]] = {w: {} for w in configs}
    by_n = {w: {r["n"]: r for r in all_results[w]["concurrent"]} for w in configs}
    for n in sizes:
        for step in (*STEPS, "all"):
            row: list = [n, step]
            last = step == "all"
            for w in configs:
                result = by_n[w].get(n)
                if result is None:
                    row += ["not run"] + [""] * 4
                    continue
                outcomes = result["outcomes"]
                errors_at[w][n] = outcomes
                errors = sum(len(o.errors) for o in outcomes)
                times = [s for o in outcomes for name, s in o.times if step in ("all", name)]
                p50, p95, worst = _quantiles(times)
                if step == "click a trailer":
                    click_p95[w][n] = p95
                step_errors = errors if last else sum(e.startswith(step) for o in outcomes for e in o.errors)
                row += [len(times), step_errors, p50, p95, worst]
            present = [by_n[w][n] for w in configs if n in by_n[w]]
            if last:
                row += [both(r["wall"] for r in present), both(r["server_cpu"] / max(r["runs"], 1) for r in present),
                        both(r["client_cpu"] for r in present), both(r["load"] for r in present)]
            else:
                row += ["", "", "", ""]
            runs_table.rows.append(row)
    for w in configs:
        for n in sizes:
            if (result := by_n[w].get(n)) is not None:
                memory_table.rows.append([w, n, result["rss0"], result["rss1"], (result["rss1"] - result["rss0"]) / n,
                                          result["peak"], result["rss2"]])
    error_notes = [f"{_label(w)}, {n} sessions: {_first_errors(o)}" for w in configs
                   for n, o in errors_at[w].items() if any(x.errors for x in o)]
    if error_notes:
        runs_table.note += " Errors seen: " + " | ".join(error_notes) + "."
    if 300 not in sizes:
        runs_table.note += f" Measured at {', '.join(map(str, sizes))} sessions only (--quick)."

    idle_mb = {}
    idle_table = Table(
        "Memory per idle session",
        ["workers", "sessions", "running at once", "RSS before MB", "RSS with all open MB", "per idle session MB",
         "RSS after closing MB", "errors"],
        note=("RSS summed over the worker processes. Each session ran the scenario (so it holds a selection, a "
              "trailer card and the Compare page's state) and stayed open; few ran at once, so the growth is what "
              "the open sessions hold. Measured right after the warm-up, before the concurrent runs (whose freed "
              "heap would hide it)."))
    for w in configs:
        idle = all_results[w]["idle"]
        idle_mb[w] = (idle["rss1"] - idle["rss0"]) / idle["m"]
        idle_table.rows.append([w, idle["m"], idle["at_once"], idle["rss0"], idle["rss1"], idle_mb[w], idle["rss2"],
                                idle["errors"]])

    tables = [runs_table, idle_table, memory_table]
    soak_result = main["soak"]
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
        tables.append(Table(
            f"Soak: {soak_result['minutes']:g} minutes of sessions opening and closing ({_label(workers)})",
            ["minutes", "workers", "loops", "sessions", "script runs", "errors", "p50 s", "p95 s", "max s",
             "RSS first quarter MB (median)", "RSS last quarter MB (median)", "RSS max MB", "change %"],
            [[soak_result["minutes"], workers, soak_result["loops"], len(outcomes), len(times),
              sum(len(o.errors) for o in outcomes), p50, p95, worst, first, last, max(mb for _, mb in samples),
              soak_change]],
            note=(f"{soak_result['loops']} loops, each: sign in, open a session, run the scenario, close it, pause "
                  "1-3 s; the workers' summed RSS sampled every 5 s. Change = last quarter's median RSS against the "
                  "first quarter's."
                  + (f" Errors seen: {_first_errors(outcomes)}." if any(o.errors for o in outcomes) else ""))))

    kill = main["kill"]
    back_max, lost, dropped = float("nan"), 0, 0
    if kill is not None:
        recs = kill["recs"]
        back = [b - kill["killed"] for r in recs for b in r.back]
        dropped = sum(len(r.drops) for r in recs)
        lost = sum(r.lost for r in recs)
        back_max = max(back, default=float("nan"))
        errors = [e for r in recs for e in r.errors]
        p50, _, _ = _quantiles(back)
        tables.append(Table(
            f"One worker killed mid-load ({_label(workers)})",
            ["workers", "sessions", "sessions dropped", "back", "lost", "kill -> first complete run p50 s",
             "kill -> first complete run max s", "other errors", "killed worker answering again after s",
             "complete runs"],
            [[workers, kill["sessions"], sum(1 for r in recs if r.drops), sum(1 for r in recs if r.back), lost, p50,
              back_max, len(errors), kill["healthy_after"], sum(r.runs for r in recs)]],
            note=(f"{kill['sessions']} sessions (each signed in once) run the scenario over and over through the "
                  "proxy; once each has run it once, the worker on port "
                  f"{kill['port']} is killed (SIGKILL to its process group), and the sessions go on for "
                  f"{kill['after']:g} s more. A session whose websocket drops reconnects as a browser tab does: a new "
                  "session with the same cookie reruns the page it showed with its query string (nginx sends it to a "
                  "live worker) and goes on with its scenario; kill -> first complete run is the time from the kill "
                  "to that rerun's `script_finished`. Lost = a dropped session that did not complete a run within "
                  f"{RECONNECT_SECONDS:.0f} s (its step, the job it was doing, never done). The serve stack starts the "
                  f"killed worker again (restarted: {kill['restarted']})."
                  + (f" Other errors: {'; '.join(sorted(set(errors))[:3])}." if errors else ""))))

    def errors_cell(w: int, n: int):
        if n not in errors_at[w]:
            return "not measured", "n/a"
        count = sum(len(o.errors) for o in errors_at[w][n])
        return f"{count} errors", count == 0

    def click_cell(w: int):
        if 20 not in click_p95[w]:
            return "not measured", "n/a"
        return f"{click_p95[w][20]:.3g} s", click_p95[w][20] < 1.0

    goal_columns = ["goal", "target", "measured", "met"] + [c for w in configs[1:] for c in
                                                            (f"measured, {_label(w)}", f"met, {_label(w)}")]
    goal_rows = []
    for key, n in (("errors_100", 100), ("errors_300", 300)):
        goal_rows.append([f"no error at {n} sessions", GOALS[key], *errors_cell(workers, n),
                          *[c for w in configs[1:] for c in errors_cell(w, n)]])
    goal_rows.append(["click -> neighbour panel, p95 of server time at 20 sessions", GOALS["click_p95"],
                      *click_cell(workers), *[c for w in configs[1:] for c in click_cell(w)]])
    goal_rows.append(["memory per idle session", GOALS["idle_mb"], f"{idle_mb[workers]:.3g} MB",
                      idle_mb[workers] < 5.0,
                      *[c for w in configs[1:] for c in (f"{idle_mb[w]:.3g} MB", idle_mb[w] < 5.0)]])
    not_run = [c for w in configs[1:] for c in ("not run", "n/a")]
    if soak_result is not None:
        goal_rows.append([f"soak RSS ({soak_result['minutes']:g} min; the goal is stated for 30 min)", GOALS["soak"],
                          f"{soak_change:+.3g} %", abs(soak_change) <= 10.0, *not_run])
    if kill is not None:
        goal_rows.append(["one worker killed mid-load: its sessions back", GOALS["back"],
                          f"{back_max:.3g} s (max of {dropped} dropped)", dropped > 0 and back_max < 5.0, *not_run])
        goal_rows.append(["one worker killed mid-load: no job lost", GOALS["lost"], f"{lost} lost of {dropped}",
                          dropped > 0 and lost == 0, *not_run])
    tables.insert(0, Table(
        "Load goals", goal_columns, goal_rows,
        note=(f"Through the proxy (nginx, sign-in, sticky by cookie) on this 2-core machine: measured and met with "
              f"{_label(workers)} (the goals' setting)"
              + (f", and beside them with {', '.join(_label(w) for w in configs[1:])}" if len(configs) > 1 else "")
              + ". A job here is a session's script run: one cut by the kill counts as lost unless the session "
              "reconnected and completed it (background jobs of the queue run under their own supervisor, outside "
              "the workers, and are not part of this measure).")))
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
