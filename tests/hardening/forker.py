"""A process that imports the CLI once, then forks one child per command (fault-injection tests).

Starting ``python -m mmx_core`` costs seconds of imports (torch, scikit-learn) on this machine; the
fault tests start many commands and kill them at chosen moments of their work, so they ask this
process instead: it imports :mod:`mmx_core.cli` and builds its parser once and computes nothing (GNU
OpenMP, which torch and scikit-learn use, refuses a fork once its threads exist), then for each request forks a child that runs ``mmx_core.cli.main(argv)``,
exactly what ``python -m mmx_core ARGV`` runs, with the given environment, its output sent through
pipes into files (so a file-size limit never cuts the error message) and, optionally, a file-size
limit (``RLIMIT_FSIZE``: writes past it fail with EFBIG, as on a full disk).

Protocol (one JSON object per line on stdin, one reply per line on stdout):
``{"run": argv, "env": {...}, "out": path, "err": path, "fsize": bytes or null}`` -> ``{"pid": pid}``;
``{"wait": pid}`` -> ``{"code": exit code (negative: killed by that signal)}``.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import traceback


def child(request: dict, out_fd: int, err_fd: int) -> None:
    os.setsid()
    os.environ.update(request.get("env") or {})
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    if request.get("fsize"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    from mmx_core.cli import main

    code = 1
    try:
        code = main(request["run"])
    except SystemExit as exc:                            # argparse errors, sys.exit in a command
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:                                # what the interpreter would print, then exit 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def drain(pid: int, pipes: dict[int, str]) -> int:
    """Copy the child's output pipes into their files until it has exited; its exit code."""
    files = {fd: open(path, "ab") for fd, path in pipes.items()}
    status = None
    while files:
        ready, _, _ = select.select(list(files), [], [], 0.2)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                files[fd].write(data)
            else:
                files.pop(fd).close()
                os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def serve() -> None:
    import torch

    torch.set_num_threads(1)
    from mmx_core.cli import build_parser

    build_parser()                                      # imports every command module
    print(json.dumps({"ready": os.getpid()}), flush=True)
    running: dict[int, dict[int, str]] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
            pid = os.fork()
            if pid == 0:
                child(request, out_w, err_w)
            os.close(out_w)
            os.close(err_w)
            for path in (request["out"], request["err"]):
                open(path, "wb").close()
            running[pid] = {out_r: request["out"], err_r: request["err"]}
            reply = {"pid": pid}
        else:
            reply = {"code": drain(request["wait"], running.pop(request["wait"]))}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve()
