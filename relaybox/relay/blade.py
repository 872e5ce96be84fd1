"""Sans-I/O Blade (RELAY v2) framing: building the requests the client sends and judging the responses.

Every function here is pure, so the SDK's wire format is unit-tested without a server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from .constants import BladeMethod

#: the protocol version the v2 Python SDK announces in blade.connect
VERSION = {"major": 2, "minor": 3, "revision": 0}
AGENT = "relaybox Python SDK/0.1.0"


def new_id() -> str:
    return str(uuid4())


@dataclass
class Message:
    """One JSON-RPC 2.0 frame (request, response or server request)."""

    method: str | None = None
    params: dict[str, Any] | None = None
    id: str = field(default_factory=new_id)
    result: Any = None
    error: Any = None
    has_result: bool = False
    has_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": self.id}
        if self.method is not None:
            out["method"] = self.method
            out["params"] = self.params if self.params is not None else {}
        if self.has_result:
            out["result"] = self.result
        if self.has_error:
            out["error"] = self.error
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Message:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a Blade frame must be a JSON object")
        params = data.get("params")
        return cls(
            method=data.get("method"),
            params=params if isinstance(params, dict) else None,
            id=str(data.get("id", "")),
            result=data.get("result"),
            error=data.get("error"),
            has_result="result" in data,
            has_error="error" in data,
        )


def connect(project: str, token: str, sessionid: str | None = None, agent: str = AGENT) -> Message:
    """blade.connect; SESSIONID (the previous session's) asks the server to resume it."""
    params: dict[str, Any] = {
        "version": dict(VERSION),
        "authentication": {"project": project, "token": token},
    }
    if sessionid:
        params["sessionid"] = sessionid
    params["agent"] = agent
    return Message(method=BladeMethod.CONNECT, params=params)


def execute(protocol: str, method: str, params: dict[str, Any]) -> Message:
    return Message(method=BladeMethod.EXECUTE, params={"protocol": protocol, "method": method, "params": params})


def setup(previous_protocol: str | None = None, signature: str | None = None) -> Message:
    """signalwire.setup; asks for PREVIOUS_PROTOCOL back when it was issued for the same signature."""
    params: dict[str, Any] = {}
    if previous_protocol and signature and protocol_signature(previous_protocol) == signature:
        params["protocol"] = previous_protocol
    return execute("signalwire", "setup", params)


def subscription(protocol: str, channels: list[str] | None = None) -> Message:
    return Message(
        method=BladeMethod.SUBSCRIPTION,
        params={"command": "add", "protocol": protocol, "channels": channels or ["notifications"]},
    )


def ping() -> Message:
    return Message(method=BladeMethod.PING, params={})


def protocol_signature(protocol: str) -> str | None:
    parts = protocol.split("_")
    return parts[1] if len(parts) >= 3 and parts[0] == "signalwire" else None


class RelayError(Exception):
    """A failed RELAY command: a JSON-RPC error, or a result whose `result.code` is not "200"."""

    def __init__(self, message: str, code: Any = None, payload: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.payload = payload


def judge(msg: Message) -> Any:
    """The outer `result` of a successful response; raises RelayError for a failure (wire spec §2.3)."""
    if msg.has_error:
        err = msg.error if isinstance(msg.error, dict) else {"message": str(msg.error)}
        raise RelayError(str(err.get("message", "error")), err.get("code"), err)
    result = msg.result
    if isinstance(result, dict) and "result" in result:
        inner = result["result"]
        if isinstance(inner, dict) and "code" in inner and inner["code"] != "200":
            raise RelayError(str(inner.get("message", "failed")), inner.get("code"), inner)
    return result


def ws_url(host: str) -> str:
    """The WebSocket URL for HOST: ws:// and wss:// URLs verbatim, anything else gets wss://."""
    return host if re.match(r"^(ws|wss)://", host) else "wss://" + host


def http_base(host: str) -> str:
    """The REST base URL for HOST: http for ws://, https for wss:// or a bare host (Task delivery)."""
    if re.match(r"^(ws|wss|http|https)://", host):
        parts = urlsplit(host)
        scheme = "http" if parts.scheme in ("ws", "http") else "https"
        return f"{scheme}://{parts.netloc}"
    return "https://" + host.split("/", 1)[0]
