"""Play: a list of media on the platform clock, with pause/resume/volume/stop.

`Player` is the timeline (also used by prompts and connect's ringback); `PlayAction` is the
`calling.play` state machine: `playing`, then exactly one of `finished`/`error`. No `paused` state
goes out: the v2 clients would take it for the end of the play.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from relaybox.clock import Timer
from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.actions.media import heard, known_duration, normalize_media, volume
from relaybox.domain.errors import bad_request
from relaybox.domain.routing import Subscriber

log = logging.getLogger("relaybox.media")


class Player:
    """Plays ITEMS one after the other to the call's far end; `on_done` when the last one ends."""

    def __init__(
        self, media: CallMedia, items: list[dict[str, Any]], *, gain: float = 0.0, loop: int = 1,
        on_done: Callable[[], None] | None = None, on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.media = media
        self.on_error = on_error
        self.items = items
        self.gain = gain
        self.loops_left = loop  # 0 = until stopped
        self.on_done = on_done
        self.index = -1
        self.paused = False
        self.done = False
        self._remaining: float | None = None
        self._since = 0.0
        self._item_start = 0.0
        self._timer: Timer | None = None

    @property
    def clock(self) -> Any:
        return self.media.service.clock

    def start(self) -> None:
        self.media.player_started(self)
        self._advance()

    def _advance(self) -> None:
        self._log_item()
        self.index += 1
        if self.index >= len(self.items):
            if self.loops_left != 1:
                self.loops_left = max(0, self.loops_left - 1) if self.loops_left else 0
                self.index = 0
            else:
                self._finish()
                return
        item = self.items[self.index]
        self._item_start = self.clock.now()
        prepare = getattr(self.media.leg, "prepare", None)  # a real-audio leg renders it and knows its length
        real = prepare(item, self.gain) if prepare is not None else None
        seconds = known_duration(item) if real is None else real
        if seconds is None:
            url = item["params"]["url"]
            seconds = self.media.service.durations.get(url)
            if seconds is None:
                self._remaining = None
                self.media.service.spawn(self._probe(url, self.index))
                return
        self._run(seconds)

    async def _probe(self, url: str, index: int) -> None:
        try:
            seconds = await self.media.service.probe(url)
            durations = self.media.service.durations
            if len(durations) >= 10_000:
                durations.clear()
            durations[url] = seconds
        except Exception as exc:  # unreachable or undecodable: the play fails (or, without on_error, skips it)
            log.info("audio %s: cannot play it: %s", url, exc)
            if not self.done and self.index == index:
                self._item_start = self.clock.now()  # nothing of it was heard
                if self.on_error is not None:
                    self.stop()
                    self.on_error(f"cannot play {url}: {exc}")
                else:
                    self._advance()
            return
        if not self.done and self.index == index:
            self._run(seconds)

    def _run(self, seconds: float, *, starting: bool = True) -> None:
        if starting:  # the far end hears the item once it can really play (an unfetchable file never does)
            self.media.hear(heard(self.items[self.index]))
            self.media.playing(self.items[self.index], seconds)
        self._remaining = seconds
        self._since = self.clock.now()
        if not self.paused:
            self._timer = self.clock.call_later(seconds, self._advance)

    def current(self) -> dict[str, Any] | None:
        """The item being played now, with the gain it plays at."""
        if 0 <= self.index < len(self.items) and not self.done:
            return {**self.items[self.index], "gain": self.gain}
        return None

    def _log_item(self) -> None:
        if 0 <= self.index < len(self.items):
            item = {**self.items[self.index], "gain": self.gain}
            self.media.played.append((item, self._item_start, self.clock.now()))

    def pause(self) -> None:
        if self.paused or self.done:
            return
        self.paused = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._remaining is not None:
            self._remaining = max(0.0, self._remaining - (self.clock.now() - self._since))
        hold = getattr(self.media.leg, "pause_playback", None)  # real audio stops where it is
        if hold is not None:
            hold(True)

    def resume(self) -> None:
        if not self.paused or self.done:
            return
        self.paused = False
        hold = getattr(self.media.leg, "pause_playback", None)
        if hold is not None:
            hold(False)
        if self._remaining is not None:
            self._run(self._remaining, starting=False)

    def stop(self) -> None:
        """Stop without calling `on_done`."""
        if self.done:
            return
        self._log_item()
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.media.player_stopped(self)

    def _finish(self) -> None:
        self.done = True
        self.media.player_stopped(self)
        if self.on_done is not None:
            self.on_done()


class PlayAction(Action):
    event_type = "calling.call.play"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any]) -> None:
        super().__init__(media, control_id)
        items = normalize_media(params.get("play"))
        loop = params.get("loop", 1)
        if isinstance(loop, bool) or not isinstance(loop, int) or loop < 0:
            raise bad_request("'loop' must be a whole number of times (0 = until stopped)")
        self.player = Player(
            media, items, gain=volume(params.get("volume")), loop=loop, on_done=self._played, on_error=self._failed
        )

    def begin(self) -> None:
        self.emit(state="playing")
        self.media.cue("play")
        self.player.start()

    def _played(self) -> None:
        self.emit(state="finished")
        self.close()

    def _failed(self, reason: str) -> None:
        """An audio file could not be fetched or decoded: the play ends in `error` (clients: not successful)."""
        if not self.done:
            self.emit(state="error", reason=reason)
            self.close()

    def call_ending(self) -> None:
        self.player.stop()
        self.emit(state="finished")
        self.close()


def handlers(service: MediaService) -> dict[str, Any]:
    def play(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(sub, params, lambda media, cid: PlayAction(media, cid, params), "Playing")

    def pause(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, PlayAction)
        action.player.pause()
        return ok("Paused", control_id=action.control_id)

    def resume(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, PlayAction)
        action.player.resume()
        return ok("Resumed", control_id=action.control_id)

    def set_volume(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, PlayAction)
        action.player.gain = volume(params.get("volume"))
        set_volume = getattr(action.media.leg, "set_volume", None)  # real audio: from the next frame on
        if set_volume is not None:
            set_volume(action.player.gain)
        return ok("Volume changed", control_id=action.control_id)

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, PlayAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    return {
        "calling.play": play,
        "calling.play.pause": pause,
        "calling.play.resume": resume,
        "calling.play.volume": set_volume,
        "calling.play.stop": stop,
    }

