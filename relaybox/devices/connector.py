"""The I/O of workflow instances: relaybox connects OUT to the workflow's URI (aiohttp client WebSocket).

One connection per instance. The writer keeps frames in order and holds each event back until
`EVENT_GAP` (wall clock: it is about the SDK's socket reads, not platform time) after the last request
or response, because the JS SDK registers its prompt/speech listeners only after it has read the response
and would miss an event that arrived in the same read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from relaybox.devices.session import WorkflowSession
from relaybox.protocol.workflow import encode

log = logging.getLogger("relaybox.workflows")

CONNECT_TIMEOUT = 5.0
EVENT_GAP = 0.1
MAX_FRAME = 1 << 20  # the Python SDK refuses bigger frames


class WsLink:
    """Carries one instance's frames; implements `WorkflowLink`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: WorkflowSession) -> None:
        self.ws = ws
        self.session = session
        self._queue: asyncio.Queue[tuple[dict[str, Any], bool] | None] = asyncio.Queue()
        self._last_exchange = 0.0
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write())
        self._reader = loop.create_task(self._read())

    @property
    def done(self) -> asyncio.Task[None]:
        """Finishes once the last frame was written (or the socket failed)."""
        return self._writer

    def send(self, msg: dict[str, Any], is_response: bool) -> None:
        self._queue.put_nowait((msg, is_response))

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def _write(self) -> None:
        try:
            while (item := await self._queue.get()) is not None:
                msg, is_response = item
                if not is_response:
                    wait = self._last_exchange + EVENT_GAP - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                else:
                    self._last_exchange = time.monotonic()
                text = encode(msg)
                if len(text) > MAX_FRAME:
                    log.warning("workflow frame of %d bytes dropped (limit %d)", len(text), MAX_FRAME)
                    continue
                await self.ws.send_str(text)
            await asyncio.sleep(0.05)  # let the STOP event leave before the close frame
            await self.ws.close()
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            log.info("workflow socket write failed: %s", exc)
        finally:
            self._reader.cancel()
            self.session.connection_lost()

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._last_exchange = time.monotonic()
                    self.session.handle_frame(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    log.info("workflow sent a binary frame: ignored")
                else:
                    break
        except (ConnectionError, aiohttp.ClientError) as exc:
            log.info("workflow socket read failed: %s", exc)
        finally:
            if not self.session.ended:
                log.info("workflow %s closed the connection", self.session.registration.name)
                self.session.connection_lost()
                self._writer.cancel()
                with contextlib.suppress(Exception):
                    await self.ws.close()


class Connector:
    """Opens instance connections; one HTTP client session for all of them."""

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None
        self._links: set[WsLink] = set()

    async def __call__(self, uri: str, session: WorkflowSession) -> WsLink | None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        try:
            ws = await asyncio.wait_for(
                self._http.ws_connect(uri, autoping=True, max_msg_size=MAX_FRAME), CONNECT_TIMEOUT
            )
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.warning("cannot connect to workflow %s: %s", uri, exc)
            return None
        link = WsLink(ws, session)
        self._links.add(link)
        link.done.add_done_callback(lambda _: self._links.discard(link))
        return link

    async def close(self, grace: float = 1.0) -> None:
        """After the hub stopped its instances: let their STOP events and close frames go, then close."""
        pending = [link.done for link in self._links]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        if self._http is not None:
            await self._http.close()
