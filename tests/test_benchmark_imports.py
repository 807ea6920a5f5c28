"""The benchmarks run outside pytest (``python -m benchmarks``): each module imports there, and the app benchmark
finds the browser tests' helpers without the paths pytest adds."""

from __future__ import annotations

import os
import subprocess
import sys

from mmx_core.base.paths import PROJECT_ROOT

IMPORT_ALL = """
import importlib, pkgutil
import benchmarks
for module in pkgutil.walk_packages(benchmarks.__path__, "benchmarks."):
    importlib.import_module(module.name)
from benchmarks.bench_app import browser_helpers
helpers = browser_helpers()
assert callable(helpers.start_server) and callable(helpers.wait_idle)
"""


def test_every_benchmark_module_and_the_browser_helpers_import_outside_pytest():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
