"""Two CallMedia objects talking over loopback RTP: what one plays, the other hears and reports
(speech recognised, keys RFC 4733 and in-band, beeps, fax tones, machine detection), records (real
audio, both directions), taps, and bridges through the mixer."""

from __future__ import annotations

import asyncio
import socket
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from far_end import overhear

from relaybox.media import audiofiles, g711
from relaybox.media.callmedia import MIX_LOOKAHEAD, CallMedia
from relaybox.media.endpoint import LOOKAHEAD, RtpEndpoint
from relaybox.media.rtp import parse
from relaybox.media.speech import Recognizer
from relaybox.media.tones import tone


class Sink:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.voices: list[tuple[str, float, float, bool]] = []
        self.beeps = 0
        self.fax: list[str] = []

    def dtmf(self, digit: str) -> None:
        self.keys.append(digit)

    def voice(self, text: str, start: float, end: float, machine: bool) -> None:
        self.voices.append((text, start, end, machine))

    def beep(self) -> None:
        self.beeps += 1

    def fax_tone(self, tone: str, pages: int) -> None:
        self.fax.append(tone)


async def call(dtmf_pt: int | None = 101, **kw: Any) -> tuple[CallMedia, CallMedia, Sink, Sink]:
    a_ep = await RtpEndpoint.open("127.0.0.1")
    b_ep = await RtpEndpoint.open("127.0.0.1")
    a_ep.start("127.0.0.1", b_ep.port, "PCMU", 0, dtmf_pt)
    b_ep.start("127.0.0.1", a_ep.port, "PCMU", 0, dtmf_pt)
    a, b = CallMedia(a_ep, **kw), CallMedia(b_ep, **kw)
    sa, sb = Sink(), Sink()
    a.attach_media(sa)
    b.attach_media(sb)
    return a, b, sa, sb


FRAME_CHECK = 160  # a frame: the recording's first and last hold sound
VOICE = "en-us+klatt4"  # the espeak-ng voice pocketsphinx recognises best (see the README's media notes)


def tts(text: str, **params: Any) -> dict[str, Any]:
    return {"type": "tts", "params": {"text": text, "language": "en-US", "gender": "female", "voice": VOICE,
                                      **params}}


async def say(cm: CallMedia, text: str) -> float:
    seconds = cm.prepare(tts(text))
    assert seconds is not None and seconds > 0.3
    cm.hear({"type": "tts", "text": text})
    return seconds


