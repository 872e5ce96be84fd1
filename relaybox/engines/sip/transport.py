"""SIP over UDP and TCP with asyncio: bytes in, bytes out; everything else is the engine's.

TCP connections are kept per remote address, so responses and in-dialog requests reuse the
connection a request came on (RFC 3261 18.2.2); outbound TCP opens one on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from relaybox.sip.message import Request, Response, SipParseError, StreamParser, parse

log = logging.getLogger("relaybox.sip")

Addr = tuple[str, int]
Handler = Callable[[Request | Response | SipParseError, Addr, str], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive
        try:
            msg: Request | Response | SipParseError = parse(data)
        except SipParseError as exc:
            msg = exc
        except Exception as exc:  # the parser must never take the server down
            log.exception("sip: parser failure on a datagram from %s", addr)
            msg = SipParseError(f"unparseable: {exc}")
        self.handler(msg, (addr[0], addr[1]), "UDP")

    def error_received(self, exc: Exception) -> None:
        log.debug("sip udp: %s", exc)


class SipTransports:
    def __init__(self, host: str, port: int, handler: Handler) -> None:
        self.host = host
        self.port = port
        self.handler = handler
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp_server: asyncio.Server | None = None
        self.streams: dict[Addr, asyncio.StreamWriter] = {}
        self._connecting: dict[Addr, asyncio.Task[asyncio.StreamWriter | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.handler), local_addr=(self.host, self.port), family=family)
        self.port = self.udp.get_extra_info("sockname")[1]  # with port 0, TCP takes the same number
        self.tcp_server = await asyncio.start_server(self._accept, self.host, self.port, family=family)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr: Addr = (peer[0], peer[1])
        self.streams[addr] = writer
        await self._read(addr, reader, writer)

    async def _read(self, addr: Addr, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = StreamParser()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in parser.feed(data):
                    self.handler(msg, addr, "TCP")
        except (ConnectionError, OSError):
            pass
        except Exception:
            log.exception("sip tcp: reader for %s failed", addr)
        finally:
            if self.streams.get(addr) is writer:
                del self.streams[addr]
            writer.close()

    def send(self, message: Request | Response, addr: Addr, transport: str) -> None:
        data = message.serialize()
        if transport.upper() == "UDP":
            if self.udp is not None:
                self.udp.sendto(data, addr)
            return
        writer = self.streams.get(addr)
        if writer is not None and not writer.is_closing():
            writer.write(data)
            return
        task = asyncio.get_running_loop().create_task(self._send_tcp(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_tcp(self, data: bytes, addr: Addr) -> None:
        pending = self._connecting.get(addr)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._connect(addr))
            self._connecting[addr] = pending
        writer = await pending
        self._connecting.pop(addr, None)
        if writer is not None:
            writer.write(data)

    async def _connect(self, addr: Addr) -> asyncio.StreamWriter | None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(addr[0], addr[1]), 5.0)
        except (TimeoutError, OSError) as exc:
            log.info("sip tcp: cannot connect to %s:%d: %s", addr[0], addr[1], exc)
            return None
        self.streams[addr] = writer
        task = asyncio.get_running_loop().create_task(self._read(addr, reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return writer

    def local_host_for(self, remote_host: str) -> str:
        """The address to put in Via/Contact/SDP for a peer at REMOTE_HOST."""
        if self.host not in ("0.0.0.0", "::", ""):
            return self.host
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((remote_host, 9))
                return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"

    async def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp_server is not None:
            self.tcp_server.close()
        for writer in list(self.streams.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
