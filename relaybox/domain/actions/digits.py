"""Send DTMF: `calling.send_digits` plays keys (`w` = 0.5 s, `W` = 1 s pauses) to the far end, then
one `calling.call.send_digits` `finished`. Any other character rejects the whole command.

`calling.send_digits.stop` (the seed's `SendDigitsAction.stop`; not in the wire specs) ends it at once with
`finished`: the keys already queued on a real-audio leg still go out."""

from __future__ import annotations

import re
from typing import Any

from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.errors import bad_request
from relaybox.domain.routing import Subscriber

VALID = re.compile(r"^[0-9*#ABCDwW]+$")
KEY_SECONDS = 0.2  # a key and the gap after it
PAUSES = {"w": 0.5, "W": 1.0}
MAX_DIGITS = 256


def seconds(digits: str) -> float:
    return sum(PAUSES.get(c, KEY_SECONDS) for c in digits)


class SendDigitsAction(Action):
    event_type = "calling.call.send_digits"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        digits = params.get("digits")
        if not isinstance(digits, str) or not VALID.match(digits) or len(digits) > MAX_DIGITS:
            raise bad_request(
                f"'digits' must be DTMF keys 0-9 * # A B C D with w/W pauses (at most {MAX_DIGITS}), got {digits!r}"
            )
        self.digits = digits

    def begin(self) -> None:
        self.media.hear({"type": "digits", "digits": self.digits})
        self.later(seconds(self.digits), self.call_ending)

    def call_ending(self) -> None:
        self.emit(state="finished")
        self.close()


def handlers(service: MediaService) -> dict[str, Any]:
    def send_digits(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(sub, params, lambda media, cid: SendDigitsAction(media, cid, params), "Sending digits")

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, SendDigitsAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    return {"calling.send_digits": send_digits, "calling.send_digits.stop": stop}
