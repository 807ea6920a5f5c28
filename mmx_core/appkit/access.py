"""Who may see the app: open on a loopback address, sign-in required on any other.

The app decides at run time from the address the server listens on (Streamlit's ``server.address``):

- loopback (``127.0.0.1``, ``::1``, ``localhost``): nothing is asked;
- any other address (``0.0.0.0``, a LAN address, or none set, which listens on every interface):
  a sign-in is required before any page renders. OpenID Connect (Streamlit's ``st.login``) when the
  ``[auth]`` section of the secrets configures a provider; otherwise a password from the secrets
  (``[auth] password``) or the environment (``MMX_PASSWORD``); with neither, the app refuses to serve.

This module holds the decisions (streamlit-free, unit-tested); ``ui/signin.py`` draws them.
"""

from __future__ import annotations

import hmac
import importlib.util
import ipaddress
from dataclasses import dataclass
from typing import Mapping

__all__ = ["PASSWORD_VARIABLE", "Access", "is_loopback", "password_matches", "oidc_configured", "decide"]

PASSWORD_VARIABLE = "MMX_PASSWORD"
OIDC_SHARED = ("redirect_uri", "cookie_secret")

REFUSAL = ("This server listens on {address}, beyond this machine, and no sign-in is configured, so it serves "
           "no pages. Set a password ([auth] password in .streamlit/secrets.toml, or the MMX_PASSWORD "
           "environment variable) or an OpenID Connect provider ([auth] in secrets.toml), then restart; or serve "
           "on 127.0.0.1 only (README, 'Serving to others').")
NO_AUTHLIB = ("This server listens on {address} and [auth] configures OpenID Connect, but the Authlib package "
              "that Streamlit's sign-in needs is not installed, so it serves no pages. Install Authlib (1.3.2 or "
              "newer) or set a password instead (README, 'Serving to others').")


def is_loopback(address: str | None) -> bool:
    """Whether the server address reaches only this machine (an empty address listens on every interface)."""
    text = (address or "").strip().strip("[]").rstrip(".").lower()
    if not text:
        return False
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False          # a host name: it may resolve to any interface, so it is not taken as loopback


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of a typed password with the configured one (an empty one never matches)."""
    if not isinstance(given, str) or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def oidc_configured(auth: Mapping | None) -> bool:
    """Whether the secrets' ``[auth]`` section configures an OpenID Connect provider for ``st.login``.

    Streamlit needs ``redirect_uri`` and ``cookie_secret``, then either a default provider
    (``client_id`` etc. directly in ``[auth]``) or named ones (``[auth.<name>]`` tables with a ``client_id``).
    """
    if not auth or not all(auth.get(key) for key in OIDC_SHARED):
        return False
    if auth.get("client_id"):
        return True
    return any(isinstance(value, Mapping) and value.get("client_id") for value in auth.values())


@dataclass(frozen=True)
class Access:
    """What the app does for a visitor: ``mode`` is "open", "oidc", "password" or "refused"."""

    mode: str
    password: str = ""
    provider: str | None = None
    message: str = ""


def decide(address: str | None, auth: Mapping | None, environ: Mapping[str, str]) -> Access:
    """How the app admits visitors, given the server address, the secrets' ``[auth]`` section and the environment."""
    if is_loopback(address):
        return Access("open")
    shown = address.strip() if address and address.strip() else "every interface"
    auth = auth or {}
    if oidc_configured(auth):
        if importlib.util.find_spec("authlib") is None:
            return Access("refused", message=NO_AUTHLIB.format(address=shown))
        named = [k for k, v in auth.items() if isinstance(v, Mapping) and v.get("client_id")]
        provider = None if auth.get("client_id") or not named else named[0]
        return Access("oidc", provider=provider)
    password = auth.get("password") or environ.get(PASSWORD_VARIABLE) or ""
    if isinstance(password, str) and password:
        return Access("password", password=password)
    return Access("refused", message=REFUSAL.format(address=shown))


PROXY_USER_HEADER = "X-MMX-User"
"""Who the proxy of ``python -m mmx_core serve`` signed in (it replaces any visitor's own header, and the
workers listen on this machine only)."""
SHARED_PASSWORD_AUTHOR = "password"


def author_of(mode: str, headers: Mapping[str, str], oidc_user: Mapping | None = None) -> str:
    """Who is making a change, as the annotation history records it: the OIDC user's e-mail or name, else the
    user the proxy signed in (:data:`PROXY_USER_HEADER`, trusted on a loopback server only), else
    ``"password"`` (a shared password names no one) or ``"local"``."""
    if mode == "oidc" and oidc_user:
        for key in ("email", "name", "sub"):
            if str(oidc_user.get(key) or "").strip():
                return str(oidc_user[key]).strip()[:100]
    if mode == "open":
        lowered = {str(k).lower(): v for k, v in headers.items()}
        user = str(lowered.get(PROXY_USER_HEADER.lower()) or "").strip()
        if user and user.isprintable():
            return user[:100]
        return "local"
    return SHARED_PASSWORD_AUTHOR
