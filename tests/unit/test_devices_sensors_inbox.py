"""Sensor triggers (device events, battery, geofence, position, NFC), incidents, SMS and inboxes, interaction
options, listen phrases and group-call members with their own call workflows, without sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.devices.hub import DeviceError, DeviceHub, match_phrase
from relaybox.devices.registry import RegistrationError, Registry, parse_record
from relaybox.devices.session import HOME_CHANNEL_SECONDS, WorkflowSession
from relaybox.protocol import workflow as wire

ALICE, BOB, CAROL = (wire.device_name_urn(n) for n in ("Alice", "Bob", "Carol"))
DESK = "urn:relay-resource:name:group:Front%20Desk"


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    def send(self, msg: dict[str, Any], is_response: bool) -> None:
        assert not self.closed
        self.sent.append(msg)

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[dict[str, Any]]:
        out, self.sent = self.sent, []
        return out


class Connector:
    def __init__(self) -> None:
        self.links: list[tuple[WorkflowSession, FakeLink]] = []
        self.refuse: set[str] = set()

    async def __call__(self, uri: str, session: WorkflowSession) -> FakeLink | None:
        if uri in self.refuse:
            return None
        link = FakeLink()
        self.links.append((session, link))
        return link


def rec(name: str, trigger: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "config": {"trigger": {"start": {"workflow": {"uri": "ws://x/" + name}},
                                                                 **trigger}}}
    out.update(extra or {"install_rule": wire.ALL_DEVICES})
    return out


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def conn() -> Connector:
    return Connector()


@pytest.fixture
def hub(clock: ManualClock, conn: Connector) -> DeviceHub:
    h = DeviceHub(clock, Registry(), conn)
    for name, did in (("Alice", "990007560011111"), ("Bob", "990007560023456"), ("Carol", "990007560034567")):
        h.create(name, did)
    return h


def session_on(hub: DeviceHub, name: str = "Alice") -> tuple[WorkflowSession, FakeLink]:
    reg = hub.registry.add(rec("wf", {"on_phrases": ["go"]}))
    session = WorkflowSession(hub, reg, hub.devices[name])
    link = FakeLink()
    session.attach(link)
    hub.sessions.add(session)
    return session, link


def send(session: WorkflowSession, kind: str, rid: str, **body: Any) -> None:
    session.handle_frame(json.dumps({"_type": f"wf_api_{kind}_request", "_id": rid, **body}))


def target(*uris: str) -> dict[str, Any]:
    return {"_target": {"uris": list(uris)}}


def said(hub: DeviceHub, name: str) -> list[str]:
    return [e["said"] for e in hub.devices[name].transcript if "said" in e]


def starts(conn: Connector) -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow, device, trigger) of every instance started so far."""
    out = []
    for session, link in conn.links:
        start = next(m for m in link.sent if m["_type"] == "wf_api_start_event")
        out.append((session.registration.name, session.device.name, start["trigger"]))
    return out


# -- sensor triggers -----------------------------------------------------------------------------------


def test_sensor_registrations_are_validated() -> None:
    good: list[dict[str, Any]] = [
            {"on_device_event": "emergency"}, {"on_battery_charge": 80}, {"on_battery_discharge": 25.5},
            {"on_geofence": {"geofence_id": "G1", "transition": "entry"}},
            {"on_position": {"venue_id": "V", "position_id": "P", "transition": "exit"}},
            {"on_nfc": {"type": "custom", "category": "room", "label": "12"}}]
    for trigger in good:
        assert parse_record(rec("ok", trigger)).value == next(iter(trigger.values()))
    bad: list[dict[str, Any]] = [
           {"on_device_event": ""}, {"on_device_event": 3}, {"on_battery_charge": 101}, {"on_battery_discharge": True},
           {"on_geofence": {"geofence_id": "G1"}}, {"on_geofence": {"geofence_id": "G1", "transition": "in"}},
           {"on_position": {"venue_id": "V", "transition": "entry"}}, {"on_nfc": {"label": "x"}},
           {"on_nfc": {"type": "custom", "label": 5}}]
    for trigger in bad:
        with pytest.raises(RegistrationError):
            parse_record(rec("bad", trigger))


