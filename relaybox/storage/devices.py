"""SQLite tables for sandbox devices and device groups, in the same database and connection as `Store`.

Devices and groups are configuration, like workflow registrations: they commit at once and come back
after a restart with the same data dir (name, id, online state; groups with their members by device id).
"""

from __future__ import annotations

import json
import time
from typing import Any

from relaybox.storage.db import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    online INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS device_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    members TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class DeviceStore:
    """Implements the device hub's `DeviceStorage`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.flush()  # executescript commits whatever is open: let the batch go first
        with store._lock:
            store._db.executescript(SCHEMA)

    def devices(self) -> list[dict[str, Any]]:
        with self.store._lock:
            rows = self.store._db.execute(
                "SELECT id, name, online FROM sandbox_devices ORDER BY created_at, rowid").fetchall()
        return [{"id": r[0], "name": r[1], "online": bool(r[2])} for r in rows]

    def save_device(self, device_id: str, name: str, online: bool) -> None:
        self.store._write(
            "INSERT INTO sandbox_devices VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "online = excluded.online",
            (device_id, name, int(online), time.time()),
        )

    def delete_device(self, device_id: str) -> None:
        self.store._write("DELETE FROM sandbox_devices WHERE id = ?", (device_id,))

    def groups(self) -> list[dict[str, Any]]:
        with self.store._lock:
            rows = self.store._db.execute(
                "SELECT id, name, members FROM device_groups ORDER BY created_at, rowid").fetchall()
        return [{"id": r[0], "name": r[1], "members": json.loads(r[2])} for r in rows]

    def save_group(self, group_id: str, name: str, member_ids: list[str]) -> None:
        self.store._write(
            "INSERT INTO device_groups VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "members = excluded.members",
            (group_id, name, json.dumps(member_ids), time.time()),
        )

    def delete_group(self, group_id: str) -> None:
        self.store._write("DELETE FROM device_groups WHERE id = ?", (group_id,))
