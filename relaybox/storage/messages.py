"""SQLite tables for messaging and tasks, in the same database (and connection) as `Store`.

It shares the Store's connection, lock and write-behind batch on purpose: a second connection
would wait on the batch transaction the Store keeps open between flushes. Creations (a message
accepted, a task posted) commit at once, before the client is answered; state changes and task
removals ride the batch.
"""

from __future__ import annotations

import json
from typing import Any

from relaybox.domain.messaging import Message
from relaybox.domain.tasking import Task
from relaybox.storage.db import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    direction TEXT NOT NULL,
    context TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    media TEXT NOT NULL,
    tags TEXT NOT NULL,
    region TEXT,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    sender TEXT,
    pending INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    history TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (pending);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    context TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
CREATE TABLE IF NOT EXISTS phone_messaging (
    number TEXT PRIMARY KEY,
    mode TEXT NOT NULL
);
"""

_COLUMNS = (
    "message_id, project, direction, context, from_number, to_number, body, media, tags, region, segments, "
    "encoding, state, reason, sender, pending, created_at, updated_at, history"
)


class MessageStore:
    """Implements the domain's `MessageLog` and `TaskLog`, plus the sandbox phones' messaging modes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.flush()  # executescript commits whatever is open: let the batch go first
        with store._lock:
            store._db.executescript(SCHEMA)

    # -- messages (MessageLog) ---------------------------------------------------------------------

    def message_created(self, message: Message) -> None:
        self.store._write(f"INSERT OR REPLACE INTO messages ({_COLUMNS}) VALUES ({', '.join('?' * 19)})",
                          self._row(message))

    def message_changed(self, message: Message) -> None:
        self.store._batch(
            "UPDATE messages SET state = ?, reason = ?, pending = ?, updated_at = ?, history = ? "
            "WHERE message_id = ?",
            (message.state, message.reason, int(message.pending), message.updated_at, json.dumps(message.history),
             message.message_id),
        )

    def unfinished_messages(self) -> list[Message]:
        rows = self._query(f"SELECT {_COLUMNS} FROM messages WHERE pending = 1 ORDER BY created_at", ())
        return [self._message(r) for r in rows]

    def messages(
        self,
        *,
        number: str | None = None,
        context: str | None = None,
        state: str | None = None,
        direction: str | None = None,
        to: str | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[Message]:
        where, args = [], []
        if number:
            where.append("(from_number = ? OR to_number = ?)")
            args += [number, number]
        for column, value in (("context", context), ("state", state), ("direction", direction), ("to_number", to)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_COLUMNS} FROM messages"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_at {'ASC' if oldest_first else 'DESC'}, rowid LIMIT ?"
        return [self._message(r) for r in self._query(sql, (*args, limit))]

    # -- tasks (TaskLog) -----------------------------------------------------------------------------

    def task_added(self, task: Task) -> None:
        self.store._write(
            "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
            (task.task_id, task.project, task.context, json.dumps(task.message), task.created_at, task.expires_at),
        )

    def task_done(self, task: Task) -> None:
        self.store._batch("DELETE FROM tasks WHERE task_id = ?", (task.task_id,))

    def pending_tasks(self) -> list[Task]:
        rows = self._query(
            "SELECT task_id, project, context, message, created_at, expires_at FROM tasks ORDER BY created_at, rowid",
            (),
        )
        return [Task(r[0], r[1], r[2], json.loads(r[3]), float(r[4]), float(r[5])) for r in rows]

    # -- sandbox phones' messaging behaviour ---------------------------------------------------------

    def save_phone_mode(self, number: str, mode: str) -> None:
        self.store._write(
            "INSERT INTO phone_messaging VALUES (?, ?) ON CONFLICT(number) DO UPDATE SET mode = excluded.mode",
            (number, mode),
        )

    def phone_modes(self) -> dict[str, str]:
        return {str(n): str(m) for n, m in self._query("SELECT number, mode FROM phone_messaging", ())}

    # -- plumbing --------------------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.store._lock:  # the same connection sees its own uncommitted batch
            return list(self.store._db.execute(sql, args).fetchall())

    @staticmethod
    def _row(m: Message) -> tuple[Any, ...]:
        return (
            m.message_id, m.project, m.direction, m.context, m.from_, m.to, m.body, json.dumps(m.media),
            json.dumps(m.tags), m.region, m.segments, m.encoding, m.state, m.reason, m.sender, int(m.pending),
            m.created_at, m.updated_at, json.dumps(m.history),
        )

    @staticmethod
    def _message(r: tuple[Any, ...]) -> Message:
        return Message(
            message_id=r[0], project=r[1], direction=r[2], context=r[3], from_=r[4], to=r[5], body=r[6],
            media=json.loads(r[7]), tags=json.loads(r[8]), region=r[9], segments=int(r[10]), encoding=r[11],
            state=r[12], reason=r[13], sender=r[14], pending=bool(r[15]), created_at=float(r[16]),
            updated_at=float(r[17]), history=json.loads(r[18]),
        )


def message_json(m: Message) -> dict[str, Any]:
    """A message as `GET /api/messages` lists it."""
    return {
        "id": m.message_id,
        "direction": m.direction,
        "context": m.context,
        "from": m.from_,
        "to": m.to,
        "body": m.body,
        "media": m.media,
        "tags": m.tags,
        "region": m.region,
        "segments": m.segments,
        "encoding": m.encoding,
        "state": m.state,
        "reason": m.reason,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "history": m.history,
    }
