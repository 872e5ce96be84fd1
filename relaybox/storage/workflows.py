"""SQLite table for workflow registrations, in the same database and connection as `Store`.

Registrations are configuration: they commit at once (through the Store's write path, which also
commits a pending call-history batch first).
"""

from __future__ import annotations

import json
import time
from typing import Any

from relaybox.storage.db import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class WorkflowStore:
    """Implements the device registry's `WorkflowStorage`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.flush()  # executescript commits whatever is open: let the batch go first
        with store._lock:
            store._db.executescript(SCHEMA)

    def records(self) -> list[dict[str, Any]]:
        with self.store._lock:
            rows = self.store._db.execute("SELECT record FROM workflows ORDER BY created_at, rowid").fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_workflow(self, name: str, record: dict[str, Any]) -> None:
        self.store._write(
            "INSERT INTO workflows VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET record = excluded.record",
            (name, json.dumps(record), time.time()),
        )

    def delete_workflow(self, name: str) -> None:
        self.store._write("DELETE FROM workflows WHERE name = ?", (name,))
