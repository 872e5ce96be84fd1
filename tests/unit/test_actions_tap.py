"""calling.tap: real G.711 RTP packets of the call's audio to a local UDP socket, on the ManualClock."""

from __future__ import annotations

import itertools
import shutil
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mediaworld import World, world

from relaybox.engines.audio import AudioRenderer
from relaybox.engines.rtp import ALAW, ULAW, Tapper

__all__ = ["world"]

ULAW_DECODE = {code: s - 32768 for s, code in reversed(list(enumerate(ULAW)))}


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def tapper(world: World, tmp_path: Path) -> None:
    world.media.tapper = Tapper(world.clock, AudioRenderer(tmp_path))


def packets(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except BlockingIOError:
            return out


def device(sock: socket.socket, **extra: Any) -> dict[str, Any]:
    return {"type": "rtp", "params": {"addr": "127.0.0.1", "port": sock.getsockname()[1], **extra}}


def test_g711_tables() -> None:
    assert ULAW[32768] == 0xFF and ALAW[32768] == 0xD5  # silence
    assert ULAW[0] == 0x00 and ULAW[65535] == 0x80


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing: scripts/setup-media.sh")
async def test_rtp_packets_carry_the_phone_speech(world: World, tapper: None, receiver: socket.socket) -> None:
    _, cid = await world.answered_call([{"wait": 1}, {"say": "one two three four five"}])
    reply = world.execute(
        "calling.tap",
        {
            "call_id": cid,
            "control_id": "t",
            "tap": {"type": "audio", "params": {"direction": "speak"}},
            "device": device(receiver, ptime=20),
        },
    )
    assert reply["code"] == "200"
    src = reply["source_device"]
    assert src["type"] == "rtp" and src["params"]["codec"] == "PCMU" and src["params"]["ptime"] == 20
    await world.run(0)
    assert [e["state"] for e in world.sub.of("t")] == ["tapping"]
    for _ in range(150):  # 3 s in 20 ms steps
        await world.run(0.02)
    got = packets(receiver)
    assert 140 <= len(got) <= 152
    headers = [struct.unpack("!BBHII", p[:12]) for p in got]
    assert all(h[0] == 0x80 and h[1] & 0x7F == 0 for h in headers)
    seqs = [h[2] for h in headers]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs))
    assert all(len(p) == 12 + 160 for p in got)
    assert len({h[4] for h in headers}) == 1
    loud = [max(abs(ULAW_DECODE[b]) for b in p[12:]) for p in got]
    assert max(loud[:45]) < 100  # before it spoke (1 s)
    assert max(loud[55:120]) > 2000  # speech
    world.execute("calling.tap.stop", {"call_id": cid, "control_id": "t"})
    await world.run(0)
    final = world.sub.of("t")[-1]
    assert final["state"] == "finished" and final["device"]["params"]["port"] == receiver.getsockname()[1]
    assert final["tap"] == {"type": "audio", "params": {"direction": "speak"}}


async def test_pcma_ptime_and_hangup(world: World, tapper: None, receiver: socket.socket) -> None:
    _, cid = await world.answered_call()
    world.execute(
        "calling.tap",
        {
            "call_id": cid,
            "control_id": "t",
            "tap": {"type": "audio", "params": {}},
            "device": device(receiver, codec="PCMA", ptime=30),
        },
    )
    for _ in range(10):
        await world.run(0.03)
    got = packets(receiver)
    assert got and all(len(p) == 12 + 240 and p[1] & 0x7F == 8 for p in got)
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.sub.kinds()[-3:] == ["tap:finished", "state:ending", "state:ended"]
    await world.run(1)
    assert packets(receiver) == []


@pytest.mark.parametrize(
    "params",
    [
        {"tap": {"type": "video"}, "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 9}}},
        {
            "tap": {"type": "audio", "params": {"direction": "up"}},
            "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 9}},
        },
        {"tap": {"type": "audio"}, "device": {"type": "rtp", "params": {"addr": "nowhere", "port": 9}}},
        {"tap": {"type": "audio"}, "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 0}}},
        {
            "tap": {"type": "audio"},
            "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 9, "codec": "OPUS"}},
        },
        {"tap": {"type": "audio"}, "device": {"type": "rtp", "params": {"addr": "127.0.0.1", "port": 9, "ptime": 7}}},
        {"tap": {"type": "audio"}, "device": {"type": "sip", "params": {}}},
    ],
)
async def test_bad_tap_params(world: World, tapper: None, params: dict[str, Any]) -> None:
    _, cid = await world.answered_call()
    assert world.execute("calling.tap", {"call_id": cid, **params})["code"] == "400"


async def test_websocket_target_gets_g711_frames(world: World, tapper: None) -> None:
    import asyncio

    from aiohttp import WSMsgType, web

    frames: list[bytes] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                frames.append(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/tap", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        _, cid = await world.answered_call()
        reply = world.execute(
            "calling.tap",
            {
                "call_id": cid,
                "control_id": "w",
                "tap": {"type": "audio"},
                "device": {"type": "ws", "params": {"uri": f"ws://127.0.0.1:{port}/tap", "rate": 16000}},
            },
        )
        assert reply["code"] == "200"
        assert reply["source_device"]["type"] == "ws"
        for _ in range(10):
            await world.run(0.02)
        await asyncio.sleep(0.3)
        assert len(frames) >= 5 and all(len(f) == 320 for f in frames)  # 20 ms at 16 kHz, one byte a sample
        world.execute("calling.tap.stop", {"call_id": cid, "control_id": "w"})
        await world.run(0)
        assert world.sub.of("w")[-1]["state"] == "finished"
        assert world.sub.of("w")[-1]["device"]["type"] == "ws"
        bad = {"type": "ws", "params": {"uri": "http://x/"}}
        assert world.execute("calling.tap", {"call_id": cid, "tap": {"type": "audio"}, "device": bad})["code"] == "400"
    finally:
        await asyncio.sleep(0.1)
        await runner.cleanup()
