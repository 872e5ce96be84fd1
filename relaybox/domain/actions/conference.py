"""Ad-hoc conferences: `calling.join_conference` / `calling.leave_conference` (RELAY v4).

A call joins the room NAME of its project (created by its first participant, gone with its last). Calls
with real audio (SIP legs) are mixed N-party: each hears everyone else (`Mixer`); a `muted` participant
is heard by nobody. Sandbox phones join symbolically (they are listed and get the events and callbacks;
their scripted audio is not mixed, and what real audio would play is noted in their transcript).
`end_on_exit`: when that participant leaves, everyone is taken out of the room.
`calling.conference {conference_id, name, status, call_id}` goes to each participant's owner with status
`joined`, `left` or `ended` (the wire spec names the event and its fields, not the status values).
`beep` (a participant's: "true" by default, "onEnter", "onExit", "false"): the others in the room hear a
beep when it joins and/or leaves (not when the room ends).

Starting (cXML's `startConferenceOnEnter`, as SignalWire documents it): a room starts once it holds two
participants or more and one of them has `start_on_enter` (true by default); it then stays started until it
ends. Until then its participants are listed but not mixed: each hears hold music in a loop, its own
`wait_url` (WAV/MP3, or a SWML document whose first `play` names the audio) or a default melody (leg entries
`{"type": "hold_music", "url"}` and `{"type": "hold_music_stop"}`).

`coach`: the call_id of a participant already in the room; the joining call (the coach) hears everyone, and
only the coached participant hears it.

`status_callback` (+ `status_callback_method` POST (default) or GET, `status_callback_event_type`
"application/json" for a JSON body instead of a form): the room's callback is the first one a participant
gives; the events it gets are that participant's `status_callback_event`, space-separated among start end
join leave mute hold modify speaker, by default "start end" (the conference-level events). relaybox sends
conference-start, conference-end, participant-join and participant-leave; no command changes a participant's
mute or hold after it joins and nothing modifies a room, so mute/hold/modify are accepted and never sent, and
speaker (talk detection) is not implemented. Each request carries cXML's form parameters (`relaybox.protocol.cxml`)
and a SequenceNumber counted per room. conference-end is sent when the room empties, also if it never
started. The requests go through the `Webhooks` the platform injects (the domain does no I/O).

`record` "record-from-start" (default "do-not-record"; the first participant asking for it sets the room's
recording, its `trim` and `recording_status_callback*`): the room's whole mix, every participant, from the
room's start (or from that participant's joining a room already started) to its end, into a WAV stored and
served like `calling.record`'s. `trim` "trim-silence" (default) leaves out the leading and trailing silence,
"do-not-trim" keeps them. Sandbox phones are not mixed: a room of sandbox phones only records silence for
its length (nothing with trim-silence). `recording_status_callback` (+ `_method`, `_event_type` as above)
gets `recording_status_callback_event` among in-progress completed absent (default "completed"):
in-progress at the start, then completed, or absent when nothing was recorded (the file is dropped), with
RecordingSid, RecordingUrl, RecordingStatus, RecordingDuration (whole seconds), ConferenceSid, AccountSid,
Timestamp.

`region` is accepted and has no effect: relaybox is one host. `stream` is refused (501): streaming a room's
audio is not implemented.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relaybox.domain.actions.base import MediaService, ok
from relaybox.domain.calls import Call, CallState
from relaybox.domain.errors import RelayError, bad_request, not_found
from relaybox.domain.params import opt_number, opt_str, req_str
from relaybox.domain.routing import Subscriber
from relaybox.protocol import cxml

log = logging.getLogger("relaybox.media")

MAX_PARTICIPANTS = 250
BEEPS = ("true", "false", "onEnter", "onExit")
STATUS_EVENTS = ("start", "end", "join", "leave", "mute", "hold", "modify", "speaker")
DEFAULT_STATUS_EVENTS = frozenset({"start", "end"})
METHODS = ("POST", "GET")
JSON_TYPE = "application/json"
RECORDS = ("do-not-record", "record-from-start")
TRIMS = ("trim-silence", "do-not-trim")
RECORDING_EVENTS = ("in-progress", "completed", "absent")


@dataclass
class Callback:
    url: str
    method: str
    events: frozenset[str]
    json: bool = False


@dataclass
class Recording:
    """A room's recording: settings from the participant that asked for it, then the file once started."""

    trim: bool
    callback: Callback | None
    recording_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    path: Path | None = None
    url: str = ""
    started_at: float | None = None
    media: Any = None  # the mix's recording (a real-audio leg's `record_mix`), once one is mixed
    finished: bool = False


