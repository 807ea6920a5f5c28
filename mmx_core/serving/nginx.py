"""The nginx configuration in front of the workers, rendered from ``nginx.conf.template`` into a run folder.

Everything nginx writes (pid, logs, temporary bodies) stays inside the run folder; nginx runs in the
foreground (``daemon off``) as the current user: :func:`nginx_command` is the command line.
"""

from __future__ import annotations

import getpass
import grp
import os
import shutil
import string
from dataclasses import dataclass
from pathlib import Path

from mmx_core.appkit.uploads import MAX_UPLOAD_BYTES
from mmx_core.base.errors import MMXError
from mmx_core.serving.edge_auth import COOKIE_NAME

__all__ = ["ProxyPlan", "render_config", "write_config", "nginx_command", "find_nginx", "first_error", "TEMPLATE"]

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
TEMP_FOLDERS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class ProxyPlan:
    """What nginx serves.

    Parameters
    ----------
    host, port : str, int
        Where visitors connect (HTTPS there when ``cert`` and ``key`` are given).
    worker_ports : tuple of int
        The Streamlit workers' ports on 127.0.0.1.
    auth_port : int
        The sign-in service's port on 127.0.0.1 (:mod:`~mmx_core.serving.edge_auth`).
    run_dir : Path
        Folder of the configuration, pid, logs and temporary files.
    cert, key : Path or None
        TLS certificate chain and private key (both or neither).
    http_port : int or None
        With TLS: a plain-HTTP port that answers 301 to the HTTPS one.
    max_body : int
        Largest request body in bytes (the app's upload limit).
    """

    host: str
    port: int
    worker_ports: tuple[int, ...]
    auth_port: int
    run_dir: Path
    cert: Path | None = None
    key: Path | None = None
    http_port: int | None = None
    max_body: int = MAX_UPLOAD_BYTES

    @property
    def tls(self) -> bool:
        return self.cert is not None


def _listen(host: str, port: int) -> str:
    host = host.strip("[]")
    if not host:
        return str(port)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _user_line() -> str:
    """``user NAME GROUP;`` when running as root (so the workers stay root, as the caller), else a comment:
    an unprivileged master cannot switch user anyway."""
    if os.geteuid() != 0:
        return "# runs as the user who started it"
    return f"user {getpass.getuser()} {grp.getgrgid(os.getegid()).gr_name};"


def render_config(plan: ProxyPlan) -> str:
    """The nginx.conf text for ``plan``."""
    if not plan.worker_ports:
        raise MMXError("the proxy needs at least one worker port, got none")
    if (plan.cert is None) != (plan.key is None):
        raise MMXError("--cert and --key go together: give both or neither")
    if plan.http_port is not None and not plan.tls:
        raise MMXError("--http-port redirects to HTTPS, so it needs --cert and --key")
    run_dir = Path(plan.run_dir).resolve()
    for value in (str(run_dir), str(plan.cert or ""), str(plan.key or "")):
        if any(c in value for c in ' ;{}"\'$\\\n\r\t#'):
            raise MMXError(f"path {value!r} has a character nginx's configuration cannot hold; use a plain path")
    workers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in plan.worker_ports)
    tls, redirect = "", ""
    if plan.tls:
        tls = (f"        ssl_certificate {Path(plan.cert).resolve()};\n"
               f"        ssl_certificate_key {Path(plan.key).resolve()};\n"
               "        ssl_protocols TLSv1.2 TLSv1.3;\n"
               "        ssl_session_cache shared:mmx_tls:1m;\n"
               "        add_header Strict-Transport-Security \"max-age=31536000\" always;\n")
        if plan.http_port is not None:
            target = "https://$host" + ("" if plan.port == 443 else f":{plan.port}")
            redirect = ("    server {\n"
                        f"        listen {_listen(plan.host, plan.http_port)};\n"
                        "        server_name _;\n"
                        f"        return 301 {target}$request_uri;\n"
                        "    }\n")
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        user_line=_user_line(), run_dir=run_dir, max_body=int(plan.max_body), cookie_name=COOKIE_NAME,
        worker_lines=workers, redirect_server=redirect, tls_lines=tls,
        listen=_listen(plan.host, plan.port) + (" ssl" if plan.tls else ""),
        auth_address=f"127.0.0.1:{plan.auth_port}")


def write_config(plan: ProxyPlan) -> Path:
    """Write ``run_dir/nginx.conf`` (and the temporary folders it names); returns its path."""
    run_dir = Path(plan.run_dir)
    for name in TEMP_FOLDERS:
        (run_dir / "tmp" / name).mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(render_config(plan), encoding="utf-8")
    return path


def find_nginx() -> str:
    """The nginx executable (PATH, then /usr/sbin); an :class:`MMXError` when there is none."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)
    if not found:
        raise MMXError("nginx was not found; install it (Debian: apt-get install nginx) or put it on PATH")
    return found


def nginx_command(run_dir: Path, nginx: str | None = None) -> list[str]:
    """``nginx -p RUNDIR -c RUNDIR/nginx.conf -e RUNDIR/error.log`` (foreground: the config says ``daemon off``)."""
    run_dir = Path(run_dir).resolve()
    return [nginx or find_nginx(), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"),
            "-e", str(run_dir / "error.log")]


def first_error(run_dir: Path) -> str:
    """nginx's first ``[emerg]`` line (else its last line), escaped, or a pointer to its error log."""
    try:
        lines = (run_dir / "error.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    line = next((line for line in lines if "[emerg]" in line), lines[-1] if lines else "")
    return line.encode("unicode_escape").decode("ascii") if line else f"see {run_dir}/error.log"
