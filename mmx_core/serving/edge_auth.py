"""The sign-in service in front of the app: nginx's ``auth_request`` asks it about every request.

Endpoints (on a loopback port; nginx passes ``X-Real-IP`` and ``X-Forwarded-Proto``):

- ``GET /auth``: 204 with ``X-MMX-User`` when the request carries a valid session cookie, else 401;
- ``GET /signin``: a minimal HTML form (no external assets); ``POST /signin`` checks the password in constant
  time, then sets a signed, expiring, HttpOnly, SameSite=Lax cookie (Secure over HTTPS) and redirects to
  ``next`` (a path on this site only); ``POST /signout`` clears the cookie.

Wrong passwords are limited per client address (:mod:`~mmx_core.serving.attempt_limiter`): after a few failures
an address must wait a delay that doubles with each further failure; attempts inside the delay are refused with
429 and ``Retry-After`` (the right password too) and logged in one line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import os
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping
from urllib.parse import parse_qs

from mmx_core.appkit.access import PASSWORD_VARIABLE, PROXY_USER_HEADER, password_matches
from mmx_core.serving.attempt_limiter import AttemptLimiter

__all__ = ["COOKIE_NAME", "SESSION_SECONDS", "PASSWORD_USER", "SECRET_VARIABLE", "make_cookie", "read_cookie",
           "safe_next", "EdgeAuth", "load_password", "load_secret", "start_auth_server"]

log = logging.getLogger(__name__)

COOKIE_NAME = "mmx_session"
"""The session cookie; nginx also hashes it to keep each browser on one worker (:mod:`~mmx_core.serving.nginx`)."""
SESSION_SECONDS = 12 * 3600
"""How long a sign-in lasts."""
PASSWORD_USER = "member"
"""The user name a password sign-in carries (an OpenID Connect one would carry the email)."""
SECRET_VARIABLE = "MMX_COOKIE_SECRET"
"""Environment variable with the cookie-signing secret (else one is generated into the run folder)."""
SECRET_FILE = "cookie_secret"
MAX_FORM_BYTES = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def make_cookie(user: str, secret: bytes, now: float | None = None, seconds: int = SESSION_SECONDS) -> str:
    """The cookie value for ``user``: ``user.expiry.nonce.signature`` (HMAC-SHA256 over the first three).

    The random nonce makes every sign-in's value different, so nginx's hash spreads browsers over workers.
    """
    expiry = int((time.time() if now is None else now) + seconds)
    payload = f"{_b64(user.encode('utf-8'))}.{expiry}.{secrets.token_hex(8)}"
    return f"{payload}.{_signature(payload, secret)}"


def read_cookie(value: str | None, secret: bytes, now: float | None = None) -> str | None:
    """The user a cookie value names, or None when it is missing, malformed, tampered with or expired."""
    if not value or len(value) > 1024:
        return None
    payload, _, signature = value.rpartition(".")
    if not payload or not hmac.compare_digest(signature.encode("ascii", "replace"),
                                              _signature(payload, secret).encode("ascii")):
        return None
    user, expiry, _nonce = (payload.split(".") + ["", ""])[:3]
    if not expiry.isdigit() or int(expiry) <= (time.time() if now is None else now):
        return None
    try:
        return _unb64(user).decode("utf-8")
    except ValueError:
        return None


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site (``/...``), else ``/``: no scheme, host, ``//`` or backslash."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2048:
        return "/"
    return "/" if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value) else value


def load_password(root: Path, environ: Mapping[str, str]) -> str:
    """The sign-in password: ``[auth] password`` in ``root/.streamlit/secrets.toml``, else ``MMX_PASSWORD``
    (the order of :func:`mmx_core.appkit.access.decide`); "" when neither is set."""
    secrets_file = root / ".streamlit" / "secrets.toml"
    if secrets_file.is_file():
        auth = tomllib.loads(secrets_file.read_text(encoding="utf-8")).get("auth")
        if isinstance(auth, Mapping) and isinstance(auth.get("password"), str) and auth["password"]:
            return auth["password"]
    return environ.get(PASSWORD_VARIABLE, "")


def load_secret(run_dir: Path, environ: Mapping[str, str]) -> bytes:
    """The cookie-signing secret: ``MMX_COOKIE_SECRET``, else one kept in ``run_dir/cookie_secret``
    (created with mode 0600 on first use, so sign-ins survive a restart of the stack)."""
    if environ.get(SECRET_VARIABLE):
        return environ[SECRET_VARIABLE].encode("utf-8")
    path = run_dir / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    secret = secrets.token_hex(32).encode("ascii")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secret)
    return secret


FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MMX Explorer: sign in</title>
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
input{{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.4rem 0}}.e{{color:#b00}}</style>
</head><body><h1>MMX Explorer</h1>{message}
<form method="post" action="/signin"><label for="p">Password</label>
<input id="p" name="password" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{next}"><input type="submit" value="Sign in"></form></body></html>
"""


