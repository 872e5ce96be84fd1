"""Device-to-device calls (full duplex): the state machine, free of sockets and of user experience.

Each party has a `CallSide` that turns call progress into what the user hears (the built-in calling
experience) or into workflow events (a call workflow). The service only moves the state and keeps the
ring time-out on the platform clock.

    placing --start--> ringing --answer--> connected --hangup--> ended
       |                  |  (reject, cancel, time-out)            ^
       +--fail------------+----------------------------------------+
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from relaybox.clock import Clock, Timer
from relaybox.devices.model import Device

log = logging.getLogger("relaybox.devices")

RING_SECONDS = 60.0  # an unanswered device call rings this long (platform clock)


class CallState(enum.Enum):
    PLACING = "placing"  # the callee's side is being set up (e.g. its call workflow is connecting)
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"


class CallSide(Protocol):
    """One party's view of call progress."""

    def call_received(self, call: DeviceCall) -> None: ...  # callee: an incoming call
    def call_ringing(self, call: DeviceCall) -> None: ...  # caller: the far end rings
    def call_connected(self, call: DeviceCall) -> None: ...
    def call_ended(self, call: DeviceCall) -> None: ...  # disconnected (was connected) or failed
    # a group call stops ringing `device`: declined by it, answered elsewhere, or ended before an answer
    def call_released(self, call: DeviceCall, device: Device, reason: str, by: str | None) -> None: ...


