#!/usr/bin/env python3
"""Gateway benchmark for relaybox: command round trips, latency with live calls, calls held per MB.

Run by hand (not in CI) from the repository root:

    python3 bench/gateway.py            # full run, about three minutes on a 2-core machine
    python3 bench/gateway.py --quick    # about 30 s smoke version

It starts its own servers on loopback ports (relaybox as `python3 -m relaybox serve`, and a bare
aiohttp + orjson JSON-RPC echo server from this file), drives them with v4 ("flat") RELAY sessions
over aiohttp WebSockets from separate client process(es), and prints one report:

1. command round trips per second, 50 sessions in a closed loop (one request in flight per
   session), relaybox next to the echo server in alternating rounds: `signalwire.ping`, and
   `calling.answer` on a live call the session dialled (an answered call accepts `answer` again and
   re-emits its `answered` event);
2. p50/p99 command latency with 1,000 live sandbox calls, saturated (closed loop) and paced;
3. how many concurrent sandbox calls one server holds, and its RSS per call (VmRSS before/after),
   twice over, to see whether memory is reused.

See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import math
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import orjson
from aiohttp import WSMsgType, web

T = TypeVar("T")

PROJECT = TOKEN = "bench"
CONTEXT = "bench"
FROM_NUMBER = "+15550000001"
MAX_FRAME_BYTES = 4 * 1024 * 1024  # the same limit relaybox sets
DIAL_WINDOW = 20  # dials a session keeps ringing at once while it builds up its calls
DIAL_TIMEOUT = 600  # device ring timeout (platform s): never let a busy server turn a dial into noAnswer
SETUP_TIMEOUT = 180.0  # wall seconds for connecting sessions and dialling calls before a window
PROBE_INTERVAL = 0.005  # seconds between a probe session's pings while calls are being set up
DRAIN_SECONDS = 0.5  # after the last window, time for trailing events to arrive before counting them
MAX_KEPT_SANDBOX_CALLS = 10_000  # relaybox.engines.sandbox.MAX_KEPT_CALLS: finished calls it keeps
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------- machine


def machine_info() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = [f"aiohttp {aiohttp.__version__}", f"orjson {orjson.__version__}"]
    try:
        import uvloop

        versions.append(f"uvloop {getattr(uvloop, '__version__', '?')}")
    except ImportError:
        versions.append("uvloop not installed")
    rev = "?"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        rev = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        ).stdout.strip()
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libs": ", ".join(versions),
        "kernel": platform.release(),
        "relaybox": rev,
    }


# --------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent in user and system mode (all CPUs, /proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system = (int(x) for x in fields[:3])
    return (user + nice + system) / CLK_TCK


class ServerProcess:
    """A server subprocess on a loopback port, with its log in a file; stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, cpus: set[int] | None) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        if cpus:
            os.sched_setaffinity(self.proc.pid, cpus)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/api/health", timeout=1) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /api/health within {timeout:g}s: {self.log_tail()}")

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/api/health", timeout=10) as resp:
            body: dict[str, Any] = orjson.loads(resp.read())
            return body

    def rss_kib(self) -> int:
        return read_rss_kib(self.proc.pid)

    def cpu_seconds(self) -> float:
        return read_cpu_seconds(self.proc.pid)

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 60.0) -> float | None:
        """SIGTERM, wait; returns the seconds it took to exit (None if it had to be killed or was gone)."""
        took: float | None = None
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
                took = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return took


def start_relaybox(tmp: Path, speed: float, tag: str, cpus: set[int] | None) -> ServerProcess:
    port = free_port()
    data_dir = tmp / f"data-{tag}"
    argv = [
        sys.executable, "-m", "relaybox", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--project", PROJECT, "--token", TOKEN, "--speed", f"{speed:g}",
        "--log-level", "warning",
    ]
    server = ServerProcess(f"relaybox --speed {speed:g}", argv, port, tmp / f"relaybox-{tag}.log", cpus)
    server.wait_healthy()
    return server


def start_echo(tmp: Path, use_uvloop: bool, cpus: set[int] | None) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--echo-server-port", str(port)]
    if not use_uvloop:
        argv.append("--no-uvloop")
    server = ServerProcess("echo server", argv, port, tmp / "echo.log", cpus)
    server.wait_healthy()
    return server


# --------------------------------------------------------------------------------------------- echo server


async def _echo_ws(request: web.Request) -> web.WebSocketResponse:
    """The baseline: same library, same limits, one orjson decode and one encode per request.

    A request whose params carry `bench_event` also gets one event frame shaped like relaybox's
    `calling.call.state` (the traffic of a calling command: reply + event, and the event's ack)."""
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True)
    await ws.prepare(request)
    events = itertools.count(1)
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        obj = orjson.loads(msg.data)
        if "method" not in obj:
            continue  # a client's ack
        params = obj.get("params")
        params = params if isinstance(params, dict) else {}
        await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": obj.get("id"), "result": params}).decode())
        if params.get("bench_event"):
            now = time.time()
            body = {
                "call_state": "answered", "direction": "outbound", "device": ECHO_DEVICE,
                "call_id": params.get("call_id"), "node_id": params.get("node_id"),
                "segment_id": params.get("call_id"), "tag": ECHO_TAG, "created_by": "dial", "timestamp": now,
            }
            event = {"event_type": "calling.call.state", "timestamp": now, "params": body}
            frame = {"jsonrpc": "2.0", "id": f"ev-{next(events)}", "method": "signalwire.event", "params": event}
            await ws.send_str(orjson.dumps(frame).decode())
    return ws


ECHO_DEVICE = {"type": "phone", "params": {"from_number": FROM_NUMBER, "to_number": "+15550100002",
                                           "timeout": DIAL_TIMEOUT}}
ECHO_TAG = str(uuid.uuid4())


async def _echo_health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def _echo_main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/api/health", _echo_health)
    app.router.add_get("/", _echo_ws)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def run_async(coro: Coroutine[Any, Any, T], use_uvloop: bool) -> T:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


