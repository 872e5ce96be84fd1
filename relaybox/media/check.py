"""What of the real-audio media stack is installed: one `MediaUnavailable` message per missing piece,
each naming the package and how to install it (`scripts/setup-media.sh`, which `make serve` runs).

The SIP engine logs these at start, so an operator learns at once that, say, fax needs libspandsp2,
instead of at the first fax; each feature still fails with the same message when it is used.
`missing_optional` notes the absent optional pieces (free-form Whisper), which never fail anything.
"""

from __future__ import annotations

import importlib.util
import shutil

from relaybox.media.audiofiles import DECODER
from relaybox.media.errors import MediaUnavailable, missing


def missing_components() -> list[str]:
    """Messages for the absent pieces: espeak-ng (TTS), libspandsp2 (fax), miniaudio (WAV/MP3 files),
    pocketsphinx (speech recognition), webrtcvad (voice activity: speech input, AMD), lameenc (MP3
    recordings). Empty when everything is there."""
    out: list[str] = []
    if shutil.which("espeak-ng") is None:
        out.append(str(missing("the offline TTS espeak-ng", "apt-get install espeak-ng")))
    try:
        from relaybox.media.fax import spandsp

        spandsp()
    except MediaUnavailable as exc:
        out.append(str(exc))
    for module, piece, how in (
        ("miniaudio", DECODER, "pip install miniaudio"),
        ("pocketsphinx", "the speech recogniser pocketsphinx", "pip install pocketsphinx"),
        ("webrtcvad", "the voice activity detector webrtcvad", "pip install webrtcvad-wheels"),
        ("lameenc", "the MP3 encoder lameenc", "pip install lameenc"),
    ):
        if importlib.util.find_spec(module) is None:
            out.append(str(missing(piece, how)))
    return out


def missing_optional() -> list[str]:
    """Notes on optional pieces that are absent or misconfigured (never a reason to fail): the free-form
    speech recogniser Whisper (`relaybox[freeform]`), without which pocketsphinx's general model answers."""
    from relaybox.media import freeform

    try:
        mode = freeform.choice()
    except MediaUnavailable as exc:
        return [str(exc)]
    if mode != "pocketsphinx" and not freeform.installed():
        how = f"free-form speech uses pocketsphinx's general model ({freeform.INSTALL} for Whisper)"
        if mode == "whisper":
            how = f"{freeform.ENV}=whisper but {how}"
        return [f"optional {freeform.PIECE} is not installed: {how}"]
    return []
