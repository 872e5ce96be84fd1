"""Workflow registrations (the vendor CLI's records) and the Python SDK's URN helpers."""

from __future__ import annotations

from typing import Any

import pytest

import relaybox.workflow as relay
from relaybox.clock import ManualClock
from relaybox.devices.model import Device
from relaybox.devices.registry import RegistrationError, Registry, parse_record

ALL = "urn:relay-resource:all:device"


def rec(name: str, trigger: dict[str, Any], install: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"name": name, "config": {"trigger": {"start": {"workflow": {"uri": "ws://h/p"}}, **trigger}},
                         **extra}
    if install is None:
        r["install_rule"] = ALL
    else:
        r["install"] = install
    return r


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ([], "JSON object"),
        ({"name": ""}, "'name'"),
        (rec("a", {"on_button": "action_button_single_tap"}, surprise=1), "unknown field"),
        (rec("a", {}), "exactly one"),
        (rec("a", {"on_button": "x", "on_phrases": ["y"]}), "exactly one"),
        (rec("a", {"on_button": "action_button_quadruple_tap"}), "on_button"),
        (rec("a", {"on_phrases": []}), "on_phrases"),
        ({**rec("a", {"on_incoming_call": ".*"}), "install": ["1"]}, "exactly one of 'install'"),
        (rec("a", {"on_incoming_call": ".*"}, install=[]), "'install'"),
        ({"name": "a", "install_rule": ALL, "config": {"trigger": {"start": {"workflow": {"uri": "https://h"}}}}},
         "ws://"),
    ],
)
def test_bad_records(raw: Any, reason: str) -> None:
    with pytest.raises(RegistrationError, match=reason):
        parse_record(raw)


def test_config_may_be_a_json_string_and_gets_a_workflow_id() -> None:
    reg = parse_record({"name": "w", "install": ["1"],
                        "config": '{"trigger": {"start": {"workflow": {"uri": "wss://h/p", "args": {"a": 1}}},'
                                  ' "on_call_request": ".*"}}'})
    assert reg.uri == "wss://h/p" and reg.args == {"a": 1} and reg.trigger == "on_call_request"
    assert reg.record["workflow_id"].startswith("wf_w_")


def test_matching_prefers_per_device_installs_then_newest() -> None:
    clock = ManualClock()
    alice = Device("Alice", "111", clock)
    bob = Device("Bob", "222", clock)
    registry = Registry()
    registry.add(rec("everyone", {"on_incoming_call": ".*"}))
    registry.add(rec("alice-only", {"on_incoming_call": ".*"}, install=["111"]))
    registry.add(rec("double", {"on_button": "action_button_double_tap"}, install=["Bob"]))
    registry.add(rec("status", {"on_phrases": ["status", "status report"]}))
    inbound = registry.call_workflow(alice, "inbound")
    assert inbound is not None and inbound.name == "alice-only"
    inbound = registry.call_workflow(bob, "inbound")
    assert inbound is not None and inbound.name == "everyone"
    assert registry.call_workflow(bob, "outbound") is None
    assert registry.button_workflow(alice, "double") is None
    button = registry.button_workflow(bob, "double")
    assert button is not None and button.name == "double"
    match = registry.phrase_workflow(alice, "Status  Report for Bob")
    assert match is not None and match[1:] == ("status report", "for bob")
    assert registry.phrase_workflow(alice, "statuses") is None
    assert registry.remove("alice-only") and not registry.remove("alice-only")
    inbound = registry.call_workflow(alice, "inbound")
    assert inbound is not None and inbound.name == "everyone"


def test_re_posting_a_name_replaces_it_and_keeps_its_id() -> None:
    registry = Registry()
    first = registry.add(rec("w", {"on_incoming_call": ".*"}))
    second = registry.add(rec("w", {"on_call_request": ".*"}))
    assert [r.trigger for r in registry.all()] == ["on_call_request"]
    assert first.record["workflow_id"] == second.record["workflow_id"]


def test_sdk_helpers() -> None:
    ix = "urn:relay-resource:name:interaction:hello%20there?device=urn%3Arelay-resource%3Aname%3Adevice%3AAlice"
    assert relay.workflow.device_name("Bob Smith") == "urn:relay-resource:name:device:Bob%20Smith"
    assert relay.parse_device_name(ix) == "Alice"
    assert relay.parse_interaction(ix) == "hello there"
    assert relay.parse_device_name("urn:relay-resource:name:device:Bob%20Smith") == "Bob Smith"
    assert relay.parse_device_id(relay.device_id("99")) == "99"
    assert relay.is_interaction_uri(ix) and relay.is_relay_uri(ix) and not relay.is_interaction_uri("x")
    trigger = {"type": "phrase", "args": {"source_uri": "urn:relay-resource:name:device:Alice"}}
    assert relay.Relay.make_target_uris(trigger) == {"uris": ["urn:relay-resource:name:device:Alice"]}
    assert relay.Relay.get_source_uri_from_trigger(trigger) == "urn:relay-resource:name:device:Alice"
    assert relay.Relay.targets_from_source_uri("u") == {"uris": ["u"]}
    with pytest.raises(relay.WorkflowException):
        relay.Relay.make_target_uris({"type": "phrase", "args": {}})
    assert relay.workflow.TYPE_STARTED == "started" and relay.TYPE_ENDED == "ended"
