"""Sign-in before any page renders when the app is served beyond this machine (see mmx_core.appkit.access)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from mmx_core.appkit import access

SIGNED_IN = "_mmx_signed_in"


def _auth_section() -> Mapping:
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        section = st.secrets.get("auth")
    except (StreamlitSecretNotFoundError, KeyError):
        return {}
    return section if isinstance(section, Mapping) else {}


def require() -> None:
    """Return when the visitor may see the pages; otherwise draw the sign-in (or the refusal) and stop the script."""
    decision = access.decide(st.get_option("server.address"), _auth_section(), os.environ)
    if decision.mode == "open":
        return
    if decision.mode == "refused":
        st.error(decision.message)
        st.stop()
    if decision.mode == "oidc":
        if st.user.is_logged_in:
            st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)
            return
        st.title("MMX Explorer")
        st.button("Sign in", key="sign_in", on_click=st.login, args=(decision.provider,) if decision.provider else ())
        st.stop()
    if st.session_state.get(SIGNED_IN):
        return
    st.title("MMX Explorer")
    with st.form("sign_in_form"):
        typed = st.text_input("Password", type="password", key="w_password")
        sent = st.form_submit_button("Sign in")
    if sent:
        if access.password_matches(typed, decision.password):
            st.session_state[SIGNED_IN] = True
            st.rerun()
        st.error("Wrong password.")
    st.stop()


def author() -> str:
    """Who the visitor is, for the annotation history (:func:`mmx_core.appkit.access.author_of`)."""
    decision = access.decide(st.get_option("server.address"), _auth_section(), os.environ)
    user = st.user.to_dict() if decision.mode == "oidc" and st.user.is_logged_in else None
    return access.author_of(decision.mode, dict(st.context.headers or {}), user)
