#!/usr/bin/env python3
"""SIP benchmark: relaybox's CPU per call-second under sipp load, next to a bare asyncio SIP UAS + RTP echo.

Run by hand from the repository root (needs sipp: scripts/setup-sip.sh):

    python3 bench/sip.py                      # 100 calls, 50 at a time
    python3 bench/sip.py --calls 20 --limit 10

Each call is sipp's UAC streaming speech (sipp's g711a.pcap payloads, then an in-band DTMF '1', in a loop from
one media port: `rtp_stream`, plain UDP) for --hold seconds, then BYE. Against relaybox the calls arrive through
a trunk, go to a context, and a v4 session answers each one (no media action: the call's media engine still
receives and sends 50 packets/s; `bench/media.py --part sip` adds a stereo recording and a key collect per
call). The baseline is this file's bare UAS: asyncio (uvloop when installed, as relaybox), the sans-I/O
parser, 200 OK with an SDP pointing at a UDP socket that echoes every RTP packet back.
It prints, for both, the server's CPU seconds (utime+stime from /proc) per call-second and the calls
completed, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

PROJECT = TOKEN = "bench"
NUMBER = "+15552220000"
PCAPS = Path("/usr/share/sip-tester")


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each live thread of PID by name ("loop" for its main thread; relaybox names the RTP
    clock's "relaybox-rtp" and the recordings' spool "relaybox-spool"), threads of one name summed."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            head, _, tail = (task / "stat").read_text().rpartition(")")
        except OSError:
            continue  # ended meanwhile
        name = "loop" if task.name == str(pid) else head.partition("(")[2]
        fields = tail.split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, kernel) CPU seconds of PID, its finished children's included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[13])) / tick, (int(fields[12]) + int(fields[14])) / tick


def empty_files(folder: Path) -> None:
    """Truncate every file under FOLDER (a finished run's recordings: the disk space is freed, the inodes kept).
    The runs' folders are removed only when the whole bench ends: ext4 passes over inodes freed in the last
    ~30 s when it allocates new ones (perf: `recently_deleted` under `open`), so removing 2,000 recordings
    just before the next run made that run's file creations dearer (the recordings' thread 0.110-0.112 ms per
    call-second in runs started seconds after, 0.057-0.099 a minute or more after): a cost of the bench's own
    clean-up, not of relaybox."""
    for path in folder.rglob("*"):
        if path.is_file():
            os.truncate(path, 0)


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAC streaming speech with an in-band key">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: [service] <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[local_ip_type] [local_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK_REQUEST]]></send>
  <nop><action><exec rtp_stream="speech.al,-1,8"/></action></nop>
  <pause milliseconds="HOLD_MS"/>
  <send retrans="500"><![CDATA[
BYE_REQUEST]]></send>
  <recv response="200"/>
</scenario>
"""
IN_DIALOG = """METHOD sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: CSEQ METHOD
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

"""  # the ACK and the BYE


