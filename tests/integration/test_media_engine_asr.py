"""Speech recognition runs in a worker process, only while something listens, and never stalls the event
loop that carries every call's RTP and SIP; speech start is reported at once (before the words)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from relaybox.engines.audio import AudioRenderer
from relaybox.media import asr
from relaybox.media.callmedia import CallMedia
from relaybox.media.endpoint import RtpEndpoint

VOICE = "en-us+klatt4"


def speech(text: str) -> np.ndarray:
    pcm = AudioRenderer(Path(".")).speech(text, VOICE)
    return np.frombuffer(pcm.tobytes(), dtype=np.int16).copy()


async def lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    """Sleeps 10 ms at a time and notes how late each wake-up is (what an RTP tick would suffer)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.01)
        lags.append(loop.time() - t - 0.01)


async def test_recognising_seconds_of_speech_does_not_stall_the_loop() -> None:
    one = speech("Please record your message after the tone, then press the pound key when you are done.")
    audio = np.concatenate([one, np.zeros(2400, dtype=np.int16), one])  # several seconds, free-form model
    assert len(audio) / 8000 > 6
    asr.warm()
    stop, lags = asyncio.Event(), []
    probe = asyncio.ensure_future(lag_probe(stop, lags))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    text = await asr.recognize(audio, None)
    took = loop.time() - t0
    stop.set()
    await probe
    assert "record" in text.split() or "message" in text.split(), text  # it really decoded the speech
    assert took > 0.5, took  # long enough that an in-process decoder would have held the loop
    assert len(lags) > took / 0.05  # the loop kept ticking all along
    assert max(lags) < 0.25, f"the event loop stalled {max(lags):.3f} s while recognising"
    # digits grammar in the same worker
    assert await asr.recognize(speech("one two three four"), []) == "one two three four"


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any, float]] = []

    def _at(self) -> float:
        return asyncio.get_running_loop().time()

    def dtmf(self, digit: str) -> None:
        self.events.append(("dtmf", digit, self._at()))

    def voice(self, text: str, start: float, end: float, machine: bool) -> None:
        self.events.append(("voice", text, self._at()))

    def speech_started(self, start: float) -> None:
        self.events.append(("start", start, self._at()))

    def beep(self) -> None:
        pass

    def fax_tone(self, tone: str, pages: int) -> None:
        pass

    def of(self, kind: str) -> list[tuple[str, Any, float]]:
        return [e for e in self.events if e[0] == kind]


async def pair() -> tuple[CallMedia, CallMedia, Sink]:
    a_ep = await RtpEndpoint.open("127.0.0.1")
    b_ep = await RtpEndpoint.open("127.0.0.1")
    a_ep.start("127.0.0.1", b_ep.port, "PCMU", 0, 101)
    b_ep.start("127.0.0.1", a_ep.port, "PCMU", 0, 101)
    a, b = CallMedia(a_ep), CallMedia(b_ep)
    sink = Sink()
    b.attach_media(sink)
    return a, b, sink


async def wait_for(cond: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_utterances_are_recognised_only_while_something_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = asr.recognize

    async def counting(samples: Any, hints: Any) -> str:
        calls.append(hints)
        return await real(samples, hints)

    monkeypatch.setattr(asr, "recognize", counting)
    a, b, sink = await pair()
    try:
        said = speech("one two three")
        a.endpoint.send(said)
        await asyncio.sleep(len(said) / 8000 + 1.2)
        assert b.utterances is not None and not b.utterances.speaking
        assert sink.events == [] and calls == []  # nobody listening: not input, not recognised
        b.expect_speech([])  # a collect with speech
        a.endpoint.send(said)
        await wait_for(lambda: sink.of("voice"), len(said) / 8000 + 5)
        assert sink.of("voice")[0][1] == "one two three" and calls == [[]]
        assert [e[0] for e in sink.events] == ["start", "voice"]
        b.expect_speech(None)
        b.transcribe(True)  # a transcription: free-form
        a.endpoint.send(said)
        await wait_for(lambda: len(sink.of("voice")) >= 2, len(said) / 8000 + 5)
        assert calls == [[], None]
    finally:
        a.close()
        b.close()


async def test_speech_start_is_reported_before_the_utterance_ends() -> None:
    a, b, sink = await pair()
    b.expect_speech([])
    try:
        said = speech("one two three four seven eight nine")
        seconds = len(said) / 8000
        assert seconds > 1.5
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        a.endpoint.send(said)
        await wait_for(lambda: sink.of("voice"), seconds + 3)
        (_, _start, start_seen), = sink.of("start")
        _, _, voice_seen = sink.of("voice")[0]
        assert start_seen - t0 < 0.5, start_seen - t0  # within a few frames of the first word
        assert voice_seen - start_seen > seconds - 0.5  # the words come only at the end
        assert sink.events[0][0] == "start"
    finally:
        a.close()
        b.close()
