"""The v2 Blade codec: decoding session-level requests and building results and broadcasts."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.protocol import blade, jsonrpc
from relaybox.protocol.commands import Connect, Execute, Ping, Receive, Reject, Setup, Subscribe
from relaybox.protocol.events import TASK_EVENT, Event
from relaybox.protocol.jsonrpc import Request

PROTO = "signalwire_abc123_0001"


def req(method: str, params: dict[str, Any] | None = None, req_id: Any = "r-1") -> Request:
    return Request(req_id, method, params if params is not None else {})


def execute(method: str, params: Any = None, protocol: Any = PROTO) -> Request:
    outer: dict[str, Any] = {"method": method}
    if protocol is not None:
        outer["protocol"] = protocol
    if params is not None:
        outer["params"] = params
    return req("blade.execute", outer)


def rejected(cmd: object, code: int) -> dict[str, Any]:
    assert isinstance(cmd, Reject), cmd
    assert cmd.reply is not None
    assert cmd.reply["id"] == "r-1"
    assert cmd.reply["error"]["code"] == code
    assert cmd.reply["error"]["message"]
    return cmd.reply


# ---------------------------------------------------------------------------------------------- decode


def test_connect_without_sessionid() -> None:
    cmd = blade.decode(
        req(
            "blade.connect",
            {
                "version": {"major": 2, "minor": 3, "revision": 0},
                "authentication": {"project": "proj", "token": "tok"},
                "agent": "Python SDK/2.1.1",
            },
        )
    )
    assert cmd == Connect("r-1", project="proj", token="tok", jwt=None, sessionid=None, agent="Python SDK/2.1.1")


def test_connect_with_sessionid() -> None:
    cmd = blade.decode(
        req("blade.connect", {"authentication": {"project": "p", "token": "t"}, "sessionid": "sess-1"})
    )
    assert isinstance(cmd, Connect)
    assert cmd.sessionid == "sess-1"
    assert (cmd.project, cmd.token) == ("p", "t")


def test_connect_with_mistyped_credentials_keeps_them_none() -> None:
    cmd = blade.decode(
        req("blade.connect", {"authentication": {"project": 5, "token": ["t"]}, "sessionid": 7})
    )
    assert isinstance(cmd, Connect)
    assert cmd.project is None and cmd.token is None and cmd.sessionid is None


def test_connect_with_jwt() -> None:
    cmd = blade.decode(req("blade.connect", {"authentication": {"jwt_token": "eyJ"}}))
    assert isinstance(cmd, Connect)
    assert cmd.jwt == "eyJ"
    assert cmd.project is None


@pytest.mark.parametrize("params", [{}, {"authentication": "p:t"}, {"authentication": None}])
def test_connect_without_authentication_object_is_rejected(params: dict[str, Any]) -> None:
    rejected(blade.decode(req("blade.connect", params)), jsonrpc.INVALID_PARAMS)


def test_setup_without_requested_protocol() -> None:
    assert blade.decode(execute("setup", {}, protocol="signalwire")) == Setup("r-1", None)


def test_setup_with_requested_protocol() -> None:
    assert blade.decode(execute("setup", {"protocol": PROTO}, protocol="signalwire")) == Setup("r-1", PROTO)


def test_setup_with_mistyped_protocol_is_a_fresh_setup() -> None:
    assert blade.decode(execute("setup", {"protocol": 12}, protocol="signalwire")) == Setup("r-1", None)


def test_setup_on_another_protocol_is_an_ordinary_execute() -> None:
    cmd = blade.decode(execute("setup", {}, protocol=PROTO))
    assert isinstance(cmd, Execute)
    assert cmd.method == "setup"


def test_subscription() -> None:
    cmd = blade.decode(
        req("blade.subscription", {"command": "add", "protocol": PROTO, "channels": ["notifications"]})
    )
    assert cmd == Subscribe("r-1", PROTO, ["notifications"])


def test_subscription_without_protocol() -> None:
    cmd = blade.decode(req("blade.subscription", {"command": "add", "channels": ["notifications"]}))
    assert cmd == Subscribe("r-1", None, ["notifications"])


@pytest.mark.parametrize("channels", ["notifications", [1], [""], {"a": 1}])
def test_subscription_with_bad_channels(channels: Any) -> None:
    rejected(blade.decode(req("blade.subscription", {"protocol": PROTO, "channels": channels})), jsonrpc.INVALID_PARAMS)


def test_ping() -> None:
    assert blade.decode(req("blade.ping", {})) == Ping("r-1")


def test_receive_and_unreceive() -> None:
    assert blade.decode(execute("signalwire.receive", {"contexts": ["office", "home"]})) == Receive(
        "r-1", ["office", "home"], add=True
    )
    assert blade.decode(execute("signalwire.unreceive", {"contexts": ["home"]})) == Receive(
        "r-1", ["home"], add=False
    )


@pytest.mark.parametrize(
    "params", [{}, {"contexts": []}, {"contexts": "office"}, {"contexts": [1]}, {"contexts": [""]}]
)
def test_receive_with_bad_contexts(params: dict[str, Any]) -> None:
    rejected(blade.decode(execute("signalwire.receive", params)), jsonrpc.INVALID_PARAMS)


def test_calling_method_is_an_execute_with_the_envelope_protocol() -> None:
    cmd = blade.decode(execute("calling.answer", {"node_id": "n", "call_id": "c"}))
    assert cmd == Execute("r-1", "calling.answer", {"node_id": "n", "call_id": "c"}, PROTO)


def test_execute_with_null_params_gets_empty_params() -> None:
    outer = {"protocol": PROTO, "method": "calling.answer", "params": None}
    cmd = blade.decode(req("blade.execute", outer))
    assert cmd == Execute("r-1", "calling.answer", {}, PROTO)


def test_execute_without_params_gets_empty_params() -> None:
    cmd = blade.decode(execute("calling.answer", None))
    assert cmd == Execute("r-1", "calling.answer", {}, PROTO)


@pytest.mark.parametrize(
    "outer",
    [
        {"protocol": PROTO},  # no method
        {"protocol": PROTO, "method": ""},
        {"protocol": PROTO, "method": 5},
        {"protocol": PROTO, "method": "calling.answer", "params": [1]},
        {"protocol": PROTO, "method": "calling.answer", "params": "x"},
        {"method": "calling.answer", "params": {}},  # no protocol
        {"protocol": 5, "method": "calling.answer", "params": {}},
    ],
)
def test_malformed_execute_envelopes(outer: dict[str, Any]) -> None:
    rejected(blade.decode(req("blade.execute", outer)), jsonrpc.INVALID_PARAMS)


@pytest.mark.parametrize("method", ["blade.reauthenticate", "signalwire.connect", "calling.answer", "nope"])
def test_unknown_top_level_method(method: str) -> None:
    reply = rejected(blade.decode(req(method, {})), jsonrpc.METHOD_NOT_FOUND)
    assert method in reply["error"]["message"]


# ---------------------------------------------------------------------------------------------- results


def test_connect_result() -> None:
    frame = blade.connect_result("r-1", sessionid="s-1", node_id="n-1", project="proj", signature="abc", restored=False)
    assert frame["id"] == "r-1"
    result = frame["result"]
    assert result["sessionid"] == "s-1"
    assert result["session_restored"] is False
    assert result["nodeid"] == "n-1"
    auth = result["authorization"]
    assert auth["project"] == "proj"
    assert auth["signature"] == "abc"
    assert "_" not in auth["signature"]
    assert "expires_at" in auth and auth["expires_at"] is None
    assert result["protocols_uncertified"] == ["signalwire"]
    restored = blade.connect_result("r-2", sessionid="s-1", node_id="n", project="p", signature="x", restored=True)
    assert restored["result"]["session_restored"] is True


def test_setup_result_puts_the_protocol_in_result_result() -> None:
    frame = blade.setup_result("r-1", PROTO, "n-1")
    assert frame["id"] == "r-1"
    assert frame["result"]["result"]["protocol"] == PROTO
    assert "error" not in frame


def test_subscription_result() -> None:
    frame = blade.subscription_result("r-1", PROTO, ["notifications"])
    assert frame["result"] == {
        "protocol": PROTO, "command": "add", "subscribe_channels": ["notifications"], "failed_channels": []
    }


def test_ping_result() -> None:
    assert blade.ping_result("r-1", 12.5) == {"jsonrpc": "2.0", "id": "r-1", "result": {"timestamp": 12.5}}


@pytest.mark.parametrize("code", [200, "200", 404, "404"])
def test_execute_result_code_is_always_a_string(code: Any) -> None:
    frame = blade.execute_result("r-1", {"code": code, "message": "m"}, PROTO, "n-1")
    inner = frame["result"]["result"]
    assert inner["code"] == str(code)
    assert isinstance(inner["code"], str)
    assert inner["message"] == "m"


def test_execute_result_nesting_and_defaults() -> None:
    frame = blade.execute_result("r-1", {"call_id": "c-1"}, PROTO, "n-1")
    assert frame["id"] == "r-1"
    outer = frame["result"]
    assert outer["protocol"] == PROTO
    assert outer["requester_nodeid"] == "n-1" and outer["responder_nodeid"] == "n-1"
    assert outer["result"] == {"call_id": "c-1", "code": "200", "message": "OK"}


def test_execute_result_never_has_an_inner_result_key() -> None:
    payload = {"code": "200", "message": "m", "result": {"x": 1}}
    frame = blade.execute_result("r-1", payload, PROTO, "n-1")
    assert "result" not in frame["result"]["result"]
    assert payload["result"] == {"x": 1}  # the caller's payload is not mutated


# ---------------------------------------------------------------------------------------------- events


def broadcast(event: Event) -> dict[str, Any]:
    frame = blade.event_frame(event, event_id="ev-1", protocol=PROTO, node_id="n-1", project_id="proj", timestamp=5.0)
    assert frame["jsonrpc"] == "2.0"
    assert frame["id"] == "ev-1"
    assert frame["method"] == "blade.broadcast"
    assert "result" not in frame and "error" not in frame
    params = frame["params"]
    assert params["protocol"] == PROTO
    assert params["channel"] == "notifications"
    assert params["broadcaster_nodeid"] == "n-1"
    return params


def test_calling_event_goes_to_relay_events() -> None:
    params = broadcast(Event("calling.call.state", {"call_id": "c-1", "call_state": "ringing"}))
    assert params["event"] == "queuing.relay.events"
    inner = params["params"]
    assert inner["event_type"] == "calling.call.state"
    assert inner["event_channel"] == PROTO
    assert inner["timestamp"] == 5.0
    assert inner["project_id"] == "proj"
    assert inner["params"] == {"call_id": "c-1", "call_state": "ringing"}
    assert "context" not in inner


def test_calling_receive_repeats_the_context() -> None:
    params = broadcast(Event("calling.call.receive", {"call_id": "c-1", "context": "office"}, context="office"))
    assert params["event"] == "queuing.relay.events"
    assert params["params"]["context"] == "office"
    assert params["params"]["params"]["context"] == "office"


def test_messaging_event_goes_to_relay_messaging_with_outer_context() -> None:
    params = broadcast(Event("messaging.receive", {"message_id": "m-1", "context": "office"}, context="office"))
    assert params["event"] == "queuing.relay.messaging"
    inner = params["params"]
    assert inner["event_type"] == "messaging.receive"
    assert inner["context"] == "office"
    assert inner["params"]["context"] == "office"


def test_task_event_goes_to_relay_tasks_without_event_type() -> None:
    params = broadcast(Event(TASK_EVENT, {"context": "jobs", "message": {"n": 1}}, context="jobs"))
    assert params["event"] == "queuing.relay.tasks"
    inner = params["params"]
    assert inner["context"] == "jobs"
    assert inner["message"] == {"n": 1}
    assert inner["event_channel"] == PROTO
    assert "event_type" not in inner
    assert "params" not in inner


def test_other_event_types_default_to_relay_events() -> None:
    params = broadcast(Event("signalwire.authorization.state", {"authorization_state": "x"}))
    assert params["event"] == "queuing.relay.events"


def test_disconnect_frame() -> None:
    frame = blade.disconnect_frame("d-1")
    assert frame == {"jsonrpc": "2.0", "id": "d-1", "method": "blade.disconnect", "params": {}}
