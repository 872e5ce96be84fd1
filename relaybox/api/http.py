"""HTTP helpers shared by the REST handlers: JSON bodies, errors with reasons, Basic auth."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def error(status: int, reason: str) -> web.HTTPException:
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        415: web.HTTPUnsupportedMediaType,
    }
    cls = classes.get(status, web.HTTPBadRequest)
    headers = {"WWW-Authenticate": 'Basic realm="relaybox"'} if status == 401 else None
    return cls(text=orjson.dumps({"error": reason}).decode(), content_type="application/json", headers=headers)


async def json_body(
    request: web.Request, allowed: set[str], required: frozenset[str] = frozenset()
) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise error(400, "a JSON object body is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise error(400, "malformed JSON body") from None
    if not isinstance(body, dict):
        raise error(400, "the body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise error(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    missing = {k for k in required if body.get(k) in (None, "")}
    if missing:
        raise error(400, f"missing field(s): {', '.join(sorted(missing))}")
    return body


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    project, sep, token = decoded.partition(":")
    return (project, token) if sep else None


def auth_middleware(check: Callable[[str, str], bool], public: set[str]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/") and request.path not in public:
            creds = basic_credentials(request)
            if creds is None or not check(*creds):
                raise error(401, "HTTP Basic authentication with the project id and token is required")
        return await handler(request)

    return middleware
