"""A small per-object event registry (handlers may be plain functions or coroutine functions).

Unlike a module-global registry, every Client and Call owns its own handlers, so two clients in one process
never see each other's events.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("relaybox.relay")

Handler = Callable[..., Any]
_orphans: set[asyncio.Future[Any]] = set()


def _accepts_args(handler: Handler) -> bool:
    """False for handlers that take no positional argument (the docs show `def on_answered(): ...`)."""
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):
        return True
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return True
    return False


async def cancel_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel TASKS (all but the one running this) and wait until they have ended."""
    current = asyncio.current_task()
    pending = [t for t in tasks if t is not current and not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


class TaskSet:
    """Tasks spawned on behalf of one client, so that they can be cancelled on disconnect."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("handler failed: %r", task.exception(), exc_info=task.exception())

    async def cancel_all(self) -> None:
        await cancel_tasks(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)


def invoke(handler: Handler, args: tuple[Any, ...], tasks: TaskSet | None = None) -> None:
    """Call HANDLER with ARGS (or none, if it takes none); coroutines are scheduled as tasks."""
    call_args = args if _accepts_args(handler) else ()
    try:
        result = handler(*call_args)
    except Exception:
        log.exception("event handler %r raised", handler)
        return
    if inspect.isawaitable(result):
        if tasks is not None:
            tasks.spawn(result)
        else:
            _orphans.add(asyncio.ensure_future(result))
            for t in [t for t in _orphans if t.done()]:
                _orphans.discard(t)


class Emitter:
    """Named events with an ordered list of handlers each."""

    def __init__(self, tasks: TaskSet | None = None) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks = tasks

    def on(self, event: str, handler: Handler) -> None:
        self._handlers.setdefault(event.strip(), []).append(handler)

    def off(self, event: str, handler: Handler | None = None) -> None:
        event = event.strip()
        if handler is None:
            self._handlers.pop(event, None)
            return
        handlers = self._handlers.get(event, [])
        for i, h in enumerate(handlers):
            if h == handler:
                del handlers[i]
                break
        if not handlers:
            self._handlers.pop(event, None)

    def has(self, event: str) -> bool:
        return bool(self._handlers.get(event.strip()))

    def emit(self, event: str, *args: Any) -> bool:
        handlers = list(self._handlers.get(event.strip(), ()))
        for handler in handlers:
            invoke(handler, args, self._tasks)
        return bool(handlers)

    def clear(self) -> None:
        self._handlers.clear()