async def wait_for(cond: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_tts_is_heard_and_recognised_with_the_digit_grammar() -> None:
    a, b, _sa, sb = await call()
    b.expect_speech([])
    seconds = await say(a, "one two three four")
    await wait_for(lambda: sb.voices, seconds + 3)
    a.close()
    b.close()
    text, start, end, machine = sb.voices[0]
    assert text == "one two three four"
    assert 0.8 < end - start < seconds + 0.3
    assert not machine


async def test_rfc4733_keys_and_inband_keys_reach_the_sink() -> None:
    a, b, _sa, sb = await call()
    a.hear({"type": "digits", "digits": "19#"})
    await wait_for(lambda: len(sb.keys) >= 3, 3)
    assert sb.keys == ["1", "9", "#"]
    a.close()
    b.close()
    # no telephone-event negotiated: the keys go in-band and are detected in the audio
    a, b, _sa, sb = await call(dtmf_pt=None)
    a.hear({"type": "digits", "digits": "42*"})
    await wait_for(lambda: len(sb.keys) >= 3, 3)
    await asyncio.sleep(0.3)
    assert sb.keys == ["4", "2", "*"]
    a.close()
    b.close()


async def test_single_tones_are_analysed_only_while_something_watches_for_them() -> None:
    a, b, _sa, sb = await call()
    a.endpoint.send(tone((2100.0,), 1.0, 8000.0))
    await asyncio.sleep(1.3)
    assert sb.fax == [] and not b.endpoint.want_tones  # nobody asked: the pacer spared the FFT
    b.watch_tones(True)
    assert b.endpoint.want_tones
    b.watch_tones(False)
    assert not b.endpoint.want_tones
    a.close()
    b.close()


async def test_beep_and_fax_tones_are_reported() -> None:
    a, b, _sa, sb = await call()
    b.watch_tones(True)  # a fax detection (or AMD) is listening
    a.hear({"type": "beep"})
    await wait_for(lambda: sb.beeps, 2)
    a.endpoint.send(tone((2100.0,), 1.5, 8000.0))
    await wait_for(lambda: sb.fax, 3)
    a.close()
    b.close()
    assert sb.beeps == 1 and sb.fax == ["CED"]


async def test_recording_holds_both_directions_of_real_audio(tmp_path: Path) -> None:
    a, b, _sa, _sb = await call()
    rec = b.start_recording(tmp_path / "r.wav", "wav", True, "both")
    a.endpoint.send(tone((500.0,), 0.6, 8000.0))  # the far end speaks (left channel)
    await asyncio.sleep(0.8)
    b.endpoint.send(tone((1200.0,), 0.6, 8000.0))  # the platform plays (right channel)
    await asyncio.sleep(0.9)
    assert rec.activity(b.clock.now())[0]
    seconds, size = rec.finish()
    a.close()
    b.close()
    with wave.open(str(tmp_path / "r.wav")) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 8000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
    assert abs(seconds - len(pcm) / 8000) < 0.01 and size > 20000
    left, right = pcm[:, 0].astype(float), pcm[:, 1].astype(float)

    def energy_at(x: np.ndarray, f: float) -> float:
        spec = np.abs(np.fft.rfft(x))
        return float(spec[int(f * len(x) / 8000)])

    assert energy_at(left, 500) > 20 * energy_at(left, 1200)
    assert energy_at(right, 1200) > 20 * energy_at(right, 500)


async def test_a_recording_keeps_its_audio_when_the_call_media_closes_first(tmp_path: Path) -> None:
    """The far end hangs up: the leg closes its media, then the record action finishes the file."""
    a, b, _sa, _sb = await call()
    rec = b.start_recording(tmp_path / "r.wav", "wav", False, "speak", timed=False)
    await asyncio.sleep(0.1)
    assert not b.endpoint.busy  # nothing to do each tick: the core records the call alone
    a.endpoint.send(tone((700.0,), 0.6, 8000.0))
    await asyncio.sleep(0.9)
    b.close()
    a.close()
    seconds, _ = rec.finish()
    pcm = audiofiles.decode((tmp_path / "r.wav").read_bytes())
    assert seconds >= 0.9 and len(pcm) == round(seconds * 8000)
    assert int(np.sum(np.abs(pcm) > 2000)) > 0.5 * 0.6 * 8000  # the tone is in it


async def test_a_recording_is_written_as_the_call_goes(tmp_path: Path) -> None:
    """The file grows each second the call lasts (memory stays bounded on a long call); it is renamed to its
    name, whole, when the recording finishes."""
    a, b, _sa, _sb = await call()
    rec = b.start_recording(tmp_path / "r.wav", "wav", True, "both", timed=False)
    part = tmp_path / "r.wav.part"
    a.endpoint.send(tone((700.0,), 2.5, 8000.0))
    sizes = []
    await asyncio.sleep(0.3)  # out of step with the hand-overs, a second apart
    for _ in range(3):
        await asyncio.sleep(1.0)
        sizes.append(part.stat().st_size)
    assert sizes[0] > 44 and sizes[0] < sizes[1] < sizes[2]  # stereo: 32,000 bytes a second
    assert not (tmp_path / "r.wav").exists()
    seconds, size = rec.finish()
    a.close()
    b.close()
    assert not part.exists() and size == (tmp_path / "r.wav").stat().st_size == 44 + round(seconds * 8000) * 4
    assert seconds >= 2.9 and size >= sizes[2]
    pcm = audiofiles.decode((tmp_path / "r.wav").read_bytes())  # decoded as mono: (left + right) / 2
    assert int(np.sum(np.abs(pcm) > 1000)) > 0.5 * 2.5 * 8000  # the tone the far end said is in it


async def test_mp3_recording_of_what_was_said_is_transcribed_back(tmp_path: Path) -> None:
    a, b, _sa, _sb = await call()
    rec = b.start_recording(tmp_path / "r.mp3", "mp3", False, "speak")
    seconds = await say(a, "one two three four")
    # played out (a busy machine may pace late), then 0.4 s for the packets and B's jitter buffer
    await wait_for(lambda: a.playout.remaining == 0 and a.endpoint.queued_seconds == 0, seconds + 10)
    await asyncio.sleep(0.4)
    rec.finish()
    a.close()
    b.close()
    audio = audiofiles.decode((tmp_path / "r.mp3").read_bytes())
    assert Recognizer.shared().recognize(audio, []) == "one two three four"
    source = a._speech("one two three four", VOICE).astype(float)
    lag = int(np.argmax(np.correlate(audio.astype(float), source, "valid")))
    assert np.corrcoef(audio[lag:lag + len(source)], source)[0, 1] > 0.9


FREQS = (500.0, 1200.0, 2000.0)  # what each of three callers says


async def _three_talk(arrange: Callable[[list[CallMedia]], None]) -> list[set[float]]:
    """Three calls whose relaybox legs ARRANGE puts in a mix; each caller says its tone of FREQS for 1.5 s;
    returns which tones each caller heard standing out in the last 0.8 s (all three talking)."""
    pairs = [await call() for _ in range(3)]
    far = [p[0] for p in pairs]  # the callers (their phones)
    arrange([p[1] for p in pairs])  # relaybox's side of each call
    heard: list[list[np.ndarray]] = [[], [], []]
    for i, f in enumerate(far):
        overhear(f, heard[i].append)
    for f, hz in zip(far, FREQS, strict=True):
        f.endpoint.send(tone((hz,), 1.5, 6000.0))
    await asyncio.sleep(1.2)
    for p in pairs:
        p[0].close()
        p[1].close()
    return [_peaks(frames, FREQS) for frames in heard]


def _peaks(frames: list[np.ndarray], freqs: tuple[float, ...], last: int = 40) -> set[float]:
    """Which of FREQS stand out in the last LAST frames heard."""
    x = np.concatenate(frames[-last:]).astype(float)
    spec = np.abs(np.fft.rfft(x))
    return {hz for hz in freqs if spec[int(hz * len(x) / 8000)] > 0.1 * spec.max()}


async def test_conference_mix_each_hears_the_others_and_a_muted_party_is_not_heard() -> None:
    """Three calls joined in one mix (the conference path: `join(None)` starts it, the others join it):
    each far end hears the other two talkers, not itself; a muted party is heard by nobody."""
    def arrange(legs: list[CallMedia]) -> None:
        mix = legs[0].join()
        assert legs[1].join(mix) is mix and legs[2].join(mix, muted=True) is mix

    heard = await _three_talk(arrange)
    assert heard[0] == {1200.0}  # not itself, not the muted third
    assert heard[1] == {500.0}
    assert heard[2] == {500.0, 1200.0}  # muted: still hears the others


async def test_conference_coach_is_heard_by_the_coached_call_only() -> None:
    """A coach joined with heard_by=[the coached leg]: the coached caller hears the coach and the others,
    the others do not hear the coach, and the coach hears everyone."""
    def arrange(legs: list[CallMedia]) -> None:  # 0: a participant, 1: the coached one, 2: the coach
        mix = legs[0].join()
        legs[1].join(mix)
        legs[2].join(mix, heard_by=[legs[1]])

    heard = await _three_talk(arrange)
    assert heard[0] == {1200.0}  # not the coach
    assert heard[1] == {500.0, 2000.0}  # the coached: the other participant and the coach
    assert heard[2] == {500.0, 1200.0}  # the coach hears everyone


async def test_conference_recording_holds_every_party_and_trims_the_silence(tmp_path: Path) -> None:
    """record_mix on a 3-party mix (one muted, one a coach): the WAV has every unmuted party, trimmed of the
    silence before the first sound and after the last; it goes on after the leg that started it leaves."""
    pairs = [await call() for _ in range(3)]
    far = [p[0] for p in pairs]
    legs = [p[1] for p in pairs]
    mix = legs[0].join()
    legs[1].join(mix, muted=True)
    legs[2].join(mix, heard_by=[legs[0]])  # a coach: in the room's recording too
    await asyncio.sleep(0.5)  # silence first: trimmed
    rec = legs[0].record_mix(tmp_path / "room.wav", True)
    await asyncio.sleep(0.5)
    for f, hz in zip(far, FREQS, strict=True):
        f.endpoint.send(tone((hz,), 1.0, 6000.0))
    await asyncio.sleep(0.6)
    legs[0].unbridge()  # the leg that started it leaves: the others are still recorded
    await asyncio.sleep(1.0)  # the tones end, silence: trimmed
    seconds, _size = rec.finish()
    for p in pairs:
        p[0].close()
        p[1].close()
    audio = audiofiles.decode((tmp_path / "room.wav").read_bytes())
    assert 0.8 <= seconds <= 1.3, seconds  # about the 1 s of tones, not the 2.5 s recorded
    assert np.abs(audio[:FRAME_CHECK]).max() > 1000 and np.abs(audio[-FRAME_CHECK:]).max() > 1000
    assert _peaks([audio[:4000]], FREQS, last=1) == {500.0, 2000.0}  # the muted party is not in it
    assert legs[0] not in mix.inputs and len(mix.recorders) == 0


async def test_hold_music_default_then_wait_url_swml_until_the_mix(tmp_path: Path) -> None:
    """A leg on hold sends the default melody; on hold with a wait_url answering SWML, the audio its first play
    names (a 700 Hz tone here), in a loop; joining a mix ends the hold music (the other party is heard)."""
    from aiohttp import web

    with wave.open(str(tmp_path / "wait.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(tone((700.0,), 0.3, 6000.0).tobytes())  # short: heard looping

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.path == "/wait.json":
            return web.json_response({"version": "1.0.0", "sections": {"main": [
                {"play": {"urls": [f"http://127.0.0.1:{port}/wait.wav"]}}]}})
        return web.FileResponse(tmp_path / "wait.wav")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    a, b, _sa, _sb = await call()
    c, d, _sc, _sd = await call()
    heard_a: list[np.ndarray] = []
    overhear(a, heard_a.append)
    try:
        b.hear({"type": "hold_music", "url": None})
        await asyncio.sleep(1.0)
        from relaybox.media.holdmusic import default_music

        got = np.concatenate(heard_a[-40:]).astype(float)
        music = default_music().astype(float)
        corr = np.correlate(np.concatenate([music, music]), got, "valid")  # the melody, at some point of its loop
        assert corr.max() / (np.linalg.norm(got) * np.linalg.norm(music[:len(got)]) + 1) > 0.8
        b.hear({"type": "hold_music", "url": f"http://127.0.0.1:{port}/wait.json"})
        await asyncio.sleep(1.2)
        assert _peaks(heard_a, (700.0,), last=50) == {700.0}
        quiet = [np.abs(f).max() for f in heard_a[-50:]]
        assert min(quiet) > 1000  # looped without gaps
        c.endpoint.send(tone((1500.0,), 2.0, 6000.0))  # the other caller talks
        mix = d.join()
        b.join(mix)
        await asyncio.sleep(1.0)
        assert _peaks(heard_a, (700.0, 1500.0)) == {1500.0}  # the hold music stopped, the mix is heard
    finally:
        for cm in (a, b, c, d):
            cm.close()
        await runner.cleanup()


async def test_bridge_carries_audio_between_two_calls(tmp_path: Path) -> None:
    """A -- B ==mixer== C -- D: what A says reaches D intact, and A does not hear itself back."""
    a, b, _sa, _sb = await call()
    c, d, _sc, sd = await call()
    assert b.bridge_to(c)
    assert b.endpoint.lookahead == c.endpoint.lookahead == MIX_LOOKAHEAD < LOOKAHEAD  # relayed live: less delay
    at_d = d.start_recording(tmp_path / "d.wav", "wav", False, "speak")
    at_a = a.start_recording(tmp_path / "a.wav", "wav", False, "speak")
    d.expect_speech([])
    speech = a._speech("one two three four", VOICE)
    a.endpoint.send(speech)
    await wait_for(lambda: sd.voices, len(speech) / 8000 + 3)
    # D recognises what A said (the digit grammar may add a word on a bridged, re-encoded stream; the
    # correlation below is the exact check of the audio)
    heard = iter(sd.voices[0][0].split())
    assert all(word in heard for word in ["one", "two", "three", "four"]), sd.voices[0][0]
    at_d.finish()
    at_a.finish()
    got = audiofiles.decode((tmp_path / "d.wav").read_bytes()).astype(float)
    lag = int(np.argmax(np.correlate(got, speech.astype(float), "valid")))
    assert np.corrcoef(got[lag:lag + len(speech)], speech)[0, 1] > 0.95
    echo = audiofiles.decode((tmp_path / "a.wav").read_bytes()).astype(float)
    # A does not hear itself back: at most the G.711 floor (a step of 8) from a busy machine's jitter, never
    # the speech (which peaks in the thousands)
    assert np.abs(echo).max() < 0.01 * np.abs(speech).max(), np.abs(echo).max()
    b.unbridge()
    assert b.mixer is None and c.mixer is None and b.endpoint.lookahead == c.endpoint.lookahead == LOOKAHEAD
    for cm in (a, b, c, d):
        cm.close()


async def test_amd_machine_then_ready_at_the_beep() -> None:
    a, b, _sa, _sb = await call()
    events: list[str] = []
    b.detect_machine({"initial_timeout": 4.5, "end_silence_timeout": 1.0, "machine_voice_threshold": 1.25,
                      "machine_words_threshold": 6}, events.append)
    seconds = await say(a, "Hello, you have reached the voicemail of John Smith, please leave a message")
    a.hear({"type": "beep"})
    await wait_for(lambda: "READY" in events, seconds + 3)
    a.close()
    b.close()
    assert events == ["MACHINE", "NOT_READY", "READY"]


async def test_amd_short_greeting_is_human_and_silence_unknown() -> None:
    a, b, _sa, _sb = await call()
    events: list[str] = []
    b.detect_machine({"end_silence_timeout": 0.8}, events.append)
    await say(a, "hello?")
    await wait_for(lambda: events, 4)
    assert events == ["HUMAN"]
    quiet: list[str] = []
    b.detect_machine({"initial_timeout": 0.5}, quiet.append)
    await wait_for(lambda: quiet, 2)
    assert quiet == ["UNKNOWN"]
    a.close()
    b.close()


async def test_rtp_tap_streams_the_real_audio() -> None:
    a, b, _sa, _sb = await call()
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    target.setblocking(False)
    tap = b.tap_opener("speak").open_rtp("127.0.0.1", target.getsockname()[1], "PCMA", 20)
    tap.start()
    assert tap.source_device()["type"] == "rtp"
    a.endpoint.send(tone((700.0,), 0.5, 8000.0))
    loop = asyncio.get_running_loop()
    audio = []
    for _ in range(40):
        data = await asyncio.wait_for(loop.sock_recv(target, 2048), 2)
        audio.append(g711.decode(parse(data).payload, "PCMA"))
    tap.close()
    a.close()
    b.close()
    target.close()
    x = np.concatenate(audio).astype(float)
    spec = np.abs(np.fft.rfft(x))
    assert int(np.argmax(spec)) * 8000 / len(x) == pytest.approx(700, abs=15)


async def test_fax_sent_between_two_calls_arrives_with_every_page(tmp_path: Path) -> None:
    from relaybox.engines.faxdoc import make_pdf, pdf_pages

    doc = tmp_path / "doc.pdf"
    doc.write_bytes(make_pdf([["relaybox fax", "page one"], ["page two"]]))
    a, b, _sa, _sb = await call()
    pages_a: list[int] = []
    pages_b: list[int] = []
    done: dict[str, Any] = {}
    a.start_fax("send", str(doc), identity="+15551112222", on_page=pages_a.append,
                on_done=lambda r, pdf: done.__setitem__("a", (r, pdf)))
    b.start_fax("receive", None, identity="+15553334444", on_page=pages_b.append,
                on_done=lambda r, pdf: done.__setitem__("b", (r, pdf)))
    await wait_for(lambda: len(done) == 2, 90)
    a.close()
    b.close()
    (ra, _), (rb, pdf) = done["a"], done["b"]
    assert ra.success and rb.success, (ra, rb)
    assert ra.pages == rb.pages == 2 and pages_b == [1, 2]
    assert rb.remote_identity == "+15551112222" and ra.remote_identity == "+15553334444"
    assert pdf is not None and pdf_pages(pdf) == 2
    assert a.fax is None and b.fax is None


async def test_websocket_tap_streams_the_real_audio_at_16k() -> None:
    from aiohttp import WSMsgType, web

    frames: list[bytes] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                frames.append(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/tap", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    a, b, _sa, _sb = await call()
    try:
        tap = b.tap_opener("listen").open_ws(f"ws://127.0.0.1:{port}/tap", "PCMU", 16000)
        tap.start()
        assert tap.source_device() == {"type": "ws", "params": {"uri": f"ws://127.0.0.1:{port}/tap",
                                                                 "codec": "PCMU", "rate": 16000}}
        b.endpoint.send(tone((1000.0,), 0.5, 8000.0))  # what the platform sends to the far end
        await wait_for(lambda: len(frames) >= 30, 3)
        tap.close()
        await asyncio.sleep(0.3)  # the sender closes its WebSocket
    finally:
        a.close()
        b.close()
        await runner.cleanup()
    assert {len(f) for f in frames} == {320}  # 20 ms at 16 kHz, one byte a sample
    x = np.concatenate([g711.decode(f, "PCMU") for f in frames]).astype(float)
    spec = np.abs(np.fft.rfft(x))
    assert int(np.argmax(spec)) * 16000 / len(x) == pytest.approx(1000, abs=20)


async def test_speech_barges_in_on_a_prompt_while_a_collect_waits_for_speech() -> None:
    a, b, _sa, sb = await call()
    b.expect_speech([])
    b.playout.add(tone((500.0,), 5.0, 8000.0))  # a long prompt to the caller
    await asyncio.sleep(0.3)
    assert b.playout.remaining > 3
    await say(a, "one two three four")
    await wait_for(lambda: b.playout.remaining == 0, 2)  # cut as soon as the caller spoke
    await wait_for(lambda: sb.voices, 4)
    # the words said, in order (on a loaded machine the digit grammar has once inserted a word: "one eight two
    # three four"); the barge-in above is what this test is about
    words = sb.voices[0][0].split()
    heard = iter(words)
    assert all(word in heard for word in ["one", "two", "three", "four"]) and len(words) <= 5, sb.voices
    a.close()
    b.close()


async def test_stopping_a_play_drops_the_frames_prepared_ahead_of_the_clock() -> None:
    """The endpoint keeps a few frames prepared in the core ahead of its 20 ms clock; a stop (or a barge-in)
    must not let them play out after it."""
    _a, b, _sa, _sb = await call()
    b.playout.add(tone((500.0,), 5.0, 8000.0))
    b.endpoint.busy = True
    core, slot = b.endpoint.pacer.core, b.endpoint.slot
    await wait_for(lambda: core.queued(slot) >= LOOKAHEAD - 1, 2)
    b.cue("silence")
    assert core.queued(slot) == 0 and b.playout.remaining == 0
