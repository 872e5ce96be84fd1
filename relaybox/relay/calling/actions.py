"""Action objects: returned by the `_async` methods, for an operation still running on the call."""

from __future__ import annotations

from typing import Any

from .components import BaseComponent, Record, Tap
from .results import (
    ConnectResult,
    DetectResult,
    FaxResult,
    PlayPauseResult,
    PlayResult,
    PlayResumeResult,
    PlayVolumeResult,
    PromptResult,
    PromptVolumeResult,
    RecordResult,
    SendDigitsResult,
    StopResult,
    TapResult,
)


class BaseAction:
    """`result`, `state`, `completed`, `payload` (sent to Relay to start it), `control_id`."""

    def __init__(self, component: BaseComponent) -> None:
        self.component = component

    @property
    def control_id(self) -> str:
        return self.component.control_id

    @property
    def payload(self) -> dict[str, Any] | None:
        return self.component.payload

    @property
    def completed(self) -> bool:
        return self.component.completed

    @property
    def state(self) -> str:
        return self.component.state

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(control_id={self.control_id!r}, state={self.state!r}, completed={self.completed})"
        )


class _Stoppable(BaseAction):
    async def stop(self) -> StopResult:
        """Stop the action immediately. Returns a Relay.Calling.StopResult."""
        return StopResult(await self.component.stop())


class ConnectAction(BaseAction):
    """Returned by `connect_async`."""

    @property
    def result(self) -> ConnectResult:
        return ConnectResult(self.component)


class DetectAction(_Stoppable):
    """Returned by the `detect*_async` methods."""

    @property
    def result(self) -> DetectResult:
        return DetectResult(self.component)


class FaxAction(_Stoppable):
    """Returned by `fax_receive_async` and `fax_send_async`."""

    @property
    def result(self) -> FaxResult:
        return FaxResult(self.component)


class PlayAction(_Stoppable):
    """Returned by the `play*_async` methods: `stop`, `pause`, `resume`, `volume`."""

    @property
    def result(self) -> PlayResult:
        return PlayResult(self.component)

    async def pause(self) -> PlayPauseResult:
        """Pause the playback immediately."""
        return PlayPauseResult(await self.component.pause())

    async def resume(self) -> PlayResumeResult:
        """Resume the playback immediately."""
        return PlayResumeResult(await self.component.resume())

    async def volume(self, volume: float) -> PlayVolumeResult:
        """Volume value between -40dB and +40dB where 0 is unchanged."""
        return PlayVolumeResult(await self.component.volume(volume))


class PromptAction(_Stoppable):
    """Returned by the `prompt*_async` methods: `stop`, `volume`."""

    @property
    def result(self) -> PromptResult:
        return PromptResult(self.component)

    async def volume(self, volume: float) -> PromptVolumeResult:
        """Volume value between -40dB and +40dB where 0 is unchanged."""
        return PromptVolumeResult(await self.component.volume(volume))


class RecordAction(_Stoppable):
    """Returned by `record_async`; `url` is known as soon as the recording started."""

    component: Record

    @property
    def result(self) -> RecordResult:
        return RecordResult(self.component)

    @property
    def url(self) -> str:
        return self.component.url


class SendDigitsAction(_Stoppable):
    """Returned by `send_digits_async`. (`stop` sends calling.send_digits.stop.)"""

    @property
    def result(self) -> SendDigitsResult:
        return SendDigitsResult(self.component)


class TapAction(_Stoppable):
    """Returned by `tap_async`; `source_device` is the device sending the media."""

    component: Tap

    @property
    def result(self) -> TapResult:
        return TapResult(self.component)

    @property
    def source_device(self) -> dict[str, Any]:
        return self.component.source_device


__all__ = [
    "BaseAction",
    "ConnectAction",
    "DetectAction",
    "FaxAction",
    "PlayAction",
    "PromptAction",
    "RecordAction",
    "SendDigitsAction",
    "TapAction",
]
