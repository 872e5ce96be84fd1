"""The WebSocket side of a link, on aiohttp: one writer task per socket keeps frames in order.

Closing from our side (shutdown, a client's `signalwire.disconnect`, a dropped link) waits for the
writer to drain, then stops the reader and runs aiohttp's closing handshake from the handler task,
which waits for the client's Close frame: closing from another task while `receive()` is pending
would drop TCP at once and reset a client that is still sending (acks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from relaybox.gateway.gateway import Gateway
from relaybox.gateway.link import Link
from relaybox.protocol.jsonrpc import MAX_FRAME_BYTES

log = logging.getLogger("relaybox.gateway")

CLOSE_TIMEOUT = 2.0  # seconds to wait for the client's Close frame


@dataclass(slots=True)
class _Close:
    code: int
    reason: str


class WsTransport:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | _Close] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.close_requested: asyncio.Future[_Close] = loop.create_future()
        self.task = loop.create_task(self._writer())

    def send_text(self, text: str) -> None:
        self.queue.put_nowait(text)

    def close(self, code: int, reason: str) -> None:
        self.queue.put_nowait(_Close(code, reason))

    async def _writer(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, _Close):
                if not self.close_requested.done():
                    self.close_requested.set_result(item)
                return
            try:
                await self.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return


async def _read(ws: web.WebSocketResponse, link: Link) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            link.receive_text(msg.data)
        elif msg.type == WSMsgType.BINARY:
            link.receive_binary()
        elif msg.type == WSMsgType.ERROR:
            log.info("%s: WebSocket error: %s", link.peer, ws.exception())
            break


async def serve_websocket(gateway: Gateway, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True, timeout=CLOSE_TIMEOUT)
    await ws.prepare(request)
    transport = WsTransport(ws)
    link = Link(gateway, transport, peer=f"{request.remote}")
    gateway.open_link(link)
    reader = asyncio.get_running_loop().create_task(_read(ws, link))
    try:
        waits: set[asyncio.Future[object]] = {reader, transport.close_requested}  # type: ignore[arg-type]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if transport.close_requested.done() and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            close = transport.close_requested.result()
            await ws.close(code=close.code, message=close.reason.encode())
    finally:
        if not reader.done():
            reader.cancel()
        gateway.close_link(link)
        transport.close(1000, "")  # let queued frames drain, then stop the writer
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(transport.task), CLOSE_TIMEOUT)
        if not transport.task.done():
            transport.task.cancel()
        log.debug("%s: WebSocket closed (%s)", link.peer, ws.close_code)
    return ws
