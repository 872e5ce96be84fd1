"""calling.record on the ManualClock: when it stops, what it reports, and the real file it writes."""

from __future__ import annotations

import io
import shutil
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest
from mediaworld import World, heard, world

from relaybox.domain.actions.audiofile import audio_seconds
from relaybox.engines.audio import AudioRenderer, MediaUnavailable

__all__ = ["world"]

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing: scripts/setup-media.sh")


class InlineRenderer(AudioRenderer):
    """Renders on the event loop, so the ManualClock tests see the final event at once (see test_render_off_loop)."""

    render_async = None  # type: ignore[assignment]


@pytest.fixture
def recorder(world: World, tmp_path: Path) -> Path:
    world.media.renderer = InlineRenderer(tmp_path)
    world.media.recordings_dir = tmp_path
    world.media.public_url = lambda path: "http://box.test" + path
    return tmp_path


def records(world: World, control_id: str) -> list[dict[str, Any]]:
    return world.sub.of(control_id)


def loudness(path: Path, start: float, end: float) -> float:
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        rate = w.getframerate()
        w.setpos(int(start * rate))
        samples = array("h", w.readframes(int((end - start) * rate)))
    return sum(1 for s in samples if abs(s) > 500) / max(1, len(samples))


@needs_espeak
async def test_terminator_ends_the_recording_with_the_phone_speech(world: World, recorder: Path) -> None:
    phone, cid = await world.answered_call([{"wait": 1}, {"say": "Please call me back tomorrow"}, {"press": "#"}])
    reply = world.execute("calling.record", {"call_id": cid, "control_id": "r", "record": {"audio": {"format": "wav"}}})
    assert reply["code"] == "200" and reply["url"].startswith("http://box.test/media/recordings/")
    await world.run(0)
    assert [e["state"] for e in records(world, "r")] == ["recording"]
    assert records(world, "r")[0]["url"] == reply["url"]
    await world.run(5)
    final = records(world, "r")[-1]
    assert final["state"] == "finished"
    path = recorder / reply["url"].rsplit("/", 1)[1]
    assert path.stat().st_size == final["size"] == final["record"]["size"]
    assert audio_seconds(path.read_bytes()) == pytest.approx(final["duration"], rel=0.01)
    assert final["duration"] == pytest.approx(1 + 28 / 15, abs=0.3)  # speech then '#'
    assert loudness(path, 1.2, 2.5) > 0.1  # the phone's words are in it
    assert loudness(path, 0.0, 0.9) == 0.0  # silence before it spoke
    assert {"type": "recording", "direction": "speak"} in heard(phone)


@needs_espeak
async def test_end_silence_and_mp3(world: World, recorder: Path) -> None:
    _, cid = await world.answered_call([{"say": "short note"}, {"wait": 10}])
    world.execute(
        "calling.record",
        {"call_id": cid, "control_id": "r", "record": {"audio": {"end_silence_timeout": 2, "beep": True}}},
    )
    await world.run(2.5)
    assert [e["state"] for e in records(world, "r")] == ["recording"]
    await world.run(1.5)
    final = records(world, "r")[-1]
    assert final["state"] == "finished" and final["url"].endswith(".mp3")
    data = (recorder / final["url"].rsplit("/", 1)[1]).read_bytes()
    assert len(data) == final["size"] and audio_seconds(data) == pytest.approx(final["duration"], abs=0.002)


@needs_espeak
async def test_listen_direction_records_what_was_played(world: World, recorder: Path) -> None:
    _, cid = await world.answered_call()
    world.execute(
        "calling.record",
        {
            "call_id": cid,
            "control_id": "r",
            "record": {"audio": {"direction": "listen", "format": "wav", "stereo": True}},
        },
    )
    world.execute(
        "calling.play",
        {
            "call_id": cid,
            "play": [
                {"type": "tts", "text": "Your balance is ten dollars"},
                {"type": "ringtone", "name": "us", "duration": 3},
            ],
        },
    )
    await world.run(2)
    world.execute("calling.record.stop", {"call_id": cid, "control_id": "r"})
    await world.run(0)
    final = records(world, "r")[-1]
    path = recorder / final["url"].rsplit("/", 1)[1]
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 2
    assert loudness(path, 0.1, 1.5) > 0.1


async def test_no_input_and_hangup(world: World, recorder: Path) -> None:
    _, cid = await world.answered_call()
    world.execute("calling.record", {"call_id": cid, "control_id": "n", "record": {"audio": {"initial_timeout": 2}}})
    await world.run(2.3)
    assert [e["state"] for e in records(world, "n")] == ["recording", "no_input"]
    assert not list(recorder.iterdir())


