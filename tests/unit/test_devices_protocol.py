"""The workflow protocol without sockets: the codec, and a WorkflowSession fed frames by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relaybox.clock import ManualClock
from relaybox.devices.hub import DeviceHub
from relaybox.devices.registry import Registry
from relaybox.devices.session import WorkflowSession
from relaybox.protocol import workflow as wire

ALICE_URN = "urn:relay-resource:name:device:Alice"
IX = "urn:relay-resource:name:interaction:hello%20interaction?device=urn%3Arelay-resource%3Aname%3Adevice%3AAlice"


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], bool]] = []
        self.closed = False

    def send(self, msg: dict[str, Any], is_response: bool) -> None:
        assert not self.closed, "nothing may be sent after close"
        self.sent.append((msg, is_response))

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[dict[str, Any]]:
        out = [m for m, _ in self.sent]
        self.sent.clear()
        return out


def test_urns() -> None:
    assert wire.interaction_urn("hello interaction", "Alice") == IX
    urn = wire.parse_urn(IX)
    assert urn is not None and urn.resource == "interaction" and urn.value == "hello interaction"
    assert urn.device == wire.Urn("name", "device", "Alice")
    assert wire.parse_urn("urn:relay-resource:name:device:Bob%20Smith") == wire.Urn("name", "device", "Bob Smith")
    assert wire.parse_urn(wire.ALL_DEVICES) == wire.Urn("all", "device", "")
    for bad in ("Bob", "urn:relay-resource:name:device:", "urn:relay-resource:nick:device:Bob",
                "urn:relay-resource:name:planet:Mars", "urn:other:name:device:Bob"):
        assert wire.parse_urn(bad) is None, bad


def test_decode_request() -> None:
    req = wire.decode_request('{"_type": "wf_api_say_request", "_id": "abc", "_target": {"uris": ["u"]}}')
    assert (req.name, req.id, req.targets) == ("say", "abc", ["u"])
    assert wire.decode_request('{"_type": "wf_api_say_request", "_id": "a", "_target": "u"}').targets == ["u"]
    assert wire.decode_request('{"_type": "wf_api_terminate_request"}').name == "terminate"
    for frame, reason, rid in [
        ("nope", "malformed_json", None),
        ('{"_id": "x"}', "missing_type", "x"),
        ('{"_type": "bogus", "_id": "x"}', "unknown_request_type", "x"),
        ('{"_type": "wf_api_say_request"}', "missing_id", None),
    ]:
        with pytest.raises(wire.ProtocolError) as exc:
            wire.decode_request(frame)
        assert (exc.value.reason, exc.value.request_id) == (reason, rid)


def test_response_and_event_shapes() -> None:
    req = wire.Request("get_var", "id1", {})
    assert wire.response(req, value="v") == {"_type": "wf_api_get_var_response", "_id": "id1", "value": "v"}
    assert "_id" not in wire.event("timer_fired", name="t")
    assert wire.event("timer_fired", name="t")["name"] == "t"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def setup(clock: ManualClock) -> tuple[DeviceHub, WorkflowSession, FakeLink]:
    registry = Registry()
    reg = registry.add({"name": "hello", "install_rule": wire.ALL_DEVICES, "config": {"trigger": {
        "start": {"workflow": {"uri": "ws://x/hello", "args": {"greeting": "hi", "n": 3, "on": True}}},
        "on_phrases": ["hello"]}}})

    async def no_connect(uri: str, session: WorkflowSession) -> None:
        return None

    hub = DeviceHub(clock, registry, no_connect)
    alice = hub.create("Alice", "990007560011111")
    hub.create("Bob", "990007560023456")
    session = WorkflowSession(hub, reg, alice)
    link = FakeLink()
    session.attach(link)
    hub.sessions.add(session)
    return hub, session, link


def send(session: WorkflowSession, kind: str, rid: str, **body: Any) -> None:
    session.handle_frame(json.dumps({"_type": f"wf_api_{kind}_request", "_id": rid, **body}))


def target(*uris: str) -> dict[str, Any]:
    return {"_target": {"uris": list(uris)}}


async def test_interaction_say_and_ordering(setup: Any, clock: ManualClock) -> None:
    hub, session, link = setup
    session.start({"type": "phrase", "args": {"phrase": "hello", "spillover": "", "source_uri": ALICE_URN}})
    assert link.take() == [{"_type": "wf_api_start_event", "trigger": {
        "type": "phrase", "args": {"phrase": "hello", "spillover": "", "source_uri": ALICE_URN}}}]

    send(session, "start_interaction", "r1", name="hello interaction", **target(ALICE_URN))
    sent = link.sent[:]
    # Go reads `source_uri` from the response
    assert sent[0] == ({"_type": "wf_api_start_interaction_response", "_id": "r1", "source_uri": IX}, True)
    assert [(m["type"], m["source_uri"]) for m, _ in sent[1:]] == [("started", IX), ("resumed", IX)]
    assert all(m["_type"] == "wf_api_interaction_lifecycle_event" and "reason" in m for m, _ in sent[1:])
    assert hub.devices["Alice"].channel == "hello interaction"
    link.take()

    send(session, "say", "r2", text="hello world", lang="en-US", **target(IX))
    msgs = link.take()
    assert msgs[0] == {"_type": "wf_api_say_response", "_id": "r2", "id": "r2"}
    assert msgs[1] == {"_type": "wf_api_prompt_event", "type": "started", "id": "r2", "source_uri": IX}
    assert len(msgs) == 2
    await clock.advance(0.6)
    assert link.take() == [{"_type": "wf_api_prompt_event", "type": "stopped", "id": "r2", "source_uri": IX}]
    assert hub.devices["Alice"].transcript[-1]["said"] == "hello world"

    send(session, "end_interaction", "r3", **target(IX))
    msgs = link.take()
    assert msgs[0]["_type"] == "wf_api_end_interaction_response"
    assert msgs[1]["type"] == "ended"
    assert hub.devices["Alice"].channel == "Assistant"


async def test_errors_keep_the_instance_working(setup: Any) -> None:
    _hub, session, link = setup
    send(session, "frobnicate", "e1")
    send(session, "say", "e2", text="x")  # no target
    send(session, "say", "e3", text="x", **target(ALICE_URN))  # no interaction yet
    send(session, "call", "e4", uri="not-a-urn", **target(ALICE_URN))
    send(session, "call", "e5", **target(ALICE_URN))
    send(session, "answer", "e6", call_id="nope", **target(ALICE_URN))
    send(session, "start_interaction", "e7", name="x", **target("urn:relay-resource:name:device:Zed"))
    session.handle_frame('{"_type": "bogus", "_id": "e8"}')
    session.handle_frame("not json")
    assert [(m["_id"], m["error"]) for m in link.take()] == [
        ("e1", "unknown_request"), ("e2", "missing_target"), ("e3", "no_interaction_on_target"),
        ("e4", "invalid_uri"), ("e5", "missing_uri"), ("e6", "unknown_call"), ("e7", "unknown_device"),
        ("e8", "unknown_request_type"),
    ]
    send(session, "get_var", "v1", name="greeting")
    send(session, "get_var", "v2", name="n")
    send(session, "get_var", "v3", name="on")
    send(session, "get_var", "v4", name="missing")
    send(session, "set_var", "v5", name="k", value="v")
    assert link.take() == [
        {"_type": "wf_api_get_var_response", "_id": "v1", "name": "greeting", "value": "hi"},
        {"_type": "wf_api_get_var_response", "_id": "v2", "name": "n", "value": "3"},
        {"_type": "wf_api_get_var_response", "_id": "v3", "name": "on", "value": "true"},
        {"_type": "wf_api_get_var_response", "_id": "v4"},
        {"_type": "wf_api_set_var_response", "_id": "v5", "name": "k", "value": "v", "type": "string"},
    ]


async def test_place_call_events_and_terminate(setup: Any, clock: ManualClock) -> None:
    hub, session, link = setup
    send(session, "start_interaction", "r1", name="hello interaction", **target(ALICE_URN))
    link.take()
    # the JS SDK's placeCall(target, "urn:...") spreads the string into numbered keys
    spread = dict(enumerate("urn:relay-resource:name:device:Bob"))
    send(session, "call", "c1", **target(IX), **{str(k): v for k, v in spread.items()})
    msgs = link.take()
    assert msgs[0]["_type"] == "wf_api_call_response" and msgs[0]["call_id"].startswith("dc-")
    call_id = msgs[0]["call_id"]
    assert [m["_type"] for m in msgs[1:]] == ["wf_api_call_progressing_event", "wf_api_call_ringing_event"]
    ringing = msgs[2]
    assert ringing == {"_type": "wf_api_call_ringing_event", "call_id": call_id, "direction": "outbound",
                       "device_id": "990007560023456", "device_name": "Bob",
                       "uri": "urn:relay-resource:name:device:Bob", "onnet": True,
                       "start_time_epoch": 1_700_000_000}
    assert hub.devices["Bob"].transcript[-1]["said"] == "Call from Alice"
    await clock.advance(4)
    hub.act(hub.devices["Bob"], {"button": "talk", "taps": 1})
    (connected,) = link.take()
    assert connected["_type"] == "wf_api_call_connected_event" and connected["connect_time_epoch"] == 1_700_000_004
    await clock.advance(10)
    session.handle_frame('{"_type": "wf_api_terminate_request", "_id": "t1"}')
    msgs = link.take()
    # terminating hangs up the instance's call; no response to terminate, no more events: STOP, then close
    assert msgs == [{"_type": "wf_api_stop_event", "reason": "normal"}]
    assert link.closed and session not in hub.sessions
    assert hub.devices["Bob"].transcript[-1]["said"] == "Call ended"
    assert hub.devices["Alice"].call_id is None and hub.devices["Alice"].channel == "Assistant"


async def test_listen_timers_and_connection_loss(setup: Any, clock: ManualClock) -> None:
    hub, session, link = setup
    send(session, "start_interaction", "r1", name="hello interaction", **target(ALICE_URN))
    send(session, "listen", "l1", phrases=[], transcribe=True, timeout=10, **target(IX))
    send(session, "set_timer", "t1", type="interval", name="tick", timeout=2, timeout_type="secs")
    link.take()
    hub.act(hub.devices["Alice"], {"speak": "yes please"})
    assert link.take() == [{"_type": "wf_api_speech_event", "request_id": "l1", "text": "yes please", "audio": "",
                            "lang": "en-US", "source_uri": IX}]
    send(session, "listen", "l2", phrases=[], transcribe=True, timeout=10, **target(IX))
    link.take()
    await clock.advance(10)
    msgs = link.take()
    assert {"_type": "wf_api_timer_fired_event", "name": "tick"} in msgs
    assert sum(m["_type"] == "wf_api_timer_fired_event" for m in msgs) == 5
    assert [m["text"] for m in msgs if m["_type"] == "wf_api_speech_event"] == [""]
    session.connection_lost()
    assert link.take() == [] and link.closed
    await clock.advance(10)
    assert link.sent == []
    assert hub.devices["Alice"].channel == "Assistant" and "Alice" not in hub.focus
