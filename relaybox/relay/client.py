"""`Relay.Client`: the basic connection to RELAY (v2 Blade dialect)."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import warnings
from typing import TYPE_CHECKING, Any

import aiohttp

from . import blade
from ._emitter import Emitter, Handler, TaskSet
from .constants import BladeMethod, Constants, WebSocketEvents, resolve_host

if TYPE_CHECKING:
    from .calling import Calling
    from .messaging import Messaging
    from .tasking import Tasking

log = logging.getLogger("relaybox.relay")


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop


class Client:
    """Relay.Client: the basic connection to Relay, to send commands and set up handlers for inbound events.

    | parameter | type | required | description |
    | --- | --- | --- | --- |
    | `project` | string | required | Project ID from your SignalWire Space |
    | `token` | string | required | Token from your SignalWire Space |
    | `host` | string | optional | RELAY host (`ws://host:port` and `wss://...` are used verbatim, a bare host gets `wss://`). Defaults to `$RELAYBOX_HOST`, then `$SIGNALWIRE_HOST`, then `relay.signalwire.com`. |

    Properties: `connected` (bool), `calling` (Relay.Calling), `tasking` (Relay.Tasking),
    `messaging` (Relay.Messaging).

    Events (`client.on(event, handler)`): `ready`, `signalwire.socket.open`, `signalwire.socket.error`,
    `signalwire.socket.message`, `signalwire.socket.close`.
    """

    PING_DELAY = 10.0
    RECONNECT_DELAY = 5.0

    def __init__(self, project: str, token: str, host: str | None = None) -> None:
        self.loop = _event_loop()
        self.host = resolve_host(host)
        self.project = project
        self.token = token
        self.session_id: str | None = None
        self.signature: str | None = None
        self.protocol: str | None = None
        self.contexts: list[str] = []
        self._tasks = TaskSet()
        self._events = Emitter(self._tasks)
        self._calling: Calling | None = None
        self._tasking: Tasking | None = None
        self._messaging: Messaging | None = None
        self._requests: dict[str, asyncio.Future[Any]] = {}
        self._queue: list[blade.Message] = []
        self._idle = False
        self._reconnect = True
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong = True
        self._ready = False
        self._inflight: set[str] = set()
        self._run_task: asyncio.Task[None] | None = None
        self._signals_attached = False
        self.attach_signals()
        if not logging.getLogger().handlers:  # like the reference SDK: the examples' logging.info() shows
            logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper())

    # -- properties ------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True if the client is connected to Relay."""
        return self._ws is not None and not self._ws.closed

    @property
    def calling(self) -> Calling:
        """The Relay.Calling instance of this client."""
        if self._calling is None:
            from .calling import Calling

            self._calling = Calling(self)
        return self._calling

    @property
    def tasking(self) -> Tasking:
        """The Relay.Tasking instance of this client."""
        if self._tasking is None:
            from .tasking import Tasking

            self._tasking = Tasking(self)
        return self._tasking

    @property
    def messaging(self) -> Messaging:
        """The Relay.Messaging instance of this client."""
        if self._messaging is None:
            from .messaging import Messaging

            self._messaging = Messaging(self)
        return self._messaging

    @property
    def url(self) -> str:
        """The WebSocket URL this client connects to."""
        return blade.ws_url(self.host)

    # -- events ----------------------------------------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None, *, callback: Handler | None = None) -> Client:
        """Attach an event handler (a function or a coroutine function) for EVENT. Returns the client.

        | parameter | type | description |
        | --- | --- | --- |
        | `event` | str | required: `ready`, `signalwire.socket.open`, `signalwire.socket.error`, `signalwire.socket.message`, `signalwire.socket.close`. |
        | `handler` | function | required: function to call when the event comes (`callback=`, signalwire 2.1.1's name, also works). |
        """
        fn = handler if handler is not None else callback
        if fn is None:
            raise TypeError("Client.on() needs a handler")
        self._events.on(event, fn)
        return self

    def off(self, event: str, handler: Handler | None = None, *, callback: Handler | None = None) -> Client:
        """Remove HANDLER (by reference) from EVENT, or every handler of EVENT. Returns the client.

        | parameter | type | description |
        | --- | --- | --- |
        | `event` | str | required: the event name. |
        | `handler` | function | optional: the handler to remove, by reference (same object as given to `on`); without it, all. |
        """
        self._events.off(event, handler if handler is not None else callback)
        return self

    def _trigger(self, event: str, *args: Any) -> None:
        self._events.emit(event, *args)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    # -- connection ------------------------------------------------------------------------------------

    def connect(self) -> asyncio.Task[None] | None:
        """Activate the connection to Relay (and keep it up, reconnecting, until `disconnect()`).

        Outside a running event loop this blocks until the client is disconnected (like the reference
        SDK). Inside a coroutine it starts the connection as a task of the running loop and returns it.
        """
        if _has_running_loop():
            self._run_task = asyncio.ensure_future(self._run())
            return self._run_task
        self.loop.run_until_complete(self._run())
        return None

    async def _run(self) -> None:
        # the loop that runs the connection (a client built outside `asyncio.run` then connected inside it)
        self.loop = asyncio.get_running_loop()
        self._reconnect = True
        while self._reconnect:
            await self._connect_once()
            if not self._reconnect:
                break
            log.info("connection closed; reconnecting in %.1f s", self.RECONNECT_DELAY)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(self.RECONNECT_DELAY)
        await self._close_session()

    async def _connect_once(self) -> None:
        try:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession()
            self._ws = await self._session.ws_connect(self.url, autoping=True, max_msg_size=0)
        except (aiohttp.ClientError, OSError) as error:
            log.warning("%s seems down: %s", self.host, error)
            self._trigger(WebSocketEvents.ERROR, error)
            return
        self._spawn(self._on_socket_open())
        ws = self._ws
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._on_text(msg.data)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    self._trigger(WebSocketEvents.ERROR, ws.exception())
                    break
        except Exception as error:  # a broken socket
            self._trigger(WebSocketEvents.ERROR, error)
        finally:
            self._on_socket_close()

    async def _close_session(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def disconnect(self) -> None:
        """Close the Relay connection, stop reconnecting and cancel the client's pending tasks."""
        log.info("disconnecting")
        self._idle = True
        self._reconnect = False
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(blade.RelayError("client disconnected"))
        await self._tasks.cancel_all()
        self.detach_signals()

    def handle_signal(self) -> None:
        self._spawn(self.disconnect())

    def attach_signals(self) -> None:
        """SIGHUP, SIGTERM and SIGINT disconnect the client gracefully."""
        for name in ("SIGHUP", "SIGTERM", "SIGINT"):
            with contextlib.suppress(Exception):
                self.loop.add_signal_handler(getattr(signal, name), self.handle_signal)
                self._signals_attached = True

    def detach_signals(self) -> None:
        if not self._signals_attached:
            return
        for name in ("SIGHUP", "SIGTERM", "SIGINT"):
            with contextlib.suppress(Exception):
                self.loop.remove_signal_handler(getattr(signal, name))
        self._signals_attached = False

    async def _on_socket_open(self) -> None:
        try:
            self._idle = False
            self._trigger(WebSocketEvents.OPEN)
            result = await self.execute(blade.connect(self.project, self.token, sessionid=self.session_id))
            self.session_id = result["sessionid"]
            self.signature = result["authorization"]["signature"]
            response = await self.execute(blade.setup(self.protocol, self.signature))
            self.protocol = response["result"]["protocol"]
            await self.execute(blade.subscription(self.protocol))
            self._flush_queue()
            self._pong = True
            self._keepalive()
            self._ready = True
            log.info("client connected (protocol %s)", self.protocol)
            self._trigger(Constants.READY, self)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("client setup error: %s", error)
            if self._ws is not None:
                await self._ws.close()

    def _on_socket_close(self) -> None:
        if self._ping_handle is not None:
            self._ping_handle.cancel()
            self._ping_handle = None
        self.contexts = []
        self._ready = False
        # responses to requests sent on this socket will never come: fail them
        for rid in list(self._inflight):
            fut = self._requests.get(rid)
            if fut is not None and not fut.done():
                fut.set_exception(blade.RelayError("connection closed"))
        self._inflight.clear()
        self._trigger(WebSocketEvents.CLOSE)

    def _keepalive(self) -> None:
        async def send_ping() -> None:
            if not self._pong:
                log.warning("ping unanswered: closing the socket")
                if self._ws is not None:
                    await self._ws.close()
                return
            self._pong = False
            with contextlib.suppress(Exception):
                await self.execute(blade.ping())
                self._pong = True

        self._spawn(send_ping())
        self._ping_handle = self.loop.call_later(self.PING_DELAY, self._keepalive)

    def _flush_queue(self) -> None:
        queued, self._queue = self._queue, []
        for message in queued:
            if (
                message.method == BladeMethod.EXECUTE
                and message.params
                and self.protocol
                and str(message.params.get("protocol", "")).startswith("signalwire_")
            ):
                message.params["protocol"] = self.protocol
            self._spawn(self._send(message))

    async def _send(self, message: blade.Message) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            self._queue.append(message)
            return
        log.debug("SEND %s", message.to_json())
        self._inflight.add(message.id)
        await ws.send_str(message.to_json())

    async def execute(self, message: blade.Message) -> Any:
        """Send a Blade request and wait for its response: the outer `result`; RelayError on failure.

        While the client is idle (the server said blade.disconnect) or not connected, requests other than
        the handshake are queued and sent after the next successful connect.
        """
        fut = self._requests.get(message.id)
        if fut is None:
            fut = self.loop.create_future()
            self._requests[message.id] = fut
        handshake = (
            message.method in (BladeMethod.CONNECT,)
            or (message.method == BladeMethod.EXECUTE and (message.params or {}).get("protocol") == "signalwire")
            or (message.method == BladeMethod.SUBSCRIPTION and not self._ready)
        )
        try:
            if (self._idle or not self.connected) and not handshake:
                self._queue.append(message)
            else:
                await self._send(message)
            return await fut
        finally:
            self._requests.pop(message.id, None)
            self._inflight.discard(message.id)

    def _on_text(self, text: str) -> None:
        try:
            msg = blade.Message.from_json(text)
        except ValueError:
            log.warning("ignoring a frame that is not a JSON object: %.200s", text)
            return
        log.debug("RECV %s", text)
        self._trigger(WebSocketEvents.MESSAGE, msg)
        fut = self._requests.get(msg.id)
        if fut is not None and msg.method is None:
            if fut.done():
                return
            try:
                fut.set_result(blade.judge(msg))
            except blade.RelayError as error:
                fut.set_exception(error)
            return
        self._handle_server_request(msg)

    def _handle_server_request(self, msg: blade.Message) -> None:
        if msg.method == BladeMethod.BROADCAST:
            params = msg.params or {}
            if params.get("protocol") != self.protocol:
                log.warning("event for another protocol ignored")
                return
            inner = params.get("params")
            if not isinstance(inner, dict):
                return
            event = params.get("event")
            try:
                if event == "queuing.relay.events":
                    self.calling.notification_handler(inner)
                elif event == "queuing.relay.tasks":
                    self.tasking.notification_handler(inner)
                elif event == "queuing.relay.messaging":
                    self.messaging.notification_handler(inner)
            except Exception:
                log.exception("error handling a %s event", event)
        elif msg.method == BladeMethod.DISCONNECT:
            self._idle = True


def _has_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
