"""Tap streams fed with a call's real audio: the same RTP and WebSocket senders as the sandbox's
(`relaybox.engines.rtp`), but driven by `CallMedia`'s 20 ms frames instead of rendered segments."""

from __future__ import annotations

import contextlib
from array import array
from typing import TYPE_CHECKING, Any

import numpy as np

from relaybox.engines.rtp import RtpTapStream, WsTapStream, _upsample
from relaybox.media import FRAME, RATE, g711
from relaybox.media.jitter import Samples

if TYPE_CHECKING:
    from relaybox.media.callmedia import CallMedia


class _Fed:
    """Mixin: frames come from the call (`feed`), grouped into ptime packets; no clock of its own."""

    ptime: int
    call_media: CallMedia
    direction: str
    _pending: list[Samples]

    def start(self) -> None:
        self._pending = []
        self.call_media.taps.append(self)
        self.call_media.endpoint.busy = True  # taps are fed every tick

    def add(self, start: float, segment: Any) -> None:
        """The symbolic sounds are already in the real audio."""

    def feed(self, speak: Samples, listen: Samples) -> None:
        if self.direction == "speak":
            frame = speak
        elif self.direction == "listen":
            frame = listen
        else:
            frame = np.clip(speak.astype(np.int32) + listen, -32768, 32767).astype(np.int16)
        self._pending.append(frame)
        if len(self._pending) * FRAME >= RATE * self.ptime // 1000:
            out = np.concatenate(self._pending)
            self._pending = []
            self.send_samples(out)

    def send_samples(self, samples: Samples) -> None:
        raise NotImplementedError

    def detach(self) -> None:
        if self in self.call_media.taps:
            self.call_media.taps.remove(self)


class RealRtpTap(_Fed, RtpTapStream):
    def send_samples(self, samples: Samples) -> None:
        import struct

        header = struct.pack("!BBHII", 0x80, g711.STATIC_PAYLOAD_TYPES[self.codec] | (0x80 if self.sent == 0 else 0),
                             self.seq & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc)
        with contextlib.suppress(OSError):
            self.sock.sendto(header + g711.encode(samples, self.codec), self.target)
        self.sent += 1
        self.seq += 1
        self.timestamp += len(samples)

    def close(self) -> None:
        self.detach()
        super().close()


class RealWsTap(_Fed, WsTapStream):
    def send_samples(self, samples: Samples) -> None:
        self.send(array("h", samples.tobytes()) if self.rate == RATE else _upsample(array("h", samples.tobytes()),
                                                                                 self.rate // RATE))

    def send(self, frame: array[int]) -> None:
        import asyncio
        import contextlib

        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(g711.encode(np.frombuffer(frame.tobytes(), dtype=np.int16), self.codec))

    def close(self) -> None:
        self.detach()
        super().close()


class RealTapper:
    """A `TapOpener` for one call and one direction (what `calling.tap` opens on a real-audio leg)."""

    def __init__(self, call_media: CallMedia, direction: str) -> None:
        self.call_media = call_media
        self.direction = direction

    def open_rtp(self, addr: str, port: int, codec: str, ptime: int) -> RealRtpTap:
        cm = self.call_media
        tap = RealRtpTap(cm.clock, cm.renderer, addr, port, codec, ptime)
        tap.call_media, tap.direction = cm, self.direction
        return tap

    def open_ws(self, uri: str, codec: str, rate: int) -> RealWsTap:
        cm = self.call_media
        tap = RealWsTap(cm.clock, cm.renderer, uri, codec, rate, 20)
        tap.call_media, tap.direction = cm, self.direction
        return tap