async def test_device_event_and_battery_triggers(hub: DeviceHub, conn: Connector) -> None:
    hub.registry.add(rec("sos", {"on_device_event": "emergency"}))
    hub.registry.add(rec("low", {"on_battery_discharge": 20}, install=["Bob"]))
    hub.registry.add(rec("full", {"on_battery_charge": 90}, install=["Bob"]))
    alice, bob = hub.devices["Alice"], hub.devices["Bob"]
    hub.act(alice, {"device_event": "emergency"})
    await hub.idle()
    sos = {"type": "emergency", "args": {"event": "emergency", "source_uri": ALICE}}
    assert starts(conn) == [("sos", "Alice", sos)]
    assert alice.mode == "emergency_sos" and alice.transcript[-1]["tone"] == "emergency"
    hub.act(alice, {"device_event": "fall_detected"})  # no registration for it
    hub.act(bob, {"battery": 50})  # 100 -> 50: no threshold crossed
    hub.act(bob, {"battery": 20})  # 50 -> 20 discharging: crosses 20
    hub.act(bob, {"battery": 15})  # already below
    hub.act(alice, {"battery": 10})  # not installed on Alice
    await hub.idle()
    assert starts(conn)[1:] == [("low", "Bob", {"type": "other", "args": {
        "battery": 20, "battery_status": "discharging", "source_uri": BOB}})]
    hub.act(bob, {"battery": 95, "charging": True})
    await hub.idle()
    assert starts(conn)[2][:2] == ("full", "Bob")
    assert starts(conn)[2][2]["args"]["battery_status"] == "charging"
    assert bob.to_json()["battery"] == 95 and bob.to_json()["charging"] is True
    wrong: list[dict[str, Any]] = [{"battery": 101}, {"battery": "50"}, {"battery": 50, "charging": "yes"},
                                   {"device_event": ""}, {"battery": 50, "nfc": "x"},
                                   {"device_event": "emergency", "taps": 1}]
    for action in wrong:
        with pytest.raises(DeviceError):
            hub.act(bob, action)


async def test_geofence_position_and_nfc_triggers(hub: DeviceHub, conn: Connector) -> None:
    hub.registry.add(rec("in", {"on_geofence": {"geofence_id": "yard", "transition": "entry"}}))
    hub.registry.add(rec("out", {"on_geofence": {"geofence_id": "yard", "transition": "exit"}}))
    hub.registry.add(rec("room", {"on_position": {"venue_id": "hq", "position_id": "r12", "transition": "exit"}}))
    hub.registry.add(rec("tag", {"on_nfc": {"type": "custom", "category": "room"}}))
    bob = hub.devices["Bob"]
    hub.act(bob, {"geofence": "yard", "transition": "entry"})
    hub.act(bob, {"geofence": "yard", "transition": "entry"})  # already inside: no crossing
    hub.act(bob, {"geofence": "yard", "transition": "exit"})
    await hub.idle()
    assert starts(conn) == [
        ("in", "Bob", {"type": "geofence", "args": {"geofence_id": "yard", "transition": "entry", "source_uri": BOB}}),
        ("out", "Bob", {"type": "geofence", "args": {"geofence_id": "yard", "transition": "exit", "source_uri": BOB}})]
    hub.act(bob, {"position": {"venue_id": "hq", "position_id": "r12"}})  # entry: nobody registered
    hub.act(bob, {"position": {"venue_id": "hq", "position_id": "r14"}})  # exit r12, entry r14
    await hub.idle()
    assert starts(conn)[2:] == [("room", "Bob", {"type": "other", "args": {
        "venue_id": "hq", "position_id": "r12", "transition": "exit", "source_uri": BOB}})]
    hub.act(bob, {"nfc": "Lobby"})  # a custom tag without a category: no match
    hub.act(bob, {"nfc": {"uid": "04A2", "type": "custom", "category": "room", "label": "12"}})
    await hub.idle()
    assert starts(conn)[3:] == [("tag", "Bob", {"type": "nfc", "args": {
        "uid": "04A2", "nfc_payload": {"type": "custom", "category": "room", "label": "12"}, "source_uri": BOB}})]
    assert bob.to_json()["position"] == {"venue_id": "hq", "position_id": "r14"}
    wrong: list[dict[str, Any]] = [{"geofence": "yard"}, {"geofence": "yard", "transition": "inside"},
                                   {"position": {"venue_id": "x"}}, {"nfc": {}}, {"nfc": {"label": 3}}]
    for action in wrong:
        with pytest.raises(DeviceError):
            hub.act(bob, action)