def speech_alaw() -> bytes:
    """sipp's g711a.pcap speech as raw A-law (its RTP payloads, about 7 s), then 100 ms of silence, an in-band
    DTMF '1' (100 ms, 697 + 1209 Hz) and 100 ms of silence: the loop each call streams."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from relaybox.media import g711, tones

    data, payloads = (PCAPS / "g711a.pcap").read_bytes(), bytearray()
    offset = 24  # pcap file header; then per packet a 16-byte record header, Ethernet, IPv4, UDP, RTP
    while offset + 16 <= len(data):
        size = int.from_bytes(data[offset + 8:offset + 12], "little")
        packet = data[offset + 16:offset + 16 + size]
        offset += 16 + size
        ip = packet[14:]
        payloads += ip[(ip[0] & 15) * 4 + 8 + 12:]
    gap = g711.silence("PCMA", 800)
    return bytes(payloads) + gap + g711.encode(tones.dtmf_tone("1", 0.1), "PCMA") + gap


def write_scenario(workdir: Path, hold: float) -> Path:
    """sipp's UAC: INVITE, ACK, HOLD seconds of speech streamed in a loop from one media port (rtp_stream: plain
    UDP, no raw socket per call as play_pcap_audio opens), BYE."""
    (workdir / "speech.al").write_bytes(speech_alaw())
    path = workdir / "uac_stream.xml"
    def request(method: str, cseq: int) -> str:
        return IN_DIALOG.replace("METHOD", method).replace("CSEQ", str(cseq))

    path.write_text(SCENARIO.replace("HOLD_MS", str(round(hold * 1000))).replace("ACK_REQUEST", request("ACK", 1))
                    .replace("BYE_REQUEST", request("BYE", 2)))
    return path


def run_sipp(target: int, local: int, calls: int, limit: int, workdir: Path, hold: float) -> tuple[int, int, float]:
    """Run the load: LIMIT calls every HOLD seconds, the arrival rate that keeps LIMIT calls up (Little's law),
    so the load holds at LIMIT concurrent calls rather than coming and going in waves; returns (successful,
    failed, wall seconds)."""
    argv = ["sipp", f"127.0.0.1:{target}", "-sf", str(write_scenario(workdir, hold)), "-s", NUMBER,
            "-i", "127.0.0.1", "-p", str(local), "-m", str(calls), "-l", str(limit),
            "-r", str(limit), "-rp", f"{round(hold * 1000)}ms",
            "-nostdin", "-trace_stat", "-fd", "1", "-timeout", os.environ.get("BENCH_SIPP_TIMEOUT", f"{hold + 120}s"),
            "-mp", str(free_port())]
    t0 = time.monotonic()
    subprocess.run(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=hold + 600)
    wall = time.monotonic() - t0
    stats = sorted(workdir.glob("*_.csv")) or sorted(workdir.glob("*.csv"))
    ok = failed = 0
    if stats:
        lines = stats[-1].read_text().splitlines()
        head, last = lines[0].split(";"), lines[-1].split(";")
        row = dict(zip(head, last, strict=False))
        ok, failed = int(row.get("SuccessfulCall(C)", 0)), int(row.get("FailedCall(C)", 0))
        stats[-1].unlink()
    return ok, failed, wall


# -- relaybox ---------------------------------------------------------------------------------------


async def answer_everything(ws_url: str, stop: asyncio.Event, media: bool = False,
                            counts: dict[str, int] | None = None) -> int:
    """A v4 session on context `office` that answers every offered call; with MEDIA, once a call is
    answered it records both directions (WAV, no timeouts: until the call ends) and collects keys
    (COUNTS gets `recordings` finished and `keys` collected)."""
    ids = itertools.count(1)
    answered = 0
    counts = counts if counts is not None else {}
    counts.update(recordings=0, keys=0)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": "c", "method": "signalwire.connect", "params": {
            "version": {"major": 2, "minor": 0, "revision": 0}, "authentication": {"project": PROJECT,
                                                                                    "token": TOKEN},
            "contexts": ["office"]}}).decode())
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
            except TimeoutError:
                continue
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            frame = orjson.loads(msg.data)
            if frame.get("method") != "signalwire.event":
                continue
            await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": frame["id"], "result": {}}).decode())
            event = frame["params"]
            p = event["params"]
            if media and event["event_type"] == "calling.call.state" and p.get("call_state") == "answered":
                call = {"call_id": p["call_id"], "node_id": p["node_id"]}
                for method, params in (
                    ("calling.record", {"control_id": f"r{next(ids)}", "record": {"audio": {
                        "format": "wav", "stereo": True, "direction": "both", "initial_timeout": 0,
                        "end_silence_timeout": 0, "terminators": ""}}}),
                    ("calling.collect", {"control_id": f"k{next(ids)}", "initial_timeout": 30,
                                         "digits": {"max": 1, "digit_timeout": 1.5}}),
                ):
                    await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": f"m{next(ids)}", "method": method,
                                                    "params": {**call, **params}}).decode())
            elif event["event_type"] == "calling.call.record" and p.get("state") == "finished":
                counts["recordings"] += 1
            elif event["event_type"] == "calling.call.collect" and (p.get("result") or {}).get("type") == "digit":
                counts["keys"] += len(p["result"]["params"]["digits"])
            if event["event_type"] == "calling.call.receive":
                p = event["params"]
                answer = {"jsonrpc": "2.0", "id": f"a{next(ids)}", "method": "calling.answer",
                          "params": {"call_id": p["call_id"], "node_id": p["node_id"]}}
                await ws.send_str(orjson.dumps(answer).decode())
                answered += 1
    return answered


def api(port: int, method: str, path: str, body: Any = None) -> Any:
    import base64
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=orjson.dumps(body) if body is not None else None)
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{PROJECT}:{TOKEN}".encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        return orjson.loads(resp.read())


def bench_relaybox(calls: int, limit: int, workdir: Path, media: bool = False, hold: float = 9.0) -> dict[str, float]:
    """relaybox under the sipp load; MEDIA: each call recorded and its keys collected. Also reads the RTP
    pacer's late ticks (RELAYBOX_RTP_STATS, written when the server stops)."""
    http_port, sip_port, sipp_port = free_port(), free_port(), free_port()
    log = open(os.environ.get("BENCH_LOG", os.devnull), "w")  # noqa: SIM115  (BENCH_LOG=path keeps the server log)
    stats_path = workdir / f"rtp-stats-{sip_port}.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "relaybox", "serve", "--port", str(http_port), "--sip-port", str(sip_port),
         "--data-dir", str(workdir / "data"), "--project", PROJECT, "--token", TOKEN,
         "--log-level", os.environ.get("BENCH_LOG_LEVEL", "warning")],
        stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "RELAYBOX_RTP_STATS": str(stats_path)})
    counts: dict[str, int] = {}
    split = [0.0, 0.0]
    threads: dict[str, float] = {}  # CPU seconds of the server's threads over the run
    try:
        for _ in range(200):
            try:
                api(http_port, "GET", "/api/health")
                break
            except OSError:
                time.sleep(0.05)
        api(http_port, "POST", "/api/trunks", {"name": "sipp", "uri": f"sip:127.0.0.1:{sipp_port}"})
        api(http_port, "POST", "/api/numbers", {"number": NUMBER, "context": "office"})

        async def run() -> tuple[int, tuple[int, int, float], float]:
            stop = asyncio.Event()
            app = asyncio.create_task(answer_everything(f"ws://127.0.0.1:{http_port}", stop, media, counts))
            await asyncio.sleep(0.5)
            cpu0, threads0 = cpu_split(server.pid), thread_cpu(server.pid)
            result = await asyncio.to_thread(run_sipp, sip_port, sipp_port, calls, limit, workdir, hold)
            cpu1, threads1 = cpu_split(server.pid), thread_cpu(server.pid)
            threads.update({name: cpu - threads0.get(name, 0.0) for name, cpu in threads1.items()})
            split[:] = [cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]]
            cpu = sum(split)
            await asyncio.sleep(1.0)  # the last recordings' finished events
            stop.set()
            return await app, result, cpu

        answered, (ok, failed, wall), cpu = asyncio.run(run())
        history = api(http_port, "GET", f"/api/calls?limit={calls + 10}")["calls"]
        call_seconds = sum(c["ended_at"] - c["answered_at"] for c in history if c["answered_at"] and c["ended_at"])
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    rtp = orjson.loads(stats_path.read_bytes()) if stats_path.exists() else {}
    return {"ok": ok, "failed": failed, "wall": wall, "cpu": cpu, "call_seconds": call_seconds,
            "answered": answered, "late_ticks": rtp.get("late_ticks", -1), "ticks": rtp.get("ticks", 0),
            "max_late_ms": rtp.get("max_late_ms", -1.0), "user": split[0], "kernel": split[1],
            "frames": rtp.get("frames", 0), "underruns": rtp.get("underruns", -1),
            "busy_frames": rtp.get("busy_frames", 0), "max_lag_ms": rtp.get("max_lag_ms", -1.0),
            "cpu_clock": rtp.get("cpu", 0.0), "cpu_hear": rtp.get("cpu_hear", 0.0),
            "cpu_prepare": rtp.get("cpu_prepare", 0.0), "realtime": rtp.get("realtime", False),
            "cpu_loop": threads.get("loop", 0.0), "cpu_spool": threads.get("relaybox-spool", 0.0), **counts}


