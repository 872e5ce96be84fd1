"""Hold music for a conference that has not started (sans-I/O): a looping source, the default melody
(synthesised offline, no network), and the audio URLs a `wait_url` that answers SWML names.

A participant waiting for a `start_on_enter` participant hears its `wait_url` (WAV/MP3, or a SWML
document whose first `play` names the audio) in a loop, else `default_music()`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE

Samples = npt.NDArray[np.int16]

# a slow C major / A minor / F / G progression, one arpeggiated note each 0.4 s (about 6.4 s a loop)
NOTES = (261.63, 329.63, 392.00, 523.25, 220.00, 261.63, 329.63, 440.00,
         174.61, 220.00, 261.63, 349.23, 196.00, 246.94, 293.66, 392.00)
NOTE_SECONDS = 0.4
AMPLITUDE = 5000.0


@functools.cache
def default_music() -> Samples:
    """A soft arpeggio (each note a sine plus a quieter octave, faded in and out so the notes do not click)."""
    n = int(NOTE_SECONDS * RATE)
    t = np.arange(n) / RATE
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-2.5 * t)
    notes = [(np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * envelope for f in NOTES]
    out = (np.concatenate(notes) * (AMPLITUDE / 1.3)).astype(np.int16)
    out.flags.writeable = False  # shared by every waiting participant
    return out


class HoldLoop:
    """SAMPLES played in a loop, one 20 ms frame at a time (silence while they are empty: still loading)."""

    def __init__(self, samples: Samples | None = None) -> None:
        self.samples: Samples = samples if samples is not None else np.zeros(0, dtype=np.int16)
        self.pos = 0

    def next(self) -> Samples:
        out = np.zeros(FRAME, dtype=np.int16)
        n = len(self.samples)
        if n == 0:
            return out
        filled = 0
        while filled < FRAME:
            take = min(FRAME - filled, n - self.pos)
            out[filled:filled + take] = self.samples[self.pos:self.pos + take]
            filled += take
            self.pos = (self.pos + take) % n
        return out


def swml_urls(data: bytes) -> list[str] | None:
    """The audio URLs of the first `play` in DATA if it is a SWML document (JSON); None if it is not JSON.
    `say:`/`silence:`/`ring:` items are left out (hold music is audio files)."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    play = _first_play(doc)
    if play is None:
        return []
    urls: list[Any] = [play] if isinstance(play, str) else []
    if isinstance(play, dict):
        urls = list(play.get("urls") or []) + ([play["url"]] if "url" in play else [])
    return [u for u in urls if isinstance(u, str) and u.startswith(("http://", "https://"))]


def _first_play(node: Any) -> Any:
    if isinstance(node, dict):
        if "play" in node:
            return node["play"]
        for key in ("sections", "main"):
            if key in node:
                found = _first_play(node[key])
                if found is not None:
                    return found
        return None
    if isinstance(node, list):
        for item in node:
            found = _first_play(item)
            if found is not None:
                return found
    return None
