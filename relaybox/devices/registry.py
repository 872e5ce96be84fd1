"""Workflow registrations: the vendor CLI's JSON record, validated, and which one a trigger starts.

A record is what `relay workflow create ...` POSTs: `{"name", "options", "config": {"trigger": {"start":
{"workflow": {"uri", "args"}}, "on_<kind>": VALUE}}, "install": [ids] | "install_rule": URN}`. relaybox
keys registrations by name (re-posting a name replaces it, as the vendor's update does).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from relaybox.devices import schedule, sensors
from relaybox.devices.groups import Group, Groups
from relaybox.devices.model import Device
from relaybox.protocol.workflow import ALL_DEVICES, parse_urn

TRIGGER_KEYS = frozenset(
    {
        "on_phrases", "on_phrase", "on_button", "on_incoming_call", "on_call_request", "on_http", "on_timer",
        "on_device_event", "on_battery_charge", "on_battery_discharge", "on_geofence", "on_position", "on_nfc",
    }
)
BUTTON_TRIGGERS = {
    "single": "action_button_single_tap",
    "double": "action_button_double_tap",
    "triple": "action_button_triple_tap",
    "long": "action_button_long_press",
}
RECORD_FIELDS = frozenset({"name", "options", "config", "install", "install_rule", "workflow_id"})
ABSORBABLE = frozenset({"on_call_request", "on_incoming_call"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class RegistrationError(ValueError):
    pass


@dataclass
class Registration:
    name: str
    uri: str
    args: dict[str, Any]
    trigger: str  # the on_* key
    value: Any
    install: list[str]
    install_rule: str | None
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    def installed_on(self, device: Device, groups: list[Group] | None = None) -> bool:
        """On the device: by id or name, by `install_rule` all devices, or a group rule naming one of `groups`."""
        if self.install_rule == ALL_DEVICES:
            return True
        if self.install_rule is not None and groups:
            urn = parse_urn(self.install_rule)
            if urn is not None and urn.resource == "group":
                folded = urn.value.casefold()
                return any((g.name.casefold() == folded) if urn.id_type == "name" else (g.id == urn.value)
                           for g in groups)
        return device.id in self.install or device.name in self.install

    @property
    def absorbs(self) -> frozenset[str]:
        """The call triggers a running instance takes in instead of a new instance starting."""
        options = self.record.get("options")
        raw = options.get("absorb_triggers") if isinstance(options, dict) else None
        return frozenset(raw) if isinstance(raw, list) else frozenset()

    @property
    def phrases(self) -> list[str]:
        value = self.value if isinstance(self.value, list) else [self.value]
        return [str(p).lower().strip() for p in value if str(p).strip()]


def parse_record(raw: Any) -> Registration:
    """Validate a posted record; errors are reasons meant for a 400."""
    if not isinstance(raw, dict):
        raise RegistrationError("the workflow definition must be a JSON object")
    unknown = set(raw) - RECORD_FIELDS
    if unknown:
        raise RegistrationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128 or "/" in name:
        raise RegistrationError("'name' must be a non-empty string of at most 128 characters without '/'")
    config = raw.get("config")
    if isinstance(config, str):  # the vendor sometimes carries config as a JSON string
        try:
            config = json.loads(config)
        except ValueError:
            raise RegistrationError("'config' is not valid JSON") from None
    trigger = config.get("trigger") if isinstance(config, dict) else None
    if not isinstance(trigger, dict):
        raise RegistrationError("'config.trigger' must be an object")
    start = trigger.get("start")
    workflow = start.get("workflow") if isinstance(start, dict) else None
    uri = workflow.get("uri") if isinstance(workflow, dict) else None
    if not isinstance(uri, str) or not uri.startswith(("ws://", "wss://")) or len(uri) < 8:
        raise RegistrationError("'config.trigger.start.workflow.uri' must be a ws:// or wss:// URI")
    assert isinstance(workflow, dict)
    args = workflow.get("args") or {}
    if not isinstance(args, dict):
        raise RegistrationError("'config.trigger.start.workflow.args' must be an object")
    keys = [k for k in trigger if k != "start"]
    if len(keys) != 1 or keys[0] not in TRIGGER_KEYS:
        raise RegistrationError(f"'config.trigger' needs exactly one of {', '.join(sorted(TRIGGER_KEYS))}")
    key = keys[0]
    value = trigger[key]
    if key in ("on_phrases", "on_phrase") and not (
        (isinstance(value, str) and value.strip())
        or (isinstance(value, list) and value and all(isinstance(p, str) and p.strip() for p in value))
    ):
        raise RegistrationError(f"'{key}' must be a phrase or a list of phrases")
    if key == "on_button" and value not in BUTTON_TRIGGERS.values():
        raise RegistrationError(f"'on_button' must be one of {', '.join(BUTTON_TRIGGERS.values())}")
    if key == "on_timer":
        try:
            schedule.validate(value)
        except schedule.ScheduleError as exc:
            raise RegistrationError(str(exc)) from None
    if key in sensors.SENSOR_TRIGGERS:
        try:
            sensors.validate(key, value)
        except sensors.SensorError as exc:
            raise RegistrationError(str(exc)) from None
    if key == "on_http" and value not in HTTP_METHODS:
        raise RegistrationError(f"'on_http' must be an HTTP method: {', '.join(sorted(HTTP_METHODS))}")
    options = raw.get("options", {})
    if not isinstance(options, dict):
        raise RegistrationError("'options' must be an object")
    absorb = options.get("absorb_triggers", [])
    if not isinstance(absorb, list) or not set(absorb) <= ABSORBABLE:
        raise RegistrationError("'options.absorb_triggers' must be a list of on_call_request, on_incoming_call")
    install = raw.get("install")
    rule = raw.get("install_rule")
    if (install is None) == (rule is None):
        raise RegistrationError("exactly one of 'install' (device ids) and 'install_rule' is required")
    if install is not None and not (
        isinstance(install, list) and install and all(isinstance(i, str) and i for i in install)
    ):
        raise RegistrationError("'install' must be a non-empty list of device ids")
    if rule is not None and not (isinstance(rule, str) and (rule == ALL_DEVICES or (
            (urn := parse_urn(rule)) is not None and urn.resource == "group" and urn.device is None))):
        raise RegistrationError("'install_rule' must be urn:relay-resource:all:device or a group URN "
                                "(urn:relay-resource:name:group:NAME)")
    record = dict(raw)
    record["config"] = config
    record.setdefault("workflow_id", f"wf_{name}_{secrets.token_hex(4)}")
    return Registration(name, uri, dict(args), key, value, list(install or []), rule, record)


class WorkflowStorage(Protocol):
    def save_workflow(self, name: str, record: dict[str, Any]) -> None: ...
    def delete_workflow(self, name: str) -> None: ...


class Registry:
    """Registrations in order of creation, persisted through `storage`."""

    def __init__(self, storage: WorkflowStorage | None = None, records: list[dict[str, Any]] | None = None) -> None:
        self.storage = storage
        self.groups: Groups | None = None  # set by the hub: group install rules need it
        self._by_name: dict[str, Registration] = {}
        for record in records or []:
            try:
                reg = parse_record(record)
            except RegistrationError:
                continue
            self._by_name[reg.name] = reg

    def add(self, raw: Any) -> Registration:
        reg = parse_record(raw)
        old = self._by_name.pop(reg.name, None)
        if old is not None and "workflow_id" not in raw:
            reg.record["workflow_id"] = old.record["workflow_id"]
        self._by_name[reg.name] = reg
        if self.storage is not None:
            self.storage.save_workflow(reg.name, reg.record)
        return reg

    def remove(self, name: str) -> bool:
        existed = self._by_name.pop(name, None) is not None
        if existed and self.storage is not None:
            self.storage.delete_workflow(name)
        return existed

    def get(self, name: str) -> Registration | None:
        return self._by_name.get(name)

    def all(self) -> list[Registration]:
        return list(self._by_name.values())

    def _matching(self, device: Device, key: str) -> list[Registration]:
        """Installed on `device` with trigger `key`; per-device installs before install-all, newest first."""
        groups = self.groups.of(device) if self.groups is not None else []
        regs = [r for r in self._by_name.values() if r.trigger == key and r.installed_on(device, groups)]
        regs.reverse()
        return sorted(regs, key=lambda r: r.install_rule is not None)

    def installed(self, reg: Registration, devices: list[Device]) -> list[Device]:
        """The devices among `devices` that `reg` is installed on."""
        return [d for d in devices if reg.installed_on(d, self.groups.of(d) if self.groups is not None else [])]

    def call_workflow(self, device: Device, direction: str) -> Registration | None:
        regs = self._matching(device, "on_incoming_call" if direction == "inbound" else "on_call_request")
        return regs[0] if regs else None

    def sensor_workflows(self, device: Device, reading: sensors.Reading) -> list[Registration]:
        """Every registration on `device` whose sensor trigger matches `reading` (each starts an instance)."""
        return [r for r in self._matching(device, reading.key) if reading.matches(r.value)]

    def button_workflow(self, device: Device, taps: str) -> Registration | None:
        regs = [r for r in self._matching(device, "on_button") if r.value == BUTTON_TRIGGERS.get(taps)]
        return regs[0] if regs else None

    def phrase_workflow(self, device: Device, text: str) -> tuple[Registration, str, str] | None:
        """The registration whose phrase starts what was said: (it, the phrase, the rest)."""
        said = " ".join(text.lower().split())
        best: tuple[Registration, str, str] | None = None
        for reg in self._matching(device, "on_phrases") + self._matching(device, "on_phrase"):
            for phrase in reg.phrases:
                if (said == phrase or said.startswith(phrase + " ")) and (best is None or len(phrase) > len(best[1])):
                    best = (reg, phrase, said[len(phrase):].strip())
        return best
