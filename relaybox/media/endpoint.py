"""`RtpEndpoint`: one RTP session (G.711 at 20 ms, RFC 4733, RTCP on port+1) on a UDP port pair.

Agreed interface with the SIP stack (which negotiates SDP and then drives the endpoint):

    ep = await RtpEndpoint.open("0.0.0.0")        # binds an even RTP port (`ep.port`) and port+1 for RTCP
    ep.start(remote_host, remote_port, "PCMU", 0, 101)   # after the SDP answer
    ep.update(remote_host, remote_port, "PCMA", 8, None)  # re-INVITE
    ep.hold(True) / ep.hold(False)
    ep.close()

Media goes through callbacks and a queue, so `CallMedia`, a recorder or a bridge can sit on top:
`on_audio(frame)` every 20 ms with the received audio after the jitter buffer (silence when nothing
arrives), `on_sent(frame)` with each frame prepared for sending, `on_dtmf(key)` once per RFC 4733 event,
`send(samples)` to queue audio (silence when idle), `source` to pull frames instead (a mixer), and
`send_digits("123#")` for RFC 4733 keys. `on_audio` and `on_sent` run only while `busy`: an owner that
clears it has nothing to do until it sets it again, and the pacer's core ticks the endpoint alone
meanwhile (silence out, `capture` for recordings).

All endpoints of an event loop share one 20 ms clock (`Pacer`), a thread of the C core
(`_rtpcore.Core`) that never takes the GIL: it reads every socket with one epoll, keeps the usual
packet (the negotiated codec from the latched source) in the jitter buffer, decodes and analyses each
due frame (energy, in-band DTMF), sends each endpoint's packet for the tick and records both directions.
Python is told after a tick (an eventfd in the event loop) what is its own: the datagrams that are not
the usual packet (RFC 4733, RTCP, another source or SSRC, the other G.711 law) and the frames of the
busy endpoints, which hear them and prepare their next frames `LOOKAHEAD` ticks ahead. So a garbage
collection, a slow callback or a burst of call set-ups delays what Python does, never a packet: the
prepared frames cover up to 60 ms of delay, after which a busy endpoint's tick sends silence (counted
as an underrun) rather than late audio.

Symmetric RTP: the remote address follows the source of received packets (latched on the first one
after `start`/`update`, again on an SSRC change), so a far end behind NAT is reached where it is.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from relaybox.media import FRAME, RATE, _rtpcore, g711, rtcp, tones
from relaybox.media.jitter import JitterBuffer, Samples
from relaybox.media.rtp import RtpError, is_rtcp, parse
from relaybox.media.telephone_event import EventPacket, EventReceiver, event_packets

log = logging.getLogger("relaybox.media")

PORT_RANGE = (16384, 32766)
RTCP_INTERVAL = 5.0
SOURCE_IDLE = 0.5  # seconds without packets from the latched source before another address may take over
SILENCE = np.zeros(FRAME, dtype=np.int16)
SILENCE.setflags(write=False)  # shared: `frame is SILENCE` is the cheap test for digital silence
_SILENCE_PAYLOAD = {codec: g711.silence(codec, FRAME) for codec in g711.CODECS}
_LAW = {"PCMU": 0, "PCMA": 1}
DIGIT_GAP_TICKS = 3  # silence between two RFC 4733 keys (60 ms)
PAUSES = {"w": 0.5, "W": 1.0}
MAX_QUEUE_SECONDS = 600.0
LOOKAHEAD = 4  # frames a busy endpoint keeps prepared ahead of the core's clock: Python may be 60 ms late
# what the core's clock leaves Python of a slot's tick (`_rtpcore.c`'s Record)
RECORD = np.dtype([("slot", "<i4"), ("key", "i1"), ("audio", "u1"), ("busy", "u1"), ("tones", "u1"),
                   ("energy", "<f8"), ("frame", "<i2", FRAME), ("prev", "<i2", FRAME)])


class Pacer:
    """The RTP endpoints of an event loop and their 20 ms clock, which is the core's own thread (`_rtpcore.Core`):
    it reads the sockets, decodes, analyses and records, and sends one packet per endpoint per tick on absolute
    deadlines, without the interpreter, so a garbage collection or a busy event loop does not make RTP late.

    After each tick the loop `collect`s what is Python's: the datagrams that are not the usual packet, and
    the frames of the endpoints whose owner is `busy` (or where a key or tone was heard). A busy endpoint
    hears them (`RtpEndpoint.hear`) and keeps its `lookahead` of frames prepared in the core (`RtpEndpoint.fill`);
    one that is not costs no Python: the core sends its silence and records it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.now = loop.time()  # when the last collect ran: the arrival time of the packets it hands over
        self.core = _rtpcore.Core(g711.ULAW_DECODE.tobytes(), g711.ALAW_DECODE.tobytes(),
                                  g711.ULAW_BY_BITS.tobytes(), g711.ALAW_BY_BITS.tobytes())
        self.slots: dict[int, RtpEndpoint] = {}  # the core's slot -> its endpoint
        self.members: dict[int, RtpEndpoint] = {}  # the started ones, which the clock ticks
        self.speaking: dict[int, RtpEndpoint] = {}  # the busy members, which prepare their frames
        self.running = False
        self.cpu = [0.0, 0.0]  # CPU seconds of the collects: hearing the records, preparing frames

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> Pacer:
        """The loop's pacer, kept on the loop: a loop dropped with calls still up is collected with its
        pacer, whose core stops its clock."""
        pacer: Pacer | None = getattr(loop, "_relaybox_pacer", None)
        if pacer is None:
            pacer = cls(loop)
            loop._relaybox_pacer = pacer  # type: ignore[attr-defined]
        return pacer

    def watch(self, ep: RtpEndpoint, rtp_sock: socket.socket, rtcp_sock: socket.socket) -> int:
        """Read EP's sockets at each tick; returns its slot in the core."""
        slot = self.core.add(rtp_sock.fileno(), rtcp_sock.fileno(), ep.jitter, ep.reception, ep.ssrc,
                             random.randrange(1 << 16), random.randrange(1 << 32))
        self.slots[slot] = ep
        return slot

    def unwatch(self, ep: RtpEndpoint) -> None:
        if self.slots.pop(ep.slot, None) is not None:
            self.core.remove(ep.slot)

    def add(self, ep: RtpEndpoint) -> None:
        """EP is started: the clock ticks it (the core learns it from `configure`)."""
        self.members[ep.slot] = ep
        self.busy(ep)
        if not self.running:
            self.running = True
            self.loop.add_reader(self.core.fd, self.collect)
            self.core.start()

    def remove(self, ep: RtpEndpoint) -> None:
        self.members.pop(ep.slot, None)
        self.speaking.pop(ep.slot, None)
        if not self.members and self.running:
            self.running = False
            self.core.stop()
            self.loop.remove_reader(self.core.fd)

    def busy(self, ep: RtpEndpoint) -> None:
        """EP's `busy` changed."""
        if ep._busy and ep.slot in self.members:
            self.speaking[ep.slot] = ep
        else:
            self.speaking.pop(ep.slot, None)

    @property
    def stats(self) -> dict[str, Any]:
        """The clock's counters (`_rtpcore.Core.stats`) and the CPU of Python's part."""
        return {**self.core.stats(), "cpu_hear": self.cpu[0], "cpu_prepare": self.cpu[1]}

    def collect(self) -> None:
        """What the ticks since the last collect left for Python (the eventfd is readable)."""
        t0 = time.thread_time()
        self.now = self.loop.time()
        others, raw = self.core.collect()
        slots = self.slots
        for slot, data, addr, rtcp_port in others:
            ep = slots.get(slot)
            if ep is None:
                continue
            try:
                if rtcp_port:
                    ep._on_rtcp(data, addr)
                else:
                    ep._on_rtp(data, addr)
            except Exception:
                log.exception("rtp endpoint %s: a packet from %s failed", ep.port, addr)
        if raw:
            self._hear(np.frombuffer(raw, dtype=RECORD))
        t1 = time.thread_time()
        for ep in list(self.speaking.values()):
            try:
                ep.fill()
            except Exception:
                log.exception("rtp endpoint %s: preparing frames failed", ep.port)
        self.cpu[0] += t1 - t0
        self.cpu[1] += time.thread_time() - t1

    def _hear(self, records: np.ndarray) -> None:
        """The records' frames to their endpoints, in tick order: those whose owner is busy, and those where
        the core heard a key or a single tone shows (an FFT of the last 40 ms, for endpoints that want them)."""
        peaks: dict[int, float] = {}
        tonal = np.flatnonzero(records["tones"])
        if len(tonal):
            windows = np.concatenate((records["prev"][tonal], records["frame"][tonal]), axis=1).astype(np.float64)
            found = tones.peaks(tones.spectrum(windows))
            found[np.einsum("ij,ij->i", windows, windows) < tones.MIN_ENERGY] = np.nan
            peaks = {int(tonal[k]): float(found[k]) for k in np.flatnonzero(~np.isnan(found))}
        wanted = records["busy"].astype(bool) | (records["key"] >= 0)
        if peaks:
            wanted[list(peaks)] = True
        members = self.members
        slots, audio, energy, keys = (records[name].tolist() for name in ("slot", "audio", "energy", "key"))
        frames = records["frame"]
        for i in np.flatnonzero(wanted).tolist():
            ep = members.get(slots[i])
            if ep is None:
                continue
            ep.received = frames[i].copy() if audio[i] else SILENCE
            ep.energy = energy[i]
            ep.dtmf_key = tones.key_name(keys[i])
            ep.tone_peak = peaks.get(i)
            try:
                ep.hear()
            except Exception:
                log.exception("rtp endpoint %s: hearing a frame failed", ep.port)