# -- the bare baseline --------------------------------------------------------------------------------

BARE = r'''
import asyncio, socket, sys
sys.path.insert(0, sys.argv[2])
from relaybox.sip.message import Request, make_response, parse

async def main(port):
    loop = asyncio.get_running_loop()
    echoes = {}  # Call-ID -> its echo socket, closed at BYE
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, t): self.t = t
        def datagram_received(self, data, addr): self.t.sendto(data, addr)
    class Sip(asyncio.DatagramProtocol):
        def connection_made(self, t): self.t = t
        def datagram_received(self, data, addr):
            try:
                msg = parse(data)
            except ValueError:
                return
            if not isinstance(msg, Request):
                return
            if msg.method == "INVITE":
                loop.create_task(self.invite(msg, addr))
            elif msg.method in ("BYE", "CANCEL", "OPTIONS"):
                self.t.sendto(make_response(msg, 200).serialize(), addr)
                echo = echoes.pop(msg.call_id, None)
                if echo is not None:
                    echo.close()
        async def invite(self, msg, addr):
            t, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
            rtp = t.get_extra_info("sockname")[1]
            echoes[msg.call_id] = t
            sdp = (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   f"m=audio {rtp} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
            ok = make_response(msg, 200, to_tag="bare", body=sdp.encode(), content_type="application/sdp",
                               extra=[("Contact", "<sip:bare@127.0.0.1:%d>" % port)])
            self.t.sendto(ok.serialize(), addr)
    await loop.create_datagram_endpoint(Sip, local_addr=("127.0.0.1", port))
    await asyncio.Event().wait()

try:
    import uvloop  # the same event loop as relaybox serve
    uvloop.run(main(int(sys.argv[1])))
except ImportError:
    asyncio.run(main(int(sys.argv[1])))
'''


