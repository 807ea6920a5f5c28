"""App tests: pages import ``pages.common`` from the project root, as ``streamlit run`` allows."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture
def tiny_data() -> str:
    """A tiny generated trailer data set ``data/tiny`` (24 trailers, small expert dims)."""
    from mmx_core.data import synthesize
    from mmx_core.base.paths import data_dir

    if not (data_dir() / "tiny").exists():
        synthesize(data_dir() / "tiny", 24, 0, dims={"image": 16, "scene": 16, "motion": 8, "audio": 4},
                   sequences=(1, 2))
    return "tiny"
