"""RFC 4733 telephone-events (DTMF in RTP): the 4-byte payload, a sender that turns a key into the
packet sequence (start with the marker bit, continuations every 20 ms, three end packets with the E
bit), and a receiver that reports each event once however many packets (or retransmissions) arrive.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"
END_RETRANSMITS = 3
DEFAULT_VOLUME = 10  # -dBm0


@dataclass(slots=True, frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int  # timestamp units (samples at 8 kHz)

    @property
    def digit(self) -> str | None:
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def build(self) -> bytes:
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | (self.volume & 0x3F),
                           min(self.duration, 0xFFFF))


def parse_event(payload: bytes) -> TelephoneEvent:
    """The first event of a payload (a redundant block may follow; it is ignored). ValueError if short."""
    if len(payload) < 4:
        raise ValueError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def event_code(digit: str) -> int:
    code = EVENTS.find(digit.upper())
    if code < 0 or len(digit) != 1:
        raise ValueError(f"not a DTMF key: {digit!r}")
    return code


@dataclass(slots=True)
class EventPacket:
    """One packet to send: the payload, whether it carries the marker bit, and the event's timestamp
    offset (all packets of one event share the event's start timestamp)."""

    payload: bytes
    marker: bool


def event_packets(digit: str, duration_ms: int = 100, ptime_ms: int = 20, rate: int = 8000,
                  volume: int = DEFAULT_VOLUME) -> list[EventPacket]:
    """The packets of one key press, one per ptime: start (marker), continuations, then the end packet
    three times. The duration field grows by one ptime per packet."""
    code = event_code(digit)
    step = rate * ptime_ms // 1000
    total = max(step, rate * duration_ms // 1000)
    out: list[EventPacket] = []
    elapsed = step
    while elapsed < total:
        out.append(EventPacket(TelephoneEvent(code, False, volume, elapsed).build(), not out))
        elapsed += step
    end = TelephoneEvent(code, True, volume, total).build()
    out.append(EventPacket(end, not out))
    out.extend(EventPacket(end, False) for _ in range(END_RETRANSMITS - 1))
    return out


class EventReceiver:
    """Reports each received event once: keyed by (SSRC, RTP timestamp), as RFC 4733 §2.5.1 says."""

    def __init__(self) -> None:
        self._seen: list[tuple[int, int]] = []

    def feed(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        """The key when this packet starts a new event (or is the first one seen of it), else None."""
        try:
            ev = parse_event(payload)
        except ValueError:
            return None
        digit = ev.digit
        if digit is None:
            return None
        key = (ssrc, timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        if len(self._seen) > 16:
            del self._seen[:-16]
        return digit
