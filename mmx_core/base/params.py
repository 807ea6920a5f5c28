"""A small base for estimator-like classes: parameters read from the constructor's signature.

Following scikit-learn's convention, an estimator's constructor only stores its
keyword arguments, each as an attribute of the same name. :class:`Params` then
gives, from that signature alone:

- :meth:`~Params.get_params`: the parameters of an instance (a cache key, a record);
- :meth:`~Params.defaults`: the parameters of a default instance, the one place CLI
  options and app widgets read their defaults from;
- :meth:`~Params.set_params`: a copy-free update of some parameters;
- ``repr``: the class name and the parameters that differ from the defaults.

Subclasses check their parameters in :meth:`~Params.validate`, which the fitting
methods call once (and callers may call before computing anything).
"""

from __future__ import annotations

import inspect
from typing import Any

from mmx_core.base.errors import MMXError

__all__ = ["Params"]


class Params:
    """Base class giving ``get_params``, ``defaults``, ``set_params`` and ``repr``.

    Every constructor parameter must be a keyword with a default, stored unchanged
    as an attribute of the same name (no ``*args`` / ``**kwargs``).

    Examples
    --------
    >>> class Smoother(Params):
    ...     def __init__(self, width: int = 3, mode: str = "mean"):
    ...         self.width = width
    ...         self.mode = mode
    >>> Smoother(width=5)
    Smoother(width=5)
    >>> Smoother.defaults()
    {'width': 3, 'mode': 'mean'}
    """

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """Constructor parameter names, in signature order."""
        return tuple(cls._signature())

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Default value of every constructor parameter, in signature order."""
        return {name: p.default for name, p in cls._signature().items()}

    @classmethod
    def _signature(cls) -> dict[str, inspect.Parameter]:
        found = {}
        for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
                raise TypeError(f"{cls.__name__}.__init__ parameter {name!r} must be a keyword with a default "
                                "for Params (no *args/**kwargs)")
            found[name] = p
        return found

    def get_params(self) -> dict[str, Any]:
        """The instance's parameters: ``{name: value}`` in signature order."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params) -> "Params":
        """Change some parameters; returns self. Unknown names raise :class:`MMXError`."""
        unknown = sorted(set(params) - set(self.param_names()))
        if unknown:
            raise MMXError(f"{type(self).__name__} has no parameter {', '.join(unknown)}; "
                           f"parameters: {', '.join(self.param_names())}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def validate(self) -> "Params":
        """Check the parameters (raise :class:`MMXError` naming the bad one); returns self.

        The base class accepts everything; subclasses override it.
        """
        return self

    def __repr__(self) -> str:
        defaults = self.defaults()
        shown = [f"{name}={value!r}" for name, value in self.get_params().items()
                 if not _same(value, defaults[name])]
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same kind (so ``seed=True`` is not shown as the default ``seed=1``)."""
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return a is b
