"""The device hub: sandbox devices, what their buttons and spoken commands do, and which workflow a
trigger starts.

With no workflow registered, a device gets the built-in calling experience. A registered call, button or
phrase workflow installed on the device takes over: the hub starts an instance (through `connector`, the
only I/O, injected) and hands it the trigger. The double tap of the Assistant button always hangs up.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from relaybox.clock import Clock, Timer
from relaybox.devices import schedule, sensors
from relaybox.devices.builtin import BuiltinCallee, BuiltinCaller, MissedCalls, not_available
from relaybox.devices.calls import RING_SECONDS, CallError, CallSide, CallState, DeviceCall, DeviceCalls
from relaybox.devices.groups import Group, Groups
from relaybox.devices.inbox import Inboxes
from relaybox.devices.incidents import Incidents
from relaybox.devices.model import ID_RE, NAME_RE, Device
from relaybox.devices.notifications import Notices
from relaybox.devices.registry import BUTTON_TRIGGERS, Registration, Registry
from relaybox.devices.session import WorkflowLink, WorkflowSession
from relaybox.devices.voice import Voice
from relaybox.protocol.workflow import ALL_DEVICES, Urn, device_name_urn, parse_urn

log = logging.getLogger("relaybox.devices")

Connector = Callable[[str, WorkflowSession], Awaitable[WorkflowLink | None]]
CALL_COMMAND = re.compile(r"^\s*(?:call|dial|phone)\s+(.+?)\s*[.!?]?\s*$", re.IGNORECASE)
TAPS = {1: "single", 2: "double", 3: "triple"}
SENSOR_ACTIONS = frozenset({"device_event", "battery", "geofence", "position", "nfc", "cancel_incident"})


class DeviceStorage(Protocol):
    def save_device(self, device_id: str, name: str, online: bool) -> None: ...
    def delete_device(self, device_id: str) -> None: ...
    def save_group(self, group_id: str, name: str, member_ids: list[str]) -> None: ...
    def delete_group(self, group_id: str) -> None: ...


class DeviceError(ValueError):
    """A bad device or action (answered with a 400/404/409 by the REST layer)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class _Listen:
    session: WorkflowSession
    urn: str
    request_id: str
    timer: Timer
    phrases: list[str]
    transcribe: bool = True


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def match_phrase(said: str, phrases: list[str]) -> str:
    """What a listen with `phrases` hears: the (longest) listed phrase spoken as whole words, as the
    workflow listed it; without phrases, or when none was said, the transcription itself."""
    heard = f" {_words(said)} "
    for phrase in sorted(phrases, key=lambda p: -len(_words(p))):
        if _words(phrase) and f" {_words(phrase)} " in heard:
            return phrase
    return said.strip()


