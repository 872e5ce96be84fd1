"""A recording of what was really heard and sent on a call: the far end's audio ("speak") and what
the platform sent it ("listen"), frame by frame, mono or stereo (left: speak, right: listen, as the
sandbox renderer does), with pauses (skip: cut; silence: muted) and the activity a `record` action
needs for its timeouts (voice activity on the recorded direction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE, audiofiles

Samples = npt.NDArray[np.int16]
ACTIVE_ENERGY = 300.0  # RMS above which an outgoing frame counts as sound
_SILENT = np.zeros(FRAME, dtype=np.int16)


class _Track:
    """One direction's samples, appended a frame at a time into one array that doubles when full: no
    per-frame objects are kept, and the file is written from it without joining."""

    def __init__(self) -> None:
        self.data = np.empty(FRAME * 64, dtype=np.int16)
        self.size = 0

    def append(self, frame: Samples) -> None:
        if self.size + FRAME > len(self.data):
            self.data = np.concatenate([self.data, np.empty_like(self.data)])
        self.data[self.size:self.size + FRAME] = frame
        self.size += FRAME

    @property
    def samples(self) -> Samples:
        return self.data[:self.size] if self.size else np.zeros(FRAME, dtype=np.int16)


class CallRecording:
    """TIMED: the recording has silence timeouts, so each frame's sound is measured (else it is not)."""

    def __init__(self, path: Path, fmt: str, stereo: bool, direction: str, t0: float, timed: bool = True) -> None:
        if direction not in ("speak", "listen", "both"):
            raise ValueError("direction must be speak, listen or both")
        audiofiles.check_encoder(fmt)
        self.path = path
        self.fmt = fmt
        self.stereo = stereo
        self.direction = direction
        self.t0 = t0
        self.timed = timed
        self.speak = _Track()
        self.listen = _Track()
        self.paused: str | None = None  # None, "skip" or "silence"
        self.heard = False
        self.active = False
        self.last_sound = t0
        self.closed = False

    def feed(self, t: float, speak: Samples, listen: Samples, speak_voiced: bool) -> None:
        """One 20 ms tick at platform time T: the far end's frame (voiced or not) and ours."""
        if self.closed:
            return
        if self.timed:
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
        if self.paused is not None:
            if self.paused == "skip":
                return
            speak = listen = _SILENT
        self.speak.append(speak)
        self.listen.append(listen)

    def activity(self, now: float) -> tuple[bool, bool, float]:
        """(anything heard since the start, sound right now, when the last sound was)."""
        return self.heard, self.active, self.last_sound

    def pause(self, behavior: str) -> None:
        self.paused = "skip" if behavior == "skip" else "silence"

    def resume(self) -> None:
        self.paused = None

    @property
    def seconds(self) -> float:
        return self.speak.size / RATE

    def finish(self) -> tuple[float, int]:
        """Write the file; returns (seconds, bytes)."""
        self.closed = True
        speak, listen = self.speak.samples, self.listen.samples
        if self.stereo:
            left = speak if self.direction != "listen" else listen
            right = listen if self.direction != "speak" else speak
            pcm = np.empty(2 * len(left), dtype=np.int16)
            pcm[0::2], pcm[1::2] = left, right
            return audiofiles.write(self.path, pcm, 2, self.fmt)
        if self.direction == "speak":
            mono = speak
        elif self.direction == "listen":
            mono = listen
        else:
            mono = np.clip(speak.astype(np.int32) + listen, -32768, 32767).astype(np.int16)
        return audiofiles.write(self.path, mono, 1, self.fmt)

    def cancel(self) -> None:
        self.closed = True
        self.speak = self.listen = _Track()
