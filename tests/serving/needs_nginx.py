"""Tests that need nginx skip without it, unless ``MMX_REQUIRE_NGINX=1`` (CI), where they fail instead."""

from __future__ import annotations

import os

import pytest

from mmx_core.base.errors import MMXError
from mmx_core.serving.nginx import find_nginx


def require_nginx() -> str:
    """The nginx executable; skips the test (fails it under ``MMX_REQUIRE_NGINX=1``) when there is none."""
    try:
        return find_nginx()
    except MMXError as exc:
        if os.environ.get("MMX_REQUIRE_NGINX") == "1":
            pytest.fail(f"{exc} and MMX_REQUIRE_NGINX=1")
        pytest.skip(str(exc))
