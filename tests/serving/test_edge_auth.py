"""The sign-in service nginx asks (mmx_core.serving.edge_auth): cookie, redirect guard, attempt limit, endpoints."""

from __future__ import annotations

import http.client
import logging
import os
import stat
import urllib.parse

import pytest

from mmx_core.appkit.access import PASSWORD_VARIABLE
from mmx_core.serving import attempt_limiter, edge_auth
from mmx_core.serving.attempt_limiter import FREE_FAILURES, AttemptLimiter
from mmx_core.serving.edge_auth import (COOKIE_NAME, EdgeAuth, load_password, load_secret, make_cookie, read_cookie,
                                        safe_next, start_auth_server)

SECRET = b"k" * 32


class Clock:
    """A settable monotonic clock."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# ---------------------------------------------------------------------------------------------- the cookie
def test_a_cookie_names_its_user_until_it_expires():
    value = make_cookie("ana@lab.org", SECRET, now=100.0, seconds=60)
    assert read_cookie(value, SECRET, now=159.0) == "ana@lab.org"
    assert read_cookie(value, SECRET, now=160.0) is None                 # expired
    assert make_cookie("member", SECRET) != make_cookie("member", SECRET)  # each sign-in its own value
    assert read_cookie(make_cookie("member", SECRET), SECRET) == "member"
    assert edge_auth.SESSION_SECONDS == 12 * 3600


def test_a_tampered_or_foreign_cookie_is_refused():
    value = make_cookie("member", SECRET, now=100.0, seconds=60)
    user, expiry, nonce, signature = value.split(".")
    longer = f"{user}.{int(expiry) + 10_000}.{nonce}.{signature}"                # expiry pushed back
    other_user = f"{edge_auth._b64(b'admin')}.{expiry}.{nonce}.{signature}"
    flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
    for forged in (longer, other_user, flipped, value + "x", "", "garbage", "a.b.c.d", "." * 3, "x" * 5000):
        assert read_cookie(forged, SECRET, now=120.0) is None, forged
    assert read_cookie(value, b"another secret", now=120.0) is None


@pytest.mark.parametrize("given, kept", [
    ("/", "/"), ("/?page=Compare&x=1", "/?page=Compare&x=1"), ("/Compare", "/Compare"),
    ("", "/"), (None, "/"), ("https://evil.example/", "/"), ("//evil.example/", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("evil.example", "/"), ("/a\r\nSet-Cookie: x=1", "/"), ("/a b", "/")])
def test_next_is_only_a_path_on_this_site(given, kept):
    assert safe_next(given) == kept


# ---------------------------------------------------------------------------------------------- the limit
def test_after_the_free_failures_each_attempt_waits_longer():
    clock = Clock()
    limiter = AttemptLimiter(free=3, first_delay=1.0, max_delay=8.0, clock=clock)
    assert [limiter.failed("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("10.0.0.1") == 0.0
    assert [limiter.failed("10.0.0.1") for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]   # doubling, capped
    assert limiter.wait("10.0.0.1") == 8.0
    clock.now += 5
    assert limiter.wait("10.0.0.1") == 3.0
    assert limiter.wait("10.0.0.2") == 0.0                                  # addresses are independent
    limiter.succeeded("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 0.0 and limiter.failed("10.0.0.1") == 0.0


def test_the_table_of_addresses_is_bounded_and_forgets():
    clock = Clock()
    limiter = AttemptLimiter(free=0, max_addresses=3, clock=clock)
    for number in range(5):
        limiter.failed(f"10.0.0.{number}")
    assert len(limiter) == 3
    assert limiter.wait("10.0.0.0") == 0.0 and limiter.wait("10.0.0.4") > 0   # the oldest were dropped
    clock.now += attempt_limiter.FORGET_SECONDS + attempt_limiter.MAX_DELAY + 1
    assert limiter.failed("10.0.0.4") == limiter.first_delay                 # an old record starts again


# ---------------------------------------------------------------------------------------------- settings
def test_the_password_comes_from_the_secrets_then_the_environment(tmp_path):
    assert load_password(tmp_path, {}) == ""
    assert load_password(tmp_path, {PASSWORD_VARIABLE: "env"}) == "env"
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\npassword = "toml"\n')
    assert load_password(tmp_path, {PASSWORD_VARIABLE: "env"}) == "toml"


def test_the_secret_is_kept_private_in_the_run_folder(tmp_path):
    secret = load_secret(tmp_path, {})
    path = tmp_path / edge_auth.SECRET_FILE
    assert len(secret) == 64 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret(tmp_path, {}) == secret                              # kept across restarts
    assert load_secret(tmp_path, {edge_auth.SECRET_VARIABLE: "given"}) == b"given"


# ---------------------------------------------------------------------------------------------- the service
@pytest.fixture
def service():
    clock = Clock()
    auth = EdgeAuth(password="right horse", secret=SECRET, limiter=AttemptLimiter(free=2, clock=clock))
    server = start_auth_server(auth)
    yield server.server_address[1], clock
    server.shutdown()
    server.server_close()


def call(port, method, path, form=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    connection.request(method, path, body=body, headers={
        **({"Content-Type": "application/x-www-form-urlencoded"} if body else {}), **(headers or {})})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response, text


def test_auth_answers_204_only_with_a_valid_cookie(service):
    port, _ = service
    assert call(port, "GET", "/auth")[0].status == 401
    assert call(port, "GET", "/auth", headers={"Cookie": f"{COOKIE_NAME}=forged"})[0].status == 401
    response, _ = call(port, "POST", "/signin", {"password": "right horse", "next": "/Compare?x=1"})
    assert response.status == 303 and response.getheader("Location") == "/Compare?x=1"
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert f"Max-Age={edge_auth.SESSION_SECONDS}" in cookie
    sent = {"Cookie": "other=1; " + cookie.split(";")[0]}
    checked, _ = call(port, "GET", "/auth", headers=sent)
    assert checked.status == 204 and checked.getheader("X-MMX-User") == edge_auth.PASSWORD_USER


def test_the_form_and_the_redirect_guard(service):
    port, _ = service
    response, page = call(port, "GET", "/signin?next=/?page=Data&x=1")    # nginx passes $request_uri as is
    assert response.status == 200 and 'value="/?page=Data&amp;x=1"' in page and "http" not in page.lower().split(
        "<body>")[1]                                                         # no external asset
    response, _ = call(port, "POST", "/signin", {"password": "right horse", "next": "//evil.example/"})
    assert response.status == 303 and response.getheader("Location") == "/"
    over_https, _ = call(port, "POST", "/signin", {"password": "right horse"}, {"X-Forwarded-Proto": "https"})
    assert "; Secure" in over_https.getheader("Set-Cookie")
    out, _ = call(port, "POST", "/signout")
    assert out.status == 303 and "Max-Age=0" in out.getheader("Set-Cookie")
    assert call(port, "POST", "/signin", headers={"Content-Length": "999999"})[0].status == 413


def test_wrong_passwords_meet_the_limit_and_are_logged(service, caplog):
    port, clock = service
    address = {"X-Real-IP": "203.0.113.9\x1b[2J"}
    with caplog.at_level(logging.WARNING, logger=edge_auth.__name__):
        statuses = [call(port, "POST", "/signin", {"password": "wrong"}, address)[0].status for _ in range(4)]
        assert statuses == [401, 401, 401, 429]            # two free, the third sets a delay, the fourth waits
        refused, page = call(port, "POST", "/signin", {"password": "right horse"}, address)
    assert refused.status == 429 and refused.getheader("Retry-After") == "1" and "Too many" in page
    assert call(port, "POST", "/signin", {"password": "right horse"}, {"X-Real-IP": "198.51.100.1"})[0].status == 303
    clock.now += 1.0
    assert call(port, "POST", "/signin", {"password": "right horse"}, address)[0].status == 303
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5 and all("\n" not in line and "\x1b" not in line and "\\x1b" in line for line in lines)


def test_without_a_password_everyone_is_admitted():
    server = start_auth_server(EdgeAuth(password="", secret=SECRET))
    try:
        response, _ = call(server.server_address[1], "GET", "/auth")
        assert response.status == 204 and response.getheader("X-MMX-User") == "local"
    finally:
        server.shutdown()
        server.server_close()
