"""Helpers for the in-process integration tests: a RelayBox on an ephemeral port, REST and WebSocket clients.

Everything runs in the test's event loop over real sockets (aiohttp), except `ServeProcess`, which runs
`relaybox serve` as a user would (for SIGTERM and credential tests).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from relaybox.app import RelayBox, Settings

PROJECT, TOKEN = "it-project", "it-token"
TIMEOUT = 5.0
ROOT = Path(__file__).resolve().parents[2]


def basic(project: str = PROJECT, token: str = TOKEN) -> str:
    return "Basic " + base64.b64encode(f"{project}:{token}".encode()).decode()


@contextlib.asynccontextmanager
async def running_box(data_dir: Path, *, speed: float = 100.0, project: str | None = PROJECT,
                      token: str | None = TOKEN) -> AsyncIterator[RelayBox]:
    box = RelayBox(Settings(host="127.0.0.1", port=0, data_dir=data_dir, project=project, token=token, speed=speed))
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


class Rest:
    def __init__(self, http: aiohttp.ClientSession, base: str, auth: str | None = None) -> None:
        self.http = http
        self.base = base
        self.auth = basic() if auth is None else auth

    async def call(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None,
                   auth: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        auth = self.auth if auth is None else auth
        if auth:
            hdrs["Authorization"] = auth
        data: Any = raw
        if body is not None:
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.base + path, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                payload: Any = json.loads(text)
            except ValueError:
                payload = text
            return resp.status, payload

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, payload = await self.call(method, path, body)
        assert got == status, (method, path, got, payload)
        return payload


class Ws:
    """A RELAY client on a real WebSocket: replies are matched by id, events are kept in order."""

    _ids = itertools.count(1)

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, auto_ack: bool = True) -> None:
        self.ws = ws
        self.auto_ack = auto_ack
        self.frames: list[dict[str, Any]] = []
        self.raw: list[aiohttp.WSMessage] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self.protocol: str | None = None
        self.close_frame: tuple[int, str] | None = None  # (code, reason) of the server's Close frame

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str, **kw: Any) -> Ws:
        ws = await http.ws_connect(url, max_msg_size=0)
        return cls(ws, **kw)

    async def _read(self) -> None:
        try:
            while True:
                msg = await self.ws.receive()
                self.raw.append(msg)
                if msg.type == aiohttp.WSMsgType.CLOSE:
                    self.close_frame = (int(msg.data), str(msg.extra or ""))
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    self.frames.append(frame)
                    if (self.auto_ack and frame.get("method") == "signalwire.event") or (
                        frame.get("method") == "signalwire.disconnect"  # the v4 client answers it, then waits
                    ):
                        with contextlib.suppress(aiohttp.ClientError, ConnectionError):  # keep reading
                            await self.ws.send_str(json.dumps({"jsonrpc": "2.0", "id": frame["id"], "result": {}}))
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                                  aiohttp.WSMsgType.ERROR):
                    break
                self._changed.set()
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.closed.set()
            self._changed.set()

    @property
    def close_code(self) -> int | None:
        """aiohttp's verdict: the server's code after a complete closing handshake, 1006 otherwise."""
        return self.ws.close_code

    async def wait_for(self, predicate: Any, timeout: float = TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = predicate()
            if found:
                return found
            if self.closed.is_set() and not predicate():
                raise AssertionError(
                    f"connection closed ({self.close_code}) while waiting; last frames {self.frames[-4:]}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting; last frames {self.frames[-4:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def send_raw(self, data: str) -> None:
        await self.ws.send_str(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def request(self, method: str, params: Any = None, req_id: Any = None) -> dict[str, Any]:
        req_id = req_id if req_id is not None else f"it-{next(self._ids)}"
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        await self.ws.send_str(json.dumps(frame))
        return await self.reply(req_id)

    async def reply(self, req_id: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames if f.get("id") == req_id and ("result" in f or "error" in f)), None)

        result: dict[str, Any] = await self.wait_for(found)
        return result

    async def next_error_after(self, count: int) -> dict[str, Any]:
        """The first error frame received after `count` frames."""
        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames[count:] if "error" in f), None)

        result: dict[str, Any] = await self.wait_for(found)
        return result

    # -- events --------------------------------------------------------------------------------------

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        out = []
        for f in self.frames:
            if f.get("method") == "signalwire.event":
                et, params = f["params"]["event_type"], f["params"]["params"]
            elif f.get("method") == "blade.broadcast":
                inner = f["params"]["params"]
                et, params = inner.get("event_type", "relay.task"), inner.get("params", inner)
            else:
                continue
            if event_type is None or et == event_type:
                out.append({"event_type": et, "params": params})
        return out

    def states(self, call_id: str) -> list[str]:
        return [
            e["params"]["call_state"] for e in self.events("calling.call.state") if e["params"]["call_id"] == call_id
        ]

    async def wait_receive(self, call_id: str) -> None:
        await self.wait_for(lambda: any(e["params"]["call_id"] == call_id for e in self.events("calling.call.receive")))

    async def wait_state(self, call_id: str, state: str) -> None:
        await self.wait_for(lambda: state in self.states(call_id))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


class V4Ws(Ws):
    async def connect(self, contexts: list[str] | None = None, project: str = PROJECT,
                      token: str = TOKEN) -> dict[str, Any]:
        params: dict[str, Any] = {
            "version": {"major": 2, "minor": 0, "revision": 0}, "agent": "it", "event_acks": True,
            "authentication": {"project": project, "token": token},
        }
        if contexts:
            params["contexts"] = contexts
        reply = await self.request("signalwire.connect", params)
        if "result" in reply:
            self.protocol = reply["result"]["protocol"]
        return reply

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = await self.request(method, params)
        assert "result" in reply, reply
        return dict(reply["result"])

    async def ping(self) -> bool:
        reply = await self.request("signalwire.ping", {})
        return "timestamp" in reply.get("result", {})


class V2Ws(Ws):
    async def connect(self, project: str = PROJECT, token: str = TOKEN) -> dict[str, Any]:
        return await self.request(
            "blade.connect",
            {"version": {"major": 2, "minor": 3, "revision": 0}, "authentication": {"project": project, "token": token},
             "agent": "it"},
        )

    async def handshake(self, contexts: list[str]) -> None:
        assert "result" in await self.connect()
        setup = await self.request("blade.execute", {"protocol": "signalwire", "method": "setup", "params": {}})
        self.protocol = setup["result"]["result"]["protocol"]
        await self.request("blade.subscription",
                           {"command": "add", "protocol": self.protocol, "channels": ["notifications"]})
        assert await self.ping()
        receive = await self.execute("signalwire.receive", {"contexts": contexts})
        assert receive["result"]["result"]["code"] == "200"
        await asyncio.sleep(0.08)  # the gateway routes new contexts 50 ms after the acknowledgement

    async def execute(self, method: str, params: Any = None, protocol: str | None = None) -> dict[str, Any]:
        outer: dict[str, Any] = {"protocol": protocol or self.protocol, "method": method}
        if params is not None:
            outer["params"] = params
        return await self.request("blade.execute", outer)

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = await self.execute(method, params)
        assert "result" in reply, reply
        return dict(reply["result"]["result"])

    async def ping(self) -> bool:
        reply = await self.request("blade.ping", {})
        return "timestamp" in reply.get("result", {})


# ------------------------------------------------------------------------------------------------- subprocess


class ServeProcess:
    """`python -m relaybox serve` on an ephemeral port, its stderr in a file."""

    def __init__(self, data_dir: Path, log: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.log = log
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.project = ""
        self.token = ""

    def start(self, timeout: float = 15.0) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("RELAYBOX_PROJECT", "RELAYBOX_TOKEN")}
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [sys.executable, "-m", "relaybox", "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(self.data_dir), *self.args]
        self.log.write_text("")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            port = re.search(r"listening on http://[\d.]+:(\d+)", text)
            token = re.search(r"^\s*token:\s+(\S+)", text, re.MULTILINE)
            if port and token:
                self.port = int(port.group(1))
                self.project = re.search(r"^\s*project:\s+(\S+)", text, re.MULTILINE).group(1)  # type: ignore[union-attr]
                self.token = token.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"relaybox serve did not start:\n{self.log.read_text(errors='replace')}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"relaybox serve ignored SIGTERM:\n{self.log.read_text(errors='replace')}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# ------------------------------------------------------------------------------------------------- raw WebSocket


class RawWs:
    """A bare RFC 6455 client on asyncio streams. It never answers a Close by itself, so a test can see
    whether the server waits for the client's Close before dropping the TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawWs:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.writer.write(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def send_json(self, frame: Any) -> None:
        self.send_text(json.dumps(frame))

    def send_close(self, code: int = 1000) -> None:
        self._send(0x8, code.to_bytes(2, "big"))

    async def read_frame(self, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; raises IncompleteReadError at EOF."""
        async def read() -> tuple[int, bytes]:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await self.reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await self.reader.readexactly(8), "big")
            return b0 & 0x0F, await self.reader.readexactly(n)

        return await asyncio.wait_for(read(), timeout)

    async def tcp_closed_within(self, seconds: float) -> bool:
        """True when the server closes (or resets) the TCP connection within `seconds`, reading nothing else."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), seconds)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return data == b""

    def close(self) -> None:
        self.writer.close()