# --------------------------------------------------------------------------------------------- client


@dataclass(slots=True)
class Counters:
    requests: int = 0  # sent after the warm-up and answered before the end of the window
    latencies: list[float] = field(default_factory=list)  # seconds, of those requests


class RelaySession:
    """One v4 client connection: requests with futures, events acked and tracked."""

    def __init__(self, http: aiohttp.ClientSession, url: str, number_base: int, fake_calls: bool) -> None:
        self.http = http
        self.url = url
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.prefix = uuid.uuid4().hex[:12] + "-"
        self.ids = itertools.count(1)
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.dials: dict[str, asyncio.Future[tuple[str, str] | None]] = {}
        self.calls: dict[str, str] = {}  # call_id -> node_id, answered calls this session holds
        self.numbers = itertools.count(number_base)
        self.events: dict[str, int] = {}
        self.answered_events = 0  # calling.call.state answered events received
        self.calls_answered = 0  # dials that ended answered
        self.dials_failed = 0
        self.calls_lost = 0  # held calls that ended without us asking
        self.answers_ok = 0  # calling.answer requests that succeeded (each should re-emit `answered`)
        self.errors = 0
        self.error_samples: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        if fake_calls:  # echo server: answer frames with the same shape, on a call nobody holds
            self.calls[str(uuid.uuid4())] = str(uuid.uuid4())

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(self.url, max_msg_size=MAX_FRAME_BYTES, autoping=True)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        params = {
            "version": {"major": 2, "minor": 0, "revision": 0},
            "agent": "bench",
            "event_acks": True,
            "authentication": {"project": PROJECT, "token": TOKEN},
            "contexts": [CONTEXT],
        }
        reply = await asyncio.wait_for(self.request("signalwire.connect", params), 30)
        if "error" in reply:
            raise RuntimeError(f"signalwire.connect refused: {reply['error']}")

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        rid = self.prefix + str(next(self.ids))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).decode())
        try:
            return await fut
        finally:
            self.pending.pop(rid, None)

    def check(self, method: str, reply: dict[str, Any]) -> bool:
        error = reply.get("error")
        result = reply.get("result")
        code = result.get("code") if isinstance(result, dict) else None
        if error is None and (code is None or str(code).startswith("2")):
            return True
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(f"{method}: {orjson.dumps(error or result).decode()[:200]}")
        return False

    async def _read(self) -> None:
        assert self.ws is not None
        ws = self.ws
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            obj = orjson.loads(msg.data)
            method = obj.get("method")
            if method is None:
                fut = self.pending.get(obj.get("id"))
                if fut is not None and not fut.done():
                    fut.set_result(obj)
                continue
            rid = obj.get("id")
            if rid is not None:  # events, server pings, disconnect: all want an empty result
                await ws.send_str(orjson.dumps({"jsonrpc": "2.0", "id": rid, "result": {}}).decode())
            if method == "signalwire.event":
                self._event(obj.get("params") or {})

    def _event(self, envelope: dict[str, Any]) -> None:
        etype = str(envelope.get("event_type"))
        self.events[etype] = self.events.get(etype, 0) + 1
        p = envelope.get("params") or {}
        if etype == "calling.call.state":
            state = p.get("call_state")
            if state == "answered":
                self.answered_events += 1
            elif state == "ended" and self.calls.pop(str(p.get("call_id")), None) is not None:
                self.calls_lost += 1
        elif etype == "calling.call.dial":
            fut = self.dials.get(p.get("tag", ""))
            if fut is None or fut.done():
                return
            if p.get("dial_state") == "answered":
                call = p.get("call") or {}
                fut.set_result((str(call.get("call_id")), str(call.get("node_id"))))
            elif p.get("dial_state") == "failed":
                fut.set_result(None)

    async def dial_one(self) -> bool:
        tag = str(uuid.uuid4())
        fut: asyncio.Future[tuple[str, str] | None] = asyncio.get_running_loop().create_future()
        self.dials[tag] = fut
        to_number = f"+1555{next(self.numbers) % 10_000_000:07d}"
        device = {"type": "phone", "params": {"from_number": FROM_NUMBER, "to_number": to_number,
                                              "timeout": DIAL_TIMEOUT}}
        try:
            reply = await self.request("calling.dial", {"tag": tag, "devices": [[device]]})
            if not self.check("calling.dial", reply):
                return False
            won = await fut
        finally:
            self.dials.pop(tag, None)
        if won is None:
            self.dials_failed += 1
            return False
        self.calls[won[0]] = won[1]
        self.calls_answered += 1
        return True

    async def hold_calls(self, target: int, window: int = DIAL_WINDOW) -> None:
        """Dial until this session holds `target` answered calls (at most `window` ringing at once)."""
        need = target - len(self.calls)
        if need <= 0:
            return
        sem = asyncio.Semaphore(window)

        async def one() -> None:
            async with sem:
                await self.dial_one()

        await asyncio.gather(*(one() for _ in range(need)))

    async def run_window(self, method: str, rate: float | None, t_warm: float, t_end: float) -> Counters:
        """Closed loop (rate None) or paced at `rate` requests/s, one in flight; counts what falls in the window."""
        out = Counters()
        loop = asyncio.get_running_loop()
        if method == "idle":
            await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
            return out
        calls = list(self.calls.items())
        answer = method.startswith("calling.answer")
        if answer and not calls:
            raise RuntimeError("calling.answer needs a live call")
        wire_method = "calling.answer" if answer else method
        interval = 1.0 / rate if rate else 0.0
        next_t = loop.time() + random.uniform(0.0, interval)
        perf = time.perf_counter
        for i in itertools.count():
            if interval:
                if perf() >= t_end:
                    break
                delay = next_t - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_t = max(next_t + interval, loop.time())
            if perf() >= t_end:
                break
            if answer:
                call_id, node_id = calls[i % len(calls)]
                params: dict[str, Any] = {"node_id": node_id, "call_id": call_id}
                if method == "calling.answer+event":
                    params["bench_event"] = True
            else:
                params = {}
            t0 = perf()
            reply = await self.request(wire_method, params)
            t1 = perf()
            if self.check(wire_method, reply) and answer:
                self.answers_ok += 1
            if t0 >= t_warm and t1 <= t_end:
                out.requests += 1
                out.latencies.append(t1 - t0)
        return out

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.request("signalwire.disconnect", {}), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


