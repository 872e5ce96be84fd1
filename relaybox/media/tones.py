"""Tone generation and detection on 8 kHz int16 audio, sans-I/O (numpy; the DTMF window test is C).

* `DtmfDetector`: in-band DTMF keys by Goertzel-style projections on a 40 ms window evaluated every
  20 ms frame, reported once per key press. The window's test is C's (`_rtpcore.dtmf_key`, which the
  RTP pacer also runs on every call's frames): the key's row and column tones carry 75% of the energy,
  each 15% with a twist within 8 dB, and stand 9 dB above the other tones of their group (speech and
  music fail that); windows quieter than about -50 dBm0 hold no key.
* `ToneDetector`: single-frequency tones by the peak of a windowed FFT: fax CNG (1100 Hz), fax CED
  (2100 Hz) and answering-machine beeps (any other steady tone of 0.12..2 s in 300..2500 Hz).
* The detectors' `step` methods take a frame's results (the RTP pacer works them out for all calls at
  once: the DTMF key in C, the tone peaks by `peaks` for the calls that want them); `feed` does the
  same for one stream on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE, _rtpcore

Samples = npt.NDArray[np.int16]

DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_FREQS = {DTMF_KEYS[r][c]: (DTMF_ROWS[r], DTMF_COLS[c]) for r in range(4) for c in range(4)}
WINDOW = 2 * FRAME  # 40 ms analysis window
MIN_ENERGY = 1e4 * WINDOW  # about -50 dBm0: quieter windows are not analysed (RMS ~ 100)


def tone(freqs: Sequence[float], seconds: float, amplitude: float = 8000.0, rate: int = RATE) -> Samples:
    """SECONDS of the FREQS summed, at AMPLITUDE peak in total."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros(n)
    for f in freqs:
        out += np.sin(2 * np.pi * f * t)
    return (out * amplitude / max(1, len(freqs))).astype(np.int16)


def dtmf_tone(key: str, seconds: float = 0.1, amplitude: float = 10000.0) -> Samples:
    return tone(DTMF_FREQS[key.upper()], seconds, amplitude)


_HANN = np.hanning(WINDOW)


def spectrum(window: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The power spectrum of Hann-windowed 40 ms windows (the last axis)."""
    return np.abs(np.fft.rfft(window * _HANN, axis=-1)) ** 2


def key_name(index: int) -> str | None:
    return None if index < 0 else DTMF_KEYS[index // 4][index % 4]


def peaks(spec: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row of SPEC, the frequency of a pure tone (three bins around the peak hold 85% of the power,
    parabolic interpolation of the peak), NaN where there is none."""
    spec = np.atleast_2d(spec)
    rows = np.arange(len(spec))
    k = spec.argmax(axis=1)
    inner = (k > 0) & (k < spec.shape[1] - 1)
    kk = np.clip(k, 1, spec.shape[1] - 2)
    a, b, c = spec[rows, kk - 1], spec[rows, kk], spec[rows, kk + 1]
    pure = inner & (a + b + c >= 0.85 * spec.sum(axis=1))
    la, lb, lc = np.log(a + 1e-9), np.log(b + 1e-9), np.log(c + 1e-9)
    den = la - 2 * lb + lc
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(den != 0, 0.5 * (la - lc) / den, 0.0)
    return np.where(pure, (kk + shift) * RATE / WINDOW, np.nan)


class DtmfDetector:
    """Feed 20 ms frames; `feed` returns a key when a press is recognised (once per press)."""

    def __init__(self) -> None:
        self.prev: Samples = np.zeros(WINDOW // 2, dtype=np.int16)  # the window is the last two frames
        self.candidate: str | None = None
        self.hits = 0
        self.current: str | None = None  # the key being held (already reported)
        self.misses = 0

    @property
    def idle(self) -> bool:
        """No key seen lately: a frame without one changes nothing (`step(None)` may be skipped)."""
        return self.candidate is None and self.current is None

    def feed(self, frame: Samples) -> str | None:
        """One stream on its own: the next 20 ms FRAME."""
        prev, self.prev = self.prev, frame
        return self.step(key_name(_rtpcore.dtmf_key(np.concatenate((prev, frame)).astype(np.int16))))

    def step(self, key: str | None) -> str | None:
        """This frame's classification (None: no key); returns the key once per press."""
        if key is None:
            self.misses += 1
            if self.misses >= 2:
                self.current = None
            self.candidate, self.hits = None, 0
            return None
        self.misses = 0
        if key == self.candidate:
            self.hits += 1
        else:
            self.candidate, self.hits = key, 1
        if self.hits >= 2 and key != self.current:
            self.current = key
            return key
        return None


class ToneDetector:
    """Single tones: returns "CNG", "CED" or "beep" when one is recognised (see the module docstring)."""

    CNG = (1100.0, 0.4)  # (frequency, seconds of tone before it counts)
    CED = (2100.0, 0.5)
    BEEP = (0.12, 2.0, 300.0, 2500.0)  # min/max seconds, frequency range

    def __init__(self) -> None:
        self.prev: Samples = np.zeros(WINDOW // 2, dtype=np.int16)
        self.freq: float | None = None
        self.run = 0  # frames of the current steady tone
        self.reported = False

    def peak(self, window: npt.NDArray[np.float64]) -> float | None:
        """The frequency of a pure tone in WINDOW, or None when it is quiet or not a single tone."""
        if float(np.dot(window, window)) < MIN_ENERGY:
            return None
        f = float(peaks(spectrum(window))[0])
        return None if math.isnan(f) else f

    def feed(self, frame: Samples) -> str | None:
        """One stream on its own: the next 20 ms FRAME."""
        prev, self.prev = self.prev, frame
        return self.step(self.peak(np.concatenate((prev, frame)).astype(np.float64)))

    def step(self, f: float | None, frame_seconds: float = FRAME / RATE) -> str | None:
        """This frame's tone peak (None: no single tone); returns a tone's name once it is recognised."""
        if f is not None and self.freq is not None and abs(f - self.freq) < 40:
            self.run += 1
            seconds = self.run * frame_seconds
            for name, (freq, need) in (("CNG", self.CNG), ("CED", self.CED)):
                if not self.reported and abs(f - freq) < 40 and seconds >= need:
                    self.reported = True
                    return name
            low, high, fmin, fmax = self.BEEP
            if not self.reported and seconds > high:  # a long steady tone: not a beep (still reported once)
                self.reported = True
            return None
        # the tone (if any) ended
        seconds = self.run * frame_seconds
        ended = self.freq
        done = None
        low, high, fmin, fmax = self.BEEP
        if (ended is not None and not self.reported and low <= seconds <= high and fmin <= ended <= fmax
                and abs(ended - self.CNG[0]) >= 40 and abs(ended - self.CED[0]) >= 40):
            done = "beep"
        self.freq, self.run, self.reported = f, (1 if f is not None else 0), False
        return done
