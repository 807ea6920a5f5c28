"""The served stack: N Streamlit workers, the sign-in service and nginx in front, started and stopped together.

:func:`served` is the stack as a context manager (tests, benchmarks); ``python -m mmx_core serve`` runs it
until SIGTERM or SIGINT. A worker that dies is started again on its port, so its visitors' tabs reconnect.
:func:`sign_in` signs a client in through the proxy and returns the cookie to send.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from mmx_core.appkit.access import is_loopback
from mmx_core.base.constraints import Int
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.serving.edge_auth import COOKIE_NAME, EdgeAuth, load_password, load_secret, start_auth_server
from mmx_core.serving.nginx import ProxyPlan, first_error, nginx_command, write_config
from mmx_core.serving.workers import free_port, start_server, stop_server, wait_healthy

__all__ = ["Worker", "Stack", "served", "sign_in", "NO_PASSWORD"]

log = logging.getLogger(__name__)

APP_SCRIPT = "app.py"
READY_SECONDS = 90.0
WATCH_SECONDS = 0.5
RESTART_PAUSE = 2.0
"""A worker is started again at most this often (seconds), so one that fails at start does not spin."""
NGINX_STOP_SECONDS = 10.0
NO_PASSWORD = ("serve listens on {host}, beyond this machine, and no password is set: set [auth] password in "
               ".streamlit/secrets.toml or MMX_PASSWORD, or serve on 127.0.0.1")


@dataclass
class Worker:
    """One ``streamlit run`` process on 127.0.0.1:``port`` (``restarts`` counts how often it was started again)."""

    port: int
    process: subprocess.Popen
    restarts: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """A running stack: ``url`` is where visitors connect; ``workers``, ``nginx`` and ``run_dir`` for checks."""

    url: str
    run_dir: Path
    workers: list[Worker]
    nginx: subprocess.Popen
    auth: EdgeAuth
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)


def _local_url(host: str, port: int, tls: bool) -> str:
    """The URL this machine reaches the proxy at: the host itself, or for a loopback or every-interface host
    ``127.0.0.1`` (``localhost`` over HTTPS, the name a local certificate carries)."""
    bare = host.strip("[]")
    if is_loopback(bare) or bare in ("", "0.0.0.0", "::"):
        bare = "localhost" if tls else "127.0.0.1"
    shown = f"[{bare}]" if ":" in bare else bare
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _probe_context(tls: bool) -> ssl.SSLContext | None:
    """For the readiness probe of our own nginx on this machine: TLS without verifying the certificate
    (a real one names the public host, not the local address the probe uses)."""
    if not tls:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _wait_proxy(url: str, nginx: subprocess.Popen, context, seconds: float, run_dir: Path) -> None:
    """Wait until nginx answers at ``url`` (the sign-in form); one line naming nginx's error when it exits."""
    try:
        wait_healthy(url, nginx, seconds, path="/signin", context=context)
    except RuntimeError:
        raise MMXError(f"nginx exited with code {nginx.returncode}: {first_error(run_dir)}") from None
    except TimeoutError:
        raise MMXError(f"nginx did not answer at {url} within {seconds:.0f} s") from None


def _watch(stack: Stack, script: Path, cwd: Path, env: Mapping[str, str]) -> None:
    """Start again, on the same port, each worker that exits while the stack is up."""
    while not stack._stopping.wait(WATCH_SECONDS):
        for worker in stack.workers:
            crashed_at_start = time.monotonic() - worker.started < RESTART_PAUSE   # no tight crash loop
            if worker.process.poll() is not None and not crashed_at_start and not stack._stopping.is_set():
                log.warning("worker on port %d exited with code %s; starting it again", worker.port,
                            worker.process.returncode)
                stop_server(worker.process)               # any child it left in its group
                worker.process = start_server(script, worker.port, cwd, env=dict(env),
                                              log=stack.run_dir / f"worker-{worker.port}.log")
                worker.restarts += 1
                worker.started = time.monotonic()