@dataclass
class EdgeAuth:
    """What the sign-in service knows: the password ("" admits everyone, for loopback only), the secret,
    the limiter."""

    password: str
    secret: bytes
    limiter: AttemptLimiter = field(default_factory=AttemptLimiter)

    def user_of(self, cookie_header: str | None) -> str | None:
        """The signed-in user a ``Cookie`` header carries (``local`` when no password is set), else None."""
        if not self.password:
            return "local"
        for part in (cookie_header or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                user = read_cookie(value, self.secret)
                if user is not None:
                    return user
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "mmx-edge"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    auth: EdgeAuth  # set on the subclass start_auth_server makes

    def log_message(self, fmt, *args):  # access lines go to nginx's log; keep this quiet
        log.debug("%s %s", self.address_string(), (fmt % args).encode("unicode_escape").decode("ascii"))

    # -- helpers --------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        if body:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _form(self, status: int, next_path: str, message: str = "", headers=None) -> None:
        shown = f'<p class="e">{html.escape(message)}</p>' if message else ""
        page = FORM.format(message=shown, next=html.escape(next_path, quote=True))
        self._send(status, page.encode("utf-8"), headers)

    def _cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self.headers.get("X-Forwarded-Proto", "").lower() == "https" else ""
        return f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"

    # -- endpoints ------------------------------------------------------------------------------------
    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/auth":
            user = self.auth.user_of(self.headers.get("Cookie"))
            if user is None:
                return self._send(401)
            return self._send(204, headers={PROXY_USER_HEADER: user.encode("utf-8").decode("latin-1", "replace")})
        if path == "/signin":
            # nginx sends "/signin?next=$request_uri" unencoded: everything after "next=" is the path
            raw = query[len("next="):] if query.startswith("next=") else parse_qs(query).get("next", [""])[0]
            return self._form(200, safe_next(raw))
        return self._send(404)

    do_HEAD = do_GET

    def do_POST(self):
        path = self.path.partition("?")[0]
        if path != "/signin":
            self._drain()
            if path == "/signout":
                return self._send(303, headers={"Location": "/signin", "Set-Cookie": self._cookie("", 0)})
            return self._send(404)
        fields = self._read_form()
        if fields is None:
            return self._send(413)
        next_path = safe_next(fields.get("next", [""])[0])
        client = self.headers.get("X-Real-IP") or self.client_address[0]
        wait = self.auth.limiter.wait(client)
        if wait > 0:
            log.warning("sign-in refused for %s: too many wrong passwords, %.0f s to wait", ascii(client), wait)
            return self._form(429, next_path, "Too many wrong passwords: wait, then try again.",
                              {"Retry-After": str(max(1, int(wait + 0.999)))})
        if password_matches(fields.get("password", [""])[0], self.auth.password):
            self.auth.limiter.succeeded(client)
            cookie = make_cookie(PASSWORD_USER, self.auth.secret)
            return self._send(303, headers={"Location": next_path,
                                            "Set-Cookie": self._cookie(cookie, SESSION_SECONDS)})
        delay = self.auth.limiter.failed(client)
        log.warning("sign-in refused for %s: wrong password%s", ascii(client),
                    f", next attempt in {delay:.0f} s" if delay else "")
        return self._form(401, next_path, "Wrong password.")

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= MAX_FORM_BYTES:
            self.rfile.read(length)

    def _read_form(self) -> dict[str, list[str]] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM_BYTES:
            self.close_connection = True
            return None
        return parse_qs(self.rfile.read(length).decode("utf-8", "replace"))


def start_auth_server(auth: EdgeAuth, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve ``auth`` on ``host:port`` (0: a free port; ``server.server_address`` says which) in a daemon thread;
    ``server.shutdown()`` then ``server.server_close()`` stop it."""
    handler = type("EdgeAuthHandler", (_Handler,), {"auth": auth})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="mmx-edge-auth", daemon=True).start()
    return server
