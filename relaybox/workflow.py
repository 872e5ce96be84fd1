"""relaybox's Python workflow SDK: the API of the official relay-py SDK (`relay.workflow`), so workflows
written for it run against relaybox (or a Relay server) with only the import changed:

    import relay.workflow            ->    import relaybox.workflow as relay

(`relay.workflow.X` keeps working: this module is also its own `workflow` attribute.)

A `Server` is the WebSocket server the platform connects to; `Workflow` collects handlers with
decorators; each connection (one workflow instance) gets a `Relay` object that is passed as the first
argument of every handler and carries the actions. Requests wait for their response by `_id`;
`say_and_wait` and `listen` register their event waiters before sending, so no event can be missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

log = logging.getLogger("relaybox.workflow")

SERVER_HEADER = "relaybox-workflow-sdk/1.0"
TYPE_STARTED = "started"
TYPE_RESUMED = "resumed"
TYPE_SUSPENDED = "suspended"
TYPE_ENDED = "ended"
TYPE_FAILED = "failed"
DEFAULT_PATTERN = [100, 500, 500, 500, 500, 500]
PROMPT_TIMEOUT = 30.0
ALL_DEVICES = "urn:relay-resource:all:device"

Handler = Callable[..., Awaitable[Any]]


class WorkflowException(Exception):
    """An error response from the server (its `error` text), or a missing response field."""


class ServerException(Exception):
    pass


# -- URN helpers -------------------------------------------------------------------------------------


def _construct(resource: str, id_type: str, value: str) -> str:
    return f"urn:relay-resource:{id_type}:{resource}:{urllib.parse.quote(value, safe='')}"


def device_name(name: str) -> str:
    return _construct("device", "name", name)


def device_id(id: str) -> str:
    return _construct("device", "id", id)


def group_name(name: str) -> str:
    return _construct("group", "name", name)


def group_id(id: str) -> str:
    return _construct("group", "id", id)


def group_member(group: str, device: str) -> str:
    return f"{group_name(group)}?device={urllib.parse.quote(device_name(device), safe='')}"


def interaction_name(name: str) -> str:
    return _construct("interaction", "name", name)


def _parse(uri: str, id_type: str, resource: str) -> str | None:
    parts = urllib.parse.unquote(uri).split(":")
    if len(parts) >= 5 and parts[2] == id_type and parts[3] == resource:
        return parts[4].split("?", 1)[0]
    if len(parts) == 9 and parts[3] == "interaction" and parts[6] == id_type and parts[7] == resource:
        return parts[8]
    return None


def parse_device_name(uri: str) -> str | None:
    return _parse(uri, "name", "device")


def parse_device_id(uri: str) -> str | None:
    return _parse(uri, "id", "device")


def parse_group_name(uri: str) -> str | None:
    return _parse(uri, "name", "group")


def parse_group_id(uri: str) -> str | None:
    return _parse(uri, "id", "group")


def parse_interaction(uri: str) -> str | None:
    return _parse(uri, "name", "interaction")


def is_interaction_uri(uri: str) -> bool:
    return "urn:relay-resource:name:interaction" in uri or "urn:relay-resource:id:interaction" in uri


def is_relay_uri(uri: str) -> bool:
    return uri.startswith("urn:relay-resource")


def interaction_options(color: str = "0000ff", input_types: list[str] | None = None,
                        home_channel: str = "suspend") -> dict[str, Any]:
    return {"color": color, "input_types": input_types or [], "home_channel": home_channel}


def push_options(priority: str = "normal", title: str | None = None, body: str | None = None,
                 sound: str = "default") -> dict[str, Any]:
    return {"priority": priority, "title": title, "body": body, "sound": sound}


# -- the workflow: handlers ----------------------------------------------------------------------------


class Workflow:
    """Handlers by event; decorators return None (as in relay-py), so do not stack them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[str, Handler] = {}

    def _on(self, key: str) -> Callable[[Handler], None]:
        def register(func: Handler) -> None:
            self.handlers[key] = func

        return register

    def on_start(self, func: Handler) -> None:
        self.handlers["start"] = func

    def on_stop(self, func: Handler) -> None:
        self.handlers["stop"] = func

    def on_prompt(self, func: Handler) -> None:
        self.handlers["prompt"] = func

    def on_button(self, func: Handler | None = None, button: str = "*", taps: str = "*") -> Any:
        if func is not None:
            self.handlers[f"button_{button}_{taps}"] = func
            return None
        return self._on(f"button_{button}_{taps}")

    def on_notification(self, func: Handler | None = None, name: str = "*", event: str = "*") -> Any:
        if func is not None:
            self.handlers[f"notification_{name}_{event}"] = func
            return None
        return self._on(f"notification_{name}_{event}")

    def on_timer(self, func: Handler) -> None:
        self.handlers["timer"] = func

    def on_timer_fired(self, func: Handler) -> None:
        self.handlers["timer_fired"] = func

    def on_speech(self, func: Handler) -> None:
        self.handlers["speech"] = func

    def on_progress(self, func: Handler) -> None:
        self.handlers["progress"] = func

    def on_play_inbox_message(self, func: Handler) -> None:
        self.handlers["play_inbox_message"] = func

    def on_call_connected(self, func: Handler) -> None:
        self.handlers["call_connected"] = func

    def on_call_disconnected(self, func: Handler) -> None:
        self.handlers["call_disconnected"] = func

    def on_call_failed(self, func: Handler) -> None:
        self.handlers["call_failed"] = func

    def on_call_received(self, func: Handler) -> None:
        self.handlers["call_received"] = func

    def on_call_ringing(self, func: Handler) -> None:
        self.handlers["call_ringing"] = func

    def on_call_start_request(self, func: Handler) -> None:
        self.handlers["call_start_request"] = func

    def on_call_progressing(self, func: Handler) -> None:
        self.handlers["call_progressing"] = func

    def on_sms(self, func: Handler) -> None:
        self.handlers["sms"] = func

    def on_incident(self, func: Handler) -> None:
        self.handlers["incident"] = func

    def on_interaction_lifecycle(self, func: Handler) -> None:
        self.handlers["interaction_lifecycle"] = func

    def on_resume(self, func: Handler) -> None:
        self.handlers["resume"] = func