async def open_sessions(http: aiohttp.ClientSession, url: str, n: int, first: int, fake_calls: bool) -> list[
    RelaySession
]:
    sessions = [RelaySession(http, url, (first + i) * 100_000, fake_calls) for i in range(n)]
    await asyncio.gather(*(s.connect() for s in sessions))
    return sessions


def share(total: int, parts: int, index: int) -> int:
    """Split `total` into `parts` near-equal whole shares; this is share `index`."""
    return total // parts + (1 if index < total % parts else 0)


# --------------------------------------------------------------------------------------------- workers

ECHO, RELAYBOX = "echo", "relaybox"


@dataclass(slots=True)
class Window:
    """One measured row: a target server, a method, the live calls held, closed loop or paced."""

    label: str
    target: str  # ECHO | RELAYBOX
    method: str  # "signalwire.ping" | "calling.answer" | "calling.answer+event" (echo only) | "idle"
    duration: float
    calls: int = 0  # live calls the relaybox sessions hold together during the window
    rate: float | None = None  # total requests/s over all sessions; None = closed loop
    round: int = 0


@dataclass(slots=True)
class WorkerSpec:
    index: int
    urls: dict[str, str]  # target -> ws URL; the worker keeps sessions open to each
    sessions: int  # this worker's sessions (per target)
    first_session: int  # global index of its first session
    total_sessions: int
    windows: list[Window]
    warmup: float
    use_uvloop: bool
    cpus: set[int] | None


@dataclass(slots=True)
class WorkerWindow:
    requests: int
    latencies: list[float]
    cpu_seconds: float
    unanswered: int  # sessions whose request was still pending 10 s after the window


@dataclass(slots=True)
class WorkerResult:
    index: int
    windows: list[WorkerWindow]
    errors: int
    error_samples: list[str]
    answers_ok: int
    answered_events: int
    calls_answered: int
    dials_failed: int
    calls_lost: int
    events: dict[str, int]


async def _worker(spec: WorkerSpec, barrier: Any) -> WorkerResult:
    loop = asyncio.get_running_loop()
    windows: list[WorkerWindow] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        targets: dict[str, list[RelaySession]] = {}
        async with asyncio.timeout(SETUP_TIMEOUT):
            for target, url in spec.urls.items():
                targets[target] = await open_sessions(
                    http, url, spec.sessions, spec.first_session, fake_calls=target == ECHO
                )
        relay = targets.get(RELAYBOX, [])
        try:
            for w in spec.windows:
                if w.target == RELAYBOX and w.calls:
                    async with asyncio.timeout(SETUP_TIMEOUT):
                        await asyncio.gather(*(
                            s.hold_calls(share(w.calls, spec.total_sessions, spec.first_session + i))
                            for i, s in enumerate(relay)
                        ))
                await loop.run_in_executor(None, barrier.wait, SETUP_TIMEOUT)
                start = time.perf_counter()
                t_warm, t_end = start + spec.warmup, start + spec.warmup + w.duration
                per_session_rate = w.rate / spec.total_sessions if w.rate else None
                tasks = [
                    loop.create_task(s.run_window(w.method, per_session_rate, t_warm, t_end))
                    for s in targets[w.target]
                ]
                await asyncio.sleep(max(0.0, t_warm - time.perf_counter()))
                cpu0 = time.process_time()
                await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
                cpu1 = time.process_time()
                done, stuck = await asyncio.wait(tasks, timeout=10.0)
                for task in stuck:
                    task.cancel()
                counters = [t.result() for t in done]
                windows.append(WorkerWindow(
                    requests=sum(c.requests for c in counters),
                    latencies=[x for c in counters for x in c.latencies],
                    cpu_seconds=cpu1 - cpu0,
                    unanswered=len(stuck),
                ))
            await asyncio.sleep(DRAIN_SECONDS)  # the `answered` events of the last answers
        finally:
            result = WorkerResult(
                index=spec.index,
                windows=windows,
                errors=sum(s.errors for ss in targets.values() for s in ss),
                error_samples=[e for ss in targets.values() for s in ss for e in s.error_samples][:5],
                answers_ok=sum(s.answers_ok for s in relay),
                answered_events=sum(s.answered_events for s in relay),
                calls_answered=sum(s.calls_answered for s in relay),
                dials_failed=sum(s.dials_failed for s in relay),
                calls_lost=sum(s.calls_lost for s in relay),
                events={},
            )
            for s in relay:
                for k, v in s.events.items():
                    result.events[k] = result.events.get(k, 0) + v
            await asyncio.gather(*(s.close() for ss in targets.values() for s in ss))
    return result


def _worker_main(spec: WorkerSpec, barrier: Any, results: Any) -> None:
    if spec.cpus:
        os.sched_setaffinity(0, spec.cpus)
    try:
        results.put(run_async(_worker(spec, barrier), spec.use_uvloop))
    except BaseException:
        barrier.abort()
        results.put(("error", spec.index, traceback.format_exc()))


@dataclass(slots=True)
class WindowResult:
    window: Window
    requests: int
    wall: float  # measured seconds (server side)
    latencies: list[float]  # ascending
    server_cpu_seconds: float
    client_cpu_seconds: float
    machine_cpu_seconds: float  # every process of the machine, same window
    server_rss_kib: int
    live_calls: int
    unanswered: int


