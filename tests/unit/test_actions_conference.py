"""join_conference's domain on the ManualClock, with real-audio legs stood in for by fakes around a real
`Mixer`: participants wait unmixed on hold music until the room starts, then all are mixed, a coach heard by
the coached leg only; the status callbacks go to the injected Webhooks (no I/O in the domain)."""

from __future__ import annotations

from typing import Any

from mediaworld import World, world

from relaybox.media.mixer import Mixer

__all__ = ["world"]


class AudioLeg:
    """A leg with the `join` capability (what `CallMedia` offers), noting what it heard."""

    def __init__(self) -> None:
        self.heard: list[dict[str, Any]] = []
        self.mixer: Mixer | None = None

    def attach_media(self, sink: Any) -> None:
        pass

    def hear(self, entry: dict[str, Any]) -> None:
        self.heard.append(entry)

    def cue(self, name: str) -> None:
        pass

    def join(self, mixer: Mixer | None = None, *, muted: bool = False, heard_by: list[Any] | None = None) -> Mixer:
        self.mixer = mixer or Mixer()
        self.mixer.join(self, -200 if muted else 0, heard_by=heard_by)
        return self.mixer

    def record_mix(self, path: Any, trim: bool) -> FakeRecording:
        self.recording = FakeRecording(path, trim)
        return self.recording

    def unbridge(self) -> None:
        if self.mixer is not None:
            self.mixer.leave(self)
            self.mixer = None


class FakeRecording:
    def __init__(self, path: Any, trim: bool) -> None:
        self.path, self.trim, self.heard, self.result = path, trim, True, ""

    def finish(self) -> tuple[float, int]:
        self.result = "finished"
        return 12.4, 1000

    def discard(self) -> None:
        self.result = "discarded"


class Hooks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str], bool]] = []

    def send(self, url: str, method: str, params: dict[str, str], *, json: bool = False) -> None:
        self.sent.append((url, method, params, json))


def holds(leg: AudioLeg) -> list[dict[str, Any]]:
    return [e for e in leg.heard if e["type"] in ("hold_music", "hold_music_stop")]


async def audio_call(world: World) -> tuple[str, AudioLeg]:
    _phone, cid = await world.answered_call([{"wait": 60}])
    leg = AudioLeg()
    world.media.media_for(world.calling.calls[cid]).leg = leg
    return cid, leg


async def test_wait_unmixed_then_start_with_a_coach(world: World) -> None:
    hooks = Hooks()
    world.media.webhooks = hooks
    (a, leg_a), (b, leg_b), (c, leg_c), (d, leg_d) = [await audio_call(world) for _ in range(4)]

    def join(cid: str, **params: Any) -> dict[str, Any]:
        return world.execute("calling.join_conference", {"call_id": cid, "name": "r", **params})

    first = join(a, start_on_enter=False, wait_url="http://h/w.mp3", status_callback="http://h/s",
                 status_callback_event="join start end", status_callback_event_type="application/json")
    assert first["code"] == "200"
    assert join(b, start_on_enter=False)["code"] == "200"
    assert join(c, start_on_enter=False, coach=b)["code"] == "200"  # coaches b, waiting too
    await world.run(0)
    default, own = [{"type": "hold_music", "url": None}], [{"type": "hold_music", "url": "http://h/w.mp3"}]
    assert [holds(leg_a), holds(leg_b), holds(leg_c)] == [own, default, default]
    assert all(leg.mixer is None for leg in (leg_a, leg_b, leg_c))  # waiting: not mixed
    assert join(d)["code"] == "200"  # start_on_enter by default: the room starts
    await world.run(0)
    assert all(holds(leg)[1:] == [{"type": "hold_music_stop"}] for leg in (leg_a, leg_b, leg_c))
    assert holds(leg_d) == []
    mix = leg_a.mixer
    assert mix is not None and all(leg.mixer is mix for leg in (leg_b, leg_c, leg_d)) and len(mix) == 4
    assert mix.audience == {leg_c: frozenset({leg_b})}  # only b hears its coach
    room = first["conference_id"]
    assert world.execute("calling.leave_conference", {"call_id": b, "conference_id": room})["code"] == "200"
    await world.run(0)
    assert leg_b.mixer is None and len(mix) == 3 and leg_c in mix.audience  # the coach now reaches nobody
    for cid in (a, c, d):
        world.execute("calling.leave_conference", {"call_id": cid, "conference_id": room})
    await world.run(0)
    events = [(p["StatusCallbackEvent"], p.get("CallSid"), p["SequenceNumber"]) for _u, _m, p, _j in hooks.sent]
    assert events == [("participant-join", a, "1"), ("participant-join", b, "2"), ("participant-join", c, "3"),
                      ("participant-join", d, "4"), ("conference-start", None, "5"), ("conference-end", None, "6")]
    assert {(u, m, j) for u, m, _p, j in hooks.sent} == {("http://h/s", "POST", True)}
    assert hooks.sent[2][2]["CallSidToCoach"] == b and hooks.sent[2][2]["Coaching"] == "true"


async def test_record_from_start_records_the_mix_from_the_start_to_the_end(world: World, tmp_path: Any) -> None:
    hooks = Hooks()
    world.media.webhooks = hooks
    world.media.recordings_dir = tmp_path
    (a, leg_a), (b, _leg_b) = [await audio_call(world) for _ in range(2)]
    join = world.execute("calling.join_conference", {
        "call_id": a, "name": "r", "record": "record-from-start", "trim": "do-not-trim",
        "recording_status_callback": "http://h/rec", "recording_status_callback_method": "GET",
        "recording_status_callback_event": "in-progress completed"})
    await world.run(0)
    assert not hasattr(leg_a, "recording") and hooks.sent == []  # alone: not started, not recording
    world.execute("calling.join_conference", {"call_id": b, "name": "r"})
    await world.run(0)
    rec = leg_a.recording
    assert rec.trim is False and rec.path.parent == tmp_path and rec.path.name.endswith(".wav")
    world.execute("calling.leave_conference", {"call_id": a, "conference_id": join["conference_id"]})
    await world.run(0)
    assert rec.result == ""  # b is still in the room
    world.calling.end_all("hangup", "done")
    await world.run(0)
    assert rec.result == "finished"
    assert [(u, m, p["RecordingStatus"], p["RecordingDuration"]) for u, m, p, _j in hooks.sent] == [
        ("http://h/rec", "GET", "in-progress", "0"), ("http://h/rec", "GET", "completed", "12")]
    assert hooks.sent[1][2]["RecordingUrl"].endswith("/media/recordings/" + rec.path.name)