async def test_incidents_resolved_or_cancelled_from_the_device(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "create_incident", "c1", type="sos", originator_uri=BOB)
    (created,) = link.take()
    iid = created["incident_id"]
    hub.act(hub.devices["Bob"], {"cancel_incident": True})
    assert link.take() == [{"_type": "wf_api_incident_event", "type": "cancelled", "incident_id": iid,
                            "reason": "cancelled on Bob"}]
    send(session, "resolve_incident", "r1", incident_id=iid, reason="done")  # already closed
    assert link.take() == [{"_type": "wf_api_error_response", "_id": "r1", "error": "unknown_incident"}]
    send(session, "create_incident", "c2", type="sos", originator_uri=ALICE)
    iid2 = link.take()[0]["incident_id"]
    send(session, "resolve_incident", "r2", incident_id=iid2, reason="all good")
    assert link.take() == [{"_type": "wf_api_resolve_incident_response", "_id": "r2"},
                           {"_type": "wf_api_incident_event", "type": "resolved", "incident_id": iid2,
                            "reason": "all good"}]
    send(session, "create_incident", "c3", originator_uri=ALICE)
    assert link.take() == [{"_type": "wf_api_error_response", "_id": "c3", "error": "missing_type"}]


# -- SMS and inboxes -----------------------------------------------------------------------------------


async def test_sms_to_devices_inbox_count_and_play(hub: DeviceHub, clock: ManualClock) -> None:
    session, link = session_on(hub)
    hub.act(hub.devices["Carol"], {"go_offline": True})
    send(session, "sms", "s1", type="sms", text="Truck at dock 4", uri=BOB)
    msgs = link.take()
    mid = msgs[0]["message_id"]
    assert msgs == [{"_type": "wf_api_sms_response", "_id": "s1", "message_id": mid},
                    {"_type": "wf_api_sms_event", "id": mid, "event": "sent"},
                    {"_type": "wf_api_sms_event", "id": mid, "event": "delivered"}]
    assert {"message": {"id": mid, "from": "Alice", "text": "Truck at dock 4"}} in [
        {k: v for k, v in e.items() if k != "t"} for e in hub.devices["Bob"].transcript]
    send(session, "sms", "s2", text="Second", uri=BOB)
    send(session, "sms", "s3", text="Lost", uri=CAROL)  # offline
    assert [m.get("event") for m in link.take()] == [None, "sent", "delivered", None, "sent", "failed"]
    send(session, "inbox_count", "n1", **target(BOB))
    send(session, "inbox_count", "n2", **target(CAROL))
    assert [m["count"] for m in link.take()] == ["2", "0"]
    send(session, "play_inbox_messages", "p1", **target(BOB))
    assert link.take() == [{"_type": "wf_api_play_inbox_messages_response", "_id": "p1"},
                           {"_type": "wf_api_play_inbox_message_event", "action": "started"}]
    assert said(hub, "Bob")[-2:] == ["Message from Alice: Truck at dock 4", "Message from Alice: Second"]
    await clock.advance(5)
    assert link.take() == [{"_type": "wf_api_play_inbox_message_event", "action": "stopped"}]
    send(session, "inbox_count", "n3", **target(BOB))
    assert link.take()[0]["count"] == "0"
    send(session, "sms", "s4", text="x", uri="+15551234567")
    send(session, "sms", "s5", uri=BOB)
    assert [m["error"] for m in link.take()] == ["invalid_uri", "missing_text_or_uri"]


async def test_sms_received_by_the_instance_on_the_device(hub: DeviceHub) -> None:
    sender, out = session_on(hub)
    reg = hub.registry.add(rec("other", {"on_phrases": ["x"]}))
    receiver = WorkflowSession(hub, reg, hub.devices["Bob"])
    got = FakeLink()
    receiver.attach(got)
    hub.sessions.add(receiver)
    send(receiver, "start_interaction", "i1", name="desk", **target(BOB))
    got.take()
    send(sender, "sms", "s1", text="hi", uri=BOB)
    mid = out.take()[0]["message_id"]
    assert got.take() == [{"_type": "wf_api_sms_event", "id": mid, "event": "received"}]


