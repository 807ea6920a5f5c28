"""The reliability document's cases and threat model name tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

from testing import reliability_cases, threat_model

ROOT = Path(__file__).resolve().parents[1]


def _named_tests() -> list[str]:
    return ([test for _, test, _ in reliability_cases.CASES + reliability_cases.SERVING_AND_FAULT_CASES]
            + [test for threat in threat_model.THREATS for test in threat.tests])


def test_every_case_and_threat_names_a_test_function_that_exists():
    missing = []
    for test in _named_tests():
        file, name = test.split("::")
        source = (ROOT / file).read_text()
        if not re.search(rf"^def {re.escape(name)}\(", source, re.M):
            missing.append(test)
    assert not missing


def test_an_open_surface_names_the_issue_that_takes_it():
    for threat in threat_model.THREATS:
        assert threat.tests or re.search(r"issue \d+", threat.guard), threat.surface
