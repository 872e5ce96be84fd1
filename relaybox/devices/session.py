"""One workflow instance, sans-I/O: requests from the workflow server become device actions, and what
happens on the devices becomes `wf_api_*` events.

A `WorkflowLink` (the WebSocket in production, a list in tests) carries the frames. Responses are sent
before the side effects of their request, so a workflow always sees `call_response` before
`call_ringing`, `say_response` before the prompt events; the link adds the small delay the JS SDK
needs between a response and the events that follow it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from relaybox.clock import Timer
from relaybox.devices.calls import CallError, CallState, DeviceCall
from relaybox.devices.groups import Group, GroupError
from relaybox.devices.inbox import Message
from relaybox.devices.model import ASSISTANT_CHANNEL, Device
from relaybox.devices.notifications import KINDS
from relaybox.devices.registry import Registration
from relaybox.protocol import workflow as wire
from relaybox.protocol.workflow import ProtocolError, Request

if TYPE_CHECKING:
    from relaybox.devices.hub import DeviceHub

log = logging.getLogger("relaybox.workflows")

SECONDS_PER_WORD = 0.3  # how long the device takes to speak (platform clock)
MIN_PROMPT_SECONDS = 0.5
DEFAULT_PLAY_SECONDS = 2.0
TIMEOUT_UNITS = {"ms": 0.001, "secs": 1.0, "mins": 60.0, "hrs": 3600.0}
# never whole numbers: the SDKs turn an all-integer array into a string (a workaround for an old server bug)
SANDBOX_LATLONG = (35.7796, -78.6382)


class WorkflowLink(Protocol):
    def send(self, msg: dict[str, Any], is_response: bool) -> None: ...
    def close(self) -> None: ...


class RequestError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


INPUT_TYPES = frozenset({
    "action_button_single_tap", "action_button_double_tap", "action_button_triple_tap", "action_button_long_press",
    "channel_button_double_tap", "channel_button_triple_tap",
})
HOME_CHANNEL_SECONDS = 30.0  # idle time after which a device returns to its home channel (home_channel: normal)
HEX_COLOUR = re.compile(r"^[0-9a-fA-F]{6}$")


@dataclass(eq=False)
class Interaction:
    """One device's part in a `start_interaction`, with the request's `options`: `color` (the LED ring while
    the interaction is the active channel), `input_types` (the button inputs that reach the workflow; none
    listed = all) and `home_channel` (`suspend`, the default: the device stays on the interaction; `normal`:
    after `HOME_CHANNEL_SECONDS` without user input it returns to its home channel, suspending it)."""

    name: str
    device: Device
    urn: str
    color: str | None = None
    input_types: frozenset[str] = frozenset()
    home_channel: str = "suspend"
    led_before: str = "off"
    home_timer: Timer | None = None

    def accepts(self, button: str, taps: str) -> bool:
        if not self.input_types:
            return True
        name = "action_button_long_press" if taps == "long" else f"{button}_button_{taps}_tap"
        return name in self.input_types


def interaction_options(raw: Any) -> dict[str, Any]:
    """`start_interaction` options, validated (RequestError with a snake_case reason)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RequestError("invalid_options")
    out: dict[str, Any] = {}
    color = raw.get("color")
    if color is not None:
        if not isinstance(color, str) or not HEX_COLOUR.match(color.removeprefix("#")):
            raise RequestError("invalid_color")
        out["color"] = color.removeprefix("#").lower()
    types = raw.get("input_types")
    if types is not None:
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or not all(isinstance(t, str) and t in INPUT_TYPES for t in types):
            raise RequestError("invalid_input_types")
        out["input_types"] = frozenset(types)
    home = raw.get("home_channel")
    if home is not None:
        if home not in ("suspend", "normal"):
            raise RequestError("invalid_home_channel")
        out["home_channel"] = home
    return out


After = Callable[[], None] | None