# -- interaction options, listen phrases ---------------------------------------------------------------


async def test_interaction_colour_input_types_and_home_channel(hub: DeviceHub, clock: ManualClock) -> None:
    session, link = session_on(hub)
    alice = hub.devices["Alice"]
    send(session, "start_interaction", "i1", name="pick", options={
        "color": "FF00aa", "input_types": ["action_button_double_tap", "channel_button_triple_tap"],
        "home_channel": "normal"}, **target(ALICE))
    link.take()
    ix = wire.interaction_urn("pick", "Alice")
    assert alice.led == "ff00aa"
    hub.act(alice, {"button": "talk", "taps": 1})  # not an input type: the workflow does not get it
    hub.act(alice, {"button": "talk", "taps": 2})
    hub.act(alice, {"button": "assistant", "taps": 2})  # channel double tap: not listed
    hub.act(alice, {"button": "assistant", "taps": 3})
    hub.act(alice, {"button": "talk", "hold": 2})
    assert link.take() == [{"_type": "wf_api_button_event", "button": "action", "taps": "double", "source_uri": ix},
                           {"_type": "wf_api_button_event", "button": "channel", "taps": "triple", "source_uri": ix}]
    await clock.advance(HOME_CHANNEL_SECONDS - 1)
    hub.act(alice, {"button": "talk", "taps": 2})  # user input: the idle time starts again
    await clock.advance(HOME_CHANNEL_SECONDS - 1)
    assert alice.channel == "pick"
    link.take()
    await clock.advance(1.5)
    assert alice.channel == "Assistant" and alice.led == "off"  # home: suspended, the colour goes
    assert link.take() == [{"_type": "wf_api_interaction_lifecycle_event", "type": "suspended", "source_uri": ix,
                            "reason": None}]
    hub.act(alice, {"button": "talk", "taps": 2})
    assert link.take() == []
    hub.act(alice, {"channel": "pick"})
    assert alice.led == "ff00aa"
    assert link.take()[0]["type"] == "resumed"
    send(session, "end_interaction", "e1", **target(ix))
    assert alice.led == "off"


async def test_home_channel_suspend_and_disabled(hub: DeviceHub, clock: ManualClock) -> None:
    session, link = session_on(hub)
    send(session, "start_interaction", "i1", name="a", options={"home_channel": "suspend"}, **target(ALICE))
    send(session, "start_interaction", "i2", name="b", options={"home_channel": "normal"}, **target(BOB))
    send(session, "set_home_channel_state", "h1", enabled=False, **target(BOB))
    await clock.advance(HOME_CHANNEL_SECONDS * 3)
    assert hub.devices["Alice"].channel == "a" and hub.devices["Bob"].channel == "b"
    link.take()
    for rid, options in (("x1", "blue"), ("x2", {"color": "blue"}), ("x3", {"input_types": ["talk"]}),
                         ("x4", {"home_channel": "away"})):
        send(session, "start_interaction", rid, name="z", options=options, **target(CAROL))
    send(session, "set_home_channel_state", "h2", enabled="no", **target(BOB))
    assert [m["error"] for m in link.take()] == ["invalid_options", "invalid_color", "invalid_input_types",
                                                 "invalid_home_channel", "invalid_enabled"]


def test_match_phrase() -> None:
    assert match_phrase("Yes please!", ["yes", "no"]) == "yes"
    assert match_phrase("I said NO.", ["yes", "no"]) == "no"
    assert match_phrase("not now", ["no"]) == "not now"  # whole words only; unmatched: the transcription
    assert match_phrase("call the front desk now", ["front", "front desk"]) == "front desk"  # the longest
    assert match_phrase("anything", []) == "anything"


async def test_listen_phrases_and_language(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "start_interaction", "i1", name="q", **target(ALICE))
    ix = wire.interaction_urn("q", "Alice")
    send(session, "listen", "l1", phrases=["yes", "no"], transcribe=True, timeout=10, **target(ix))
    link.take()
    hub.act(hub.devices["Alice"], {"speak": "Oh yes, sure", "lang": "en-GB"})
    assert link.take() == [{"_type": "wf_api_speech_event", "request_id": "l1", "text": "yes", "audio": "",
                            "lang": "en-GB", "source_uri": ix}]
    send(session, "listen", "l2", phrases="bad", timeout=True, **target(ix))
    send(session, "listen", "l3", phrases=[1], **target(ix))
    assert [m["error"] for m in link.take()] == ["invalid_timeout", "invalid_phrases"]
    with pytest.raises(DeviceError):
        hub.act(hub.devices["Alice"], {"speak": "hi", "lang": "english please"})


