"""Media items of play/prompt/ringback: validated, normalised to `{"type", "params"}`, and timed.

Durations are what the platform clock spends on an item: TTS is estimated from the text, silence and
ringtones last as asked (a ringtone by default one cadence of its country), audio files last as long
as the decoded file (fetched by the engine's probe; one that cannot be fetched or decoded fails the play).
"""

from __future__ import annotations

import re
from typing import Any

from relaybox.domain.errors import bad_request

TTS_CHARS_PER_SECOND = 15.0
MAX_SECONDS = 3600.0
MAX_ITEMS = 100
VOLUME_RANGE = (-40.0, 40.0)
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)

# Ringtones by country code: the cadence as (on, off) seconds and the tone frequencies (Hz), after
# ITU-T E.180 and the usual soft-switch tone tables. One "iteration" is one full cadence.
RINGTONES: dict[str, tuple[tuple[tuple[float, float], ...], tuple[float, ...]]] = {
    "at": (((1.0, 5.0),), (420,)),
    "au": (((0.4, 0.2), (0.4, 2.0)), (400, 450)),
    "bg": (((1.0, 4.0),), (425,)),
    "br": (((1.0, 4.0),), (425,)),
    "be": (((1.0, 3.0),), (425,)),
    "ch": (((1.0, 4.0),), (425,)),
    "cl": (((1.0, 3.0),), (400,)),
    "cn": (((1.0, 4.0),), (450,)),
    "cz": (((1.0, 4.0),), (425,)),
    "de": (((1.0, 4.0),), (425,)),
    "dk": (((1.0, 4.0),), (425,)),
    "ee": (((1.0, 4.0),), (425,)),
    "es": (((1.5, 3.0),), (425,)),
    "fi": (((1.0, 4.0),), (425,)),
    "fr": (((1.5, 3.5),), (440,)),
    "gr": (((1.0, 4.0),), (425,)),
    "hu": (((1.25, 3.75),), (425,)),
    "il": (((1.0, 3.0),), (400,)),
    "in": (((0.4, 0.2), (0.4, 2.0)), (375, 425)),
    "it": (((1.0, 4.0),), (425,)),
    "lt": (((1.0, 4.0),), (425,)),
    "jp": (((1.0, 2.0),), (400,)),
    "mx": (((1.0, 4.0),), (425,)),
    "my": (((0.4, 0.2), (0.4, 2.0)), (425,)),
    "nl": (((1.0, 4.0),), (425,)),
    "no": (((1.0, 4.0),), (425,)),
    "nz": (((0.4, 0.2), (0.4, 2.0)), (400, 450)),
    "ph": (((1.0, 4.0),), (425, 480)),
    "pl": (((1.0, 4.0),), (425,)),
    "pt": (((1.0, 5.0),), (425,)),
    "ru": (((0.8, 3.2),), (425,)),
    "se": (((1.0, 5.0),), (425,)),
    "sg": (((0.4, 0.2), (0.4, 2.0)), (425,)),
    "th": (((1.0, 4.0),), (400,)),
    "uk": (((0.4, 0.2), (0.4, 2.0)), (400, 450)),
    "us": (((2.0, 4.0),), (440, 480)),
    "tw": (((1.0, 4.0),), (440, 480)),
    "ve": (((1.0, 4.0),), (425,)),
    "za": (((0.4, 0.2), (0.4, 2.0)), (400, 450)),
}


def cadence_seconds(name: str) -> float:
    """One ringtone iteration."""
    return sum(on + off for on, off in RINGTONES[name][0])


def _seconds(value: Any, where: str, *, low: float = 0.0) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad_request(f"{where} must be a number of seconds") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= MAX_SECONDS:
        raise bad_request(f"{where} must be a number of seconds greater than {low:g} and at most {MAX_SECONDS:g}")
    return float(value)


def volume(value: Any, where: str = "volume") -> float:
    """A gain in dB, -40..+40 (0 = unchanged)."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad_request(f"'{where}' must be a number of dB between -40 and 40") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        VOLUME_RANGE[0] <= value <= VOLUME_RANGE[1]
    ):
        raise bad_request(f"'{where}' must be a number of dB between -40 and 40")
    return float(value)


def normalize_item(item: Any, where: str) -> dict[str, Any]:
    """One media item, flat (`{"type":"tts","text":...}`) or nested (`{"type","params"}`)."""
    if not isinstance(item, dict):
        raise bad_request(f"{where} must be an object")
    mtype = item.get("type")
    raw = item.get("params")
    if raw is None:
        raw = {k: v for k, v in item.items() if k != "type"}
    if not isinstance(raw, dict):
        raise bad_request(f"{where}.params must be an object")
    params = dict(raw)
    if mtype == "audio":
        url = params.get("url")
        if not isinstance(url, str) or not URL.match(url):
            raise bad_request(f"{where}: 'url' must be an http(s) URL, got {url!r}")
    elif mtype == "tts":
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request(f"{where}: 'text' must be a non-empty string")
        if len(text) > 10_000:
            raise bad_request(f"{where}: 'text' is longer than 10000 characters")
        params.setdefault("language", "en-US")
        params.setdefault("gender", "female")
        if not isinstance(params["language"], str):
            raise bad_request(f"{where}: 'language' must be a string such as en-US")
        if params["gender"] not in ("male", "female"):
            raise bad_request(f"{where}: 'gender' must be 'male' or 'female'")
    elif mtype == "silence":
        params["duration"] = _seconds(params.get("duration"), f"{where}: 'duration'")
    elif mtype == "ringtone":
        name = params.get("name")
        if name not in RINGTONES:
            raise bad_request(f"{where}: unknown ringtone {name!r} (one of {', '.join(sorted(RINGTONES))})")
        if params.get("duration") is not None:
            params["duration"] = _seconds(params["duration"], f"{where}: 'duration'")
    else:
        raise bad_request(f"{where}: unknown media type {mtype!r} (audio, tts, silence or ringtone)")
    return {"type": mtype, "params": params}


def normalize_media(value: Any, key: str = "play") -> list[dict[str, Any]]:
    """A media list (a single object is accepted as a list of one, as Node sends ringback)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise bad_request(f"'{key}' must be a non-empty list of media")
    if len(value) > MAX_ITEMS:
        raise bad_request(f"'{key}' has more than {MAX_ITEMS} media")
    return [normalize_item(item, f"{key}[{i}]") for i, item in enumerate(value)]


def known_duration(item: dict[str, Any]) -> float | None:
    """Seconds the item plays, or None for audio whose file must be probed first."""
    params = item["params"]
    if item["type"] == "tts":
        return max(0.5, len(params["text"].strip()) / TTS_CHARS_PER_SECOND)
    if item["type"] == "silence":
        return float(params["duration"])
    if item["type"] == "ringtone":
        return float(params.get("duration") or cadence_seconds(params["name"]))
    return None


def heard(item: dict[str, Any]) -> dict[str, Any]:
    """The transcript entry a far end gets for an item."""
    params = item["params"]
    if item["type"] == "tts":
        return {"type": "tts", "text": params["text"]}
    if item["type"] == "audio":
        return {"type": "audio", "url": params["url"]}
    if item["type"] == "silence":
        return {"type": "silence", "duration": params["duration"]}
    entry: dict[str, Any] = {"type": "ringtone", "name": params["name"]}
    if params.get("duration"):
        entry["duration"] = params["duration"]
    return entry
