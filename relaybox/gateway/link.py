"""One client connection, independent of the socket library: text frames in, text frames out.

The first request picks the dialect (`blade.connect` -> v2, `signalwire.connect` -> v4); after that
every frame is decoded by that dialect's codec and acted on through the gateway. `Transport` is the
only I/O: the WebSocket server provides it, tests provide a list.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from relaybox.domain.errors import UnknownMethod
from relaybox.protocol import blade, flat, jsonrpc
from relaybox.protocol.commands import (
    Ack,
    Command,
    Connect,
    Execute,
    Goodbye,
    Ping,
    Receive,
    Reject,
    Setup,
    Subscribe,
)
from relaybox.protocol.jsonrpc import FrameError, Request, Response

if TYPE_CHECKING:
    from relaybox.gateway.gateway import Gateway
    from relaybox.gateway.session import Session

log = logging.getLogger("relaybox.gateway")

CONNECT_METHODS = {"blade.connect": blade, "signalwire.connect": flat}


class Transport(Protocol):
    def send_text(self, text: str) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class Link:
    def __init__(self, gateway: Gateway, transport: Transport, peer: str = "?") -> None:
        self.gateway = gateway
        self.transport = transport
        self.peer = peer
        self.dialect: ModuleType | None = None
        self.project: str | None = None  # set once authenticated
        self.sessionid: str | None = None
        self.session: Session | None = None
        self.closed = False

    # ----------------------------------------------------------------- input

    def receive_text(self, data: str) -> None:
        frame = jsonrpc.parse_frame(data)
        if isinstance(frame, FrameError):
            log.info("%s: bad frame (%s)", self.peer, frame.reason)
            if frame.reply is not None:
                self.send(frame.reply)
            return
        if self.project is None and isinstance(frame, Request) and frame.method in CONNECT_METHODS:
            self.dialect = CONNECT_METHODS[frame.method]  # until authenticated, a client may try either
        if self.dialect is None:
            if isinstance(frame, Request):
                self.send(
                    jsonrpc.error_frame(
                        frame.id,
                        jsonrpc.NOT_CONNECTED,
                        "Not connected: the first request must be blade.connect or signalwire.connect",
                    )
                )
            return
        command = self._decode(frame)
        try:
            self._handle(command)
        except Exception:  # the connection and the server outlive any bug in one command
            log.exception("%s: failed to handle %s", self.peer, type(command).__name__)
            req_id = getattr(command, "req_id", None)
            self.send(jsonrpc.error_frame(req_id, jsonrpc.INTERNAL_ERROR, "Internal error"))

    def receive_binary(self) -> None:
        log.info("%s: binary frame refused", self.peer)
        self.send(jsonrpc.error_frame(None, jsonrpc.INVALID_REQUEST, "Binary frames are not supported: send JSON text"))

    def connection_lost(self) -> None:
        if self.closed:
            return
        self.closed = True
        session, self.session = self.session, None
        if session is not None and session.link is self:
            self.gateway.detach(session)

    # ----------------------------------------------------------------- output

    def send(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            self.transport.send_text(jsonrpc.dumps(frame))

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.transport.close(code, reason)
            self.connection_lost()

    # ----------------------------------------------------------------- dispatch

    def _decode(self, frame: Request | Response) -> Command:
        if self.dialect is blade:
            if isinstance(frame, Response):
                return Ack(frame.id)  # v2 clients never answer; ignore
            return blade.decode(frame)
        return flat.decode(frame)

    def _handle(self, cmd: Command) -> None:
        gw = self.gateway
        if isinstance(cmd, Reject):
            if cmd.reply is not None:
                self.send(cmd.reply)
            return
        if isinstance(cmd, Ack):
            if self.session is not None:
                self.session.acked(cmd.req_id)
            return
        if isinstance(cmd, Ping):
            ts = time.time()
            self.send(blade.ping_result(cmd.req_id, ts) if self.dialect is blade else flat.ping_result(cmd.req_id, ts))
            return
        if isinstance(cmd, Connect):
            gw.connect(self, cmd)
            return
        if self.project is None:
            self.send(jsonrpc.error_frame(_req_id(cmd), jsonrpc.NOT_CONNECTED, "Not authenticated"))
            return
        if isinstance(cmd, Setup):
            gw.setup(self, cmd)
        elif isinstance(cmd, Subscribe):
            self._subscribe(cmd)
        elif isinstance(cmd, Receive):
            self._receive(cmd)
        elif isinstance(cmd, Goodbye):
            self.send(jsonrpc.result_frame(cmd.req_id, {}))
            session = self.session
            self.close(1000, "client disconnected")
            if session is not None:
                gw.end_session(session)
        elif isinstance(cmd, Execute):
            self._execute(cmd)

    def _subscribe(self, cmd: Subscribe) -> None:
        if self.session is None or cmd.protocol != self.session.id:
            self.send(jsonrpc.error_frame(cmd.req_id, jsonrpc.INVALID_PARAMS, "Unknown protocol: run setup first"))
            return
        self.send(blade.subscription_result(cmd.req_id, self.session.id, cmd.channels))

    def _receive(self, cmd: Receive) -> None:
        session = self.session
        if session is None:
            self.send(jsonrpc.error_frame(cmd.req_id, jsonrpc.NOT_CONNECTED, "No session: run setup first"))
            return
        if self.dialect is blade:
            message = (
                "Receiving all inbound related to the requested relay contexts and available scopes"
                if cmd.add else "No longer receiving the requested relay contexts"
            )
            payload = {"code": "200", "message": message}
            self.send(blade.execute_result(cmd.req_id, payload, session.id, self.gateway.node_id))
        else:
            self.send(flat.receive_result(cmd.req_id, cmd.add))
        if cmd.add:
            self.gateway.subscribe_later(session, cmd.contexts)
        else:
            self.gateway.router.unsubscribe(session, cmd.contexts)

    def _execute(self, cmd: Execute) -> None:
        gw = self.gateway
        session = self.session
        if session is None:
            self.send(jsonrpc.error_frame(cmd.req_id, jsonrpc.NOT_CONNECTED, "No session: run setup first"))
            return
        if cmd.protocol and cmd.protocol != session.id:
            gw.adopt(cmd.protocol, session)
        try:
            payload = gw.platform.execute(session, cmd.method, cmd.params)
        except UnknownMethod:
            self.send(
                jsonrpc.error_frame(cmd.req_id, jsonrpc.METHOD_NOT_FOUND, f"Method not found: {cmd.method}")
            )
            return
        if self.dialect is blade:
            self.send(blade.execute_result(cmd.req_id, payload, session.id, gw.node_id))
        else:
            self.send(flat.execute_result(cmd.req_id, payload))


def _req_id(cmd: Command) -> Any:
    return getattr(cmd, "req_id", None)
