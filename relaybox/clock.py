"""The platform clock: every timer in the domain goes through it, so `--speed` scales them all.

Real SIP/RTP media uses the wall clock; the sandbox and the domain use this one. Tests can use
`ManualClock` to step time without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    """Platform time runs `speed` times faster than the wall clock."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        """Platform seconds since the clock started (monotonic)."""
        return (time.monotonic() - self._mono0) * self.speed

    def timestamp(self) -> float:
        """Epoch-like timestamp for events and storage: start time plus platform time elapsed."""
        return self.epoch(self.now())

    def epoch(self, platform_seconds: float) -> float:
        """The epoch timestamp of a platform-clock reading."""
        return self._wall0 + platform_seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, seconds) / self.speed, callback)


class _ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock(Clock):
    """A clock that only moves when told to: `await clock.advance(5)` runs every timer due."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self._now = 0.0
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, _ManualTimer, Callable[[], None]]] = []

    def now(self) -> float:
        return self._now

    def epoch(self, platform_seconds: float) -> float:
        return 1_700_000_000.0 + platform_seconds

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer()
        heapq.heappush(self._heap, (self._now + max(0.0, seconds), next(self._seq), timer, callback))
        return timer

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        self.call_later(seconds, wake)
        await fut

    async def advance(self, seconds: float) -> None:
        """Move time forward, firing timers in order and letting woken tasks run between them."""
        target = self._now + seconds
        await _settle()
        while self._heap and self._heap[0][0] <= target:
            due, _, timer, callback = heapq.heappop(self._heap)
            self._now = max(self._now, due)
            if not timer.cancelled:
                callback()
            await _settle()
        self._now = target
        await _settle()


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)
