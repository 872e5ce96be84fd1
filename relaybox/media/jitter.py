"""A jitter buffer keyed by RTP timestamp, sans-I/O: G.711 payloads go in as they arrive (any order), one
20 ms frame of them comes out per tick. It is written in C (`_rtpcore`), so the RTP pacer's receive
loop fills it without the interpreter.

Keying by timestamp rather than sequence number makes gaps from RFC 4733 packets (same sequence
space, no audio), senders with other packet times (a 30 ms packet fills a frame and a half), and lost
packets all the same case: a missing slot plays as silence (the codec's `fill` byte). Packets older
than the playout point are dropped as late; a new SSRC, or a timestamp jump of more than `resync`
samples, restarts the buffer; after `idle_ticks` empty ticks the stream counts as paused (hold, DTX)
and the next packet starts it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from relaybox.media import _rtpcore

Samples = npt.NDArray[np.int16]


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0  # ticks where the slot was missing (lost or late)
    late: int = 0
    duplicates: int = 0
    resets: int = 0
    overflows: int = 0


class JitterBuffer(_rtpcore.JitterBuffer):
    """`JitterBuffer(frame=160, delay_frames=2, max_frames=15, idle_ticks=10, resync=16000)`; `push(ssrc,
    timestamp, payload)`, `pop()` -> the frame's bytes (None while nothing plays), `reset()`, `fill`."""

    @property
    def stats(self) -> JitterStats:
        return JitterStats(**self.counters())
