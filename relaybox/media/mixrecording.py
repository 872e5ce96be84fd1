"""`MixRecording`: a conference's whole mix (`Mixer.room()`, one frame per RTP tick) written to a WAV as it
goes (`audiofiles.Writer`: the spool's thread writes, the event loop never waits on the disk). With TRIM the
leading and trailing silence is left out: nothing is written before the first frame with sound, and silent
frames are held back until a frame with sound follows them (those at the end never are). The frames held
are kept as they were for a minute of silence; a longer gap is written back as digital silence, so a quiet
room costs no memory however long it stays quiet."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from relaybox.media import FRAME
from relaybox.media.audiofiles import Samples, Writer
from relaybox.media.mixer import Mixer

SILENT = 64  # a frame whose samples all stay within this is silence (about -54 dBFS; G.711's floor is 8)
HELD = 3000  # silent frames kept as they were (60 s); those after them only counted


class MixRecording:
    """Records MIXER's room from now on, until `finish` or `discard` (which take it out of the mix)."""

    def __init__(self, mixer: Mixer, path: Path, trim: bool) -> None:
        self.writer = Writer(path, 1, "wav")
        self.mixer = mixer
        self.trim = trim
        self.heard = False  # a frame with sound was written
        self.held: list[Samples] = []  # silent frames since the last sound (trim: written only if sound follows)
        self.more = 0  # silent frames past HELD, written back as zeros
        mixer.recorders.append(self.feed)

    def feed(self, frame: Samples) -> None:
        if not self.trim:
            self.writer.write(frame)
            return
        if int(np.abs(frame.astype(np.int32)).max(initial=0)) <= SILENT:
            if not self.heard:
                return
            if len(self.held) < HELD:
                self.held.append(frame.copy())
            else:
                self.more += 1
            return
        if self.held:
            self.writer.write(np.concatenate(self.held))
            self.held.clear()
        if self.more:
            self.writer.write(np.zeros(self.more * FRAME, dtype=np.int16))
            self.more = 0
        self.heard = True
        self.writer.write(frame)

    def _detach(self) -> None:
        if self.feed in self.mixer.recorders:
            self.mixer.recorders.remove(self.feed)
        self.held.clear()

    def finish(self) -> tuple[float, int]:
        """Stop and close the file: (seconds, bytes)."""
        self._detach()
        return self.writer.close()

    def discard(self) -> None:
        """Stop and remove the file."""
        self._detach()
        self.writer.discard()
