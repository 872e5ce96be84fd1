"""Sensor triggers: device events (emergency), battery thresholds, geofences, indoor positions, NFC tags.

Registration values, as the vendor's CLI writes them (`relay-workflow-protocol.md` section 7):

    on_device_event: "emergency"                     create event --trigger emergency
    on_battery_charge | on_battery_discharge: 25      create battery --trigger charge|discharge --threshold 25
    on_geofence: {geofence_id, transition}            create geofence --trigger entry|exit --id G
    on_position: {venue_id, position_id, transition}  create position --trigger entry|exit -v V -p P
    on_nfc: {type, category?, label?, ...}            create nfc --type custom|user_profile ...

The sandbox fires them from device actions (`{"device_event": ...}`, `{"battery": N}`, `{"geofence": G,
"transition": ...}`, `{"position": {...}}`, `{"nfc": ...}`); `Reading` says which registrations match a
reading and what START trigger they get. Trigger types follow the SDKs' list (the mapping is inferred):
`emergency` for the emergency device event, `geofence`, `nfc` (`uid`, `nfc_payload`), `other` for the rest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relaybox.devices.model import Device

SENSOR_TRIGGERS = frozenset({"on_device_event", "on_battery_charge", "on_battery_discharge", "on_geofence",
                             "on_position", "on_nfc"})
TRANSITIONS = ("entry", "exit")
NFC_TYPES = ("custom", "user_profile")
EVENT_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class SensorError(ValueError):
    """A bad registration value or device action; the text is the reason."""


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= 128


def validate(key: str, value: Any) -> None:
    """Check the value of a sensor trigger key at registration."""
    if key == "on_device_event":
        if not isinstance(value, str) or not EVENT_RE.match(value):
            raise SensorError("'on_device_event' must be a device event name such as 'emergency'")
    elif key in ("on_battery_charge", "on_battery_discharge"):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
            raise SensorError(f"'{key}' must be a battery threshold in percent (0-100)")
    elif key == "on_geofence":
        if not isinstance(value, dict) or set(value) != {"geofence_id", "transition"} \
                or not _text(value["geofence_id"]) or value["transition"] not in TRANSITIONS:
            raise SensorError("'on_geofence' must be {\"geofence_id\": ID, \"transition\": \"entry\"|\"exit\"}")
    elif key == "on_position":
        if not isinstance(value, dict) or set(value) != {"venue_id", "position_id", "transition"} \
                or not _text(value["venue_id"]) or not _text(value["position_id"]) \
                or value["transition"] not in TRANSITIONS:
            raise SensorError("'on_position' must be {\"venue_id\", \"position_id\", \"transition\": "
                              "\"entry\"|\"exit\"}")
    elif key == "on_nfc" and (not isinstance(value, dict) or value.get("type") not in NFC_TYPES
                              or not all(isinstance(k, str) and _text(v) for k, v in value.items())):
        raise SensorError("'on_nfc' must be {\"type\": \"custom\"|\"user_profile\", \"category\"?, "
                              "\"label\"?, ...} with string values")


@dataclass
class Reading:
    """What a device sensed: the trigger key it concerns, which registration values match, the START trigger."""

    key: str
    matches: Callable[[Any], bool]
    type: str
    args: dict[str, Any]

    def trigger(self, source_uri: str) -> dict[str, Any]:
        return {"type": self.type, "args": {**self.args, "source_uri": source_uri}}


def _equals(wanted: dict[str, Any]) -> Callable[[Any], bool]:
    return lambda value: value == wanted


def device_event(device: Device, event: Any) -> list[Reading]:
    if not isinstance(event, str) or not EVENT_RE.match(event):
        raise SensorError("'device_event' must be an event name such as 'emergency'")
    if event == "emergency":
        device.mode = "emergency_sos"
    kind = "emergency" if event == "emergency" else "other"
    return [Reading("on_device_event", lambda v: v == event, kind, {"event": event})]


def battery(device: Device, level: Any, charging: Any = None) -> list[Reading]:
    """A new battery level: discharge thresholds crossed going down, charge thresholds going up."""
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
        raise SensorError("'battery' must be a whole percentage, 0-100")
    if charging is not None and not isinstance(charging, bool):
        raise SensorError("'charging' must be true or false")
    old = device.battery
    device.charging = charging if charging is not None else (level > old if level != old else device.charging)
    device.battery = level
    status = "charging" if device.charging else "discharging"
    args = {"battery": level, "battery_status": status}
    if device.charging:
        return [Reading("on_battery_charge", lambda v: old < v <= level, "other", args)]
    return [Reading("on_battery_discharge", lambda v: level <= v < old, "other", args)]


def geofence(device: Device, geofence_id: Any, transition: Any) -> list[Reading]:
    if not _text(geofence_id) or transition not in TRANSITIONS:
        raise SensorError("a geofence action is {\"geofence\": ID, \"transition\": \"entry\"|\"exit\"}")
    inside = geofence_id in device.geofences
    if (transition == "entry") == inside:
        return []  # no crossing: already inside (or outside)
    (device.geofences.add if transition == "entry" else device.geofences.discard)(geofence_id)
    crossing = {"geofence_id": geofence_id, "transition": transition}
    return [Reading("on_geofence", _equals(crossing), "geofence", crossing)]


def position(device: Device, where: Any) -> list[Reading]:
    """The device moves to an indoor position (or none): an exit of the old one, an entry to the new one."""
    if where is not None and not (isinstance(where, dict) and set(where) == {"venue_id", "position_id"}
                                  and _text(where["venue_id"]) and _text(where["position_id"])):
        raise SensorError("'position' must be {\"venue_id\", \"position_id\"} or null")
    old, device.position = device.position, (dict(where) if where is not None else None)
    if old == device.position:
        return []
    out: list[Reading] = []
    for pos, transition in ((old, "exit"), (device.position, "entry")):
        if pos is not None:
            wanted = {**pos, "transition": transition}
            out.append(Reading("on_position", _equals(wanted), "other", wanted))
    return out


def nfc(device: Device, tag: Any) -> list[Reading]:
    """A tag tapped: `"LABEL"` (a custom tag) or `{"uid"?, "type"?, "category"?, "label"?, ...}`; a registration
    matches when every field it names equals the tag's."""
    if isinstance(tag, str) and _text(tag):
        tag = {"type": "custom", "label": tag}
    if not isinstance(tag, dict) or not tag or not all(isinstance(k, str) and _text(v) for k, v in tag.items()):
        raise SensorError("'nfc' must be a tag label or an object of string fields (uid, type, category, label...)")
    payload = {k: v for k, v in tag.items() if k != "uid"}
    payload.setdefault("type", "custom")
    uid = tag.get("uid") or hashlib.sha1(repr(sorted(payload.items())).encode()).hexdigest()[:14].upper()

    def matches(value: Any) -> bool:
        return isinstance(value, dict) and all(payload.get(k) == v for k, v in value.items())

    return [Reading("on_nfc", matches, "nfc", {"uid": uid, "nfc_payload": payload})]
