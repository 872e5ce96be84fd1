"""Shared pieces of the test_media_* modules (no tests here): a server shared by a module's tests, a local
HTTP server of media files (a real WAV tone, an MP3, a multi-page PDF), an RTP receiver, file measurements."""

from __future__ import annotations

import http.server
import io
import math
import socket
import struct
import threading
import urllib.error
import urllib.request
import wave
from array import array
from collections.abc import Iterator
from typing import Any

import pytest


def shared_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One `relaybox serve` for a whole module (the per-test `relaybox` fixture restarts it each time)."""
    from conftest import Relaybox

    root = tmp_path_factory.mktemp("media")
    (root / "data").mkdir()
    box = Relaybox(root / "data", root / "relaybox.log")
    box.start()
    try:
        yield box
    finally:
        status = box.stop()
    assert status == 0, f"relaybox exited with {status} after SIGTERM"


def tone_pcm(seconds: float, rate: int = 8000, freq: float = 440.0, amp: int = 8000) -> array[int]:
    return array("h", (int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(rate * seconds))))


def wav_bytes(pcm: array[int], rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def mp3_bytes(pcm: array[int], rate: int = 8000) -> bytes:
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(32)
    enc.set_in_sample_rate(rate)
    enc.set_channels(1)
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


class MediaFiles:
    """http://127.0.0.1:PORT/tone.wav (1.5 s, 440 Hz), /tone.mp3 (2 s), /doc.pdf (3 pages), /junk.mp3 (not audio);
    anything else is a 404."""

    def __init__(self) -> None:
        from relaybox.engines.faxdoc import make_pdf

        self.files = {
            "/tone.wav": (wav_bytes(tone_pcm(1.5)), "audio/wav"),
            "/tone.mp3": (mp3_bytes(tone_pcm(2.0)), "audio/mpeg"),
            "/doc.pdf": (make_pdf([["page one"], ["page two"], ["page three"]]), "application/pdf"),
            "/junk.mp3": (b"this is not audio" * 50, "audio/mpeg"),
        }
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = files.get(self.path)
                if found is None:
                    self.send_error(404)
                    return
                body, ctype = found
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RtpReceiver:
    """A local UDP socket collecting RTP packets in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.sock.settimeout(0.2)
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.packets.append(self.sock.recv(4096))
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()

    def headers(self) -> list[tuple[int, int, int, int, int]]:
        return [struct.unpack("!BBHII", p[:12]) for p in self.packets]

    def pcm(self, codec: str) -> array[int]:
        """The packets' payloads decoded from G.711 (in sequence order)."""
        ordered = sorted(self.packets, key=lambda p: struct.unpack("!H", p[2:4])[0])
        return g711_decode(b"".join(p[12:] for p in ordered), codec)


def g711_decode(payload: bytes, codec: str) -> array[int]:
    """µ-law (PCMU) or A-law (PCMA) bytes as 16-bit samples."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # stdlib up to 3.12

    linear = audioop.ulaw2lin(payload, 2) if codec == "PCMU" else audioop.alaw2lin(payload, 2)
    return array("h", linear)


class WsReceiver:
    """A local WebSocket server (aiohttp, on a loop of its own thread) collecting the binary frames a tap sends."""

    def __init__(self) -> None:
        import asyncio

        from aiohttp import web

        self.frames: list[bytes] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def tap(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == web.WSMsgType.BINARY:
                    self.frames.append(msg.data)
            return ws

        async def start() -> None:
            app = web.Application()
            app.router.add_get("/tap", tap)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def uri(self) -> str:
        return f"ws://127.0.0.1:{self.port}/tap"

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)


def fetch(url: str) -> tuple[int, bytes]:
    """GET without credentials."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def loud_fraction(samples: array[int], threshold: int = 500) -> float:
    return sum(1 for s in samples if abs(s) > threshold) / max(1, len(samples))


def wav_samples(data: bytes) -> tuple[float, array[int]]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate(), array("h", w.readframes(w.getnframes()))


def mp3_samples(data: bytes) -> tuple[float, array[int]]:
    """Decode an MP3 (miniaudio) to 8 kHz mono: (seconds, samples)."""
    import miniaudio

    decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=8000)
    samples = array("h", decoded.samples)
    return len(samples) / 8000, samples


def phone_heard(box: Any, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The latest sandbox call of NUMBER once ended, and what it heard."""
    calls = box.sandbox_calls(number)
    assert calls, f"no sandbox call for {number}"
    call = box.wait_sandbox_ended(calls[-1]["id"])
    return call, [e["heard"] for e in call["transcript"] if "heard" in e]
