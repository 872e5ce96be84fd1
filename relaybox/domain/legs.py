"""What the domain needs from an engine (sandbox phones, SIP dialogs, devices), and what it offers back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from relaybox.domain.calls import Call


class LegListener(Protocol):
    """Implemented by the domain; engines report what the far end did."""

    def leg_ringing(self, call: Call) -> None: ...

    def leg_answered(self, call: Call) -> None: ...

    def leg_ended(self, call: Call, reason: str, detail: str | None = None) -> None: ...


class Leg(Protocol):
    """The far end of a call, implemented by an engine."""

    def answer(self) -> None:
        """The platform answered the (inbound) call."""

    def hangup(self, reason: str, detail: str | None = None) -> None:
        """The platform ended the call (it will not report `leg_ended` back)."""


class Network(Protocol):
    """Places outbound legs: resolves a device to an engine and starts the far end."""

    def place(self, call: Call, listener: LegListener) -> Leg: ...


class CallHistory(Protocol):
    def call_created(self, call: Call) -> None: ...

    def call_changed(self, call: Call) -> None: ...


class NumberDirectory(Protocol):
    def context_for(self, number: str) -> str | None: ...


class MediaSink(Protocol):
    """Implemented by the domain: what the far end sends into a call (keys, voice, tones).

    Times are platform-clock readings, so a recogniser can tell when an utterance started and ends.
    """

    def dtmf(self, digit: str) -> None: ...

    def voice(self, text: str, start: float, end: float, machine: bool) -> None: ...

    def beep(self) -> None: ...

    def fax_tone(self, tone: str, pages: int) -> None: ...


@runtime_checkable
class MediaLeg(Protocol):
    """A leg whose engine carries media: an optional capability next to `Leg`.

    The domain decides what is played and for how long; the engine renders it (or, in the
    sandbox, notes it in the phone's transcript) and reports the far end's input to the sink.
    """

    def attach_media(self, sink: MediaSink) -> None:
        """Report the far end's input to SINK from now on (an utterance in progress included)."""

    def hear(self, entry: dict[str, Any]) -> None:
        """The far end hears ENTRY (`{"type": "tts", "text": ...}`, `{"type": "digits", ...}`, ...)."""

    def cue(self, name: str) -> None:
        """A media moment the far end may wait for: `play`, `prompt` or `silence`."""


class ReferListener(Protocol):
    """Implemented by the domain: how a SIP REFER the platform sent on a leg is going.

    STATE is `inProgress` (the far end accepted the REFER: REFER_CODE 202), then one of `success`,
    `busy`, `noAnswer`, `cancel` or `error` with the NOTIFY's sipfrag status as NOTIFY_CODE.
    """

    def refer_state(self, state: str, refer_code: str = "", notify_code: str = "") -> None: ...


@runtime_checkable
class ReferLeg(Protocol):
    """A leg that can be transferred with SIP REFER: an optional capability next to `Leg`."""

    def refer(self, to: str, headers: list[dict[str, str]], listener: ReferListener) -> None:
        """Send REFER (Refer-To: TO, with HEADERS) to the far end and report its progress to LISTENER."""


class Webhooks(Protocol):
    """Implemented outside the domain: HTTP requests to the customer's callback URLs (cXML-style status
    callbacks). The domain never waits on the network: `send` queues the request and returns."""

    def send(self, url: str, method: str, params: dict[str, str], *, json: bool = False) -> None:
        """Request URL with PARAMS (POST: a form body, or JSON if JSON; GET: the query), in the background,
        with a timeout and a retry; failures are logged, never raised."""
