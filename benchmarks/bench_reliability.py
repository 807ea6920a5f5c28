"""What is tried against MMX Explorer and how it held: writes the generated block of docs/reliability.md.

Runs the hardening tests (``tests/hardening/``) with pytest's junit report and reads from it the
outcome of every test, the kill points the fault-injection tests recorded (``record_property``:
``kill_points``) and its duration. The defect classes and what each test tries come from
``testing/reliability_cases.py`` (``CASES``: (defect class, test, what is tried)) and, for serving and
fault injection, ``SERVING_AND_FAULT_CASES`` there, and the threat model (``THREATS`` in ``testing/threat_model.py``).
The load figures are quoted in docs/reliability.md's prose through includes of docs/benchmarks.md's
``load`` block (``python -m benchmarks load`` measures them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmarks.harness import Table
from testing import reliability_cases, threat_model

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"          # this benchmark's block goes here, not into benchmarks.md
TESTS = "tests/hardening"


def run_hardening_tests(also: list[str] = ()) -> dict[str, dict]:
    """Run the hardening tests and the files in ``also``; ``{test name: {"outcome", "seconds", "file", "properties"}}``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        extra = [f for f in also if not f.startswith(TESTS + "/")]
        argv = [sys.executable, "-m", "pytest", TESTS, *extra, "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                "-o", "junit_family=legacy"]
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root = ET.parse(report).getroot()
    results = {}
    for case in root.iter("testcase"):
        outcome = next((word for tag, word in (("skipped", "skipped"), ("error", "error"), ("failure", "failed"))
                        if case.find(tag) is not None), "passed")
        results[case.get("name")] = {"outcome": outcome, "seconds": float(case.get("time") or 0.0),
                                     "file": (case.get("classname") or "").rsplit(".", 1)[-1],
                                     "properties": {p.get("name"): p.get("value") for p in case.iter("property")}}
    return results


def _outcome(results: dict, test: str) -> str:
    """Outcome of ``test`` (a name, a parametrised name's stem, or ``file::name``) over all its cases."""
    name = test.split("::")[-1]
    found = [r["outcome"] for key, r in results.items() if key == name or key.startswith(name + "[")]
    if not found:
        return "not run (test not found)"
    bad = [o for o in found if o != "passed"]
    return f"{len(found) - len(bad)}/{len(found)} passed" if len(found) > 1 else found[0] if not bad else bad[0]


def _all_passed(outcome: str) -> bool:
    """True for ``passed`` and ``N/N passed`` (every parametrised case)."""
    return outcome == "passed" or re.fullmatch(r"(\d+)/\1 passed", outcome) is not None


def _threat_model(results: dict) -> Table:
    """Each surface, what can go wrong, what stops it, and this run's outcome of the tests that show it."""
    rows = []
    for threat in threat_model.THREATS:
        outcomes = [_outcome(results, test) for test in threat.tests]
        passed = sum(_all_passed(o) for o in outcomes)
        rows.append([threat.surface, threat.risk, threat.guard,
                     "<br>".join(f"`{t.split('::')[-1]}`" for t in threat.tests) or "none yet",
                     f"{passed}/{len(outcomes)} tests passed" if outcomes else "open"])
    return Table("Threat model", ["surface", "what can go wrong", "what stops it", "tests", "outcome"], rows,
                 note="From testing/threat_model.py (THREATS). A surface with no test is open: its "
                      "'what stops it' names the issue that takes it.")


def run(quick: bool = False) -> list[Table]:
    results = run_hardening_tests(threat_model.test_files())
    cases = list(reliability_cases.CASES) + reliability_cases.SERVING_AND_FAULT_CASES  # hostile input, then the rest
    defects = Table("Defect classes", ["defect class", "test", "what is tried", "outcome"],
                    [[defect, f"`{test}`", tried, _outcome(results, test)] for defect, test, tried in cases],
                    note="Cases from testing/reliability_cases.py (hostile input, serving, faults); the "
                         "outcome is this run's.")
    tables = [_threat_model(results), defects]

    kills = Table("Kill -9 at seeded random points", ["test", "point", "seconds after the first file", "killed",
                                                      "what it left", "outcome"],
                  note="SIGKILL to the writer's process group at moments drawn (seeded) over an unbroken run's "
                       "duration; then the same command again (with --resume where the writer has one), compared "
                       "with the unbroken run. 'complete before the kill': the data set was already in place "
                       "(renamed there last) and the command run again refused it in one line.")
    for name, result in results.items():
        points = json.loads(result["properties"].get("kill_points", "[]"))
        for i, point in enumerate(points, 1):
            left = point.get("after", "run again") if point["killed"] else "finished before the kill point"
            kills.rows.append([f"`{name}`", i, point["delay_s"], "yes" if point["killed"] else "no", left,
                               result["outcome"]])
    tables.append(kills)

    tables.append(Table("Full disk during each writer", ["test", "outcome", "seconds"],
                        [[f"`{name}`", result["outcome"], result["seconds"]] for name, result in results.items()
                         if "full_disk" in name],
                        note="A file-size limit (RLIMIT_FSIZE) makes writes fail as on a full disk: one 'error:' "
                             "line, a non-zero exit, the previous artefact byte-for-byte unchanged."))
    tables.append(Table("Fuzz runs", ["test", "what is tried", "outcome"],
                        [[f"`{test.split('::')[-1]}`", tried, _outcome(results, test)] for defect, test, tried in cases
                         if defect == "loader fuzzing"],
                        note="Property-based (hypothesis) runs of every loader: never a traceback, never a hang, "
                             "always one line naming the file. Counts from testing/reliability_cases.py, which the "
                             "tests read."))

    by_file: dict[str, list] = {}
    for result in results.values():
        by_file.setdefault(result["file"], []).append(result)
    summary = Table("All hardening tests", ["file", "tests", "passed", "failed or error", "skipped", "seconds"])
    for file, items in sorted(by_file.items()):
        outcomes = [r["outcome"] for r in items]
        summary.rows.append([f"`{file}.py`", len(items), outcomes.count("passed"),
                             outcomes.count("failed") + outcomes.count("error"), outcomes.count("skipped"),
                             round(sum(r["seconds"] for r in items), 1)])
    tables.append(summary)
    return tables