class CallError(Exception):
    """A request that does not fit the call's state (the workflow gets it as an error response)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(eq=False)
class DeviceCall:
    call_id: str
    caller: Device
    callee_label: str  # what the caller asked for ("Bob"), even when no such device exists
    caller_side: CallSide
    start_time: float
    callee: Device | None = None
    callee_side: CallSide | None = None
    state: CallState = CallState.PLACING
    connect_time: float | None = None
    end_time: float | None = None
    end_reason: str | None = None  # hangup | rejected | cancelled | no_answer | unavailable | error
    ended_by: str | None = None
    timer: Timer | None = field(default=None, repr=False)
    group: str | None = None  # a group call: the group's name; `ringing` are the members it rings
    ringing: list[tuple[Device, CallSide]] = field(default_factory=list, repr=False)

    @property
    def was_connected(self) -> bool:
        return self.connect_time is not None

    @property
    def missed(self) -> bool:
        """The callee rang and nobody answered or rejected: the caller gave up or it timed out."""
        return not self.was_connected and self.end_reason in ("cancelled", "no_answer") and (
            self.callee is not None or self.group is not None)

    def rings(self, device: Device) -> bool:
        """`device` is being rung by this call (the callee, or a member of a ringing group call)."""
        if self.state is not CallState.RINGING:
            return False
        return device is self.callee or any(d is device for d, _ in self.ringing)

    def side_of(self, device: Device) -> CallSide | None:
        if device is self.caller:
            return self.caller_side
        if device is self.callee:
            return self.callee_side
        return next((side for d, side in self.ringing if d is device), None)

    def other(self, device: Device) -> Device | None:
        return self.callee if device is self.caller else self.caller


class DeviceCalls:
    """All device calls; every transition goes through here."""

    def __init__(self, clock: Clock, ring_seconds: float = RING_SECONDS) -> None:
        self.clock = clock
        self.ring_seconds = ring_seconds
        self.calls: dict[str, DeviceCall] = {}

    def get(self, call_id: str) -> DeviceCall | None:
        return self.calls.get(call_id)

    def place(self, caller: Device, callee_label: str, caller_side: CallSide) -> DeviceCall:
        """A new call in PLACING: the caller is busy from now on; `start` or `fail` follows."""
        if caller.call_id is not None:
            raise CallError("device_busy")
        call = DeviceCall("dc-" + uuid.uuid4().hex[:16], caller, callee_label, caller_side, self.clock.now())
        caller.call_id = call.call_id
        self.calls[call.call_id] = call
        log.info("device call %s: %s -> %s placing", call.call_id, caller.name, callee_label)
        return call

    def start(self, call: DeviceCall, callee: Device, callee_side: CallSide) -> None:
        """The callee rings (or, for a busy/offline callee, the call fails as unavailable)."""
        if call.state is not CallState.PLACING:
            return
        if not callee.online or callee.call_id is not None or callee is call.caller:
            self.fail(call, "unavailable")
            return
        call.callee, call.callee_side = callee, callee_side
        callee.call_id = call.call_id
        call.state = CallState.RINGING
        call.timer = self.clock.call_later(self.ring_seconds, lambda: self._ring_timeout(call))
        log.info("device call %s: ringing %s", call.call_id, callee.name)
        callee_side.call_received(call)
        call.caller_side.call_ringing(call)

    def ring_group(self, call: DeviceCall, group: str, members: list[tuple[Device, CallSide]]) -> None:
        """A group call: every online, free member rings; the first to answer takes the call."""
        if call.state is not CallState.PLACING:
            return
        call.group = group
        members = [(d, side) for d, side in members if d.online and d.call_id is None and d is not call.caller]
        if not members:
            self.fail(call, "unavailable")
            return
        call.ringing = members
        call.state = CallState.RINGING
        for device, _ in members:
            device.call_id = call.call_id
        call.timer = self.clock.call_later(self.ring_seconds, lambda: self._ring_timeout(call))
        log.info("device call %s: ringing group %s (%s)", call.call_id, group, ", ".join(d.name for d, _ in members))
        for _, side in members:
            side.call_received(call)
        call.caller_side.call_ringing(call)

    def answer(self, call: DeviceCall, device: Device) -> None:
        if call.state is CallState.RINGING and call.ringing:
            side = next((s for d, s in call.ringing if d is device), None)
            if side is None:
                raise CallError("not_the_callee")
            call.callee, call.callee_side = device, side
            others = [(d, s) for d, s in call.ringing if d is not device]
            call.ringing = []
            self._release(call, others, "answered_elsewhere")
        if device is not call.callee:
            raise CallError("not_the_callee")
        if call.state is not CallState.RINGING:
            raise CallError("call_not_ringing")
        self._cancel_timer(call)
        call.state = CallState.CONNECTED
        call.connect_time = self.clock.now()
        log.info("device call %s: connected", call.call_id)
        assert call.callee_side is not None
        call.callee_side.call_connected(call)
        call.caller_side.call_connected(call)

    def hangup(self, call: DeviceCall, device: Device, reason: str | None = None) -> None:
        """Either party ends the call: a hang-up when connected, a reject (callee) or cancel (caller) before."""
        if call.state is CallState.RINGING and any(d is device for d, _ in call.ringing):
            # one member of a group call declines; the others keep ringing
            mine = [(d, s) for d, s in call.ringing if d is device]
            call.ringing = [(d, s) for d, s in call.ringing if d is not device]
            if call.ringing:
                self._release(call, mine, "rejected", device.name)
                return
            call.ringing = mine
        if device is not call.caller and device is not call.callee and not call.ringing:
            raise CallError("not_a_party")
        if call.state is CallState.ENDED:
            raise CallError("call_ended")
        if reason is None:
            if call.state is CallState.CONNECTED:
                reason = "hangup"
            else:
                reason = "cancelled" if device is call.caller else "rejected"
        self._end(call, reason, device.name)

    def fail(self, call: DeviceCall, reason: str) -> None:
        if call.state is not CallState.ENDED:
            self._end(call, reason, None)

    def end_all(self, reason: str = "hangup") -> int:
        calls = list(self.calls.values())
        for call in calls:
            self.fail(call, reason)
        return len(calls)

    def _ring_timeout(self, call: DeviceCall) -> None:
        call.timer = None
        if call.state is CallState.RINGING:
            self._end(call, "no_answer", None)

    def _cancel_timer(self, call: DeviceCall) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _release(self, call: DeviceCall, members: list[tuple[Device, CallSide]], reason: str,
                 by: str | None = None) -> None:
        """Group-call members that stop ringing while the call goes on (declined, or answered elsewhere)."""
        for device, side in members:
            if device.call_id == call.call_id:
                device.call_id = None
            side.call_released(call, device, reason, by)

    def _end(self, call: DeviceCall, reason: str, by: str | None) -> None:
        self._cancel_timer(call)
        call.state = CallState.ENDED
        call.end_time = self.clock.now()
        call.end_reason, call.ended_by = reason, by
        self.calls.pop(call.call_id, None)
        for device in (call.caller, call.callee, *(d for d, _ in call.ringing)):
            if device is not None and device.call_id == call.call_id:
                device.call_id = None
        log.info("device call %s: ended (%s%s)", call.call_id, reason, f" by {by}" if by else "")
        if call.callee_side is not None:
            call.callee_side.call_ended(call)
        for device, side in call.ringing:  # a group call nobody answered
            side.call_released(call, device, reason, by)
        call.caller_side.call_ended(call)
