"""The served stack end to end: ``served`` (what ``python -m mmx_core serve`` runs) with two workers behind nginx,
probed through the proxy with plain HTTP clients and websockets, before and after signing in; HTTPS; a killed
worker; nothing left running after stop. Skips without nginx unless ``MMX_REQUIRE_NGINX=1``."""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from mmx_core.appkit.uploads import MAX_UPLOAD_BYTES
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.serving.attempt_limiter import FREE_FAILURES
from mmx_core.serving.edge_auth import COOKIE_NAME
from mmx_core.serving.serve import served, sign_in
from mmx_core.serving.workers import free_port, wait_healthy
from needs_nginx import require_nginx
from project_dirs import project_dirs, session_home

PASSWORD = "a long passphrase"
ROOT = Path(__file__).resolve().parents[2]
STREAM = "/_stcore/stream"
SUBPROTOCOLS = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_nginx()
    with project_dirs(session_home(tmp_path_factory)), \
            served(workers=2, password=PASSWORD, run_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def cookie(stack):
    return sign_in(stack.url, PASSWORD)


def request(url: str, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
            context: ssl.SSLContext | None = None) -> tuple[int, dict, bytes]:
    """One request, no redirect followed: (status, headers, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = (http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=20)
                  if parts.scheme == "https" else http.client.HTTPConnection(parts.hostname, parts.port, timeout=20))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def websocket_status(url: str, headers: dict | None = None) -> int:
    """101 when ``/_stcore/stream`` upgrades through the proxy, else the HTTP status it answered."""
    async def attempt():
        try:
            async with connect(url.replace("http", "ws", 1) + STREAM, subprotocols=SUBPROTOCOLS,
                               additional_headers=headers or {}, open_timeout=20):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code
    return asyncio.run(attempt())


def sign_in_status(url: str, password: str) -> tuple[int, dict]:
    body = urllib.parse.urlencode({"password": password, "next": "/"}).encode()
    status, headers, _ = request(url, "POST", "/signin", {"Content-Type": "application/x-www-form-urlencoded"},
                                 body)
    return status, headers


def test_before_sign_in_nothing_of_the_app_answers(stack):
    status, headers, _ = request(stack.url, "GET", "/")
    assert (status, headers["Location"]) == (302, "/signin?next=/")
    assert request(stack.url, "GET", "/?page=Data")[1]["Location"] == "/signin?next=/?page=Data"
    upload = request(stack.url, "PUT", "/_stcore/upload_file/x/y", {"Content-Type": "application/octet-stream"},
                     b"\0" * 1024 * 1024)
    assert upload[0] == 401
    for path in ("/_stcore/health", "/media/anything.mp4", "/component/streamlit_plotly_events/index.html",
                 "/_stcore/host-config"):
        assert request(stack.url, "GET", path)[0] == 401, path
    assert request(stack.url, "GET", "/_stcore/metrics")[0] == 404
    assert request(stack.url, "GET", "/", {"Cookie": f"{COOKIE_NAME}=member.9999999999.00.forged"})[0] == 302
    assert websocket_status(stack.url) == 401
    status, _, page = request(stack.url, "GET", "/signin?next=/")
    assert status == 200 and b'name="password"' in page


def test_signed_in_the_app_answers(stack, cookie):
    signed = {"Cookie": cookie}
    status, _, page = request(stack.url, "GET", "/", signed)
    assert status == 200 and b"<!doctype html>" in page.lower()
    assert request(stack.url, "GET", "/_stcore/health", signed)[:3:2] == (200, b"ok")
    logged = (stack.run_dir / "access.log").read_text().strip().splitlines()[-1]
    assert logged.startswith("127.0.0.1 member [")                   # the user nginx passes on as X-MMX-User
    assert request(stack.url, "GET", "/_stcore/metrics", signed)[0] == 404      # refused to everyone
    assert websocket_status(stack.url, signed) == 101


def test_a_body_over_the_upload_limit_is_refused_before_it_is_sent(stack, cookie):
    parts = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        connection.putrequest("PUT", "/_stcore/upload_file/x/y")
        connection.putheader("Cookie", cookie)
        connection.putheader("Content-Length", str(MAX_UPLOAD_BYTES + 1))
        connection.endheaders()                                # headers only: nginx answers before the body
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_wrong_passwords_meet_the_limit_then_the_right_one_waits_its_turn(stack):
    """Documented behaviour: inside the delay even the right password gets 429; after it, it is accepted."""
    statuses = [sign_in_status(stack.url, "wrong")[0] for _ in range(20)]
    assert statuses[:FREE_FAILURES + 1] == [401] * (FREE_FAILURES + 1) and statuses[-1] == 429
    status, headers = sign_in_status(stack.url, PASSWORD)
    assert status == 429 and int(headers["Retry-After"]) >= 1
    time.sleep(int(headers["Retry-After"]))
    assert sign_in_status(stack.url, PASSWORD)[0] == 303


def upstream_of(stack, cookie: str, path: str = "/_stcore/health") -> tuple[int, str]:
    """(status, the upstream addresses nginx logged) of one request with ``cookie``.

    nginx writes a request's log line after the response has gone out, so the client can have its answer before
    the line exists: wait for the line this request adds, never read the one before it.
    """
    log = stack.run_dir / "access.log"
    before = len(log.read_text().splitlines())
    status = request(stack.url, "GET", path, {"Cookie": cookie})[0]
    deadline = time.monotonic() + 10
    while len(lines := log.read_text().splitlines()) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(lines) > before, "nginx logged no line for the request"
    return status, lines[-1].rpartition("upstream=")[2]


def test_a_killed_worker_is_started_again_and_the_proxy_keeps_answering(stack):
    victim, other = stack.workers
    for _ in range(20):                                          # a browser whose session lives on the victim
        cookie = sign_in(stack.url, PASSWORD)
        if upstream_of(stack, cookie) == (200, f"127.0.0.1:{victim.port}"):
            break
    else:
        pytest.fail(f"no sign-in was sent to the worker on port {victim.port}")
    assert all(upstream_of(stack, cookie)[1] == f"127.0.0.1:{victim.port}" for _ in range(3))   # sticky
    pid = victim.process.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running(pid) and time.monotonic() < deadline:            # the kill lands asynchronously
        time.sleep(0.05)
    status, upstreams = upstream_of(stack, cookie, "/")
    assert status == 200 and upstreams.endswith(f"127.0.0.1:{other.port}")   # the next worker answered
    deadline = time.monotonic() + 30
    while (victim.restarts == 0 or victim.process.pid == pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim.restarts == 1 and victim.process.pid != pid
    wait_healthy(victim.url, victim.process, 60)
    assert request(stack.url, "GET", "/", {"Cookie": cookie})[0] == 200


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"      # a zombie has stopped
    except FileNotFoundError:
        return False


def test_https_with_a_certificate_and_the_redirect_from_http(tmp_path, tmp_path_factory):
    require_nginx()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(cafile=str(cert))
    http_port = free_port()
    with project_dirs(session_home(tmp_path_factory)), \
            served(workers=1, password=PASSWORD, cert=cert, key=key, http_port=http_port,
                   run_dir=tmp_path / "run") as https:
        assert https.url.startswith("https://localhost:")
        pids = [w.process.pid for w in https.workers] + [https.nginx.pid]
        assert request(https.url, "GET", "/", context=context)[0] == 302
        body = urllib.parse.urlencode({"password": PASSWORD}).encode()
        status, headers, _ = request(https.url, "POST", "/signin",
                                     {"Content-Type": "application/x-www-form-urlencoded"}, body, context)
        assert status == 303 and "; Secure" in headers["Set-Cookie"]
        signed = {"Cookie": sign_in(https.url, PASSWORD, context)}
        assert request(https.url, "GET", "/", signed, context=context)[0] == 200
        status, headers, _ = request(f"http://127.0.0.1:{http_port}", "GET", "/?page=Data")
        assert status == 301 and headers["Location"] == f"https://127.0.0.1:{https.url.rsplit(':', 1)[1]}/?page=Data"
        with pytest.raises(ssl.SSLError):                         # an unknown certificate is not trusted
            request(https.url, "GET", "/", context=ssl.create_default_context())
    assert not [pid for pid in pids if running(pid)]              # nothing left running
    assert not (tmp_path / "run" / "nginx.pid").exists()


def test_the_stack_refuses_beyond_loopback_without_a_password(tmp_path):
    with pytest.raises(MMXError, match="no password is set"):
        with served(workers=1, password="", host="0.0.0.0", run_dir=tmp_path / "run"):
            pass
    assert not (tmp_path / "run").exists()


def test_the_serve_command_prints_its_url_and_stops_everything_on_sigterm(tmp_path, tmp_path_factory):
    require_nginx()
    port = free_port()
    command = [sys.executable, "-m", "mmx_core", "serve", "--port", str(port), "--workers", "1",
               "--run-dir", str(tmp_path / "run")]
    with project_dirs(session_home(tmp_path_factory)):
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "MMX_PASSWORD": PASSWORD},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()                        # printed once every part answers
        assert line.startswith(f"serving MMX Explorer at http://127.0.0.1:{port} ")
        url = f"http://127.0.0.1:{port}"
        assert request(url, "GET", "/", {"Cookie": sign_in(url, PASSWORD)})[0] == 200
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                                   text=True).stdout.split()]
        assert len(children) >= 2                               # a worker and nginx
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not [pid for pid in children if running(pid)]
    assert (tmp_path / "run" / "nginx.conf").is_file() and not (tmp_path / "run" / "nginx.pid").exists()


def test_a_port_already_taken_is_one_error_naming_nginx_s_reason(tmp_path, tmp_path_factory):
    require_nginx()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with project_dirs(session_home(tmp_path_factory)), \
                pytest.raises(MMXError, match="nginx exited with code 1: .*Address already in use"):
            with served(workers=1, password=PASSWORD, port=taken.getsockname()[1], run_dir=tmp_path / "run"):
                pass


def test_the_serve_command_stops_in_one_line_when_nginx_dies(tmp_path, tmp_path_factory):
    require_nginx()
    command = [sys.executable, "-m", "mmx_core", "serve", "--port", str(free_port()), "--workers", "1",
               "--run-dir", str(tmp_path / "run")]
    with project_dirs(session_home(tmp_path_factory)):
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "MMX_PASSWORD": PASSWORD},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("serving MMX Explorer at ")
        nginx = int((tmp_path / "run" / "nginx.pid").read_text())
        os.kill(nginx, signal.SIGKILL)
        assert process.wait(timeout=60) == ExitCode.REFUSED
        assert process.stderr.read().strip().splitlines()[-1].startswith("error: nginx exited with code -9")
        deadline = time.monotonic() + 10                         # its orphaned workers are killed too
        while subprocess.run(["pgrep", "-g", str(nginx)], capture_output=True).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not subprocess.run(["pgrep", "-g", str(nginx)], capture_output=True).stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
