"""`MixRecording`: a conference's whole mix (`Mixer.room()`, one frame per RTP tick) written to a WAV as it
goes (`audiofiles.Writer`: the spool's thread writes, the event loop never waits on the disk). With TRIM the
leading and trailing silence is left out: nothing is written before the first frame with sound, and silent
frames are held back until a frame with sound follows them (those at the end never are)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from relaybox.media.audiofiles import Samples, Writer

SILENT = 64  # a frame whose samples all stay within this is silence (about -54 dBFS; G.711's floor is 8)


class MixRecording:
    def __init__(self, path: Path, trim: bool) -> None:
        self.writer = Writer(path, 1, "wav")
        self.trim = trim
        self.heard = False  # a frame with sound was written
        self.held: list[Samples] = []  # silent frames since the last sound (trim: written only if sound follows)

    def feed(self, frame: Samples) -> None:
        if not self.trim:
            self.writer.write(frame)
            return
        if int(np.abs(frame.astype(np.int32)).max(initial=0)) <= SILENT:
            if self.heard:
                self.held.append(frame.copy())
            return
        if self.held:
            self.writer.write(np.concatenate(self.held))
            self.held.clear()
        self.heard = True
        self.writer.write(frame)

    def finish(self) -> tuple[float, int]:
        """Close the file: (seconds, bytes)."""
        self.held.clear()
        return self.writer.close()

    def discard(self) -> None:
        self.writer.discard()