class WorkflowSession:
    """A running instance of `registration`, started by a trigger on `device`."""

    def __init__(self, hub: DeviceHub, registration: Registration, device: Device) -> None:
        self.hub = hub
        self.registration = registration
        self.device = device
        self.id = "wfi-" + uuid.uuid4().hex[:16]
        self.link: WorkflowLink | None = None
        self.vars: dict[str, str] = {k: _stringify(v) for k, v in registration.args.items()}
        self.interactions: dict[str, Interaction] = {}
        self.calls: dict[str, DeviceCall] = {}
        self.timers: dict[str, Timer] = {}
        self.prompt_urns: dict[str, str] = {}  # say/play request id -> its interaction URN
        self.ended = False
        self.stop_reason: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def transient(self) -> bool:
        """Registered with `transient` (the CLI default): keeps running when the user leaves its channel."""
        options = self.registration.record.get("options")
        return not (isinstance(options, dict) and options.get("transient") is False)

    def attach(self, link: WorkflowLink) -> None:
        self.link = link

    def start(self, trigger: dict[str, Any]) -> None:
        log.info("workflow %s instance %s started on %s", self.registration.name, self.id, self.device.name)
        self.emit("start", trigger=trigger)

    def end(self, reason: str = "normal", notify: bool = True) -> None:
        """Stop the instance: interactions ended, its calls hung up, STOP sent (if `notify`), socket closed."""
        if self.ended:
            return
        self.ended = True
        self.stop_reason = reason
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        for ix in list(self.interactions.values()):
            self._drop_interaction(ix)
        self.hub.cancel_listens(self)
        for call in list(self.calls.values()):
            if call.call_id not in self.hub.calls.calls:
                continue
            member = next((d for d, side in call.ringing if side is self), None)
            if member is not None:  # a group call rings on without this member
                self.hub.calls.hangup(call, member, "error")
            else:
                self.hub.calls.fail(call, "hangup" if call.was_connected else "error")
        self.calls.clear()
        self.hub.session_ended(self)
        log.info("workflow %s instance %s stopped (%s)", self.registration.name, self.id, reason)
        if self.link is not None:
            if notify:
                self.link.send(wire.event("stop", reason=reason), False)
            self.link.close()

    def connection_lost(self) -> None:
        """The workflow closed or dropped the socket: clean up, nothing left hanging."""
        self.end("connection_closed", notify=False)

    # -- frames from the workflow --------------------------------------------------------------------

    def handle_frame(self, frame: str | bytes) -> None:
        if self.ended:
            return
        try:
            req = wire.decode_request(frame)
        except ProtocolError as exc:
            log.info("workflow %s: bad frame (%s)", self.registration.name, exc.reason)
            if exc.request_id:
                self._send(wire.error_response(exc.request_id, exc.reason), True)
            return
        if req.name == "terminate":
            self.end("normal")
            return
        handler = getattr(self, "_rq_" + req.name, None)
        if handler is None:
            self._send(wire.error_response(req.id, "unknown_request"), True)
            return
        try:
            fields, after = handler(req)
        except RequestError as exc:
            self._send(wire.error_response(req.id, exc.reason), True)
            return
        except CallError as exc:
            self._send(wire.error_response(req.id, exc.reason), True)
            return
        except Exception:  # a bug must cost the workflow one request, not the instance
            log.exception("workflow %s: %s request failed", self.registration.name, req.name)
            self._send(wire.error_response(req.id, "internal_error"), True)
            return
        self._send(wire.response(req, **fields), True)
        if after is not None:
            after()

    def emit(self, kind: str, /, **fields: Any) -> None:
        if not self.ended:
            self._send(wire.event(kind, **fields), False)

    def _send(self, msg: dict[str, Any], is_response: bool) -> None:
        if self.link is not None:
            self.link.send(msg, is_response)

    # -- targets -------------------------------------------------------------------------------------

    def _devices(self, uri: str) -> list[Device]:
        """What one target URN names: a device, an interaction's device(s), a group's members, all devices."""
        urn = wire.parse_urn(uri)
        if urn is None:
            raise RequestError("invalid_uri")
        if urn.resource == "interaction":
            if urn.device is None:  # by name only: every device this instance has that interaction on
                devices = [i.device for i in self.interactions.values() if i.name == urn.value]
                if not devices:
                    raise RequestError("unknown_interaction")
                return devices
            uri = wire.device_name_urn(urn.device.value) if urn.device.id_type == "name" else \
                wire.device_id_urn(urn.device.value)
        try:
            return self.hub.resolve(uri)
        except ValueError as exc:
            raise RequestError(str(exc)) from None

    def _targets(self, req: Request) -> list[Device]:
        uris = req.targets
        if not uris:
            raise RequestError("missing_target")
        out: list[Device] = []
        for uri in uris:
            out.extend(d for d in self._devices(uri) if d not in out)
        if not out:
            raise RequestError("no_devices_in_target")
        return out

    def _one_target(self, req: Request) -> Device:
        devices = self._targets(req)
        if len(devices) != 1:
            raise RequestError("exactly_one_target_required")
        return devices[0]

    def _interaction(self, req: Request) -> Interaction:
        """Say, play, listen, LED and vibration need an interaction this instance started."""
        device = self._one_target(req)
        ix = next((i for i in self.interactions.values() if i.device is device), None)
        if ix is None:
            raise RequestError("no_interaction_on_target")
        return ix

    # -- interactions --------------------------------------------------------------------------------

    def _rq_start_interaction(self, req: Request) -> tuple[dict[str, Any], After]:
        name = req.body.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError("missing_name")
        devices = self._targets(req)
        options = interaction_options(req.body.get("options"))

        def after() -> None:
            for device in devices:
                ix = Interaction(name, device, wire.interaction_urn(name, device.name), **options)
                if not device.online:
                    self.emit("interaction_lifecycle", type="failed", source_uri=ix.urn, reason="device_offline")
                    continue
                self.interactions[ix.urn] = ix
                device.channel = name
                device.note(interaction="started", name=name)
                self.emit("interaction_lifecycle", type="started", source_uri=ix.urn, reason=None)
                self.resumed(ix)

        # Go reads `source_uri` from the response: the (first) interaction URN
        return {"source_uri": wire.interaction_urn(name, devices[0].name)}, after

    def resumed(self, ix: Interaction) -> None:
        """The interaction is the device's active channel (again): it gets the buttons, its LED colour."""
        self.hub.focus[ix.device.name] = self
        ix.led_before = ix.device.led
        if ix.color:
            ix.device.set_led(ix.color)
        self.touch(ix)
        self.emit("interaction_lifecycle", type="resumed", source_uri=ix.urn, reason=None)

    def suspended(self, ix: Interaction) -> None:
        """The user turned away from the interaction's channel (or the device went home)."""
        self._leave(ix)
        self.emit("interaction_lifecycle", type="suspended", source_uri=ix.urn, reason=None)

    def _leave(self, ix: Interaction) -> None:
        if ix.home_timer is not None:
            ix.home_timer.cancel()
            ix.home_timer = None
        if ix.color and ix.device.led == ix.color:
            ix.device.set_led(ix.led_before)
        if self.hub.focus.get(ix.device.name) is self:
            del self.hub.focus[ix.device.name]

    def touch(self, ix: Interaction) -> None:
        """User input on the device: with `home_channel: normal`, the idle time to going home starts again."""
        if ix.home_timer is not None:
            ix.home_timer.cancel()
            ix.home_timer = None
        if ix.home_channel == "normal" and ix.device.home_channel_enabled and ix.device.channel == ix.name:
            ix.home_timer = self.hub.clock.call_later(HOME_CHANNEL_SECONDS, lambda: self._go_home(ix))

    def _go_home(self, ix: Interaction) -> None:
        ix.home_timer = None
        if self.interactions.get(ix.urn) is ix and ix.device.channel == ix.name:
            ix.device.note(home_channel=ASSISTANT_CHANNEL)
            self.hub.change_channel(ix.device, ASSISTANT_CHANNEL)

    def _rq_end_interaction(self, req: Request) -> tuple[dict[str, Any], After]:
        devices = self._targets(req)
        ixs = [i for i in self.interactions.values() if i.device in devices]
        if not ixs:
            raise RequestError("no_interaction_on_target")

        def after() -> None:
            for ix in ixs:
                self._drop_interaction(ix)
                self.emit("interaction_lifecycle", type="ended", source_uri=ix.urn, reason=None)

        return {}, after

    def _drop_interaction(self, ix: Interaction) -> None:
        self.interactions.pop(ix.urn, None)
        device = ix.device
        device.note(interaction="ended", name=ix.name)
        self._leave(ix)
        # a user who turned to another channel stays there
        if not any(i.device is device for i in self.interactions.values()) and device.channel == ix.name:
            device.channel = ASSISTANT_CHANNEL

    # -- prompts and speech --------------------------------------------------------------------------

    def _prompt(self, req: Request, ix: Interaction, seconds: float, show: Callable[[], None]) -> After:
        def finish() -> None:
            self.timers.pop(req.id, None)
            self.prompt_urns.pop(req.id, None)
            self.emit("prompt", type="stopped", id=req.id, source_uri=ix.urn)

        def after() -> None:
            self.emit("prompt", type="started", id=req.id, source_uri=ix.urn)
            self.prompt_urns[req.id] = ix.urn
            show()
            self.timers[req.id] = self.hub.clock.call_later(seconds, finish)

        return after

    def _rq_say(self, req: Request) -> tuple[dict[str, Any], After]:
        ix = self._interaction(req)
        text = req.body.get("text")
        if not isinstance(text, str):
            raise RequestError("missing_text")
        seconds = max(MIN_PROMPT_SECONDS, SECONDS_PER_WORD * len(text.split()))
        return {"id": req.id}, self._prompt(req, ix, seconds, lambda: ix.device.say(text))

    def _rq_play(self, req: Request) -> tuple[dict[str, Any], After]:
        ix = self._interaction(req)
        filename = req.body.get("filename")
        if not isinstance(filename, str) or not filename:
            raise RequestError("missing_filename")
        return {"id": req.id}, self._prompt(req, ix, DEFAULT_PLAY_SECONDS, lambda: ix.device.note(played=filename))

    def _rq_stop_playback(self, req: Request) -> tuple[dict[str, Any], After]:
        ids = req.body.get("ids")
        # only prompts: `timers` also holds the workflow's own timers
        asked = {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else set(self.prompt_urns)
        wanted = asked & set(self.prompt_urns)

        def after() -> None:
            for rid in wanted:
                timer = self.timers.pop(rid, None)
                if timer is not None:
                    timer.cancel()
                    urn = self.prompt_urns.pop(rid, self.device_uri)
                    self.emit("prompt", type="stopped", id=rid, source_uri=urn)

        return {}, after

    def _rq_listen(self, req: Request) -> tuple[dict[str, Any], After]:
        ix = self._interaction(req)
        timeout = req.body.get("timeout", 60)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise RequestError("invalid_timeout")
        phrases = req.body.get("phrases") or []
        if isinstance(phrases, str):
            phrases = [phrases]
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise RequestError("invalid_phrases")
        transcribe = req.body.get("transcribe", True) is not False
        return {}, lambda: self.hub.listen(self, ix.device, ix.urn, req.id, float(timeout), phrases, transcribe)

    def speech(self, request_id: str, urn: str, text: str, lang: str = "en-US", audio: str = "") -> None:
        self.emit("speech", request_id=request_id, text=text, audio=audio, lang=lang, source_uri=urn)

    def _rq_translate(self, req: Request) -> tuple[dict[str, Any], After]:
        return {"text": str(req.body.get("text", ""))}, None

    # -- calls ---------------------------------------------------------------------------------------

    def _rq_call(self, req: Request) -> tuple[dict[str, Any], After]:
        caller = self._one_target(req)
        callee = self._callee(req.body)
        call = self.hub.calls.place(caller, callee, self)
        self.calls[call.call_id] = call
        return {"call_id": call.call_id}, lambda: self.hub.route_call(call)

    def _callee(self, body: dict[str, Any]) -> str:
        uri = body.get("uri")
        if uri is None and all(k.isdigit() for k in body if not k.startswith("_")) and "0" in body:
            # the JS SDK's placeCall(target, "urn:...") spreads a string into {"0": "u", "1": "r", ...}
            uri = "".join(str(body[str(i)]) for i in range(len([k for k in body if k.isdigit()])))
        if uri is None and isinstance(body.get("device_name"), str):  # pre-2.0 Python SDK
            return str(body["device_name"])
        if uri is None and isinstance(body.get("device_id"), str):
            device = self.hub.find_by_id(body["device_id"])
            return device.name if device else body["device_id"]
        if not isinstance(uri, str) or not uri:
            raise RequestError("missing_uri")
        urn = wire.parse_urn(uri)
        if urn is not None and urn.resource == "group" and urn.device is None:  # a group call
            group = self.hub.group_of_urn(urn)
            if group is None:
                raise RequestError("unknown_group")
            return group.name
        if urn is None or urn.resource != "device" or urn.id_type == "all":
            raise RequestError("invalid_uri")
        if urn.id_type == "id":
            device = self.hub.find_by_id(urn.value)
            return device.name if device else urn.value
        return urn.value

    def _call_for(self, req: Request) -> tuple[Device, DeviceCall]:
        device = self._one_target(req)
        call_id = req.body.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise RequestError("missing_call_id")
        call = self.hub.calls.get(call_id)
        if call is None:
            raise RequestError("unknown_call")
        return device, call

    def _rq_answer(self, req: Request) -> tuple[dict[str, Any], After]:
        device, call = self._call_for(req)
        if device is not call.callee and not any(d is device for d, _ in call.ringing):
            raise RequestError("not_the_callee")
        if call.state is not CallState.RINGING:
            raise RequestError("call_not_ringing")
        self.calls[call.call_id] = call
        return {"call_id": call.call_id}, lambda: self.hub.calls.answer(call, device)

    def _rq_hangup(self, req: Request) -> tuple[dict[str, Any], After]:
        device, call = self._call_for(req)
        if device is not call.caller and device is not call.callee and not any(d is device for d, _ in call.ringing):
            raise RequestError("not_a_party")

        def after() -> None:
            if call.call_id in self.hub.calls.calls:
                self.hub.calls.hangup(call, device)

        return {"call_id": call.call_id}, after

    def _rq_register(self, req: Request) -> tuple[dict[str, Any], After]:
        self._one_target(req)
        return {}, None

    # CallSide: this instance handles one party's side of a call
    def _party(self, call: DeviceCall) -> Device:
        """This instance's device in `call`: the callee, a ringing group-call member, or the caller."""
        if call.callee_side is self and call.callee is not None:
            return call.callee
        return next((d for d, side in call.ringing if side is self), call.caller)

    def _call_fields(self, call: DeviceCall, me: Device | None = None) -> dict[str, Any]:
        me = me or self._party(call)
        other = call.other(me)
        epoch = self.hub.clock.epoch
        return {
            "call_id": call.call_id,
            "direction": "outbound" if me is call.caller else "inbound",
            "device_id": other.id if other else None,
            "device_name": other.name if other else call.callee_label,
            "uri": wire.device_name_urn(other.name) if other else wire.group_name_urn(call.group) if call.group
            else wire.device_name_urn(call.callee_label),
            "onnet": True,
            "start_time_epoch": int(epoch(call.start_time)),
        }

    def call_received(self, call: DeviceCall) -> None:
        self.calls[call.call_id] = call
        self.emit("call_received", **self._call_fields(call))

    def call_ringing(self, call: DeviceCall) -> None:
        self.emit("call_progressing", **self._call_fields(call), connect_time_epoch=None)
        self.emit("call_ringing", **self._call_fields(call))

    def call_released(self, call: DeviceCall, device: Device, reason: str, by: str | None) -> None:
        """This instance's device stops ringing in a group call that goes on without it."""
        self.calls.pop(call.call_id, None)
        device.set_led("off")
        epoch = self.hub.clock.epoch
        self.emit("call_failed", **self._call_fields(call, device), reason=reason, connect_time_epoch=None,
                  end_time_epoch=int(epoch(self.hub.clock.now())))

    def call_connected(self, call: DeviceCall) -> None:
        assert call.connect_time is not None
        self._party(call).set_led("green")
        self.emit("call_connected", **self._call_fields(call),
                  connect_time_epoch=int(self.hub.clock.epoch(call.connect_time)))

    def call_ended(self, call: DeviceCall) -> None:
        self.calls.pop(call.call_id, None)
        self._party(call).set_led("off")
        epoch = self.hub.clock.epoch
        assert call.end_time is not None
        self.emit(
            "call_disconnected" if call.was_connected else "call_failed",
            **self._call_fields(call),
            reason=call.end_reason,
            connect_time_epoch=int(epoch(call.connect_time)) if call.connect_time is not None else None,
            end_time_epoch=int(epoch(call.end_time)),
        )

    # -- device, LEDs, vibration ---------------------------------------------------------------------

    @property
    def device_uri(self) -> str:
        return wire.device_name_urn(self.device.name)

    def _rq_get_device_info(self, req: Request) -> tuple[dict[str, Any], After]:
        device = self._one_target(req)
        query = req.body.get("query")
        values: dict[str, Any] = {
            "name": device.name, "id": device.id, "type": "relay2", "address": "", "latlong": list(SANDBOX_LATLONG),
            "battery": device.battery, "username": device.name, "location_enabled": device.location_enabled,
            "indoor_location": device.position["position_id"] if device.position else "",
            "location": "",
        }
        if query not in values:
            raise RequestError("invalid_query")
        return {query: values[query]}, None

    def _rq_set_device_info(self, req: Request) -> tuple[dict[str, Any], After]:
        device = self._one_target(req)
        field, value = req.body.get("field"), req.body.get("value")
        if field == "label" and isinstance(value, str):
            if not self.hub.rename(device, value):
                raise RequestError("invalid_name")
        elif field == "location_enabled" and value in ("true", "false", True, False):
            device.location_enabled = value in ("true", True)
        else:
            raise RequestError("invalid_field")
        return {}, None

    def _rq_set_channel(self, req: Request) -> tuple[dict[str, Any], After]:
        devices = self._targets(req)
        name = req.body.get("channel_name")
        if not isinstance(name, str) or not name:
            raise RequestError("missing_channel_name")

        suppress = req.body.get("suppress_tts") is True

        def after() -> None:
            for device in devices:
                device.note(channel=name)
                if not suppress:  # the device announces its new channel unless asked not to
                    device.say(f"{name} channel")
                self.hub.change_channel(device, name)  # an interaction left is suspended, one come back to resumed

        return {}, after

    def _rq_set_home_channel_state(self, req: Request) -> tuple[dict[str, Any], After]:
        devices = self._targets(req)
        enabled = req.body.get("enabled")
        if not isinstance(enabled, bool):
            raise RequestError("invalid_enabled")

        def after() -> None:
            for device in devices:
                device.home_channel_enabled = enabled
                self.hub.touch(device)

        return {}, after

    def _rq_set_user_profile(self, req: Request) -> tuple[dict[str, Any], After]:
        self._one_target(req)
        return {}, None

    def _rq_set_led(self, req: Request) -> tuple[dict[str, Any], After]:
        ix = self._interaction(req)
        effect = req.body.get("effect")
        if effect not in ("static", "off", "flash", "breathe", "rotate", "rainbow"):
            raise RequestError("invalid_effect")
        raw_args = req.body.get("args")
        args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
        raw_colors = args.get("colors")
        colors: dict[str, Any] = raw_colors if isinstance(raw_colors, dict) else {}
        colour = "off" if effect == "off" else str(colors.get("ring") or next(iter(colors.values()), "ffffff"))
        return {}, lambda: ix.device.set_led(colour, None if effect in ("static", "off") else str(effect))

    def _rq_vibrate(self, req: Request) -> tuple[dict[str, Any], After]:
        ix = self._interaction(req)
        pattern = req.body.get("pattern")
        if not isinstance(pattern, list) or not all(isinstance(p, int | float) for p in pattern):
            raise RequestError("invalid_pattern")
        return {}, lambda: ix.device.vibrate([int(p) for p in pattern])

    def _rq_inbox_count(self, req: Request) -> tuple[dict[str, Any], After]:
        device = self._one_target(req)
        return {"count": str(len(self.hub.inbox.unread(device)))}, None

    def _rq_play_inbox_messages(self, req: Request) -> tuple[dict[str, Any], After]:
        """The device reads its unread messages out; `play_inbox_message` events `started` and `stopped`."""
        device = self._one_target(req)

        def after() -> None:
            messages = self.hub.inbox.take_unread(device)
            self.emit("play_inbox_message", action="started")
            lines = [f"Message from {m.sender}: {m.text}" for m in messages] or ["No new messages"]
            for line in lines:
                device.say(line)
            seconds = sum(max(MIN_PROMPT_SECONDS, SECONDS_PER_WORD * len(line.split())) for line in lines)
            key = "\0inbox-" + req.id

            def done() -> None:
                self.timers.pop(key, None)
                self.emit("play_inbox_message", action="stopped")

            self._set_timer(key, seconds, done)

        return {}, after

    def _rq_notification(self, req: Request) -> tuple[dict[str, Any], After]:
        if not req.targets and req.body.get("target") is not None:  # Python/Go/Java repeat it in `target`
            req = Request(req.name, req.id, {**req.body, "_target": req.body["target"]})
        devices = self._targets(req)
        kind = req.body.get("type")
        if kind not in (*KINDS, "cancel"):
            raise RequestError("invalid_notification_type")
        name = req.body.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError("missing_name")
        if kind == "cancel":
            def cancel() -> None:
                self.hub.notices.cancel(self, name, devices)

            return {}, cancel
        text = req.body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise RequestError("missing_text")
        originator = req.body.get("originator")
        if originator is not None and (not isinstance(originator, str) or wire.parse_urn(originator) is None):
            raise RequestError("invalid_originator")
        push = req.body.get("push_opts")
        if push is not None and not isinstance(push, dict):
            raise RequestError("invalid_push_opts")

        def send() -> None:
            self.hub.notices.send(self, str(kind), name, text, originator, devices)

        return {}, send

    # -- groups --------------------------------------------------------------------------------------

    def _group(self, uri: Any) -> Group:
        urn = wire.parse_urn(uri) if isinstance(uri, str) else None
        if urn is None or urn.resource != "group":
            raise RequestError("invalid_group_uri")
        group = self.hub.group_of_urn(urn)
        if group is None:
            raise RequestError("unknown_group")
        return group

    def _rq_group_query(self, req: Request) -> tuple[dict[str, Any], After]:
        query = req.body.get("query")
        uri = req.body.get("group_uri")
        if query == "list_members":
            group = self._group(uri)
            return {"member_uris": [wire.device_name_urn(d.name) for d in self.hub.members(group)]}, None
        if query == "is_member":
            group = self._group(uri)
            urn = wire.parse_urn(str(uri))
            if urn is None or urn.device is None:
                raise RequestError("missing_member")  # is_member asks with a group-member URN
            try:
                member = self.hub.resolve(wire.device_name_urn(urn.device.value) if urn.device.id_type == "name"
                                          else wire.device_id_urn(urn.device.value))[0]
            except ValueError:
                return {"is_member": False}, None
            return {"is_member": member.id in group.members}, None
        raise RequestError("invalid_query")

    def _rq_list_group_members(self, req: Request) -> tuple[dict[str, Any], After]:
        name = req.body.get("group_name")
        group = self.hub.groups.find(name) if isinstance(name, str) else None
        if group is None:
            raise RequestError("unknown_group")
        return {"member_uris": [wire.device_name_urn(d.name) for d in self.hub.members(group)]}, None

    def _rq_create_group(self, req: Request) -> tuple[dict[str, Any], After]:
        members = self._targets(req) if req.targets else []
        try:
            group = self.hub.groups.create(req.body.get("name"), members)
        except GroupError as exc:
            raise RequestError("group_exists" if exc.status == 409 else "invalid_group_name") from None
        return {"uri": wire.group_name_urn(group.name)}, None

    def _rq_delete_group(self, req: Request) -> tuple[dict[str, Any], After]:
        group = self._group(req.body.get("uri", req.body.get("group_uri")))
        self.hub.groups.delete(group)
        return {}, None

    def _rq_add_group_members(self, req: Request) -> tuple[dict[str, Any], After]:
        group = self._group(req.body.get("group_uri", req.body.get("uri")))
        self.hub.groups.add_members(group, self._targets(req))
        return {}, None

    def _rq_remove_group_members(self, req: Request) -> tuple[dict[str, Any], After]:
        group = self._group(req.body.get("group_uri", req.body.get("uri")))
        self.hub.groups.remove_members(group, self._targets(req))
        return {}, None

    # -- variables, timers, misc ---------------------------------------------------------------------

    def _rq_set_var(self, req: Request) -> tuple[dict[str, Any], After]:
        name, value = req.body.get("name"), req.body.get("value")
        if not isinstance(name, str) or not name:
            raise RequestError("missing_name")
        self.vars[name] = _stringify(value)
        return {"name": name, "value": self.vars[name], "type": "string"}, None

    def _rq_get_var(self, req: Request) -> tuple[dict[str, Any], After]:
        name = req.body.get("name")
        if not isinstance(name, str):
            raise RequestError("missing_name")
        return ({"name": name, "value": self.vars[name]} if name in self.vars else {}), None

    def _rq_unset_var(self, req: Request) -> tuple[dict[str, Any], After]:
        self.vars.pop(str(req.body.get("name")), None)
        return {}, None

    def _rq_start_timer(self, req: Request) -> tuple[dict[str, Any], After]:
        timeout = req.body.get("timeout", 60)
        if not isinstance(timeout, int | float) or timeout < 0:
            raise RequestError("invalid_timeout")

        def fire() -> None:
            self.timers.pop("\0unnamed", None)
            self.emit("timer")

        return {}, lambda: self._set_timer("\0unnamed", float(timeout), fire)

    def _rq_stop_timer(self, req: Request) -> tuple[dict[str, Any], After]:
        return {}, lambda: self._clear_timer("\0unnamed")

    def _rq_set_timer(self, req: Request) -> tuple[dict[str, Any], After]:
        name, kind = req.body.get("name"), req.body.get("type", "timeout")
        timeout, unit = req.body.get("timeout", 60), req.body.get("timeout_type", "secs")
        if not isinstance(name, str) or not name:
            raise RequestError("missing_name")
        if kind not in ("timeout", "interval") or unit not in TIMEOUT_UNITS:
            raise RequestError("invalid_timer")
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise RequestError("invalid_timeout")
        seconds = float(timeout) * TIMEOUT_UNITS[str(unit)]

        def fire() -> None:
            self.timers.pop(name, None)
            self.emit("timer_fired", name=name)
            if kind == "interval" and not self.ended:
                self._set_timer(name, seconds, fire)

        return {}, lambda: self._set_timer(name, seconds, fire)

    def _rq_clear_timer(self, req: Request) -> tuple[dict[str, Any], After]:
        return {}, lambda: self._clear_timer(str(req.body.get("name")))

    def _set_timer(self, name: str, seconds: float, fire: Callable[[], None]) -> None:
        self._clear_timer(name)
        self.timers[name] = self.hub.clock.call_later(seconds, fire)

    def _clear_timer(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _rq_log_analytics_event(self, req: Request) -> tuple[dict[str, Any], After]:
        return {}, None

    def _rq_debug_log(self, req: Request) -> tuple[dict[str, Any], After]:
        return {}, None

    def _rq_create_incident(self, req: Request) -> tuple[dict[str, Any], After]:
        itype, originator = req.body.get("type"), req.body.get("originator_uri")
        if not isinstance(itype, str) or not itype:
            raise RequestError("missing_type")
        device: Device | None = None
        if originator is not None:
            if not isinstance(originator, str):
                raise RequestError("invalid_originator")
            devices = self._devices(originator)
            device = devices[0] if len(devices) == 1 else None
        incident = self.hub.incidents.create(self, itype, device)
        return {"incident_id": incident.id}, None

    def _rq_resolve_incident(self, req: Request) -> tuple[dict[str, Any], After]:
        incident_id, reason = req.body.get("incident_id"), req.body.get("reason")
        if not isinstance(incident_id, str):
            raise RequestError("missing_incident_id")
        incident = self.hub.incidents.get(incident_id)
        if incident is None:
            raise RequestError("unknown_incident")
        return {}, lambda: self.hub.incidents.resolve(incident, reason)

    def _rq_sms(self, req: Request) -> tuple[dict[str, Any], After]:
        """A text message to a device or group URN: it lands in the devices' inboxes (`inbox_count`)."""
        text, uri, kind = req.body.get("text"), req.body.get("uri"), req.body.get("type", "sms")
        if not isinstance(text, str) or not isinstance(uri, str) or not uri:
            raise RequestError("missing_text_or_uri")
        if not isinstance(kind, str):
            raise RequestError("invalid_type")
        devices = self._devices(uri)
        message = Message("msg-" + uuid.uuid4().hex[:12], self.device.name, text, kind)

        def after() -> None:
            self.emit("sms", id=message.id, event="sent")
            got = self.hub.inbox.deliver(message, devices)
            self.emit("sms", id=message.id, event="delivered" if got else "failed")
            for device in got:
                focused = self.hub.focus.get(device.name)
                if focused is not None and focused is not self:
                    focused.emit("sms", id=message.id, event="received")

        return {"message_id": message.id}, after

    def _rq_set_device_mode(self, req: Request) -> tuple[dict[str, Any], After]:
        devices = self._targets(req)
        mode = req.body.get("mode")
        if mode not in ("panic", "alarm", "none"):
            raise RequestError("invalid_mode")

        def after() -> None:
            for device in devices:
                device.note(mode=mode)

        return {}, after

    def _rq_device_power_off(self, req: Request) -> tuple[dict[str, Any], After]:
        devices = self._targets(req)
        restart = req.body.get("restart") is True

        def after() -> None:
            for device in devices:
                self.hub.power(device, restart)

        return {}, after


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return wire.encode(value) if isinstance(value, dict | list) else str(value)