@dataclass(slots=True)
class Row:
    """One line of the report: one window, or the rounds of the same measurement taken together."""

    rates: list[float]  # round trips/s, per round
    latencies: list[float]  # ascending, all rounds pooled
    requests: int
    wall: float
    server_cpu_seconds: float
    client_cpu_seconds: float
    machine_cpu_seconds: float
    live_calls: int

    @classmethod
    def of(cls, results: list[WindowResult]) -> Row:
        return cls(
            rates=[r.requests / r.window.duration for r in results],
            latencies=sorted(x for r in results for x in r.latencies),
            requests=sum(r.requests for r in results),
            wall=sum(r.wall for r in results),
            server_cpu_seconds=sum(r.server_cpu_seconds for r in results),
            client_cpu_seconds=sum(r.client_cpu_seconds for r in results),
            machine_cpu_seconds=sum(r.machine_cpu_seconds for r in results),
            live_calls=max(r.live_calls for r in results),
        )

    @property
    def rate(self) -> float:
        """Median over the rounds."""
        return median(self.rates)

    @property
    def server_cpu(self) -> float:
        return self.server_cpu_seconds / self.wall

    @property
    def client_cpu(self) -> float:
        return self.client_cpu_seconds / self.wall

    @property
    def other_cpu(self) -> float:
        """Cores busy with anything but this benchmark's server and clients (other work on the machine)."""
        return max(0.0, self.machine_cpu_seconds - self.server_cpu_seconds - self.client_cpu_seconds) / self.wall

    @property
    def server_us_per_request(self) -> float:
        return self.server_cpu_seconds * 1e6 / self.requests if self.requests else math.nan


@dataclass(slots=True)
class ScenarioResult:
    windows: list[WindowResult]
    workers: list[WorkerResult]

    @property
    def errors(self) -> int:
        return sum(w.errors for w in self.workers)

    def row(self, label: str) -> Row:
        return Row.of([w for w in self.windows if w.window.label == label])


def run_scenario(
    servers: dict[str, ServerProcess], windows: list[Window], *, sessions: int, procs: int, warmup: float,
    use_uvloop: bool, client_cpus: set[int] | None,
) -> ScenarioResult:
    """Client workers keep `sessions` sessions open to every server and run the windows in order; this
    process measures each server's CPU and RSS over the same windows."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    workers = []
    first = 0
    urls = {target: server.ws_url for target, server in servers.items()}
    for i in range(procs):
        n = share(sessions, procs, i)
        spec = WorkerSpec(
            index=i, urls=urls, sessions=n, first_session=first, total_sessions=sessions, windows=windows,
            warmup=warmup, use_uvloop=use_uvloop, cpus=client_cpus,
        )
        first += n
        workers.append(ctx.Process(target=_worker_main, args=(spec, barrier, results), daemon=True))
    for p in workers:
        p.start()
    measured: list[tuple[float, float, float, int, int]] = []  # server cpu s, wall s, machine cpu s, rss, calls
    try:
        for w in windows:
            barrier.wait(SETUP_TIMEOUT)
            server = servers[w.target]
            live = int(server.health().get("calls", 0)) if w.target == RELAYBOX else 0
            time.sleep(warmup)
            cpu0, busy0, t0 = server.cpu_seconds(), machine_busy_seconds(), time.monotonic()
            time.sleep(w.duration)
            cpu1, busy1, t1 = server.cpu_seconds(), machine_busy_seconds(), time.monotonic()
            measured.append((cpu1 - cpu0, t1 - t0, busy1 - busy0, server.rss_kib(), live))
    except Exception:
        errors = _drain_errors(results)
        for p in workers:
            p.kill()
        raise RuntimeError("a client worker failed:\n" + ("\n".join(errors) or "(no traceback)")) from None
    got: list[WorkerResult] = []
    deadline = time.monotonic() + SETUP_TIMEOUT
    while len(got) < procs:
        item = results.get(timeout=max(1.0, deadline - time.monotonic()))
        if isinstance(item, tuple):
            raise RuntimeError(f"client worker {item[1]} failed:\n{item[2]}")
        got.append(item)
    for p in workers:
        p.join(30)
    out = []
    for k, w in enumerate(windows):
        cpu, wall, busy, rss, live = measured[k]
        out.append(WindowResult(
            window=w,
            requests=sum(r.windows[k].requests for r in got),
            wall=wall,
            latencies=sorted(x for r in got for x in r.windows[k].latencies),
            server_cpu_seconds=cpu,
            client_cpu_seconds=sum(r.windows[k].cpu_seconds for r in got),
            machine_cpu_seconds=busy,
            server_rss_kib=rss,
            live_calls=live,
            unanswered=sum(r.windows[k].unanswered for r in got),
        ))
    return ScenarioResult(out, sorted(got, key=lambda r: r.index))


def _drain_errors(results: Any) -> list[str]:
    errors = []
    with contextlib.suppress(Exception):
        while True:
            item = results.get(timeout=2)
            if isinstance(item, tuple):
                errors.append(f"worker {item[1]}:\n{item[2]}")
    return errors


# --------------------------------------------------------------------------------------------- calls held


@dataclass(slots=True)
class HoldCycle:
    """Dial N calls from fresh sessions, hold them, then end them with the sessions."""

    held: int
    platform_calls: int
    dial_seconds: float
    rss_base_kib: int  # sessions connected, no calls
    rss_held_kib: int
    rss_after_kib: int  # calls and sessions gone
    teardown_seconds: float | None
    calls_after_teardown: int
    latency: list[float]  # paced calling.answer with the calls up (first cycle only)
    other_cpu: float  # cores busy with other work on the machine during that sample
    probe: list[float]  # signalwire.ping latencies of a separate session while the calls were being set up
    dials_failed: int
    calls_lost: int
    errors: int
    error_samples: list[str]


@dataclass(slots=True)
class HoldResult:
    target: int
    latency_rate: float
    cycles: list[HoldCycle]

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.cycles)

    @property
    def dials_failed(self) -> int:
        return sum(c.dials_failed for c in self.cycles)

    @property
    def calls_lost(self) -> int:
        return sum(c.calls_lost for c in self.cycles)

    @property
    def error_samples(self) -> list[str]:
        return [e for c in self.cycles for e in c.error_samples][:5]


async def _probe(url: str, ready: Any, stop: Any) -> list[float]:
    async with aiohttp.ClientSession() as http:
        session, = await open_sessions(http, url, 1, 10_000, fake_calls=False)
        ready.set()
        latencies: list[float] = []
        deadline = time.monotonic() + SETUP_TIMEOUT
        while not stop.is_set() and time.monotonic() < deadline:
            t = time.perf_counter()
            if session.check("signalwire.ping", await session.request("signalwire.ping", {})):
                latencies.append(time.perf_counter() - t)
            await asyncio.sleep(PROBE_INTERVAL)
        await session.close()
        return latencies


def _probe_main(url: str, use_uvloop: bool, cpus: set[int] | None, ready: Any, stop: Any, out: Any) -> None:
    """A session in its own process that pings every PROBE_INTERVAL: its latency is the server's, not
    that of a client process busy with thousands of dials."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        out.put(run_async(_probe(url, ready, stop), use_uvloop))
    except BaseException:
        out.put(traceback.format_exc())
        ready.set()


