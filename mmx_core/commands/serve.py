"""``serve``: the app for many people: nginx signs visitors in, then spreads them over N Streamlit workers."""

from __future__ import annotations

import signal
import threading

from mmx_core.commands.argtypes import add_command, int_in


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "serve", run, help="serve the app to many people behind nginx, which signs visitors in first",
        description="Starts N Streamlit workers on loopback ports, the sign-in service and nginx in front "
        "(sticky sessions, websockets, the upload limit, HTTPS with --cert/--key). Prints the URL once every "
        "part answers; restarts a worker that dies; stops everything on SIGTERM or Ctrl-C. Beyond 127.0.0.1 "
        "a password is required ([auth] password in .streamlit/secrets.toml, or MMX_PASSWORD).")
    parser.add_argument("--host", default="127.0.0.1", help="address nginx listens on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int_in(1, 65535), default=8501, help="port nginx listens on")
    parser.add_argument("--workers", type=int_in(1, 64), default=2, help="Streamlit processes behind nginx")
    parser.add_argument("--cert", default=None, metavar="FILE", help="TLS certificate chain (PEM): serve HTTPS")
    parser.add_argument("--key", default=None, metavar="FILE", help="TLS private key (PEM), with --cert")
    parser.add_argument("--http-port", type=int_in(1, 65535), default=None,
                        help="with --cert: a plain-HTTP port that redirects (301) to HTTPS")
    parser.add_argument("--run-dir", default=None, metavar="DIR",
                        help="scratch folder for nginx's configuration, logs and temporary files and the cookie "
                        "secret (default: a temporary folder, removed on exit)")


def run(args) -> int:
    from pathlib import Path

    from mmx_core.base.errors import MMXError
    from mmx_core.serving.nginx import first_error
    from mmx_core.serving.serve import served

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with served(workers=args.workers, host=args.host, port=args.port,
                    cert=Path(args.cert) if args.cert else None, key=Path(args.key) if args.key else None,
                    http_port=args.http_port, run_dir=Path(args.run_dir) if args.run_dir else None) as stack:
            print(f"serving MMX Explorer at {stack.url} (run folder {stack.run_dir})", flush=True)
            while not stop.wait(1.0):
                if stack.nginx.poll() is not None:
                    raise MMXError(f"nginx exited with code {stack.nginx.returncode}: {first_error(stack.run_dir)}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
