"""The command line: one module per subcommand under :mod:`mmx_core.commands`.

Each command module defines ``register(subparsers)``, which adds its parser and
sets ``func`` to a callable taking the parsed arguments and returning an exit
code (:class:`~mmx_core.base.errors.ExitCode`). :class:`MMXError` is printed as one line without a traceback; a
library error about a parameter the command has as an option names the option (:func:`error_line`). Every
command's ``--help`` shows each option's default (:class:`DefaultsFormatter`).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import pkgutil
import sys

from mmx_core import commands
from mmx_core.base.console import escaped_output
from mmx_core.base.constraints import ParameterError
from mmx_core.base.errors import ExitCode, MMXError, escape_control


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: ...)`` to each option's help, except for None / False defaults
    (an option's help says what leaving it out means) and help that already names it."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class CommandParser(argparse.ArgumentParser):
    """The parser of ``python -m mmx_core`` and of each subcommand: usage errors are one line (``PROG: error:
    MESSAGE``, exit code 2) without the usage block (``--help`` shows it); :class:`DefaultsFormatter` unless a
    command names another, and options given without help still show their default."""

    def __init__(self, *args, formatter_class=DefaultsFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if action.help is None and action.option_strings and action.default is not None \
                and action.default is not False and action.default is not argparse.SUPPRESS:
            action.help = "(default: %(default)s)"
        return action


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="python -m mmx_core", description="MMX Explorer pipeline steps.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code follows :class:`~mmx_core.base.errors.ExitCode`.

    Everything the command prints (stdout, stderr, log records) has its control characters escaped
    (:func:`~mmx_core.base.console.escaped_output`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    with escaped_output():
        return int(run_command(args))


def run_command(args) -> ExitCode:
    """``args.func(args)`` with the project's errors mapped onto the exit-code table, each in one line."""
    try:
        return ExitCode(int(args.func(args) or 0))
    except MMXError as exc:
        print(f"error: {error_line(exc, args)}", file=sys.stderr)
        return ExitCode.REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except OSError as exc:  # the disk, not the input: one line, what was saved before stays as it was
        print(f"error: {os_error_message(exc)}", file=sys.stderr)
        return ExitCode.FAILED_INPUTS


def error_line(exc: MMXError, args) -> str:
    """The error's message; a :class:`ParameterError` about a parameter that is one of the command's options is
    worded like argparse's own refusals (``argument --batch-size: must be ..., got 1``)."""
    if not isinstance(exc, ParameterError) or not hasattr(args, exc.param):
        return str(exc)
    option = ("-" if len(exc.param) == 1 else "--") + exc.param.replace("_", "-")
    return escape_control(f"argument {option}: must be {exc.requirement}, got {exc.value!r}")


FULL_DISK = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error (a full disk names what to do)."""
    where = f"{exc.filename}: " if exc.filename else ""
    what = exc.strerror or str(exc)
    if exc.errno in FULL_DISK:
        return (f"{where}{what} (no space left, or a file-size limit reached, while writing); free disk space "
                "and run the command again: files completed before are kept, nothing half-written is used")
    return f"{where}{what}"