class DeviceHub:
    def __init__(
        self, clock: Clock, registry: Registry, connector: Connector, ring_seconds: float = RING_SECONDS,
        storage: DeviceStorage | None = None,
    ) -> None:
        self.clock = clock
        self.registry = registry
        self.connector = connector
        self.storage = storage
        self.devices: dict[str, Device] = {}
        self.groups = Groups(storage)
        registry.groups = self.groups
        self.calls = DeviceCalls(clock, ring_seconds)
        self.missed = MissedCalls(clock)
        self.notices = Notices(clock)
        self.incidents = Incidents()
        self.inbox = Inboxes()
        self.timer_triggers: dict[str, Timer] = {}  # registration name -> its next occurrence
        self.started = False
        self.focus: dict[str, WorkflowSession] = {}  # device name -> instance whose interaction it is on
        self.sessions: set[WorkflowSession] = set()
        self.listens: dict[str, _Listen] = {}
        self.voice: Voice | None = None  # the audio of what a user said (listen without transcription)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- devices -------------------------------------------------------------------------------------

    def create(self, name: Any, device_id: Any = None) -> Device:
        if not isinstance(name, str) or not NAME_RE.match(name) or name != name.strip():
            raise DeviceError("'name' must be 1-64 characters, without ':', '?', '/', '#' or '%'")
        if device_id is None:
            device_id = "99000756" + "".join(secrets.choice("0123456789") for _ in range(7))
        if not isinstance(device_id, str) or not ID_RE.match(device_id):
            raise DeviceError("'id' must be a string of 1-64 letters, digits, '.', '_' or '-'")
        if self.find(name) is not None:
            raise DeviceError(f"a device named {name} exists", 409)
        if self.find_by_id(device_id) is not None:
            raise DeviceError(f"a device with id {device_id} exists", 409)
        device = Device(name, device_id, self.clock)
        self.devices[name] = device
        self._save(device)
        return device

    def load(self, records: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
        """Devices and groups kept from an earlier run (no transcript, no calls: a fresh boot)."""
        for rec in records:
            if rec["name"] not in self.devices and self.find_by_id(rec["id"]) is None:
                device = Device(rec["name"], rec["id"], self.clock, online=bool(rec.get("online", True)))
                self.devices[device.name] = device
        for g in groups:
            self.groups.load(g["id"], g["name"], [m for m in g["members"] if self.find_by_id(m) is not None])

    def delete(self, device: Device) -> None:
        if device.call_id is not None:
            raise DeviceError(f"{device.name} is in a call", 409)
        for session in list(self.sessions):
            if session.device is device or any(i.device is device for i in session.interactions.values()):
                session.end("device_deleted")
        self.missed.forget(device)
        self.notices.forget_device(device)
        self.incidents.forget_device(device)
        self.inbox.forget_device(device)
        self.groups.forget_device(device)
        if device.name in self.listens:
            self._listen_done(device.name, "")
        del self.devices[device.name]
        if self.storage is not None:
            self.storage.delete_device(device.id)

    def _save(self, device: Device) -> None:
        if self.storage is not None:
            self.storage.save_device(device.id, device.name, device.online)

    def find(self, name: str) -> Device | None:
        device = self.devices.get(name)
        if device is None:
            folded = " ".join(name.split()).casefold()
            device = next((d for d in self.devices.values() if d.name.casefold() == folded), None)
        return device

    def find_by_id(self, device_id: str) -> Device | None:
        return next((d for d in self.devices.values() if d.id == device_id), None)

    def rename(self, device: Device, name: str) -> bool:
        if not NAME_RE.match(name) or (self.find(name) not in (None, device)):
            return False
        del self.devices[device.name]
        if device.name in self.focus:
            self.focus[name] = self.focus.pop(device.name)
        device.name = name
        self.devices[name] = device
        self._save(device)
        return True

    # -- groups --------------------------------------------------------------------------------------

    def find_group(self, name_or_id: str) -> Group | None:
        return self.groups.find(name_or_id) or self.groups.find_by_id(name_or_id)

    def members(self, group: Group) -> list[Device]:
        return [d for m in group.members if (d := self.find_by_id(m)) is not None]

    def group_of_urn(self, urn: Urn) -> Group | None:
        find = self.groups.find if urn.id_type == "name" else self.groups.find_by_id
        return find(urn.value) or (find(again) if (again := unquote(urn.value)) != urn.value else None)

    def resolve(self, uri: str) -> list[Device]:
        """The devices a device, group, group-member or all-devices URN names (DeviceError when none).

        Names are looked up decoded, and decoded twice when that finds nothing: the JS SDK's
        `isGroupMember` rebuilds the member URN from a still-encoded group name (`Front%2520Desk`)."""
        if uri == ALL_DEVICES:
            return list(self.devices.values())
        urn = parse_urn(uri)
        if urn is None:
            raise DeviceError("invalid_uri")
        if urn.resource == "group":
            group = self.group_of_urn(urn)
            if group is None:
                raise DeviceError("unknown_group")
            if urn.device is None:
                return self.members(group)
            member = self._device_of(urn.device)
            if member.id not in group.members:
                raise DeviceError("not_a_group_member")
            return [member]
        if urn.resource != "device" or urn.id_type == "all":
            raise DeviceError("invalid_target")
        return [self._device_of(urn)]

    def _device_of(self, urn: Urn) -> Device:
        find = self.find if urn.id_type == "name" else self.find_by_id
        device = find(urn.value) or (find(again) if (again := unquote(urn.value)) != urn.value else None)
        if device is None:
            raise DeviceError("unknown_device")
        return device

    # -- what the user does --------------------------------------------------------------------------

    def act(self, device: Device, action: dict[str, Any]) -> None:
        """One user action: a button press, a spoken command, going on/offline."""
        log.info("device %s: %s", device.name, action)
        if action.get("go_online") is True:
            device.note(did=action)
            device.online = True
            self._save(device)
            return
        if action.get("go_offline") is True:
            device.note(did=action)
            self._go_offline(device)
            return
        if not device.online:
            raise DeviceError(f"{device.name} is offline", 409)
        self.touch(device)
        if "channel" in action:
            channel = action["channel"]
            if not isinstance(channel, str) or not channel.strip() or set(action) != {"channel"}:
                raise DeviceError("'channel' must be a non-empty channel name, alone")
            device.note(did=action)
            self.change_channel(device, channel.strip())
            return
        if set(action) & SENSOR_ACTIONS:
            self._sense(device, action)
            return
        if "speak" in action:
            text, lang = action["speak"], action.get("lang", "en-US")
            if not isinstance(text, str) or not text.strip() or set(action) - {"speak", "lang"}:
                raise DeviceError("'speak' must be a non-empty string (with an optional 'lang')")
            if not isinstance(lang, str) or not re.match(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", lang):
                raise DeviceError("'lang' must be a language tag such as en-US")
            device.note(did=action)
            self._speak(device, text, lang)
            return
        button = action.get("button")
        if button not in ("talk", "assistant"):
            raise DeviceError("an action is one of {'button': 'talk'|'assistant', 'taps': 1-3}, "
                              "{'button': 'talk', 'hold': S}, {'speak': TEXT}, {'channel': NAME}, "
                              "{'go_offline': true}, {'go_online': true}, or a sensor action ('device_event', "
                              "'battery', 'geofence', 'position', 'nfc', 'cancel_incident')")
        if "hold" in action:
            hold = action["hold"]
            if button != "talk" or set(action) != {"button", "hold"} or not isinstance(hold, int | float) \
                    or isinstance(hold, bool) or not 0 < hold <= 600:
                raise DeviceError("'hold' is for the talk button: seconds, more than 0 and at most 600")
            device.note(did=action)
            self._talk(device, "long")
            return
        taps = action.get("taps", 1)
        if set(action) - {"button", "taps"} or taps not in TAPS or isinstance(taps, bool):
            raise DeviceError("'taps' must be 1, 2 or 3")
        device.note(did=action)
        if button == "talk":
            self._talk(device, TAPS[taps])
        else:
            self._assistant(device, TAPS[taps])

    def _sense(self, device: Device, action: dict[str, Any]) -> None:
        """A device event, battery level, geofence crossing, indoor position or NFC tap: the sensor
        triggers it matches start their workflows."""
        kinds = set(action) & SENSOR_ACTIONS
        kind = next(iter(kinds)) if len(kinds) == 1 else None
        allowed = {"battery": {"battery", "charging"}, "geofence": {"geofence", "transition"}}.get(
            kind or "", {kind})
        if kind is None or set(action) - allowed:
            raise DeviceError("a sensor action is one of {'device_event': NAME}, {'battery': 0-100, 'charging'?: "
                              "BOOL}, {'geofence': ID, 'transition': 'entry'|'exit'}, {'position': {'venue_id', "
                              "'position_id'}|null}, {'nfc': LABEL|{...}}, {'cancel_incident': true}, alone")
        try:
            if kind == "cancel_incident":
                if action[kind] is not True:
                    raise sensors.SensorError("'cancel_incident' must be true")
                device.note(did=action)
                self.incidents.cancel_from(device)
                return
            if kind == "device_event":
                readings = sensors.device_event(device, action[kind])
            elif kind == "battery":
                readings = sensors.battery(device, action[kind], action.get("charging"))
            elif kind == "geofence":
                readings = sensors.geofence(device, action[kind], action.get("transition"))
            elif kind == "position":
                readings = sensors.position(device, action[kind])
            else:
                readings = sensors.nfc(device, action[kind])
        except sensors.SensorError as exc:
            raise DeviceError(str(exc)) from None
        device.note(did=action)
        if kind == "device_event" and action[kind] == "emergency":
            device.tone("emergency")
        for reading in readings:
            for reg in self.registry.sensor_workflows(device, reading):
                log.info("%s trigger of %s fires on %s", reading.key, reg.name, device.name)
                self._spawn(self._trigger(reg, device, reading.trigger(device_name_urn(device.name))))

    def _incoming_builtin(self, device: Device) -> DeviceCall | None:
        call = self.calls.get(device.call_id) if device.call_id else None
        if call and call.rings(device) and isinstance(call.side_of(device), BuiltinCallee):
            return call
        return None

    def _talk(self, device: Device, taps: str) -> None:
        ringing = self._incoming_builtin(device)
        if ringing is not None and taps == "single":
            self.calls.answer(ringing, device)
        elif ringing is not None and taps == "double":
            self.calls.hangup(ringing, device)
        elif (taps == "single" and self.notices.ack(device)) or self._button_event(device, "action", taps):
            pass
        elif taps == "single" and self.missed.clear(device):
            device.tone("cleared")
        elif (reg := self.registry.button_workflow(device, taps)) is not None:
            trigger = {"type": "button", "args": {"action": BUTTON_TRIGGERS[taps],
                                                  "source_uri": device_name_urn(device.name)}}
            self._spawn(self._trigger(reg, device, trigger))

    def _assistant(self, device: Device, taps: str) -> None:
        call = self.calls.get(device.call_id) if device.call_id else None
        if call is not None and taps == "double":  # hang-up/reject/cancel: always, workflow or not
            self.calls.hangup(call, device)
        elif taps != "single" and self._button_event(device, "channel", taps):
            pass
        elif taps == "single":
            device.say(f"{device.name}, {device.channel} channel")

    def change_channel(self, device: Device, name: str) -> None:
        """The user turns to another channel: the interaction left is `suspended` (a non-transient instance
        ends), the one come back to is `resumed` and gets the buttons again."""
        old, device.channel = device.channel, name
        if old == name:
            return
        for session in list(self.sessions):
            for ix in [i for i in session.interactions.values() if i.device is device]:
                if ix.name == old:
                    if not session.transient:
                        session.end("normal")
                        break
                    session.suspended(ix)
                elif ix.name == name:
                    session.resumed(ix)

    def touch(self, device: Device) -> None:
        """User input on `device`: the interactions on it restart their idle time (home channel)."""
        for session in list(self.sessions):
            for ix in [i for i in session.interactions.values() if i.device is device]:
                session.touch(ix)

    def _button_event(self, device: Device, button: str, taps: str) -> bool:
        """A button event to the instance whose interaction the device is on, if its `input_types` take it."""
        session = self.focus.get(device.name)
        if session is None:
            return False
        ix = next((i for i in session.interactions.values() if i.device is device), None)
        if ix is not None and not ix.accepts(button, taps):
            return False
        session.emit("button", button=button, taps=taps, source_uri=ix.urn if ix else device_name_urn(device.name))
        return True

    def _speak(self, device: Device, text: str, lang: str = "en-US") -> None:
        listen = self.listens.get(device.name)
        if listen is not None:
            self._listen_done(device.name, text.strip(), lang)
            return
        match = self.registry.phrase_workflow(device, text)
        if match is not None:
            reg, phrase, spillover = match
            trigger = {"type": "phrase", "args": {"phrase": phrase, "spillover": spillover,
                                                  "source_uri": device_name_urn(device.name)}}
            self._spawn(self._trigger(reg, device, trigger))
            return
        command = CALL_COMMAND.match(text)
        if command is not None:
            self.call_command(device, command.group(1))
            return
        device.say("Sorry, I didn't understand")

    def power(self, device: Device, restart: bool) -> None:
        """A workflow powers the device off (or restarts it): calls and listens end as when it goes offline."""
        device.note(power="restart" if restart else "off")
        self._go_offline(device)
        if restart:
            device.online = True
            self._save(device)

    def _go_offline(self, device: Device) -> None:
        device.online = False
        self._save(device)
        call = self.calls.get(device.call_id) if device.call_id else None
        if call is not None:
            self.calls.hangup(call, device, "hangup" if call.was_connected else "unavailable")
        if device.name in self.listens:
            self._listen_done(device.name, "")

    # -- calls ---------------------------------------------------------------------------------------

    def call_command(self, device: Device, spoken: str) -> None:
        """'call Bob' on the Assistant: an outbound call workflow if one is installed, else built-in."""
        callee = self.find(spoken)
        group = None if callee else self.groups.find(spoken)
        label = callee.name if callee else group.name if group else spoken
        reg = self.registry.call_workflow(device, "outbound")
        if reg is not None:
            running = self._absorbing(reg, device, "on_call_request")
            if running is not None:
                uri = device_name_urn(label)
                running.emit("call_start_request", uri=uri, destination=uri)
            else:
                self._spawn(self._outbound_workflow(reg, device, label))
            return
        if device.call_id is not None:
            device.say("You are already in a call")
            return
        device.tone("confirm")
        device.set_led("green")
        device.say(f"Calling {label}")
        call = self.calls.place(device, label, BuiltinCaller(device))
        self.route_call(call)

    def route_call(self, call: DeviceCall) -> None:
        """Ring the callee: with its inbound call workflow if it has one, else the built-in experience."""
        if call.state is not CallState.PLACING:
            return
        callee = self.find(call.callee_label)
        group = self.groups.find(call.callee_label) if callee is None else None
        if group is not None:  # a group call: every free member rings, each with its own call workflow if any
            members = self.members(group)
            regs = [self.registry.call_workflow(d, "inbound") for d in members]
            if any(regs):
                self._spawn(self._ring_group(call, group.name, list(zip(members, regs, strict=True))))
            else:
                self.calls.ring_group(call, group.name, [(d, BuiltinCallee(d, self.missed)) for d in members])
            return
        if callee is None or not callee.online or callee.call_id is not None or callee is call.caller:
            self.calls.fail(call, "unavailable")
            return
        reg = self.registry.call_workflow(callee, "inbound")
        if reg is None:
            self.calls.start(call, callee, BuiltinCallee(callee, self.missed))
        elif (running := self._absorbing(reg, callee, "on_incoming_call")) is not None:
            self.calls.start(call, callee, running)
        else:
            self._spawn(self._inbound_workflow(reg, call, callee))

    async def _ring_group(self, call: DeviceCall, group: str,
                          members: list[tuple[Device, Registration | None]]) -> None:
        """A group call where some members have an inbound call workflow: those ring through it (a running
        absorbing instance or a new one), the others with the built-in experience. A member whose workflow
        cannot be reached does not ring; when nobody can, the call fails as unavailable."""

        async def side_of(device: Device, reg: Registration | None) -> CallSide | None:
            if reg is None:
                return BuiltinCallee(device, self.missed)
            if not device.online or device.call_id is not None or device is call.caller:
                return None
            running = self._absorbing(reg, device, "on_incoming_call")
            if running is not None:
                return running
            return await self.launch(reg, device, self._inbound_trigger(call, device))

        sides = await asyncio.gather(*(side_of(d, r) for d, r in members))
        pairs = [(d, side) for (d, _), side in zip(members, sides, strict=True) if side is not None]
        launched = [side for (_, reg), side in zip(members, sides, strict=True)
                    if reg is not None and isinstance(side, WorkflowSession)]
        if call.state is CallState.PLACING:
            self.calls.ring_group(call, group, pairs)
        for session in launched:  # started for a call that ended meanwhile, or for a member that got busy
            if not any(side is session for _, side in call.ringing):
                session.end("normal")

    def _inbound_trigger(self, call: DeviceCall, callee: Device) -> dict[str, Any]:
        return {"type": "telephony", "args": {
            "source_uri": device_name_urn(callee.name), "call_id": call.call_id, "direction": "inbound",
            "uri": device_name_urn(call.caller.name)}}

    def _absorbing(self, reg: Registration, device: Device, key: str) -> WorkflowSession | None:
        """With `absorb_triggers`, the running instance of `reg` that takes this call event in: one started
        on `device`, else one with an interaction on it."""
        if key not in reg.absorbs:
            return None
        mine = [s for s in self.sessions if s.registration.name == reg.name and not s.ended]
        return next((s for s in mine if s.device is device), None) or next(
            (s for s in mine if any(i.device is device for i in s.interactions.values())), None)

    async def _inbound_workflow(self, reg: Registration, call: DeviceCall, callee: Device) -> None:
        session = await self.launch(reg, callee, self._inbound_trigger(call, callee))
        if session is None:
            self.calls.fail(call, "unavailable")
        elif call.state is not CallState.PLACING:  # the caller gave up while the workflow was connecting
            session.end("normal")
        else:
            self.calls.start(call, callee, session)

    async def _outbound_workflow(self, reg: Registration, device: Device, label: str) -> None:
        uri = device_name_urn(label)
        trigger = {"type": "telephony", "args": {"source_uri": device_name_urn(device.name), "direction": "outbound",
                                                 "uri": uri}}
        session = await self.launch(reg, device, trigger, [("call_start_request", {"uri": uri, "destination": uri})])
        if session is None:
            device.say(not_available(label))

    # -- workflow instances --------------------------------------------------------------------------

    async def _trigger(self, reg: Registration, device: Device, trigger: dict[str, Any]) -> None:
        if await self.launch(reg, device, trigger) is None:
            device.say(not_available(reg.name))

    async def http_trigger(self, reg: Registration, devices: list[Device], args: dict[str, Any]) -> list[str]:
        """An HTTP trigger: one instance per target device; the started instances' ids."""
        out: list[str] = []
        for device in devices:
            trigger = {"type": "http", "args": {"source_uri": device_name_urn(device.name), "args": args}}
            session = await self.launch(reg, device, trigger)
            if session is not None:
                out.append(session.id)
        return out

    # -- timer triggers ------------------------------------------------------------------------------

    def start(self) -> None:
        """Once the loop runs: schedule the timer triggers kept from an earlier run (not `immediately`)."""
        self.started = True
        for reg in self.registry.all():
            if reg.trigger == "on_timer" and not schedule.is_immediate(reg.value):
                self._schedule(reg)

    def registered(self, reg: Registration) -> None:
        """A registration was added or replaced: (re)arm its timer trigger."""
        self.unregistered(reg.name)
        if reg.trigger != "on_timer":
            return
        if schedule.is_immediate(reg.value):
            self._fire_timer(reg)
        else:
            self._schedule(reg)

    def unregistered(self, name: str) -> None:
        timer = self.timer_triggers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _schedule(self, reg: Registration) -> None:
        now = self.clock.timestamp()
        nxt = next(schedule.occurrences(reg.value, now + 0.001), None)
        if nxt is None:
            return

        def fire() -> None:
            self.timer_triggers.pop(reg.name, None)
            if self.registry.get(reg.name) is reg:
                self._fire_timer(reg)
                self._schedule(reg)

        self.timer_triggers[reg.name] = self.clock.call_later(nxt - now, fire)

    def _fire_timer(self, reg: Registration) -> None:
        devices = [d for d in self.registry.installed(reg, list(self.devices.values())) if d.online]
        log.info("timer trigger %s fires on %s", reg.name, ", ".join(d.name for d in devices) or "no device")
        for device in devices:
            trigger = {"type": "calendar", "args": {"source_uri": device_name_urn(device.name)}}
            self._spawn(self._trigger(reg, device, trigger))

    async def launch(
        self, reg: Registration, device: Device, trigger: dict[str, Any],
        then: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> WorkflowSession | None:
        """Connect to the workflow and send START (then `then`); None when its server is unreachable."""
        session = WorkflowSession(self, reg, device)
        link = await self.connector(reg.uri, session)
        if link is None:
            log.warning("workflow %s: cannot connect to %s", reg.name, reg.uri)
            return None
        session.attach(link)
        self.sessions.add(session)
        session.start(trigger)
        for name, fields in then or []:
            session.emit(name, **fields)
        return session

    def session_ended(self, session: WorkflowSession) -> None:
        self.sessions.discard(session)
        for name, owner in list(self.focus.items()):
            if owner is session:
                del self.focus[name]

    def listen(self, session: WorkflowSession, device: Device, urn: str, request_id: str, timeout: float,
               phrases: list[str] | None = None, transcribe: bool = True) -> None:
        """The device listens until the user speaks (a `speak` action) or `timeout` passes (empty text)."""
        if device.name in self.listens:
            self._listen_done(device.name, "")
        timer = self.clock.call_later(timeout, lambda: self._listen_done(device.name, ""))
        self.listens[device.name] = _Listen(session, urn, request_id, timer, list(phrases or []), transcribe)
        device.tone("listening")

    def _listen_done(self, name: str, text: str, lang: str = "en-US") -> None:
        listen = self.listens.pop(name, None)
        if listen is None:
            return
        listen.timer.cancel()
        if listen.transcribe or not text or self.voice is None:
            heard = match_phrase(text, listen.phrases) if text else ""
            listen.session.speech(listen.request_id, listen.urn, heard if listen.transcribe else "", lang)
            return
        voice = self.voice

        async def audio() -> None:  # synthesis is blocking: off the event loop
            wav = await asyncio.to_thread(voice, text, lang)
            listen.session.speech(listen.request_id, listen.urn, "", lang, wav)

        self._spawn(audio())

    def cancel_listens(self, session: WorkflowSession) -> None:
        for name, listen in list(self.listens.items()):
            if listen.session is session:
                listen.timer.cancel()
                del self.listens[name]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("device task failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait for pending trigger/launch tasks (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Shutdown: every instance stopped, every call ended, reminders off."""
        for session in list(self.sessions):
            session.end("shutdown")
        self.calls.end_all("hangup")
        self.missed.close()
        self.notices.close()
        for timer in self.timer_triggers.values():
            timer.cancel()
        self.timer_triggers.clear()
        for task in self._tasks:
            task.cancel()


__all__ = ["CallError", "DeviceError", "DeviceHub"]
