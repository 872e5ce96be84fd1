"""REST for messaging and tasks: the vendor's task endpoint, the message history, sandbox messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from relaybox.api.http import error, json_body, json_response
from relaybox.domain.errors import RelayError
from relaybox.storage.messages import message_json

if TYPE_CHECKING:
    from relaybox.app import RelayBox

CONTEXT_MAX = 128
STATES = frozenset({"queued", "initiated", "sent", "delivered", "undelivered", "failed", "received"})


class MessagingApi:
    def __init__(self, box: RelayBox) -> None:
        self.box = box

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/relay/rest/tasks", self.post_task)
        app.router.add_get("/api/messages", self.list_messages)
        app.router.add_post("/api/sandbox/messages", self.phone_sends)
        app.router.add_get("/api/sandbox/messages", self.phone_received)

    async def post_task(self, request: web.Request) -> web.Response:
        """`Relay.Task.deliver()`: 204 once the task is stored; it reaches one consumer of the context."""
        raw = await request.read()
        if not raw:
            raise error(400, "a JSON object body {\"context\", \"message\"} is required")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise error(400, "malformed JSON body") from None
        if not isinstance(body, dict):
            raise error(400, "the body must be a JSON object {\"context\", \"message\"}")
        context = body.get("context")
        if not isinstance(context, str) or not context.strip() or len(context) > CONTEXT_MAX:
            raise error(400, f"'context' is required: a non-empty string of at most {CONTEXT_MAX} characters")
        if "message" not in body or body["message"] is None:
            raise error(400, "'message' is required (any JSON value)")
        self.box.tasking.deliver(self.box.project, context, body["message"])
        return web.Response(status=204)

    async def list_messages(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise error(400, "'limit' must be a whole number") from None
        if not 1 <= limit <= 10_000:
            raise error(400, "'limit' must be between 1 and 10000")
        state = q.get("state")
        if state and state not in STATES:
            raise error(400, f"'state' must be one of {', '.join(sorted(STATES))}")
        direction = q.get("direction")
        if direction and direction not in ("inbound", "outbound"):
            raise error(400, "'direction' must be inbound or outbound")
        messages = self.box.message_store.messages(
            number=q.get("number"), context=q.get("context"), state=state, direction=direction, limit=limit
        )
        return json_response({"messages": [message_json(m) for m in messages]})

    async def phone_sends(self, request: web.Request) -> web.Response:
        """A virtual phone texts a platform number: one consumer of that number's context gets it."""
        body = await json_body(request, {"from", "to", "body", "media"}, frozenset({"from", "to"}))
        try:
            msg = self.box.messaging.receive(
                project=self.box.project, from_=body["from"], to=body["to"], body=body.get("body"),
                media=body.get("media"),
            )
        except RelayError as exc:
            raise error(400, exc.message) from None
        return json_response({"id": msg.message_id, "context": msg.context, "state": msg.state}, status=201)

    async def phone_received(self, request: web.Request) -> web.Response:
        """What the platform sent to a virtual phone, oldest first, with each message's current state."""
        to = request.query.get("to")
        if not to:
            raise error(400, "query parameter 'to' is required")
        messages = self.box.message_store.messages(direction="outbound", to=to, limit=10_000, oldest_first=True)
        return json_response(
            {
                "messages": [
                    {"id": m.message_id, "from": m.from_, "to": m.to, "body": m.body, "media": m.media,
                     "state": m.state}
                    for m in messages
                ]
            }
        )