_CALL = ("call_id", "direction", "device_id", "device_name", "uri", "onnet")
# handler arguments after the Relay object, in relay-py's dispatch order
_ARGS: dict[str, tuple[str, ...]] = {
    "start": ("trigger",),
    "stop": ("reason",),
    "prompt": ("source_uri", "type"),
    "timer": (),
    "timer_fired": ("name",),
    "speech": ("text", "audio", "lang", "request_id", "source_uri"),
    "progress": (),
    "play_inbox_message": ("action",),
    "call_received": (*_CALL, "start_time_epoch"),
    "call_ringing": (*_CALL, "start_time_epoch"),
    "call_progressing": (*_CALL, "start_time_epoch", "connect_time_epoch"),
    "call_connected": (*_CALL, "start_time_epoch", "connect_time_epoch"),
    "call_disconnected": (*_CALL, "reason", "start_time_epoch", "connect_time_epoch", "end_time_epoch"),
    "call_failed": (*_CALL, "reason", "start_time_epoch", "connect_time_epoch", "end_time_epoch"),
    "call_start_request": ("uri",),
    "sms": ("id", "event"),
    "incident": ("type", "incident_id", "reason"),
    "interaction_lifecycle": ("type", "source_uri", "reason"),
    "resume": ("trigger",),
}


# -- one instance: the actions -------------------------------------------------------------------------


Target = str | list[str] | dict[str, Any]