@contextlib.contextmanager
def served(workers: int = 2, password: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
           cert: Path | None = None, key: Path | None = None, http_port: int | None = None,
           run_dir: Path | None = None, root: Path = PROJECT_ROOT, script: str = APP_SCRIPT,
           environ: Mapping[str, str] | None = None, ready_seconds: float = READY_SECONDS) -> Iterator[Stack]:
    """Run the whole stack while the ``with`` block runs; yields a :class:`Stack` (``stack.url``).

    Parameters
    ----------
    workers : int
        Streamlit processes behind the proxy (each on a free loopback port).
    password : str or None
        The sign-in password; None reads it as the app does (:func:`~mmx_core.serving.edge_auth.load_password`).
        An empty password admits everyone, allowed only on a loopback ``host``.
    host, port : str, int
        Where nginx listens (port 0: a free one on loopback).
    cert, key, http_port : Path, Path, int or None
        Serve HTTPS with this certificate chain and key; ``http_port`` then answers 301 to HTTPS.
    run_dir : Path or None
        Scratch folder for nginx's configuration, pid, logs and temporary files, the workers' logs and the
        cookie secret (None: a temporary folder removed on exit).
    root, script : Path, str
        The project folder the workers run in, and the app script.
    environ : mapping or None
        Environment for the password and secret (default: ``os.environ``); the workers inherit ``os.environ``.

    Raises
    ------
    MMXError
        No password beyond loopback, a bad worker count, nginx or a worker not starting.
    """
    environ = os.environ if environ is None else environ
    Int(1, 64).check("workers", workers)
    password = load_password(Path(root), environ) if password is None else password
    if not password and not is_loopback(host):
        raise MMXError(NO_PASSWORD.format(host=host or "every interface"))
    with contextlib.ExitStack() as cleanup:
        if run_dir is None:
            run_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mmx-serve-")))
        run_dir = Path(run_dir).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        auth = EdgeAuth(password=password, secret=load_secret(run_dir, environ))
        server = start_auth_server(auth)
        cleanup.callback(server.server_close)
        cleanup.callback(server.shutdown)
        procs = _start_workers(cleanup, workers, Path(root), script, run_dir)
        port = port or free_port()
        plan = ProxyPlan(host=host, port=port, worker_ports=tuple(w.port for w in procs),
                         auth_port=server.server_address[1], run_dir=run_dir, cert=cert, key=key,
                         http_port=http_port)
        write_config(plan)
        _wait_workers(procs, ready_seconds, run_dir)
        nginx = _start_nginx(cleanup, run_dir)
        url = _local_url(host, port, tls=cert is not None)
        _wait_proxy(url, nginx, _probe_context(cert is not None), ready_seconds, run_dir)
        stack = Stack(url=url, run_dir=run_dir, workers=procs, nginx=nginx, auth=auth)
        _start_watch(cleanup, stack, Path(root), script)
        yield stack


def _start_workers(cleanup: contextlib.ExitStack, n: int, root: Path, script: str, run_dir: Path) -> list[Worker]:
    """Start ``n`` Streamlit workers on free loopback ports; ``cleanup`` stops them."""
    procs: list[Worker] = []
    for _ in range(n):
        port = free_port()
        procs.append(Worker(port, start_server(root / script, port, root, log=run_dir / f"worker-{port}.log")))
        cleanup.callback(lambda worker=procs[-1]: stop_server(worker.process))  # the process it has by then
    return procs


def _wait_workers(procs: list[Worker], ready_seconds: float, run_dir: Path) -> None:
    for worker in procs:
        try:
            wait_healthy(worker.url, worker.process, ready_seconds)
        except (RuntimeError, TimeoutError) as exc:
            raise MMXError(f"worker on port {worker.port}: {exc}; see {run_dir}/worker-{worker.port}.log") from None


def _start_nginx(cleanup: contextlib.ExitStack, run_dir: Path) -> subprocess.Popen:
    """Start nginx on the configuration in ``run_dir``; ``cleanup`` stops it gracefully."""
    with open(run_dir / "error.log", "ab") as errors:      # what nginx says before it opens its own log
        nginx = subprocess.Popen(nginx_command(run_dir), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=errors, start_new_session=True)
    cleanup.callback(stop_server, nginx, NGINX_STOP_SECONDS, signal.SIGQUIT)
    return nginx


def _start_watch(cleanup: contextlib.ExitStack, stack: Stack, root: Path, script: str) -> None:
    """Restart dead workers in a background thread until ``cleanup`` stops it."""
    watcher = threading.Thread(target=_watch, args=(stack, root / script, root, os.environ),
                               name="mmx-worker-watch", daemon=True)
    watcher.start()
    cleanup.callback(watcher.join, timeout=5)
    cleanup.callback(stack._stopping.set)       # runs first: last in, first out


def sign_in(url: str, password: str, context: ssl.SSLContext | None = None) -> str:
    """Sign in at ``url`` through the proxy; returns the ``Cookie`` header value to send (``mmx_session=...``).

    Raises
    ------
    MMXError
        The password was refused (wrong, or too many attempts: the message gives the status).
    """
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    handlers = [NoRedirect()] + ([urllib.request.HTTPSHandler(context=context)] if context else [])
    opener = urllib.request.build_opener(*handlers)
    body = urllib.parse.urlencode({"password": password, "next": "/"}).encode("ascii")
    try:
        response = opener.open(urllib.request.Request(url + "/signin", data=body, method="POST"), timeout=10)
        status, headers = response.status, response.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    if status != 303:
        raise MMXError(f"sign-in at {url} refused with HTTP {status}")
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name == COOKIE_NAME:
            return f"{COOKIE_NAME}={rest.split(';', 1)[0]}"
    raise MMXError(f"sign-in at {url} answered without a {COOKIE_NAME} cookie")
