"""Ad-hoc conferences: `calling.join_conference` / `calling.leave_conference` (RELAY v4).

A call joins the room NAME of its project (created by its first participant, gone with its last). Calls
with real audio (SIP legs) are mixed N-party: each hears everyone else (`Mixer`); a `muted` participant
is heard by nobody. Sandbox phones join symbolically (they are listed and get the events; their scripted
audio is not mixed). `end_on_exit`: when that participant leaves, everyone is taken out of the room.
`calling.conference {conference_id, name, status, call_id}` goes to each participant's owner with status
`joined`, `left` or `ended` (the wire spec names the event and its fields, not the status values).
`beep` (a participant's: "true" by default, "onEnter", "onExit", "false"): the others in the room hear a
beep when it joins and/or leaves (not when the room ends).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from relaybox.domain.actions.base import MediaService, ok
from relaybox.domain.calls import Call, CallState
from relaybox.domain.errors import RelayError, bad_request, not_found
from relaybox.domain.params import opt_number, req_str
from relaybox.domain.routing import Subscriber

MAX_PARTICIPANTS = 250
BEEPS = ("true", "false", "onEnter", "onExit")


@dataclass
class Participant:
    call: Call
    muted: bool
    end_on_exit: bool
    beep: str = "true"  # when the others hear a beep: "true" (joining and leaving), "onEnter", "onExit", "false"
    mixed: Any = None  # the leg mixed into the room's audio, if it carries real audio


@dataclass
class Conference:
    conference_id: str
    name: str
    project: str
    max_participants: int
    participants: dict[str, Participant] = field(default_factory=dict)  # call_id ->
    audio: Any = None  # the real-audio legs' mix, made by the first of them (`join` capability)


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
        flags = {key: params.get(key, False) for key in ("muted", "end_on_exit", "start_on_enter")}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise bad_request(f"'{key}' must be true or false")
        beep = params.get("beep", "true")
        if isinstance(beep, bool):
            beep = "true" if beep else "false"
        if beep not in BEEPS:
            raise bad_request(f"'beep' must be one of {', '.join(BEEPS)}")
        limit = int(opt_number(params, "max_participants", MAX_PARTICIPANTS, low=2, high=MAX_PARTICIPANTS)
                    or MAX_PARTICIPANTS)
        if call.call_id in self.by_call:
            raise RelayError("409", "The call is already in a conference")
        room = self.rooms.get((call.project, name))
        if room is None:
            room = Conference(str(uuid.uuid4()), name, call.project, limit)
        if len(room.participants) >= room.max_participants:
            raise RelayError("409", f"The conference is full ({room.max_participants} participants)")
        self.rooms[(call.project, name)] = room
        part = Participant(call, flags["muted"], flags["end_on_exit"], beep)
        room.participants[call.call_id] = part
        self.by_call[call.call_id] = room
        leg = self.service.media_for(call).leg
        join = getattr(leg, "join", None)
        if join is not None:
            room.audio = join(room.audio, muted=part.muted)
            part.mixed = leg
        if beep in ("true", "onEnter"):
            self._beep(room, call.call_id)
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

    def _leave(self, room: Conference, call_id: str, *, status: str | None = "left") -> None:
        part = room.participants.pop(call_id, None)
        if part is None:
            return
        self.by_call.pop(call_id, None)
        if part.mixed is not None:
            part.mixed.unbridge()
        if status is not None:
            self._emit(room, part.call, status)
        if part.end_on_exit:  # everyone else is taken out
            for other in list(room.participants):
                self._leave(room, other, status="ended")
        elif status != "ended" and part.beep in ("true", "onExit"):
            self._beep(room, call_id)
        if not room.participants and self.rooms.get((room.project, room.name)) is room:
            del self.rooms[(room.project, room.name)]

    def _beep(self, room: Conference, call_id: str) -> None:
        """Everyone in ROOM but CALL_ID hears a beep (a participant came or went)."""
        for other in room.participants.values():
            if other.call.call_id != call_id and other.call.state is CallState.ANSWERED:
                self.service.media_for(other.call).hear({"type": "beep"})

    def _emit(self, room: Conference, call: Call, status: str) -> None:
        if call.state is not CallState.ENDED:
            self.service.emit(call, "calling.conference", {
                "conference_id": room.conference_id, "name": room.name, "status": status})


def handlers(service: MediaService) -> dict[str, Any]:
    rooms = Conferences(service)
    return {"calling.join_conference": rooms.join, "calling.leave_conference": rooms.leave}
