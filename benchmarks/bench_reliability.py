"""What is tried against MMX Explorer and how it held: writes the generated block of docs/reliability.md.

Runs the hardening tests (``tests/hardening/``) with pytest's junit report and reads from it the
outcome of every test, the kill points the fault-injection tests recorded (``record_property``:
``kill_points``) and its duration. The defect classes and what each test tries come from
``benchmarks/reliability_cases.py`` (``CASES``: (defect class, test, what is tried)) and, for serving and
fault injection, :data:`SERVING_AND_FAULT_CASES` here.
The load figures are quoted in docs/reliability.md's prose through includes of docs/benchmarks.md's
``load`` block (``python -m benchmarks load`` measures them).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmarks.harness import Table

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"          # this benchmark's block goes here, not into benchmarks.md
TESTS = "tests/hardening"


def run_hardening_tests(quick: bool = False) -> dict[str, dict]:
    """Run the hardening tests; ``{test name: {"outcome", "seconds", "file", "properties"}}``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        argv = [sys.executable, "-m", "pytest", TESTS, "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                "-o", "junit_family=legacy"]
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root = ET.parse(report).getroot()
    results = {}
    for case in root.iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        results[case.get("name")] = {"outcome": outcome, "seconds": float(case.get("time") or 0.0),
                                     "file": (case.get("classname") or "").rsplit(".", 1)[-1],
                                     "properties": properties}
    return results


def _outcome(results: dict, test: str) -> str:
    """Outcome of ``test`` (a name, a parametrised name's stem, or ``file::name``) over all its cases."""
    name = test.split("::")[-1]
    found = [r["outcome"] for key, r in results.items() if key == name or key.startswith(name + "[")]
    if not found:
        return "not run (test not found)"
    bad = [o for o in found if o != "passed"]
    return f"{len(found) - len(bad)}/{len(found)} passed" if len(found) > 1 else found[0] if not bad else bad[0]


_H = TESTS + "/"
SERVING_AND_FAULT_CASES: list[tuple[str, str, str]] = [
    ("serving beyond localhost", _H + "test_serving.py::test_beyond_localhost_without_a_password_every_page_refuses",
     "every page on 0.0.0.0 with no password or OIDC configured: one refusal, no widget, no data"),
    ("serving beyond localhost", _H + "test_serving.py::test_beyond_localhost_the_password_is_asked_first",
     "a wrong password, then the right one ([auth] password in secrets)"),
    ("serving beyond localhost", _H + "test_serving.py::test_the_password_may_come_from_the_environment",
     "MMX_PASSWORD on a LAN address"),
    ("serving beyond localhost", _H + "test_serving.py::test_on_loopback_nothing_is_asked",
     "127.0.0.1: the page renders with no sign-in"),
    ("serving beyond localhost", _H + "test_serving.py::test_loopback_addresses",
     "which addresses count as loopback (empty: every interface)"),
    ("folders outside the roots", _H + "test_serving.py::test_inputs_are_read_only_under_the_allowed_roots",
     "/etc, '..', a symbolic link out of the data folder: refused by check_folder, import and extraction requests"),
    ("error details and upload size", _H + "test_serving.py::test_server_settings_hide_errors_and_match_the_upload_limit",
     "showErrorDetails is 'none'; maxUploadSize equals the library's upload limit"),
    ("kill -9", _H + "test_faults.py::test_import_killed_anywhere_then_rerun_equals_an_unbroken_import",
     "import-mmx killed at seeded points, run again: same bytes as an unbroken import"),
    ("kill -9", _H + "test_faults.py::test_train_killed_anywhere_then_resumed_equals_an_unbroken_run",
     "train killed at seeded points, resumed: same weights as an unbroken run"),
    ("kill -9", _H + "test_faults.py::test_precompute_killed_anywhere_then_rerun_equals_an_unbroken_run",
     "precompute killed, run again: same cache entries, none half-written"),
    ("kill -9", _H + "test_faults.py::test_extract_killed_anywhere_then_resumed_equals_an_unbroken_run",
     "extract killed at seeded points, resumed: same features as an unbroken run"),
    ("full disk", _H + "test_faults.py::test_import_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set",
     "import-mmx --overwrite under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_train_on_a_full_disk_fails_in_one_line_and_keeps_the_checkpoints",
     "train --resume under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_precompute_on_a_full_disk_fails_in_one_line_and_keeps_the_cache",
     "precompute of a larger set into a filled cache under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_extract_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set",
     "extract --overwrite under a file-size limit"),
    ("damaged cache", _H + "test_faults.py::test_a_truncated_or_unrecorded_cache_entry_is_computed_again",
     "a cache entry cut in half, one byte changed, its JSON missing: computed again"),
    ("damaged cache", _H + "test_faults.py::test_two_writers_of_one_cache_entry_compute_it_once",
     "three writers of one cache entry at once: computed once"),
]


def _cases() -> list[tuple[str, str, str]]:
    """The hostile-input cases (benchmarks/reliability_cases.py), then the serving and fault-injection ones."""
    try:
        module = importlib.import_module("benchmarks.reliability_cases")
    except ModuleNotFoundError:
        module = None
    return list(getattr(module, "CASES", [])) + SERVING_AND_FAULT_CASES


def run(quick: bool = False) -> list[Table]:
    results = run_hardening_tests(quick)
    tables = []
    cases = _cases()
    defects = Table("Defect classes", ["defect class", "test", "what is tried", "outcome"],
                    note="Cases from benchmarks/reliability_cases.py (hostile input) and this module (serving, "
                         "faults); the outcome is this run's.")
    for defect, test, tried in cases:
        defects.rows.append([defect, f"`{test}`", tried, _outcome(results, test)])
    tables.append(defects)

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

    full = Table("Full disk during each writer", ["test", "outcome", "seconds"],
                 note="A file-size limit (RLIMIT_FSIZE) makes writes fail as on a full disk: one 'error:' line, a "
                      "non-zero exit, the previous artefact byte-for-byte unchanged.")
    for name, result in results.items():
        if "full_disk" in name:
            full.rows.append([f"`{name}`", result["outcome"], result["seconds"]])
    tables.append(full)

    fuzz = Table("Fuzz runs", ["test", "what is tried", "outcome"],
                 note="Property-based (hypothesis) runs of every loader: never a traceback, never a hang, always "
                      "one line naming the file. Counts from benchmarks/reliability_cases.py, which the tests read.")
    for defect, test, tried in cases:
        if defect == "loader fuzzing":
            fuzz.rows.append([f"`{test.split('::')[-1]}`", tried, _outcome(results, test)])
    tables.append(fuzz)

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
