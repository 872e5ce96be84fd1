"""The domain's media actions on a real-audio leg: a call whose leg is a `CallMedia` on loopback RTP,
and a far end (another `CallMedia`) that speaks, presses keys and listens. Play, prompt and collect
(keys and speech), record (a real file of what was said), detect machine (AMD on the audio)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from far_end import overhear

from relaybox.clock import Clock
from relaybox.domain.actions import MediaService
from relaybox.domain.calling import Calling
from relaybox.domain.calls import Call
from relaybox.domain.platform import Platform
from relaybox.domain.routing import Router
from relaybox.engines.audio import AudioRenderer
from relaybox.engines.faxdoc import FaxDocuments, make_pdf, pdf_pages
from relaybox.media import audiofiles
from relaybox.media.callmedia import CallMedia
from relaybox.media.endpoint import RtpEndpoint
from relaybox.media.speech import Recognizer
from relaybox.protocol.events import Event

VOICE = "en-us+klatt4"  # the espeak-ng voice pocketsphinx recognises best


@dataclass(eq=False)
class Sub:
    id: str = "app"
    project: str = "p"
    online: bool = True
    got: list[Event] = field(default_factory=list)

    def deliver(self, event: Event) -> None:
        self.got.append(event)

    def accepts(self, event_type: str) -> bool:
        return True

    def of(self, control_id: str) -> list[dict[str, Any]]:
        return [e.params for e in self.got if e.params.get("control_id") == control_id]


class Nothing:
    def context_for(self, number: str) -> str | None:
        return None

    def call_created(self, call: Call) -> None:
        pass

    def call_changed(self, call: Call) -> None:
        pass

    def place(self, call: Call, listener: Any) -> Any:
        raise AssertionError("no outbound legs here")


class RealLeg(CallMedia):
    """A leg whose media is real audio (what a SIP leg lends the domain)."""

    def answer(self) -> None:
        pass

    def hangup(self, reason: str, detail: str | None = None) -> None:
        self.close()


class FarEnd:
    """The caller's side: hears the platform, speaks and presses keys."""

    def __init__(self, media: CallMedia) -> None:
        self.media = media
        self.heard: list[np.ndarray] = []
        overhear(media, self.heard.append)

    def say(self, text: str) -> float:
        speech = self.media._speech(text, VOICE)
        self.media.endpoint.send(speech)
        return len(speech) / 8000

    def press(self, keys: str) -> None:
        self.media.send_digits(keys)


