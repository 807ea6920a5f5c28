"""The load benchmark's tables: script runs, memory, the soak, the killed worker, and the goals against them."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from benchmarks.harness import Table
from benchmarks.load.kill import RECONNECT_SECONDS
from benchmarks.load.scenario import RUN_TIMEOUT, STEPS, Outcome, error_count

GOALS = {"errors_100": "0 at 100 sessions", "errors_300": "0 at 300 sessions", "click_p95": "< 1 s at 20 sessions",
         "idle_mb": "< 5 MB", "soak": "RSS flat within 10%", "back": "< 5 s", "lost": "0 lost"}
NAN = float("nan")


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p95 and max of ``values`` (NaN for none)."""
    if not values:
        return NAN, NAN, NAN
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95, ordered[-1]


def first_errors(outcomes: list[Outcome], limit: int = 3) -> str:
    seen = Counter(error for outcome in outcomes for error in outcome.errors)
    return "; ".join(f"{e} (x{c})" for e, c in list(seen.items())[:limit]) or "-"


def label(workers: int) -> str:
    return f"{workers} worker{'s' if workers != 1 else ''}"


def _joined(values, fmt="{:.3g}") -> str:
    return " / ".join(fmt.format(v) for v in values)


@dataclass
class Measured:
    """What the goals are checked against, per worker count (filled while the tables are built)."""

    # workers -> sessions -> the sessions' outcomes, and the p95 seconds of their clicks
    errors_at: dict[int, dict[int, list[Outcome]]] = field(default_factory=lambda: defaultdict(dict))
    click_p95: dict[int, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))
    idle_mb: dict[int, float] = field(default_factory=dict)
    soak: tuple[float, float] | None = None          # (minutes, change %)
    kill: tuple[float, int, int] | None = None       # (slowest back s, dropped, lost)


