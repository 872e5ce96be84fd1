"""Tone generation and detection on 8 kHz int16 audio, sans-I/O and numpy only.

* `DtmfDetector`: in-band DTMF keys by Goertzel-style projections on a 40 ms window evaluated every
  20 ms frame (row/column tones, energy purity, twist), reported once per key press.
* `ToneDetector`: single-frequency tones by the peak of a windowed FFT: fax CNG (1100 Hz), fax CED
  (2100 Hz) and answering-machine beeps (any other steady tone of 0.12..2 s in 300..2500 Hz).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME, RATE

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


def _kernels(freqs: Sequence[float], n: int) -> npt.NDArray[np.complex128]:
    t = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(freqs, t) / RATE)


_DTMF_KERNEL = _kernels(DTMF_ROWS + DTMF_COLS, WINDOW)
_HANN = np.hanning(WINDOW)
# the rfft bins of a Hann-windowed 40 ms window around the eight DTMF frequencies (main lobe: +-2 bins)
_DTMF_BINS = np.unique(np.concatenate([np.arange(round(f * WINDOW / RATE) - 2, round(f * WINDOW / RATE) + 3)
                                       for f in DTMF_ROWS + DTMF_COLS]))


def spectrum(window: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The power spectrum of a Hann-windowed 40 ms WINDOW: computed once per frame for every detector."""
    return np.abs(np.fft.rfft(window * _HANN)) ** 2


def dtmf_candidate(spec: npt.NDArray[np.float64]) -> bool:
    """Cheap screen: a key's two tones put over 95% of SPEC within two bins of the DTMF frequencies (any
    key, +-2% frequency, 6 dB twist); 97% of speech windows hold less than 70% there and skip the exact
    classification."""
    return bool(spec[_DTMF_BINS].sum() >= 0.85 * spec.sum())


class DtmfDetector:
    """Feed 20 ms frames; `feed` returns a key when a press is recognised (once per press)."""

    def __init__(self) -> None:
        self.prev: Samples = np.zeros(WINDOW // 2, dtype=np.int16)  # the window is the last two frames
        self.candidate: str | None = None
        self.hits = 0
        self.current: str | None = None  # the key being held (already reported)
        self.misses = 0

    def classify(self, window: npt.NDArray[np.float64], energy: float | None = None) -> str | None:
        if energy is None:
            energy = float(np.dot(window, window))
        if energy < MIN_ENERGY:
            return None
        powers = np.abs(_DTMF_KERNEL @ window) ** 2 * 2 / (WINDOW * energy)  # 1.0 = all the energy
        rows, cols = powers[:4], powers[4:]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        pr, pc = rows[r], cols[c]
        if pr + pc < 0.75:  # the two tones must carry nearly all the energy
            return None
        if pr < 0.15 or pc < 0.15 or max(pr, pc) / min(pr, pc) > 6.3:  # twist within 8 dB
            return None
        if np.sort(rows)[-2] > pr / 8 or np.sort(cols)[-2] > pc / 8:
            return None
        return DTMF_KEYS[r][c]

    def feed(self, frame: Samples, quiet: bool = False, window: npt.NDArray[np.float64] | None = None,
             energy: float | None = None, spec: npt.NDArray[np.float64] | None = None) -> str | None:
        """QUIET: the caller knows the whole window is below the analysis threshold (saves the maths);
        WINDOW/ENERGY/SPEC: the caller's float copy of the last two frames, its energy and `spectrum`,
        shared by the detectors."""
        prev, self.prev = self.prev, frame
        if window is None and not quiet:
            window, energy = np.concatenate((prev, frame)).astype(np.float64), None
        if quiet or window is None or (spec is not None and not dtmf_candidate(spec)):
            key = None
        else:
            key = self.classify(window, energy)
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

    def peak(self, window: npt.NDArray[np.float64], energy: float | None = None,
             spec: npt.NDArray[np.float64] | None = None) -> float | None:
        """The frequency of a pure tone in WINDOW, or None when it is quiet or not a single tone."""
        if energy is None:
            energy = float(np.dot(window, window))
        if energy < MIN_ENERGY:
            return None
        if spec is None:
            spec = spectrum(window)
        k = int(spec.argmax())
        if k == 0 or k >= len(spec) - 1:
            return None
        a, b, c = spec[k - 1:k + 2].tolist()
        if a + b + c < 0.85 * float(spec.sum()):
            return None
        # parabolic interpolation of the peak
        a, b, c = math.log(a + 1e-9), math.log(b + 1e-9), math.log(c + 1e-9)
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        return float((k + shift) * RATE / WINDOW)

    def feed(self, frame: Samples, quiet: bool = False, window: npt.NDArray[np.float64] | None = None,
             energy: float | None = None, spec: npt.NDArray[np.float64] | None = None) -> str | None:
        prev, self.prev = self.prev, frame
        if window is None and not quiet:
            window, energy = np.concatenate((prev, frame)).astype(np.float64), None
        f = None if quiet or window is None else self.peak(window, energy, spec)
        seconds = self.run * len(frame) / RATE
        if f is not None and self.freq is not None and abs(f - self.freq) < 40:
            self.run += 1
            seconds = self.run * len(frame) / RATE
            for name, (freq, need) in (("CNG", self.CNG), ("CED", self.CED)):
                if not self.reported and abs(f - freq) < 40 and seconds >= need:
                    self.reported = True
                    return name
            low, high, fmin, fmax = self.BEEP
            if not self.reported and seconds > high:  # a long steady tone: not a beep (still reported once)
                self.reported = True
            return None
        # the tone (if any) ended
        ended = self.freq
        done = None
        low, high, fmin, fmax = self.BEEP
        if (ended is not None and not self.reported and low <= seconds <= high and fmin <= ended <= fmax
                and abs(ended - self.CNG[0]) >= 40 and abs(ended - self.CED[0]) >= 40):
            done = "beep"
        self.freq, self.run, self.reported = f, (1 if f is not None else 0), False
        return done
