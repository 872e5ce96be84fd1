"""A sandbox Relay device: what it is (name, id, online, channel, LED) and what it did (transcript).

The transcript is the observable contract of the sandbox: `{"t", "said": TEXT}` for announcements and
TTS, `{"t", "tone": NAME}` for tones, `{"t", "led": COLOUR}`, `{"t", "vibrate": PATTERN}`, `{"t", "did":
ACTION}` for what the user did; `t` is platform-clock seconds since the device was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from relaybox.clock import Clock

ASSISTANT_CHANNEL = "Assistant"
NAME_RE = re.compile(r"^[^:?/#%]{1,64}$")  # a ':' would break the SDKs' URN parsers
ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass
class Device:
    name: str
    id: str
    clock: Clock
    online: bool = True
    channel: str = ASSISTANT_CHANNEL
    led: str = "off"
    location_enabled: bool = False
    home_channel_enabled: bool = True
    battery: int = 100  # percent
    charging: bool = False
    geofences: set[str] = field(default_factory=set)  # the geofence ids the device is inside
    position: dict[str, str] | None = None  # indoor position: {"venue_id", "position_id"}
    mode: str | None = None  # "emergency_sos" after an emergency device event
    call_id: str | None = None  # the device call it is ringing in or connected to
    created_at: float = 0.0
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.created_at = self.clock.now()

    def note(self, **entry: Any) -> None:
        self.transcript.append({"t": round(self.clock.now() - self.created_at, 3), **entry})

    def say(self, text: str) -> None:
        self.note(said=text)

    def tone(self, name: str) -> None:
        self.note(tone=name)

    def set_led(self, colour: str, effect: str | None = None) -> None:
        if colour != self.led or effect:
            self.led = colour
            self.note(led=colour, **({"effect": effect} if effect else {}))

    def vibrate(self, pattern: list[int]) -> None:
        self.note(vibrate=list(pattern))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "online": self.online,
            "channel": self.channel,
            "led": self.led,
            "in_call": self.call_id is not None,
            "call_id": self.call_id,
            "battery": self.battery,
            "charging": self.charging,
            "geofences": sorted(self.geofences),
            "position": self.position,
            "mode": self.mode,
            "transcript": list(self.transcript),
        }