async def test_listen_without_transcription_sends_audio(hub: DeviceHub) -> None:
    hub.voice = lambda text, lang: f"WAV({text}|{lang})"
    session, link = session_on(hub)
    send(session, "start_interaction", "i1", name="q", **target(ALICE))
    ix = wire.interaction_urn("q", "Alice")
    send(session, "listen", "l1", phrases=[], transcribe=False, timeout=10, **target(ix))
    link.take()
    hub.act(hub.devices["Alice"], {"speak": "dock four", "lang": "de-DE"})
    await hub.idle()
    assert link.take() == [{"_type": "wf_api_speech_event", "request_id": "l1", "text": "",
                            "audio": "WAV(dock four|de-DE)", "lang": "de-DE", "source_uri": ix}]


# -- group calls with members' own call workflows -------------------------------------------------------


async def test_group_call_member_with_its_own_call_workflow(hub: DeviceHub, conn: Connector) -> None:
    hub.groups.create("Front Desk", [hub.devices["Bob"], hub.devices["Carol"]])
    hub.registry.add(rec("bob-answers", {"on_incoming_call": ".*"}, install=["Bob"]))
    hub.act(hub.devices["Alice"], {"speak": "call Front Desk"})
    await hub.idle()
    (bob_wf, link), = conn.links
    msgs = link.take()
    assert msgs[0]["_type"] == "wf_api_start_event" and msgs[0]["trigger"]["args"]["source_uri"] == BOB
    received = msgs[1]
    assert received["_type"] == "wf_api_call_received_event"
    assert (received["direction"], received["device_name"], received["uri"]) == ("inbound", "Alice", ALICE)
    assert said(hub, "Carol") == ["Call from Alice"]  # Carol has no workflow: built-in
    assert "Call from Alice" not in said(hub, "Bob")
    send(bob_wf, "answer", "a1", call_id=received["call_id"], **target(BOB))
    msgs = link.take()
    assert msgs[0] == {"_type": "wf_api_answer_response", "_id": "a1", "call_id": received["call_id"]}
    assert msgs[1]["_type"] == "wf_api_call_connected_event" and msgs[1]["direction"] == "inbound"
    assert said(hub, "Carol")[-1] == "Call from Alice answered elsewhere"
    assert hub.devices["Bob"].call_id == received["call_id"]
    hub.act(hub.devices["Alice"], {"button": "assistant", "taps": 2})
    assert link.take()[0]["_type"] == "wf_api_call_disconnected_event"


async def test_group_call_member_workflow_declines_or_is_unreachable(hub: DeviceHub, conn: Connector) -> None:
    hub.groups.create("Front Desk", [hub.devices["Bob"], hub.devices["Carol"]])
    hub.registry.add(rec("bob", {"on_incoming_call": ".*"}, install=["Bob"]))
    hub.registry.add(rec("carol", {"on_incoming_call": ".*"}, install=["Carol"]))
    conn.refuse.add("ws://x/carol")  # Carol's workflow is down: she does not ring
    hub.act(hub.devices["Alice"], {"speak": "call Front Desk"})
    await hub.idle()
    (bob_wf, link), = conn.links
    call_id = link.take()[1]["call_id"]
    assert hub.devices["Carol"].call_id is None
    send(bob_wf, "hangup", "h1", call_id=call_id, **target(BOB))  # the only member declines
    msgs = link.take()
    assert msgs[0]["_type"] == "wf_api_hangup_response"
    assert msgs[1]["_type"] == "wf_api_call_failed_event" and msgs[1]["reason"] == "rejected"
    assert said(hub, "Alice")[-1] == "Front Desk is not available"
    conn.refuse.add("ws://x/bob")
    hub.act(hub.devices["Alice"], {"speak": "call Front Desk"})
    await hub.idle()
    assert said(hub, "Alice")[-2:] == ["Calling Front Desk", "Front Desk is not available"]
    assert hub.devices["Alice"].call_id is None and len(hub.sessions) == 1  # the first call's instance runs on
