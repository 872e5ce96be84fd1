"""The WebSocket side of a link, on aiohttp: one writer task per socket keeps frames in order."""

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


@dataclass(slots=True)
class _Close:
    code: int
    reason: str


class WsTransport:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | _Close] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._writer())

    def send_text(self, text: str) -> None:
        self.queue.put_nowait(text)

    def close(self, code: int, reason: str) -> None:
        self.queue.put_nowait(_Close(code, reason))

    async def _writer(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if isinstance(item, _Close):
                    await self.ws.close(code=item.code, message=item.reason.encode())
                    return
                await self.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return

    async def stop(self) -> None:
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def serve_websocket(gateway: Gateway, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True)
    await ws.prepare(request)
    transport = WsTransport(ws)
    link = Link(gateway, transport, peer=f"{request.remote}")
    gateway.open_link(link)
    log.debug("%s: WebSocket opened on %s", link.peer, request.path)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                link.receive_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                link.receive_binary()
            elif msg.type == WSMsgType.ERROR:
                log.info("%s: WebSocket error: %s", link.peer, ws.exception())
                break
    finally:
        gateway.close_link(link)
        # let queued frames (a shutdown's last events) drain before the writer goes
        transport.close(1000, "")
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(transport.task), 2.0)
        await transport.stop()
        log.debug("%s: WebSocket closed (%s)", link.peer, ws.close_code)
    return ws
