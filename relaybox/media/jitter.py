"""A jitter buffer keyed by RTP timestamp, sans-I/O: packets go in as they arrive (any order), one
20 ms frame comes out per tick.

Keying by timestamp rather than sequence number makes gaps from RFC 4733 packets (same sequence
space, no audio), senders with other packet times (a 30 ms packet fills a frame and a half), and lost
packets all the same case: a missing slot plays as silence. Packets older than the playout point
are dropped as late; a new SSRC, or a timestamp jump of more than `resync` samples, restarts the
buffer; after `idle_ticks` empty ticks the stream counts as paused (hold, DTX) and the next packet
starts it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from relaybox.media.rtp import ts_delta

Samples = npt.NDArray[np.int16]
Payload = Samples | bytes | bytearray  # decoded samples, or G.711 bytes (one byte a sample) decoded when played


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0  # ticks where the slot was missing (lost or late)
    late: int = 0
    duplicates: int = 0
    resets: int = 0
    overflows: int = 0


class JitterBuffer:
    def __init__(self, frame: int = 160, delay_frames: int = 2, max_frames: int = 15, idle_ticks: int = 10,
                 resync: int = 8000 * 2) -> None:
        self.frame = frame
        self.delay = delay_frames * frame
        self.max = max_frames * frame
        self.idle_ticks = idle_ticks
        self.resync = resync
        self.fill = b"\xff"  # the byte that is silence in the payloads pushed as bytes (G.711: 0xFF u-law, 0xD5 A-law)
        self.ssrc: int | None = None
        self.playout: int | None = None  # timestamp of the next frame to play
        self.slots: dict[int, Payload] = {}
        self.newest: int | None = None
        self.empty_ticks = 0
        self.stats = JitterStats()

    def reset(self) -> None:
        self.ssrc = None
        self.playout = None
        self.slots.clear()
        self.newest = None
        self.empty_ticks = 0

    def push(self, ssrc: int, timestamp: int, samples: Payload) -> None:
        """Audio of one packet (any number of samples) that starts at TIMESTAMP."""
        self.stats.received += 1
        playout = self.playout
        if ssrc == self.ssrc and playout is not None and len(samples) == self.frame:  # the usual packet, inline
            ahead = ((timestamp - playout + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            slots = self.slots
            if 0 <= ahead <= self.max and not ahead % self.frame and timestamp not in slots:
                slots[timestamp] = samples
                if ((timestamp - self.newest + 0x80000000) & 0xFFFFFFFF) - 0x80000000 > 0:  # type: ignore[operator]
                    self.newest = timestamp
                self.empty_ticks = 0
                return
        if ssrc != self.ssrc or (self.playout is not None and abs(ts_delta(self.playout, timestamp)) > self.resync):
            if self.ssrc is not None:
                self.stats.resets += 1
            self.reset()
            self.ssrc = ssrc
        if self.playout is None:
            self.playout = (timestamp - self.delay) & 0xFFFFFFFF
            self.newest = self.playout
        # any packet time (10, 30, 60 ms...), on or off the 20 ms grid of the playout: each sample goes to
        # the frame that plays it, so a 30 ms stream fills frame k from two packets
        f, playout, slots = self.frame, self.playout, self.slots
        raw = type(samples) is not np.ndarray
        rel = ((timestamp - playout + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        end = rel + len(samples)
        if end <= 0:
            self.stats.late += 1
            return
        begin = rel if rel > 0 else 0
        wrote = False
        last = -1
        for base in range(begin - begin % f, end, f):
            lo = base if base > begin else begin
            hi = base + f if base + f < end else end
            key = (playout + base) & 0xFFFFFFFF
            slot = slots.get(key)
            if slot is None:  # G.711 bytes stay bytes (decoded when played), samples stay samples
                slot = slots[key] = bytearray(self.fill * f) if raw else np.zeros(f, dtype=np.int16)
            elif type(slot) is bytes or (lo == base and hi == base + f) or raw != (type(slot) is bytearray):
                self.stats.duplicates += 1  # this frame came already (or its other part in another coding)
                continue
            slot[lo - base:hi - base] = samples[lo - rel:hi - rel]  # type: ignore[index]
            wrote = True
            last = base
        if wrote and ts_delta(playout, self.newest) < last:  # type: ignore[arg-type]
            self.newest = (playout + last) & 0xFFFFFFFF
        if not wrote:
            return
        self.empty_ticks = 0
        # the sender runs ahead of us (clock drift, a burst after a stall): drop the oldest audio
        assert self.newest is not None
        while ts_delta(self.playout, self.newest) > self.max:
            self.stats.overflows += 1
            self.slots.pop(self.playout, None)
            self.playout = (self.playout + self.frame) & 0xFFFFFFFF

    def pop(self) -> Payload | None:
        """The frame due now: audio, silence for a missing slot, or None while nothing is playing."""
        if self.playout is None:
            return None
        frame = self.slots.pop(self.playout, None)
        self.playout = (self.playout + self.frame) & 0xFFFFFFFF
        if frame is None:
            self.empty_ticks += 1
            if not self.slots and self.empty_ticks >= self.idle_ticks:  # paused: restart on the next packet
                self.playout = None
                self.newest = None
                return None
            self.stats.concealed += 1
            return np.zeros(self.frame, dtype=np.int16)
        self.empty_ticks = 0
        self.stats.played += 1
        return frame
