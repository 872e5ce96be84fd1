#!/usr/bin/env python3
"""Media benchmark for relaybox: server CPU per call-second while N sandbox calls each play TTS and record,
then real SIP calls (sipp load) recorded with their keys collected, next to a bare asyncio RTP echo.

Run by hand from the repository root (needs espeak-ng and lameenc: scripts/setup-media.sh; sipp for the
SIP part: scripts/setup-sip.sh):

    python3 bench/media.py                 # 500 sandbox calls held 20 s each, then SIP (200 and 1,000 x 9 s and 60 s)
    python3 bench/media.py --calls 50 --hold 5 --part sandbox
    python3 bench/media.py --part sip --sip-limit 100 200 --sip-hold 9

SIP part (`sip_part`, bench/sip.py's code): per concurrency level and call length, sipp's calls (PCMA speech
streamed from one port with an in-band DTMF '1' at 7.2 s, BYE after --sip-hold seconds) against bench/sip.py's
bare asyncio UAS + RTP echo, then against relaybox where a v4 app answers each call, records it (stereo WAV,
both directions) and collects its key. Printed: server CPU per call-second for both and their ratio, calls per
core at that rate, the RTP clock's 20 ms ticks that ran more than 20 ms late and the busy calls' frames Python
had not prepared in time (RELAYBOX_RTP_STATS; either makes audio late) against the issue's target; with two
call lengths, each call's fixed CPU (set-up, events, tear-down) and the CPU per call-second of media fitted
from both.

Sandbox part:
It starts `python3 -m relaybox serve` at speed 1 (platform seconds = wall seconds), scripts the sandbox
phone to answer and talk, dials N calls from one v4 session, and on each answered call starts a TTS
play and an MP3 recording of both directions. After --hold seconds every recording is stopped (each is
rendered: espeak-ng speech, mixing, MP3 encoding) and every call hung up. It prints the server's CPU
seconds (utime+stime from /proc) over the whole run divided by the call-seconds served, and the same
figure for a baseline run of the same calls held without media actions (the ratio is media / baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

PROJECT = TOKEN = "bench"
PHONE, FROM = "+15553330000", "+15550000001"
SCRIPT = [{"ring": 0.5}, {"answer": True}, {"wait": 1},
          {"say": "Hello, I am calling about my order number one two three four five."},
          {"wait": 2}, {"say": "Yes, that is right, thank you very much."}]
TTS = "Thank you for calling relaybox. Your call may be recorded for quality purposes. Please hold."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """The server's CPU time, its finished children's (espeak-ng runs) included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


class Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.replies: dict[int, asyncio.Future[Any]] = {}
        self.dials: dict[str, asyncio.Future[str]] = {}
        self.finals: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ended: dict[str, asyncio.Future[None]] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            frame = orjson.loads(msg.data)
            if "id" in frame and "method" not in frame:
                fut = self.replies.pop(frame["id"], None)
                if fut and not fut.done():
                    fut.set_result(frame)
                continue
            if frame.get("method") == "signalwire.event":
                if "id" in frame:
                    await self.ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": frame["id"], "result": {}}).decode())
                ev = frame["params"]
                p = ev["params"]
                if ev["event_type"] == "calling.call.dial" and p.get("dial_state") == "answered":
                    self.dials[p["tag"]].set_result(p["call"]["call_id"])
                elif ev["event_type"] == "calling.call.record" and p.get("state") in ("finished", "no_input"):
                    fut2 = self.finals.get(p["control_id"])
                    if fut2 and not fut2.done():
                        fut2.set_result(p)
                elif ev["event_type"] == "calling.call.state" and p.get("call_state") == "ended":
                    fut3 = self.ended.get(p["call_id"])
                    if fut3 and not fut3.done():
                        fut3.set_result(None)

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        rid = next(self.ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.replies[rid] = fut
        await self.ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).decode())
        return await asyncio.wait_for(fut, 60)


