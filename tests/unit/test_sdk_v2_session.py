"""relaybox.relay.client.Client against a scripted in-process Blade server (aiohttp): the handshake frames in
order, keep-alive, the socket events, and the reconnect that asks to resume the session (old sessionid in
blade.connect, old protocol in setup), with commands queued during the outage flushed afterwards."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web

from relaybox.relay.client import Client

SIGNATURE = "sig0"


class FakeBlade:
    """Answers the v2 handshake like the real service; drops the first connection on demand."""

    def __init__(self) -> None:
        self.frames: list[list[dict[str, Any]]] = []  # per connection
        self.sockets: list[web.WebSocketResponse] = []
        self.protocols = 0

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        frames: list[dict[str, Any]] = []
        self.frames.append(frames)
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            frames.append(frame)
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": frame["id"], "result": self.answer(frame)}))
        return ws

    def answer(self, frame: dict[str, Any]) -> dict[str, Any]:
        method, params = frame["method"], frame["params"]
        if method == "blade.connect":
            return {"sessionid": params.get("sessionid", "sess-1"), "authorization": {"signature": SIGNATURE}}
        if method == "blade.execute" and params["method"] == "setup":
            self.protocols += 1
            wanted = params["params"].get("protocol")
            return {"result": {"protocol": wanted or f"signalwire_{SIGNATURE}_{self.protocols}"}}
        if method == "blade.execute":
            return {"result": {"code": "200", "message": "ok"}}
        return {}


async def start(server: FakeBlade) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/", server.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}"


async def test_handshake_reconnect_and_resume() -> None:
    server = FakeBlade()
    runner, url = await start(server)
    client = Client(project="proj", token="tok", host=url)
    client.RECONNECT_DELAY = 0.1
    events: list[str] = []
    ready: asyncio.Queue[str | None] = asyncio.Queue()
    client.on("signalwire.socket.open", lambda: events.append("open"))
    client.on("signalwire.socket.close", lambda: events.append("close"))
    client.on("ready", lambda c: ready.put_nowait(c.protocol))
    messages: list[Any] = []
    client.on("signalwire.socket.message", messages.append)
    task = client.connect()
    try:
        first = await asyncio.wait_for(ready.get(), 5)
        assert first == f"signalwire_{SIGNATURE}_1"
        await asyncio.sleep(0.05)
        methods = [(f["method"], f["params"].get("method")) for f in server.frames[0]]
        assert methods[:4] == [
            ("blade.connect", None),
            ("blade.execute", "setup"),
            ("blade.subscription", None),
            ("blade.ping", None),
        ]
        assert "sessionid" not in server.frames[0][0]["params"]
        # every frame from the server is a signalwire.socket.message event (the parsed message)
        assert [m.id for m in messages[:2]] == [f["id"] for f in server.frames[0][:2]]
        assert server.frames[0][1]["params"]["params"] == {}
        assert server.frames[0][2]["params"] == {"command": "add", "protocol": first, "channels": ["notifications"]}

        # the server says goodbye and drops the socket; a command issued meanwhile is queued
        await server.sockets[0].close()
        await asyncio.sleep(0)
        pending = asyncio.ensure_future(client.calling.receive(["office"], lambda call: None))
        second = await asyncio.wait_for(ready.get(), 5)
        assert second == first  # the same protocol: resumed
        connect = server.frames[1][0]
        assert connect["method"] == "blade.connect" and connect["params"]["sessionid"] == "sess-1"
        assert server.frames[1][1]["params"]["params"] == {"protocol": first}
        await asyncio.wait_for(pending, 5)
        receive = [f for f in server.frames[1] if f["params"].get("method") == "signalwire.receive"]
        assert receive and receive[0]["params"]["protocol"] == first
        assert events[:3] == ["open", "close", "open"]
    finally:
        await client.disconnect()
        if task is not None:
            await asyncio.wait_for(task, 5)
        await runner.cleanup()


async def test_socket_error_event_when_the_host_is_down() -> None:
    client = Client(project="p", token="t", host="ws://127.0.0.1:9")  # nothing listens on port 9
    client.RECONNECT_DELAY = 0.05
    errors: asyncio.Queue[Any] = asyncio.Queue()
    client.on("signalwire.socket.error", errors.put_nowait)
    task = client.connect()
    try:
        error = await asyncio.wait_for(errors.get(), 5)
        assert isinstance(error, Exception)
        assert not client.connected
    finally:
        await client.disconnect()
        if task is not None:
            await asyncio.wait_for(task, 5)
