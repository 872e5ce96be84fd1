"""The built-in calling experience: what a device says and shows when no call workflow handles it.

As the device calling guide describes it: "Calling Bob" and ringing on the caller; ringer, vibration,
green LED and "Call from Alice" on the callee; "Call ended" on both after a hang-up; "Call from Alice
ignored" / "Bob is not available" after a reject; a missed-call reminder at once and then every 30 s
(platform clock) until the Talk button is tapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from relaybox.clock import Clock, Timer
from relaybox.devices.calls import DeviceCall
from relaybox.devices.model import Device

REMINDER_SECONDS = 30.0
RINGER_PATTERN = [1000, 1000, 1000, 1000, 1000, 1000]


def not_available(name: str) -> str:
    return f"{name} is not available"


class BuiltinCaller:
    """The caller's side: announcements only; the hub has already said "Calling Bob"."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def call_received(self, call: DeviceCall) -> None:  # never for the caller
        pass

    def call_ringing(self, call: DeviceCall) -> None:
        self.device.tone("ringing")

    def call_connected(self, call: DeviceCall) -> None:
        self.device.tone("connected")
        self.device.set_led("green")

    def call_ended(self, call: DeviceCall) -> None:
        self.device.set_led("off")
        if call.was_connected or call.end_reason == "cancelled" or call.ended_by == self.device.name:
            self.device.say("Call ended")
        else:  # rejected, no answer, offline, busy, unknown, workflow unreachable
            self.device.say(not_available(call.callee_label))

    def call_released(self, call: DeviceCall, device: Device, reason: str, by: str | None) -> None:
        pass  # only group-call members are released


class BuiltinCallee:
    """The callee's side: ringer, vibration, green LED, "Call from Alice"; missed calls get reminders."""

    def __init__(self, device: Device, reminders: MissedCalls) -> None:
        self.device = device
        self.reminders = reminders

    def call_received(self, call: DeviceCall) -> None:
        self.device.set_led("green")
        self.device.tone("ringer")
        self.device.vibrate(RINGER_PATTERN)
        self.device.say(f"Call from {call.caller.name}")

    def call_ringing(self, call: DeviceCall) -> None:  # never for the callee
        pass

    def call_connected(self, call: DeviceCall) -> None:
        self.device.tone("connected")

    def call_ended(self, call: DeviceCall) -> None:
        self.device.set_led("off")
        if call.was_connected:
            self.device.say("Call ended")
        elif call.end_reason == "rejected" and call.ended_by == self.device.name:
            self.device.say(f"Call from {call.caller.name} ignored")
        elif call.missed:
            self.reminders.add(self.device, call.caller.name, call.start_time)

    def call_released(self, call: DeviceCall, device: Device, reason: str, by: str | None) -> None:
        """A group call stops ringing this member."""
        self.device.set_led("off")
        if reason == "answered_elsewhere":
            self.device.say(f"Call from {call.caller.name} answered elsewhere")
        elif reason == "rejected" and by == self.device.name:
            self.device.say(f"Call from {call.caller.name} ignored")
        elif reason in ("cancelled", "no_answer"):
            self.reminders.add(self.device, call.caller.name, call.start_time)


@dataclass
class _Missed:
    caller: str
    at: float  # platform seconds when the call came in


TIMER_SLACK = 1.0  # seconds: a timer may fire a moment early on the platform clock (59.99 s is "1 minute")


class MissedCalls:
    """Per device: missed calls and the reminder that repeats until a Talk tap clears them."""

    def __init__(self, clock: Clock, every: float = REMINDER_SECONDS) -> None:
        self.clock = clock
        self.every = every
        self._missed: dict[str, list[_Missed]] = {}
        self._timers: dict[str, Timer] = {}

    def pending(self, device: Device) -> bool:
        return bool(self._missed.get(device.name))

    def add(self, device: Device, caller: str, at: float) -> None:
        self._missed.setdefault(device.name, []).append(_Missed(caller, at))
        self._remind(device)

    def clear(self, device: Device) -> bool:
        """A Talk tap acknowledges every missed call; True when there was something to clear."""
        timer = self._timers.pop(device.name, None)
        if timer is not None:
            timer.cancel()
        return bool(self._missed.pop(device.name, None))

    def forget(self, device: Device) -> None:
        self.clear(device)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _remind(self, device: Device) -> None:
        old = self._timers.pop(device.name, None)
        if old is not None:
            old.cancel()
        missed = self._missed.get(device.name)
        if not missed:
            return
        now = self.clock.now()
        for m in missed:
            minutes = int((now - m.at + TIMER_SLACK) // 60)  # a reminder due at a whole minute says it
            unit = "minute" if minutes == 1 else "minutes"
            device.say(f"You missed a call from {m.caller} {minutes} {unit} ago. Tap the Talk button to clear.")
        self._timers[device.name] = self.clock.call_later(self.every, lambda: self._remind(device))
