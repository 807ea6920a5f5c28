"""Parameter constraints: the one vocabulary for checking a parameter and naming it when it is wrong.

The estimators, the configs, the job requests and the CLI's argument types
(:mod:`mmx_core.commands.argtypes`) all check values with :class:`Interval` and :class:`Choice`.
A value outside its constraint raises :class:`ParameterError`, whose message names the
parameter, the value received and what is allowed; the CLI names the parameter as its option
(``argument --batch-size: must be ...``).

Examples
--------
>>> Int(1).check("batch_size", 0)
Traceback (most recent call last):
...
mmx_core.base.constraints.ParameterError: batch_size=0: must be an integer >= 1
>>> Real(0, 1, high_open=True).check("dropout", 0.5)
0.5
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from mmx_core.base.errors import MMXError

__all__ = ["ParameterError", "Interval", "Int", "Real", "Choice", "check_params"]


class ParameterError(MMXError):
    """An invalid parameter value: ``param=value: must be <requirement>``; :attr:`param` names the parameter."""

    def __init__(self, param: str, value: Any, requirement: str):
        self.param, self.value, self.requirement = param, value, requirement
        super().__init__(f"{param}={value!r}: must be {requirement}")


def _num(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Interval:
    """Numbers from ``low`` to ``high`` (None: unbounded), bounds closed unless ``low_open`` / ``high_open``.

    ``integer`` admits integers only (never bools), otherwise any finite real number; ``none`` admits None too.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    none: bool = False

    def __str__(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            bound = f" in {'(' if self.low_open else '['}{_num(low)}, {_num(high)}{')' if self.high_open else ']'}"
        elif low is not None:
            bound = f" {'>' if self.low_open else '>='} {_num(low)}"
        elif high is not None:
            bound = f" {'<' if self.high_open else '<='} {_num(high)}"
        else:
            bound = ""
        return ("an integer" if self.integer else "a finite number") + bound + (" or None" if self.none else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
            return False
        return ((self.low is None or (value > self.low if self.low_open else value >= self.low))
                and (self.high is None or (value < self.high if self.high_open else value <= self.high)))

    def check(self, name: str, value: Any) -> Any:
        """``value`` unchanged; :class:`ParameterError` naming ``name`` when outside the interval."""
        if not self.accepts(value):
            raise ParameterError(name, value, str(self))
        return value


def Int(low: int | None = None, high: int | None = None, *, none: bool = False) -> Interval:
    """Integers in ``[low, high]`` (None when ``none``)."""
    return Interval(low, high, integer=True, none=none)


def Real(low: float | None = None, high: float | None = None, *, low_open: bool = False, high_open: bool = False,
         none: bool = False) -> Interval:
    """Finite numbers between ``low`` and ``high`` (None when ``none``)."""
    return Interval(low, high, low_open, high_open, none=none)


@dataclass(frozen=True)
class Choice:
    """One of ``options``."""

    options: tuple

    def __str__(self) -> str:
        return f"one of {list(self.options)}"

    def check(self, name: str, value: Any) -> Any:
        try:
            ok = value in self.options
        except TypeError:  # an unhashable value against a set or dict of options
            ok = False
        if not ok:
            raise ParameterError(name, value, str(self))
        return value


def check_params(obj, **constraints: Interval | Choice):
    """``obj`` once each named attribute meets its constraint (in the order given); else :class:`ParameterError`."""
    for name, constraint in constraints.items():
        constraint.check(name, getattr(obj, name))
    return obj
