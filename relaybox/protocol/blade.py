"""The v2 "Blade" dialect (signalwire 2.x Python, @signalwire/node 2.x).

Requests arrive as `blade.connect`, `blade.execute` (double nested), `blade.subscription` and
`blade.ping`; RELAY results go one level down in `result.result` with a *string* code; events go out
as `blade.broadcast` carrying the session's protocol.
"""

from __future__ import annotations

from typing import Any

from relaybox.protocol import jsonrpc
from relaybox.protocol.commands import (
    Command,
    Connect,
    Execute,
    Ping,
    Receive,
    Reject,
    Setup,
    Subscribe,
)
from relaybox.protocol.events import TASK_EVENT, Event
from relaybox.protocol.jsonrpc import Request

NAME = "v2"
SETUP_PROTOCOL = "signalwire"


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(value)
    return None


def decode(req: Request) -> Command:
    method, params = req.method, req.params
    if method == "blade.connect":
        auth = params.get("authentication")
        if not isinstance(auth, dict):
            return Reject(jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "authentication required"), "no auth")
        sessionid = params.get("sessionid")
        return Connect(
            req.id,
            project=auth.get("project") if isinstance(auth.get("project"), str) else None,
            token=auth.get("token") if isinstance(auth.get("token"), str) else None,
            jwt=auth.get("jwt_token") if isinstance(auth.get("jwt_token"), str) else None,
            sessionid=sessionid if isinstance(sessionid, str) else None,
            agent=str(params.get("agent", "")),
        )
    if method == "blade.ping":
        return Ping(req.id)
    if method == "blade.subscription":
        channels = _str_list(params.get("channels", []))
        if channels is None:
            return Reject(
                jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "channels must be a list of strings"),
                "bad channels",
            )
        protocol = params.get("protocol")
        return Subscribe(req.id, protocol if isinstance(protocol, str) else None, channels)
    if method == "blade.execute":
        return _decode_execute(req)
    return Reject(
        jsonrpc.error_frame(req.id, jsonrpc.METHOD_NOT_FOUND, f"Method not found: {method}"), "unknown method"
    )


def _decode_execute(req: Request) -> Command:
    protocol = req.params.get("protocol")
    inner_method = req.params.get("method")
    inner_params = req.params.get("params", {})
    if inner_params is None:
        inner_params = {}
    if not isinstance(inner_method, str) or not inner_method:
        return Reject(
            jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "blade.execute needs params.method"), "no method"
        )
    if not isinstance(inner_params, dict):
        return Reject(
            jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "blade.execute params.params must be an object"),
            "bad params",
        )
    if not isinstance(protocol, str):
        return Reject(
            jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "blade.execute needs params.protocol"), "no protocol"
        )
    if inner_method == "setup" and protocol == SETUP_PROTOCOL:
        wanted = inner_params.get("protocol")
        return Setup(req.id, wanted if isinstance(wanted, str) else None)
    if inner_method in ("signalwire.receive", "signalwire.unreceive"):
        contexts = _str_list(inner_params.get("contexts"))
        if not contexts:
            return Reject(
                jsonrpc.error_frame(req.id, jsonrpc.INVALID_PARAMS, "contexts must be a non-empty list of strings"),
                "bad contexts",
            )
        return Receive(req.id, contexts, add=inner_method == "signalwire.receive")
    return Execute(req.id, inner_method, inner_params, protocol)


def connect_result(
    req_id: Any, *, sessionid: str, node_id: str, project: str, signature: str, restored: bool
) -> dict[str, Any]:
    return jsonrpc.result_frame(
        req_id,
        {
            "session_restored": restored,
            "sessionid": sessionid,
            "nodeid": node_id,
            "master_nodeid": node_id,
            "authorization": {
                "project": project,
                "expires_at": None,  # Node arms JWT-expiry logic for anything else
                "scopes": ["calling", "messaging", "tasking"],
                "signature": signature,
            },
            "routes": [],
            "protocols": [],
            "subscriptions": [],
            "authorities": [],
            "authorizations": [],
            "accesses": [],
            "protocols_uncertified": ["signalwire"],
        },
    )


def setup_result(req_id: Any, protocol: str, node_id: str) -> dict[str, Any]:
    return jsonrpc.result_frame(
        req_id,
        {"requester_nodeid": node_id, "responder_nodeid": node_id, "result": {"protocol": protocol}},
    )


def subscription_result(req_id: Any, protocol: str, channels: list[str]) -> dict[str, Any]:
    return jsonrpc.result_frame(
        req_id,
        {"protocol": protocol, "command": "add", "subscribe_channels": channels, "failed_channels": []},
    )


def ping_result(req_id: Any, timestamp: float) -> dict[str, Any]:
    return jsonrpc.result_frame(req_id, {"timestamp": timestamp})


def execute_result(req_id: Any, payload: dict[str, Any], protocol: str, node_id: str) -> dict[str, Any]:
    """Wrap a RELAY payload `{code, message, ...}`: `code` as a string, no inner `result` key."""
    inner = dict(payload)
    inner["code"] = str(inner.get("code", "200"))
    inner.setdefault("message", "OK")
    inner.pop("result", None)
    return jsonrpc.result_frame(
        req_id,
        {"requester_nodeid": node_id, "responder_nodeid": node_id, "protocol": protocol, "result": inner},
    )


_FAMILIES = (("calling.", "queuing.relay.events"), ("messaging.", "queuing.relay.messaging"))


def event_frame(
    event: Event, *, event_id: str, protocol: str, node_id: str, project_id: str, timestamp: float
) -> dict[str, Any]:
    if event.event_type == TASK_EVENT:
        family = "queuing.relay.tasks"
        inner: dict[str, Any] = {
            "project_id": project_id,
            "space_id": project_id,
            "context": event.params.get("context"),
            "message": event.params.get("message"),
            "timestamp": timestamp,
            "event_channel": protocol,
        }
    else:
        family = next((f for prefix, f in _FAMILIES if event.event_type.startswith(prefix)), "queuing.relay.events")
        inner = {
            "event_type": event.event_type,
            "event_channel": protocol,
            "timestamp": timestamp,
            "project_id": project_id,
            "space_id": project_id,
            "params": event.params,
        }
        if event.context is not None:
            inner["context"] = event.context
    return jsonrpc.request_frame(
        event_id,
        "blade.broadcast",
        {
            "broadcaster_nodeid": node_id,
            "protocol": protocol,
            "channel": "notifications",
            "event": family,
            "params": inner,
        },
    )


def disconnect_frame(event_id: str) -> dict[str, Any]:
    return jsonrpc.request_frame(event_id, "blade.disconnect", {})
