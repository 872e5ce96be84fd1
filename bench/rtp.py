#!/usr/bin/env python3
"""RTP media engine benchmark: CPU per call-second of N concurrent RtpEndpoint pairs on loopback,
side by side with a bare asyncio RTP echo measured in the same run.

Run by hand (not in CI) from the repository root:

    python3 bench/rtp.py                 # 100 pairs (200 endpoints), 10 s per mode
    python3 bench/rtp.py --pairs 300 --seconds 20

Modes, each for the same number of pairs and seconds, in one process and one event loop (uvloop
when installed), one after the other:

* bare: asyncio datagram sockets, one shared 20 ms timer; each pair's A sends a 172-byte G.711
  packet every 20 ms and B sends one back. The floor: what Python + the event loop cost for the
  same packet rate, with no RTP logic at all.
* endpoint: `RtpEndpoint` pairs (G.711 encode/decode, the jitter buffer, RTCP), A sends audio.
* callmedia: `CallMedia` on both ends (every detector on: VAD, in-band DTMF, tones, AMD), B records
  both directions to a WAV (written as it goes by the spool thread, closed at the end), A sends
  RFC 4733 keys every 2 s.

Printed per mode: CPU seconds (process time, all threads), ms of CPU per call-second (a "call" is
one endpoint, i.e. one RTP stream each way), calls per core at that rate, ticks that ran more than
20 ms late, packets received per endpoint per second, and the ratio to the bare echo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from relaybox.media.callmedia import CallMedia
from relaybox.media.endpoint import Pacer, RtpEndpoint
from relaybox.media.rtp import RtpPacket


class Echo(asyncio.DatagramProtocol):
    def __init__(self, reply: bool) -> None:
        self.reply = reply
        self.transport: Any = None
        self.received = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received += 1
        if self.reply:
            self.transport.sendto(data, addr)


async def bare(pairs: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    senders, receivers = [], []
    for _ in range(pairs):
        t_b, p_b = await loop.create_datagram_endpoint(lambda: Echo(True), local_addr=("127.0.0.1", 0))
        t_a, p_a = await loop.create_datagram_endpoint(lambda: Echo(False), local_addr=("127.0.0.1", 0))
        senders.append((t_a, p_a, t_b.get_extra_info("sockname")))
        receivers.append((t_b, p_b))
    packet = RtpPacket(0, 1, 160, 1234, bytes(160)).build()
    late = 0
    start_cpu, start = time.process_time(), loop.time()
    next_at = start
    while loop.time() - start < seconds:
        next_at += 0.02
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        if loop.time() - next_at > 0.02:
            late += 1
        for t_a, _p, addr in senders:
            t_a.sendto(packet, addr)
    cpu = time.process_time() - start_cpu
    wall = loop.time() - start
    got = sum(p.received for _t, p, _a in senders) + sum(p.received for _t, p in receivers)
    for t, *_ in senders + receivers:  # type: ignore[operator]
        t.close()
    return {"cpu": cpu, "wall": wall, "late": late, "received": got}


async def engine(pairs: int, seconds: float, full: bool) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    eps: list[tuple[RtpEndpoint, RtpEndpoint]] = []
    for _ in range(pairs):
        a, b = await RtpEndpoint.open("127.0.0.1"), await RtpEndpoint.open("127.0.0.1")
        a.start("127.0.0.1", b.port, "PCMU", 0, 101)
        b.start("127.0.0.1", a.port, "PCMU", 0, 101)
        eps.append((a, b))
    t = np.arange(int(8000 * seconds) + 8000)
    audio = (3000 * np.sin(2 * np.pi * 440 * t / 8000) * (t // 4000 % 2)).astype(np.int16)  # 0.5 s on/off
    medias: list[CallMedia] = []
    recordings = []
    tmp = Path(tempfile.mkdtemp(prefix="relaybox-bench-"))
    for i, (a, b) in enumerate(eps):
        if full:
            ma, mb = CallMedia(a, recognize=False), CallMedia(b, recognize=False)
            medias += [ma, mb]
            recordings.append(mb.start_recording(tmp / f"{i}.wav", "wav", True, "both"))
        a.send(audio)
    pacer = Pacer.for_loop(loop)
    late0 = pacer.stats["late_ticks"]
    start_cpu, start = time.process_time(), loop.time()
    keys = 0
    while loop.time() - start < seconds:
        await asyncio.sleep(2.0)
        if full:
            for a, _b in eps:
                a.send_digits("5")
            keys += 1
    cpu = time.process_time() - start_cpu
    wall = loop.time() - start
    received = sum(a.stats.packets_received + b.stats.packets_received for a, b in eps)
    late = pacer.stats["late_ticks"] - late0
    await asyncio.sleep(0.5)  # the last keys arrive
    dtmf = sum(b.stats.dtmf_received for _a, b in eps)
    write_cpu = time.process_time()
    for rec in recordings:
        rec.finish()
    write_cpu = time.process_time() - write_cpu
    for m in medias:
        m.close()
    for a, b in eps:
        a.close()
        b.close()
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return {"cpu": cpu, "wall": wall, "late": late, "received": received, "dtmf": dtmf, "keys": keys * pairs,
            "write_cpu": write_cpu}


def report(name: str, r: dict[str, float], streams: int, base: float | None) -> float:
    per = r["cpu"] / (streams * r["wall"]) * 1000  # ms CPU per call-second
    line = (f"{name:10s} cpu {r['cpu']:6.2f} s over {r['wall']:5.1f} s  {per:6.3f} ms CPU/call-s  "
            f"{1000 / per if per else float('inf'):7.0f} calls/core  late ticks {int(r['late']):3d}  "
            f"pkts/endpoint/s {r['received'] / streams / r['wall']:5.1f}")
    if base:
        line += f"  x{per / base:5.2f} bare"
    if "dtmf" in r and r.get("keys"):
        line += f"  keys {int(r['dtmf'])}/{int(r['keys'])}"
    if r.get("write_cpu"):
        line += f"  (+{r['write_cpu']:.2f} s writing recordings)"
    print(line, flush=True)
    return per


async def main(pairs: int, seconds: float) -> None:
    streams = 2 * pairs
    print(f"relaybox bench/rtp.py: {pairs} pairs ({streams} endpoints), {seconds:g} s per mode, "
          f"loop {type(asyncio.get_running_loop()).__module__}, pid {os.getpid()}")
    b = await bare(pairs, seconds)
    base = report("bare", b, streams, None)
    report("endpoint", await engine(pairs, seconds, full=False), streams, base)
    report("callmedia", await engine(pairs, seconds, full=True), streams, base)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(main(args.pairs, args.seconds))
