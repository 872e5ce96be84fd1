"""Tasks (`Relay.Task.deliver`): a JSON message posted over REST, handed to ONE consumer of a context.

A task nobody can take yet (no online session that receives the context and understands tasks) is
kept, in the task log too, and handed over when a consumer subscribes, for up to `TASK_TTL`
platform seconds; then it is dropped with a log line. Tasks are removed from the log once handed
to a session (at-least-once: a crash in the write-behind window may deliver one twice).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from relaybox.clock import Clock, Timer
from relaybox.domain.routing import Router, Subscriber
from relaybox.protocol.events import TASK_EVENT, Event

log = logging.getLogger("relaybox.tasks")

TASK_TTL = 24 * 3600.0  # platform seconds an undelivered task is kept


@dataclass(slots=True)
class Task:
    task_id: str
    project: str
    context: str
    message: Any
    created_at: float  # epoch (platform clock)
    expires_at: float


class TaskLog(Protocol):
    def task_added(self, task: Task) -> None:
        """Committed before the REST call answers 204."""

    def task_done(self, task: Task) -> None: ...

    def pending_tasks(self) -> list[Task]: ...


class Tasking:
    def __init__(self, *, clock: Clock, router: Router, store: TaskLog, ttl: float = TASK_TTL) -> None:
        self.clock = clock
        self.router = router
        self.store = store
        self.ttl = ttl
        self._waiting: dict[tuple[str, str], deque[Task]] = {}
        self._timers: dict[str, Timer] = {}
        router.on_available(self._subscriber_available)

    def deliver(self, project: str, context: str, message: Any) -> Task:
        now = self.clock.timestamp()
        task = Task(str(uuid.uuid4()), project, context, message, now, now + self.ttl)
        self.store.task_added(task)
        log.info("task %s posted for context %r", task.task_id, context)
        self._offer(task)
        return task

    def _offer(self, task: Task) -> None:
        key = (task.project, task.context)
        sub = None if self._waiting.get(key) else self.router.pick(task.project, task.context, event_type=TASK_EVENT)
        if sub is None:
            self._waiting.setdefault(key, deque()).append(task)
            remaining = task.expires_at - self.clock.timestamp()
            self._timers[task.task_id] = self.clock.call_later(remaining, lambda: self._expire(task))
            log.info("task %s waits for a consumer of context %r", task.task_id, task.context)
            return
        self._hand_over(sub, task)

    def _hand_over(self, sub: Subscriber, task: Task) -> None:
        timer = self._timers.pop(task.task_id, None)
        if timer is not None:
            timer.cancel()
        sub.deliver(Event(TASK_EVENT, {"context": task.context, "message": task.message}, context=task.context))
        self.store.task_done(task)
        log.info("task %s delivered to session %s (context %r)", task.task_id, sub.id, task.context)

    def _expire(self, task: Task) -> None:
        self._timers.pop(task.task_id, None)
        key = (task.project, task.context)
        queue = self._waiting.get(key)
        if queue is None or task not in queue:
            return
        queue.remove(task)
        if not queue:
            del self._waiting[key]
        self.store.task_done(task)
        log.info("task %s expired: no consumer of context %r took it", task.task_id, task.context)

    def _subscriber_available(self, sub: Subscriber, contexts: list[str]) -> None:
        if not sub.accepts(TASK_EVENT):
            return
        for context in contexts:
            key = (sub.project, context)
            queue = self._waiting.get(key)
            while queue and sub.online:
                self._hand_over(sub, queue.popleft())
            if queue is not None and not queue:
                self._waiting.pop(key, None)

    def resume(self) -> int:
        """After a restart: queue (or expire) the tasks nobody took before."""
        tasks = self.store.pending_tasks()
        for task in tasks:
            if task.expires_at <= self.clock.timestamp():
                self.store.task_done(task)
                log.info("task %s expired while relaybox was down", task.task_id)
            else:
                self._offer(task)
        return len(tasks)

    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())
