"""Tap streams: the call's audio as real G.711 RTP packets (RFC 3550) to a UDP target, paced on the
platform clock. The sandbox's symbolic sounds are synthesised as they happen (speech with espeak-ng
through `AudioRenderer`, tones and keys with sines), mixed, and encoded µ-law (PCMU) or A-law (PCMA).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from array import array
from typing import Any

from relaybox.clock import Clock, Timer
from relaybox.domain.actions.record import Segment
from relaybox.engines.audio import RATE, AudioRenderer

log = logging.getLogger("relaybox.media")

PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}


def _ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(32635, -sample if sample < 0 else sample) + 0x84
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def _alaw(sample: int) -> int:
    sign = 0x00 if sample < 0 else 0x80
    magnitude = min(32767, -sample if sample < 0 else sample) >> 3
    if magnitude < 32:
        value = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        value = exponent << 4 | (magnitude >> exponent) & 0x0F
    return (value | sign) ^ 0x55


ULAW = bytes(_ulaw(s - 32768) for s in range(65536))
ALAW = bytes(_alaw(s - 32768) for s in range(65536))


def encode(samples: array[int], codec: str) -> bytes:
    table = ULAW if codec == "PCMU" else ALAW
    return bytes(table[s + 32768] for s in samples)


class TapStream:
    """The call's sounds mixed into one frame every ptime, on the platform clock; subclasses send them."""

    def __init__(self, clock: Clock, renderer: AudioRenderer, codec: str, ptime: int) -> None:
        self.clock = clock
        self.renderer = renderer
        self.codec = codec
        self.ptime = ptime
        self.segments: list[tuple[float, array[int]]] = []  # (absolute start, samples)
        self.t0 = 0.0
        self.sent = 0
        self._timer: Timer | None = None
        self.closed = False

    def source_device(self) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, frame: array[int]) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self.t0 = self.clock.now()
        self._tick()

    def add(self, start: float, segment: Segment) -> None:
        """A sound that starts at platform time START."""
        try:
            samples = self.renderer.sound(segment)
        except Exception as exc:  # a tap keeps streaming (silence) when a sound cannot be made
            log.warning("tap: cannot render %s: %s", segment.kind, exc)
            return
        self.segments.append((start, samples))

    def _tick(self) -> None:
        if self.closed:
            return
        n = RATE * self.ptime // 1000
        begin = self.t0 + self.sent * self.ptime / 1000
        frame = array("h", bytes(2 * n))
        first = round(begin * RATE)
        keep = []
        for start, samples in self.segments:
            offset = first - round(start * RATE)
            if offset >= len(samples):
                continue
            keep.append((start, samples))
            for i in range(max(0, -offset), n):
                j = offset + i
                if j >= len(samples):
                    break
                v = frame[i] + samples[j]
                frame[i] = 32767 if v > 32767 else -32768 if v < -32768 else v
        self.segments = keep
        self.send(frame)
        self.sent += 1
        due = self.t0 + self.sent * self.ptime / 1000 - self.clock.now()
        self._timer = self.clock.call_later(max(0.0, due), self._tick)

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()


class RtpTapStream(TapStream):
    """RTP to addr:port from a UDP socket of its own (the source device)."""

    def __init__(self, clock: Clock, renderer: AudioRenderer, addr: str, port: int, codec: str, ptime: int) -> None:
        super().__init__(clock, renderer, codec, ptime)
        self.target = (addr, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1" if addr.startswith("127.") else "0.0.0.0", 0))
        self.local_addr = self._route_to(addr)
        self.seq = random.randrange(65536)
        self.timestamp = random.randrange(1 << 32)
        self.ssrc = random.randrange(1 << 32)

    @staticmethod
    def _route_to(addr: str) -> str:
        """The local address packets to ADDR leave from (what the source device should name)."""
        if addr.startswith("127."):
            return "127.0.0.1"
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((addr, 9))
            return str(probe.getsockname()[0])
        except OSError:  # no route from here: name the loopback rather than 0.0.0.0
            return "127.0.0.1"
        finally:
            probe.close()

    def source_device(self) -> dict[str, Any]:
        port = self.sock.getsockname()[1]
        return {
            "type": "rtp",
            "params": {"addr": self.local_addr, "port": port, "codec": self.codec, "ptime": self.ptime},
        }

    def send(self, frame: array[int]) -> None:
        header = struct.pack(
            "!BBHII", 0x80, PAYLOAD_TYPES[self.codec] | (0x80 if self.sent == 0 else 0),
            self.seq & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc,
        )
        try:
            self.sock.sendto(header + encode(frame, self.codec), self.target)
        except OSError as exc:  # the target is gone or unreachable: keep the pace, drop the packet
            log.debug("tap: send to %s failed: %s", self.target, exc)
        self.seq += 1
        self.timestamp += len(frame)

    def close(self) -> None:
        super().close()
        self.sock.close()


class WsTapStream(TapStream):
    """Binary WebSocket frames of G.711 audio (one per ptime) to a ws:// or wss:// URI."""

    def __init__(self, clock: Clock, renderer: AudioRenderer, uri: str, codec: str, rate: int, ptime: int) -> None:
        super().__init__(clock, renderer, codec, ptime)
        self.uri = uri
        self.rate = rate
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=500)
        self._task = asyncio.get_running_loop().create_task(self._pump())

    def source_device(self) -> dict[str, Any]:
        return {"type": "ws", "params": {"uri": self.uri, "codec": self.codec, "rate": self.rate}}

    def send(self, frame: array[int]) -> None:
        if self.rate != RATE:
            frame = _upsample(frame, self.rate // RATE)
        with contextlib.suppress(asyncio.QueueFull):  # a slow target loses frames, never the call
            self._queue.put_nowait(encode(frame, self.codec))

    async def _pump(self) -> None:
        import aiohttp

        try:
            async with aiohttp.ClientSession() as http, http.ws_connect(self.uri, heartbeat=None) as ws:
                while (payload := await self._queue.get()) is not None:
                    await ws.send_bytes(payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("tap: WebSocket %s: %s", self.uri, exc)

    def close(self) -> None:
        super().close()
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._task.cancel()


def _upsample(frame: array[int], factor: int) -> array[int]:
    out = array("h", bytes(2 * len(frame) * factor))
    for k in range(factor):
        out[k::factor] = frame
    return out


class Tapper:
    """Opens tap streams for the domain (`relaybox.domain.actions.tap.TapOpener`)."""

    def __init__(self, clock: Clock, renderer: AudioRenderer) -> None:
        self.clock = clock
        self.renderer = renderer

    def open_rtp(self, addr: str, port: int, codec: str, ptime: int) -> RtpTapStream:
        return RtpTapStream(self.clock, self.renderer, addr, port, codec, ptime)

    def open_ws(self, uri: str, codec: str, rate: int) -> WsTapStream:
        return WsTapStream(self.clock, self.renderer, uri, codec, rate, 20)