@dataclass
class World:
    platform: Platform
    sub: Sub
    call: Call
    far: FarEnd
    leg: RealLeg
    recordings: Path

    def execute(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.platform.execute(self.sub, method, {"node_id": "node-1", "call_id": self.call.call_id, **params})

    async def until(self, control_id: str, pred: Any, timeout: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not pred(self.sub.of(control_id)):
            if loop.time() > end:
                raise AssertionError(f"timed out; events: {self.sub.of(control_id)}")
            await asyncio.sleep(0.05)
        return self.sub.of(control_id)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock()
    router = Router()
    calling = Calling(clock=clock, router=router, network=Nothing(), history=Nothing(), node_id="node-1")
    renderer = AudioRenderer(tmp_path)
    media = MediaService(calling, renderer=renderer, recordings_dir=tmp_path / "rec",
                         public_url=lambda p: "http://relaybox.test" + p, fax_docs=FaxDocuments(tmp_path / "faxes"))
    platform = Platform(router, calling)
    platform.handlers.update(media.handlers())
    sub = Sub()
    router.register(sub)
    router.subscribe(sub, ["office"])
    ours = await RtpEndpoint.open("127.0.0.1")
    theirs = await RtpEndpoint.open("127.0.0.1")
    ours.start("127.0.0.1", theirs.port, "PCMA", 8, 101)
    theirs.start("127.0.0.1", ours.port, "PCMA", 8, 101)
    leg = RealLeg(ours, clock=clock, renderer=renderer)
    far = FarEnd(CallMedia(theirs, clock=clock, renderer=renderer))
    call = calling.inbound(project="p", device={"type": "sip", "params": {"from": "sip:a@x", "to": "sip:b@y"}},
                           context="office", leg=leg)
    w = World(platform, sub, call, far, leg, tmp_path / "rec")
    assert w.execute("calling.answer", {})["code"] == "200"
    await asyncio.sleep(0.05)
    yield w
    calling.end_all("hangup", "test over")
    far.media.close()
    leg.close()
    await asyncio.sleep(0)


def tts(text: str) -> dict[str, Any]:
    return {"type": "tts", "params": {"text": text, "voice": VOICE}}


async def test_play_runs_as_long_as_the_real_speech_and_is_heard(world: World) -> None:
    text = "one two three four"
    real = len(world.leg._speech(text, VOICE)) / 8000
    t0 = asyncio.get_running_loop().time()
    world.execute("calling.play", {"control_id": "p1", "play": [tts(text)]})
    await world.until("p1", lambda ev: any(e.get("state") == "finished" for e in ev), real + 3)
    took = asyncio.get_running_loop().time() - t0
    assert abs(took - real) < 0.35  # the domain's timeline follows the rendered audio, not an estimate
    await asyncio.sleep(0.2)
    heard = np.concatenate(world.far.heard)
    loud = np.flatnonzero(np.abs(heard) > 500)
    assert Recognizer.shared().recognize(heard[max(0, loud[0] - 800): loud[-1] + 800], []) == text


async def test_prompt_and_collect_rfc4733_keys(world: World) -> None:
    world.execute("calling.play_and_collect", {
        "control_id": "c1", "play": [tts("one")],
        "collect": {"digits": {"max": 4, "terminators": "#", "digit_timeout": 3}, "initial_timeout": 5},
    })
    await asyncio.sleep(0.2)
    world.far.press("42#")
    events = await world.until("c1", lambda ev: ev, 5)
    assert events[-1]["result"] == {"type": "digit", "params": {"digits": "42", "terminator": "#"}}


async def test_collect_speech_recognises_digit_words(world: World) -> None:
    world.execute("calling.collect", {
        "control_id": "s1", "speech": {"end_silence_timeout": 0.5, "hints": ["sales"]}, "initial_timeout": 5,
    })
    await asyncio.sleep(0.1)
    world.far.say("one two three four")
    events = await world.until("s1", lambda ev: ev, 8)
    assert events[-1]["result"]["type"] == "speech"
    assert events[-1]["result"]["params"]["text"] == "one two three four"
    assert world.leg.hints is None  # the grammar is dropped after the collect


async def test_record_writes_what_the_far_end_said(world: World) -> None:
    world.execute("calling.record", {"control_id": "r1", "record": {"audio": {
        "format": "wav", "direction": "speak", "end_silence_timeout": 1.0, "initial_timeout": 4, "beep": True}}})
    await asyncio.sleep(0.5)
    said = world.far.say("seven eight nine")
    events = await world.until("r1", lambda ev: any(e.get("state") == "finished" for e in ev), said + 5)
    final = events[-1]
    name = final["url"].rsplit("/", 1)[1]
    audio = audiofiles.decode((world.recordings / name).read_bytes())
    assert abs(final["duration"] - len(audio) / 8000) < 0.05
    assert said < final["duration"] < said + 2.5  # ended by end_silence_timeout after the speech
    assert Recognizer.shared().recognize(audio, []) == "seven eight nine"
    # the beep went to the far end
    heard = np.concatenate(world.far.heard).astype(float)
    spec = np.abs(np.fft.rfft(heard[: 8000]))
    assert int(np.argmax(spec)) * 8000 / 8000 == pytest.approx(1000, abs=10)


async def test_record_without_speech_is_no_input(world: World) -> None:
    world.execute("calling.record", {"control_id": "r2", "record": {"audio": {
        "format": "mp3", "initial_timeout": 1.0}}})
    events = await world.until("r2", lambda ev: any(e.get("state") != "recording" for e in ev), 4)
    assert events[-1]["state"] == "no_input"
    assert not list(world.recordings.glob("*.mp3"))


async def test_detect_machine_on_a_real_greeting(world: World) -> None:
    world.execute("calling.detect", {"control_id": "d1", "detect": {"type": "machine", "params": {}}, "timeout": 20})
    await asyncio.sleep(0.3)
    said = world.far.say("Hi, this is John, I cannot take your call right now, leave a message after the tone")
    await asyncio.sleep(said + 0.2)
    world.far.media.hear({"type": "beep"})
    events = await world.until("d1", lambda ev: any(e["detect"]["params"]["event"] == "finished" for e in ev), 5)
    assert [e["detect"]["params"]["event"] for e in events] == ["MACHINE", "NOT_READY", "READY", "finished"]


async def test_detect_human_on_a_short_hello(world: World) -> None:
    world.execute("calling.detect", {"control_id": "d2", "detect": {"type": "machine", "params": {}}})
    await asyncio.sleep(0.3)
    world.far.say("hello")
    events = await world.until("d2", lambda ev: any(e["detect"]["params"]["event"] == "finished" for e in ev), 5)
    assert [e["detect"]["params"]["event"] for e in events] == ["HUMAN", "finished"]


async def test_receive_fax_stores_the_pages_the_far_end_sent(world: World, tmp_path: Path) -> None:
    doc = tmp_path / "send.pdf"
    doc.write_bytes(make_pdf([["a real fax"], ["second page"]]))
    sender: dict[str, Any] = {}
    world.execute("calling.receive_fax", {"control_id": "f1"})
    await asyncio.sleep(0.1)
    world.far.media.start_fax("send", str(doc), identity="+15550001111", on_page=lambda n: None,
                              on_done=lambda r, pdf: sender.setdefault("result", r))
    events = await world.until("f1", lambda ev: any(e.get("state") in ("finished", "error") for e in ev), 90)
    final = events[-1]["fax"]["params"]
    assert events[-1]["state"] == "finished", str(final)
    assert [e["fax"]["params"]["number"] for e in events if e.get("state") == "page"] == [1, 2]
    assert final["pages"] == 2 and final["remote_identity"] == "+15550001111" and final["success"] is True
    name = final["document"].rsplit("/", 1)[1]
    assert pdf_pages((tmp_path / "faxes" / name).read_bytes()) == 2
    for _ in range(100):
        if "result" in sender:
            break
        await asyncio.sleep(0.1)
    assert sender["result"].success and sender["result"].pages == 2


async def test_play_audio_url_is_heard_for_the_length_of_the_file(world: World) -> None:
    import io
    import wave

    from aiohttp import web

    t = np.arange(16000)
    tone = (8000 * np.sin(2 * np.pi * 600 * t / 16000)).astype(np.int16)  # 1 s at 16 kHz
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(tone.tobytes())
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=buf.getvalue(), content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/tone.wav", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        world.far.heard.clear()
        world.execute("calling.play", {"control_id": "a1", "play": [
            {"type": "audio", "params": {"url": f"http://127.0.0.1:{port}/tone.wav"}}]})
        await world.until("a1", lambda ev: any(e.get("state") == "finished" for e in ev), 5)
        await asyncio.sleep(0.3)
    finally:
        await runner.cleanup()
    heard = np.concatenate(world.far.heard)
    loud = np.flatnonzero(np.abs(heard) > 2000)
    assert abs((loud[-1] - loud[0]) / 8000 - 1.0) < 0.05
    spec = np.abs(np.fft.rfft(heard[loud[0]:loud[-1]].astype(float)))
    assert int(np.argmax(spec)) * 8000 / (loud[-1] - loud[0]) == pytest.approx(600, abs=10)


async def test_play_pause_resume_and_volume_act_on_the_real_audio(world: World) -> None:
    tone_item = {"type": "ringtone", "params": {"name": "us", "duration": 1.6}}  # 440+480 Hz for 1.6 s
    world.far.heard.clear()
    world.execute("calling.play", {"control_id": "v1", "play": [tone_item]})
    await asyncio.sleep(0.4)
    assert world.execute("calling.play.pause", {"control_id": "v1"})["code"] == "200"
    await asyncio.sleep(1.0)
    assert world.execute("calling.play.resume", {"control_id": "v1"})["code"] == "200"
    await asyncio.sleep(0.3)
    assert world.execute("calling.play.volume", {"control_id": "v1", "volume": -20})["code"] == "200"
    await world.until("v1", lambda ev: any(e.get("state") == "finished" for e in ev), 4)
    await asyncio.sleep(0.2)
    rms = [float(np.sqrt(np.mean(f.astype(float) ** 2))) for f in world.far.heard]
    loud = [i for i, r in enumerate(rms) if r > 100]
    assert 72 <= len(loud) <= 84  # all 1.6 s of tone went out (80 frames), none lost to the pause
    gap = max(b - a for a, b in itertools.pairwise(loud))
    assert gap * 0.02 > 0.6  # the pause (1 s of wall time; ticks are skipped when the machine stalls)
    before = np.median([rms[i] for i in loud[:10]])
    after = np.median([rms[i] for i in loud[-10:]])
    assert 0.07 < after / before < 0.14  # -20 dB


async def test_collect_learns_of_speech_at_its_start(world: World) -> None:
    """Barge-in from voice activity: start_of_input (and the prompt's stop) come as the caller starts
    talking, the recognised words when the utterance ends."""
    world.execute("calling.play_and_collect", {
        "control_id": "s2", "play": [{"type": "tts", "params": {"text": "Please say your account number now "
                                                                        "and then wait for the tone", "voice": VOICE}}],
        "collect": {"speech": {"end_silence_timeout": 0.5}, "initial_timeout": 5, "send_start_of_input": True},
    })
    await asyncio.sleep(0.5)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    said = world.far.say("one two three four seven eight nine")
    events = await world.until("s2", lambda ev: any(e.get("result", {}).get("type") == "start_of_input"
                                                    for e in ev), 2)
    started = loop.time() - t0
    assert started < 0.6, started
    assert world.leg.playout.remaining == 0  # the prompt was cut at once
    events = await world.until("s2", lambda ev: ev[-1].get("state") == "finished", said + 6)
    assert loop.time() - t0 > said - 0.3  # the words only once the utterance ended
    assert events[-1]["result"] == {"type": "speech", "params": {"text": "one two three four seven eight nine",
                                                                  "confidence": events[-1]["result"]["params"][
                                                                      "confidence"]}}


async def test_fax_without_libspandsp2_fails_with_a_message_naming_it(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from relaybox.media import fax

    real = ctypes.CDLL

    def cdll(name: str, *a: Any, **k: Any) -> Any:
        if "spandsp" in name:
            raise OSError(f"{name}: cannot open shared object file")
        return real(name, *a, **k)

    monkeypatch.setattr(fax, "_lib", None)
    monkeypatch.setattr(ctypes, "CDLL", cdll)
    world.execute("calling.receive_fax", {"control_id": "f9"})
    events = await world.until("f9", lambda ev: any(e.get("state") in ("finished", "error") for e in ev), 5)
    assert events[-1]["state"] == "error"
    text = events[-1]["fax"]["params"]["result_text"]
    assert "libspandsp2 is not installed" in text and "apt-get install libspandsp2" in text, text
