"""A browser-less Streamlit client: one session over ``/_stcore/stream``, speaking Streamlit's protobufs.

The browser opens a websocket on ``/_stcore/stream`` with the subprotocol list
``["streamlit", <xsrf token or placeholder>]`` (a third entry would be a session id to resume),
then sends a ``BackMsg.rerun_script`` (a ``ClientState``: query string, page script hash, widget
states, hashes of the large messages it already holds) and receives one ``ForwardMsg`` per
binary frame: ``new_session`` (pages, the page's script hash), ``delta`` (elements, addressed by
``metadata.delta_path``), ``page_info_changed`` (the new query string), ``script_finished``.
A script that calls ``st.rerun`` finishes "early for rerun" and starts again; a run is over at
the first successful (or compile-error) finish. :class:`Session` does exactly that, keeps the
widget states it set (and drops those whose widget is gone, as the browser's widget manager
does) and the cacheable messages it received, so reruns get references, as a browser's do.

Also here: the server's RSS / CPU time; starting ``streamlit run`` on a free loopback port comes from
:mod:`mmx_core.serving.workers` (re-exported for the benchmarks and tests).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from mmx_core.serving.workers import free_port, start_server, stop_server, wait_healthy

__all__ = ["Element", "Run", "Session", "ProtocolError", "free_port", "start_server", "stop_server",
           "wait_healthy", "server_rss_mb", "server_cpu_seconds", "plotly_click"]

_ID_PREFIX = "$$ID-"      # widget ids: "$$ID-<hash>-<user key>"
_FINAL = {ForwardMsg.FINISHED_SUCCESSFULLY: "ok", ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error"}


class ProtocolError(RuntimeError):
    """The server closed the stream or sent something this client does not understand."""


@dataclass(frozen=True)
class Element:
    """One element of a page: its proto type, its text (body or label), widget id and user key."""

    kind: str
    text: str = ""
    id: str = ""
    key: str = ""
    root: int = 0          # 0 = main area, 1 = sidebar


@dataclass
class Run:
    """One script run as the client saw it: rerun request -> final ``script_finished``."""

    seconds: float
    status: str                                   # "ok", "compile error", "timeout", "closed"
    elements: list[Element] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)   # exception elements and st.error alerts
    early_reruns: int = 0                          # st.rerun() inside the run
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and not self.exceptions

    def texts(self, kind: str | None = None) -> list[str]:
        return [e.text for e in self.elements if kind is None or e.kind == kind]

    def widget(self, key: str) -> Element | None:
        """The element whose user key is ``key`` (None if absent)."""
        return next((e for e in self.elements if e.key == key), None)


def _element(kind: str, proto, root: int) -> Element:
    body = getattr(proto, "body", "")
    label = getattr(proto, "label", "")
    if kind == "exception":
        body = f"{proto.type}: {proto.message}"
    element_id = getattr(proto, "id", "") if isinstance(getattr(proto, "id", ""), str) else ""
    key = element_id.split("-", 2)[2] if element_id.startswith(_ID_PREFIX) and element_id.count("-") >= 2 else ""
    return Element(kind, str(body or label or ""), element_id, "" if key == "None" else key, root)


class Session:
    """One browser-like session. ``await Session.open(url)``, then :meth:`run` pages; :meth:`close`.

    Parameters
    ----------
    timeout : float
        Seconds a run may take before it counts as ``"timeout"``.
    """

    def __init__(self, websocket, timeout: float):
        self._ws = websocket
        self.timeout = timeout
        self.query = ""
        self.page_hash = ""            # the page the server last ran
        self.pages: dict[str, str] = {}  # url pathname -> page script hash
        self.main_hash = ""
        self._widgets: dict[str, WidgetState] = {}
        self._cache: dict[str, ForwardMsg] = {}
        self.closed = False

    @classmethod
    async def open(cls, url: str, timeout: float = 120.0, cookie: str | None = None) -> "Session":
        """Connect to the server at ``url`` (``http://127.0.0.1:PORT``, or ``https://``) as a browser tab does.

        ``cookie`` is sent as the handshake's ``Cookie`` header (``"mmx_session=..."`` from
        :func:`mmx_core.serving.serve.sign_in`, for a server behind the signed-in proxy); None sends none.
        """
        ws_url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        headers = {"Cookie": cookie} if cookie else None
        websocket = await asyncio.wait_for(
            connect(ws_url, subprotocols=["streamlit", "PLACEHOLDER_AUTH_TOKEN"], max_size=None,
                    open_timeout=timeout, ping_interval=None, additional_headers=headers), timeout)
        return cls(websocket, timeout)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._ws.close()

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- what the browser sends --------------------------------------------------------------
    def set_widget(self, widget_id: str, *, string_value: str | None = None, json_value: str | None = None,
                   int_value: int | None = None, bool_value: bool | None = None) -> None:
        """Set a widget's value as the browser's widget manager does (sent with every later rerun)."""
        values = {"string_value": string_value, "json_value": json_value, "int_value": int_value,
                  "bool_value": bool_value}
        given = next(((kind, value) for kind, value in values.items() if value is not None), None)
        if given is None:
            raise ValueError("set_widget needs one value")
        self._widgets[widget_id] = WidgetState(id=widget_id, **dict([given]))

    async def run(self, page: str | None = None, query: str | None = None) -> Run:
        """Ask for a script run and read it to its end.

        ``page`` is a url pathname ("" = the main page, ``"Compare"`` for ``pages/2_Compare.py``);
        None reruns the current page. ``query`` replaces the query string (as a typed-in URL does).
        """
        page_name = ""
        if page is not None:
            new_hash = self.main_hash if page == "" else self.pages.get(page, "")
            if not new_hash and page:
                page_name = page            # not listed yet: the server resolves the url pathname
            if new_hash != self.page_hash or page_name:
                self._widgets.clear()       # a page change unmounts every widget
                self.query = ""             # and page links drop the query string
            self.page_hash = new_hash
        if query is not None:
            self.query = query
        message = BackMsg(rerun_script={
            "query_string": self.query, "page_script_hash": self.page_hash, "page_name": page_name,
            "widget_states": {"widgets": list(self._widgets.values())}, "cached_message_hashes": list(self._cache),
            "context_info": {"timezone": "UTC", "locale": "en-US"}})
        start = time.perf_counter()
        await self._ws.send(message.SerializeToString())
        return await self._read_run(start)

    # -- what the browser receives -----------------------------------------------------------
    async def _read_run(self, start: float) -> Run:
        run = Run(seconds=float("nan"), status="timeout")
        elements: dict[tuple, Element] = {}
        deadline = start + self.timeout
        while True:
            try:
                frame = await asyncio.wait_for(self._ws.recv(), max(0.0, deadline - time.perf_counter()))
            except asyncio.TimeoutError:
                run.seconds = time.perf_counter() - start
                return run
            except Exception as exc:  # noqa: BLE001 - the connection went away mid-run
                run.seconds, run.status = time.perf_counter() - start, "closed"
                run.exceptions.append(f"{type(exc).__name__}: {exc}")
                self.closed = True
                return run
            run.bytes += len(frame)
            msg = self._parse(frame)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                elements.clear()
                session = msg.new_session
                self.main_hash, self.page_hash = session.main_script_hash, session.page_script_hash
                self.pages = {p.url_pathname: p.page_script_hash for p in session.app_pages}
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._add_element(msg, elements, run)
            elif kind == "script_finished" and self._finished(msg.script_finished, run, start, elements):
                return run

    def _parse(self, frame: bytes) -> ForwardMsg:
        """The frame's message, a reference to a cached message replaced by that message (cacheable ones kept)."""
        msg = ForwardMsg()
        msg.ParseFromString(frame)
        if msg.WhichOneof("type") == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                raise ProtocolError(f"server referred to a message this client never had ({msg.ref_hash})")
            ref, msg = msg, ForwardMsg()
            msg.CopyFrom(cached)
            msg.metadata.CopyFrom(ref.metadata)
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
        return msg

    @staticmethod
    def _add_element(msg: ForwardMsg, elements: dict[tuple, Element], run: Run) -> None:
        element = msg.delta.new_element
        element_kind = element.WhichOneof("type")
        path = tuple(msg.metadata.delta_path)
        elements[path] = _element(element_kind, getattr(element, element_kind), path[0] if path else 0)
        if element_kind == "exception":
            run.exceptions.append(elements[path].text)
        elif element_kind == "alert" and element.alert.format == element.alert.ERROR:
            run.exceptions.append(f"st.error: {element.alert.body}")

    def _finished(self, how: int, run: Run, start: float, elements: dict[tuple, Element]) -> bool:
        """Record a ``script_finished``; True when it ends the run (not an early rerun or a fragment's run)."""
        if how == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            run.early_reruns += 1
            return False
        if how not in _FINAL:
            return False            # a fragment's own run (e.g. the hover card)
        run.seconds = time.perf_counter() - start
        run.status = _FINAL[how]
        run.elements = [elements[p] for p in sorted(elements)]
        live = {e.id for e in run.elements if e.id}
        self._widgets = {k: v for k, v in self._widgets.items() if k in live}
        if len(self._cache) > 500:      # the browser's cache is bounded too
            self._cache.clear()
        return True


def plotly_click(row: int, x: float = 0.0, y: float = 0.0) -> str:
    """The widget value a plotly chart's selection sends for a click on the point whose customdata is ``row``."""
    point = {"curve_number": 0, "point_number": row, "point_index": row, "x": x, "y": y, "customdata": [row]}
    return json.dumps({"selection": {"points": [point], "point_indices": [row], "box": [], "lasso": []}})


# -- the server ------------------------------------------------------------------------------
def server_rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` (VmRSS in /proc/<pid>/status), MB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise ProtocolError(f"no VmRSS for pid {pid}")


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
