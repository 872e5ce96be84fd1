"""RelayClient: the v4 (flat dialect) RELAY client of seed 004."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from .._emitter import cancel_tasks
from .call import Call
from .event import RelayError, RelayEvent
from .message import Message

log = logging.getLogger("relaybox.relay.v4")

DEFAULT_HOST = "relay.signalwire.com"
AGENT = "relaybox-relay-python/0.1.0"
VERSION = {"major": 2, "minor": 0, "revision": 0}
REQUEST_TIMEOUT = 10.0
PING_INTERVAL = 30.0
RECONNECT_MIN_DELAY = 1.0
RECONNECT_MAX_DELAY = 30.0
MAX_AUTH_ATTEMPTS = 3
_SUCCESS = re.compile(r"^2\d\d$")

CallHandler = Callable[[Call], Any]
MessageHandler = Callable[[Message], Any]


def ws_url(host: str) -> str:
    """ws:// and wss:// URLs are used verbatim; a bare host (`space.signalwire.com`, `127.0.0.1:8080`) gets wss://."""
    return host if re.match(r"^wss?://", host) else f"wss://{host}"


def judge(method: str, msg: dict[str, Any]) -> dict[str, Any]:
    """The result of a response frame, or RelayError (wire spec §3.1)."""
    if "error" in msg:
        err = msg["error"]
        if not isinstance(err, dict):
            raise RelayError(-1, str(err))
        raise RelayError(
            int(err.get("code", -1)) if str(err.get("code", "-1")).lstrip("-").isdigit() else -1,
            str(err.get("message", "Unknown error")),
        )
    result = msg.get("result")
    if not isinstance(result, dict):
        return {"raw": result}
    if method != "signalwire.connect" and result.get("code") is not None and not _SUCCESS.match(str(result["code"])):
        code = str(result["code"])
        raise RelayError(int(code) if code.isdigit() else -1, str(result.get("message", "Unknown error")))
    return result


