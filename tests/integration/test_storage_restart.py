"""What survives a restart on the same data dir: numbers, phone scripts, dev credentials and call history.

One restart goes through `relaybox serve` and SIGTERM, the way a user stops it: calls are ended, clients
are told, state is flushed, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from relayws import PROJECT, TOKEN, RawWs, Rest, ServeProcess, V2Ws, V4Ws, basic, running_box

from relaybox.app import RelayBox, Settings
from relaybox.media import audiofiles

CALLER, OFFICE, BUSY, SLOW = "+15551110000", "+15552220000", "+15559990000", "+15558880000"
BUSY_SCRIPT = [{"ring": 0.5}, {"reject": "busy"}]
SLOW_SCRIPT = [{"ring": 2}, {"answer": True}, {"say": "hello"}]


def phone(to: str) -> dict[str, Any]:
    return {"type": "phone", "params": {"from_number": OFFICE, "to_number": to}}


async def answered_inbound(rest: Rest, client: V4Ws | V2Ws, script: list[dict[str, Any]] | None = None) -> str:
    """A sandbox call to OFFICE (routed by its number), answered by `client`."""
    created = await rest.ok("POST", "/api/sandbox/calls", {"from": CALLER, "to": OFFICE, "script": script or []},
                            status=201)
    call_id = str(created["call_id"])
    await client.wait_receive(call_id)
    assert (await client.command("calling.answer", {"call_id": call_id}))["code"] == "200"
    await client.wait_state(call_id, "answered")
    return call_id


def by_id(calls: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["call_id"]: c for c in calls}


# ---------------------------------------------------------------------------------------------- in process


async def test_numbers_scripts_and_history_survive_a_restart(tmp_path: Path) -> None:
    started = time.time()
    async with running_box(tmp_path) as box, aiohttp.ClientSession() as http:
        rest = Rest(http, f"http://127.0.0.1:{box.bound_port}")
        await rest.ok("POST", "/api/numbers", {"number": OFFICE, "context": "office"}, status=201)
        await rest.ok("POST", "/api/numbers", {"number": SLOW, "context": "slow-ctx"}, status=201)
        await rest.ok("PUT", f"/api/sandbox/phones/{BUSY}", {"script": BUSY_SCRIPT})
        await rest.ok("PUT", f"/api/sandbox/phones/{SLOW}", {"script": SLOW_SCRIPT})
        await rest.ok("DELETE", f"/api/numbers/{SLOW.replace('+', '%2B')}")

        client = await V4Ws.open(http, f"ws://127.0.0.1:{box.bound_port}/")
        await client.connect(["office"])
        await asyncio.sleep(0.08)
        inbound = await answered_inbound(rest, client)
        assert (await client.command("calling.end", {"call_id": inbound, "reason": "hangup"}))["code"] == "200"
        await client.wait_state(inbound, "ended")
        assert (await client.command("calling.dial", {"tag": "to-busy", "devices": [[phone(BUSY)]]}))["code"] == "200"
        await client.wait_for(lambda: any(e["params"]["dial_state"] == "failed"
                                          for e in client.events("calling.call.dial")))
        outbound = next(e["params"]["call_id"] for e in client.events("calling.call.state")
                        if e["params"].get("tag") == "to-busy")
        await client.close()

    async with running_box(tmp_path) as box, aiohttp.ClientSession() as http:
        rest = Rest(http, f"http://127.0.0.1:{box.bound_port}")
        assert await rest.ok("GET", "/api/numbers") == {"numbers": [{"number": OFFICE, "context": "office"}]}
        assert (await rest.ok("GET", f"/api/sandbox/phones/{BUSY}"))["script"] == BUSY_SCRIPT
        assert (await rest.ok("GET", f"/api/sandbox/phones/{SLOW}"))["script"] == SLOW_SCRIPT
        assert (await rest.ok("GET", f"/api/sandbox/phones/{CALLER}"))["script"] == [{"ring": 1}, {"answer": True}]

        history = by_id((await rest.ok("GET", "/api/calls"))["calls"])
        assert set(history) == {inbound, outbound}
        row = history[inbound]
        assert row["direction"] == "inbound"
        assert (row["from_number"], row["to_number"]) == (CALLER, OFFICE)
        assert row["context"] == "office"
        assert row["device_type"] == "phone"
        assert row["state"] == "ended" and row["end_reason"] == "hangup"
        assert row["project"] == PROJECT
        assert started - 1 <= row["created_at"] <= row["answered_at"] <= row["ended_at"]
        row = history[outbound]
        assert row["direction"] == "outbound"
        assert (row["from_number"], row["to_number"]) == (OFFICE, BUSY)
        assert row["state"] == "ended" and row["end_reason"] == "busy"
        assert row["answered_at"] is None and row["ended_at"] >= row["created_at"]
        only_busy = await rest.ok("GET", "/api/calls?number=" + BUSY.replace("+", "%2B"))
        assert [c["call_id"] for c in only_busy["calls"]] == [outbound]
        assert len((await rest.ok("GET", "/api/calls?limit=1"))["calls"]) == 1

        # the kept number routing and phone script still act, not just show
        client = await V4Ws.open(http, f"ws://127.0.0.1:{box.bound_port}/")
        await client.connect(["office"])
        await asyncio.sleep(0.08)
        again = await answered_inbound(rest, client)
        assert again not in history
        assert (await client.command("calling.dial", {"tag": "busy-2", "devices": [[phone(BUSY)]]}))["code"] == "200"
        failed = await client.wait_for(lambda: next((e["params"] for e in client.events("calling.call.dial")
                                                     if e["params"]["dial_state"] == "failed"), None))
        assert failed["reason"] == "busy"
        await client.close()


async def test_dev_credentials_in_process(tmp_path: Path) -> None:
    first = RelayBox(Settings(data_dir=tmp_path / "a"))
    pair = (first.project, first.token)
    first.store.close()
    second = RelayBox(Settings(data_dir=tmp_path / "a"))
    assert (second.project, second.token) == pair
    second.store.close()
    other = RelayBox(Settings(data_dir=tmp_path / "b"))
    assert (other.project, other.token) != pair
    other.store.close()
    explicit = RelayBox(Settings(data_dir=tmp_path / "a", project="x", token="y"))
    assert (explicit.project, explicit.token) == ("x", "y")
    assert explicit.check_credentials("x", "y") and not explicit.check_credentials(*pair)
    explicit.store.close()


async def test_history_stays_newest_first_across_a_restart_at_high_speed(tmp_path: Path) -> None:
    ids = []
    for run in range(2):
        async with running_box(tmp_path, speed=1000) as box, aiohttp.ClientSession() as http:
            rest = Rest(http, f"http://127.0.0.1:{box.bound_port}")
            if run == 0:
                await asyncio.sleep(0.3)  # 300 platform seconds: the first call is stamped 5 minutes ahead
            created = await rest.ok("POST", "/api/sandbox/calls",
                                    {"from": CALLER, "to": OFFICE, "script": [{"hangup": True}]}, status=201)
            ids.append(created["call_id"])
    async with running_box(tmp_path) as box, aiohttp.ClientSession() as http:
        rest = Rest(http, f"http://127.0.0.1:{box.bound_port}")
        calls = (await rest.ok("GET", "/api/calls"))["calls"]
    assert [c["call_id"] for c in calls] == [ids[1], ids[0]]
    assert all(c["created_at"] <= time.time() + 1 for c in calls)


# ---------------------------------------------------------------------------------------------- subprocess


async def test_dev_credentials_are_created_once_and_kept(tmp_path: Path) -> None:
    pairs = []
    for run in range(2):
        serve = ServeProcess(tmp_path / "data", tmp_path / f"serve-{run}.log")
        serve.start()
        try:
            assert serve.project and serve.token
            pairs.append((serve.project, serve.token))
            async with aiohttp.ClientSession() as http:
                good = Rest(http, serve.url, basic(serve.project, serve.token))
                assert await good.ok("GET", "/api/numbers") == {"numbers": []}
                status, _ = await good.call("GET", "/api/numbers", auth=basic(serve.project, "nope"))
                assert status == 401
                ws = await V4Ws.open(http, serve.url.replace("http", "ws") + "/")
                reply = await ws.connect(project=serve.project, token=serve.token)
                assert reply["result"]["protocol"]
                await ws.close()
        finally:
            assert serve.terminate() == 0
    assert pairs[0] == pairs[1]


async def test_sigterm_ends_calls_tells_clients_and_keeps_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = ServeProcess(data, tmp_path / "serve-1.log", "--project", PROJECT, "--token", TOKEN, "--speed", "100")
    serve.start()
    try:
        async with aiohttp.ClientSession() as http:
            rest = Rest(http, serve.url)
            ws_url = serve.url.replace("http", "ws") + "/"
            await rest.ok("POST", "/api/numbers", {"number": OFFICE, "context": "office"}, status=201)
            await rest.ok("PUT", f"/api/sandbox/phones/{BUSY}", {"script": BUSY_SCRIPT})
            v4 = await V4Ws.open(http, ws_url)
            await v4.connect(["office"])
            v2 = await V2Ws.open(http, ws_url)
            await v2.handshake(["elsewhere"])
            await asyncio.sleep(0.08)
            call_id = await answered_inbound(rest, v4, script=[{"wait_for": "hangup"}])

            code = await asyncio.get_running_loop().run_in_executor(None, serve.terminate)
            await asyncio.wait_for(v4.closed.wait(), 5)
            await asyncio.wait_for(v2.closed.wait(), 5)
    finally:
        serve.kill()
    log = serve.log.read_text(errors="replace")
    assert code == 0, log
    assert "Traceback" not in log, log

    # the v4 client saw its call end, then the server's goodbye, then the close
    assert v4.states(call_id) == ["answered", "ending", "ended"]
    ended = next(i for i, f in enumerate(v4.frames) if f.get("method") == "signalwire.event"
                 and f["params"]["event_type"] == "calling.call.state"
                 and f["params"]["params"]["call_state"] == "ended")
    assert v4.frames[ended]["params"]["params"]["end_reason"] == "hangup"
    goodbye = next(i for i, f in enumerate(v4.frames) if f.get("method") == "signalwire.disconnect")
    assert ended < goodbye == len(v4.frames) - 1
    # The Close frame says why. Only a TCP reset may have eaten it: the xfailed closing-handshake bug below
    # (test_server_waits_for_the_clients_close_frame), which the v4 acks can trigger.
    if v4.close_frame is not None or not isinstance(v4.ws.exception(), ConnectionError):
        assert v4.close_frame == (1001, "relaybox is shutting down")
    # the v2 client got its own dialect's goodbye
    assert v2.frames[-1]["method"] == "blade.disconnect"
    assert v2.close_frame is not None and v2.close_frame[0] == 1001

    again = ServeProcess(data, tmp_path / "serve-2.log", "--project", PROJECT, "--token", TOKEN)
    again.start()
    try:
        async with aiohttp.ClientSession() as http:
            rest = Rest(http, again.url)
            assert await rest.ok("GET", "/api/numbers") == {"numbers": [{"number": OFFICE, "context": "office"}]}
            assert (await rest.ok("GET", f"/api/sandbox/phones/{BUSY}"))["script"] == BUSY_SCRIPT
            calls = by_id((await rest.ok("GET", "/api/calls"))["calls"])
            row = calls[call_id]
            assert (row["from_number"], row["to_number"], row["context"]) == (CALLER, OFFICE, "office")
            assert row["state"] == "ended" and row["end_reason"] == "hangup"
            assert row["created_at"] <= row["answered_at"] <= row["ended_at"]
    finally:
        assert again.terminate() == 0


@pytest.mark.parametrize("how", ["shutdown", "client-disconnect"])
async def test_server_waits_for_the_clients_close_frame(tmp_path: Path, how: str) -> None:
    box = RelayBox(Settings(host="127.0.0.1", port=0, data_dir=tmp_path, project=PROJECT, token=TOKEN))
    await box.start()
    stopping: asyncio.Task[None] | None = None
    try:
        raw = await RawWs.open("127.0.0.1", box.bound_port)
        raw.send_json({"jsonrpc": "2.0", "id": "c1", "method": "signalwire.connect",
                       "params": {"authentication": {"project": PROJECT, "token": TOKEN}}})
        if how == "shutdown":
            await raw.read_frame()  # the connect reply
            stopping = asyncio.get_running_loop().create_task(box.stop())
        else:
            raw.send_json({"jsonrpc": "2.0", "id": "bye", "method": "signalwire.disconnect", "params": {}})
        code = None
        dropped_before_our_close = False
        try:
            while code is None:
                opcode, payload = await raw.read_frame()
                if opcode == 0x1:
                    frame = json.loads(payload)
                    if frame.get("method") in ("signalwire.disconnect", "signalwire.event"):  # answered, as v4 does
                        raw.send_json({"jsonrpc": "2.0", "id": frame["id"], "result": {}})
                elif opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big")
        except ConnectionError:  # reset while the server's last frames were still being read
            dropped_before_our_close = True
        if not dropped_before_our_close:
            assert code == (1001 if how == "shutdown" else 1000)
            dropped_before_our_close = await raw.tcp_closed_within(0.05)
        if not dropped_before_our_close:
            raw.send_close(code or 1000)
            assert await raw.tcp_closed_within(2.0)  # and then the server does close
        raw.close()
    finally:
        if stopping is None:
            stopping = asyncio.get_running_loop().create_task(box.stop())
        await stopping
    assert not dropped_before_our_close, "the server closed TCP before the client's Close frame"


async def test_a_recording_left_unfinished_by_a_killed_server_is_served_after_the_restart(tmp_path: Path) -> None:
    """A SIP call's recording is written as it goes (NAME.wav.part); the next start makes it whole under NAME."""
    name = "r" * 30 + ".wav"
    writer = audiofiles.Writer(tmp_path / "recordings" / name, 1, "wav")
    writer.write(np.full(4000, 1000, np.int16))
    writer.spool.wait()  # half a second on disk; the server was killed before the recording finished
    async with running_box(tmp_path) as box, aiohttp.ClientSession() as http:
        resp = await http.get(f"http://127.0.0.1:{box.bound_port}/media/recordings/{name}")
        assert resp.status == 200
        body = await resp.read()
    with wave.open(io.BytesIO(body)) as w:
        assert w.getnframes() == 4000 and w.readframes(1) == np.int16(1000).tobytes()
    assert not (tmp_path / "recordings" / f"{name}.part").exists()