def _runs_table(all_results: dict[int, dict], configs: list[int]) -> Table:
    labels = [label(w) for w in configs]
    warm = {w: all_results[w]["warm"] for w in configs}      # (outcomes, seconds)
    warm_text = "; ".join(f"{label(w)}: {len(warm[w][0])} session(s), {warm[w][1]:.1f} s, "
                          f"{error_count(warm[w][0])} errors" for w in configs)
    columns = ["sessions", "step"]
    for name in labels:
        columns += [f"runs, {name}", f"errors, {name}", f"p50 s, {name}", f"p95 s, {name}", f"max s, {name}"]
    columns += [f"wall s (all sessions), {' / '.join(labels)}", f"workers' CPU s per run, {' / '.join(labels)}",
                f"client CPU s, {' / '.join(labels)}", f"load average before, {' / '.join(labels)}"]
    return Table(
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


def _step_cells(result: dict | None, step: str, w: int, measured: Measured) -> list:
    """Runs, errors, p50, p95 and max of ``step`` ("all": every step) in one concurrent result."""
    if result is None:
        return ["not run"] + [""] * 4
    outcomes = result["outcomes"]
    measured.errors_at[w][result["n"]] = outcomes
    times = [s for o in outcomes for name, s in o.times if step in ("all", name)]
    p50, p95, worst = quantiles(times)
    if step == "click a trailer":
        measured.click_p95[w][result["n"]] = p95
    step_errors = error_count(outcomes) if step == "all" else sum(
        e.startswith(step) for o in outcomes for e in o.errors)
    return [len(times), step_errors, p50, p95, worst]


def _concurrent_tables(all_results: dict[int, dict], configs: list[int], sizes: tuple[int, ...],
                       measured: Measured) -> tuple[Table, Table]:
    runs_table = _runs_table(all_results, configs)
    memory_table = Table(
        "Workers' memory with N sessions open",
        ["workers", "sessions", "RSS before MB", "RSS with sessions open (idle after scenario) MB",
         "growth per session MB", "peak RSS during runs MB", "RSS after all closed MB"],
        note=("RSS summed over the worker processes (/proc/<pid>/status), read 4 s after the last run (and after "
              "closing). Growth per session includes what the allocator kept from N concurrent script runs "
              "(figures, JSON), not only what the idle sessions hold; the idle-session table (measured before this "
              "one, right after the warm-up) runs few sessions at a time to separate the two."))
    by_n = {w: {r["n"]: r for r in all_results[w]["concurrent"]} for w in configs}
    for n in sizes:
        for step in (*STEPS, "all"):
            row: list = [n, step]
            for w in configs:
                row += _step_cells(by_n[w].get(n), step, w, measured)
            present = [by_n[w][n] for w in configs if n in by_n[w]]
            if step == "all":
                row += [_joined(r["wall"] for r in present),
                        _joined(r["server_cpu"] / max(r["runs"], 1) for r in present),
                        _joined(r["client_cpu"] for r in present), _joined(r["load"] for r in present)]
            else:
                row += ["", "", "", ""]
            runs_table.rows.append(row)
    for w in configs:
        for n in sizes:
            if (result := by_n[w].get(n)) is not None:
                memory_table.rows.append([w, n, result["rss0"], result["rss1"], (result["rss1"] - result["rss0"]) / n,
                                          result["peak"], result["rss2"]])
    error_notes = [f"{label(w)}, {n} sessions: {first_errors(o)}" for w in configs
                   for n, o in measured.errors_at[w].items() if any(x.errors for x in o)]
    if error_notes:
        runs_table.note += " Errors seen: " + " | ".join(error_notes) + "."
    if 300 not in sizes:
        runs_table.note += f" Measured at {', '.join(map(str, sizes))} sessions only (--quick)."
    return runs_table, memory_table


def _idle_table(all_results: dict[int, dict], configs: list[int], measured: Measured) -> Table:
    table = Table(
        "Memory per idle session",
        ["workers", "sessions", "running at once", "RSS before MB", "RSS with all open MB", "per idle session MB",
         "RSS after closing MB", "errors"],
        note=("RSS summed over the worker processes. Each session ran the scenario (so it holds a selection, a "
              "trailer card and the Compare page's state) and stayed open; few ran at once, so the growth is what "
              "the open sessions hold. Measured right after the warm-up, before the concurrent runs (whose freed "
              "heap would hide it)."))
    for w in configs:
        idle = all_results[w]["idle"]
        measured.idle_mb[w] = (idle["rss1"] - idle["rss0"]) / idle["m"]
        table.rows.append([w, idle["m"], idle["at_once"], idle["rss0"], idle["rss1"], measured.idle_mb[w],
                           idle["rss2"], idle["errors"]])
    return table


def _soak_table(soak: dict, workers: int, measured: Measured) -> Table:
    samples = soak["samples"]
    span = samples[-1][0] if samples else 0.0
    first = quantiles([mb for t, mb in samples if t <= span / 4])[0]       # the medians
    last = quantiles([mb for t, mb in samples if t >= 3 * span / 4])[0]
    change = 100 * (last - first) / first if first == first and first else NAN
    measured.soak = (soak["minutes"], change)
    outcomes = soak["outcomes"]
    times = [s for o in outcomes for _, s in o.times]
    p50, p95, worst = quantiles(times)
    return Table(
        f"Soak: {soak['minutes']:g} minutes of sessions opening and closing ({label(workers)})",
        ["minutes", "workers", "loops", "sessions", "script runs", "errors", "p50 s", "p95 s", "max s",
         "RSS first quarter MB (median)", "RSS last quarter MB (median)", "RSS max MB", "change %"],
        [[soak["minutes"], workers, soak["loops"], len(outcomes), len(times), error_count(outcomes), p50, p95, worst,
          first, last, max(mb for _, mb in samples), change]],
        note=(f"{soak['loops']} loops, each: sign in, open a session, run the scenario, close it, pause "
              "1-3 s; the workers' summed RSS sampled every 5 s. Change = last quarter's median RSS against the "
              "first quarter's."
              + (f" Errors seen: {first_errors(outcomes)}." if any(o.errors for o in outcomes) else "")))


def _kill_table(kill: dict, workers: int, measured: Measured) -> Table:
    recs = kill["recs"]
    back = [b - kill["killed"] for r in recs for b in r.back]
    dropped, lost = sum(len(r.drops) for r in recs), sum(r.lost for r in recs)
    back_max = max(back, default=NAN)
    measured.kill = (back_max, dropped, lost)
    errors = [e for r in recs for e in r.errors]
    p50, _, _ = quantiles(back)
    return Table(
        f"One worker killed mid-load ({label(workers)})",
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
              + (f" Other errors: {'; '.join(sorted(set(errors))[:3])}." if errors else "")))


