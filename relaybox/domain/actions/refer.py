"""SIP REFER: `calling.refer` asks the far end of a SIP call to call someone else (a blind transfer).

The domain does not speak SIP: it hands the REFER to the leg's engine through the optional `ReferLeg`
capability (the sandbox's virtual SIP phones and the SIP engine implement it) and relays the progress
the engine reports as `calling.call.refer` events: `inProgress`, then exactly one of `success`,
`busy`, `noAnswer`, `cancel` or `error` (Node completes on any of those; success iff `success`).
A call that is not SIP, or whose engine cannot transfer, gets an error reply (Node: successful false).
"""

from __future__ import annotations

from typing import Any

from relaybox.domain.actions.base import Action, CallMedia, MediaService
from relaybox.domain.devices import normalize_device
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.legs import ReferLeg
from relaybox.domain.routing import Subscriber

FINAL = frozenset({"success", "busy", "noAnswer", "cancel", "error"})
GIVE_UP_SECONDS = 120.0  # an engine that never reports the NOTIFY: the REFER fails


class ReferAction(Action):
    event_type = "calling.call.refer"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        device = params.get("device")
        if isinstance(device, dict) and device.get("type", "sip") != "sip":
            raise bad_request(f"'device.type' must be sip for a REFER, got {device.get('type')!r}")
        device = normalize_device(device if not isinstance(device, dict) else {"type": "sip", **device}, "device")
        self.to: str = device["params"]["to"]
        self.headers: list[dict[str, str]] = list(device["params"].get("headers") or [])
        status_url = params.get("status_url")
        if status_url is not None and not isinstance(status_url, str):
            raise bad_request("'status_url' must be a URL string")
        leg = self.call.leg
        if self.call.device.get("type") != "sip":
            raise RelayError("400", f"SIP REFER needs a SIP call; this call is a {self.call.device.get('type')} call")
        if not isinstance(leg, ReferLeg):
            raise RelayError("501", "this call's endpoint cannot be transferred with SIP REFER")
        self.leg: ReferLeg = leg

    def begin(self) -> None:
        self.later(GIVE_UP_SECONDS, lambda: self.refer_state("error", "202", "408"))
        self.leg.refer(self.to, self.headers, self)

    # ReferListener (the engine reports here)
    def refer_state(self, state: str, refer_code: str = "", notify_code: str = "") -> None:
        if self.done:
            return
        self.emit(state=state, sip_refer_to=self.to, sip_refer_response_code=refer_code,
                  sip_notify_response_code=notify_code)
        if state in FINAL:
            self.close()

    def call_ending(self) -> None:
        self.refer_state("cancel", "202", "487")


def handlers(service: MediaService) -> dict[str, Any]:
    def refer(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(sub, params, lambda media, cid: ReferAction(media, cid, params), "Starting SIP REFER")

    return {"calling.refer": refer}