async def one_call(s: Session, hold: float, stats: dict[str, Any], media: bool = True) -> None:
    tag = str(uuid.uuid4())
    s.dials[tag] = asyncio.get_running_loop().create_future()
    await s.request("calling.dial", {"tag": tag, "devices": [[{"type": "phone", "params": {
        "to_number": PHONE, "from_number": FROM, "timeout": 30}}]]})
    call_id = await asyncio.wait_for(s.dials[tag], 60)
    start = time.monotonic()
    s.ended[call_id] = asyncio.get_running_loop().create_future()
    if not media:  # the baseline: the same call held as long, without media actions
        await asyncio.sleep(hold)
        await s.request("calling.end", {"call_id": call_id, "node_id": "", "reason": "hangup"})
        await asyncio.wait_for(s.ended[call_id], 60)
        stats["call_seconds"] += time.monotonic() - start
        stats["ok"] += 1
        return
    await s.request("calling.play", {"call_id": call_id, "node_id": "", "control_id": str(uuid.uuid4()),
                                     "play": [{"type": "tts", "params": {"text": TTS}}]})
    rec = str(uuid.uuid4())
    s.finals[rec] = asyncio.get_running_loop().create_future()
    reply = await s.request("calling.record", {"call_id": call_id, "node_id": "", "control_id": rec, "record": {
        "audio": {"format": "mp3", "direction": "both", "initial_timeout": 0, "end_silence_timeout": 0}}})
    assert reply["result"]["code"] == "200", reply
    await asyncio.sleep(hold)
    await s.request("calling.record.stop", {"call_id": call_id, "node_id": "", "control_id": rec})
    final = await asyncio.wait_for(s.finals[rec], 60)
    await s.request("calling.end", {"call_id": call_id, "node_id": "", "reason": "hangup"})
    await asyncio.wait_for(s.ended[call_id], 60)
    stats["call_seconds"] += time.monotonic() - start
    stats["recorded_seconds"] += float(final.get("duration") or 0)
    stats["bytes"] += int(final.get("size") or 0)
    stats["ok"] += final.get("state") == "finished"


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Basic " + base64.b64encode(f"{PROJECT}:{TOKEN}".encode()).decode()}
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(url + "/api/health") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        async with http.put(f"{url}/api/sandbox/phones/%2B15553330000", json={"script": SCRIPT}, headers=auth) as r:
            assert r.status in (200, 201, 204), await r.text()
        ws = await http.ws_connect(url, max_msg_size=0)
        s = Session(ws)
        await s.request("signalwire.connect", {
            "version": {"major": 2, "minor": 0, "revision": 0}, "agent": "bench", "event_acks": True,
            "authentication": {"project": PROJECT, "token": TOKEN}, "contexts": ["bench"]})
        phases: dict[str, Any] = {}
        for name, media in (("baseline", False), ("media", True)):
            stats: dict[str, Any] = {"call_seconds": 0.0, "recorded_seconds": 0.0, "bytes": 0, "ok": 0}
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            await asyncio.gather(*(one_call(s, args.hold, stats, media) for _ in range(args.calls)))
            stats["cpu"] = cpu_seconds(pid) - cpu0
            stats["wall"] = time.monotonic() - t0
            phases[name] = stats
        await ws.close()
        s.reader.cancel()
    return phases


TARGET_MS, TARGET_CALLS = 0.9, 1000  # issue 7: <= 0.9 ms CPU per call-second, >= 1,000 calls per core


