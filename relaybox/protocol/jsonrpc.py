"""JSON-RPC 2.0 framing shared by both RELAY dialects.

`parse_frame` turns one WebSocket text frame into a `Request`, a `Response` (a client's ack of a
server request) or a `FrameError` carrying the error reply to send. It never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

# JSON-RPC error codes. -32000 is never used: the Node v2 client reads it as "Timeout" and reconnects.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
AUTH_FAILED = -32002
NOT_CONNECTED = -32003

MAX_FRAME_BYTES = 4 * 1024 * 1024  # aiohttp's default limit on the Python v2 client side


@dataclass(slots=True)
class Request:
    id: str | int | None
    method: str
    params: dict[str, Any]


@dataclass(slots=True)
class Response:
    """A frame with an id and a result or an error: a client answering a server request (v4 acks)."""

    id: str | int | None
    result: Any = None
    error: Any = None


@dataclass(slots=True)
class FrameError:
    """An unusable frame, with the reply that says why (`reply` is None when nothing should be sent)."""

    reason: str
    reply: dict[str, Any] | None


Frame = Request | Response | FrameError


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def error_frame(req_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": req_id, "error": error}


def result_frame(req_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


def request_frame(req_id: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id, "method": method, "params": params}


def parse_frame(data: str | bytes) -> Frame:
    if len(data) > MAX_FRAME_BYTES:
        return FrameError("frame too large", error_frame(None, INVALID_REQUEST, "Frame too large"))
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return FrameError(f"malformed JSON: {exc}", error_frame(None, PARSE_ERROR, "Parse error: malformed JSON"))
    if isinstance(obj, list):
        return FrameError(
            "batch request", error_frame(None, INVALID_REQUEST, "Invalid Request: batches are not supported")
        )
    if not isinstance(obj, dict):
        return FrameError("not an object", error_frame(None, INVALID_REQUEST, "Invalid Request: not an object"))
    req_id = obj.get("id")
    if isinstance(req_id, bool) or not isinstance(req_id, str | int | None):
        return FrameError("bad id", error_frame(None, INVALID_REQUEST, "Invalid Request: id must be a string"))
    method = obj.get("method")
    if method is None:
        if "result" in obj or "error" in obj:
            return Response(req_id, obj.get("result"), obj.get("error"))
        return FrameError("no method", error_frame(req_id, INVALID_REQUEST, "Invalid Request: no method"))
    if not isinstance(method, str) or not method:
        return FrameError("bad method", error_frame(req_id, INVALID_REQUEST, "Invalid Request: bad method"))
    params = obj.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return FrameError(
            "bad params", error_frame(req_id, INVALID_PARAMS, "Invalid params: params must be an object")
        )
    return Request(req_id, method, params)
