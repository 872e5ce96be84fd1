"""Tap: stream the call's audio to an RTP or WebSocket target (`calling.tap`, `.stop`). The reply
carries the `source_device` the audio comes from; events are `tapping`, then `finished` (with `tap` and
`device`, which Node copies), also when the call ends. The engine (`relaybox.engines.rtp`) renders and
paces the packets; this action tells it what sounds happen on the call, in the tapped direction."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Protocol

from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.actions.media import known_duration
from relaybox.domain.actions.record import PHONE_VOICE, Segment, played_segment
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.routing import Subscriber

PTIMES = (10, 20, 30, 40, 50, 60)
WS_URI = re.compile(r"^wss?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


class TapStream(Protocol):
    def source_device(self) -> dict[str, Any]: ...

    def start(self) -> None: ...

    def add(self, start: float, segment: Segment) -> None: ...

    def close(self) -> None: ...


class TapOpener(Protocol):
    def open_rtp(self, addr: str, port: int, codec: str, ptime: int) -> TapStream: ...

    def open_ws(self, uri: str, codec: str, rate: int) -> TapStream: ...


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{where} must be a whole number from {low} to {high}")
    return value


class TapAction(Action):
    event_type = "calling.call.tap"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        tap = params.get("tap")
        if not isinstance(tap, dict) or tap.get("type", "audio") != "audio":
            raise bad_request("'tap' must be {type: audio, params: {direction: listen|speak|both}}")
        tparams = tap.get("params") or {}
        if not isinstance(tparams, dict):
            raise bad_request("'tap.params' must be an object")
        self.direction = tparams.get("direction", "speak")
        if self.direction not in ("listen", "speak", "both"):
            raise bad_request("'tap.params.direction' must be listen, speak or both")
        device = params.get("device")
        if not isinstance(device, dict) or not isinstance(device.get("params", {}), dict):
            raise bad_request("'device' must be {type: rtp, params: {addr, port, codec?, ptime?}} or {type: ws, ...}")
        dparams = dict(device.get("params") or {})
        opener = media.service.tapper
        real = getattr(media.leg, "tap_opener", None)  # a real-audio leg streams what is really heard
        if real is not None:
            opener = real(self.direction)
        if device.get("type") == "ws":
            self._ws(dparams)
            return
        if device.get("type") != "rtp":
            raise bad_request(f"'device.type' must be rtp or ws, got {device.get('type')!r}")
        addr = dparams.get("addr")
        try:
            ipaddress.IPv4Address(addr)
        except (ValueError, TypeError):
            raise bad_request(f"'device.params.addr' must be an IPv4 address, got {addr!r}") from None
        port = _int(dparams.get("port"), "'device.params.port'", 1, 65535)
        codec = dparams.get("codec", "PCMU")
        if codec not in ("PCMU", "PCMA"):
            raise bad_request("'device.params.codec' must be PCMU or PCMA")
        ptime = _int(dparams.get("ptime", 20), "'device.params.ptime'", 10, 60)
        if ptime not in PTIMES:
            raise bad_request(f"'device.params.ptime' must be one of {PTIMES}")
        if opener is None:
            raise RelayError("500", "tapping is not available on this server")
        self.tap = {"type": "audio", "params": {"direction": self.direction}}
        self.device = {"type": "rtp", "params": {**dparams, "codec": codec, "ptime": ptime, "port": port}}
        self.stream: TapStream = opener.open_rtp(str(addr), port, codec, ptime)

    def _ws(self, dparams: dict[str, Any]) -> None:
        uri = dparams.get("uri")
        if not isinstance(uri, str) or not WS_URI.match(uri):
            raise bad_request(f"'device.params.uri' must be a ws:// or wss:// URI, got {uri!r}")
        codec = dparams.get("codec", "PCMU")
        if codec not in ("PCMU", "PCMA"):
            raise bad_request("'device.params.codec' must be PCMU or PCMA")
        rate = _int(dparams.get("rate", 8000), "'device.params.rate'", 8000, 16000)
        if rate not in (8000, 16000):
            raise bad_request("'device.params.rate' must be 8000 or 16000")
        opener = self.media.service.tapper
        real = getattr(self.media.leg, "tap_opener", None)
        if real is not None:
            opener = real(self.direction)
        if opener is None:
            raise RelayError("500", "tapping is not available on this server")
        self.tap = {"type": "audio", "params": {"direction": self.direction}}
        self.device = {"type": "ws", "params": {**dparams, "codec": codec, "rate": rate}}
        self.stream = opener.open_ws(uri, codec, rate)

    def begin(self) -> None:
        self.stream.start()
        now = self.clock.now()
        if self.direction in ("speak", "both") and self.media.voices:  # speech already under way
            text, start, end, machine = self.media.voices[-1]
            if end > now:
                self.on_voice(text, start, end, machine)
        self.emit(state="tapping", tap=self.tap, device=self.device)

    def on_voice(self, text: str, start: float, end: float, machine: bool) -> None:
        if self.direction in ("speak", "both"):
            self.stream.add(start, Segment(0.0, end - start, "speech", text, PHONE_VOICE))

    def on_dtmf(self, digit: str) -> None:
        if self.direction in ("speak", "both"):
            self.stream.add(self.clock.now(), Segment(0.0, 0.1, "dtmf", digit))

    def on_play(self, item: dict[str, Any], seconds: float | None) -> None:
        if self.direction not in ("listen", "both"):
            return
        gain = next((p.gain for p in self.media.players if p.current() is not None
                     and p.items[p.index] is item), 0.0)
        segment = played_segment({**item, "gain": gain}, 0.0, seconds or known_duration(item) or 1.0)
        if segment is not None:
            self.stream.add(self.clock.now(), segment)

    def call_ending(self) -> None:
        self.stream.close()
        self.emit(state="finished", tap=self.tap, device=self.device)
        self.close()


def handlers(service: MediaService) -> dict[str, Any]:
    def tap(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(
            sub, params, lambda media, cid: TapAction(media, cid, params), "Tapping",
            source_device=lambda action: action.stream.source_device(),
        )

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, TapAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    return {"calling.tap": tap, "calling.tap.stop": stop}
