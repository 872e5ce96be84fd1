"""`HttpWebhooks`: the domain's `Webhooks` over aiohttp. Each request runs in the background (the event loop
never waits on a customer's server), with a timeout, and is retried a little on a network failure or a 5xx
answer; what still fails is logged at warning with its URL. Requests to one URL go out in the order they
were sent (cXML receivers expect a conference's events in order; SequenceNumber says it too)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger("relaybox.webhooks")

TIMEOUT = 10.0  # seconds for one attempt
RETRIES = 2  # attempts after the first
BACKOFF = 1.0  # seconds before the first retry (doubled each time)
USER_AGENT = "relaybox-webhooks"


class HttpWebhooks:
    def __init__(self, timeout: float = TIMEOUT, retries: int = RETRIES, backoff: float = BACKOFF) -> None:
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._tails: dict[str, asyncio.Task[None]] = {}  # URL -> its last request (the next one waits for it)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0  # requests answered 2xx-4xx (a 4xx is the receiver's word: not retried)
        self.failed = 0

    def send(self, url: str, method: str, params: dict[str, str], *, json: bool = False) -> None:
        before = self._tails.get(url)
        task = asyncio.get_running_loop().create_task(self._run(before, url, method, params, json))
        self._tails[url] = task
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(url, t))

    def _done(self, url: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._tails.get(url) is task:
            del self._tails[url]

    async def _run(self, before: asyncio.Task[None] | None, url: str, method: str, params: dict[str, str],
                   json: bool) -> None:
        if before is not None:
            await asyncio.wait([before])
        kwargs: dict[str, Any] = {"params": params} if method == "GET" else {"json": params} if json \
            else {"data": params}
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                                 headers={"User-Agent": USER_AGENT}) as session, \
                        session.request(method, url, **kwargs) as resp:
                    await resp.read()
                    if resp.status < 500:
                        if resp.status >= 400:
                            log.warning("webhook %s %s answered HTTP %s", method, url, resp.status)
                        self.sent += 1
                        return
                    problem = f"HTTP {resp.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem = f"{exc.__class__.__name__} {exc}".strip()
            if attempt < self.retries:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning("webhook %s %s failed after %d attempts: %s", method, url, self.retries + 1, problem)

    async def drain(self) -> None:
        """Wait for the requests under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
