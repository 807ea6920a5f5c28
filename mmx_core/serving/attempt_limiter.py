"""Wrong-password limits per client address, in bounded memory, for the sign-in service.

After :data:`FREE_FAILURES` failures an address must wait a delay that doubles with each further failure,
up to :data:`MAX_DELAY`; an address whose last failure is older than :data:`FORGET_SECONDS` starts again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["FREE_FAILURES", "FIRST_DELAY", "MAX_DELAY", "FORGET_SECONDS", "MAX_ADDRESSES", "AttemptLimiter"]

FREE_FAILURES = 5
"""Wrong passwords an address may send before each further attempt must wait."""
FIRST_DELAY = 1.0
MAX_DELAY = 300.0
FORGET_SECONDS = 3600.0
"""An address whose last failure is this old starts again from zero."""
MAX_ADDRESSES = 10_000
"""The most addresses the limiter remembers (least recently failed dropped first)."""


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0


@dataclass
class AttemptLimiter:
    """Wrong-password limit per client address, in bounded memory.

    Parameters
    ----------
    free : int
        Failures allowed before a delay applies.
    first_delay, max_delay : float
        Seconds of the first delay; each further failure doubles it, up to ``max_delay``.
    max_addresses : int
        The most addresses remembered; the least recently failed is forgotten first.
    clock : callable
        Seconds, monotonic (tests pass a fake one).
    """

    free: int = FREE_FAILURES
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    max_addresses: int = MAX_ADDRESSES
    clock: Callable[[], float] = time.monotonic
    _table: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def wait(self, address: str) -> float:
        """Seconds ``address`` must still wait before its next attempt is checked (0: check it now)."""
        with self._lock:
            record = self._current(address)
            return max(0.0, record.until - self.clock()) if record else 0.0

    def failed(self, address: str) -> float:
        """Count a wrong password from ``address``; returns the delay it now has (0 while under ``free``)."""
        with self._lock:
            now = self.clock()
            record = self._current(address) or _Record()
            record.failures += 1
            record.last = now
            over = record.failures - self.free
            delay = min(self.max_delay, self.first_delay * 2 ** (over - 1)) if over > 0 else 0.0
            record.until = now + delay
            self._table[address] = record
            self._table.move_to_end(address)
            while len(self._table) > self.max_addresses:
                self._table.popitem(last=False)
            return delay

    def succeeded(self, address: str) -> None:
        """Forget ``address``'s failures (a signed-in visitor starts again from zero)."""
        with self._lock:
            self._table.pop(address, None)

    def __len__(self) -> int:
        return len(self._table)

    def _current(self, address: str) -> _Record | None:
        record = self._table.get(address)
        if record is not None and self.clock() - record.last > max(FORGET_SECONDS, self.max_delay):
            del self._table[address]
            return None
        return record
