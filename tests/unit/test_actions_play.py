"""calling.play and its controls on the ManualClock, with a virtual phone as the far end."""

from __future__ import annotations

import pytest
from mediaworld import World, heard, world

from relaybox.domain.actions.media import RINGTONES, cadence_seconds

__all__ = ["world"]


async def test_play_events_follow_the_reply_and_finish_after_the_media(world: World) -> None:
    phone, cid = await world.answered_call()
    reply = world.execute(
        "calling.play",
        {
            "call_id": cid,
            "control_id": "p1",
            "play": [
                {"type": "tts", "params": {"text": "Welcome to relaybox"}},  # 19 chars: 1.27 s
                {"type": "silence", "params": {"duration": 2}},
            ],
        },
    )
    assert reply["code"] == "200" and reply["control_id"] == "p1"
    assert world.sub.of("p1") == []  # nothing before the reply
    await world.run(0)
    assert [e["state"] for e in world.sub.of("p1")] == ["playing"]
    assert world.sub.of("p1")[0]["call_id"] == cid
    await world.run(3.2)
    assert [e["state"] for e in world.sub.of("p1")] == ["playing"]
    await world.run(0.1)
    assert [e["state"] for e in world.sub.of("p1")] == ["playing", "finished"]
    assert heard(phone) == [
        {"type": "tts", "text": "Welcome to relaybox"},
        {"type": "silence", "duration": 2.0},
    ]


async def test_flat_media_and_defaults(world: World) -> None:
    phone, cid = await world.answered_call()
    reply = world.execute(
        "calling.play", {"call_id": cid, "control_id": "p", "play": [{"type": "ringtone", "name": "uk"}]}
    )
    assert reply["code"] == "200"
    await world.run(cadence_seconds("uk") - 0.01)
    assert [e["state"] for e in world.sub.of("p")] == ["playing"]
    await world.run(0.02)
    assert [e["state"] for e in world.sub.of("p")] == ["playing", "finished"]
    assert heard(phone) == [{"type": "ringtone", "name": "uk"}]


def test_all_39_ringtones() -> None:
    # seed 001/002: "at, au, bg, br, be, ch, cl, cn, cz, de, dk, ee, es, fi, fr, gr, hu, il, in, it, lt, jp, mx,
    # my, nl, no, nz, ph, pl, pt, ru, se, sg, th, uk, us, tw, ve, za"
    names = "at au bg br be ch cl cn cz de dk ee es fi fr gr hu il in it lt jp mx my nl no nz ph pl pt ru se sg th"
    names += " uk us tw ve za"
    assert sorted(RINGTONES) == sorted(names.split())
    assert len(RINGTONES) == 39
    assert cadence_seconds("us") == 6.0


