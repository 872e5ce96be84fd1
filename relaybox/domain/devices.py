"""Dial/connect targets: validated and normalised to `{"type", "params"}`.

Both the nested form (`{"type":"phone","params":{...}}`) and the flat one some clients send
(`{"type":"phone","to_number":...}`) are accepted; everything the client sent is kept on the leg
(SIP headers and codecs included).
"""

from __future__ import annotations

import re
from typing import Any

from relaybox.domain.errors import bad_request

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
SIP_URI = re.compile(r"^sips?:[^\s@]+(@[^\s]+)?$", re.IGNORECASE)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
DEFAULT_TIMEOUT = 30.0  # seconds a leg rings before it is given up (noAnswer)
MAX_TIMEOUT = 600.0


def is_phone_number(value: str) -> bool:
    return bool(E164.match(value))


def is_sip_uri(value: str) -> bool:
    return bool(SIP_URI.match(value))


def _number(params: dict[str, Any], key: str, where: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not is_phone_number(value):
        raise bad_request(f"{where}: '{key}' must be a phone number in E.164 form (+15551230000), got {value!r}")
    return value


def _timeout(params: dict[str, Any], where: str) -> None:
    for key in ("timeout", "max_duration"):
        if key not in params or params[key] is None:
            continue
        value = params[key]
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise bad_request(f"{where}: '{key}' must be a number of seconds") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= (
            MAX_TIMEOUT if key == "timeout" else 86400
        ):
            raise bad_request(f"{where}: '{key}' must be a positive number of seconds")
        params[key] = value


def normalize_device(device: Any, where: str = "device", defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(device, dict):
        raise bad_request(f"{where} must be an object")
    dtype = device.get("type", "phone")
    raw = device.get("params")
    if raw is None:
        raw = {k: v for k, v in device.items() if k != "type"}
    if not isinstance(raw, dict):
        raise bad_request(f"{where}.params must be an object")
    params = dict(raw)
    for key, value in (defaults or {}).items():
        params.setdefault(key, value)
    if dtype == "phone":
        params.setdefault("to_number", params.pop("to", None))
        params.setdefault("from_number", params.pop("from", None))
        _number(params, "to_number", where)
        _number(params, "from_number", where)
    elif dtype == "sip":
        # signalwire 2.x (Python) sends every device as from_number/to_number, a SIP one included
        for key in ("to", "from"):
            if params.get(key) is None and params.get(f"{key}_number") is not None:
                params[key] = params[f"{key}_number"]
        to = params.get("to")
        if not isinstance(to, str) or not is_sip_uri(to):
            raise bad_request(f"{where}: 'to' must be a SIP URI (sip:user@host), got {to!r}")
        frm = params.get("from")
        if frm is not None and (not isinstance(frm, str) or not (is_sip_uri(frm) or is_phone_number(frm))):
            raise bad_request(f"{where}: 'from' must be a SIP URI or a phone number, got {frm!r}")
        _headers(params.get("headers"), where)
        codecs = params.get("codecs")
        if codecs is not None and (
            not isinstance(codecs, list) or not all(isinstance(c, str) and c for c in codecs)
        ):
            raise bad_request(f"{where}: 'codecs' must be a list of codec names")
    else:
        raise bad_request(f"{where}: unsupported device type {dtype!r} (phone or sip)")
    _timeout(params, where)
    return {"type": dtype, "params": params}


def _headers(headers: Any, where: str) -> None:
    if headers is None:
        return
    if not isinstance(headers, list):
        raise bad_request(f"{where}: 'headers' must be a list of {{name, value}}")
    for header in headers:
        if (
            not isinstance(header, dict)
            or not isinstance(header.get("name"), str)
            or not HEADER_NAME.match(header["name"])
            or not isinstance(header.get("value"), str)
            or "\r" in header["value"]
            or "\n" in header["value"]
        ):
            raise bad_request(f"{where}: bad SIP header {header!r} (want {{'name': token, 'value': string}})")


def normalize_groups(devices: Any, defaults: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
    """`devices` is serial groups of parallel devices; a flat list means one device per group."""
    if not isinstance(devices, list) or not devices:
        raise bad_request("'devices' must be a non-empty list")
    groups: list[list[dict[str, Any]]] = []
    for i, entry in enumerate(devices):
        members = entry if isinstance(entry, list) else [entry]
        if not members:
            raise bad_request(f"devices[{i}] is an empty group")
        groups.append(
            [normalize_device(dev, f"devices[{i}][{j}]", defaults) for j, dev in enumerate(members)]
        )
    return groups


def leg_timeout(device: dict[str, Any]) -> float:
    value = device["params"].get("timeout")
    return float(value) if value else DEFAULT_TIMEOUT
