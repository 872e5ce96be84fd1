"""Device-to-device calls and the built-in calling experience, on a ManualClock, without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.devices.calls import CallState
from relaybox.devices.hub import DeviceError, DeviceHub
from relaybox.devices.model import Device
from relaybox.devices.registry import Registry
from relaybox.devices.session import WorkflowLink, WorkflowSession


async def unreachable(uri: str, session: WorkflowSession) -> WorkflowLink | None:
    return None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hub(clock: ManualClock) -> DeviceHub:
    h = DeviceHub(clock, Registry(), unreachable)
    h.create("Alice", "990007560011111")
    h.create("Bob", "990007560023456")
    return h


def said(device: Device) -> list[str]:
    return [e["said"] for e in device.transcript if "said" in e]


def entries(device: Device, key: str) -> list[Any]:
    return [e[key] for e in device.transcript if key in e]


def press(hub: DeviceHub, name: str, **action: Any) -> None:
    device = hub.find(name)
    assert device is not None
    hub.act(device, action)


async def test_call_bob_rings_bob_and_talk_tap_answers(hub: DeviceHub, clock: ManualClock) -> None:
    alice, bob = hub.devices["Alice"], hub.devices["Bob"]
    press(hub, "Alice", speak="call Bob")
    assert said(alice) == ["Calling Bob"]
    assert entries(alice, "tone")[:2] == ["confirm", "ringing"]
    assert alice.led == "green" and bob.led == "green"
    assert said(bob) == ["Call from Alice"]
    assert "ringer" in entries(bob, "tone") and entries(bob, "vibrate")
    assert alice.call_id == bob.call_id is not None
    call = hub.calls.get(bob.call_id or "")
    assert call is not None and call.state is CallState.RINGING

    await clock.advance(5)
    press(hub, "Bob", button="talk", taps=1)
    assert call.state is CallState.CONNECTED
    assert alice.to_json()["in_call"] and bob.to_json()["in_call"]
    await clock.advance(3600)  # no time limit on calls
    assert call.state is CallState.CONNECTED

    press(hub, "Bob", button="assistant", taps=2)
    assert call.state is CallState.ENDED and call.end_reason == "hangup"
    assert said(alice)[-1] == "Call ended" and said(bob)[-1] == "Call ended"
    assert alice.led == "off" and bob.led == "off"
    assert alice.call_id is None and bob.call_id is None


async def test_caller_can_hang_up_a_connected_call(hub: DeviceHub) -> None:
    press(hub, "Alice", speak="Call bob")  # names are matched without regard to case
    press(hub, "Bob", button="talk", taps=1)
    press(hub, "Alice", button="assistant", taps=2)
    assert said(hub.devices["Alice"])[-1] == "Call ended"
    assert said(hub.devices["Bob"])[-1] == "Call ended"


@pytest.mark.parametrize("button", ["talk", "assistant"])
async def test_reject_while_ringing(hub: DeviceHub, button: str) -> None:
    press(hub, "Alice", speak="call Bob")
    press(hub, "Bob", button=button, taps=2)
    assert said(hub.devices["Bob"])[-1] == "Call from Alice ignored"
    assert said(hub.devices["Alice"])[-1] == "Bob is not available"
    assert hub.devices["Alice"].call_id is None and hub.devices["Bob"].call_id is None
    assert not hub.missed.pending(hub.devices["Bob"])


async def test_missed_call_reminder_repeats_every_30_s_until_talk_tap(hub: DeviceHub, clock: ManualClock) -> None:
    bob = hub.devices["Bob"]
    press(hub, "Alice", speak="call Bob")
    await clock.advance(70)  # Alice gives up after 70 s... but the ring times out at 60 s first
    reminder = "You missed a call from Alice 1 minute ago. Tap the Talk button to clear."
    assert said(bob) == ["Call from Alice", reminder]
    assert said(hub.devices["Alice"])[-1] == "Bob is not available"
    await clock.advance(20)  # t=90: the second reminder
    assert said(bob).count(reminder) == 2
    await clock.advance(60)  # t=150: two more, now 2 minutes after the call came in
    assert said(bob)[-1].startswith("You missed a call from Alice 2 minutes ago")
    assert len(said(bob)) == 5
    press(hub, "Bob", button="talk", taps=1)
    await clock.advance(300)
    assert len(said(bob)) == 5


async def test_caller_hanging_up_leaves_a_missed_call_at_once(hub: DeviceHub, clock: ManualClock) -> None:
    bob = hub.devices["Bob"]
    press(hub, "Alice", speak="call Bob")
    await clock.advance(10)
    press(hub, "Alice", button="assistant", taps=2)
    assert said(hub.devices["Alice"])[-1] == "Call ended"
    assert said(bob)[-1] == "You missed a call from Alice 0 minutes ago. Tap the Talk button to clear."
    await clock.advance(29)
    assert len(said(bob)) == 2
    await clock.advance(1)
    assert len(said(bob)) == 3


async def test_ring_times_out_after_60_s(hub: DeviceHub, clock: ManualClock) -> None:
    press(hub, "Alice", speak="call Bob")
    await clock.advance(59.5)
    assert hub.devices["Bob"].call_id is not None
    await clock.advance(1)
    assert hub.devices["Bob"].call_id is None and hub.devices["Alice"].call_id is None


@pytest.mark.parametrize("setup", ["unknown", "offline", "busy"])
async def test_callee_not_available(hub: DeviceHub, setup: str) -> None:
    hub.create("Carol")
    if setup == "offline":
        press(hub, "Bob", go_offline=True)
    if setup == "busy":
        press(hub, "Bob", speak="call Carol")
    target = "Zed" if setup == "unknown" else "Bob"
    press(hub, "Alice", speak=f"call {target}")
    assert said(hub.devices["Alice"])[-1] == f"{target} is not available"
    assert hub.devices["Alice"].call_id is None and hub.devices["Alice"].led == "off"


async def test_unreachable_inbound_workflow_makes_callee_not_available(hub: DeviceHub) -> None:
    hub.registry.add({
        "name": "auto", "install": ["990007560023456"],
        "config": {"trigger": {"start": {"workflow": {"uri": "ws://127.0.0.1:9/x"}}, "on_incoming_call": ".*"}},
    })
    press(hub, "Alice", speak="call Bob")
    await hub.idle()
    assert said(hub.devices["Alice"])[-1] == "Bob is not available"
    assert said(hub.devices["Bob"]) == []  # the workflow, not the built-in experience, owned Bob's side


async def test_going_offline_ends_a_connected_call(hub: DeviceHub) -> None:
    press(hub, "Alice", speak="call Bob")
    press(hub, "Bob", button="talk", taps=1)
    press(hub, "Bob", go_offline=True)
    assert said(hub.devices["Alice"])[-1] == "Call ended"
    with pytest.raises(DeviceError):
        press(hub, "Bob", button="talk", taps=1)


async def test_assistant_tap_announces_name_and_channel(hub: DeviceHub) -> None:
    press(hub, "Alice", button="assistant", taps=1)
    assert said(hub.devices["Alice"]) == ["Alice, Assistant channel"]


@pytest.mark.parametrize(
    "action",
    [{}, {"button": "side"}, {"button": "talk", "taps": 4}, {"button": "assistant", "hold": 2},
     {"speak": ""}, {"button": "talk", "taps": True}, {"button": "talk", "hold": -1}],
)
async def test_bad_actions_are_refused(hub: DeviceHub, action: dict[str, Any]) -> None:
    with pytest.raises(DeviceError):
        hub.act(hub.devices["Alice"], action)


async def test_device_names_and_ids_are_unique(hub: DeviceHub) -> None:
    with pytest.raises(DeviceError) as exc:
        hub.create("bob")
    assert exc.value.status == 409
    with pytest.raises(DeviceError):
        hub.create("Dan", "990007560023456")
    with pytest.raises(DeviceError):
        hub.create("a:b")