@dataclass
class Participant:
    call: Call
    muted: bool
    end_on_exit: bool
    beep: str = "true"  # when the others hear a beep: "true" (joining and leaving), "onEnter", "onExit", "false"
    start_on_enter: bool = True
    wait_url: str | None = None
    coach: str | None = None  # the call_id this participant coaches (only that one hears it)
    mixed: Any = None  # the leg mixed into the room's audio, if it carries real audio
    waiting: bool = False  # hearing hold music: the room has not started


@dataclass
class Conference:
    conference_id: str
    name: str
    project: str
    max_participants: int
    participants: dict[str, Participant] = field(default_factory=dict)  # call_id ->
    audio: Any = None  # the real-audio legs' mix, made by the first of them (`join` capability)
    started: bool = False
    callback: Callback | None = None  # the status callback: the first participant's that gave one
    sequence: int = 0  # the status callbacks' SequenceNumber
    recording: Recording | None = None


def _flag(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise bad_request(f"'{key}' must be true or false")
    return value


def _choice(params: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = opt_str(params, key, default) or default
    if value not in choices:
        raise bad_request(f"'{key}' must be one of {', '.join(choices)}")
    return value


def _url(params: dict[str, Any], key: str) -> str | None:
    value = opt_str(params, key)
    if value is not None and not value.startswith(("http://", "https://")):
        raise bad_request(f"'{key}' must be an http(s) URL")
    return value or None


def _callback(params: dict[str, Any], prefix: str, choices: tuple[str, ...],
              default: frozenset[str]) -> Callback | None:
    """PREFIX (status_callback, recording_status_callback) with its _method, _event and _event_type."""
    url = _url(params, prefix)
    method = _choice(params, f"{prefix}_method", METHODS, "POST")
    given = opt_str(params, f"{prefix}_event")
    events = frozenset(given.split()) if given is not None else default
    unknown = events - set(choices)
    if unknown:
        raise bad_request(f"'{prefix}_event' must be space-separated among {' '.join(choices)} "
                          f"(not {' '.join(sorted(unknown))})")
    kind = opt_str(params, f"{prefix}_event_type")
    return Callback(url, method, events, json=kind == JSON_TYPE) if url else None


class Conferences:
    """The rooms of every project, and where each call is."""

    def __init__(self, service: MediaService) -> None:
        self.service = service
        self.rooms: dict[tuple[str, str], Conference] = {}  # (project, name) ->
        self.by_call: dict[str, Conference] = {}
        service.calling.end_hooks.append(self.call_ended)

    def join(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = self.service.calling.command_target(sub, params)
        if call.state is not CallState.ANSWERED:
            raise RelayError("409", "Only an answered call can join a conference")
        name = req_str(params, "name")
        if len(name) > 128:
            raise bad_request("'name' must be at most 128 characters")
        muted, end_on_exit = _flag(params, "muted", False), _flag(params, "end_on_exit", False)
        start_on_enter = _flag(params, "start_on_enter", True)
        beep = params.get("beep", "true")
        if isinstance(beep, bool):
            beep = "true" if beep else "false"
        if beep not in BEEPS:
            raise bad_request(f"'beep' must be one of {', '.join(BEEPS)}")
        limit = int(opt_number(params, "max_participants", MAX_PARTICIPANTS, low=2, high=MAX_PARTICIPANTS)
                    or MAX_PARTICIPANTS)
        wait_url = _url(params, "wait_url")
        callback = _callback(params, "status_callback", STATUS_EVENTS, DEFAULT_STATUS_EVENTS)
        record = _choice(params, "record", RECORDS, "do-not-record") == "record-from-start"
        trim = _choice(params, "trim", TRIMS, "trim-silence") == "trim-silence"
        recording_callback = _callback(params, "recording_status_callback", RECORDING_EVENTS,
                                       frozenset({"completed"}))
        if record and self.service.recordings_dir is None:
            raise RelayError("500", "recording is not available on this server")
        opt_str(params, "region")  # one host: accepted, no effect
        coach = opt_str(params, "coach")
        if params.get("stream") is not None:
            raise RelayError("501", "'stream' (streaming the conference audio) is not supported by relaybox")
        if call.call_id in self.by_call:
            raise RelayError("409", "The call is already in a conference")
        room = self.rooms.get((call.project, name))
        if coach is not None and (room is None or coach not in room.participants or coach == call.call_id):
            raise bad_request(f"'coach': no call {coach!r} in the conference {name!r} to coach")
        if room is None:
            room = Conference(str(uuid.uuid4()), name, call.project, limit)
        if len(room.participants) >= room.max_participants:
            raise RelayError("409", f"The conference is full ({room.max_participants} participants)")
        self.rooms[(call.project, name)] = room
        part = Participant(call, muted, end_on_exit, beep, start_on_enter, wait_url, coach)
        room.participants[call.call_id] = part
        self.by_call[call.call_id] = room
        if room.callback is None:
            room.callback = callback
        if record and room.recording is None:
            room.recording = Recording(trim, recording_callback)
        if beep in ("true", "onEnter"):
            self._beep(room, call.call_id)
        self._notify(room, "participant-join", "join", part)
        if room.started:
            self._mix_in(room, part)
            self._record(room)
        elif len(room.participants) >= 2 and any(p.start_on_enter for p in room.participants.values()):
            self._start(room)
        else:
            part.waiting = True
            self.service.media_for(call).hear({"type": "hold_music", "url": wait_url})
        asyncio.get_running_loop().call_soon(self._emit, room, call, "joined")
        return ok("Joining conference", call_id=call.call_id, conference_id=room.conference_id)

    def leave(self, sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        call = self.service.calling.command_target(sub, params)
        conference_id = req_str(params, "conference_id")
        room = self.by_call.get(call.call_id)
        if room is None or room.conference_id != conference_id:
            raise not_found("The call is not in that conference")
        asyncio.get_running_loop().call_soon(self._leave, room, call.call_id)
        return ok("Leaving conference", call_id=call.call_id, conference_id=conference_id)

    def call_ended(self, call: Call) -> None:
        room = self.by_call.get(call.call_id)
        if room is not None:
            self._leave(room, call.call_id, status=None)  # its call is over: no event for it

    def _start(self, room: Conference) -> None:
        """The room starts: the hold music stops and everyone is mixed."""
        room.started = True
        self._notify(room, "conference-start", "start")
        for part in room.participants.values():
            if part.waiting:
                part.waiting = False
                if part.call.state is CallState.ANSWERED:
                    self.service.media_for(part.call).hear({"type": "hold_music_stop"})
            self._mix_in(room, part)
        self._record(room)

    def _mix_in(self, room: Conference, part: Participant) -> None:
        """PART's real audio joins the room's mix (a coach: heard by the coached participant only)."""
        leg = self.service.media_for(part.call).leg
        join = getattr(leg, "join", None)
        if join is None:
            return
        heard_by = None
        if part.coach is not None:
            coached = room.participants.get(part.coach)
            heard_by = [self.service.media_for(coached.call).leg] if coached is not None else []
        room.audio = join(room.audio, muted=part.muted, heard_by=heard_by)
        part.mixed = leg
        rec = room.recording
        if rec is not None and rec.started_at is not None and rec.media is None and not rec.finished:
            self._record_mix(rec, leg)

    def _record(self, room: Conference) -> None:
        """The room's recording starts (it has started, and someone asked for one)."""
        rec, service = room.recording, self.service
        if rec is None or rec.started_at is not None or service.recordings_dir is None:
            return
        rec.started_at = service.clock.now()
        name = f"conference-{secrets.token_urlsafe(18)}.wav"
        rec.path = service.recordings_dir / name
        rec.url = service.public_url(f"/media/recordings/{name}")
        for part in room.participants.values():
            if part.mixed is not None:
                self._record_mix(rec, part.mixed)
                break
        self._notify_recording(room, "in-progress", 0.0)

    def _record_mix(self, rec: Recording, leg: Any) -> None:
        record_mix = getattr(leg, "record_mix", None)
        if record_mix is not None and rec.path is not None:
            try:
                rec.media = record_mix(rec.path, rec.trim)
            except Exception as exc:
                log.warning("conference recording %s: cannot start (%s)", rec.path, exc)

    def _record_end(self, room: Conference) -> None:
        """The room ended: its recording is finished and reported (absent: nothing was recorded)."""
        rec, service = room.recording, self.service
        if rec is None or rec.started_at is None or rec.finished or rec.path is None:
            return
        rec.finished = True
        seconds = 0.0
        try:
            if rec.media is not None:
                if rec.trim and not rec.media.heard:
                    rec.media.discard()
                else:
                    seconds, _size = rec.media.finish()
            elif not rec.trim and service.renderer is not None:  # no audio was ever mixed: the room's silence
                service.spawn(self._render_silence(room, rec, service.clock.now() - rec.started_at))
                return
        except Exception as exc:
            log.warning("conference recording %s: cannot finish (%s)", rec.path, exc)
            seconds = 0.0
        self._notify_recording(room, "completed" if seconds > 0 else "absent", seconds)

    async def _render_silence(self, room: Conference, rec: Recording, length: float) -> None:
        from relaybox.domain.actions.record import RecordingSpec

        assert rec.path is not None and self.service.renderer is not None
        spec = RecordingSpec(rec.path, "wav", False, "speak", length)
        render_async = getattr(self.service.renderer, "render_async", None)
        try:
            seconds, _size = await render_async(spec) if render_async else self.service.renderer.render(spec)
        except Exception as exc:
            log.warning("conference recording %s: cannot write it (%s)", rec.path, exc)
            seconds = 0.0
        self._notify_recording(room, "completed" if seconds > 0 else "absent", seconds)

    def _leave(self, room: Conference, call_id: str, *, status: str | None = "left") -> None:
        part = room.participants.pop(call_id, None)
        if part is None:
            return
        self.by_call.pop(call_id, None)
        unbridge = getattr(part.mixed, "unbridge", None)  # a SIP leg whose call ended has no media left to leave
        if unbridge is not None:
            unbridge()
        if part.waiting and part.call.state is CallState.ANSWERED:
            self.service.media_for(part.call).hear({"type": "hold_music_stop"})
        if status is not None:
            self._emit(room, part.call, status)
        self._notify(room, "participant-leave", "leave", part)
        if part.end_on_exit:  # everyone else is taken out
            for other in list(room.participants):
                self._leave(room, other, status="ended")
        elif status != "ended" and part.beep in ("true", "onExit"):
            self._beep(room, call_id)
        if not room.participants and self.rooms.get((room.project, room.name)) is room:
            del self.rooms[(room.project, room.name)]
            self._record_end(room)
            self._notify(room, "conference-end", "end")

    def _beep(self, room: Conference, call_id: str) -> None:
        """Everyone in ROOM but CALL_ID hears a beep (a participant came or went)."""
        for other in room.participants.values():
            if other.call.call_id != call_id and other.call.state is CallState.ANSWERED:
                self.service.media_for(other.call).hear({"type": "beep"})

    def _emit(self, room: Conference, call: Call, status: str) -> None:
        if call.state is not CallState.ENDED:
            self.service.emit(call, "calling.conference", {
                "conference_id": room.conference_id, "name": room.name, "status": status})

    def _notify(self, room: Conference, event: str, kind: str, part: Participant | None = None) -> None:
        """The room's status callback, if it asked for KIND (start, end, join, leave)."""
        callback = room.callback
        if callback is None or kind not in callback.events:
            return
        if self.service.webhooks is None:
            log.warning("conference %s: no webhooks on this platform, %s not sent", room.name, event)
            return
        room.sequence += 1
        who = None if part is None else {"call_id": part.call.call_id, "muted": part.muted, "coach": part.coach,
                                         "end_on_exit": part.end_on_exit, "start_on_enter": part.start_on_enter}
        params = cxml.conference_status(room.conference_id, room.name, room.project, room.sequence, event, who)
        self.service.webhooks.send(callback.url, callback.method, params, json=callback.json)

    def _notify_recording(self, room: Conference, status: str, seconds: float) -> None:
        rec = room.recording
        callback = rec.callback if rec is not None else None
        if rec is None or callback is None or status not in callback.events:
            return
        if self.service.webhooks is None:
            log.warning("conference %s: no webhooks on this platform, recording %s not sent", room.name, status)
            return
        params = cxml.recording_status(rec.recording_id, status, seconds, rec.url, room.conference_id, room.project)
        self.service.webhooks.send(callback.url, callback.method, params, json=callback.json)


def handlers(service: MediaService) -> dict[str, Any]:
    rooms = Conferences(service)
    return {"calling.join_conference": rooms.join, "calling.leave_conference": rooms.leave}
