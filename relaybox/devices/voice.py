"""The audio of what a device user said, for `listen` with `transcribe: false` (the speech event's `audio`).

The sandbox has no microphone: the words of the `speak` action are synthesised with espeak-ng, at most
`MAX_SECONDS`, and sent as a base64 WAV (8 kHz, mono, 16-bit), well under the Python SDK's 1 MiB frame limit.
"""

from __future__ import annotations

import base64
import io
import logging
import wave
from collections.abc import Callable

from relaybox.engines.audio import RATE, AudioRenderer, MediaUnavailable

log = logging.getLogger("relaybox.devices")

MAX_SECONDS = 30

Voice = Callable[[str, str], str]  # (text, lang) -> base64 WAV, "" when it cannot be made


def espeak_voice(renderer: AudioRenderer) -> Voice:
    """A `Voice` on `renderer`'s espeak-ng (blocking: call it from a worker thread)."""

    def speak(text: str, lang: str) -> str:
        samples = None
        for voice in dict.fromkeys((lang.lower(), lang.split("-")[0].lower(), "en-us")):
            try:
                samples = renderer.speech(text, voice)
                break
            except MediaUnavailable as exc:
                log.info("no %s speech for listen audio: %s", voice, exc)
        if samples is None:
            return ""
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(samples[: RATE * MAX_SECONDS].tobytes())
        return base64.b64encode(out.getvalue()).decode()

    return speak
