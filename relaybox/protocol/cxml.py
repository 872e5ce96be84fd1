"""The cXML dialect of the status callbacks a conference sends (`join_conference`'s `status_callback*` and
`recording_status_callback*`): form parameters named as SignalWire's Compatibility API (and Twilio) name them.
Pure: the domain says what happened, this module spells it, the webhooks engine sends it."""

from __future__ import annotations

import email.utils


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _timestamp() -> str:
    """RFC 2822, GMT: when the callback is made (a wall-clock date, as the receiver's logs expect)."""
    return email.utils.formatdate(usegmt=True)


def conference_status(conference_id: str, name: str, project: str, sequence: int, event: str,
                      participant: dict[str, object] | None = None) -> dict[str, str]:
    """A conference status callback's parameters; PARTICIPANT (call_id, muted, coach, end_on_exit,
    start_on_enter) for the participant-* events."""
    params = {
        "ConferenceSid": conference_id, "FriendlyName": name, "AccountSid": project,
        "Timestamp": _timestamp(), "SequenceNumber": str(sequence), "StatusCallbackEvent": event,
    }
    if participant is not None:
        coach = participant.get("coach")
        params.update({
            "CallSid": str(participant["call_id"]), "Muted": _bool(bool(participant["muted"])), "Hold": "false",
            "Coaching": _bool(coach is not None), "EndConferenceOnExit": _bool(bool(participant["end_on_exit"])),
            "StartConferenceOnEnter": _bool(bool(participant["start_on_enter"])),
        })
        if coach is not None:
            params["CallSidToCoach"] = str(coach)
    return params


def recording_status(recording_id: str, status: str, seconds: float, url: str, conference_id: str,
                     project: str) -> dict[str, str]:
    """A conference recording's status callback parameters (no RecordingUrl when it is `absent`)."""
    params = {
        "RecordingSid": recording_id, "RecordingStatus": status, "RecordingDuration": str(round(seconds)),
        "ConferenceSid": conference_id, "AccountSid": project, "Timestamp": _timestamp(),
    }
    if status != "absent":
        params["RecordingUrl"] = url
    return params