class RelayClient:
    """The v4 RELAY client.

    | parameter | type | description |
    | --- | --- | --- |
    | `project` | str | Project ID (default `$SIGNALWIRE_PROJECT_ID`). |
    | `token` | str | API token (default `$SIGNALWIRE_API_TOKEN`). |
    | `jwt_token` | str | JWT instead of project/token (default `$SIGNALWIRE_JWT_TOKEN`). |
    | `host` | str | Space host or `ws://`/`wss://` URL (default `$RELAYBOX_HOST`, `$SIGNALWIRE_SPACE`, `$SIGNALWIRE_HOST`, relay.signalwire.com). |
    | `contexts` | list[str] | Contexts to receive inbound calls and messages on. |
    | `max_active_calls` | int | Inbound calls beyond this are dropped (default 1000). |

    `@client.on_call` / `@client.on_message` register handlers; `client.run()` connects and serves with
    automatic reconnect (SIGINT/SIGTERM stop it); `await client.connect()` / `async with client:` for scripts.
    """

    def __init__(
        self,
        project: str | None = None,
        token: str | None = None,
        jwt_token: str | None = None,
        host: str | None = None,
        contexts: list[str] | None = None,
        max_active_calls: int | None = None,
    ) -> None:
        self.project = project or os.environ.get("SIGNALWIRE_PROJECT_ID", "")
        self.token = token or os.environ.get("SIGNALWIRE_API_TOKEN", "")
        self.jwt_token = jwt_token or os.environ.get("SIGNALWIRE_JWT_TOKEN", "")
        self.host = (
            host
            or os.environ.get("RELAYBOX_HOST")
            or os.environ.get("SIGNALWIRE_SPACE")
            or os.environ.get("SIGNALWIRE_HOST")
            or DEFAULT_HOST
        )
        self.contexts = list(contexts or [])
        if not self.jwt_token:
            if not self.project:
                raise ValueError("project is required: pass project=... or set SIGNALWIRE_PROJECT_ID")
            if not self.token:
                raise ValueError("token is required: pass token=... or set SIGNALWIRE_API_TOKEN")
        self.max_active_calls = max(1, max_active_calls) if max_active_calls else 1000
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._queue: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._calls: dict[str, Call] = {}
        self._messages: dict[str, Message] = {}
        self._pending_dials: dict[str, asyncio.Future[Call]] = {}
        self._on_call: CallHandler | None = None
        self._on_message: MessageHandler | None = None
        self._recv_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._bg: set[asyncio.Task[Any]] = set()
        self._connected = False
        self._closing = False
        self._protocol = ""
        self._authorization_state = ""
        self._session_id = ""
        self._identity = ""

    # -- public ----------------------------------------------------------------------------------------

    @property
    def relay_protocol(self) -> str:
        """The protocol (session) string the server assigned."""
        return self._protocol

    @property
    def url(self) -> str:
        return ws_url(self.host)

    def on_call(self, handler: CallHandler) -> CallHandler:
        """Decorator: HANDLER(call) runs for every inbound call on the client's contexts."""
        self._on_call = handler
        return handler

    def on_message(self, handler: MessageHandler) -> MessageHandler:
        """Decorator: HANDLER(message) runs for every inbound message on the client's contexts."""
        self._on_message = handler
        return handler

    async def __aenter__(self) -> RelayClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        """Open the WebSocket and authenticate (signalwire.connect)."""
        self._closing = False
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url, autoping=True, max_msg_size=0)
        self._recv_task = asyncio.ensure_future(self._recv_loop(self._ws))
        params: dict[str, Any] = {"version": dict(VERSION), "agent": AGENT, "event_acks": True}
        params["authentication"] = (
            {"jwt_token": self.jwt_token} if self.jwt_token else {"project": self.project, "token": self.token}
        )
        if self.contexts:
            params["contexts"] = list(self.contexts)
        if self._protocol:
            params["protocol"] = self._protocol
        if self._authorization_state:
            params["authorization_state"] = self._authorization_state
        try:
            result = await self._request("signalwire.connect", params, queue=False)
        except BaseException:
            await self._close_ws()
            raise
        self._protocol = str(result.get("protocol", self._protocol) or "")
        self._identity = str(result.get("identity", ""))
        self._session_id = str(result.get("sessionid", ""))
        self._connected = True
        self._ping_task = asyncio.ensure_future(self._ping_loop())
        queued, self._queue = self._queue, []
        for frame, fut in queued:
            self._spawn(self._send_queued(frame, fut))

    async def disconnect(self) -> None:
        """Close the connection (no reconnect)."""
        self._closing = True
        await self._close_ws()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        await cancel_tasks(self._bg)

    async def execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send any RELAY request; the result dict, or RelayError."""
        return await self._request(method, params)

    async def dial(
        self,
        devices: list[list[dict[str, Any]]],
        *,
        tag: str | None = None,
        max_duration: int | None = None,
        dial_timeout: float | None = None,
    ) -> Call:
        """Dial out (`calling.dial`): DEVICES is a serial list of parallel lists. Returns the answered Call;
        RelayError if the dial fails or `dial_timeout` (default 120 s) passes."""
        dial_tag = tag or str(uuid.uuid4())
        params: dict[str, Any] = {"tag": dial_tag, "devices": devices}
        if max_duration:
            params["max_duration"] = max_duration
        fut: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._pending_dials[dial_tag] = fut
        try:
            await self.execute("calling.dial", params)
            return await asyncio.wait_for(fut, dial_timeout if dial_timeout is not None else 120.0)
        except TimeoutError:
            raise RelayError(-1, f"Dial timed out waiting for answer (tag={dial_tag})") from None
        finally:
            self._pending_dials.pop(dial_tag, None)

    async def send_message(
        self,
        *,
        to_number: str,
        from_number: str,
        context: str | None = None,
        body: str | None = None,
        media: list[str] | None = None,
        tags: list[str] | None = None,
        region: str | None = None,
        on_completed: Callable[[RelayEvent], Any] | None = None,
    ) -> Message:
        """Send an SMS/MMS (`messaging.send`); returns a Message whose `wait()` ends on its final state."""
        if not body and not media:
            raise ValueError("At least one of body or media is required")
        ctx = context or self._protocol or "default"
        params: dict[str, Any] = {"context": ctx, "to_number": to_number, "from_number": from_number}
        for k, v in (("body", body), ("media", media), ("tags", tags), ("region", region)):
            if v:
                params[k] = v
        result = await self.execute("messaging.send", params)
        message = Message(
            message_id=str(result.get("message_id", "")),
            context=ctx,
            direction="outbound",
            from_number=from_number,
            to_number=to_number,
            body=body or "",
            media=media,
            tags=tags,
            state="queued",
        )
        message._on_completed = on_completed
        if message.message_id:
            self._messages[message.message_id] = message
        return message

    async def receive(self, contexts: list[str]) -> None:
        """Also receive inbound events of CONTEXTS (`signalwire.receive`)."""
        if contexts:
            await self._request("signalwire.receive", {"contexts": list(contexts)})

    async def unreceive(self, contexts: list[str]) -> None:
        """Stop receiving CONTEXTS (`signalwire.unreceive`)."""
        if contexts:
            await self._request("signalwire.unreceive", {"contexts": list(contexts)})

    def run(self) -> None:
        """Connect and serve until SIGINT/SIGTERM, reconnecting (1 s backoff doubling to 30 s)."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._run_forever())

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.add_signal_handler(sig, lambda: self._spawn(self._shutdown()))
        delay = RECONNECT_MIN_DELAY
        authenticated = False
        rejections = 0
        while not self._closing:
            try:
                await self.connect()
                authenticated = True
                delay = RECONNECT_MIN_DELAY
                if self._recv_task is not None:
                    await self._recv_task
            except asyncio.CancelledError:
                break
            except RelayError as exc:
                if not authenticated:
                    rejections += 1
                    if rejections >= MAX_AUTH_ATTEMPTS:
                        await self.disconnect()
                        raise
                log.warning("connect failed: %s", exc)
            except Exception as exc:
                log.warning("connection error: %s", exc)
            if self._closing:
                break
            log.info("reconnecting in %.1f s", delay)
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                break
            delay = min(delay * 2, RECONNECT_MAX_DELAY)
        await self.disconnect()

    async def _shutdown(self) -> None:
        self._closing = True
        await self._close_ws()

    # -- plumbing --------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)
        return task

    async def _close_ws(self) -> None:
        self._connected = False
        for task in (self._ping_task,):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def _request(self, method: str, params: dict[str, Any], queue: bool = True) -> dict[str, Any]:
        frame = {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if queue and not self._connected:
            if len(self._queue) >= 500:
                raise RelayError(-1, "request queue full")
            self._queue.append((frame, fut))
            return await fut
        return await self._send_and_wait(frame, fut)

    async def _send_queued(self, frame: dict[str, Any], fut: asyncio.Future[dict[str, Any]]) -> None:
        try:
            result = await self._send_and_wait(frame, asyncio.get_running_loop().create_future())
            if not fut.done():
                fut.set_result(result)
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)

    async def _send_and_wait(self, frame: dict[str, Any], fut: asyncio.Future[dict[str, Any]]) -> dict[str, Any]:
        rid = str(frame["id"])
        self._pending[rid] = (str(frame["method"]), fut)
        try:
            if self._ws is None or self._ws.closed:
                raise RelayError(-1, "Connection closed")
            await self._ws.send_str(json.dumps(frame))
            try:
                return await asyncio.wait_for(asyncio.shield(fut), REQUEST_TIMEOUT)
            except TimeoutError:
                if frame["method"] != "signalwire.connect" and self._ws is not None:
                    self._spawn(self._ws.close())
                raise RelayError(-1, f"Request timeout for {frame['method']}") from None
        finally:
            self._pending.pop(rid, None)

    async def _ping_loop(self) -> None:
        while self._connected:
            await asyncio.sleep(PING_INTERVAL)
            try:
                await self._request("signalwire.ping", {}, queue=False)
            except RelayError:
                return

    async def _recv_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    log.warning("unparseable frame skipped")
                    continue
                if isinstance(data, dict):
                    await self._handle(ws, data)
        finally:
            self._connected = False
            for _rid, (_m, fut) in list(self._pending.items()):
                if not fut.done():
                    fut.set_exception(RelayError(-1, "Connection closed"))
            for dial in self._pending_dials.values():
                if not dial.done():
                    dial.set_exception(RelayError(-1, "Connection closed"))

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, msg: dict[str, Any]) -> None:
        if "id" in msg and ("result" in msg or "error" in msg):
            entry = self._pending.get(str(msg["id"]))
            if entry is not None and not entry[1].done():
                method, fut = entry
                try:
                    fut.set_result(judge(method, msg))
                except RelayError as exc:
                    fut.set_exception(exc)
            return
        server_method = msg.get("method")
        params = msg.get("params")
        if not isinstance(params, dict):
            return
        if server_method == "signalwire.event":
            if "id" in msg:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
            try:
                await self._handle_event(params)
            except Exception:
                log.exception("error handling event %s", params.get("event_type"))
        elif server_method == "signalwire.ping":
            if "id" in msg:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
        elif server_method == "signalwire.disconnect":
            if "id" in msg:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {}}))
            if params.get("restart"):
                self._protocol = ""
                self._authorization_state = ""

    def _new_call(self, p: dict[str, Any], *, tag: str = "", direction: str = "", state: str = "") -> Call:
        return Call(
            self,
            str(p.get("call_id", "")),
            str(p.get("node_id", "")),
            str(p.get("project_id") or self.project),
            str(p.get("context") or p.get("protocol") or self._protocol),
            tag=str(p.get("tag") or tag),
            direction=str(p.get("direction") or direction),
            device=p.get("device") if isinstance(p.get("device"), dict) else None,
            state=str(p.get("call_state") or state),
            segment_id=str(p.get("segment_id") or ""),
        )

    async def _handle_event(self, payload: dict[str, Any]) -> None:
        event_type = str(payload.get("event_type") or "")
        p = payload.get("params")
        if not event_type or not isinstance(p, dict):
            return
        if event_type == "signalwire.authorization.state":
            if p.get("authorization_state"):
                self._authorization_state = str(p["authorization_state"])
            return
        if event_type == "messaging.receive":
            if self._on_message is not None:
                self._spawn(self._safe(self._on_message(Message.from_params(p))))
            return
        if event_type == "messaging.state":
            message = self._messages.get(str(p.get("message_id", "")))
            if message is not None:
                await message._dispatch_event(payload)
                if message.is_done:
                    self._messages.pop(message.message_id, None)
            return
        if event_type == "calling.call.receive":
            if len(self._calls) >= self.max_active_calls:
                log.error("max active calls reached: inbound call dropped")
                return
            call = self._new_call(p, direction="inbound", state="created")
            self._calls[call.call_id] = call
            if self._on_call is not None:
                self._spawn(self._safe(self._on_call(call)))
            return
        if event_type == "calling.call.dial":
            await self._handle_dial(payload, p)
            return
        call_id = str(p.get("call_id", ""))
        if event_type == "calling.call.state":
            tag = str(p.get("tag") or "")
            if tag and tag in self._pending_dials and call_id and call_id not in self._calls:
                self._calls[call_id] = self._new_call(p, tag=tag, direction="outbound", state="created")
        target = self._calls.get(call_id) if call_id else None
        if target is not None:
            await target._dispatch_event(payload)
            if target.state == "ended":
                self._calls.pop(call_id, None)

    async def _handle_dial(self, payload: dict[str, Any], p: dict[str, Any]) -> None:
        tag = str(p.get("tag", ""))
        info: dict[str, Any] = p["call"] if isinstance(p.get("call"), dict) else {}
        fut = self._pending_dials.get(tag)
        if fut is None or fut.done():
            call = self._calls.get(str(info.get("call_id", "")))
            if call is not None:
                await call._dispatch_event(payload)
            return
        state = p.get("dial_state")
        if state == "answered":
            cid = str(info.get("call_id", ""))
            known = self._calls.get(cid)
            if known is None:
                known = self._new_call(info, tag=tag, direction="outbound", state="answered")
                self._calls[cid] = known
            elif info.get("node_id") and not known.node_id:
                known.node_id = str(info["node_id"])
            fut.set_result(known)
        elif state == "failed":
            fut.set_exception(RelayError(-1, f"Dial failed (tag={tag})"))

    @staticmethod
    async def _safe(result: Any) -> None:
        """Await a handler's result (handlers may also be plain functions) and log its failure."""
        try:
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result
        except Exception:
            log.exception("handler failed")
