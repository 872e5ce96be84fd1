"""JSON-RPC framing shared by both dialects: `parse_frame` never raises and always says why."""

from __future__ import annotations

import json

import pytest

from relaybox.protocol import jsonrpc
from relaybox.protocol.jsonrpc import FrameError, Request, Response, parse_frame


def _error(frame: object) -> dict:
    assert isinstance(frame, FrameError), frame
    assert frame.reply is not None
    assert frame.reply["jsonrpc"] == "2.0"
    error = frame.reply["error"]
    assert isinstance(error["code"], int)
    assert error["code"] != -32000  # Node v2 reads -32000 as a timeout and reconnects
    assert isinstance(error["message"], str) and error["message"]
    return frame.reply


# ---------------------------------------------------------------------------------------------- valid frames


@pytest.mark.parametrize("req_id", ["abc-123", 7, 0, None])
def test_request_keeps_id_method_and_params(req_id: object) -> None:
    frame = parse_frame(json.dumps({"jsonrpc": "2.0", "id": req_id, "method": "blade.ping", "params": {"a": [1]}}))
    assert frame == Request(req_id, "blade.ping", {"a": [1]})  # type: ignore[arg-type]


def test_request_accepts_bytes() -> None:
    assert parse_frame(b'{"id":"1","method":"m","params":{}}') == Request("1", "m", {})


def test_missing_params_is_an_empty_object() -> None:
    frame = parse_frame('{"jsonrpc":"2.0","id":"1","method":"signalwire.ping"}')
    assert isinstance(frame, Request)
    assert frame.params == {}


def test_null_params_is_an_empty_object() -> None:
    frame = parse_frame('{"jsonrpc":"2.0","id":"1","method":"signalwire.ping","params":null}')
    assert isinstance(frame, Request)
    assert frame.params == {}


def test_response_with_result() -> None:
    frame = parse_frame('{"jsonrpc":"2.0","id":"ev-1","result":{}}')
    assert frame == Response("ev-1", {}, None)


def test_response_with_error() -> None:
    frame = parse_frame('{"jsonrpc":"2.0","id":"ev-2","error":{"code":1,"message":"x"}}')
    assert isinstance(frame, Response)
    assert frame.id == "ev-2"
    assert frame.error == {"code": 1, "message": "x"}
    assert frame.result is None


def test_response_with_null_result_is_still_a_response() -> None:
    frame = parse_frame('{"jsonrpc":"2.0","id":"ev-3","result":null}')
    assert isinstance(frame, Response)
    assert frame.id == "ev-3"


# ---------------------------------------------------------------------------------------------- bad frames


@pytest.mark.parametrize("data", ["{", "{'id': 1}", "not json", "", '{"id": "1",}', b"\xff\xfe\x00"])
def test_malformed_json_is_a_parse_error(data: str | bytes) -> None:
    reply = _error(parse_frame(data))
    assert reply["id"] is None
    assert reply["error"]["code"] == jsonrpc.PARSE_ERROR


def test_deeply_nested_json_is_a_parse_error_not_an_exception() -> None:
    reply = _error(parse_frame("[" * 5000))
    assert reply["error"]["code"] in (jsonrpc.PARSE_ERROR, jsonrpc.INVALID_REQUEST)


@pytest.mark.parametrize("data", ['[{"id":"1","method":"m"}]', "[]"])
def test_json_array_is_an_invalid_request(data: str) -> None:
    reply = _error(parse_frame(data))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert reply["id"] is None


@pytest.mark.parametrize("data", ["5", '"text"', "null", "true", "1.5"])
def test_non_object_is_an_invalid_request(data: str) -> None:
    reply = _error(parse_frame(data))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST


@pytest.mark.parametrize("bad_id", [True, False, 1.5, {"a": 1}, [1]])
def test_bad_id_types_are_refused(bad_id: object) -> None:
    reply = _error(parse_frame(json.dumps({"jsonrpc": "2.0", "id": bad_id, "method": "m", "params": {}})))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert reply["id"] is None  # the bad id is not echoed back


def test_bad_id_on_a_response_is_refused_too() -> None:
    reply = _error(parse_frame('{"jsonrpc":"2.0","id":true,"result":{}}'))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST


def test_missing_method_without_result_or_error() -> None:
    reply = _error(parse_frame('{"jsonrpc":"2.0","id":"r1","params":{}}'))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert reply["id"] == "r1"  # a usable id is echoed


@pytest.mark.parametrize("method", [5, "", ["m"], {"m": 1}, True])
def test_bad_method(method: object) -> None:
    reply = _error(parse_frame(json.dumps({"jsonrpc": "2.0", "id": "r2", "method": method})))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST
    assert reply["id"] == "r2"


@pytest.mark.parametrize("params", [[1, 2], "x", 3, True, []])
def test_non_object_params_are_invalid_params(params: object) -> None:
    reply = _error(parse_frame(json.dumps({"jsonrpc": "2.0", "id": "r3", "method": "m", "params": params})))
    assert reply["error"]["code"] == jsonrpc.INVALID_PARAMS
    assert reply["id"] == "r3"


def test_frame_over_the_limit_is_refused_without_parsing() -> None:
    data = '{"id":"1","method":"m","params":{"x":"' + "a" * jsonrpc.MAX_FRAME_BYTES + '"}}'
    reply = _error(parse_frame(data))
    assert reply["error"]["code"] == jsonrpc.INVALID_REQUEST


def test_frame_builders() -> None:
    assert jsonrpc.error_frame("1", -32601, "nope") == {
        "jsonrpc": "2.0", "id": "1", "error": {"code": -32601, "message": "nope"}
    }
    assert jsonrpc.error_frame("1", -32602, "bad", data={"f": 1})["error"]["data"] == {"f": 1}
    assert jsonrpc.result_frame(3, {"a": 1}) == {"jsonrpc": "2.0", "id": 3, "result": {"a": 1}}
    assert jsonrpc.request_frame("e1", "m", {}) == {"jsonrpc": "2.0", "id": "e1", "method": "m", "params": {}}
    assert json.loads(jsonrpc.dumps({"a": [1, "b"]})) == {"a": [1, "b"]}


def test_error_codes_are_standard_and_never_minus_32000() -> None:
    codes = [
        jsonrpc.PARSE_ERROR, jsonrpc.INVALID_REQUEST, jsonrpc.METHOD_NOT_FOUND, jsonrpc.INVALID_PARAMS,
        jsonrpc.INTERNAL_ERROR, jsonrpc.AUTH_FAILED, jsonrpc.NOT_CONNECTED,
    ]
    assert -32000 not in codes
    assert len(set(codes)) == len(codes)
