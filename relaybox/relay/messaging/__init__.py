"""`Relay.Messaging`: send SMS/MMS and receive inbound messages and state changes."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

import logging
from typing import Any

from .._base import BaseRelay, relay_execute

log = logging.getLogger("relaybox.relay")


class Notification:
    STATE = "messaging.state"
    RECEIVE = "messaging.receive"


class MessageState:
    QUEUED = "queued"
    INITIATED = "initiated"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    RECEIVED = "received"


class Message:
    """Relay.Messaging.Message: an SMS or MMS (argument of `on_incoming_message`/`on_message_state_change`).

    | property | type | description |
    | --- | --- | --- |
    | `id` | string | The unique identifier of the message. |
    | `context` | string | The context of the message. |
    | `from_number` | string | The phone number the message comes from. |
    | `to_number` | string | The destination number of the message. |
    | `direction` | string | `inbound` or `outbound`. |
    | `state` | string | queued, initiated, sent, delivered, undelivered, failed (received for inbound). |
    | `body` | string | The content of the message. |
    | `media` | list | List of URLs media. |
    | `tags` | list | List of strings with message tags. |
    | `segments` | number | Number of segments of the message. |
    | `reason` | string | Reason why the message was not sent. Present only in case of failure. |
    """

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        params = params or {}
        self.id: str | None = params.get("message_id")
        self.state: str | None = params.get("message_state")
        self.context: str | None = params.get("context")
        self.from_number: str | None = params.get("from_number")
        self.to_number: str | None = params.get("to_number")
        self.body: str | None = params.get("body")
        self.direction: str | None = params.get("direction")
        self.media: list[str] | None = params.get("media")
        self.segments: int | None = params.get("segments")
        self.tags: list[str] | None = params.get("tags")
        self.reason: str | None = params.get("reason")

    def __repr__(self) -> str:
        return (
            f"Message(id={self.id!r}, state={self.state!r}, direction={self.direction!r}, "
            f"from_number={self.from_number!r}, to_number={self.to_number!r}, body={self.body!r})"
        )


class SendResult:
    """Relay.Messaging.SendResult: `successful` (the message was queued) and `message_id`."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        result = result or {}
        self.successful: bool = result.get("code") == "200"
        self.message_id: str | None = result.get("message_id")

    def __repr__(self) -> str:
        return f"SendResult(successful={self.successful}, message_id={self.message_id!r})"


def send_params(
    *,
    from_number: str,
    to_number: str,
    context: str,
    body: str | None = None,
    media: list[str] | None = None,
    tags: list[str] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """The `messaging.send` params (empty body/media/tags are left out, as the reference SDK does)."""
    params: dict[str, Any] = {"from_number": from_number, "to_number": to_number, "context": context}
    if body:
        params["body"] = body
    if media:
        params["media"] = list(media)
    if tags:
        params["tags"] = list(tags)
    if region:
        params["region"] = region
    return params


class Messaging(BaseRelay):
    """Relay.Messaging: the API of the Messaging Relay Service."""

    service = "messaging"

    def notification_handler(self, notification: dict[str, Any]) -> None:
        params = notification.get("params")
        if not isinstance(params, dict):
            return
        params = {**params, "event_type": notification.get("event_type")}
        message = Message(params)
        context = message.context if message.context is not None else notification.get("context")
        if notification.get("event_type") == Notification.STATE:
            self._dispatch(self._state_handlers, context, message)
        elif notification.get("event_type") == Notification.RECEIVE:
            self._dispatch(self._receivers, context, message)

    async def send(
        self,
        *,
        from_number: str,
        to_number: str,
        context: str,
        body: str | None = None,
        media: list[str] | None = None,
        tags: list[str] | None = None,
        region: str | None = None,
    ) -> SendResult:
        """Send an outbound SMS or MMS message.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `context` | string | required | The context to receive inbound events. |
        | `from_number` | string | required | The phone number to place the message from. Must be a SignalWire phone number or short code that you own. |
        | `to_number` | string | required | The phone number to send to. |
        | `body` | string | required | The content of the message. Optional if media is present. |
        | `media` | list | required | List of URLs to send in the message. Optional if body is present. |
        | `tags` | list | optional | List of strings to tag the message with for searching in the UI. |
        | `region` | string | optional | Region of the world to originate the message from (relaybox extension, sent only if given). |

        Returns a `Relay.Messaging.SendResult`.
        """
        params = send_params(
            from_number=from_number,
            to_number=to_number,
            context=context,
            body=body,
            media=media,
            tags=tags,
            region=region,
        )
        assert self.client.protocol is not None, "the client is not connected"
        try:
            response = await relay_execute(self.client, "messaging.send", params)
            inner = response.get("result", {})
            log.info("%s", inner.get("message"))
            return SendResult(inner)
        except Exception as error:
            log.error("Messaging send error: %s", error)
            return SendResult()


__all__ = ["Message", "MessageState", "Messaging", "SendResult"]
