"""Tone generation and detection on 8 kHz int16 audio, sans-I/O and numpy only.

* `DtmfDetector`: in-band DTMF keys by Goertzel-style projections on a 40 ms window evaluated every
  20 ms frame (row/column tones, energy purity, twist), reported once per key press.
* `ToneDetector`: single-frequency tones by the peak of a windowed FFT: fax CNG (1100 Hz), fax CED
  (2100 Hz) and answering-machine beeps (any other steady tone of 0.12..2 s in 300..2500 Hz).
* `analyse`: the maths both detectors need, for the frames of many calls at once (the DTMF projections
  as one matrix product per 20 ms tick, the FFT only for the calls that want tones); the detectors'
  `step` methods take its results. `feed` does the same for one stream on its own.
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
# the same projections as real matrices (cos | sin), split at the frame boundary so a 40 ms window's
# projection is prev @ _PROJ_PREV + frame @ _PROJ_CUR without building the window
_DTMF_PROJ = np.concatenate([_DTMF_KERNEL.real.T, _DTMF_KERNEL.imag.T], axis=1).astype(np.float32)
_PROJ_PREV, _PROJ_CUR = _DTMF_PROJ[:FRAME], _DTMF_PROJ[FRAME:]
_HANN = np.hanning(WINDOW)


def spectrum(window: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The power spectrum of Hann-windowed 40 ms windows (the last axis)."""
    return np.abs(np.fft.rfft(window * _HANN, axis=-1)) ** 2


def dtmf_keys(proj: npt.NDArray[np.float32], energy: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Per row: the DTMF key (index into "123A456B789C*0#D") whose two tones carry a 40 ms window, -1 for
    none. PROJ holds the window's projections on the eight DTMF frequencies (cos | sin), ENERGY its energy.
    A key's tones must carry 75% of the energy, each row/column tone 15% with a twist within 8 dB, and
    stand 9 dB above the other tones of its group (speech and music fail that)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        powers = (proj[:, :8].astype(np.float64) ** 2 + proj[:, 8:].astype(np.float64) ** 2) * 2 \
            / (WINDOW * energy[:, None])
    rows, cols = powers[:, :4], powers[:, 4:]
    at = np.arange(len(powers))
    r, c = rows.argmax(axis=1), cols.argmax(axis=1)
    pr, pc = rows[at, r], cols[at, c]
    second_r, second_c = np.sort(rows, axis=1)[:, -2], np.sort(cols, axis=1)[:, -2]
    ok = ((energy >= MIN_ENERGY) & (pr + pc >= 0.75) & (pr >= 0.15) & (pc >= 0.15)
          & (np.maximum(pr, pc) <= 6.3 * np.minimum(pr, pc)) & (second_r <= pr / 8) & (second_c <= pc / 8))
    return np.where(ok, r * 4 + c, -1)


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


def analyse(frames: npt.NDArray[np.int16], prev: npt.NDArray[np.int16], prev_energy: npt.NDArray[np.float64],
            want_tones: npt.NDArray[np.bool_]
            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """One tick of many streams: FRAMES and PREV are (calls, 160) (this frame and the one before),
    PREV_ENERGY the previous frames' energies, WANT_TONES the rows whose tone peaks are wanted (an FFT
    each; the DTMF projections cost a small matrix product for every row). Returns (energy per frame,
    DTMF key index or -1 per 40 ms window, tone peak or NaN per window)."""
    f = frames.astype(np.float32)
    energy = np.einsum("ij,ij->i", f, f).astype(np.float64)
    window_energy = energy + prev_energy
    loud = np.flatnonzero(window_energy >= MIN_ENERGY)
    keys = np.full(len(frames), -1)
    tone_peaks = np.full(len(frames), np.nan)
    if len(loud):
        proj = prev[loud].astype(np.float32) @ _PROJ_PREV + f[loud] @ _PROJ_CUR
        keys[loud] = dtmf_keys(proj, window_energy[loud])
        tonal = loud[want_tones[loud]]
        if len(tonal):
            windows = np.concatenate((prev[tonal], frames[tonal]), axis=1).astype(np.float64)
            tone_peaks[tonal] = peaks(spectrum(windows))
    return energy, keys, tone_peaks


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

    @staticmethod
    def classify(window: npt.NDArray[np.float64]) -> str | None:
        """The key in one 40 ms WINDOW (see `dtmf_keys`)."""
        proj = window.astype(np.float32)[None, :] @ _DTMF_PROJ
        return key_name(int(dtmf_keys(proj, np.array([float(np.dot(window, window))]))[0]))

    def feed(self, frame: Samples) -> str | None:
        """One stream on its own: the next 20 ms FRAME."""
        prev, self.prev = self.prev, frame
        return self.step(self.classify(np.concatenate((prev, frame)).astype(np.float64)))

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