async def _hold_cycle(
    http: aiohttp.ClientSession, server: ServerProcess, n_calls: int, sessions: int, sample: float, rate: float,
    probe_with: tuple[bool, set[int] | None] | None = None,
) -> HoldCycle:
    loop = asyncio.get_running_loop()
    clients = await open_sessions(http, server.ws_url, sessions, 0, fake_calls=False)
    latency: list[float] = []
    probed: list[float] = []
    other = math.nan
    prober = None
    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    try:
        if probe_with is not None:
            prober = ctx.Process(target=_probe_main, args=(server.ws_url, *probe_with, ready, stop, out), daemon=True)
            prober.start()
            if not await loop.run_in_executor(None, ready.wait, 60):
                raise RuntimeError("the probe session did not connect")
        await asyncio.sleep(1.0)
        rss_base = server.rss_kib()
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(SETUP_TIMEOUT):
                await asyncio.gather(*(c.hold_calls(share(n_calls, sessions, i)) for i, c in enumerate(clients)))
        finally:
            stop.set()
        dial_seconds = time.perf_counter() - t0
        if prober is not None:
            got = await loop.run_in_executor(None, out.get, True, 60)
            if isinstance(got, str):
                raise RuntimeError(f"the probe session failed:\n{got}")
            probed = sorted(got)
        await asyncio.sleep(1.5)  # history flush (every 0.5 s), trailing events and acks
        rss_held = server.rss_kib()
        platform_calls = int((await _health(http, server))["calls"])
        if sample > 0:  # are commands still quick with all those calls up? a paced calling.answer sample
            start = time.perf_counter()
            t_warm, t_end = start + 0.5, start + 0.5 + sample
            ours0, busy0 = server.cpu_seconds() + time.process_time(), machine_busy_seconds()
            counters = await asyncio.wait_for(
                asyncio.gather(*(c.run_window("calling.answer", rate / sessions, t_warm, t_end) for c in clients)),
                sample + 30,
            )
            ours1, busy1 = server.cpu_seconds() + time.process_time(), machine_busy_seconds()
            other = max(0.0, (busy1 - busy0) - (ours1 - ours0)) / (time.perf_counter() - start)
            latency = sorted(x for c in counters for x in c.latencies)
        held = sum(len(c.calls) for c in clients)
    finally:
        stop.set()
        if prober is not None:
            prober.join(10)
            if prober.is_alive():
                prober.kill()
        t0 = time.perf_counter()  # signalwire.disconnect ends each session and the calls it holds
        await asyncio.gather(*(c.close() for c in clients))
    teardown: float | None = None
    remaining = -1
    for _ in range(600):
        remaining = int((await _health(http, server))["calls"])
        if remaining == 0:
            teardown = time.perf_counter() - t0
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    return HoldCycle(
        held=held, platform_calls=platform_calls, dial_seconds=dial_seconds, rss_base_kib=rss_base,
        rss_held_kib=rss_held, rss_after_kib=server.rss_kib(), teardown_seconds=teardown,
        calls_after_teardown=remaining, latency=latency, other_cpu=other, probe=probed,
        dials_failed=sum(c.dials_failed for c in clients), calls_lost=sum(c.calls_lost for c in clients),
        errors=sum(c.errors for c in clients), error_samples=[e for c in clients for e in c.error_samples][:5],
    )


