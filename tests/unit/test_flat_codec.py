"""The v4 flat codec: decoding requests and acks, building results and `signalwire.event` frames."""

from __future__ import annotations

from typing import Any

import pytest

from relaybox.protocol import flat, jsonrpc
from relaybox.protocol.commands import Ack, Connect, Execute, Goodbye, Ping, Receive, Reject
from relaybox.protocol.events import Event
from relaybox.protocol.jsonrpc import Request, Response


def req(method: str, params: dict[str, Any] | None = None, req_id: Any = "r-1") -> Request:
    return Request(req_id, method, params if params is not None else {})


def rejected(cmd: object, code: int) -> dict[str, Any]:
    assert isinstance(cmd, Reject), cmd
    assert cmd.reply is not None
    assert cmd.reply["id"] == "r-1"
    assert cmd.reply["error"]["code"] == code
    assert cmd.reply["error"]["message"]
    return cmd.reply


# ---------------------------------------------------------------------------------------------- decode


def test_connect_first_time() -> None:
    cmd = flat.decode(
        req(
            "signalwire.connect",
            {
                "version": {"major": 2, "minor": 0, "revision": 0},
                "agent": "signalwire-agents-python/1.0",
                "event_acks": True,
                "authentication": {"project": "proj", "token": "tok"},
                "contexts": ["office", "support"],
            },
        )
    )
    assert cmd == Connect(
        "r-1", project="proj", token="tok", jwt=None, protocol=None, authorization_state=None,
        contexts=["office", "support"], agent="signalwire-agents-python/1.0",
    )


def test_connect_on_reconnect_carries_protocol_and_authorization_state() -> None:
    cmd = flat.decode(
        req(
            "signalwire.connect",
            {
                "authentication": {"project": "proj", "token": "tok"},
                "protocol": "signalwire_x_y",
                "authorization_state": "c2VjcmV0:dGFn",
            },
        )
    )
    assert isinstance(cmd, Connect)
    assert cmd.protocol == "signalwire_x_y"
    assert cmd.authorization_state == "c2VjcmV0:dGFn"
    assert cmd.contexts == []


def test_connect_ignores_empty_or_mistyped_optional_strings() -> None:
    params = {"authentication": {"project": "", "token": 5}, "protocol": "", "authorization_state": 3}
    cmd = flat.decode(req("signalwire.connect", params))
    assert isinstance(cmd, Connect)
    assert cmd.project is None and cmd.token is None
    assert cmd.protocol is None and cmd.authorization_state is None


def test_connect_with_jwt() -> None:
    cmd = flat.decode(req("signalwire.connect", {"authentication": {"jwt_token": "eyJ"}}))
    assert isinstance(cmd, Connect)
    assert cmd.jwt == "eyJ"


@pytest.mark.parametrize("params", [{}, {"authentication": "x"}, {"authentication": None}])
def test_connect_without_authentication(params: dict[str, Any]) -> None:
    rejected(flat.decode(req("signalwire.connect", params)), jsonrpc.INVALID_PARAMS)


@pytest.mark.parametrize("contexts", ["office", [1], [""], {"office": True}])
def test_connect_with_bad_contexts(contexts: Any) -> None:
    params = {"authentication": {"project": "p", "token": "t"}, "contexts": contexts}
    rejected(flat.decode(req("signalwire.connect", params)), jsonrpc.INVALID_PARAMS)


def test_ping() -> None:
    assert flat.decode(req("signalwire.ping")) == Ping("r-1")


def test_receive_and_unreceive() -> None:
    assert flat.decode(req("signalwire.receive", {"contexts": ["billing"]})) == Receive("r-1", ["billing"], add=True)
    assert flat.decode(req("signalwire.unreceive", {"contexts": ["billing"]})) == Receive(
        "r-1", ["billing"], add=False
    )


@pytest.mark.parametrize("method", ["signalwire.receive", "signalwire.unreceive"])
@pytest.mark.parametrize("params", [{}, {"contexts": []}, {"contexts": "x"}, {"contexts": [None]}, {"contexts": [""]}])
def test_receive_with_bad_contexts(method: str, params: dict[str, Any]) -> None:
    rejected(flat.decode(req(method, params)), jsonrpc.INVALID_PARAMS)


def test_disconnect() -> None:
    assert flat.decode(req("signalwire.disconnect")) == Goodbye("r-1")


