"""`CallMedia`: a `MediaLeg` on real audio over an `RtpEndpoint`, for SIP legs (and any leg that
carries RTP).

Toward the far end it renders what the domain plays, in real time: TTS (espeak-ng, voice from the
item's language/gender or `voice`), audio URLs (WAV/MP3), silence, ringtones, ringback, beeps, keys
(RFC 4733 when negotiated, else in-band tones). From the far end it reports to the `MediaSink`: keys
(RFC 4733 and in-band), utterances (webrtcvad segments, recognised by pocketsphinx or the optional
Whisper) while something needs them, and beeps and fax tones while something watches for them. The
per-frame maths (energy, DTMF, tone peaks) is done by the RTP pacer for all calls at once. It also
records real audio, taps it, bridges to another `CallMedia` through a `Mixer`, and runs answering-machine
detection on the audio.

Optional capabilities the domain actions look for on a leg (`getattr`), so the sandbox path is
unchanged where a leg lacks them: `prepare(item, gain)` (renders a play item, returns its real
length), `start_recording(...)`, `tap_opener(direction)`, `bridge_to(leg)`/`unbridge()`,
`expect_speech(hints)`, `detect_machine(settings, report)` and `watch_tones(on)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from relaybox.clock import Clock, Timer
from relaybox.domain.legs import MediaSink
from relaybox.media import FRAME, RATE, asr, audiofiles
from relaybox.media.amd import AmdSettings, MachineDetector
from relaybox.media.endpoint import LOOKAHEAD, SILENCE, RtpEndpoint
from relaybox.media.errors import MediaUnavailable
from relaybox.media.fax import FaxResult, FaxSession, pdf_to_tiff, spandsp, tiff_to_pdf
from relaybox.media.holdmusic import HoldLoop, default_music, swml_urls
from relaybox.media.jitter import Samples
from relaybox.media.mixer import Mixer
from relaybox.media.mixrecording import MixRecording
from relaybox.media.recorder import CallRecording
from relaybox.media.speech import Utterance, Utterances
from relaybox.media.tap import RealTapper, _Fed
from relaybox.media.tones import DTMF_FREQS, DtmfDetector, ToneDetector, tone

log = logging.getLogger("relaybox.media")

BEEP = (1000.0, 0.25)
US_RINGBACK = ((440.0, 480.0), ((2.0, 4.0),))
KEY_SECONDS, GAP_SECONDS = 0.1, 0.1
PAUSES = {"w": 0.5, "W": 1.0}
DEDUPE_SECONDS = 0.3  # an in-band key this close to the same RFC 4733 key is the same press
MAX_FREEFORM_SECONDS = 15.0
LOOP_SECONDS = 120.0  # ringback without an end (a connect that failed says nothing to the leg)
MIX_LOOKAHEAD = 2  # frames a mixed call prepares ahead of the RTP clock (endpoint.LOOKAHEAD otherwise)
RECORDING_FLUSH = 1.0  # seconds between the capture's hand-overs to the recordings (their files grow with the call)


def tts_voice(params: dict[str, Any]) -> str:
    """The espeak-ng voice of a TTS item: `voice` if given, else from language and gender."""
    voice = params.get("voice")
    if isinstance(voice, str) and voice and all(c.isalnum() or c in "-+_" for c in voice):
        return voice
    language = str(params.get("language") or "en-US").lower()
    base = "en-us" if language.startswith("en") else language.split("-")[0]
    return base + ("+m3" if params.get("gender") == "male" else "+f3")


class _Playout:
    """Queued outgoing audio: a list of segments; a looping one (ringback) repeats until stopped."""

    def __init__(self) -> None:
        self.segments: deque[tuple[Samples, bool, bool]] = deque()  # (samples, loop, gain applies)
        self.pos = 0
        self.paused = False
        self.loop_frames = 0  # a loop (ringback) stops by itself after LOOP_SECONDS

    def add(self, samples: Samples, loop: bool = False, gain: bool = True) -> None:
        if len(samples):
            self.segments.append((samples, loop, gain))
            if loop:
                self.loop_frames = int(LOOP_SECONDS * RATE / FRAME)

    def clear(self) -> None:
        self.segments.clear()
        self.pos = 0
        self.paused = False

    def stop_loops(self) -> None:
        kept = deque(seg for seg in self.segments if not seg[1])
        if self.segments and self.segments[0][1]:
            self.pos = 0
        self.segments = kept

    @property
    def remaining(self) -> float:
        return (sum(len(seg[0]) for seg in self.segments) - self.pos) / RATE

    def next(self, gain: float = 1.0) -> Samples | None:
        if not self.segments or self.paused:
            return None
        out = np.zeros(FRAME, dtype=np.int16)
        filled = 0
        scaled = gain != 1.0 and self.segments[0][2]
        if self.segments[0][1]:
            self.loop_frames -= 1
            if self.loop_frames <= 0:
                self.stop_loops()
                if not self.segments:
                    return None
        while filled < FRAME and self.segments:
            samples, loop, _gain = self.segments[0]
            take = min(FRAME - filled, len(samples) - self.pos)
            out[filled:filled + take] = samples[self.pos:self.pos + take]
            filled += take
            self.pos += take
            if self.pos >= len(samples):
                self.pos = 0
                if not loop or len(self.segments) > 1:
                    self.segments.popleft()
        if scaled:
            return np.clip(out.astype(np.float32) * gain, -32768, 32767).astype(np.int16)
        return out


class _AmdSession:
    def __init__(self, owner: CallMedia, detector: MachineDetector, report: Callable[[str], None]) -> None:
        self.owner, self.detector, self.report = owner, detector, report

    def emit(self, names: list[str]) -> None:
        for name in names:
            self.report(name)
        if self.detector.done:
            self.close()

    def close(self) -> None:
        if self in self.owner.amd_sessions:
            self.owner.amd_sessions.remove(self)
            self.owner._wants_changed()


class _FaxRun:
    """One fax on a call: prepares the TIFF, runs the `FaxSession` on the call's frames, reports pages."""

    def __init__(self, owner: CallMedia, direction: str, document: str | None, identity: str, header: str,
                 on_page: Callable[[int], None], on_done: Callable[[FaxResult, bytes | None], None],
                 workdir: Path | None) -> None:
        self.owner, self.direction, self.document = owner, direction, document
        self.identity, self.header = identity, header
        self.on_page, self.on_done = on_page, on_done
        self.dir = Path(tempfile.mkdtemp(prefix="relaybox-fax-", dir=workdir))
        self.tiff = self.dir / ("tx.tif" if direction == "send" else "rx.tif")
        self.session: FaxSession | None = None
        self.pages = 0
        self.finished = False

    async def start(self) -> None:
        try:
            if self.direction == "send":
                assert self.document is not None
                if self.document.startswith(("http://", "https://")):
                    pdf = await _fetch_bytes(self.document)
                else:
                    pdf = Path(self.document).read_bytes()
                await asyncio.get_running_loop().run_in_executor(None, pdf_to_tiff, pdf, self.tiff)
            self.session = FaxSession(self.tiff, sending=self.direction == "send", calling=self.direction == "send",
                                      identity=self.identity, header=self.header)
        except Exception as exc:
            log.info("fax: cannot start: %s", exc)
            self.finish(FaxResult(False, -1, f"document error: {exc}", 0, 0, ""))

    def tx(self) -> Samples:
        return SILENCE if self.session is None or self.finished else self.session.tx()

    def feed(self, frame: Samples) -> None:
        if self.session is None or self.finished:
            return
        self.session.rx(frame)
        pages = self.session.pages
        if pages > self.pages:
            self.pages = pages
            self.on_page(pages)
        if self.session.result is not None:
            self.finish(self.session.result)

    def finish(self, result: FaxResult) -> None:
        if self.finished:
            return
        self.finished = True
        if self.owner.fax is self:
            self.owner.fax = None
        if self.session is not None:
            self.session.close()
        pdf = None
        if self.direction == "receive" and result.success and self.tiff.exists():
            try:
                pdf = tiff_to_pdf(self.tiff)
            except Exception as exc:
                log.warning("fax: the received TIFF cannot be converted: %s", exc)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.on_done(result, pdf)

    def stop(self) -> None:
        self.finish(FaxResult(False, -2, "stopped", self.pages, 0, ""))


