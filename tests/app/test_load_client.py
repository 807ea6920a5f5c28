"""The load benchmark's protocol client against a real ``streamlit run`` server on a free loopback port.

A tiny two-page app (written to a temporary folder) is enough to check what the benchmark relies on:
a session opens the main page and gets its elements (sidebar and main area, widget keys), a click on
a plotly point sent as the chart's widget state reaches the script, ``st.rerun`` is followed to the
final run, the query string the script sets comes back, another page opens by its url pathname, and
an exception on a page is reported as an error of that run. A session opened with a cookie sends it on the
websocket handshake (what the signed-in proxy needs), one opened without sends none.
"""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from pathlib import Path

import pytest

from testing import streamlit_client as sc

MAIN = '''
import plotly.graph_objects as go
import streamlit as st

st.sidebar.markdown("side note")
st.title("Load client test")
fig = go.Figure(go.Scatter(x=[0, 1, 2, 3], y=[3, 2, 1, 0], customdata=[[0], [1], [2], [3]], mode="markers"))
event = st.plotly_chart(fig, on_select="rerun", key="map")
points = event["selection"]["points"] if event else []
if points and st.session_state.get("seen") != points[0]["customdata"][0]:
    st.session_state["seen"] = points[0]["customdata"][0]
    st.rerun()
st.markdown(f"picked {st.session_state.get('seen', 'none')}")
st.query_params["picked"] = str(st.session_state.get("seen", "none"))
'''
OTHER = '''
import streamlit as st

st.markdown("the other page")
'''
BROKEN = '''
raise ValueError("broken on purpose")
'''
COOKIE = '''
import streamlit as st

st.markdown(f"cookie {st.context.cookies.get('mmx_session', 'none')}")
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("load_client")
    (home / "pages").mkdir()
    (home / "main.py").write_text(textwrap.dedent(MAIN))
    (home / "pages" / "1_Other.py").write_text(textwrap.dedent(OTHER))
    (home / "pages" / "2_Broken.py").write_text(textwrap.dedent(BROKEN))
    (home / "pages" / "3_Cookie.py").write_text(textwrap.dedent(COOKIE))
    port = sc.free_port()
    process = sc.start_server(Path("main.py"), port, home, log=home / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        sc.wait_healthy(url, process, 60)
        yield url, process
    finally:
        sc.stop_server(process)
        shutil.rmtree(home, ignore_errors=True)


def test_session_opens_pages_clicks_and_sees_errors(server):
    url, process = server

    async def scenario():
        async with await sc.Session.open(url, timeout=30) as session:
            first = await session.run(page="")
            assert first.ok, first.exceptions
            assert "Load client test" in first.texts("heading")
            assert ("markdown", "side note", 1) in [(e.kind, e.text, e.root) for e in first.elements]
            assert "picked none" in first.texts("markdown")
            chart = first.widget("map")
            assert chart is not None and chart.kind == "plotly_chart" and chart.id.startswith("$$ID-")
            assert session.query == "picked=none"

            session.set_widget(chart.id, string_value=sc.plotly_click(2))
            clicked = await session.run()
            assert clicked.ok and clicked.early_reruns == 1
            assert "picked 2" in clicked.texts("markdown")
            assert session.query == "picked=2"

            other = await session.run(page="Other")
            assert other.ok and other.texts("markdown") == ["the other page"]

            broken = await session.run(page="Broken")
            assert not broken.ok
            assert any("broken on purpose" in e for e in broken.exceptions)

            back = await session.run(page="")      # the click was dropped with the page change
            assert back.ok and "picked 2" in back.texts("markdown")  # session state kept it
            return first, clicked

    first, clicked = asyncio.run(scenario())
    assert clicked.seconds > 0 and first.bytes > 0
    assert sc.server_rss_mb(process.pid) > 10 and sc.server_cpu_seconds(process.pid) > 0


def test_a_session_sends_its_cookie_on_the_handshake_and_none_without(server):
    url, _ = server

    async def cookie_seen(cookie):
        async with await sc.Session.open(url, timeout=30, cookie=cookie) as session:
            run = await session.run(page="Cookie")
            assert run.ok, run.exceptions
            return run.texts("markdown")

    assert asyncio.run(cookie_seen("mmx_session=abc.123")) == ["cookie abc.123"]
    assert asyncio.run(cookie_seen(None)) == ["cookie none"]