class SlotState(NamedTuple):
    """What the pacer's core keeps of an endpoint's stream (`_rtpcore.Core.state`)."""

    ssrc: int
    seq: int
    ts: int  # the RTP timestamp of the next frame sent
    packets_sent: int
    octets_sent: int  # payload octets, as RTCP counts them
    source_at: float  # when the latched source last sent
    packets_received: int
    bytes_received: int


@dataclass(slots=True)
class EndpointStats:
    """The packet and byte counts are the core's, copied in when `RtpEndpoint.stats` is read."""

    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    dtmf_received: int = 0
    dtmf_sent: int = 0
    rtcp_sent: int = 0
    rtcp_received: int = 0
    rejected: int = 0  # datagrams that were not RTP for us
    ssrc_changes: int = 0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class RtpEndpoint:
    """One RTP session; see the module docstring for the interface."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str) -> None:
        self.loop = loop
        self.host = host
        self.port = 0
        self.rtp: socket.socket | None = None
        self.rtcp_sock: socket.socket | None = None
        # negotiated
        self.remote: tuple[str, int] | None = None
        self.remote_rtcp: tuple[str, int] | None = None
        self.codec = "PCMU"
        self.payload_type = 0
        self.dtmf_payload_type: int | None = None
        self.started = False
        self.on_hold = False
        self.closed = False
        self._latched = False
        self.slot = -1  # in the pacer's core, from `open`
        # callbacks
        self.on_audio: Callable[[Samples], None] | None = None
        self.on_sent: Callable[[Samples], None] | None = None
        self.on_dtmf: Callable[[str], None] | None = None
        self.source: Callable[[], Samples | None] | None = None
        # this tick's received frame and, when `analyse` is set (CallMedia's detectors), the pacer's batched
        # analysis of it: its energy, the in-band DTMF key of the last 40 ms, and (`want_tones`) the
        # frequency of a single tone
        self.pacer = Pacer.for_loop(loop)
        self.received: Samples = SILENCE
        self._analyse = False
        self._want_tones = False
        self.energy = 0.0
        self.dtmf_key: str | None = None
        self.tone_peak: float | None = None
        self._busy = True
        self.lookahead = LOOKAHEAD  # fewer while live audio is relayed (a bridge): less delay, less slack
        # sending (the sequence number and timestamp are the core's)
        self.ssrc = random.randrange(1, 1 << 32)
        self._queue: deque[Samples] = deque()
        self._queued = 0
        self._partial: Samples | None = None
        self._digits: deque[tuple[str, int]] = deque()  # (key or pause char, duration ms)
        self._event: list[EventPacket] = []
        self._gap = 0
        # receiving
        self.jitter = JitterBuffer(FRAME)
        self.events = EventReceiver()
        self.reception = rtcp.ReceptionStats(RATE)
        self.remote_ssrc: int | None = None
        self._stats = EndpointStats()
        self.remote_reports: list[rtcp.Report] = []
        self._rtcp_handle: asyncio.TimerHandle | None = None
        self.cname = f"relaybox-{self.ssrc:08x}@{host}"

    @property
    def busy(self) -> bool:
        """While busy we hear every frame (`hear`) and prepare ours (`fill`); else the pacer's core sends silence
        and records alone. An owner that knows when it has nothing to do (CallMedia) clears it; anything queued
        here sets it."""
        return self._busy

    @busy.setter
    def busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self._flags()
            self.pacer.busy(self)

    @property
    def analyse(self) -> bool:
        """The pacer's core works out the energy and in-band DTMF key of our received frames."""
        return self._analyse

    @analyse.setter
    def analyse(self, on: bool) -> None:
        self._analyse = on
        self._flags()

    @property
    def want_tones(self) -> bool:
        """The pacer also looks for single tones (fax CNG/CED, beeps): an FFT, so only when asked."""
        return self._want_tones

    @want_tones.setter
    def want_tones(self, on: bool) -> None:
        if on != self._want_tones:
            self._want_tones = on
            self._flags()

    def _flags(self) -> None:
        if self.slot >= 0 and not self.closed:
            self.pacer.core.flags(self.slot, self._busy, self._analyse, self._want_tones)

    # -- lifecycle --------------------------------------------------------------------------------

    @classmethod
    async def open(cls, host: str, port_range: tuple[int, int] = PORT_RANGE) -> RtpEndpoint:
        """Bind an even RTP port and the RTCP port above it on HOST ("0.0.0.0" for all addresses)."""
        loop = asyncio.get_running_loop()
        ep = cls(loop, host)
        low, high = port_range
        for _ in range(100):
            port = random.randrange(low // 2, high // 2) * 2
            try:
                rtp_sock = _bind(host, port)
            except OSError:
                continue
            try:
                rtcp_sock = _bind(host, port + 1)
            except OSError:
                rtp_sock.close()
                continue
            ep.rtp, ep.rtcp_sock, ep.port = rtp_sock, rtcp_sock, port
            ep.slot = ep.pacer.watch(ep, rtp_sock, rtcp_sock)
            ep._flags()
            return ep
        raise OSError(f"no free RTP port pair in {low}-{high} on {host}")

    def start(self, remote_host: str, remote_port: int, codec: str, payload_type: int,
              dtmf_payload_type: int | None = None) -> None:
        """Send to REMOTE_HOST:REMOTE_PORT in CODEC (PCMU/PCMA) with PAYLOAD_TYPE; RFC 4733 keys on
        DTMF_PAYLOAD_TYPE (None: the far end did not offer telephone-event)."""
        self._configure(remote_host, remote_port, codec, payload_type, dtmf_payload_type)
        if self.closed:
            raise RuntimeError("the RTP endpoint is closed")
        if not self.started:
            self.started = True
            self._drain()  # what arrived before the SDP answer is not the call's audio
            self._sync()
            self.pacer.add(self)
            self._rtcp_handle = self.loop.call_later(RTCP_INTERVAL * random.uniform(0.5, 1.5), self._send_rtcp)

    def update(self, remote_host: str, remote_port: int, codec: str, payload_type: int,
               dtmf_payload_type: int | None = None) -> None:
        """A re-INVITE changed the far end's address or codec."""
        self._configure(remote_host, remote_port, codec, payload_type, dtmf_payload_type)

    def _configure(self, remote_host: str, remote_port: int, codec: str, payload_type: int,
                   dtmf_payload_type: int | None) -> None:
        if not 0 < remote_port < 65536:
            raise ValueError(f"bad remote RTP port {remote_port}")
        if not 0 <= payload_type <= 127 or (dtmf_payload_type is not None and not 0 <= dtmf_payload_type <= 127):
            raise ValueError("payload types are 0..127")
        self.codec = g711.normalize_codec(codec)
        self.jitter.fill = _SILENCE_PAYLOAD[self.codec][:1]
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        if remote_host in ("0.0.0.0", ""):  # RFC 2543 hold: keep the address, stop sending
            self.on_hold = True
        else:
            self.remote = (remote_host, remote_port)
            self.remote_rtcp = (remote_host, remote_port + 1)
            self._latched = False
        self._sync()

    def _sync(self) -> None:
        """Tell the core what the usual packet is now (codec, source, SSRC) and where to send."""
        if self.slot < 0 or self.closed:
            return
        host, port = self.remote if self.remote is not None else (None, 0)
        self.pacer.core.configure(self.slot, self.started, self.on_hold, self._latched, self.payload_type,
                                  _LAW[self.codec], host, port, -1 if self.remote_ssrc is None else self.remote_ssrc)

    def hold(self, on: bool) -> None:
        """On hold nothing is sent and what arrives is not played (RTCP goes on)."""
        self.on_hold = on
        if on:
            self.jitter.reset()
        self._sync()

    def close(self) -> None:
        if self.closed:
            return
        self.pacer.remove(self)
        self._stats = self.stats  # the core's counts, kept after its slot is gone
        self.pacer.unwatch(self)
        self.closed = True
        if self._rtcp_handle is not None:
            self._rtcp_handle.cancel()
        if self.rtcp_sock is not None and self.remote_rtcp is not None and self.started:
            bye = rtcp.build_rr(self.ssrc) + rtcp.build_sdes(self.ssrc, self.cname)
            bye += bytes([0x81, rtcp.BYE, 0, 1]) + self.ssrc.to_bytes(4, "big")
            self._sendto(self.rtcp_sock, bye, self.remote_rtcp)
        for sock in (self.rtp, self.rtcp_sock):
            if sock is not None:
                sock.close()

    def _drain(self) -> None:
        for sock in (self.rtp, self.rtcp_sock):
            for _ in range(1000):
                try:
                    if sock is None or not sock.recv(2048):
                        break
                except OSError:
                    break

    # -- what to send -----------------------------------------------------------------------------

    def send(self, samples: Samples) -> None:
        """Queue 8 kHz int16 audio; it goes out 20 ms at a time after what is already queued."""
        if len(samples) == 0:
            return
        if self._queued + len(samples) > MAX_QUEUE_SECONDS * RATE:
            raise OverflowError("more than 10 minutes of audio queued")
        self._queue.append(np.asarray(samples, dtype=np.int16))
        self._queued += len(samples)
        self.busy = True

    def clear(self) -> None:
        """Drop the queued audio (barge-in, a play stopped), the frames prepared in the core included."""
        self._queue.clear()
        self._queued = 0
        self._partial = None
        if self.slot >= 0 and not self.closed:
            self.pacer.core.clear(self.slot)

    def capture(self, on: bool) -> None:
        """Keep both directions of every tick (for recordings: `drain`), or stop and forget them."""
        if self.slot >= 0 and not self.closed:
            self.pacer.core.capture(self.slot, on)

    def drain(self) -> Samples:
        """What was received and sent since the last drain (while `capture` is on): int16 samples interleaved,
        (speak, listen) per instant."""
        if self.slot < 0 or self.closed:
            return np.zeros(0, dtype=np.int16)
        return np.frombuffer(self.pacer.core.drain(self.slot), dtype=np.int16)

    @property
    def queued_seconds(self) -> float:
        return self._queued / RATE

    def send_digits(self, digits: str, duration_ms: int = 100) -> None:
        """RFC 4733 keys (w/W pause 0.5/1 s); ValueError if the far end did not negotiate them."""
        if self.dtmf_payload_type is None:
            raise ValueError("the far end did not negotiate telephone-event (RFC 4733)")
        for key in digits:
            if key in PAUSES:
                self._digits.append((key, int(PAUSES[key] * 1000)))
            elif key.upper() in "0123456789*#ABCD":
                self._digits.append((key.upper(), duration_ms))
            else:
                raise ValueError(f"not a DTMF key: {key!r}")
        self.busy = True

    @property
    def sending_digits(self) -> bool:
        return bool(self._digits or self._event or self._gap)

    def _next_frame(self) -> Samples:
        if self.source is not None:
            frame = self.source()
            if frame is not None:
                return frame
        if not self._queued:
            return SILENCE
        parts: list[Samples] = []
        need = FRAME
        while need and self._queue:
            head = self._queue[0]
            take = head[:need]
            parts.append(take)
            need -= len(take)
            if len(take) == len(head):
                self._queue.popleft()
            else:
                self._queue[0] = head[len(take):]
        self._queued -= FRAME - need
        if need:
            parts.append(np.zeros(need, dtype=np.int16))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- the 20 ms ticks -------------------------------------------------------------------------------

    def hear(self) -> None:
        """One tick's received frame (`received`, analysed: `energy`, `dtmf_key`, `tone_peak`), from the pacer."""
        if not self.closed and self.on_audio is not None:
            self.on_audio(self.received)

    def fill(self) -> None:
        """While busy, keep `lookahead` frames prepared in the core ahead of its clock."""
        if self.closed:  # closed by another endpoint's callback in the same collect: its slot is not ours now
            return
        queued = self.pacer.core.queued(self.slot)
        while queued < self.lookahead and self._busy and not self.closed:
            queued = self._prepare()

    def _prepare(self) -> int:
        """The next frame (or RFC 4733 packet, which replaces it) into the core's queue; returns the queue's length."""
        frame = self._next_frame()
        transmit = self.remote is not None and self.rtp is not None  # on hold, the core holds it back when due
        core = self.pacer.core
        keys = transmit and not self.on_hold and (self._event or self._gap or self._digits)
        queued = self._send_event() if keys else 0
        if queued:
            frame = SILENCE  # the keys replace the audio while they last
        else:
            queued = core.push(self.slot, None if frame is SILENCE else frame, transmit)
        if self.on_sent is not None:
            self.on_sent(frame)
        return queued

    def _send_event(self) -> int:
        """Queue the next RFC 4733 packet if a key is on: the core's queue length, or 0 when this frame is audio."""
        first = not self._event
        if first:
            if self._gap:
                self._gap -= 1
                return 0
            if not self._digits:
                return 0
            key, ms = self._digits.popleft()
            if key in PAUSES:
                self._gap = ms // 20
                return 0
            self._event = event_packets(key, ms)
            self._stats.dtmf_sent += 1
        pkt = self._event.pop(0)
        assert self.dtmf_payload_type is not None
        if not self._event:
            self._gap = DIGIT_GAP_TICKS
        return self.pacer.core.push_event(self.slot, self.dtmf_payload_type, pkt.marker, first, not self._event,
                                          pkt.payload)

    @staticmethod
    def _sendto(sock: socket.socket, data: bytes, addr: tuple[str, int]) -> None:
        try:
            sock.sendto(data, addr)
        except OSError as exc:
            log.debug("rtp: send to %s failed: %s", addr, exc)

    # -- receiving --------------------------------------------------------------------------------

    def _on_rtp(self, data: bytes, addr: tuple[str, int]) -> None:
        """A datagram on the RTP port that is not the usual packet (the core keeps those): RFC 4733, RTCP,
        another source or SSRC, the other G.711 law, the first packet after `start`."""
        if self.closed or not self.started:
            return
        if is_rtcp(data):  # RTCP multiplexed on the RTP port
            self._on_rtcp(data, addr)
            return
        try:
            packet = parse(data)
        except RtpError:
            self._stats.rejected += 1
            return
        pt = packet.payload_type
        if pt == self.dtmf_payload_type:
            codec = None
        elif pt == self.payload_type:
            codec = self.codec
        elif pt in (0, 8):
            codec = "PCMU" if pt == 0 else "PCMA"
        else:
            self._stats.rejected += 1  # comfort noise, other codecs
            return
        now = self.pacer.now
        if addr != self.remote and self._latched and now - self._state().source_at < SOURCE_IDLE:
            self._stats.rejected += 1  # another source while ours is live: a stray or injected stream
            return
        if packet.ssrc != self.remote_ssrc or not self._latched or addr != self.remote:
            if packet.ssrc != self.remote_ssrc:
                if self.remote_ssrc is not None:
                    self._stats.ssrc_changes += 1
                    self._latched = False
                self.remote_ssrc = packet.ssrc
            if not self._latched or addr != self.remote:  # the first packet, a new SSRC, or our source went quiet
                self._latched = True
                if addr != self.remote:
                    log.debug("rtp %s: latching to %s (was %s)", self.port, addr, self.remote)
                    self.remote = addr
                    self.remote_rtcp = (addr[0], addr[1] + 1)
            self._sync()
        self.pacer.core.count(self.slot, len(data), now)
        self.reception.update(packet.ssrc, packet.seq, packet.timestamp, now)
        if codec is None:
            digit = self.events.feed(packet.ssrc, packet.timestamp, packet.payload)
            if digit is not None:
                self._stats.dtmf_received += 1
                if self.on_dtmf is not None:
                    self.on_dtmf(digit)
            return
        if self.on_hold:
            return
        payload = packet.payload
        if codec != self.codec:  # the other G.711 law, not negotiated: into ours
            payload = g711.encode(g711.decode(payload, codec), self.codec)
        self.jitter.push(packet.ssrc, packet.timestamp, payload)

    def _on_rtcp(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.closed:
            return
        try:
            reports = rtcp.parse(data)
        except (ValueError, Exception):
            self._stats.rejected += 1
            return
        self._stats.rtcp_received += 1
        self.remote_rtcp = addr
        now = self.loop.time()
        for report in reports:
            if report.kind == rtcp.SR:
                self.reception.sender_report(report, now)
            self.remote_reports.append(report)
        del self.remote_reports[:-8]

    def _send_rtcp(self) -> None:
        if self.closed:
            return
        self._rtcp_handle = self.loop.call_later(RTCP_INTERVAL * random.uniform(0.5, 1.5), self._send_rtcp)
        if self.remote_rtcp is None or self.rtcp_sock is None:
            return
        block = self.reception.block(self.loop.time())
        blocks = [block] if block is not None else []
        state = self._state()
        if state.packets_sent:
            packet = rtcp.build_sr(self.ssrc, rtcp.ntp_now(), state.ts, state.packets_sent, state.octets_sent, blocks)
        else:
            packet = rtcp.build_rr(self.ssrc, blocks)
        self._sendto(self.rtcp_sock, packet + rtcp.build_sdes(self.ssrc, self.cname), self.remote_rtcp)
        self._stats.rtcp_sent += 1

    def send_rtcp_now(self) -> None:
        """An RTCP report at once (tests, and before a re-INVITE)."""
        if self._rtcp_handle is not None:
            self._rtcp_handle.cancel()
        self._send_rtcp()

    @property
    def stats(self) -> EndpointStats:
        stats = self._stats
        if self.slot >= 0 and not self.closed:
            state = self._state()
            stats.packets_received, stats.bytes_received = state.packets_received, state.bytes_received
            stats.packets_sent, stats.bytes_sent = state.packets_sent, state.octets_sent + 12 * state.packets_sent
        return stats

    def _state(self) -> SlotState:
        return SlotState(*self.pacer.core.state(self.slot))

    def describe(self) -> dict[str, Any]:
        return {"port": self.port, "remote": self.remote, "codec": self.codec, "hold": self.on_hold,
                "stats": self.stats, "jitter": self.jitter.stats}