async def _fetch_bytes(url: str) -> bytes:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session, session.get(url) as resp:
        if resp.status != 200:
            raise ValueError(f"fetching the document answered HTTP {resp.status}")
        data = await resp.content.read(audiofiles.MAX_FETCH_BYTES + 1)
    if len(data) > audiofiles.MAX_FETCH_BYTES:
        raise ValueError("the document is larger than 50 MB")
    return bytes(data)


class CallMedia:
    """A `MediaLeg` (plus `close`) over ENDPOINT; see the module docstring."""

    def __init__(
        self, endpoint: RtpEndpoint, *, clock: Clock | None = None, renderer: Any = None,
        dtmf_mode: str = "auto", recognize: bool = True, inband_dtmf: bool = True, hangover: float = 0.6,
    ) -> None:
        if dtmf_mode not in ("auto", "rfc4733", "inband", "both"):
            raise ValueError("dtmf_mode must be auto, rfc4733, inband or both")
        self.endpoint = endpoint
        self.clock = clock or Clock()
        if renderer is None:
            from relaybox.engines.audio import AudioRenderer

            renderer = AudioRenderer(Path("."))
        self.renderer = renderer
        self.dtmf_mode = dtmf_mode
        self.recognize = recognize
        self.sink: MediaSink | None = None
        self.playout = _Playout()
        self.prepared: dict[tuple[str, str], Samples] = {}  # (type, key) -> rendered, from `prepare`
        self.gain = 1.0
        self.mixer: Mixer | None = None
        self.holding: HoldLoop | None = None  # hold music (a conference not started yet), until a mix
        self.peer: CallMedia | None = None
        self.recordings: list[CallRecording] = []
        self._flush_timer: Timer | None = None
        self.taps: list[_Fed] = []
        self.amd_sessions: list[_AmdSession] = []
        self.hints: list[str] | None = None  # a collect expecting speech: grammar of digits + hints
        self.transcribers = 0  # transcriptions running: utterances are recognised free-form
        self.tone_watchers = 0  # fax detections running (see `watch_tones`)
        self._vad_on = False  # `needs_voice`, kept up to date by `_wants_changed`
        self.utterances: Utterances | None = None  # speech, AMD: webrtcvad (the call still works without)
        try:
            self.utterances = Utterances(hangover=hangover)
        except MediaUnavailable as exc:
            log.warning("call media without speech detection: %s", exc)
        self.dtmf = DtmfDetector() if inband_dtmf else None
        self.tones = ToneDetector()
        self.answered_at = self.clock.now()
        self.machine = MachineDetector(AmdSettings(), self.answered_at)  # labels the first utterance
        self._rfc_keys: deque[tuple[str, float]] = deque(maxlen=8)
        self._inband_keys: deque[tuple[str, float]] = deque(maxlen=8)
        self._received = SILENCE
        self._now = self.clock.now()  # this tick's platform time (one clock read per tick)
        self._voiced = False
        self._asr_chain: asyncio.Future[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.fax: _FaxRun | None = None
        self.heard_log: list[dict[str, Any]] = []  # what the domain asked to play (for diagnostics)
        self.closed = False
        endpoint.analyse = True  # the pacer analyses our received frames with every other call's
        endpoint.on_audio = self._on_audio
        endpoint.on_sent = self._on_sent
        endpoint.on_dtmf = self._on_rfc4733
        endpoint.source = self._source

    # -- MediaLeg ----------------------------------------------------------------------------------

    def attach_media(self, sink: MediaSink) -> None:
        self.sink = sink

    def prepare(self, item: dict[str, Any], gain: float = 0.0) -> float | None:
        """Render a play item with all its params before `hear` names it; its real length in seconds
        (None for an audio URL, which is fetched in the background)."""
        kind, params = item["type"], item["params"]
        self.gain = 10 ** (gain / 20)
        if kind == "tts":
            try:
                samples = self._speech(params["text"], tts_voice(params))
            except Exception as exc:  # espeak-ng missing or failing: the domain times the play by estimate
                log.warning("tts: %s", exc)
                return None
            self.prepared[("tts", params["text"])] = samples
            return len(samples) / RATE
        if kind == "audio":  # already fetched (the platform's audio cache): its length is known
            files = getattr(self.renderer, "files", None)
            cached = files.get(params["url"]) if files is not None else None
            if cached is not None:
                samples = np.frombuffer(cached.tobytes(), dtype=np.int16)
                self.prepared[("audio", params["url"])] = samples
                return len(samples) / RATE
        return None

    def hear(self, entry: dict[str, Any]) -> None:
        if self.closed:
            return
        self._wake()
        self.heard_log.append(entry)
        del self.heard_log[:-50]
        kind = entry.get("type")
        if kind != "ringback":
            self.playout.stop_loops()  # whatever comes next ends the ringback
        if kind == "tts":
            samples = self.prepared.pop(("tts", entry["text"]), None)
            if samples is None:
                try:
                    samples = self._speech(entry["text"], entry.get("voice") or "en-us+f3")
                except Exception as exc:
                    log.warning("tts: %s", exc)
                    return
            self._play(samples)
        elif kind == "audio":
            samples = self.prepared.pop(("audio", entry["url"]), None)
            if samples is not None:
                self._play(samples)
            else:
                self._play_url(entry["url"])
        elif kind == "silence":
            self._play(np.zeros(int(float(entry["duration"]) * RATE), dtype=np.int16), gain=False)
        elif kind == "ringtone":
            from relaybox.domain.actions.media import RINGTONES, cadence_seconds

            cadence, freqs = RINGTONES[entry["name"]]
            seconds = float(entry.get("duration") or cadence_seconds(entry["name"]))
            self._play(self._cadence(tuple(map(float, freqs)), cadence, seconds))
        elif kind == "ringback":
            freqs, cadence = US_RINGBACK
            self.playout.add(self._cadence(freqs, cadence, sum(a + b for a, b in cadence)), loop=True)
        elif kind == "connected":
            self.playout.stop_loops()
        elif kind == "beep":
            self._play(tone((BEEP[0],), BEEP[1], 8000.0), gain=False)
        elif kind == "digits":
            self.send_digits(str(entry["digits"]))
        elif kind == "hold_music":
            self._hold(entry.get("url"))
        elif kind == "hold_music_stop":
            self.holding = None

    def cue(self, name: str) -> None:
        """`silence`: the domain stopped every player: stop what is still queued (barge-in, stop)."""
        if name == "silence" and self.playout.remaining > 0.1:
            self._stop_playing()
        elif name in ("play", "prompt"):
            self.playout.stop_loops()

    def close(self) -> None:
        if self.closed:
            return
        self._drain()  # the recordings still running keep what was captured (they are finished after this)
        self._cancel_flush()
        self.closed = True
        self.unbridge()
        for tap in list(self.taps):
            with contextlib.suppress(Exception):
                tap.close()  # type: ignore[attr-defined]
        if self.fax is not None:
            self.fax.stop()
        for task in self._tasks:
            task.cancel()
        self.endpoint.close()

    # -- rendering ---------------------------------------------------------------------------------

    def _speech(self, text: str, voice: str) -> Samples:
        pcm = self.renderer.speech(text, voice)
        return np.frombuffer(pcm.tobytes(), dtype=np.int16).copy()

    @staticmethod
    def _cadence(freqs: tuple[float, ...], cadence: tuple[tuple[float, float], ...], seconds: float) -> Samples:
        out = np.zeros(int(seconds * RATE), dtype=np.int16)
        t = 0.0
        while t * RATE < len(out):
            for on, off in cadence:
                a = int(t * RATE)
                piece = tone(freqs, on, 8000.0)[: max(0, len(out) - a)]
                out[a:a + len(piece)] = piece
                t += on + off
        return out

    def _play(self, samples: Samples, gain: bool = True) -> None:
        self.playout.add(samples, gain=gain)
        self._wake()

    def _stop_playing(self) -> None:
        """What is queued stops at once, the frames already prepared for the RTP clock included."""
        self.playout.clear()
        self.endpoint.clear()

    def pause_playback(self, on: bool) -> None:
        """A play paused (True) or resumed: what is queued waits where it is."""
        self.playout.paused = on
        self._wake()

    def set_volume(self, gain_db: float) -> None:
        """The play's volume, -40..+40 dB, from the next frame on."""
        self.gain = 10 ** (gain_db / 20)

    def _hold(self, url: str | None) -> None:
        """Hold music in a loop until `hold_music_stop` or a mix: URL (WAV/MP3, or SWML naming them), else the default
        melody; URL failing to load: the default, logged."""
        loop = self.holding = HoldLoop(None if url else default_music())
        if not url:
            return

        async def load() -> None:
            try:
                loop.samples = await self._wait_music(url)
            except Exception as exc:
                log.warning("conference wait_url %s: cannot play it (%s); default hold music", url, exc)
                loop.samples = default_music()

        self._spawn(load())

    async def _wait_music(self, url: str) -> Samples:
        data = await _fetch_bytes(url)
        urls = swml_urls(data)
        if urls is None:
            return await asyncio.to_thread(audiofiles.decode, data)
        if not urls:
            raise ValueError("the SWML document plays no audio URL")
        parts = [await asyncio.to_thread(audiofiles.decode, await _fetch_bytes(u)) for u in urls]
        return np.concatenate(parts)

    def _play_url(self, url: str) -> None:
        marker = np.zeros(0, dtype=np.int16)
        slot: list[Samples] = [marker]

        async def load() -> None:
            try:
                files = getattr(self.renderer, "files", None)  # the platform's cache (miniaudio decoding)
                if files is not None:
                    slot[0] = np.frombuffer((await files.load(url)).tobytes(), dtype=np.int16)
                else:
                    slot[0] = await audiofiles.fetch(url)
            except Exception as exc:
                log.info("audio %s: cannot play it (%s)", url, exc)
                return
            if not self.closed:
                self._play(slot[0])

        self._spawn(load())

    def send_digits(self, digits: str) -> None:
        """Keys to the far end: RFC 4733 when negotiated (mode auto/rfc4733), in-band tones otherwise."""
        rfc = self.endpoint.dtmf_payload_type is not None and self.dtmf_mode in ("auto", "rfc4733", "both")
        inband = self.dtmf_mode in ("inband", "both") or (not rfc and self.dtmf_mode == "auto")
        if rfc:
            self.endpoint.send_digits(digits)
        if inband:
            parts: list[Samples] = []
            for key in digits:
                if key in PAUSES:
                    parts.append(np.zeros(int(PAUSES[key] * RATE), dtype=np.int16))
                elif key.upper() in DTMF_FREQS:
                    parts.append(tone(DTMF_FREQS[key.upper()], KEY_SECONDS, 12000.0))
                    parts.append(np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16))
            if parts:
                self._play(np.concatenate(parts), gain=False)

    # -- the 20 ms frames ----------------------------------------------------------------------------

    def _source(self) -> Samples | None:
        """The next frame to send: what is played, plus the bridged parties or the hold music; None lets the
        endpoint's own queue (`RtpEndpoint.send`) or silence go out."""
        if self.fax is not None:
            return self.fax.tx()
        frame = self.playout.next(self.gain)
        heard = None
        if self.mixer is not None:
            heard = self.mixer.take(self)
        elif self.holding is not None:
            heard = self.holding.next()
        if heard is not None:
            if frame is None:
                return heard
            return np.clip(frame.astype(np.int32) + heard, -32768, 32767).astype(np.int16)
        return frame

    def _on_sent(self, frame: Samples) -> None:
        """After each frame prepared: the last frame heard and this one are known; tap them, and measure the sound
        for recordings with silence timeouts (the pacer's core keeps the audio itself: `start_recording`)."""
        for tap in self.taps:
            tap.feed(self._received, frame)
        for rec in self.recordings:
            if rec.timed:
                rec.observe(self._now, frame, self._voiced)
        self.endpoint.busy = self._needs_ticks()

    def _needs_ticks(self) -> bool:
        """Something here has work every 20 ms: else the pacer's core ticks the call alone (silence out, the
        audio recorded) until a key, a tone or an action (`_wake`) comes."""
        ep = self.endpoint
        return bool(self.playout.segments or self.fax is not None or self.mixer is not None or self.taps
                    or self.holding is not None
                    or self._vad_on or self._voiced or (self.utterances is not None and self.utterances.speaking)
                    or (self.dtmf is not None and not self.dtmf.idle) or self.tones.freq is not None
                    or ep.queued_seconds or ep.sending_digits)

    def _wake(self) -> None:
        """Tick in Python from the next tick on (it goes quiet again by itself when nothing is left to do)."""
        self.endpoint.busy = True

    def _on_audio(self, frame: Samples) -> None:
        """Each tick's received FRAME; the pacer has analysed it (`RtpEndpoint.energy`/`dtmf_key`/`tone_peak`),
        so a frame with nothing in it costs a few attribute reads. A key or a tone heard while the endpoint was
        quiet wakes it: the frames after it matter until it ends."""
        self._hear(frame)
        if not self.endpoint.busy and self._needs_ticks():
            self._wake()

    def _hear(self, frame: Samples) -> None:
        self._received = frame
        if self.fax is not None:
            self.fax.feed(frame)
        if self.mixer is not None:
            self.mixer.put(self, frame)
        t = self._now = self.clock.now()
        ep = self.endpoint
        energy = ep.energy
        if self.dtmf is not None and (ep.dtmf_key is not None or not self.dtmf.idle) \
                and (key := self.dtmf.step(ep.dtmf_key)) is not None:
            self._key(key, inband=True)
        if (ep.tone_peak is not None or self.tones.freq is not None) \
                and (name := self.tones.step(ep.tone_peak)) is not None:
            self._tone(name)
        if self.utterances is None:
            return
        if not self._vad_on:  # voice activity only while something uses it (webrtcvad costs)
            if self._voiced or self.utterances.speaking:
                self._voiced = False
                self.utterances.reset()
            return
        event = self.utterances.feed(t, frame, energy)
        self._voiced = self.utterances.last_voiced
        words = self.utterances.bursts
        if not self.machine.done:
            self.machine.voice(t, self._voiced, words)
        for session in list(self.amd_sessions):
            names = session.detector.voice(t, self._voiced, words)
            if names:
                session.emit(names)
        if isinstance(event, Utterance):
            self._utterance(event)
        elif event is not None:
            if self.hints is not None and self.playout.remaining > 0:
                self._stop_playing()  # barge-in: a collect waits for speech and the caller started talking
            started = getattr(self.sink, "speech_started", None)  # the domain learns of speech at its start
            if started is not None and self.listening:
                started(event[1])

    # -- input from the far end --------------------------------------------------------------------

    def _on_rfc4733(self, key: str) -> None:
        self._key(key, inband=False)

    def _key(self, key: str, *, inband: bool) -> None:
        now = self.clock.now()
        mine, other = (self._inband_keys, self._rfc_keys) if inband else (self._rfc_keys, self._inband_keys)
        if any(k == key and now - at < DEDUPE_SECONDS for k, at in other):
            return
        mine.append((key, now))
        if self.sink is not None:
            self.sink.dtmf(key)

    def _tone(self, name: str) -> None:
        now = self.clock.now()
        if name == "beep":
            for detector, session in [(self.machine, None), *((s.detector, s) for s in self.amd_sessions)]:
                names = detector.beep(now)
                if session is not None and names:
                    session.emit(names)
            if self.sink is not None:
                self.sink.beep()
        elif self.sink is not None:
            self.sink.fax_tone(name, 0)

    @property
    def needs_voice(self) -> bool:
        """The far end's voice activity is wanted: something listens, or a recording times its silences."""
        return self.listening or any(rec.timed for rec in self.recordings)

    @property
    def listening(self) -> bool:
        """Something wants the words of an utterance (a collect with speech, AMD, a transcription): only then
        is it recognised and reported to the sink. Voice activity (`needs_voice`) also drives recordings'
        silence timers and the label of the first utterance heard while it runs."""
        return self.hints is not None or bool(self.amd_sessions) or self.transcribers > 0

    def _utterance(self, utt: Utterance) -> None:
        machine = self.machine.verdict == "MACHINE" and utt.start <= (self.machine.speech_start or utt.start) + 0.05
        hints = self.hints_for_asr()
        if not self.recognize:
            self._report(" ".join(["word"] * utt.bursts), utt, machine)
            return
        if not self.listening:
            return  # talk nobody listens for (background speech during a keys-only collect) is not input
        previous = self._asr_chain

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            text = ""
            audio = utt.audio
            if hints is None and len(audio) > MAX_FREEFORM_SECONDS * RATE:
                audio = audio[: int(MAX_FREEFORM_SECONDS * RATE)]
            try:
                text = await asr.recognize(audio, hints)  # off the loop's process: pocketsphinx holds the GIL
            except MediaUnavailable as exc:
                log.warning("speech: %s", exc)
            except Exception:
                log.exception("speech recognition failed")
            if not self.closed:
                self._report(text, utt, machine)

        chain = self._asr_chain = self._spawn(run())

        def done(_: asyncio.Future[Any]) -> None:
            if self._asr_chain is chain:
                self._asr_chain = None

        chain.add_done_callback(done)

    def hints_for_asr(self) -> list[str] | None:
        """The grammar's hints for the next utterance: a collect's (digits + hints), else None (free-form)."""
        return None if self.hints is None else list(self.hints)

    def _report(self, text: str, utt: Utterance, machine: bool) -> None:
        for session in list(self.amd_sessions):
            names = session.detector.words(len(text.split()))
            if names:
                session.emit(names)
        if self.sink is not None:
            self.sink.voice(text, utt.start, utt.end, machine)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- capabilities the domain actions use -------------------------------------------------------

    def start_recording(self, path: Path, fmt: str, stereo: bool, direction: str, *,
                        timed: bool = True) -> CallRecording:
        """TIMED: the recording has silence timeouts (it needs the voice activity of the far end)."""
        rec = CallRecording(path, fmt, stereo, direction, self.clock.now(), timed)
        self._drain()  # what came before is the other recordings' only
        if not self.recordings:
            self.endpoint.capture(True)
            self._flush_timer = self.clock.call_later(RECORDING_FLUSH, self._flush_recordings)
        rec.flush = self._drain
        self.recordings.append(rec)
        original_finish, original_cancel = rec.finish, rec.cancel

        def finish() -> tuple[float, int]:
            self._forget(rec)
            return original_finish()

        def cancel() -> None:
            self._forget(rec)
            original_cancel()

        rec.finish, rec.cancel = finish, cancel  # type: ignore[method-assign]
        self._wants_changed()
        return rec

    def _forget(self, rec: CallRecording) -> None:
        if rec in self.recordings:
            self._drain()
            self.recordings.remove(rec)
            if not self.recordings:
                self.endpoint.capture(False)
                self._cancel_flush()
            self._wants_changed()

    def _flush_recordings(self) -> None:
        """Every RECORDING_FLUSH seconds while recordings run, their files get the audio captured meanwhile."""
        self._drain()  # the timer is cancelled when the last recording ends and when the call media closes
        self._flush_timer = self.clock.call_later(RECORDING_FLUSH, self._flush_recordings)

    def _cancel_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _drain(self) -> None:
        """The audio the pacer's core captured since the last drain goes to every recording (each applies its
        own pause)."""
        if not self.recordings:
            return
        both = self.endpoint.drain()
        for rec in self.recordings:
            rec.add(both)

    def tap_opener(self, direction: str) -> RealTapper:
        return RealTapper(self, direction)

    def expect_speech(self, hints: list[str] | None) -> None:
        """A collect wants speech: recognise with a grammar of digits and HINTS (None: free-form again)."""
        if self.utterances is None and hints is not None:
            raise MediaUnavailable("speech input needs webrtcvad: run scripts/setup-media.sh (pip install "
                                   "webrtcvad-wheels)")
        self.hints = None if hints is None else list(hints)
        self._wants_changed()
        if hints is not None and self.recognize:
            asr.warm()

    def watch_tones(self, on: bool) -> None:
        """A fax detection starts (True) or ends: single tones (CNG, CED, beeps) are analysed while one runs
        (AMD and speech collects turn it on too); otherwise the pacer spares the FFT."""
        self.tone_watchers = max(0, self.tone_watchers + (1 if on else -1))
        self._wants_changed()

    def _wants_changed(self) -> None:
        """What the per-frame analysis must compute changed (a collect, AMD, a recording, a detection)."""
        self.endpoint.want_tones = self.tone_watchers > 0 or bool(self.amd_sessions) or self.hints is not None
        self._vad_on = self.needs_voice
        self._wake()

    def transcribe(self, on: bool) -> None:
        """A transcription starts (True) or ends: utterances are recognised free-form while one runs."""
        self.transcribers = max(0, self.transcribers + (1 if on else -1))
        self._wants_changed()
        if on and self.recognize:
            asr.warm()

    def detect_machine(self, settings: dict[str, Any], report: Callable[[str], None]) -> _AmdSession:
        """Run AMD on the audio from now on; REPORT gets MACHINE/HUMAN/UNKNOWN/NOT_READY/READY."""
        if self.utterances is None:
            raise MediaUnavailable("answering-machine detection needs webrtcvad: run scripts/setup-media.sh "
                                   "(pip install webrtcvad-wheels)")
        detector = MachineDetector(AmdSettings.from_params(settings), self.clock.now())
        session = _AmdSession(self, detector, report)
        self.amd_sessions.append(session)
        self._wants_changed()
        if self.recognize:
            asr.warm()
        started = self.utterances.started_at
        if started is not None:  # the far end is already talking
            detector.speech_start = started
            detector.last_voice = self.clock.now()
        return session

    def start_fax(self, direction: str, document: str | None, *, identity: str = "", header: str = "",
                  on_page: Callable[[int], None], on_done: Callable[[FaxResult, bytes | None], None],
                  workdir: Path | None = None) -> _FaxRun:
        """T.30 over this call's audio: send DOCUMENT (a PDF URL or path) or receive. ON_PAGE(n) after each
        page; ON_DONE(result, received PDF or None) once. The fax owns the audio while it runs."""
        if direction not in ("send", "receive"):
            raise ValueError("direction must be send or receive")
        spandsp()  # fail now, naming libspandsp2, if it is missing
        run = _FaxRun(self, direction, document, identity, header, on_page, on_done, workdir)
        self.fax = run
        self._wake()
        self._stop_playing()
        self._spawn(run.start())
        return run

    def bridge_to(self, other: Any) -> bool:
        """Connect: each hears the other through a mixer. False when OTHER carries no real audio."""
        if not isinstance(other, CallMedia) or other is self:
            return False
        self.unbridge()
        other.unbridge()
        mixer = Mixer()
        for party in (self, other):
            mixer.join(party)
            party._mix(mixer)
        self.peer, other.peer = other, self
        return True

    def join(self, mixer: Mixer | None = None, *, muted: bool = False, heard_by: list[Any] | None = None) -> Mixer:
        """Join an N-party mix (a conference; None: start one); MUTED: the others do not hear us; HEARD_BY: only
        these legs hear us (a coach: the leg it coaches). Returns the mix, for the next party."""
        self.unbridge()
        mixer = mixer if mixer is not None else Mixer()
        mixer.join(self, heard_by=heard_by)
        if muted:
            mixer.gains[self] = 0.0
        self.holding = None
        self._mix(mixer)
        return mixer

    def record_mix(self, path: Path, trim: bool) -> MixRecording:
        """Record the whole mix this leg is in (a conference), from now on, into the WAV PATH; TRIM: without the
        leading and trailing silence. The recording stays with the mix when this leg leaves it; its `finish`
        stops it."""
        if self.mixer is None:
            raise ValueError("the call is not mixed")
        path.parent.mkdir(parents=True, exist_ok=True)
        return MixRecording(self.mixer, path, trim)

    def _mix(self, mixer: Mixer) -> None:
        """What the others say is relayed live: prepare fewer frames ahead (40 ms more delay at most, not 80)."""
        self.mixer = mixer
        self.endpoint.lookahead = MIX_LOOKAHEAD
        self._wake()

    def unbridge(self) -> None:
        mixer, peer = self.mixer, self.peer
        self.mixer = self.peer = None
        self.endpoint.lookahead = LOOKAHEAD
        if mixer is not None:
            mixer.leave(self)
        if peer is not None and peer.peer is self:
            peer.unbridge()
