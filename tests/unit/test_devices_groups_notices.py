"""Groups, notifications with acknowledgements, absorb_triggers, timer and HTTP triggers, device persistence:
the hub and a WorkflowSession on a ManualClock, frames fed by hand (no sockets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from relaybox.clock import ManualClock
from relaybox.devices import schedule
from relaybox.devices.hub import DeviceError, DeviceHub
from relaybox.devices.registry import Registration, RegistrationError, Registry, parse_record
from relaybox.devices.session import WorkflowSession
from relaybox.protocol import workflow as wire
from relaybox.storage.db import Store
from relaybox.storage.devices import DeviceStore


def q(urn: str) -> str:
    return quote(urn, safe="")

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
    """Every connection succeeds; the links are kept by session for the test to read."""

    def __init__(self) -> None:
        self.links: list[tuple[WorkflowSession, FakeLink]] = []

    async def __call__(self, uri: str, session: WorkflowSession) -> FakeLink:
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


# -- groups ------------------------------------------------------------------------------------------


async def test_group_targets_and_queries(hub: DeviceHub) -> None:
    hub.groups.create("Front Desk", [hub.devices["Alice"], hub.devices["Bob"]], "g1")
    session, link = session_on(hub)
    send(session, "group_query", "q1", query="list_members", group_uri=DESK)
    send(session, "group_query", "q2", query="is_member", group_uri=DESK + "?device=" + q(BOB))
    send(session, "group_query", "q3", query="is_member", group_uri=DESK + "?device=" + q(CAROL))
    send(session, "group_query", "q4", query="list_members", group_uri="urn:relay-resource:id:group:g1")
    send(session, "group_query", "q5", query="list_members", group_uri="urn:relay-resource:name:group:Nope")
    send(session, "group_query", "q6", query="list_members", group_uri="not a urn")
    assert link.take() == [
        {"_type": "wf_api_group_query_response", "_id": "q1", "member_uris": [ALICE, BOB]},
        {"_type": "wf_api_group_query_response", "_id": "q2", "is_member": True},
        {"_type": "wf_api_group_query_response", "_id": "q3", "is_member": False},
        {"_type": "wf_api_group_query_response", "_id": "q4", "member_uris": [ALICE, BOB]},
        {"_type": "wf_api_error_response", "_id": "q5", "error": "unknown_group"},
        {"_type": "wf_api_error_response", "_id": "q6", "error": "invalid_group_uri"},
    ]
    # a group URN as the target of start_interaction: one interaction per member
    send(session, "start_interaction", "i1", name="desk", **target(DESK))
    msgs = link.take()
    assert msgs[0] == {"_type": "wf_api_start_interaction_response", "_id": "i1",
                       "source_uri": wire.interaction_urn("desk", "Alice")}
    assert [(m["type"], m["source_uri"]) for m in msgs[1:]] == [
        ("started", wire.interaction_urn("desk", "Alice")), ("resumed", wire.interaction_urn("desk", "Alice")),
        ("started", wire.interaction_urn("desk", "Bob")), ("resumed", wire.interaction_urn("desk", "Bob"))]
    assert hub.devices["Bob"].channel == "desk" and hub.devices["Carol"].channel == "Assistant"
    # a member URN targets that member; a non-member is refused
    send(session, "set_channel", "c1", channel_name="x", **target(DESK + "?device=" + q(BOB)))
    send(session, "set_channel", "c2", channel_name="x", **target(DESK + "?device=" + q(BOB)), suppress_tts=True)
    send(session, "set_channel", "c3", channel_name="x", **target(DESK + "?device=" + q(CAROL)))
    msgs = link.take()
    assert [m.get("error") for m in msgs if m["_type"].endswith("_response")] == [None, None, "not_a_group_member"]
    # Bob left the interaction's channel: it is suspended; he heard the new channel once (c2 suppressed it)
    assert [(m["type"], m["source_uri"]) for m in msgs if m["_type"].endswith("_event")] == [
        ("suspended", wire.interaction_urn("desk", "Bob"))]
    assert hub.devices["Bob"].channel == "x" and said(hub, "Bob") == ["x channel"]
    # groups are managed by workflows too
    send(session, "create_group", "g1", name="Night", **target(CAROL))
    send(session, "add_group_members", "g2", group_uri="urn:relay-resource:name:group:Night", **target(ALICE))
    send(session, "remove_group_members", "g3", group_uri="urn:relay-resource:name:group:Night", **target(CAROL))
    send(session, "create_group", "g4", name="Night")
    msgs = link.take()
    assert msgs[0] == {"_type": "wf_api_create_group_response", "_id": "g1",
                       "uri": "urn:relay-resource:name:group:Night"}
    assert msgs[3] == {"_type": "wf_api_error_response", "_id": "g4", "error": "group_exists"}
    night = hub.groups.find("night")
    assert night is not None and [d.name for d in hub.members(night)] == ["Alice"]
    send(session, "delete_group", "g5", uri="urn:relay-resource:name:group:Night")
    assert link.take() == [{"_type": "wf_api_delete_group_response", "_id": "g5"}]
    assert hub.groups.find("Night") is None


async def test_group_install_rule(hub: DeviceHub) -> None:
    hub.groups.create("Front Desk", [hub.devices["Bob"]])
    reg = hub.registry.add(rec("desk", {"on_phrases": ["status"]}, install_rule=DESK))
    assert hub.registry.phrase_workflow(hub.devices["Bob"], "status") is not None
    assert hub.registry.phrase_workflow(hub.devices["Alice"], "status") is None
    assert hub.registry.installed(reg, list(hub.devices.values())) == [hub.devices["Bob"]]
    with pytest.raises(RegistrationError):
        parse_record(rec("bad", {"on_phrases": ["x"]}, install_rule="everything"))


# -- notifications -----------------------------------------------------------------------------------


async def test_broadcast_ack_and_state(hub: DeviceHub, clock: ManualClock) -> None:
    hub.groups.create("Front Desk", [hub.devices["Alice"], hub.devices["Bob"], hub.devices["Carol"]])
    hub.act(hub.devices["Carol"], {"go_offline": True})
    session, link = session_on(hub)
    send(session, "notification", "n1", type="broadcast", name="lunch", text="Lunch is ready", originator=ALICE,
         target={"uris": [DESK]}, push_opts={"priority": "normal", "sound": "default"}, **target(DESK))
    offline_state = {"created": [ALICE, BOB], "acknowledged": [], "cancelled": [], "timed_out": [CAROL]}
    assert link.take() == [{"_type": "wf_api_notification_response", "_id": "n1"},  # Carol is offline: timed out
                           {"_type": "wf_api_notification_event", "event": "timeout_event", "name": "lunch",
                            "notification_state": offline_state, "source_uri": CAROL}]
    assert said(hub, "Alice") == ["Lunch is ready"] and said(hub, "Bob") == ["Lunch is ready"]
    assert said(hub, "Carol") == []
    assert {"notification": "broadcast", "name": "lunch"} in [
        {k: v for k, v in e.items() if k != "t"} for e in hub.devices["Bob"].transcript]
    await clock.advance(60)
    assert said(hub, "Bob") == ["Lunch is ready"]  # a broadcast is not repeated
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    assert link.take() == [{"_type": "wf_api_notification_event", "event": "ack_event", "name": "lunch",
                            "notification_state": {"created": [ALICE, BOB], "acknowledged": [BOB],
                                                   "cancelled": [], "timed_out": [CAROL]},
                            "source_uri": BOB}]
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})  # nothing left to acknowledge
    assert link.take() == []


async def test_alert_repeats_until_acknowledged_or_cancelled(hub: DeviceHub, clock: ManualClock) -> None:
    session, link = session_on(hub)
    send(session, "notification", "n1", type="alert", name="fire", text="Fire in the kitchen", originator=ALICE,
         **target(BOB, CAROL))
    link.take()
    await clock.advance(61)
    assert said(hub, "Bob") == ["Fire in the kitchen"] * 3
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    (ack,) = link.take()
    assert ack["event"] == "ack_event" and ack["source_uri"] == BOB
    send(session, "notification", "n2", type="cancel", name="fire", **target(CAROL))
    assert link.take() == [{"_type": "wf_api_notification_response", "_id": "n2"}]
    await clock.advance(120)
    assert said(hub, "Bob") == ["Fire in the kitchen"] * 3
    assert said(hub, "Carol") == ["Fire in the kitchen"] * 3
    hub.act(hub.devices["Carol"], {"button": "talk", "taps": 1})
    assert link.take() == []  # cancelled: nothing to acknowledge


async def test_unacknowledged_notices_time_out(hub: DeviceHub, clock: ManualClock) -> None:
    session, link = session_on(hub)
    send(session, "notification", "n1", type="alert", name="fire", text="Fire", originator=ALICE, **target(BOB, CAROL))
    link.take()
    await clock.advance(100)
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    assert [m["event"] for m in link.take()] == ["ack_event"]
    await clock.advance(199)  # TIMEOUT_SECONDS (300) after sending
    assert link.take() == []
    assert said(hub, "Carol") == ["Fire"] * 10  # at 0, 30, ... 270 s
    await clock.advance(1.5)
    assert link.take() == [{"_type": "wf_api_notification_event", "event": "timeout_event", "name": "fire",
                            "notification_state": {"created": [BOB, CAROL], "acknowledged": [BOB], "cancelled": [],
                                                   "timed_out": [CAROL]}, "source_uri": CAROL}]
    assert {"notification": "timed_out", "name": "fire"} in [
        {k: v for k, v in e.items() if k != "t"} for e in hub.devices["Carol"].transcript]
    repeats = len(said(hub, "Carol"))
    await clock.advance(120)
    assert len(said(hub, "Carol")) == repeats  # no more repeats
    hub.act(hub.devices["Carol"], {"button": "talk", "taps": 1})
    assert link.take() == []  # nothing left to acknowledge


async def test_notification_bad_input(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "notification", "e1", type="shout", name="x", text="t", **target(BOB))
    send(session, "notification", "e2", type="alert", text="t", **target(BOB))
    send(session, "notification", "e3", type="alert", name="x", **target(BOB))
    send(session, "notification", "e4", type="alert", name="x", text="t")
    send(session, "notification", "e5", type="alert", name="x", text="t", **target("urn:relay-resource:name:group:No"))
    assert [m["error"] for m in link.take()] == [
        "invalid_notification_type", "missing_name", "missing_text", "missing_target", "unknown_group"]
    assert said(hub, "Bob") == []


async def test_notification_ack_comes_before_an_interaction_button(hub: DeviceHub) -> None:
    session, link = session_on(hub, "Bob")
    send(session, "start_interaction", "i1", name="ix", **target(BOB))
    send(session, "notification", "n1", type="notify", name="n", text="Hello Bob", originator=ALICE,
         **target(BOB))
    link.take()
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    assert [m["_type"] for m in link.take()] == ["wf_api_notification_event"]
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    assert [m["_type"] for m in link.take()] == ["wf_api_button_event"]


# -- absorb_triggers ---------------------------------------------------------------------------------


async def test_absorb_triggers_delivers_calls_into_the_running_instance(hub: DeviceHub, conn: Connector) -> None:
    hub.registry.add(rec("dispatch", {"on_incoming_call": ".*"}, install=["Bob"],
                         options={"absorb_triggers": ["on_incoming_call"]}))
    hub.act(hub.devices["Alice"], {"speak": "call Bob"})
    await hub.idle()
    assert len(conn.links) == 1
    session, link = conn.links[0]
    call_id = hub.devices["Bob"].call_id
    assert [m["_type"] for m in link.take()] == ["wf_api_start_event", "wf_api_call_received_event"]
    send(session, "hangup", "h1", call_id=call_id, **target(BOB))
    link.take()
    hub.act(hub.devices["Carol"], {"speak": "call Bob"})
    await hub.idle()
    assert len(conn.links) == 1  # no second instance: the running one got the call
    msgs = link.take()
    assert [m["_type"] for m in msgs] == ["wf_api_call_received_event"]
    assert msgs[0]["device_name"] == "Carol" and msgs[0]["call_id"] == hub.devices["Bob"].call_id


async def test_without_absorb_each_call_starts_an_instance(hub: DeviceHub, conn: Connector) -> None:
    hub.registry.add(rec("dispatch", {"on_incoming_call": ".*"}, install=["Bob"]))
    hub.act(hub.devices["Alice"], {"speak": "call Bob"})
    await hub.idle()
    hub.act(hub.devices["Alice"], {"button": "assistant", "taps": 2})
    hub.act(hub.devices["Carol"], {"speak": "call Bob"})
    await hub.idle()
    assert len(conn.links) == 2


async def test_absorb_call_request(hub: DeviceHub, conn: Connector) -> None:
    hub.registry.add(rec("out", {"on_call_request": ".*"}, install=["Alice"],
                         options={"absorb_triggers": ["on_call_request"]}))
    hub.act(hub.devices["Alice"], {"speak": "call Bob"})
    await hub.idle()
    hub.act(hub.devices["Alice"], {"speak": "call Carol"})
    await hub.idle()
    assert len(conn.links) == 1
    kinds = [(m["_type"], m.get("uri")) for m in conn.links[0][1].take()]
    assert kinds == [("wf_api_start_event", None), ("wf_api_call_start_request_event", BOB),
                     ("wf_api_call_start_request_event", CAROL)]


# -- timer and HTTP triggers -------------------------------------------------------------------------


def test_schedule_occurrences() -> None:
    t0 = datetime(2026, 2, 5, 15, 0, tzinfo=UTC).timestamp()
    once = {"start_time": "2026-02-05T15:00:00", "count": 1}
    assert list(schedule.occurrences(once, t0 - 10)) == [t0]
    assert list(schedule.occurrences(once, t0 + 10)) == []
    rep = {"start_time": "2026-02-05T15:00:00", "frequency": "minutely", "interval": 2, "count": 3}
    assert list(schedule.occurrences(rep, t0 + 1)) == [t0 + 120, t0 + 240]
    daily = {"start_time": "2026-02-05T15:00:00", "frequency": "daily", "until": "2026-02-07T15:00:00"}
    assert list(schedule.occurrences(daily, 0)) == [t0, t0 + 86400, t0 + 2 * 86400]
    # 2026-02-05 is a Thursday (4): Thursdays and Saturdays
    days = {"start_time": "2026-02-05T15:00:00", "frequency": "weekly", "byweekday": [4, 6], "count": 3}
    assert list(schedule.occurrences(days, 0)) == [t0, t0 + 2 * 86400, t0 + 7 * 86400]
    monthly = {"start_time": "2026-01-31T09:00:00", "frequency": "monthly", "count": 2, "timezone": "Europe/Paris"}
    assert [datetime.fromtimestamp(t, UTC).isoformat() for t in schedule.occurrences(monthly, 0)] == [
        "2026-01-31T08:00:00+00:00", "2026-02-28T08:00:00+00:00"]
    for bad, reason in [({"start_time": "tomorrow"}, "ISO"), ({"start_time": "2026-01-01T00:00:00",
                        "frequency": "fortnightly"}, "frequency"), ("now", "object"),
                        ({"start_time": "2026-01-01T00:00:00", "timezone": "Mars/Base"}, "timezone"),
                        ({"start_time": "2026-01-01T00:00:00", "byweekday": [0]}, "byweekday")]:
        with pytest.raises(schedule.ScheduleError, match=reason):
            schedule.validate(bad)


async def test_timer_trigger_starts_an_instance_per_installed_device(hub: DeviceHub, conn: Connector,
                                                                     clock: ManualClock) -> None:
    start = datetime.fromtimestamp(clock.epoch(0) + 90, UTC).replace(tzinfo=None).isoformat()
    reg = hub.registry.add(rec("tick", {"on_timer": {"start_time": start, "frequency": "minutely", "count": 2}},
                               install=["Alice", "Bob"]))
    hub.registered(reg)
    await clock.advance(89)
    await hub.idle()
    assert conn.links == []
    await clock.advance(1)
    await hub.idle()
    assert sorted(s.device.name for s, _ in conn.links) == ["Alice", "Bob"]
    assert conn.links[0][1].sent[0] == {"_type": "wf_api_start_event", "trigger": {
        "type": "calendar", "args": {"source_uri": wire.device_name_urn(conn.links[0][0].device.name)}}}
    await clock.advance(60)
    await hub.idle()
    assert len(conn.links) == 4
    await clock.advance(600)
    await hub.idle()
    assert len(conn.links) == 4  # count 2


async def test_immediate_timer_and_unregister(hub: DeviceHub, conn: Connector, clock: ManualClock) -> None:
    reg = hub.registry.add(rec("now", {"on_timer": {"start_time": "immediately"}}, install=["Carol"]))
    hub.registered(reg)
    await hub.idle()
    assert [s.device.name for s, _ in conn.links] == ["Carol"]
    start = datetime.fromtimestamp(clock.epoch(0) + 30, UTC).replace(tzinfo=None).isoformat()
    later = hub.registry.add(rec("later", {"on_timer": {"start_time": start, "count": 1}}))
    hub.registered(later)
    hub.registry.remove("later")
    hub.unregistered("later")
    await clock.advance(60)
    await hub.idle()
    assert len(conn.links) == 1


async def test_http_trigger(hub: DeviceHub, conn: Connector) -> None:
    reg: Registration = hub.registry.add(rec("hook", {"on_http": "POST"}))
    ids = await hub.http_trigger(reg, [hub.devices["Bob"]], {"ticket": "42"})
    assert ids == [conn.links[0][0].id]
    assert conn.links[0][1].sent[0] == {"_type": "wf_api_start_event", "trigger": {
        "type": "http", "args": {"source_uri": BOB, "args": {"ticket": "42"}}}}


# -- devices survive a restart -----------------------------------------------------------------------


async def test_devices_and_groups_are_stored(tmp_path: Path, clock: ManualClock, conn: Connector) -> None:
    store = Store(tmp_path)
    hub = DeviceHub(clock, Registry(), conn, storage=DeviceStore(store))
    alice = hub.create("Alice", "1")
    bob = hub.create("Bob", "2")
    hub.create("Zed", "3")
    hub.groups.create("Desk", [alice, bob], "g1")
    hub.act(bob, {"go_offline": True})
    hub.rename(alice, "Alicia")
    hub.delete(hub.devices["Zed"])
    store.close()

    store = Store(tmp_path)
    again = DeviceHub(clock, Registry(), conn, storage=DeviceStore(store))
    kept = DeviceStore(store)
    again.load(kept.devices(), kept.groups())
    assert [(d.name, d.id, d.online) for d in again.devices.values()] == [("Alicia", "1", True), ("Bob", "2", False)]
    desk = again.find_group("Desk")
    assert desk is not None and [d.name for d in again.members(desk)] == ["Alicia", "Bob"]
    store.close()


async def test_power_off_and_restart(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "device_power_off", "p1", restart=False, **target(BOB))
    send(session, "device_power_off", "p2", restart=True, **target(CAROL))
    send(session, "set_device_mode", "m1", mode="loud", **target(CAROL))
    assert [m.get("error") for m in link.take()] == [None, None, "invalid_mode"]
    assert not hub.devices["Bob"].online and hub.devices["Carol"].online


# -- group calls -------------------------------------------------------------------------------------


def group_hub(hub: DeviceHub) -> None:
    hub.groups.create("Front Desk", [hub.devices["Bob"], hub.devices["Carol"]])


async def test_group_call_rings_every_member_first_answer_wins(hub: DeviceHub) -> None:
    group_hub(hub)
    hub.act(hub.devices["Alice"], {"speak": "call front desk"})
    assert said(hub, "Alice") == ["Calling Front Desk"]
    assert said(hub, "Bob") == ["Call from Alice"] and said(hub, "Carol") == ["Call from Alice"]
    assert hub.devices["Bob"].led == hub.devices["Carol"].led == "green"
    hub.act(hub.devices["Carol"], {"button": "talk", "taps": 1})
    assert said(hub, "Bob")[-1] == "Call from Alice answered elsewhere"
    assert hub.devices["Bob"].call_id is None and hub.devices["Bob"].led == "off"
    assert hub.devices["Carol"].call_id == hub.devices["Alice"].call_id is not None
    hub.act(hub.devices["Alice"], {"button": "assistant", "taps": 2})
    assert said(hub, "Alice")[-1] == said(hub, "Carol")[-1] == "Call ended"
    assert said(hub, "Bob")[-1] == "Call from Alice answered elsewhere"


async def test_group_call_declines_and_misses(hub: DeviceHub, clock: ManualClock) -> None:
    group_hub(hub)
    hub.act(hub.devices["Alice"], {"speak": "call Front Desk"})
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 2})
    assert said(hub, "Bob")[-1] == "Call from Alice ignored"
    assert hub.devices["Alice"].call_id is not None  # Carol still rings
    hub.act(hub.devices["Carol"], {"button": "assistant", "taps": 2})
    assert said(hub, "Carol")[-1] == "Call from Alice ignored"
    assert said(hub, "Alice")[-1] == "Front Desk is not available"
    # nobody answers: both members get the missed-call reminder
    hub.act(hub.devices["Alice"], {"speak": "call Front Desk"})
    await clock.advance(60)
    reminder = "You missed a call from Alice 1 minute ago. Tap the Talk button to clear."
    assert said(hub, "Bob")[-1] == reminder and said(hub, "Carol")[-1] == reminder
    assert said(hub, "Alice")[-1] == "Front Desk is not available"


async def test_workflow_places_a_group_call(hub: DeviceHub) -> None:
    group_hub(hub)
    session, link = session_on(hub)
    send(session, "call", "c1", uri=DESK, **target(ALICE))
    msgs = link.take()
    assert msgs[0]["_type"] == "wf_api_call_response"
    assert msgs[2]["_type"] == "wf_api_call_ringing_event" and msgs[2]["uri"] == DESK
    assert msgs[2]["device_name"] == "Front Desk"
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    (connected,) = link.take()
    assert connected["_type"] == "wf_api_call_connected_event" and connected["device_name"] == "Bob"
    assert connected["uri"] == BOB
    send(session, "call", "c2", uri="urn:relay-resource:name:group:Nope", **target(CAROL))
    assert link.take() == [{"_type": "wf_api_error_response", "_id": "c2", "error": "unknown_group"}]


async def test_device_info_fields(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "set_device_info", "s1", field="location_enabled", value="true", **target(BOB))
    send(session, "get_device_info", "g1", query="location_enabled", **target(BOB))
    send(session, "get_device_info", "g2", query="latlong", **target(BOB))
    send(session, "set_device_info", "s2", field="channel", value="x", **target(BOB))
    send(session, "set_device_info", "s3", field="label", value="Robert", **target(BOB))
    assert link.take() == [
        {"_type": "wf_api_set_device_info_response", "_id": "s1"},
        {"_type": "wf_api_get_device_info_response", "_id": "g1", "location_enabled": True},
        # never whole numbers: the SDKs would turn an all-integer array into a string
        {"_type": "wf_api_get_device_info_response", "_id": "g2", "latlong": [35.7796, -78.6382]},
        {"_type": "wf_api_error_response", "_id": "s2", "error": "invalid_field"},
        {"_type": "wf_api_set_device_info_response", "_id": "s3"},
    ]
    assert hub.find("Robert") is hub.find_by_id("990007560023456")


async def test_kept_timer_triggers_are_scheduled_at_start(clock: ManualClock, conn: Connector) -> None:
    start = datetime.fromtimestamp(clock.epoch(0) - 30, UTC).replace(tzinfo=None).isoformat()
    registry = Registry(records=[
        rec("every-minute", {"on_timer": {"start_time": start, "frequency": "minutely"}}),
        rec("once-now", {"on_timer": {"start_time": "immediately"}}),
    ])
    hub = DeviceHub(clock, registry, conn)
    hub.create("Alice", "1")
    hub.start()
    await clock.advance(29)
    await hub.idle()
    assert conn.links == []  # `immediately` does not fire again after a restart
    await clock.advance(1)
    await hub.idle()
    assert [s.registration.name for s, _ in conn.links] == ["every-minute"]
    hub.close()
    await clock.advance(120)
    assert len(conn.links) == 1


async def test_leaving_and_coming_back_to_an_interaction_channel(hub: DeviceHub) -> None:
    session, link = session_on(hub)
    send(session, "start_interaction", "i1", name="ix", **target(ALICE))
    link.take()
    ix = wire.interaction_urn("ix", "Alice")
    alice = hub.devices["Alice"]
    hub.act(alice, {"channel": "Kitchen"})
    assert link.take() == [{"_type": "wf_api_interaction_lifecycle_event", "type": "suspended", "source_uri": ix,
                            "reason": None}]
    hub.act(alice, {"button": "talk", "taps": 2})  # not on the interaction channel: no button event
    assert link.take() == []
    hub.act(alice, {"channel": "ix"})
    assert link.take() == [{"_type": "wf_api_interaction_lifecycle_event", "type": "resumed", "source_uri": ix,
                            "reason": None}]
    hub.act(alice, {"button": "talk", "taps": 2})
    assert [m["_type"] for m in link.take()] == ["wf_api_button_event"]
    with pytest.raises(DeviceError):
        hub.act(alice, {"channel": ""})


async def test_a_non_transient_instance_ends_when_its_channel_is_left(hub: DeviceHub) -> None:
    reg = hub.registry.add(rec("fg", {"on_phrases": ["fg"]}, install_rule=wire.ALL_DEVICES,
                               options={"transient": False}))
    session = WorkflowSession(hub, reg, hub.devices["Bob"])
    link = FakeLink()
    session.attach(link)
    hub.sessions.add(session)
    send(session, "start_interaction", "i1", name="fg", **target(BOB))
    link.take()
    hub.act(hub.devices["Bob"], {"channel": "Team"})
    assert link.take() == [{"_type": "wf_api_stop_event", "reason": "normal"}]
    assert link.closed and hub.devices["Bob"].channel == "Team"
