"""Bad input over real sockets: each gets the dialect's error reply (or a clean close), the server keeps
running, and the other sessions on it keep working."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from relayws import PROJECT, TOKEN, Rest, V2Ws, V4Ws, Ws, basic, running_box

from relaybox.app import RelayBox
from relaybox.protocol.jsonrpc import MAX_FRAME_BYTES

CALLER, OFFICE, BUSY = "+15551110000", "+15552220000", "+15559990000"


# One event loop for the module, so the REST-only tests can share one server (they must leave no state behind).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Server:
    box: RelayBox
    http: aiohttp.ClientSession
    rest: Rest
    ws_url: str
    opened: list[Ws]

    async def v4(self, contexts: list[str] | None = None) -> V4Ws:
        ws = await V4Ws.open(self.http, self.ws_url)
        self.opened.append(ws)
        assert "result" in await ws.connect(contexts)
        if contexts:
            await asyncio.sleep(0.08)  # routing to new contexts starts 50 ms after the acknowledgement
        return ws

    async def v2(self, contexts: list[str]) -> V2Ws:
        ws = await V2Ws.open(self.http, self.ws_url)
        self.opened.append(ws)
        await ws.handshake(contexts)
        return ws

    async def raw(self) -> Ws:
        ws = await Ws.open(self.http, self.ws_url)
        self.opened.append(ws)
        return ws

    async def healthy(self) -> None:
        status, body = await self.rest.call("GET", "/api/health", auth="")
        assert status == 200 and body["status"] == "ok"

    async def call_in(self, context: str = "office", script: list[dict[str, Any]] | None = None) -> str:
        body = {"from": CALLER, "to": OFFICE, "context": context, "script": script or []}
        created = await self.rest.ok("POST", "/api/sandbox/calls", body, status=201)
        return str(created["call_id"])


@contextlib.asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[Server]:
    async with running_box(data_dir) as box, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{box.bound_port}"
        srv = Server(box, http, Rest(http, base), f"ws://127.0.0.1:{box.bound_port}/", [])
        try:
            yield srv
        finally:
            for ws in srv.opened:
                await ws.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    """A fresh server for tests that connect clients or change state."""
    async with serving(tmp_path) as srv:
        yield srv


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """One server for the REST refusal tests: every request they make is refused, so nothing changes."""
    async with serving(tmp_path_factory.mktemp("shared")) as srv:
        yield srv


def rpc_error(frame: dict[str, Any], code: int, req_id: Any = "any") -> None:
    assert "error" in frame and "result" not in frame, frame
    assert frame["error"]["code"] == code, frame
    assert isinstance(frame["error"]["message"], str) and frame["error"]["message"]
    if req_id != "any":
        assert frame["id"] == req_id


async def other_session_still_works(server: Server, other: V4Ws | V2Ws) -> None:
    await server.healthy()
    assert await other.ping()
    call_id = await server.call_in("office")
    await other.wait_receive(call_id)
    assert (await other.command("calling.answer", {"call_id": call_id}))["code"] == "200"
    await other.wait_state(call_id, "answered")


async def assert_survives(server: Server, bad: V4Ws | V2Ws, other: V4Ws | V2Ws) -> None:
    assert not bad.closed.is_set()
    assert await bad.ping()
    await other_session_still_works(server, other)


# ---------------------------------------------------------------------------------------------- WebSocket


@pytest.mark.parametrize("dialect", ["v2", "v4"])
async def test_every_bad_input_gets_an_error_reply_and_nothing_breaks(server: Server, dialect: str) -> None:
    other: V4Ws | V2Ws = await (server.v2(["office"]) if dialect == "v4" else server.v4(["office"]))
    bad: V4Ws | V2Ws = await (server.v4() if dialect == "v4" else server.v2(["elsewhere"]))

    async def command(method: str, params: Any) -> dict[str, Any]:
        if isinstance(bad, V2Ws):
            reply = await bad.execute(method, params)
            return dict(reply["result"]["result"]) if "result" in reply else reply
        reply = await bad.request(method, params)
        return dict(reply["result"]) if "result" in reply else reply

    # malformed JSON
    n = len(bad.frames)
    await bad.send_raw('{"jsonrpc":"2.0","id":"m1","method":')
    rpc_error(await bad.next_error_after(n), -32700, req_id=None)
    await assert_survives(server, bad, other)

    # a JSON array (a batch)
    n = len(bad.frames)
    await bad.send_raw(json.dumps([{"jsonrpc": "2.0", "id": "b1", "method": "signalwire.ping"}]))
    rpc_error(await bad.next_error_after(n), -32600, req_id=None)

    # not an object at all, and a bad id
    n = len(bad.frames)
    await bad.send_raw('"hello"')
    rpc_error(await bad.next_error_after(n), -32600)
    n = len(bad.frames)
    await bad.send_raw('{"jsonrpc":"2.0","id":true,"method":"signalwire.ping"}')
    rpc_error(await bad.next_error_after(n), -32600)

    # a binary frame
    n = len(bad.frames)
    await bad.send_bytes(b'{"jsonrpc":"2.0","id":"bin","method":"signalwire.ping"}')
    rpc_error(await bad.next_error_after(n), -32600)
    await assert_survives(server, bad, other)

    # unknown methods, top level and (v2) inside blade.execute
    rpc_error(await bad.request("nope.nothing", {}, req_id="u1"), -32601, req_id="u1")
    rpc_error(await command("calling.teleport", {"call_id": "x"}), -32601)

    # missing and mistyped params
    for params, field in [({}, "call_id"), ({"call_id": 5}, "call_id"), ({"call_id": ""}, "call_id")]:
        result = await command("calling.answer", params)
        assert result["code"] == "400", result
        assert field in result["message"]
    result = await command("calling.dial", {"devices": "+15553330000"})
    assert result["code"] == "400" and "devices" in result["message"]
    result = await command("calling.end", {"call_id": "x", "reason": 7})
    assert result["code"] in ("400", "404")
    if isinstance(bad, V2Ws):
        rpc_error(await bad.execute("calling.answer", [1]), -32602)
        rpc_error(await bad.request("blade.execute", {"method": "calling.answer"}), -32602)
    else:
        rpc_error(await bad.request("calling.answer", ["x"]), -32602)
        rpc_error(await bad.request("signalwire.receive", {"contexts": "office"}), -32602)
    await assert_survives(server, bad, other)

    # commands on an unknown call
    for method in ("calling.answer", "calling.end", "calling.pass"):
        result = await command(method, {"node_id": "n", "call_id": "00000000-0000-0000-0000-000000000000"})
        assert result["code"] == "404", (method, result)

    # commands on an ended call: dial a busy phone, wait for the end
    await server.rest.ok("PUT", f"/api/sandbox/phones/{BUSY}", {"script": [{"reject": "busy"}]})
    dial = await command("calling.dial", {"tag": "busy-dial", "devices": [[
        {"type": "phone", "params": {"from_number": OFFICE, "to_number": BUSY}}]]})
    assert dial["code"] == "200"
    ended = await bad.wait_for(lambda: next((e["params"]["call_id"] for e in bad.events("calling.call.state")
                                             if e["params"]["call_state"] == "ended"), None))
    for method in ("calling.answer", "calling.end"):
        result = await command(method, {"call_id": ended})
        assert result["code"] == "404", (method, result)
    await assert_survives(server, bad, other)


async def test_commands_before_connect(server: Server) -> None:
    other = await server.v4(["office"])
    ws = await server.raw()
    rpc_error(await ws.request("calling.answer", {"call_id": "x"}, req_id="early"), -32003, req_id="early")
    n = len(ws.frames)
    await ws.send_raw("not json")
    rpc_error(await ws.next_error_after(n), -32700)
    n = len(ws.frames)
    await ws.send_bytes(b"\x00\x01")
    rpc_error(await ws.next_error_after(n), -32600)
    # the same socket can still connect
    reply = await ws.request("signalwire.connect", {"authentication": {"project": PROJECT, "token": TOKEN}})
    assert reply["result"]["protocol"]
    await other_session_still_works(server, other)


@pytest.mark.parametrize(("method", "dialect"), [("blade.connect", "v2"), ("signalwire.connect", "v4")])
async def test_auth_failure_over_the_wire(server: Server, method: str, dialect: str) -> None:
    ws = await server.raw()
    reply = await ws.request(method, {"authentication": {"project": PROJECT, "token": "wrong"}}, req_id="auth")
    assert reply["id"] == "auth"
    assert reply["error"]["code"] != -32000
    assert reply["error"]["message"]
    assert "result" not in reply
    await asyncio.sleep(0.05)
    assert not ws.closed.is_set()
    status, health = await server.rest.call("GET", "/api/health", auth="")
    assert status == 200 and health["sessions"] == 0


@pytest.mark.parametrize("binary", [False, True])
async def test_oversized_frame_closes_cleanly_with_1009(server: Server, binary: bool) -> None:
    other = await server.v2(["office"])
    bad = await server.v4()
    big = '{"jsonrpc":"2.0","id":"big","method":"signalwire.ping","params":{"pad":"' + "x" * MAX_FRAME_BYTES + '"}}'
    # the server refuses the frame from its header, so the rest of the upload may hit a closed socket
    with contextlib.suppress(ConnectionError):
        if binary:
            await bad.send_bytes(big.encode())
        else:
            await bad.send_raw(big)
    await asyncio.wait_for(bad.closed.wait(), 5)
    assert bad.close_code == 1009
    assert not any(f.get("id") == "big" for f in bad.frames)
    await other_session_still_works(server, other)
    # and a new connection is accepted
    again = await server.v4(["office"])
    assert await again.ping()


async def test_a_frame_just_under_the_limit_is_handled(server: Server) -> None:
    ws = await server.v4()
    pad = "x" * (MAX_FRAME_BYTES - 200)
    reply = await ws.request("signalwire.ping", {"pad": pad}, req_id="near")
    assert "timestamp" in reply["result"]


async def test_abrupt_disconnects_do_not_hurt_the_server(server: Server) -> None:
    other = await server.v4(["office"])
    for _ in range(3):
        ws = await server.raw()
        await ws.send_raw('{"jsonrpc":"2.0","id":"1","method":"signalwire.connect","params":')  # half a frame
        await ws.close()
    half = await server.v4(["office"])
    await half.close()  # gone right after subscribing
    await asyncio.sleep(0.1)
    await other_session_still_works(server, other)


async def test_a_flood_of_bad_frames_is_answered_in_order(server: Server) -> None:
    other = await server.v2(["office"])
    ws = await server.v4()
    for i in range(200):
        await ws.send_raw(json.dumps({"jsonrpc": "2.0", "id": f"f{i}", "method": "calling.nope", "params": {}}))
    await ws.wait_for(lambda: sum(1 for f in ws.frames if str(f.get("id", "")).startswith("f")) == 200)
    ids = [f["id"] for f in ws.frames if str(f.get("id", "")).startswith("f")]
    assert ids == [f"f{i}" for i in range(200)]
    assert all(f["error"]["code"] == -32601 for f in ws.frames if f["id"] in ids)
    assert await ws.ping()
    await other_session_still_works(server, other)


# ---------------------------------------------------------------------------------------------- REST


@pytest.mark.parametrize(
    "auth",
    [
        "",  # none
        basic(PROJECT, "wrong"),
        basic("other", TOKEN),
        "Basic " + base64.b64encode(f"{PROJECT}{TOKEN}".encode()).decode(),  # no colon
        "Basic !!!not-base64!!!",
        "Bearer " + TOKEN,
        "Basic",
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/api/numbers"), ("GET", "/api/calls"),
                                              ("POST", "/api/sandbox/calls"), ("GET", "/api/sandbox/calls/x")])
async def test_rest_needs_basic_auth(shared: Server, auth: str, method: str, path: str) -> None:
    status, body = await shared.rest.call(method, path, {"from": CALLER, "to": OFFICE} if method == "POST" else None,
                                          auth=auth or "")
    assert status == 401
    assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"]
    assert shared.box.calling.calls == {}


async def test_health_needs_no_auth(shared: Server) -> None:
    await shared.healthy()


MALFORMED: list[tuple[str, str, str | bytes, str]] = [
    ("POST", "/api/numbers", "{", "malformed"),
    ("POST", "/api/numbers", b"\xff\xfe", "malformed"),
    ("POST", "/api/numbers", "", "required"),
    ("POST", "/api/numbers", "[1, 2]", "object"),
    ("POST", "/api/numbers", '"x"', "object"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", "{'script': []}", "malformed"),
    ("POST", "/api/sandbox/calls", '{"from": "+15551110000",', "malformed"),
]


@pytest.mark.parametrize(("method", "path", "raw", "reason"), MALFORMED)
async def test_rest_malformed_bodies_are_400(shared: Server, method: str, path: str, raw: str | bytes,
                                              reason: str) -> None:
    status, body = await shared.rest.call(method, path, raw=raw, headers={"Content-Type": "application/json"})
    assert status == 400, body
    assert reason in body["error"]


BAD_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/numbers", {"number": OFFICE, "context": "office", "colour": "red"}, "colour"),
    ("POST", "/api/numbers", {"number": OFFICE}, "context"),
    ("POST", "/api/numbers", {"number": "5552220000", "context": "office"}, "number"),
    ("POST", "/api/numbers", {"number": 15552220000, "context": "office"}, "number"),
    ("POST", "/api/numbers", {"number": OFFICE, "context": "   "}, "context"),
    ("POST", "/api/numbers", {"number": OFFICE, "context": "c" * 129}, "context"),
    ("POST", "/api/numbers", {"number": OFFICE, "context": ["office"]}, "context"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": [{"ring": -1}]}, "ring"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": [{"dance": True}]}, "dance"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": [{"ring": 1, "answer": True}]}, "one key"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": "ring"}, "list"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": [{"reject": "maybe"}]}, "reject"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {"script": [], "extra": 1}, "extra"),
    ("PUT", f"/api/sandbox/phones/{OFFICE}", {}, "script"),
    ("PUT", "/api/sandbox/phones/5552220000", {"script": []}, "number"),
    ("POST", "/api/sandbox/calls", {"from": CALLER}, "to"),
    ("POST", "/api/sandbox/calls", {"from": "alice", "to": OFFICE}, "from"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": "12"}, "to"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "script": [{"answer": True}]}, "answer"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "script": [{"wait": "1"}]}, "wait"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "script": {"wait": 1}}, "list"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "context": ""}, "context"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "headers": [{"name": "X"}]}, "headers"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "headers": "X-A: 1"}, "headers"),
    ("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "when": "now"}, "when"),
    ("POST", "/api/sandbox/network/drop", {"session": 5}, "session"),
    ("POST", "/api/sandbox/network/drop", {"everyone": True}, "everyone"),
]


@pytest.mark.parametrize(("method", "path", "body", "reason"), BAD_BODIES)
async def test_rest_bad_values_are_400_with_a_reason(shared: Server, method: str, path: str, body: dict[str, Any],
                                                     reason: str) -> None:
    status, payload = await shared.rest.call(method, path, body)
    assert status == 400, payload
    assert isinstance(payload, dict) and set(payload) == {"error"}
    assert reason in payload["error"]
    assert shared.box.calling.calls == {}
    assert shared.box.store.numbers() == []
    assert shared.box.network.scripts == {}


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=10001", "limit=1.5", "limit=-3"])
async def test_rest_bad_query_numbers_are_400(shared: Server, query: str) -> None:
    status, payload = await shared.rest.call("GET", "/api/calls?" + query)
    assert status == 400
    assert "limit" in payload["error"]


async def test_rest_sandbox_call_list_needs_a_number(shared: Server) -> None:
    status, payload = await shared.rest.call("GET", "/api/sandbox/calls")
    assert status == 400 and "number" in payload["error"]


@pytest.mark.parametrize("call_id", ["nope", "sbx-0000000000000000", "..%2F..%2Fetc"])
async def test_rest_unknown_sandbox_call_is_404(shared: Server, call_id: str) -> None:
    status, payload = await shared.rest.call("GET", f"/api/sandbox/calls/{call_id}")
    assert status == 404
    assert isinstance(payload, dict) and payload["error"]


async def test_rest_unknown_number_delete_is_404(shared: Server) -> None:
    status, payload = await shared.rest.call("DELETE", "/api/numbers/%2B15550000000")
    assert status == 404 and payload["error"]


async def test_rest_bad_input_leaves_the_server_working(server: Server) -> None:
    other = await server.v4(["office"])
    for method, path, raw, _ in MALFORMED:
        await server.rest.call(method, path, raw=raw)
    for method, path, body, _ in BAD_BODIES:
        await server.rest.call(method, path, body)
    status, _ = await server.rest.call("POST", "/api/numbers", raw=b"x" * (2 * 1024 * 1024))
    assert status in (400, 413)
    await other_session_still_works(server, other)
    # good requests still work after all that
    await server.rest.ok("POST", "/api/numbers", {"number": OFFICE, "context": "office"}, status=201)
    assert await server.rest.ok("GET", "/api/numbers") == {"numbers": [{"number": OFFICE, "context": "office"}]}
