"""REST API under /api/: health, numbers, call history and the sandbox (phones and calls)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from relaybox import __version__
from relaybox.api.http import error, json_body, json_response
from relaybox.domain.devices import is_phone_number, is_sip_uri
from relaybox.engines.script import ScriptError

if TYPE_CHECKING:
    from relaybox.app import RelayBox

CONTEXT_MAX = 128


def _number(value: Any, field: str) -> str:
    if not isinstance(value, str) or not (is_phone_number(value) or is_sip_uri(value)):
        raise error(400, f"'{field}' must be an E.164 number (+15551230000) or a sip: URI, got {value!r}")
    return value


def _context(value: Any, field: str = "context") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > CONTEXT_MAX:
        raise error(400, f"'{field}' must be a non-empty string of at most {CONTEXT_MAX} characters")
    return value


class RestApi:
    def __init__(self, box: RelayBox) -> None:
        self.box = box
        self.started = time.time()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/health", self.health)
        app.router.add_get("/api/numbers", self.list_numbers)
        app.router.add_post("/api/numbers", self.add_number)
        app.router.add_delete("/api/numbers/{number}", self.delete_number)
        app.router.add_get("/api/calls", self.call_history)
        app.router.add_put("/api/sandbox/phones/{number}", self.set_phone)
        app.router.add_get("/api/sandbox/phones/{number}", self.get_phone)
        app.router.add_post("/api/sandbox/calls", self.place_call)
        app.router.add_get("/api/sandbox/calls", self.list_sandbox_calls)
        app.router.add_get("/api/sandbox/calls/{id}", self.get_sandbox_call)
        app.router.add_post("/api/sandbox/network/drop", self.drop_connections)

    async def health(self, request: web.Request) -> web.Response:
        box = self.box
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "uptime": round(time.time() - self.started, 3),
                "speed": box.clock.speed,
                "sessions": len(box.gateway.sessions),
                "connections": len(box.gateway.links),
                "calls": len(box.calling.calls),
            }
        )

    # -- numbers ---------------------------------------------------------------------------------

    async def list_numbers(self, request: web.Request) -> web.Response:
        return json_response({"numbers": self.box.store.numbers()})

    async def add_number(self, request: web.Request) -> web.Response:
        body = await json_body(request, {"number", "context"}, frozenset({"number", "context"}))
        number, context = _number(body["number"], "number"), _context(body["context"])
        self.box.store.set_number(number, context)
        return json_response({"number": number, "context": context}, status=201)

    async def delete_number(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        if not self.box.store.delete_number(number):
            raise error(404, f"number {number} is not assigned")
        return json_response({"number": number, "deleted": True})

    async def call_history(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            raise error(400, "'limit' must be a whole number") from None
        if not 1 <= limit <= 10_000:
            raise error(400, "'limit' must be between 1 and 10000")
        return json_response({"calls": self.box.store.calls(number=request.query.get("number"), limit=limit)})

    # -- sandbox phones --------------------------------------------------------------------------

    async def set_phone(self, request: web.Request) -> web.Response:
        number = _number(request.match_info["number"], "number")
        body = await json_body(request, {"script", "messages"})
        if body.get("script") in (None, "") and ("messages" not in body or "script" in body):
            raise error(400, "missing field(s): script")  # a script is optional only beside "messages"
        out: dict[str, Any] = {"number": number}
        try:
            mode = self.box.handsets.check(body["messages"]) if "messages" in body else None
        except ValueError as exc:
            raise error(400, str(exc)) from None
        if "script" in body:
            try:
                steps = self.box.network.set_script(number, body["script"])
            except ScriptError as exc:
                raise error(400, str(exc)) from None
            self.box.store.save_script(number, steps)
        out["script"] = self.box.network.script_for(number)
        if mode is not None:
            out["messages"] = self.box.handsets.set_mode(number, mode)
        return json_response(out)

    async def get_phone(self, request: web.Request) -> web.Response:
        number = _number(request.match_info["number"], "number")
        out: dict[str, Any] = {"number": number, "script": self.box.network.script_for(number)}
        if number in self.box.handsets.modes:  # the messaging behaviour, once one was set
            out["messages"] = self.box.handsets.mode_for(number)
        return json_response(out)

    # -- sandbox calls ---------------------------------------------------------------------------

    async def place_call(self, request: web.Request) -> web.Response:
        body = await json_body(
            request, {"from", "to", "script", "context", "headers"}, frozenset({"from", "to"})
        )
        from_, to = _number(body["from"], "from"), _number(body["to"], "to")
        context = _context(body["context"]) if body.get("context") is not None else None
        headers = body.get("headers")
        if headers is not None and (
            not isinstance(headers, list)
            or not all(isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
                       for h in headers)
        ):
            raise error(400, "'headers' must be a list of {\"name\", \"value\"} strings")
        try:
            phone = self.box.network.originate(
                project=self.box.project, from_=from_, to=to, script=body.get("script"), context=context,
                headers=headers,
            )
        except ScriptError as exc:
            raise error(400, str(exc)) from None
        assert phone.call is not None
        return json_response({"id": phone.id, "call_id": phone.call.call_id}, status=201)

    async def list_sandbox_calls(self, request: web.Request) -> web.Response:
        number = request.query.get("number")
        if not number:
            raise error(400, "query parameter 'number' is required")
        return json_response({"calls": [p.to_json() for p in self.box.network.calls_for(number)]})

    async def get_sandbox_call(self, request: web.Request) -> web.Response:
        phone = self.box.network.get(request.match_info["id"])
        if phone is None:
            raise error(404, f"no sandbox call {request.match_info['id']}")
        return json_response(phone.to_json())

    async def drop_connections(self, request: web.Request) -> web.Response:
        """Cut client connections (all, or one session's) to test an application's reconnect logic."""
        body = await json_body(request, {"session"}) if request.can_read_body else {}
        session = body.get("session")
        if session is not None and not isinstance(session, str):
            raise error(400, "'session' must be a session protocol string")
        dropped = self.box.gateway.drop_links(session)
        return json_response({"dropped": dropped})
