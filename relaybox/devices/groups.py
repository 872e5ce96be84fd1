"""Device groups: a named set of devices that workflows address with one URN.

`urn:relay-resource:name:group:Front%20Desk` (or `...:id:group:<id>`) targets every member;
`...:group:Front%20Desk?device=<device URN>` is one member (the form `group_query is_member` asks about).
Members are kept by device id, so a renamed device stays in its groups.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from relaybox.devices.model import NAME_RE, Device

GROUP_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class GroupError(ValueError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(eq=False)
class Group:
    name: str
    id: str
    members: list[str] = field(default_factory=list)  # device ids, in the order they joined


class GroupStorage(Protocol):
    def save_group(self, group_id: str, name: str, member_ids: list[str]) -> None: ...
    def delete_group(self, group_id: str) -> None: ...


class Groups:
    def __init__(self, storage: GroupStorage | None = None) -> None:
        self.storage = storage
        self._by_id: dict[str, Group] = {}

    def load(self, group_id: str, name: str, members: list[str]) -> None:
        self._by_id[group_id] = Group(name, group_id, list(members))

    def all(self) -> list[Group]:
        return list(self._by_id.values())

    def find(self, name: str) -> Group | None:
        folded = " ".join(name.split()).casefold()
        return next((g for g in self._by_id.values() if g.name.casefold() == folded), None)

    def find_by_id(self, group_id: str) -> Group | None:
        return self._by_id.get(group_id)

    def create(self, name: object, members: list[Device], group_id: object = None) -> Group:
        if not isinstance(name, str) or not NAME_RE.match(name) or name != name.strip():
            raise GroupError("a group 'name' must be 1-64 characters, without ':', '?', '/', '#' or '%'")
        if group_id is None:
            group_id = "grp-" + secrets.token_hex(6)
        if not isinstance(group_id, str) or not GROUP_ID_RE.match(group_id):
            raise GroupError("a group 'id' must be 1-64 letters, digits, '.', '_' or '-'")
        if self.find(name) is not None or group_id in self._by_id:
            raise GroupError(f"a group named {name} exists" if self.find(name) else f"group id {group_id} exists", 409)
        group = Group(name, group_id, [])
        self._by_id[group_id] = group
        self.add_members(group, members)
        return group

    def delete(self, group: Group) -> None:
        self._by_id.pop(group.id, None)
        if self.storage is not None:
            self.storage.delete_group(group.id)

    def add_members(self, group: Group, devices: list[Device]) -> None:
        for device in devices:
            if device.id not in group.members:
                group.members.append(device.id)
        self._save(group)

    def remove_members(self, group: Group, devices: list[Device]) -> None:
        ids = {d.id for d in devices}
        group.members = [m for m in group.members if m not in ids]
        self._save(group)

    def forget_device(self, device: Device) -> None:
        for group in self._by_id.values():
            if device.id in group.members:
                self.remove_members(group, [device])

    def of(self, device: Device) -> list[Group]:
        return [g for g in self._by_id.values() if device.id in g.members]

    def _save(self, group: Group) -> None:
        if self.storage is not None:
            self.storage.save_group(group.id, group.name, group.members)
