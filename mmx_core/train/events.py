"""A run's progress on disk: RUN_DIR/events.jsonl and RUN_DIR/status.json (docs/interfaces.md)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mmx_core.base.artefacts import write_json

__all__ = ["RunRecorder"]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RunRecorder:
    """Appends events to ``events.jsonl`` and rewrites ``status.json`` atomically.

    Parameters
    ----------
    run_dir : Path
    stage : str
    epochs : int
    enabled : bool
        False on DDP ranks other than 0 (every call is then a no-op).
    """

    def __init__(self, run_dir: str | Path, stage: str, epochs: int, enabled: bool = True) -> None:
        self.run_dir, self.stage, self.epochs, self.enabled = Path(run_dir), stage, epochs, enabled
        self.status_fields: dict[str, Any] = {"epoch": 0, "progress": 0.0, "eta_s": None, "best_checkpoint": None,
                                              "message": ""}

    def event(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        record = {"time": _now(), "event": event, "stage": self.stage, "epochs": self.epochs, **fields}
        with open(self.run_dir / "events.jsonl", "a") as handle:
            handle.write(json.dumps(record, default=_plain) + "\n")
            handle.flush()

    def status(self, state: str, **fields: Any) -> None:
        if not self.enabled:
            return
        self.status_fields.update(fields)
        record = {"state": state, "pid": os.getpid(), "stage": self.stage, "epochs": self.epochs,
                  **self.status_fields, "updated": _now()}
        write_json(self.run_dir / "status.json", record)

    def failed(self, message: str) -> None:
        """Record that the run stopped: an ``error`` event and a ``failed`` status, both with ``message``."""
        self.event("error", message=message)
        self.status("failed", message=message)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