async def test_pause_resume_volume_stop(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute(
        "calling.play", {"call_id": cid, "control_id": "p", "play": [{"type": "silence", "params": {"duration": 4}}]}
    )
    await world.run(1)
    assert world.execute("calling.play.pause", {"call_id": cid, "control_id": "p"})["code"] == "200"
    await world.run(10)
    assert [e["state"] for e in world.sub.of("p")] == ["playing"]  # no 'paused' state: v2 clients would end
    assert world.execute("calling.play.resume", {"call_id": cid, "control_id": "p"})["code"] == "200"
    assert world.execute("calling.play.volume", {"call_id": cid, "control_id": "p", "volume": -3})["code"] == "200"
    bad = world.execute("calling.play.volume", {"call_id": cid, "control_id": "p", "volume": 41})
    assert bad["code"] == "400"
    await world.run(2.9)
    assert [e["state"] for e in world.sub.of("p")] == ["playing"]
    await world.run(0.2)
    assert [e["state"] for e in world.sub.of("p")] == ["playing", "finished"]
    # stop on a finished play: 404
    assert world.execute("calling.play.stop", {"call_id": cid, "control_id": "p"})["code"] == "404"


async def test_stop_sends_finished_after_the_reply(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.play", {"call_id": cid, "control_id": "p", "play": [{"type": "silence", "duration": 60}]})
    await world.run(1)
    reply = world.execute("calling.play.stop", {"call_id": cid, "control_id": "p"})
    assert reply["code"] == "200"
    assert [e["state"] for e in world.sub.of("p")] == ["playing"]
    await world.run(0)
    assert [e["state"] for e in world.sub.of("p")] == ["playing", "finished"]


async def test_hangup_finishes_the_play_before_the_call_ends(world: World) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.play", {"call_id": cid, "control_id": "p", "play": [{"type": "silence", "duration": 60}]})
    await world.run(1)
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    kinds = world.sub.kinds()
    assert kinds[-3:] == ["play:finished", "state:ending", "state:ended"], kinds


async def test_audio_duration_from_the_probe_and_unplayable_audio_fails(world: World) -> None:
    phone, cid = await world.answered_call()
    world.durations["https://files.test/a.wav"] = 2.5
    world.execute(
        "calling.play",
        {"call_id": cid, "control_id": "a", "play": [{"type": "audio", "url": "https://files.test/a.wav"}]},
    )
    world.execute(
        "calling.play",
        {"call_id": cid, "control_id": "b", "play": [{"type": "audio", "url": "https://nowhere.test/b.mp3"}]},
    )
    await world.run(2.4)
    assert [e["state"] for e in world.sub.of("a")] == ["playing"]
    failed = world.sub.of("b")
    assert [e["state"] for e in failed] == ["playing", "error"]
    assert "nowhere.test" in failed[-1]["reason"]
    await world.run(0.2)
    assert [e["state"] for e in world.sub.of("a")] == ["playing", "finished"]
    # the call goes on: another play works
    world.execute("calling.play", {"call_id": cid, "control_id": "c", "play": [{"type": "silence", "duration": 1}]})
    await world.run(1.1)
    assert [e["state"] for e in world.sub.of("c")] == ["playing", "finished"]
    assert phone.call is not None and phone.call.state.value == "answered"
    got = heard(phone)
    assert {"type": "audio", "url": "https://files.test/a.wav"} in got
    assert {"type": "audio", "url": "https://nowhere.test/b.mp3"} not in got  # it never reached the phone


async def test_a_prompt_skips_unplayable_audio(world: World) -> None:
    _, cid = await world.answered_call([{"wait_for": "silence"}, {"press": "5"}])
    world.execute("calling.play_and_collect", {
        "call_id": cid, "control_id": "p", "collect": {"digits": {"max": 1}},
        "play": [{"type": "audio", "url": "https://nowhere.test/q.mp3"}],
    })
    await world.run(1)
    results = [e["result"] for e in world.sub.of("p")]
    assert results == [{"type": "digit", "params": {"digits": "5", "terminator": ""}}]


@pytest.mark.parametrize(
    "play",
    [
        [],
        [{"type": "video", "params": {"url": "https://x/a.mp4"}}],
        [{"type": "audio", "params": {"url": "ftp://x/a.mp3"}}],
        [{"type": "audio", "params": {}}],
        [{"type": "tts", "params": {"text": ""}}],
        [{"type": "tts", "params": {"text": "hi", "gender": "robot"}}],
        [{"type": "silence", "params": {"duration": -1}}],
        [{"type": "ringtone", "params": {"name": "xx"}}],
        "tts",
    ],
)
async def test_bad_media_is_a_400_and_the_call_goes_on(world: World, play: object) -> None:
    _, cid = await world.answered_call()
    reply = world.execute("calling.play", {"call_id": cid, "control_id": "p", "play": play})
    assert reply["code"] == "400", reply
    assert reply["message"]
    await world.run(1)
    assert world.sub.of("p") == []
    assert (
        world.execute("calling.play", {"call_id": cid, "play": [{"type": "silence", "duration": 1}]})["code"] == "200"
    )


async def test_volume_range_and_unknown_calls(world: World) -> None:
    _, cid = await world.answered_call()
    silence = [{"type": "silence", "duration": 1}]
    assert world.execute("calling.play", {"call_id": cid, "play": silence, "volume": 40})["code"] == "200"
    assert world.execute("calling.play", {"call_id": cid, "play": silence, "volume": -40.5})["code"] == "400"
    assert world.execute("calling.play", {"call_id": "nope", "play": silence})["code"] == "404"
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.execute("calling.play", {"call_id": cid, "play": silence})["code"] == "404"


async def test_wait_for_play_and_silence_steps(world: World) -> None:
    phone, cid = await world.answered_call(
        [{"wait_for": "play"}, {"press": "1"}, {"wait_for": "silence"}, {"hangup": True}]
    )
    await world.run(5)
    assert phone.call is not None and not phone.over
    world.execute("calling.play", {"call_id": cid, "control_id": "p", "play": [{"type": "silence", "duration": 2}]})
    await world.run(1)
    assert not phone.over
    await world.run(1.1)
    assert phone.over
    assert world.sub.kinds()[-3:] == ["play:finished", "state:ending", "state:ended"]


async def test_resume_does_not_replay_the_item_to_the_far_end(world: World) -> None:
    phone, cid = await world.answered_call()
    world.execute("calling.play", {"call_id": cid, "control_id": "r", "play": [{"type": "tts", "text": "one two"}]})
    await world.run(0.1)
    world.execute("calling.play.pause", {"call_id": cid, "control_id": "r"})
    await world.run(2)
    world.execute("calling.play.resume", {"call_id": cid, "control_id": "r"})
    await world.run(2)
    assert [e["state"] for e in world.sub.of("r")] == ["playing", "finished"]
    assert heard(phone) == [{"type": "tts", "text": "one two"}]
