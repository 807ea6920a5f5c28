"""Range-checked numeric options: argparse types that refuse a value outside its range with one line.

``parser.add_argument("--batch-size", type=int_in(1), ...)`` makes ``--batch-size 0`` end as
``error: argument --batch-size: must be an integer >= 1, got '0'`` (exit 2), never a traceback
deep in the library. :func:`float_in` refuses NaN and infinities as well.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

__all__ = ["int_in", "float_in", "SEED", "THREADS"]


def _num(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range_text(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_num(high)}"
    return "finite"


def int_in(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[low, high]`` (either bound may be None)."""
    text = "an integer " + _range_text(low, high) if (low, high) != (None, None) else "an integer"

    def parse(value: str) -> int:
        try:
            number = int(value, 10)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {text}, got {value!r}") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be {text}, got {value!r}")
        return number

    parse.__name__ = "integer"  # argparse names the type in its own messages
    return parse


def float_in(low: float | None = None, high: float | None = None, *, low_open: bool = False,
             high_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in the range (closed bounds unless ``low_open`` / ``high_open``)."""
    text = "a finite number" + ("" if (low, high) == (None, None) else " " + _range_text(low, high, low_open, high_open))

    def parse(value: str) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {text}, got {value!r}") from None
        bad = (not math.isfinite(number)
               or (low is not None and (number <= low if low_open else number < low))
               or (high is not None and (number >= high if high_open else number > high)))
        if bad:
            raise argparse.ArgumentTypeError(f"must be {text}, got {value!r}")
        return number

    parse.__name__ = "number"
    return parse


SEED = int_in(0, 2 ** 32 - 1)
"""Random seeds: what numpy's legacy seeding and every other generator of the project accept."""

THREADS = int_in(1, 1024)
"""CPU threads."""
