"""Result objects: the final outcome of a (blocking) call method, or of an action once completed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..event import Event

if TYPE_CHECKING:
    from .call import Call
    from .components import (
        BaseComponent,
        Detect,
        Hangup,
        Prompt,
        Record,
        Tap,
        _Fax,
    )


class BaseResult:
    """`successful` (bool) and `event` (Relay.Event: the last event that completed the operation)."""

    def __init__(self, component: BaseComponent) -> None:
        self.component = component

    @property
    def successful(self) -> bool:
        return self.component.successful

    @property
    def event(self) -> Event | None:
        return self.component.event

    def __repr__(self) -> str:
        return f"{type(self).__name__}(successful={self.successful}, event={self.event!r})"


class AnswerResult(BaseResult):
    """Returned by `answer`: `successful` (the call has been answered), `event`."""


class DialResult(BaseResult):
    """Returned by `dial`: `successful` (the remote party picked up), `event`, `call`."""

    @property
    def call(self) -> Call:
        return self.component.call


class HangupResult(BaseResult):
    """Returned by `hangup`: `successful`, `event`, `reason` (the hangup reason)."""

    component: Hangup

    @property
    def reason(self) -> str:
        return self.component.reason


class ConnectResult(BaseResult):
    """Returned by `connect`: `successful`, `event`, `call` (the remote Call connected with yours)."""

    @property
    def call(self) -> Call | None:
        return self.component.call.peer


class DisconnectResult(BaseResult):
    """Returned by `disconnect`: `successful`, `event`."""


class DetectResult(BaseResult):
    """Returned by the detect methods: `successful`, `event`, `type` (fax, machine or digit), `result`."""

    component: Detect

    @property
    def type(self) -> str:
        return self.component.detect_type

    @property
    def detect_type(self) -> str:
        return self.component.detect_type

    @property
    def result(self) -> str | None:
        return self.component.result


class FaxResult(BaseResult):
    """Returned by `fax_receive`/`fax_send`: `successful`, `event`, `direction` (send or receive),
    `identity`, `remote_identity`, `document` (URL), `pages`."""

    component: _Fax

    @property
    def direction(self) -> str | None:
        return self.component.direction

    @property
    def identity(self) -> str | None:
        return self.component.identity

    @property
    def remote_identity(self) -> str | None:
        return self.component.remote_identity

    @property
    def document(self) -> str | None:
        return self.component.document

    @property
    def pages(self) -> int | None:
        return self.component.pages


class PlayResult(BaseResult):
    """Returned by the play methods: `successful` (the playing completed), `event`."""


class PromptResult(BaseResult):
    """Returned by the prompt methods: `successful`, `event`, `type` (digit or speech), `result`,
    `terminator`, `confidence`."""

    component: Prompt

    @property
    def type(self) -> str:
        return self.component.prompt_type

    @property
    def prompt_type(self) -> str:
        return self.component.prompt_type

    @property
    def result(self) -> str | None:
        return self.component.input

    @property
    def terminator(self) -> str | None:
        return self.component.terminator

    @property
    def confidence(self) -> float | None:
        return self.component.confidence


class RecordResult(BaseResult):
    """Returned by `record`: `successful`, `event`, `url`, `duration` (s), `size`."""

    component: Record

    @property
    def url(self) -> str:
        return self.component.url

    @property
    def duration(self) -> float:
        return self.component.duration

    @property
    def size(self) -> int:
        return self.component.size


class SendDigitsResult(BaseResult):
    """Returned by `send_digits`: `successful`, `event`."""


class TapResult(BaseResult):
    """Returned by `tap`: `successful`, `event`, `tap`, `source_device`, `destination_device`."""

    component: Tap

    @property
    def tap(self) -> dict[str, Any]:
        return self.component.tap

    @property
    def source_device(self) -> dict[str, Any]:
        return self.component.source_device

    @property
    def destination_device(self) -> dict[str, Any]:
        return self.component.device


class _Successful:
    def __init__(self, successful: bool) -> None:
        self.successful = successful

    def __repr__(self) -> str:
        return f"{type(self).__name__}(successful={self.successful})"


class StopResult(_Successful):
    """Returned by an action's `stop`: `successful`."""


class PlayPauseResult(_Successful):
    """Returned by `PlayAction.pause`: `successful`."""


class PlayResumeResult(_Successful):
    """Returned by `PlayAction.resume`: `successful`."""


class PlayVolumeResult(_Successful):
    """Returned by `PlayAction.volume`: `successful`."""


class PromptVolumeResult(_Successful):
    """Returned by `PromptAction.volume`: `successful`."""


__all__ = [
    "AnswerResult",
    "BaseResult",
    "ConnectResult",
    "DetectResult",
    "DialResult",
    "DisconnectResult",
    "FaxResult",
    "HangupResult",
    "PlayPauseResult",
    "PlayResult",
    "PlayResumeResult",
    "PlayVolumeResult",
    "PromptResult",
    "PromptVolumeResult",
    "RecordResult",
    "SendDigitsResult",
    "StopResult",
    "TapResult",
]
