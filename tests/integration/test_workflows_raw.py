"""A raw WebSocket workflow server (no SDK) against a served relaybox: bad input from a workflow gets error
responses while the device keeps working, and a workflow that closes or crashes mid-call leaves no call
hanging."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

ALICE, BOB = "990007560011111", "990007560023456"
ALICE_URN, BOB_URN = "urn:relay-resource:name:device:Alice", "urn:relay-resource:name:device:Bob"


class Conn:
    """One workflow instance as the raw server sees it."""

    def __init__(self, server: RawServer, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        self.server, self.ws = server, ws
        self.transport = request.transport
        self.frames: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.closed = threading.Event()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.server.loop).result(5)

    def send_raw(self, text: str) -> None:
        self._run(self.ws.send_str(text))

    def send(self, msg: dict[str, Any]) -> None:
        self.send_raw(json.dumps(msg))

    def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        msg = self.frames.get(timeout=timeout)
        assert msg is not None, "the platform closed the connection"
        return msg

    def recv_type(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame of `_type` kind (events before it are dropped)."""
        while True:
            msg = self.recv(timeout)
            if msg["_type"] == kind:
                return msg

    def request(self, kind: str, rid: str, **body: Any) -> dict[str, Any]:
        self.send({"_type": f"wf_api_{kind}_request", "_id": rid, **body})
        while True:
            msg = self.recv()
            if msg.get("_id") == rid:
                return msg

    def crash(self) -> None:
        """Drop the TCP connection without a close frame, as a crashed process would."""
        def abort() -> None:
            if self.transport is not None:
                self.transport.abort()

        self.server.loop.call_soon_threadsafe(abort)

    def close(self) -> None:
        self._run(self.ws.close())


class RawServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.conns: queue.Queue[Conn] = queue.Queue()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(self, ws, request)
        self.conns.put(conn)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                conn.frames.put(json.loads(msg.data))
        conn.frames.put(None)
        conn.closed.set()
        return ws

    def accept(self, timeout: float = 10.0) -> Conn:
        return self.conns.get(timeout=timeout)

    def uri(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    try:
        yield server
    finally:
        server.stop()


def setup(box: Any, raw: RawServer, trigger: dict[str, Any], install: str | None = None) -> None:
    for name, did in (("Alice", ALICE), ("Bob", BOB)):
        assert box.api("POST", "/api/sandbox/devices", {"name": name, "id": did})[0] == 201
    rec: dict[str, Any] = {"name": "raw", "config": {"trigger": {"start": {"workflow": {"uri": raw.uri("raw")}},
                                                               **trigger}}}
    if install:
        rec["install"] = [install]
    else:
        rec["install_rule"] = "urn:relay-resource:all:device"
    assert box.api("POST", "/api/workflows", rec)[0] == 201


def act(box: Any, name: str, **action: Any) -> dict[str, Any]:
    status, body = box.api("POST", f"/api/sandbox/devices/{name}/actions", action)
    assert status == 200, body
    return body


def state(box: Any, name: str) -> dict[str, Any]:
    return box.api("GET", f"/api/sandbox/devices/{name}")[1]


def said(box: Any, name: str) -> list[str]:
    return [e["said"] for e in state(box, name)["transcript"] if "said" in e]


def instances(box: Any) -> list[Any]:
    return box.api("GET", "/api/workflows/instances")[1]["instances"]


def test_bad_requests_get_errors_and_the_device_keeps_working(relaybox: Any, raw: RawServer) -> None:
    setup(relaybox, raw, {"on_phrases": ["raw"]})
    act(relaybox, "Alice", speak="raw please")
    wf = raw.accept()
    start = wf.recv()
    assert start == {"_type": "wf_api_start_event", "trigger": {"type": "phrase", "args": {
        "phrase": "raw", "spillover": "please", "source_uri": ALICE_URN}}}
    errors: dict[str, tuple[str, dict[str, Any]]] = {
        "unknown request": ("frobnicate", {}),
        "missing target": ("say", {"text": "hi"}),
        "bad urn": ("start_interaction", {"name": "x", "_target": {"uris": ["urn:relay-resource:nope"]}}),
        "not a urn": ("start_interaction", {"name": "x", "_target": {"uris": ["Alice"]}}),
        "unknown device": ("start_interaction", {"name": "x", "_target": {"uris": [
            "urn:relay-resource:name:device:Zed"]}}),
        "unknown group": ("notification", {"type": "alert", "name": "n", "text": "t", "_target": {"uris": [
            "urn:relay-resource:name:group:Nobody"]}}),
        "bad callee": ("call", {"uri": "tel:+15551234567", "_target": {"uris": [ALICE_URN]}}),
        "no interaction": ("say", {"text": "hi", "_target": {"uris": [ALICE_URN]}}),
        "unknown call": ("answer", {"call_id": "dc-nope", "_target": {"uris": [ALICE_URN]}}),
        "bad timer": ("set_timer", {"type": "sometimes", "name": "t", "timeout": 1}),
    }
    got = {}
    for i, (what, (kind, body)) in enumerate(errors.items()):
        reply = wf.request(kind, f"e{i}", **body)
        assert reply["_type"] == "wf_api_error_response", (what, reply)
        got[what] = reply["error"]
    assert got == {
        "unknown request": "unknown_request", "missing target": "missing_target", "bad urn": "invalid_uri",
        "not a urn": "invalid_uri", "unknown device": "unknown_device", "unknown group": "unknown_group",
        "bad callee": "invalid_uri", "no interaction": "no_interaction_on_target", "unknown call": "unknown_call",
        "bad timer": "invalid_timer",
    }
    wf.send_raw("this is not JSON")
    wf.send({"_type": "wf_api_say_request"})  # no _id: nothing to answer
    assert wf.request("x", "e-type", **{"_type": "bogus"}) == {
        "_type": "wf_api_error_response", "_id": "e-type", "error": "unknown_request_type"}
    # the instance still works ...
    assert wf.request("start_interaction", "ok1", name="ix", _target={"uris": [ALICE_URN]}) == {
        "_type": "wf_api_start_interaction_response", "_id": "ok1",  # Go reads source_uri: the interaction URN
        "source_uri": "urn:relay-resource:name:interaction:ix?device=urn%3Arelay-resource%3Aname%3Adevice%3AAlice"}
    ix = wf.recv_type("wf_api_interaction_lifecycle_event")["source_uri"]
    reply = wf.request("say", "ok2", text="still here", _target={"uris": [ix]})
    assert reply == {"_type": "wf_api_say_response", "_id": "ok2", "id": "ok2"}
    assert wf.recv_type("wf_api_prompt_event") == {"_type": "wf_api_prompt_event", "type": "started", "id": "ok2",
                                                   "source_uri": ix}
    assert "still here" in said(relaybox, "Alice")
    # ... and so does the device: built-in calling
    act(relaybox, "Alice", speak="call Bob")
    assert said(relaybox, "Bob") == ["Call from Alice"]
    act(relaybox, "Bob", button="assistant", taps=2)
    assert said(relaybox, "Alice")[-1] == "Bob is not available"
    wf.send({"_type": "wf_api_terminate_request", "_id": "t1"})
    assert wf.recv_type("wf_api_stop_event") == {"_type": "wf_api_stop_event", "reason": "normal"}
    assert wf.closed.wait(5)
    relaybox.wait_until(lambda: instances(relaybox) == [])
    assert state(relaybox, "Alice")["channel"] == "Assistant"


@pytest.mark.parametrize("how", ["close", "crash"])
def test_inbound_workflow_gone_mid_call_ends_the_call(relaybox: Any, raw: RawServer, how: str) -> None:
    setup(relaybox, raw, {"on_incoming_call": ".*"}, BOB)
    act(relaybox, "Alice", speak="call Bob")
    wf = raw.accept()
    start = wf.recv()
    assert start["trigger"]["type"] == "telephony" and start["trigger"]["args"]["source_uri"] == BOB_URN
    received = wf.recv_type("wf_api_call_received_event")
    assert wf.request("answer", "a1", call_id=received["call_id"], _target={"uris": [BOB_URN]})["_type"] == \
        "wf_api_answer_response"
    wf.recv_type("wf_api_call_connected_event")
    assert state(relaybox, "Alice")["in_call"] and state(relaybox, "Bob")["in_call"]
    wf.close() if how == "close" else wf.crash()
    relaybox.wait_until(lambda: not state(relaybox, "Alice")["in_call"], message="the call to end")
    assert not state(relaybox, "Bob")["in_call"]
    assert said(relaybox, "Alice")[-1] == "Call ended"
    relaybox.wait_until(lambda: instances(relaybox) == [])


def test_inbound_workflow_gone_while_ringing(relaybox: Any, raw: RawServer) -> None:
    setup(relaybox, raw, {"on_incoming_call": ".*"}, BOB)
    act(relaybox, "Alice", speak="call Bob")
    wf = raw.accept()
    wf.recv_type("wf_api_call_received_event")
    wf.crash()
    relaybox.wait_until(lambda: not state(relaybox, "Alice")["in_call"], message="the call to fail")
    assert said(relaybox, "Alice")[-1] == "Bob is not available"
    assert not state(relaybox, "Bob")["in_call"]


def test_outbound_workflow_gone_after_placing_the_call(relaybox: Any, raw: RawServer) -> None:
    setup(relaybox, raw, {"on_call_request": ".*"}, ALICE)
    act(relaybox, "Alice", speak="call Bob")
    wf = raw.accept()
    wf.recv_type("wf_api_start_event")
    request = wf.recv_type("wf_api_call_start_request_event")
    assert request["uri"] == request["destination"] == BOB_URN
    reply = wf.request("call", "c1", uri=request["uri"], _target={"uris": [ALICE_URN]})
    assert reply["_type"] == "wf_api_call_response" and reply["call_id"].startswith("dc-")
    wf.recv_type("wf_api_call_ringing_event")
    assert said(relaybox, "Bob") == ["Call from Alice"]
    wf.crash()
    relaybox.wait_until(lambda: not state(relaybox, "Bob")["in_call"], message="Bob to stop ringing")
    assert not state(relaybox, "Alice")["in_call"]
    relaybox.wait_until(lambda: instances(relaybox) == [])
