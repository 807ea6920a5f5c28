"""Shared command-line options: range-checked argparse types and the options several commands define alike.

``parser.add_argument("--batch-size", type=int_in(1), ...)`` makes ``--batch-size 0`` end as
``error: argument --batch-size: must be an integer >= 1, got '0'`` (exit 2), never a traceback
deep in the library. :func:`option_type` turns any :class:`~mmx_core.base.constraints.Interval`
(a config's own constraint) into such a type; numbers are always finite (no NaN, no infinities).
:func:`add_data`, :func:`add_device` and :func:`add_precision` add the options that read the same everywhere;
:func:`add_command` adds a command's own parser.
"""

from __future__ import annotations

import argparse
from typing import Callable

from mmx_core.base.constraints import Int, Interval, Real
from mmx_core.base.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DEVICES, PRECISION_HELP, PRECISIONS

__all__ = ["option_type", "int_in", "float_in", "SEED", "THREADS", "add_command", "add_data", "add_device",
           "add_precision"]


def option_type(interval: Interval) -> Callable[[str], int | float]:
    """An argparse ``type`` accepting what ``interval`` accepts (an integer option when it is integral)."""

    def parse(value: str):
        try:
            number = int(value, 10) if interval.integer else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not interval.accepts(number):
            raise argparse.ArgumentTypeError(f"must be {interval}, got {value!r}")
        return number

    parse.__name__ = "integer" if interval.integer else "number"  # argparse names the type in its own messages
    return parse


def int_in(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[low, high]`` (either bound may be None)."""
    return option_type(Int(low, high))


def float_in(low: float | None = None, high: float | None = None, *, low_open: bool = False,
             high_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in the range (closed bounds unless ``low_open`` / ``high_open``)."""
    return option_type(Real(low, high, low_open=low_open, high_open=high_open))


SEED = int_in(0, 2 ** 32 - 1)
"""Random seeds: what numpy's legacy seeding and every other generator of the project accept."""

THREADS = int_in(1, 1024)
"""CPU threads."""


def add_command(subparsers, name: str, run: Callable[[argparse.Namespace], int | None], **kwargs):
    """The parser of the command ``name`` (``kwargs``: its help and description), set to call ``run(args)``."""
    parser = subparsers.add_parser(name, **kwargs)
    parser.set_defaults(func=run)
    return parser


def add_data(parser, help: str = "trailer data set folder") -> None:
    """``--data``, the (required) trailer data set folder."""
    parser.add_argument("--data", required=True, help=help)


def add_device(parser, default: str = DEFAULT_DEVICE,
               help: str = "auto: a CUDA GPU when torch sees one, else the CPU") -> None:
    """``--device``: where torch runs."""
    parser.add_argument("--device", choices=DEVICES, default=default, help=help)


def add_precision(parser, note: str = "") -> None:
    """``--precision``: what the model computes in (``note`` is appended to the help)."""
    parser.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION, help=PRECISION_HELP + note)