@needs_espeak
async def test_hangup_finishes_the_recording_before_ended(world: World, recorder: Path) -> None:
    _, cid = await world.answered_call([{"say": "I am talking and talking and talking"}])
    world.execute("calling.record", {"call_id": cid, "control_id": "h", "record": {"audio": {}}})
    await world.run(1)
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.sub.kinds()[-3:] == ["record:finished", "state:ending", "state:ended"]


@pytest.mark.parametrize(
    "audio", [{"format": "ogg"}, {"direction": "up"}, {"beep": "yes"}, {"terminators": "x"}, {"initial_timeout": -1}]
)
async def test_bad_record_params(world: World, recorder: Path, audio: dict[str, Any]) -> None:
    _, cid = await world.answered_call()
    assert world.execute("calling.record", {"call_id": cid, "record": {"audio": audio}})["code"] == "400"


async def test_missing_media_pieces_are_named(world: World, tmp_path: Path) -> None:
    world.media.renderer = AudioRenderer(tmp_path, espeak=None)
    world.media.renderer.espeak = None
    world.media.recordings_dir = tmp_path
    _, cid = await world.answered_call()
    reply = world.execute("calling.record", {"call_id": cid, "record": {"audio": {}}})
    assert reply["code"] == "500" and "espeak-ng" in reply["message"] and "setup-media" in reply["message"]
    with pytest.raises(MediaUnavailable, match="espeak-ng"):
        world.media.renderer.check("wav")


@needs_espeak
@pytest.mark.parametrize(("behavior", "expected"), [("skip", 3.0), ("silence", 5.0)])
async def test_pause_and_resume(world: World, recorder: Path, behavior: str, expected: float) -> None:
    _, cid = await world.answered_call([{"say": "talking all the time " * 6}])
    world.execute("calling.record", {"call_id": cid, "control_id": "p", "record": {"audio": {"format": "wav"}}})
    await world.run(1)
    assert (
        world.execute("calling.record.pause", {"call_id": cid, "control_id": "p", "behavior": behavior})["code"]
        == "200"
    )
    await world.run(2)
    assert world.execute("calling.record.resume", {"call_id": cid, "control_id": "p"})["code"] == "200"
    await world.run(2)
    world.execute("calling.record.stop", {"call_id": cid, "control_id": "p"})
    await world.run(0)
    states = [e["state"] for e in records(world, "p")]
    assert states == ["recording", "paused", "recording", "finished"]
    assert records(world, "p")[-1]["duration"] == pytest.approx(expected, abs=0.05)
    path = recorder / records(world, "p")[-1]["url"].rsplit("/", 1)[1]
    if behavior == "silence":
        assert loudness(path, 1.1, 2.9) == 0.0 and loudness(path, 0.1, 0.9) > 0.1


async def test_render_off_loop_then_finished_and_call_end_first(world: World, tmp_path: Path) -> None:
    """With the engine's render_async the file is written in a thread; a call ending meanwhile still sends
    the record's final event (written at once) before the call's `ended`, and only once."""
    import asyncio

    world.media.renderer = AudioRenderer(tmp_path)
    world.media.recordings_dir = tmp_path
    _, cid = await world.answered_call([{"press": "1"}])
    world.execute("calling.record", {"call_id": cid, "control_id": "a", "record": {"audio": {"format": "wav"}}})
    await world.run(2)
    world.execute("calling.record.stop", {"call_id": cid, "control_id": "a"})
    await world.run(0)
    for _ in range(200):  # real time: the worker thread
        if records(world, "a")[-1]["state"] == "finished":
            break
        await asyncio.sleep(0.01)
    final = records(world, "a")[-1]
    assert final["state"] == "finished" and final["size"] == (tmp_path / final["url"].rsplit("/", 1)[1]).stat().st_size
    world.execute("calling.record", {"call_id": cid, "control_id": "b", "record": {"audio": {"format": "wav"}}})
    await world.run(1)
    world.execute("calling.record.stop", {"call_id": cid, "control_id": "b"})
    await world.run(0)  # rendering in its thread now
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    kinds = world.sub.kinds()
    assert kinds.index("record:finished", kinds.index("record:finished") + 1) < kinds.index("state:ended")
    await asyncio.sleep(0.3)  # the thread's result arrives and is dropped
    assert [e["state"] for e in records(world, "b")] == ["recording", "finished"]