def bench_bare(calls: int, limit: int, workdir: Path, hold: float = 9.0) -> dict[str, float]:
    sip_port, sipp_port = free_port(), free_port()
    script = workdir / "bare_uas.py"
    script.write_text(BARE)
    server = subprocess.Popen([sys.executable, str(script), str(sip_port), str(Path(__file__).resolve().parents[1])])
    try:
        time.sleep(1.0)
        cpu0 = cpu_split(server.pid)
        ok, failed, wall = run_sipp(sip_port, sipp_port, calls, limit, workdir, hold)
        cpu1 = cpu_split(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    user, kernel = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    return {"ok": ok, "failed": failed, "wall": wall, "cpu": user + kernel, "call_seconds": ok * hold, "user": user,
            "kernel": kernel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50, help="concurrent calls")
    parser.add_argument("--hold", type=float, default=9.0, help="seconds each call lasts")
    args = parser.parse_args()
    if not (PCAPS / "g711a.pcap").exists():
        sys.exit(f"sipp's pcaps are not in {PCAPS}: run scripts/setup-sip.sh")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bare = bench_bare(args.calls, args.limit, work, args.hold)
        rb = bench_relaybox(args.calls, args.limit, work, hold=args.hold)
    print(f"SIP load: {args.calls} sipp calls of {args.hold:g} s, {args.limit} at a time, on {os.cpu_count()} cores")
    for name, r in (("bare asyncio UAS + RTP echo", bare), ("relaybox (answered by a v4 app)", rb)):
        per = 1000 * r["cpu"] / r["call_seconds"] if r["call_seconds"] else float("nan")
        print(f"  {name:34} calls ok {int(r['ok'])}/{args.calls} (failed {int(r['failed'])}), wall {r['wall']:.1f} s,"
              f" server CPU {r['cpu']:.2f} s over {r['call_seconds']:.0f} call-s = {per:.2f} ms CPU per call-second")
    if bare["call_seconds"] and rb["call_seconds"] and bare["cpu"]:
        ratio = (rb["cpu"] / rb["call_seconds"]) / (bare["cpu"] / bare["call_seconds"])
        print(f"  relaybox / bare: {ratio:.1f}x CPU per call-second"
              f" (about {1000 / (1000 * rb['cpu'] / rb['call_seconds']):.0f} calls per core for relaybox)")


if __name__ == "__main__":
    main()
