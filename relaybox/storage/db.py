"""SQLite store: credentials, numbers, phone scripts and call history.

Configuration writes (numbers, credentials, scripts) commit at once. Call-history writes are
batched: they commit every `FLUSH_SECONDS` and at shutdown, so a busy platform does not wait on
the disk for every state change.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from relaybox.domain.calls import Call, CallState

SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    project TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS numbers (
    number TEXT PRIMARY KEY,
    context TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS phone_scripts (
    number TEXT PRIMARY KEY,
    script TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    context TEXT NOT NULL,
    device_type TEXT NOT NULL,
    state TEXT NOT NULL,
    end_reason TEXT,
    created_at REAL NOT NULL,
    answered_at REAL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS calls_created ON calls (created_at);
CREATE TABLE IF NOT EXISTS sip_users (
    username TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sip_trunks (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sip_registrations (
    username TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
"""

FLUSH_SECONDS = 0.5


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "relaybox.sqlite3"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._dirty = False
        self._in_tx = False
        self._numbers: dict[str, str] = {
            n: c for n, c in self._db.execute("SELECT number, context FROM numbers")
        }

    # -- credentials -----------------------------------------------------------------------------

    def dev_credentials(self) -> tuple[str, str]:
        """The development pair: created once, then the same on every start."""
        row = self._db.execute("SELECT project, token FROM credentials ORDER BY created_at LIMIT 1").fetchone()
        if row:
            return str(row[0]), str(row[1])
        project = "dev-" + secrets.token_hex(8)
        token = "PT" + secrets.token_hex(24)
        self._write("INSERT INTO credentials VALUES (?, ?, ?)", (project, token, time.time()))
        return project, token

    # -- numbers ---------------------------------------------------------------------------------

    def context_for(self, number: str) -> str | None:
        return self._numbers.get(number)

    def set_number(self, number: str, context: str) -> None:
        self._write(
            "INSERT INTO numbers VALUES (?, ?, ?) ON CONFLICT(number) DO UPDATE SET context = excluded.context",
            (number, context, time.time()),
        )
        self._numbers[number] = context

    def delete_number(self, number: str) -> bool:
        existed = self._numbers.pop(number, None) is not None
        self._write("DELETE FROM numbers WHERE number = ?", (number,))
        return existed

    def numbers(self) -> list[dict[str, str]]:
        return [{"number": n, "context": c} for n, c in sorted(self._numbers.items())]

    # -- phone scripts ---------------------------------------------------------------------------

    def save_script(self, number: str, script: list[dict[str, Any]]) -> None:
        self._write(
            "INSERT INTO phone_scripts VALUES (?, ?, ?) "
            "ON CONFLICT(number) DO UPDATE SET script = excluded.script, updated_at = excluded.updated_at",
            (number, json.dumps(script), time.time()),
        )

    def scripts(self) -> dict[str, list[dict[str, Any]]]:
        return {n: json.loads(s) for n, s in self._db.execute("SELECT number, script FROM phone_scripts")}

    # -- call history (CallHistory) --------------------------------------------------------------

    # Times are wall-clock epochs (the history is a real record, even when --speed runs the sandbox fast).

    def call_created(self, call: Call) -> None:
        self._batch(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                call.call_id, call.project, call.direction, call.from_, call.to, call.context,
                str(call.device.get("type", "phone")), call.state.value, call.end_reason,
                time.time(), None, None,
            ),
        )

    def call_changed(self, call: Call) -> None:
        column = "answered_at" if call.state is CallState.ANSWERED else "ended_at"
        self._batch(
            f"UPDATE calls SET state = ?, end_reason = ?, {column} = ? WHERE call_id = ?",
            (call.state.value, call.end_reason, time.time(), call.call_id),
        )

    def calls(self, *, number: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        self.flush()
        sql = "SELECT * FROM calls"
        args: tuple[Any, ...] = ()
        if number:
            sql += " WHERE from_number = ? OR to_number = ?"
            args = (number, number)
        sql += " ORDER BY created_at DESC LIMIT ?"
        cur = self._db.execute(sql, (*args, limit))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    # -- plumbing --------------------------------------------------------------------------------

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)
            if self._in_tx:
                self._db.execute("COMMIT")
                self._in_tx = False
                self._dirty = False

    def _batch(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            if not self._in_tx:
                self._db.execute("BEGIN")
                self._in_tx = True
            self._db.execute(sql, args)
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if self._in_tx:
                self._db.execute("COMMIT")
                self._in_tx = False
                self._dirty = False

    def close(self) -> None:
        self.flush()
        self._db.close()