def sip_part(args: argparse.Namespace) -> int:
    """Real SIP calls (sipp load, bench/sip.py's code): relaybox recording each call and collecting its
    in-band key, against the bare asyncio UAS + RTP echo, at each --sip-limit concurrency and --sip-hold."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sip

    if not (sip.PCAPS / "g711a.pcap").exists():
        print(f"sip: sipp's pcaps are not in {sip.PCAPS}: run scripts/setup-sip.sh", file=sys.stderr)
        return 1
    failures = 0
    print(f"SIP load: sipp calls streaming PCMA speech with an in-band key, {os.cpu_count()} cores shared by sipp "
          "and the server")
    best: dict[float, tuple[int, float]] = {}
    runs: dict[int, list[tuple[float, dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as top:  # removed at the end only: see sip.empty_files
        for limit in args.sip_limit:
            for hold in args.sip_hold:
                calls = args.sip_calls or 2 * limit
                work = Path(top) / f"{limit}x{hold:g}"
                work.mkdir()
                bare = sip.bench_bare(calls, limit, work, hold)
                rb = sip.bench_relaybox(calls, limit, work, media=True, hold=hold)
                sip.empty_files(work)
                runs.setdefault(limit, []).append((hold, rb))
                failures += report(limit, hold, calls, bare, rb)
                if rb["late_ticks"] == 0 and rb["underruns"] == 0 and rb["ok"] == calls:
                    best[hold] = (limit, 1000 * rb["cpu"] / max(rb["call_seconds"], 1e-9))
    for limit, measured in runs.items():
        if len(measured) >= 2:  # cpu = per_call * calls + per_second * call-seconds, from the shortest and longest
            (_, short), (_, long) = min(measured, key=lambda m: m[0]), max(measured, key=lambda m: m[0])
            det = short["ok"] * long["call_seconds"] - long["ok"] * short["call_seconds"]
            if det:
                per_call = (short["cpu"] * long["call_seconds"] - long["cpu"] * short["call_seconds"]) / det
                per_second = (short["ok"] * long["cpu"] - long["ok"] * short["cpu"]) / det
                print(f"  {limit} concurrent, fitted on the {min(measured)[0]:g} s and {max(measured)[0]:g} s runs: "
                      f"{1000 * per_call:.1f} ms CPU per call (set-up, app events, tear-down, writing the recording) "
                      f"+ {1000 * per_second:.3f} ms per call-second of media")
    if not best:
        print("  no load level ran without RTP ticks late by more than 20 ms or frames not prepared in time")
        return 1
    for hold, (limit, ms) in sorted(best.items()):
        print(f"=> relaybox SIP media, {hold:g} s calls: {ms:.2f} ms CPU per call-second, {1000 / ms:.0f} calls per "
              f"core at that rate (highest load with no audio late: {limit} concurrent). Target <= {TARGET_MS} "
              f"ms and >= {TARGET_CALLS} calls per core: {'MET' if ms <= TARGET_MS else 'NOT MET'}")
    return 1 if failures else 0


def report(limit: int, hold: float, calls: int, bare: dict[str, float], rb: dict[str, float]) -> int:
    """Print one run's figures; 1 if relaybox lost calls or recordings."""
    bare_ms = 1000 * bare["cpu"] / max(bare["call_seconds"], 1e-9)
    rb_ms = 1000 * rb["cpu"] / max(rb["call_seconds"], 1e-9)
    late = int(rb["late_ticks"])
    print(f"  {limit} concurrent, {calls} calls of {hold:g} s:")
    print(f"    bare asyncio UAS + RTP echo: {int(bare['ok'])}/{calls} ok, {bare['cpu']:.2f} CPU-s over "
          f"{bare['call_seconds']:.0f} call-s = {bare_ms:.3f} ms CPU per call-second "
          f"({1000 / max(bare_ms, 1e-9):.0f} calls per core)")
    print(f"    relaybox, recording + collecting keys: {int(rb['ok'])}/{calls} ok, recordings "
          f"{int(rb.get('recordings', 0))}, keys {int(rb.get('keys', 0))}; {rb['cpu']:.2f} CPU-s over "
          f"{rb['call_seconds']:.0f} call-s = {rb_ms:.3f} ms CPU per call-second "
          f"({1000 / max(rb_ms, 1e-9):.0f} calls per core); RTP ticks late > 20 ms: {late} of "
          f"{int(rb['ticks'])} (worst {rb['max_late_ms']} ms; the clock thread "
          f"{'real-time, SCHED_FIFO' if rb.get('realtime') else 'at normal priority'})")
    print(f"    Python (the clock does not wait for it): longest wait for a collect {rb['max_lag_ms']} ms; busy calls' "
          f"frames not prepared in time (sent as silence): {int(rb['underruns'])} of {int(rb['busy_frames'])} "
          f"busy call-ticks ({int(rb['frames'])} call-ticks in all)")

    def split(r: dict[str, float]) -> str:
        per = 1000 / max(r["call_seconds"], 1e-9)
        return f"user {r['user'] * per:.3f} + kernel {r['kernel'] * per:.3f} ms"

    print(f"    per call-second: bare {split(bare)}; relaybox {split(rb)} (the kernel part is the sockets' "
          "sends and receives: what no user-space work can take back)")
    per = 1000 / max(rb["call_seconds"], 1e-9)
    tick = rb["cpu_clock"] + rb["cpu_hear"] + rb["cpu_prepare"]
    print(f"    relaybox's RTP ticks (whole server run): {tick * per:.3f} ms per call-second = the C clock "
          f"(receiving, decoding, analysis, sending) {rb['cpu_clock'] * per:.3f} + Python hearing the busy calls' "
          f"frames {rb['cpu_hear'] * per:.3f} + preparing theirs (CallMedia, recording) {rb['cpu_prepare'] * per:.3f}; "
          f"the rest is SIP, the app's WebSocket, call set-up/tear-down and writing recordings "
          f"({max(0.0, rb_ms - tick * per):.3f})")
    print(f"    relaybox per thread: the event loop {rb['cpu_loop'] * per:.3f} ms per call-second (Python: SIP, "
          f"the app's WebSocket, the calls and their actions, the ticks' Python part), the RTP clock "
          f"{rb['cpu_clock'] * per:.3f}, the recordings' spool {rb['cpu_spool'] * per:.3f} (creating and writing "
          "the files)")
    print(f"    ratio relaybox / bare: {rb_ms / max(bare_ms, 1e-9):.1f}x CPU per call-second")
    return int(rb["ok"] < calls or rb.get("recordings", 0) < rb["ok"] or rb.get("keys", 0) < rb["ok"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--hold", type=float, default=20.0, help="seconds each call plays and records")
    ap.add_argument("--part", choices=("all", "sandbox", "sip"), default="all")
    ap.add_argument("--sip-limit", type=int, nargs="+", default=[200, 1000],
                    help="concurrent SIP calls, one run per value")
    ap.add_argument("--sip-calls", type=int, default=0, help="SIP calls per run (default: twice the limit)")
    ap.add_argument("--sip-hold", type=float, nargs="+", default=[9.0, 60.0],
                    help="seconds each SIP call lasts, one run per value (8 at least: the key comes at 7.2 s)")
    args = ap.parse_args()
    status = sandbox_part(args) if args.part in ("all", "sandbox") else 0
    if args.part in ("all", "sip"):
        status |= sip_part(args)
    return status


def sandbox_part(args: argparse.Namespace) -> int:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "relaybox.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [sys.executable, "-m", "relaybox", "serve", "--port", str(port), "--data-dir", tmp, "--project", PROJECT,
             "--token", TOKEN, "--speed", "1", "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            phases = asyncio.run(run(args, port, server.pid))
        finally:
            server.terminate()
            server.wait(20)
    base, stats = phases["baseline"], phases["media"]
    per = stats["cpu"] / max(stats["call_seconds"], 1e-9)
    base_per = base["cpu"] / max(base["call_seconds"], 1e-9)
    print(f"media: {args.calls} calls x {args.hold:g} s, each playing TTS and recording MP3 (both directions)")
    print(f"  recordings finished: {stats['ok']}/{args.calls}, {stats['recorded_seconds']:.0f} s of audio, "
          f"{stats['bytes'] / 1e6:.1f} MB")
    print(f"  server CPU {stats['cpu']:.1f} s over {stats['wall']:.1f} s wall, "
          f"{stats['call_seconds']:.0f} call-seconds")
    print(f"  => {per * 1000:.2f} ms CPU per call-second ({per * 100:.2f}% of a core per active call)")
    print(f"baseline: the same {args.calls} calls held {args.hold:g} s without media: server CPU {base['cpu']:.1f} s, "
          f"{base['call_seconds']:.0f} call-seconds => {base_per * 1000:.2f} ms CPU per call-second")
    print(f"ratio media / baseline: {per / max(base_per, 1e-9):.1f}x "
          f"(media actions cost {(per - base_per) * 1000:.2f} ms CPU per call-second)")
    return 0 if stats["ok"] == args.calls and base["ok"] == args.calls else 1

if __name__ == "__main__":
    sys.exit(main())