class Relay:
    """One workflow instance (one connection); passed to every handler."""

    def __init__(self, workflow: Workflow, ws: web.WebSocketResponse | None = None) -> None:
        self.workflow = workflow
        self.ws = ws
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[dict[str, Any]]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # static helpers, as in relay-py
    @staticmethod
    def make_target_uris(trigger: dict[str, Any]) -> dict[str, list[str]]:
        args = trigger.get("args") or {}
        if "source_uri" not in args:
            raise WorkflowException("source_uri not found in trigger args")
        return {"uris": [args["source_uri"]]}

    @staticmethod
    def get_source_uri_from_trigger(trigger: dict[str, Any]) -> str:
        args = trigger.get("args") or {}
        if "source_uri" not in args:
            raise WorkflowException("source_uri not found in trigger args")
        return str(args["source_uri"])

    @staticmethod
    def targets_from_source_uri(source_uri: str) -> dict[str, list[str]]:
        return {"uris": [source_uri]}

    # -- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _target(target: Target) -> dict[str, Any]:
        if isinstance(target, str):
            return {"uris": [target]}
        if isinstance(target, list):
            return {"uris": list(target)}
        return target

    async def _send(self, msg: dict[str, Any]) -> None:
        if self.ws is None or self.ws.closed:
            raise WorkflowException("not connected")
        await self.ws.send_str(orjson.dumps(msg).decode())

    async def _request(self, kind: str, target: Target | None = None, /, **payload: Any) -> dict[str, Any]:
        rid = uuid.uuid4().hex
        return await self._request_with_id(rid, kind, target, **payload)

    async def _request_with_id(
        self, rid: str, kind: str, target: Target | None, /, **payload: Any
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"_type": f"wf_api_{kind}_request", "_id": rid, **payload}
        if target is not None:
            msg["_target"] = self._target(target)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self._send(msg)
            reply = await fut
        finally:
            self._pending.pop(rid, None)
        if reply.get("_type") == "wf_api_error_response":
            raise WorkflowException(str(reply.get("error")))
        return reply

    def _wait_for(self, match: Callable[[dict[str, Any]], bool]) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, fut))
        return fut

    def _received(self, msg: dict[str, Any]) -> None:
        rid = msg.get("_id")
        if isinstance(rid, str) and rid in self._pending:
            fut = self._pending[rid]
            if not fut.done():
                fut.set_result(msg)
            return
        for entry in list(self._waiters):
            match, fut = entry
            if not fut.done() and match(msg):
                fut.set_result(msg)
                self._waiters.remove(entry)
        kind = str(msg.get("_type", ""))
        if kind.startswith("wf_api_") and kind.endswith("_event"):
            self._dispatch(kind[len("wf_api_"):-len("_event")], msg)

    def _dispatch(self, name: str, msg: dict[str, Any]) -> None:
        handlers = self.workflow.handlers
        if name == "button":
            b, t = msg["button"], msg["taps"]
            handler = next((handlers[k] for k in (f"button_{b}_{t}", f"button_{b}_*", f"button_*_{t}",
                                                  "button_*_*") if k in handlers), None)
            args: tuple[Any, ...] = (b, t, msg.get("source_uri"))
        elif name == "notification":
            n, e = msg["name"], msg["event"]
            handler = next((handlers[k] for k in (f"notification_{n}_{e}", f"notification_{n}_*",
                                                  f"notification_*_{e}", "notification_*_*") if k in handlers), None)
            args = (e, n, msg.get("notification_state"), msg.get("source_uri"))
        else:
            handler = handlers.get(name)
            if handler is None or name not in _ARGS:
                return
            args = tuple(msg.get(k) for k in _ARGS[name])
        if handler is not None:
            task = asyncio.get_running_loop().create_task(self._run(handler, args))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, args: tuple[Any, ...]) -> None:
        try:
            await handler(self, *args)
        except Exception:
            log.exception("workflow %s: handler %s failed", self.workflow.name, getattr(handler, "__name__", "?"))

    # -- interactions, speech ------------------------------------------------------------------------

    async def start_interaction(self, target: Target, name: str, options: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"name": name}
        if options is not None:
            payload["options"] = options
        await self._request("start_interaction", target, **payload)

    async def end_interaction(self, target: Target, name: str | None = None) -> None:
        await self._request("end_interaction", target, **({"name": name} if name else {}))

    async def say(self, target: Target, text: str, lang: str = "en-US") -> str:
        reply = await self._request("say", target, text=text, lang=lang)
        return str(reply["id"])

    async def _prompt_and_wait(self, kind: str, target: Target, /, **payload: Any) -> str:
        rid = uuid.uuid4().hex
        done = self._wait_for(lambda m: m.get("_type") == "wf_api_prompt_event" and m.get("id") == rid
                              and m.get("type") == "stopped")
        try:
            await self._request_with_id(rid, kind, target, **payload)
            await asyncio.wait_for(done, PROMPT_TIMEOUT)
        finally:
            done.cancel()
        return rid

    async def say_and_wait(self, target: Target, text: str, lang: str = "en-US") -> str:
        return await self._prompt_and_wait("say", target, text=text, lang=lang)

    async def play(self, target: Target, filename: str) -> str:
        return str((await self._request("play", target, filename=filename))["id"])

    async def play_and_wait(self, target: Target, filename: str) -> str:
        return await self._prompt_and_wait("play", target, filename=filename)

    async def stop_playback(self, target: Target, ids: list[str] | None = None) -> None:
        await self._request("stop_playback", target, **({"ids": ids} if ids else {}))

    async def listen(self, target: Target, phrases: list[str] | None = None, transcribe: bool = True,
                     alt_lang: str | None = None, timeout: int = 60) -> str:
        rid = uuid.uuid4().hex
        heard = self._wait_for(lambda m: m.get("_type") == "wf_api_speech_event" and m.get("request_id") == rid)
        payload: dict[str, Any] = {"phrases": phrases or [], "transcribe": transcribe, "timeout": timeout}
        if alt_lang:
            payload["alt_lang"] = alt_lang
        try:
            await self._request_with_id(rid, "listen", target, **payload)
            msg = await asyncio.wait_for(heard, timeout + 5)
        finally:
            heard.cancel()
        return str(msg.get("text") if transcribe else msg.get("audio"))

    async def translate(self, text: str, from_lang: str = "en-US", to_lang: str = "de-DE") -> str:
        return str((await self._request("translate", None, text=text, from_lang=from_lang, to_lang=to_lang))["text"])

    # -- calls ---------------------------------------------------------------------------------------

    async def place_call(self, target: Target, uri: str) -> str:
        return str((await self._request("call", target, uri=uri))["call_id"])

    async def answer_call(self, target: Target, call_id: str) -> None:
        await self._request("answer", target, call_id=call_id)

    async def hangup_call(self, target: Target, call_id: str) -> None:
        await self._request("hangup", target, call_id=call_id)

    # -- device --------------------------------------------------------------------------------------

    async def _device_info(self, target: Target, query: str, refresh: bool = False) -> Any:
        return (await self._request("get_device_info", target, query=query, refresh=refresh))[query]

    async def get_device_name(self, target: Target) -> str:
        return str(await self._device_info(target, "name"))

    async def get_device_id(self, target: Target) -> str:
        return str(await self._device_info(target, "id"))

    async def get_device_type(self, target: Target) -> str:
        return str(await self._device_info(target, "type"))

    async def get_device_battery(self, target: Target, refresh: bool = False) -> int:
        return int(await self._device_info(target, "battery", refresh))

    async def get_device_address(self, target: Target, refresh: bool = False) -> str:
        return str(await self._device_info(target, "address", refresh))

    async def get_device_latlong(self, target: Target, refresh: bool = False) -> list[float]:
        return list(await self._device_info(target, "latlong", refresh))

    async def get_device_indoor_location(self, target: Target, refresh: bool = False) -> str:
        return str(await self._device_info(target, "indoor_location", refresh))

    async def get_device_location(self, target: Target, refresh: bool = False) -> str:
        """The street address (relay-py: same query as `get_device_address`)."""
        return str(await self._device_info(target, "address", refresh))

    async def get_device_coordinates(self, target: Target, refresh: bool = False) -> list[float]:
        return list(await self._device_info(target, "latlong", refresh))

    async def enable_location(self, target: Target) -> None:
        await self._request("set_device_info", target, field="location_enabled", value="true")

    async def disable_location(self, target: Target) -> None:
        await self._request("set_device_info", target, field="location_enabled", value="false")

    async def get_device_location_enabled(self, target: Target) -> bool:
        return bool(await self._device_info(target, "location_enabled"))

    async def get_user_profile(self, target: Target) -> str:
        return str(await self._device_info(target, "username"))

    async def set_user_profile(self, target: Target, username: str, force: bool = False) -> None:
        await self._request("set_user_profile", target, username=username, force=force)

    async def set_device_name(self, target: Target, name: str) -> None:
        await self._request("set_device_info", target, field="label", value=name)

    async def enable_home_channel(self, target: Target) -> None:
        await self._request("set_home_channel_state", target, enabled=True)

    async def disable_home_channel(self, target: Target) -> None:
        await self._request("set_home_channel_state", target, enabled=False)

    async def get_unread_inbox_size(self, target: Target) -> int:
        return int((await self._request("inbox_count", target))["count"])

    async def play_unread_inbox_messages(self, target: Target) -> None:
        await self._request("play_inbox_messages", target)

    async def restart_device(self, target: Target) -> None:
        await self._request("device_power_off", target, restart=True)

    async def power_down_device(self, target: Target) -> None:
        await self._request("device_power_off", target, restart=False)

    async def set_channel(self, target: Target, channel_name: str, suppress_tts: bool = False,
                          disable_home_channel: bool = False) -> None:
        await self._request("set_channel", target, channel_name=channel_name, suppress_tts=suppress_tts,
                            disable_home_channel=disable_home_channel)

    async def led_action(self, target: Target, effect: str, args: dict[str, Any] | None = None) -> None:
        await self._request("set_led", target, effect=effect, args=args or {})

    async def switch_all_led_on(self, target: Target, color: str = "0000ff") -> None:
        await self.led_action(target, "static", {"colors": {"ring": color}})

    async def switch_led_on(self, target: Target, index: int, color: str = "0000ff") -> None:
        await self.led_action(target, "static", {"colors": {str(index): color}})

    async def rainbow(self, target: Target, rotations: int = -1) -> None:
        await self.led_action(target, "rainbow", {"rotations": rotations})

    async def rotate(self, target: Target, color: str = "00c6ff", rotations: int = -1) -> None:
        await self.led_action(target, "rotate", {"rotations": rotations, "colors": {"1": color}})

    async def flash(self, target: Target, color: str = "0000ff", count: int = -1) -> None:
        await self.led_action(target, "flash", {"count": count, "colors": {"ring": color}})

    async def breathe(self, target: Target, color: str = "0000ff", count: int = -1) -> None:
        await self.led_action(target, "breathe", {"count": count, "colors": {"ring": color}})

    async def switch_all_led_off(self, target: Target) -> None:
        await self.led_action(target, "off", {})

    async def vibrate(self, target: Target, pattern: list[int] | None = None) -> None:
        await self._request("vibrate", target, pattern=pattern or DEFAULT_PATTERN)

    async def _notify(self, kind: str, target: Target, originator: str | None, name: str, text: str | None,
                      push_opts: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"type": kind, "name": name, "target": self._target(target)}
        if text is not None:
            payload["text"] = text
        if originator is not None:
            payload["originator"] = originator
        if push_opts is not None:
            payload["push_opts"] = push_opts
        await self._request("notification", target, **payload)

    async def alert(self, target: Target, originator: str, name: str, text: str,
                    push_opts: dict[str, Any] | None = None) -> None:
        await self._notify("alert", target, originator, name, text, push_opts)

    async def broadcast(self, target: Target, originator: str, name: str, text: str,
                        push_opts: dict[str, Any] | None = None) -> None:
        await self._notify("broadcast", target, originator, name, text, push_opts)

    async def cancel_alert(self, target: Target, name: str) -> None:
        await self._notify("cancel", target, None, name, None)

    async def cancel_broadcast(self, target: Target, name: str) -> None:
        await self._notify("cancel", target, None, name, None)

    async def notify(self, target: Target, originator: str, name: str, text: str,
                     push_opts: dict[str, Any] | None = None) -> None:
        await self._notify("notify", target, originator, name, text, push_opts)

    async def cancel_notify(self, target: Target, name: str) -> None:
        await self._notify("cancel", target, None, name, None)

    # -- groups --------------------------------------------------------------------------------------

    async def get_group_members(self, group_uri: str) -> list[str]:
        reply = await self._request("group_query", None, group_uri=group_uri, query="list_members")
        return list(reply["member_uris"])

    async def is_group_member(self, group_name_uri: str, potential_member_name_uri: str) -> bool:
        group, device = parse_group_name(group_name_uri), parse_device_name(potential_member_name_uri)
        if group is None or device is None:
            raise WorkflowException("is_group_member needs a group name URN and a device name URN")
        reply = await self._request("group_query", None, group_uri=group_member(group, device), query="is_member")
        return bool(reply["is_member"])

    # -- incidents -----------------------------------------------------------------------------------

    async def create_incident(self, originator_uri: str, itype: str) -> str:
        reply = await self._request("create_incident", None, type=itype, originator_uri=originator_uri)
        return str(reply["incident_id"])

    async def resolve_incident(self, incident_id: str, reason: str) -> None:
        await self._request("resolve_incident", None, incident_id=incident_id, reason=reason)

    # -- variables, timers, the rest -----------------------------------------------------------------

    async def set_var(self, name: str, value: str) -> str:
        return str((await self._request("set_var", None, name=name, value=value))["value"])

    async def get_var(self, name: str, default: Any = None) -> Any:
        reply = await self._request("get_var", None, name=name)
        return reply.get("value", default)

    async def get_number_var(self, name: str, default: Any = None) -> Any:
        value = await self.get_var(name, default)
        return float(value) if value is not None and value is not default else value

    async def unset_var(self, name: str) -> None:
        await self._request("unset_var", None, name=name)

    async def start_timer(self, timeout: int = 60) -> None:
        await self._request("start_timer", None, timeout=timeout)

    async def stop_timer(self) -> None:
        await self._request("stop_timer", None)

    async def set_timer(self, timer_type: str, name: str, timeout: int = 60, timeout_type: str = "secs") -> None:
        await self._request("set_timer", None, type=timer_type, name=name, timeout=timeout,
                            timeout_type=timeout_type)

    async def clear_timer(self, name: str) -> None:
        await self._request("clear_timer", None, name=name)

    async def log_message(self, message: str, category: str = "default") -> None:
        await self._request("log_analytics_event", None, content=message, content_type="text/plain",
                            category=category)

    async def log_user_message(self, message: str, target: Target, category: str = "default") -> None:
        uris = self._target(target).get("uris") or [None]
        await self._request("log_analytics_event", None, content=message, content_type="text/plain",
                            category=category, device_uri=uris[0])

    async def sms(self, stype: str, text: str, uri: str) -> str:
        """A text message to `uri` (a device or group URN on relaybox); the message id. `on_sms` handlers get
        its progress (`sent`, `delivered`/`failed`)."""
        return str((await self._request("sms", None, type=stype, text=text, uri=uri))["message_id"])

    async def terminate(self) -> None:
        """No response is expected: the server sends STOP and closes the connection."""
        await self._send({"_type": "wf_api_terminate_request", "_id": uuid.uuid4().hex})


