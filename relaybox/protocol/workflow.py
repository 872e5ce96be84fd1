"""The Relay workflow protocol (`wf_api_*` messages), sans-I/O: URNs, decoding requests, building events.

The platform is the WebSocket *client* here; the workflow server sends `wf_api_<x>_request`s with an
`_id`, and gets back `wf_api_<x>_response` (same `_id`) or `wf_api_error_response`. Events never carry an
`_id` (the JS SDK would take one for a response). See `relay-workflow-protocol.md`.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import orjson

URN_PREFIX = "urn:relay-resource"
ALL_DEVICES = "urn:relay-resource:all:device"
_REQUEST = re.compile(r"^wf_api_([a-z0-9_]+)_request$")


class ProtocolError(Exception):
    """A frame that is not a workflow request; `request_id` is set when an error response can be sent."""

    def __init__(self, reason: str, request_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Request:
    """One decoded request: `name` is the `<x>` of `wf_api_<x>_request`."""

    name: str
    id: str
    body: dict[str, Any]

    @property
    def targets(self) -> list[str]:
        """The `_target` URNs; lenient as the spec asks: a string, a list, or `{"uris": [...]}`."""
        return targets_of(self.body.get("_target"))


def targets_of(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, dict):
        raw = raw.get("uris")
    if isinstance(raw, list) and all(isinstance(u, str) for u in raw):
        return list(raw)
    return []


def decode_request(frame: str | bytes) -> Request:
    try:
        msg = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise ProtocolError("malformed_json") from None
    if not isinstance(msg, dict):
        raise ProtocolError("not_an_object")
    rid = msg.get("_id")
    rid = rid if isinstance(rid, str) and rid else None
    kind = msg.get("_type")
    if not isinstance(kind, str):
        raise ProtocolError("missing_type", rid)
    m = _REQUEST.match(kind)
    if m is None:
        raise ProtocolError("unknown_request_type", rid)
    if rid is None and m.group(1) != "terminate":
        raise ProtocolError("missing_id")
    return Request(m.group(1), rid or "", msg)


def response(req: Request, /, **fields: Any) -> dict[str, Any]:
    """The answer to `req`: its name with `_response`, its `_id` copied."""
    return {"_type": f"wf_api_{req.name}_response", "_id": req.id, **fields}


def error_response(request_id: str, reason: str) -> dict[str, Any]:
    return {"_type": "wf_api_error_response", "_id": request_id, "error": reason}


def event(kind: str, /, **fields: Any) -> dict[str, Any]:
    """An unsolicited event `wf_api_<name>_event`; never has an `_id`."""
    return {"_type": f"wf_api_{kind}_event", **fields}


def encode(msg: Any) -> str:
    return orjson.dumps(msg).decode()


# -- URNs --------------------------------------------------------------------------------------------


def device_name_urn(name: str) -> str:
    return f"{URN_PREFIX}:name:device:{urllib.parse.quote(name, safe='')}"


def device_id_urn(device_id: str) -> str:
    return f"{URN_PREFIX}:id:device:{urllib.parse.quote(device_id, safe='')}"


def group_name_urn(name: str) -> str:
    return f"{URN_PREFIX}:name:group:{urllib.parse.quote(name, safe='')}"


def interaction_urn(name: str, device_name: str) -> str:
    """As the SDK parsers expect: both parts in `name` form, the device URN percent-encoded."""
    return (
        f"{URN_PREFIX}:name:interaction:{urllib.parse.quote(name, safe='')}"
        f"?device={urllib.parse.quote(device_name_urn(device_name), safe='')}"
    )


@dataclass(frozen=True, slots=True)
class Urn:
    id_type: str  # name | id | all
    resource: str  # device | group | interaction | server
    value: str  # decoded name or id ("" for `all`)
    device: Urn | None = None  # the `?device=` part (interactions, group members)


def parse_urn(uri: str) -> Urn | None:
    """A Relay URN, or None when `uri` is not one (callers answer `invalid_uri`)."""
    if not isinstance(uri, str) or not uri.startswith(URN_PREFIX + ":"):
        return None
    base, _, query = uri.partition("?")
    parts = base.split(":")
    if parts[2:4] == ["all", "device"] and len(parts) == 4:
        return Urn("all", "device", "")
    if len(parts) != 5 or parts[2] not in ("name", "id") or not parts[4]:
        return None
    if parts[3] not in ("device", "group", "interaction", "server"):
        return None
    inner: Urn | None = None
    if query:
        params = urllib.parse.parse_qs(query)
        if "device" in params:
            inner = parse_urn(params["device"][0])
            if inner is None or inner.resource != "device":
                return None
    return Urn(parts[2], parts[3], urllib.parse.unquote(parts[4]), inner)
