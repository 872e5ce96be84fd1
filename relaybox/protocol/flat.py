"""The v4 flat dialect (signalwire-sdk `RelayClient`, @signalwire/realtime-api 4.x).

Flat JSON-RPC: `signalwire.connect` carries auth, contexts and the resume protocol; RELAY methods are
sent directly; results are flat `{code, message}`; events go out as `signalwire.event` frames with
ids that the client acknowledges.
"""

from __future__ import annotations

from typing import Any

from relaybox.protocol import jsonrpc
from relaybox.protocol.commands import (
    Ack,
    Command,
    Connect,
    Execute,
    Goodbye,
    Ping,
    Receive,
    Reject,
)
from relaybox.protocol.events import TASK_EVENT, Event
from relaybox.protocol.jsonrpc import Request, Response

NAME = "v4"


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def decode(frame: Request | Response) -> Command:
    if isinstance(frame, Response):
        return Ack(frame.id)
    method, params = frame.method, frame.params
    if method == "signalwire.connect":
        auth = params.get("authentication")
        if not isinstance(auth, dict):
            return Reject(
                jsonrpc.error_frame(frame.id, jsonrpc.INVALID_PARAMS, "authentication required"), "no auth"
            )
        contexts = params.get("contexts", [])
        if not isinstance(contexts, list) or not all(isinstance(c, str) and c for c in contexts):
            return Reject(
                jsonrpc.error_frame(frame.id, jsonrpc.INVALID_PARAMS, "contexts must be a list of strings"),
                "bad contexts",
            )
        return Connect(
            frame.id,
            project=_opt_str(auth.get("project")),
            token=_opt_str(auth.get("token")),
            jwt=_opt_str(auth.get("jwt_token")),
            protocol=_opt_str(params.get("protocol")),
            authorization_state=_opt_str(params.get("authorization_state")),
            contexts=list(contexts),
            agent=str(params.get("agent", "")),
        )
    if method == "signalwire.ping":
        return Ping(frame.id)
    if method in ("signalwire.receive", "signalwire.unreceive"):
        contexts = params.get("contexts")
        if not isinstance(contexts, list) or not contexts or not all(isinstance(c, str) and c for c in contexts):
            return Reject(
                jsonrpc.error_frame(frame.id, jsonrpc.INVALID_PARAMS, "contexts must be a non-empty list of strings"),
                "bad contexts",
            )
        return Receive(frame.id, list(contexts), add=method == "signalwire.receive")
    if method == "signalwire.disconnect":
        return Goodbye(frame.id)
    if method == "signalwire.execute":  # the Blade-style envelope some generated clients still use
        inner_method, inner_params = params.get("method"), params.get("params", {})
        if not isinstance(inner_method, str) or not isinstance(inner_params, dict):
            return Reject(
                jsonrpc.error_frame(frame.id, jsonrpc.INVALID_PARAMS, "signalwire.execute needs method and params"),
                "bad execute",
            )
        return Execute(frame.id, inner_method, inner_params)
    return Execute(frame.id, method, params)


def connect_result(
    req_id: Any, *, protocol: str, sessionid: str, node_id: str, project: str, signature: str, restored: bool
) -> dict[str, Any]:
    return jsonrpc.result_frame(
        req_id,
        {
            "protocol": protocol,
            # realtime-api checks the old protocol against this signature before it asks to resume
            "authorization": {
                "project": project,
                "expires_at": None,
                "scopes": ["calling", "messaging", "tasking"],
                "signature": signature,
            },
            "identity": f"{project}@{node_id}",
            "sessionid": sessionid,
            "nodeid": node_id,
            "master_nodeid": node_id,
            "session_restored": restored,
            "subscriptions": [],
        },
    )


def ping_result(req_id: Any, timestamp: float) -> dict[str, Any]:
    return jsonrpc.result_frame(req_id, {"timestamp": timestamp})


def execute_result(req_id: Any, payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    out["code"] = str(out.get("code", "200"))
    out.setdefault("message", "OK")
    return jsonrpc.result_frame(req_id, out)


def receive_result(req_id: Any, add: bool) -> dict[str, Any]:
    message = "Receiving events" if add else "No longer receiving events"
    return jsonrpc.result_frame(req_id, {"code": "200", "message": message})


def event_frame(event: Event, *, event_id: str, timestamp: float) -> dict[str, Any]:
    if event.event_type == TASK_EVENT:  # realtime-api reads `context` and `message` from the outer params
        task = {"context": event.params.get("context"), "message": event.params.get("message")}
        return jsonrpc.request_frame(
            event_id,
            "signalwire.event",
            {"event_type": "queuing.relay.tasks", "timestamp": timestamp, **task, "params": task},
        )
    params = event.params
    if "timestamp" not in params:
        params = {**params, "timestamp": timestamp}
    return jsonrpc.request_frame(
        event_id, "signalwire.event", {"event_type": event.event_type, "timestamp": timestamp, "params": params}
    )


def disconnect_frame(event_id: str, restart: bool = False) -> dict[str, Any]:
    return jsonrpc.request_frame(event_id, "signalwire.disconnect", {"restart": restart})
