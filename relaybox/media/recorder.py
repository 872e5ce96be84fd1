"""A recording of what was really heard and sent on a call: the far end's audio ("speak") and what
the platform sent it ("listen"), as the call's capture hands it over, mono or stereo (left: speak, right: listen, as the
sandbox renderer does), with pauses (skip: cut; silence: muted) and the activity a `record` action
needs for its timeouts (voice activity on the recorded direction)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE, audiofiles

Samples = npt.NDArray[np.int16]
ACTIVE_ENERGY = 300.0  # RMS above which an outgoing frame counts as sound


class CallRecording:
    """The audio arrives in blocks of both directions interleaved (`add`, from the call's capture: `flush` asks for what
    is pending before a pause, a resume or the end). TIMED: the recording has silence timeouts, so the
    sound of each frame is measured (`observe`); else it is not."""

    def __init__(self, path: Path, fmt: str, stereo: bool, direction: str, t0: float, timed: bool = True) -> None:
        if direction not in ("speak", "listen", "both"):
            raise ValueError("direction must be speak, listen or both")
        self.file = audiofiles.Writer(path, 2 if stereo else 1, fmt)
        self.stereo = stereo
        self.direction = direction
        self.t0 = t0
        self.timed = timed
        self.paused: str | None = None  # None, "skip" or "silence"
        self.heard = False
        self.active = False
        self.last_sound = t0
        self.closed = False
        self.flush: Callable[[], None] = lambda: None

    def add(self, both: Samples) -> None:
        """The far end's audio and ours over the same stretch of time, interleaved (speak, listen), written to
        the file as the pause then in force says."""
        if self.closed or self.paused == "skip" or not len(both):
            return
        if self.paused is not None:
            both = np.zeros_like(both)
        self.file.write(self._compose(both))  # a disk error: `finish` raises it

    def _compose(self, both: Samples) -> Samples:
        speak, listen = both[0::2], both[1::2]
        if self.stereo:  # left: speak, right: listen (one direction only: on both sides)
            if self.direction == "both":
                return both
            return np.repeat(speak if self.direction == "speak" else listen, 2)
        if self.direction == "speak":
            return speak
        if self.direction == "listen":
            return listen
        return np.clip(speak.astype(np.int32) + listen, -32768, 32767).astype(np.int16)

    def observe(self, t: float, listen: Samples, speak_voiced: bool) -> None:
        """One 20 ms tick at platform time T: whether the far end's frame was voiced, and ours."""
        if self.closed:
            return
        sound = False
        if self.direction in ("speak", "both") and speak_voiced:
            sound = True
        if not sound and self.direction in ("listen", "both") and listen.any():
            f = listen.astype(np.float32)
            sound = float(np.dot(f, f)) > ACTIVE_ENERGY ** 2 * len(listen)
        self.active = sound
        if sound:
            self.heard = True
            self.last_sound = t

    def activity(self, now: float) -> tuple[bool, bool, float]:
        """(anything heard since the start, sound right now, when the last sound was)."""
        return self.heard, self.active, self.last_sound

    def pause(self, behavior: str) -> None:
        self.flush()
        self.paused = "skip" if behavior == "skip" else "silence"

    def resume(self) -> None:
        self.flush()
        self.paused = None

    @property
    def seconds(self) -> float:
        self.flush()
        return self.file.frames / RATE

    def finish(self) -> tuple[float, int]:
        """Close the file; returns (seconds, bytes)."""
        self.flush()
        self.closed = True
        if not self.file.frames:  # nothing recorded: a frame of silence rather than an empty file
            self.file.write(self._compose(np.zeros(2 * FRAME, dtype=np.int16)))
        return self.file.close()

    def cancel(self) -> None:
        self.closed = True
        self.file.discard()