def _goals_table(measured: Measured, configs: list[int]) -> Table:
    workers, others = configs[0], configs[1:]

    def errors_cell(w: int, n: int):
        if n not in measured.errors_at[w]:
            return "not measured", "n/a"
        count = error_count(measured.errors_at[w][n])
        return f"{count} errors", count == 0

    def click_cell(w: int):
        if 20 not in measured.click_p95[w]:
            return "not measured", "n/a"
        return f"{measured.click_p95[w][20]:.3g} s", measured.click_p95[w][20] < 1.0

    def idle_cell(w: int):
        return f"{measured.idle_mb[w]:.3g} MB", measured.idle_mb[w] < 5.0

    def row(goal: str, key: str, cell, *args) -> list:
        return [goal, GOALS[key], *cell(workers, *args), *[c for w in others for c in cell(w, *args)]]

    rows = [row(f"no error at {n} sessions", key, errors_cell, n) for key, n in (("errors_100", 100),
                                                                                  ("errors_300", 300))]
    rows.append(row("click -> neighbour panel, p95 of server time at 20 sessions", "click_p95", click_cell))
    rows.append(row("memory per idle session", "idle_mb", idle_cell))
    not_run = [c for w in others for c in ("not run", "n/a")]
    if measured.soak is not None:
        minutes, change = measured.soak
        rows.append([f"soak RSS ({minutes:g} min; the goal is stated for 30 min)", GOALS["soak"],
                     f"{change:+.3g} %", abs(change) <= 10.0, *not_run])
    if measured.kill is not None:
        back_max, dropped, lost = measured.kill
        rows.append(["one worker killed mid-load: its sessions back", GOALS["back"],
                     f"{back_max:.3g} s (max of {dropped} dropped)", dropped > 0 and back_max < 5.0, *not_run])
        rows.append(["one worker killed mid-load: no job lost", GOALS["lost"], f"{lost} lost of {dropped}",
                     dropped > 0 and lost == 0, *not_run])
    columns = ["goal", "target", "measured", "met"] + [c for w in others for c in
                                                       (f"measured, {label(w)}", f"met, {label(w)}")]
    return Table(
        "Load goals", columns, rows,
        note=(f"Through the proxy (nginx, sign-in, sticky by cookie) on this 2-core machine: measured and met with "
              f"{label(workers)} (the goals' setting)"
              + (f", and beside them with {', '.join(label(w) for w in others)}" if others else "")
              + ". A job here is a session's script run: one cut by the kill counts as lost unless the session "
              "reconnected and completed it (background jobs of the queue run under their own supervisor, outside "
              "the workers, and are not part of this measure)."))


def load_tables(all_results: dict[int, dict], sizes: tuple[int, ...], workers: int) -> list[Table]:
    """The goals, then script runs, idle memory and memory under load for each worker count, then the soak and
    the killed worker of the ``workers`` stack."""
    configs = [workers] + [w for w in all_results if w != workers]
    main, measured = all_results[workers], Measured()
    runs_table, memory_table = _concurrent_tables(all_results, configs, sizes, measured)
    tables = [runs_table, _idle_table(all_results, configs, measured), memory_table]
    if main["soak"] is not None:
        tables.append(_soak_table(main["soak"], workers, measured))
    if main["kill"] is not None:
        tables.append(_kill_table(main["kill"], workers, measured))
    return [_goals_table(measured, configs), *tables]
