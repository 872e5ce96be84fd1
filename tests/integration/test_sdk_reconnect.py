"""Reconnect and resume of relaybox's own SDKs: the socket drops (POST /api/sandbox/network/drop), the v2
Client reconnects with its old sessionid and asks for its old protocol (as Node does), so relaybox resumes the
session: the protocol, the contexts and the live calls are kept. The v4 RelayClient does the same with
`protocol` in signalwire.connect."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Relaybox

from relaybox.relay import RelayClient
from relaybox.relay.calling import Call
from relaybox.relay.client import Client
from relaybox.relay.v4 import Call as V4Call

CALLER, OFFICE = "+15551110000", "+15552220000"


def drop(box: Relaybox) -> int:
    status, body = box.api("POST", "/api/sandbox/network/drop", None)
    assert status == 200, body
    return int(body.get("dropped", 0)) if isinstance(body, dict) else 0


async def test_v2_client_resumes_its_session_and_keeps_the_call(relaybox: Relaybox) -> None:
    relaybox.add_number(OFFICE, "office")
    client = Client(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url)
    client.RECONNECT_DELAY = 0.3
    ready = asyncio.Queue[int]()
    calls: asyncio.Queue[Call] = asyncio.Queue()
    count = 0

    async def on_ready(c: Client) -> None:
        nonlocal count
        count += 1
        await c.calling.receive(["office"], calls.put)
        await ready.put(count)

    client.on("ready", on_ready)
    runner = client.connect()
    try:
        assert await asyncio.wait_for(ready.get(), 10) == 1
        protocol, session = client.protocol, client.session_id
        relaybox.place_call(CALLER, OFFICE, script=[{"wait_for": "answer"}, {"wait": 30}, {"hangup": True}])
        call = await asyncio.wait_for(calls.get(), 10)
        assert (await call.answer()).successful

        await asyncio.get_running_loop().run_in_executor(None, drop, relaybox)
        assert await asyncio.wait_for(ready.get(), 15) == 2
        assert client.protocol == protocol and client.session_id == session  # resumed, not a new session
        # the call survived: the far end hangs up (30 s platform time = 3 s) and this client hears it
        assert await asyncio.wait_for(call.wait_for_ended(), 15)
        # and the context still routes to this client
        relaybox.place_call(CALLER, OFFICE, script=[{"wait": 2}, {"hangup": True}])
        second = await asyncio.wait_for(calls.get(), 10)
        assert second.id != call.id
    finally:
        await client.disconnect()
        if runner is not None:
            await asyncio.wait_for(runner, 10)


async def test_v4_client_resumes_under_run(relaybox: Relaybox) -> None:
    relaybox.add_number(OFFICE, "office")
    client = RelayClient(project=relaybox.project, token=relaybox.token, host=relaybox.ws_url, contexts=["office"])
    calls: asyncio.Queue[V4Call] = asyncio.Queue()

    @client.on_call
    async def handle(call: V4Call) -> None:
        await call.answer()
        await calls.put(call)

    runner: asyncio.Task[Any] = asyncio.ensure_future(client._run_forever())
    try:
        await _until(lambda: client._connected)
        protocol = client.relay_protocol
        relaybox.place_call(CALLER, OFFICE, script=[{"wait_for": "answer"}, {"wait": 30}, {"hangup": True}])
        call = await asyncio.wait_for(calls.get(), 10)
        await asyncio.get_running_loop().run_in_executor(None, drop, relaybox)
        await _until(lambda: not client._connected)
        await _until(lambda: client._connected, 15)
        assert client.relay_protocol == protocol
        ended = await call.wait_for_ended(timeout=15)
        assert ended.params["call_state"] == "ended"
    finally:
        await client._shutdown()
        await asyncio.wait_for(runner, 10)


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)
