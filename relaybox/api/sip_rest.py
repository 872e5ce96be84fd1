"""REST for SIP: users that may register (`/api/sip-users`), trunks (`/api/trunks`) and the live
registrations/engine status (`/api/sip`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from relaybox.api.http import error, json_body, json_response
from relaybox.storage.sip import SipConfigError, SipStore, Trunk, check_trunk

if TYPE_CHECKING:
    from relaybox.engines.sip import SipEngine


class SipApi:
    def __init__(self, store: SipStore, engine: Any) -> None:
        self.store = store
        self.engine_ref = engine  # callable returning the running SipEngine (or None)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/sip-users", self.list_users)
        app.router.add_post("/api/sip-users", self.add_user)
        app.router.add_delete("/api/sip-users/{username}", self.delete_user)
        app.router.add_get("/api/trunks", self.list_trunks)
        app.router.add_post("/api/trunks", self.add_trunk)
        app.router.add_delete("/api/trunks/{name}", self.delete_trunk)
        app.router.add_get("/api/sip", self.status)

    def _engine(self) -> SipEngine | None:
        engine: SipEngine | None = self.engine_ref()
        return engine

    async def list_users(self, request: web.Request) -> web.Response:
        engine = self._engine()
        users = []
        for user in sorted(self.store.users.values(), key=lambda u: u.username):
            row = user.public()
            binding = engine.binding(user.username) if engine is not None and engine.loop is not None else None
            row["registered"] = binding is not None
            row["contact"] = binding.contact if binding else None
            users.append(row)
        return json_response({"sip_users": users})

    async def add_user(self, request: web.Request) -> web.Response:
        body = await json_body(request, {"username", "password"}, frozenset({"username", "password"}))
        try:
            user = self.store.add_user(body["username"], body["password"])
        except SipConfigError as exc:
            raise error(400, str(exc)) from None
        return json_response(user.public(), status=201)

    async def delete_user(self, request: web.Request) -> web.Response:
        name = request.match_info["username"]
        if not self.store.delete_user(name):
            raise error(404, f"no SIP user {name!r}")
        engine = self._engine()
        if engine is not None:
            engine.bindings.pop(name, None)
        return json_response({"username": name, "deleted": True})

    async def list_trunks(self, request: web.Request) -> web.Response:
        return json_response({"trunks": [self._trunk_row(t) for t in self.store.trunks.values()]})

    def _trunk_row(self, trunk: Trunk) -> dict[str, Any]:
        """The trunk, with its registration's state when it registers (`stopped` while SIP is off)."""
        row = trunk.public()
        if trunk.register:
            engine = self._engine()
            status = engine.registrations.status(trunk.name) if engine is not None and engine.loop else None
            row["registration"] = status or {"state": "stopped", "expires_at": None, "last_error": None}
        return row

    def _sync(self) -> None:
        engine = self._engine()
        if engine is not None and engine.loop is not None:
            engine.registrations.sync()

    async def add_trunk(self, request: web.Request) -> web.Response:
        body = await json_body(request, {"name", "uri", "username", "password", "prefixes", "register",
                                         "register_expires"}, frozenset({"name", "uri"}))
        try:
            trunk = check_trunk(body["name"], body["uri"], body.get("username"), body.get("password"),
                                body.get("prefixes"), body.get("register", False), body.get("register_expires"))
        except SipConfigError as exc:
            raise error(400, str(exc)) from None
        self.store.add_trunk(trunk)
        self._sync()
        return json_response(self._trunk_row(trunk), status=201)

    async def delete_trunk(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not self.store.delete_trunk(name):
            raise error(404, f"no trunk {name!r}")
        self._sync()  # a registering trunk unregisters
        return json_response({"name": name, "deleted": True})

    async def status(self, request: web.Request) -> web.Response:
        engine = self._engine()
        if engine is None or engine.loop is None:
            return json_response({"enabled": False})
        return json_response({
            "enabled": True, "host": engine.host, "port": engine.port,
            "registrations": [
                {"username": b.username, "contact": b.contact, "expires_in": round(b.expires_at - engine.now(), 1)}
                for b in list(engine.bindings.values()) if engine.binding(b.username) is not None
            ],
            "calls": len(engine.legs),
            "stats": dict(engine.stats),
        })