# -- the server ----------------------------------------------------------------------------------------


class Server:
    """Serves registered workflows on exact paths; each connection is one instance."""

    def __init__(self, host: str, port: int, log_level: int = logging.INFO, log_handler: logging.Handler | None = None,
                 ssl_key_filename: str | None = None, ssl_cert_filename: str | None = None) -> None:
        self.host, self.port = host, port
        self.workflows: dict[str, Workflow] = {}
        self.instances: set[Relay] = set()
        self._ssl: ssl.SSLContext | None = None
        if ssl_key_filename and ssl_cert_filename:
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(ssl_cert_filename, ssl_key_filename)
        log.setLevel(log_level)
        if log_handler is not None:
            log.addHandler(log_handler)
        self._runner: web.AppRunner | None = None

    def register(self, workflow: Workflow, path: str) -> None:
        if path in self.workflows:
            raise ServerException(f"a workflow is already registered at {path}")
        self.workflows[path] = workflow

    def total_connections(self) -> int:
        return len(self.instances)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20, heartbeat=20.0)
        ws.headers["Server"] = SERVER_HEADER
        await ws.prepare(request)
        workflow = self.workflows.get(request.path_qs)
        if workflow is None:
            log.info("ignoring request for unregistered path %s", request.path_qs)
            await ws.close()
            return ws
        relay = Relay(workflow, ws)
        self.instances.add(relay)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    log.warning("workflow %s: unparseable frame", workflow.name)
                    continue
                if isinstance(data, dict):
                    relay._received(data)
        finally:
            self.instances.discard(relay)
            for fut in relay._pending.values():
                if not fut.done():
                    fut.set_exception(WorkflowException("connection closed"))
            log.info("workflow instance terminated")
        return ws

    async def serve(self) -> None:
        """Start listening (returns once bound; `port` is the bound port when 0 was given)."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        log.info("Relay workflow server (%s) listening on %s port %d with %s", SERVER_HEADER, self.host,
                 self.port, "TLS" if self._ssl else "plaintext")

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def start(self) -> None:
        """Serve forever (blocks), as relay-py's `Server.start()`."""

        async def main() -> None:
            await self.serve()
            try:
                await asyncio.Event().wait()
            finally:
                await self.close()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
        log.info("server terminated")


# `import relaybox.workflow as relay` then `relay.workflow.TYPE_STARTED`, as in relay-py code
workflow = sys.modules[__name__]
