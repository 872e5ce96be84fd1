"""Tasks on the wire: the v4 frame realtime-api reads, and which sessions may be handed a task."""

from __future__ import annotations

from relaybox.gateway.session import Session
from relaybox.protocol import blade, flat
from relaybox.protocol.events import TASK_EVENT, Event


def _session(dialect: object, agent: str = "") -> Session:
    s = Session(
        dialect=dialect,  # type: ignore[arg-type]
        project="p", protocol="signalwire_x_1", sessionid="s", node_id="n", clock_ts=lambda: 1.0,
    )
    s.agent = agent
    return s


def test_flat_task_frame_carries_context_and_message_at_the_outer_level() -> None:
    event = Event(TASK_EVENT, {"context": "office", "message": {"k": [1]}}, context="office")
    frame = flat.event_frame(event, event_id="e-1", timestamp=5.0)
    assert frame["method"] == "signalwire.event" and frame["id"] == "e-1"
    params = frame["params"]
    assert params["event_type"] == "queuing.relay.tasks"  # realtime-api's taskWorker takes this action type
    assert (params["context"], params["message"]) == ("office", {"k": [1]})
    assert params["params"] == {"context": "office", "message": {"k": [1]}}


def test_blade_task_frame_is_unchanged() -> None:
    event = Event(TASK_EVENT, {"context": "office", "message": 1}, context="office")
    frame = blade.event_frame(event, event_id="e", protocol="pr", node_id="n", project_id="p", timestamp=1.0)
    assert frame["params"]["event"] == "queuing.relay.tasks"
    assert frame["params"]["params"]["message"] == 1 and frame["params"]["params"]["context"] == "office"


def test_messaging_events_keep_the_flat_shape() -> None:
    event = Event("messaging.state", {"message_id": "m", "context": "office", "message_state": "sent"}, "office")
    params = flat.event_frame(event, event_id="e", timestamp=2.0)["params"]
    assert params["event_type"] == "messaging.state" and params["params"]["message_state"] == "sent"


def test_who_accepts_tasks() -> None:
    assert _session(blade, "Python SDK/2.1.1").accepts(TASK_EVENT)
    assert _session(flat, "@signalwire/nodejs/realtime-api/4.2.1").accepts(TASK_EVENT)
    assert not _session(flat, "signalwire-agents-python/1.0").accepts(TASK_EVENT)  # it would drop them
    for agent in ("", "signalwire-agents-python/1.0"):
        assert _session(flat, agent).accepts("messaging.receive")