async def _hold(
    server: ServerProcess, n_calls: int, sessions: int, sample: float, rate: float, use_uvloop: bool,
    probe_cpus: set[int] | None,
) -> HoldResult:
    """Two cycles: the first measures RSS per call, the second shows whether memory is reused or grows."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        first = await _hold_cycle(http, server, n_calls, sessions, sample, rate, (use_uvloop, probe_cpus))
        second = await _hold_cycle(http, server, n_calls, sessions, 0.0, rate)
    return HoldResult(target=n_calls, latency_rate=rate, cycles=[first, second])


async def _health(http: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    async with http.get(server.url + "/api/health") as resp:
        body: dict[str, Any] = await resp.json()
        return body


# --------------------------------------------------------------------------------------------- report


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    if not sorted_values:
        return math.nan
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k] * 1000


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


HEADER = (
    f"  {'':<40} {'rate':>11} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'srvCPU':>6} {'srv µs':>7}"
    f" {'cliCPU':>6} {'other':>5} {'calls':>6}"
)


def row_line(name: str, r: Row) -> str:
    lat = r.latencies
    return (
        f"  {name:<40} {r.rate:>9,.0f}/s {pct(lat, 50):>7.3f} {pct(lat, 99):>7.3f} {pct(lat, 100):>7.1f}"
        f" {r.server_cpu:>6.0%} {r.server_us_per_request:>7.1f} {r.client_cpu:>6.0%} {r.other_cpu:>5.2f}"
        f" {r.live_calls:>6,}"
    )


def median(xs: list[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def rounds(rs: list[float]) -> str:
    return " ".join(f"{x:,.0f}" for x in rs)


def print_report(
    args: argparse.Namespace, info: dict[str, str], started: dt.datetime, res: ScenarioResult,
    hold: HoldResult | None, servers: dict[str, ServerProcess], exits: dict[str, float | None], elapsed: float,
) -> None:
    p = print
    p("=" * 104)
    p(f"relaybox gateway benchmark  {started:%Y-%m-%d %H:%M:%S %Z}  ({'quick' if args.quick else 'full'} run,"
      f" {elapsed:.0f} s)")
    p(f"machine: {info['cores']} cores, {info['cpu']}, {info['python']}, Linux {info['kernel']}")
    p(f"         {info['libs']}; relaybox {info['relaybox']}")
    loop_name = "uvloop" if args.uvloop else "asyncio"
    pin = (f"server pinned to CPU {sorted(args.server_cpus)}, clients to {sorted(args.client_cpus)}"
           if args.server_cpus else "no CPU pinning")
    p("setup:   loopback only; relaybox --log-level warning (at INFO it logs one line per call state change; off so"
      " logging does not dominate)")
    p(f"         {loop_name} in clients and servers; {pin}; {args.sessions} v4 sessions per server from"
      f" {args.client_procs} client process(es)")
    p(f"         one request in flight per session, server events acked; {args.warmup:g} s warm-up before each row")
    p(f"load:    {spin_note(args)}")
    p("columns: rate = round trips/s (median of the rounds); latency = client send -> reply received, all rounds;")
    p("         srvCPU/cliCPU = share of one core; srv µs = server CPU time per round trip; other = cores busy with")
    p("         processes that are not this benchmark's (other work on the machine); calls = live platform calls")
    p("-" * 104)

    e_ping, r_ping = res.row("echo ping"), res.row("relaybox ping")
    e_ans, r_ans = res.row("echo answer"), res.row("relaybox answer")
    e_ev = res.row("echo answer+event")
    p(f"1. Command round trips/s, {args.sessions} sessions, closed loop, {args.rounds} round(s) of"
      f" {args.duration:g} s, echo and relaybox alternating")
    p(HEADER)
    p(row_line("echo server, ping frame", e_ping))
    p(row_line("relaybox signalwire.ping", r_ping))
    p(row_line("echo server, calling.answer frame", e_ans))
    p(row_line("echo, answer frame + 1 event frame", e_ev))
    p(row_line("relaybox calling.answer (+ its event)", r_ans))
    pairs = {
        "signalwire.ping": (r_ping, e_ping),
        "calling.answer": (r_ans, e_ans),
        "calling.answer vs echo+event": (r_ans, e_ev),
    }
    ratios = {k: [r / e for r, e in zip(a.rates, b.rates, strict=True)] for k, (a, b) in pairs.items()}
    p(f"  ratio relaybox/echo, median of the {args.rounds} paired round(s)  (target >= 0.80):")
    p("    " + "   ".join(f"{k} {median(v):.2f} {verdict(median(v) >= 0.8)}" for k, v in ratios.items()))
    if args.rounds > 1:
        p("    per round: " + "; ".join(f"{k.split()[0]}{' vs echo+event' if 'vs' in k else ''}"
                                      f" {' '.join(f'{x:.2f}' for x in v)}" for k, v in ratios.items()))
        p(f"    round trips/s per round: echo ping {rounds(e_ping.rates)}; relaybox ping {rounds(r_ping.rates)}")
        p(f"      echo answer {rounds(e_ans.rates)}; echo+event {rounds(e_ev.rates)}; relaybox answer"
          f" {rounds(r_ans.rates)}")
    costs = {k: a.server_us_per_request / b.server_us_per_request for k, (a, b) in pairs.items()}
    p("  server CPU per round trip, relaybox/echo: " + ", ".join(f"{k} {v:.2f}x" for k, v in costs.items()))
    p("    = the ratio a server-bound run would show: " + ", ".join(f"{1 / v:.2f}" for v in costs.values()))
    p("")
    sat, idle = res.row("saturated"), res.row("idle")
    e_paced, r_paced, r_pping = res.row("echo paced"), res.row("paced"), res.row("paced ping")
    p(f"2. Command latency with {sat.live_calls:,} live sandbox calls ({args.latency_calls:,} dialled by the"
      f" {args.sessions} sessions), {args.latency_duration:g} s per row")
    p(HEADER)
    p(row_line("relaybox calling.answer, closed loop", sat))
    p(row_line(f"echo, answer + event frames {args.paced_rate:,.0f}/s", e_paced))
    p(row_line(f"relaybox calling.answer paced {args.paced_rate:,.0f}/s", r_paced))
    p(row_line(f"relaybox signalwire.ping paced {args.paced_rate:,.0f}/s", r_pping))
    p(f"  calling.answer p99 at {args.paced_rate:,.0f}/s: {pct(r_paced.latencies, 99):.3f} ms (target < 2 ms:"
      f" {verdict(pct(r_paced.latencies, 99) < 2)}); the echo server's p99 at the same rate:"
      f" {pct(e_paced.latencies, 99):.3f} ms")
    p(f"  closed loop p99 {pct(sat.latencies, 99):.3f} ms is mostly queueing: {args.sessions} requests always"
      f" in flight; relaybox idle with the calls up: {idle.server_cpu:.1%} of a core")
    p("")
    if hold is not None:
        c1, c2 = hold.cycles
        p(f"3. Concurrent sandbox calls held (a fresh server with --speed {args.hold_speed:g}, so the 1 s ring takes"
          f" {1000 / args.hold_speed:g} ms)")
        delta = c1.rss_held_kib - c1.rss_base_kib
        per_call = delta / c1.held if c1.held else math.nan
        p(f"  calls dialled and answered: {c1.held:,} of {hold.target:,} in {c1.dial_seconds:.1f} s"
          f" ({c1.held / c1.dial_seconds:,.0f} calls/s, {DIAL_WINDOW} ringing per session at most);"
          f" /api/health: {c1.platform_calls:,} live calls")
        pr = c1.probe
        p(f"  meanwhile signalwire.ping every {PROBE_INTERVAL * 1000:g} ms from a session in another process:"
          f" p50 {pct(pr, 50):.3f} ms, p99 {pct(pr, 99):.3f} ms, max {pct(pr, 100):.1f} ms ({len(pr):,} pings)")
        p(f"  server RSS (VmRSS): {mib(c1.rss_base_kib)} with {args.sessions} sessions and no calls ->"
          f" {mib(c1.rss_held_kib)} with {c1.held:,} calls")
        if c1.held >= 10_000:
            target = verdict(c1.rss_held_kib * 1024 < 500e6)
        else:
            projected = c1.rss_base_kib + per_call * 10_000
            target = f"not measured, linear projection {projected * 1024 / 1e6:.0f} MB"
        p(f"  RSS per call: {per_call:.2f} KiB (delta {mib(delta)}); total {mib(c1.rss_held_kib)}"
          f" = {c1.rss_held_kib * 1024 / 1e6:.0f} MB  (target 10,000 calls in < 500 MB: {target})")
        lat = c1.latency
        p(f"  calling.answer paced {hold.latency_rate:,.0f}/s with the calls up: p50 {pct(lat, 50):.3f} ms,"
          f" p99 {pct(lat, 99):.3f} ms, max {pct(lat, 100):.1f} ms ({len(lat):,} requests;"
          f" other work on the machine: {c1.other_cpu:.2f} cores)")
        for name, c in (("first", c1), ("second", c2)):
            td = f"{c.teardown_seconds:.2f} s" if c.teardown_seconds is not None else (
                f"not done ({c.calls_after_teardown} calls left)")
            p(f"  {name} cycle: {c.held:,} calls held at {mib(c.rss_held_kib)}; every session's signalwire.disconnect"
              f" ended them in {td}; RSS then {mib(c.rss_after_kib)}")
        p(f"  second cycle RSS growth over the first: {mib(c2.rss_held_kib - c1.rss_held_kib)} with the calls up,"
          f" {mib(c2.rss_after_kib - c1.rss_after_kib)} after teardown (the sandbox keeps the last"
          f" {MAX_KEPT_SANDBOX_CALLS:,} finished calls for GET /api/sandbox/calls, so RSS grows until that cap)")
        p("")
    p("checks")
    answers = sum(w.answers_ok for w in res.workers)
    expected = answers + sum(w.calls_answered for w in res.workers)
    got = sum(w.answered_events for w in res.workers)
    p(f"  relaybox sent {got:,} `answered` state events; expected {expected:,} (one per dialled call + one per"
      f" calling.answer){'' if got == expected else '  <-- MISMATCH'}")
    errors = res.errors + (hold.errors if hold else 0)
    unanswered = sum(w.unanswered for w in res.windows)
    failed = sum(w.dials_failed for w in res.workers) + (hold.dials_failed if hold else 0)
    lost = sum(w.calls_lost for w in res.workers) + (hold.calls_lost if hold else 0)
    events: dict[str, int] = {}
    for w in res.workers:
        for k, v in w.events.items():
            events[k] = events.get(k, 0) + v
    p("  events the relaybox sessions received (all acked): "
      + ", ".join(f"{k} {v:,}" for k, v in sorted(events.items(), key=lambda kv: -kv[1])))
    p(f"  error replies: {errors}; requests left unanswered: {unanswered}; dials failed: {failed};"
      f" held calls that ended unasked: {lost}")
    for sample in [*(e for w in res.workers for e in w.error_samples), *(hold.error_samples if hold else [])][:5]:
        p(f"    e.g. {sample}")
    others = [Row.of([w]).other_cpu for w in res.windows]
    busy = sum(1 for x in others if x > 0.1)
    flag = "  <-- figures disturbed: rerun on a quiet machine" if busy else ""
    p(f"  other work on the machine during parts 1-2: mean {sum(others) / len(others):.2f} cores,"
      f" max {max(others):.2f}; {busy} of {len(others)} rows had > 0.1 core of it{flag}")
    relay_rows = [w for w in res.windows if w.window.target == RELAYBOX]
    rss = ", ".join(f"{w.server_rss_kib / 1024:.1f}" for w in relay_rows)
    p(f"  relaybox --speed 1 RSS after each of its rows: {rss} MiB")
    for name, server in servers.items():
        lines = server.log_path.read_text(errors="replace").splitlines()
        bad = [x for x in lines if any(k in x for k in ("WARNING", "ERROR", "Traceback", "Exception"))]
        took = exits.get(name)
        stop = f"exited {took:.2f} s after SIGTERM" if took is not None else "did not exit cleanly on SIGTERM"
        p(f"  {name}: {stop}; {len(bad)} warning/error line(s) in its log")
        for line in bad[:3]:
            p(f"    {line[:160]}")
    p("=" * 104)


def spin_note(args: argparse.Namespace) -> str:
    quiet = (f"waited {args.quiet_wait:.0f} s for a quiet machine ({args.quiet_busy:.2f} cores busy then); "
             if args.wait_quiet > 0 else "")
    return f"{quiet}two spinning processes got {args.cpu_share:.2f} cores at start"


def wait_quiet(max_seconds: float, threshold: float = 0.15) -> tuple[float, float]:
    """Wait (at most `max_seconds`) for a second in which the machine's other work used < `threshold` cores.

    Returns (seconds waited, cores busy in the last second sampled)."""
    t0 = time.monotonic()
    busy = math.inf
    while True:
        b0, w0 = machine_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (machine_busy_seconds() - b0) / (time.monotonic() - w0)
        if busy < threshold or time.monotonic() - t0 >= max_seconds:
            return time.monotonic() - t0, busy


def cpu_share(seconds: float = 1.0) -> float:
    """How many cores two busy processes actually get (a throttled VM gives less than its vCPU count)."""
    ctx = mp.get_context("spawn")
    n = min(2, os.cpu_count() or 1)
    with ctx.Pool(n) as pool:
        used = pool.map(_spin, [seconds] * n)
    return sum(used) / seconds


def _spin(seconds: float) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        pass
    return time.process_time() - c0


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=50, help="concurrent v4 sessions per server (default 50)")
    ap.add_argument("--calls", type=int, default=10_000, help="sandbox calls to hold in part 3 (default 10000)")
    ap.add_argument("--latency-calls", type=int, default=1_000, help="live calls during part 2 (default 1000)")
    ap.add_argument("--duration", type=float, default=3.0, help="measured seconds per part-1 row and round"
                    " (default 3; part-2 rows run twice as long)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating echo/relaybox rounds in part 1 (default 5)")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each row (default 1)")
    ap.add_argument("--paced-rate", type=float, default=1_000.0,
                    help="total requests/s of the paced latency rows (default 1000)")
    ap.add_argument("--client-procs", type=int, default=1, help="client processes sharing the sessions (default 1)")
    ap.add_argument("--hold-speed", type=float, default=100.0, help="--speed of the part-3 server (default 100)")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="do not pin servers to CPU 0 and clients to the other CPUs")
    ap.add_argument("--no-uvloop", dest="uvloop", action="store_false", help="plain asyncio in clients and echo")
    ap.add_argument("--skip-hold", action="store_true", help="skip part 3")
    ap.add_argument("--wait-quiet", type=float, default=60.0, metavar="S",
                    help="first wait up to S seconds for other work on the machine to stop (default 60; 0: don't)")
    ap.add_argument("--quick", action="store_true", help="~30 s smoke run: 1 round of 1 s rows, 2,000 calls held")
    ap.add_argument("--echo-server-port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = min(args.duration, 1.0), min(args.warmup, 0.5)
        args.rounds, args.calls, args.wait_quiet = 1, min(args.calls, 2000), min(args.wait_quiet, 10.0)
    if args.sessions < 1 or args.client_procs < 1 or args.client_procs > args.sessions:
        ap.error("need 1 <= --client-procs <= --sessions")
    if min(args.duration, args.paced_rate, args.calls, args.latency_calls, args.rounds) <= 0 or args.warmup < 0:
        ap.error("durations, rates, rounds and call counts must be positive")
    args.latency_duration = 2 * args.duration
    cpus = sorted(os.sched_getaffinity(0))
    args.server_cpus = {cpus[0]} if args.pin and len(cpus) >= 2 else None
    args.client_cpus = set(cpus[1:]) if args.server_cpus else None
    return args


def plan(args: argparse.Namespace) -> list[Window]:
    d, dl, rate = args.duration, args.latency_duration, args.paced_rate
    windows: list[Window] = []
    for r in range(args.rounds):
        windows += [
            Window("echo ping", ECHO, "signalwire.ping", d, round=r),
            Window("relaybox ping", RELAYBOX, "signalwire.ping", d, round=r),
            Window("echo answer", ECHO, "calling.answer", d, round=r),
            Window("echo answer+event", ECHO, "calling.answer+event", d, round=r),
            Window("relaybox answer", RELAYBOX, "calling.answer", d, calls=args.sessions, round=r),
        ]
    n = args.latency_calls
    windows += [
        Window("saturated", RELAYBOX, "calling.answer", dl, calls=n),
        Window("echo paced", ECHO, "calling.answer+event", dl, rate=rate),
        Window("paced", RELAYBOX, "calling.answer", dl, calls=n, rate=rate),
        Window("paced ping", RELAYBOX, "signalwire.ping", dl, calls=n, rate=rate),
        Window("idle", RELAYBOX, "idle", d, calls=n),
    ]
    return windows


@contextlib.contextmanager
def servers_cleanup(servers: dict[str, ServerProcess], exits: dict[str, float | None]) -> Iterator[None]:
    try:
        yield
    finally:
        for name, server in servers.items():
            if name not in exits:
                exits[name] = server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.echo_server_port:
        run_async(_echo_main(args.echo_server_port), args.uvloop)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers (finally) when terminated
    started = dt.datetime.now(dt.UTC).astimezone()
    t_start = time.monotonic()
    info = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="relaybox-bench-"))
    servers: dict[str, ServerProcess] = {}
    exits: dict[str, float | None] = {}
    hold: HoldResult | None = None
    print(f"relaybox gateway benchmark: {info['cores']} cores, {info['cpu']}, {info['python']}; work dir {tmp}",
          flush=True)
    try:
        args.quiet_wait, args.quiet_busy = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else (0.0, math.nan)
        if args.wait_quiet > 0:
            print(f"  waited {args.quiet_wait:.0f} s for a quiet machine: {args.quiet_busy:.2f} cores busy", flush=True)
        args.cpu_share = cpu_share()
        with servers_cleanup(servers, exits):
            echo = start_echo(tmp, args.uvloop, args.server_cpus)
            relay = start_relaybox(tmp, 1.0, "speed1", args.server_cpus)
            servers[echo.name], servers[relay.name] = echo, relay
            windows = plan(args)
            total = sum(w.duration + args.warmup for w in windows)
            print(f"  parts 1-2: {len(windows)} rows, about {total:.0f} s ...", flush=True)
            res = run_scenario(
                {ECHO: echo, RELAYBOX: relay}, windows, sessions=args.sessions, procs=args.client_procs,
                warmup=args.warmup, use_uvloop=args.uvloop, client_cpus=args.client_cpus,
            )
            exits[echo.name], exits[relay.name] = echo.stop(), relay.stop()
            if not args.skip_hold:
                print(f"  part 3: holding {args.calls:,} calls ...", flush=True)
                held = start_relaybox(tmp, args.hold_speed, "hold", args.server_cpus)
                servers[held.name] = held
                if args.client_cpus:
                    os.sched_setaffinity(0, args.client_cpus)
                hold = run_async(
                    _hold(held, args.calls, args.sessions, args.latency_duration, args.paced_rate, args.uvloop,
                          args.client_cpus),
                    args.uvloop,
                )
                exits[held.name] = held.stop()
        print_report(args, info, started, res, hold, servers, exits, time.monotonic() - t_start)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        for server in servers.values():
            print(f"--- last lines of {server.log_path}:\n{server.log_tail()}", file=sys.stderr)
        print(f"(work dir kept: {tmp})", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
