"""Incidents: opened by a workflow (`create_incident`), closed by it (`resolve_incident`) or cancelled from
the originating device (the sandbox action `{"cancel_incident": true}`, as a user cancelling an SOS).

The workflow instance that opened an incident gets `wf_api_incident_event` (`type`, `incident_id`,
`reason`) when it is resolved or cancelled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from relaybox.devices.model import Device


class Owner(Protocol):
    def emit(self, kind: str, /, **fields: Any) -> None: ...


@dataclass(eq=False)
class Incident:
    id: str
    owner: Owner
    type: str
    originator: Device | None
    state: str = "open"  # open | resolved | cancelled


class Incidents:
    def __init__(self) -> None:
        self._by_id: dict[str, Incident] = {}

    def get(self, incident_id: str) -> Incident | None:
        return self._by_id.get(incident_id)

    def create(self, owner: Owner, itype: str, originator: Device | None) -> Incident:
        incident = Incident("inc-" + uuid.uuid4().hex[:12], owner, itype, originator)
        self._by_id[incident.id] = incident
        return incident

    def resolve(self, incident: Incident, reason: Any) -> None:
        self._close(incident, "resolved", reason)

    def cancel_from(self, device: Device) -> int:
        """Cancel the open incidents `device` originated; how many there were."""
        mine = [i for i in self._by_id.values() if i.originator is device and i.state == "open"]
        for incident in mine:
            self._close(incident, "cancelled", f"cancelled on {device.name}")
        return len(mine)

    def forget_device(self, device: Device) -> None:
        for incident in self._by_id.values():
            if incident.originator is device:
                incident.originator = None

    def _close(self, incident: Incident, state: str, reason: Any) -> None:
        incident.state = state
        del self._by_id[incident.id]
        incident.owner.emit("incident", type=state, incident_id=incident.id, reason=reason)