def test_flat_calling_method_is_an_execute() -> None:
    cmd = flat.decode(req("calling.answer", {"node_id": "n", "call_id": "c"}))
    assert cmd == Execute("r-1", "calling.answer", {"node_id": "n", "call_id": "c"})
    assert cmd.protocol is None


def test_unknown_method_is_an_execute_for_the_domain_to_refuse() -> None:
    cmd = flat.decode(req("nope.nothing", {}))
    assert cmd == Execute("r-1", "nope.nothing", {})


def test_signalwire_execute_envelope() -> None:
    cmd = flat.decode(req("signalwire.execute", {"method": "calling.end", "params": {"call_id": "c"}}))
    assert cmd == Execute("r-1", "calling.end", {"call_id": "c"})


def test_signalwire_execute_envelope_without_params() -> None:
    cmd = flat.decode(req("signalwire.execute", {"method": "calling.end"}))
    assert cmd == Execute("r-1", "calling.end", {})


@pytest.mark.parametrize(
    "params", [{}, {"method": 5}, {"method": "calling.end", "params": [1]}, {"method": "calling.end", "params": "x"}]
)
def test_malformed_signalwire_execute(params: dict[str, Any]) -> None:
    rejected(flat.decode(req("signalwire.execute", params)), jsonrpc.INVALID_PARAMS)


@pytest.mark.parametrize("frame", [Response("ev-1", {}, None), Response("ev-2", None, {"code": 1, "message": "x"})])
def test_responses_are_acks(frame: Response) -> None:
    assert flat.decode(frame) == Ack(frame.id)


# ---------------------------------------------------------------------------------------------- results


def test_connect_result() -> None:
    frame = flat.connect_result(
        "r-1", protocol="signalwire_a_b", sessionid="s1", node_id="n1", project="p", signature="a", restored=True
    )
    assert frame["id"] == "r-1"
    result = frame["result"]
    assert result["protocol"] == "signalwire_a_b"
    assert result["sessionid"] == "s1"
    assert "_" not in result["sessionid"]
    assert result["session_restored"] is True
    assert result["identity"] == "p@n1"
    assert result["nodeid"] == "n1"


@pytest.mark.parametrize("code", [200, "200", 400, "404"])
def test_execute_result_is_flat_with_a_string_code(code: Any) -> None:
    frame = flat.execute_result("r-1", {"code": code, "message": "m", "call_id": "c"})
    assert frame == {"jsonrpc": "2.0", "id": "r-1", "result": {"code": str(code), "message": "m", "call_id": "c"}}


def test_execute_result_defaults() -> None:
    assert flat.execute_result("r-1", {})["result"] == {"code": "200", "message": "OK"}


def test_receive_result() -> None:
    add = flat.receive_result("r-1", True)["result"]
    remove = flat.receive_result("r-1", False)["result"]
    assert add["code"] == "200" and add["message"]
    assert remove["code"] == "200" and remove["message"]
    assert add["message"] != remove["message"]


def test_ping_result() -> None:
    assert flat.ping_result("r-1", 3.5) == {"jsonrpc": "2.0", "id": "r-1", "result": {"timestamp": 3.5}}


# ---------------------------------------------------------------------------------------------- events


def test_event_frame() -> None:
    body = {"call_id": "c-1", "call_state": "ringing"}
    frame = flat.event_frame(Event("calling.call.state", body), event_id="ev-9", timestamp=12.0)
    assert frame["jsonrpc"] == "2.0"
    assert frame["id"] == "ev-9"
    assert frame["method"] == "signalwire.event"
    assert "result" not in frame and "error" not in frame
    params = frame["params"]
    assert params["event_type"] == "calling.call.state"
    assert params["timestamp"] == 12.0
    assert params["params"] == {"call_id": "c-1", "call_state": "ringing", "timestamp": 12.0}
    assert "timestamp" not in body  # the event's own params are not mutated


def test_event_frame_keeps_an_existing_inner_timestamp() -> None:
    frame = flat.event_frame(Event("messaging.state", {"timestamp": 1.0}), event_id="ev-1", timestamp=2.0)
    assert frame["params"]["params"]["timestamp"] == 1.0
    assert frame["params"]["timestamp"] == 2.0


def test_disconnect_frame() -> None:
    assert flat.disconnect_frame("d-1") == {
        "jsonrpc": "2.0", "id": "d-1", "method": "signalwire.disconnect", "params": {"restart": False}
    }
    assert flat.disconnect_frame("d-2", restart=True)["params"] == {"restart": True}
