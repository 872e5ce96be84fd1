"""The C core of the RTP pacer (`_rtpcore.Core`) without sockets: a slot's jitter buffer fed directly, then
`take` (decode, energy, in-band DTMF, who Python must tick), `quiet`/`send`/`advance` (the end of a tick)
and `capture`/`drain` (what recordings get)."""

from __future__ import annotations

import numpy as np
import pytest

from relaybox.media import _rtpcore, g711, rtcp
from relaybox.media.endpoint import SlotState
from relaybox.media.jitter import JitterBuffer
from relaybox.media.tones import DTMF_KEYS, dtmf_tone, key_name, tone


def core() -> _rtpcore.Core:
    return _rtpcore.Core(g711.ULAW_DECODE.tobytes(), g711.ALAW_DECODE.tobytes(), g711.ULAW_BY_BITS.tobytes(),
                         g711.ALAW_BY_BITS.tobytes())


def slot(c: _rtpcore.Core, *, busy: bool = False) -> tuple[int, JitterBuffer]:
    jb = JitterBuffer(delay_frames=0)
    s = c.add(-1, -1, jb, rtcp.ReceptionStats(), 1234, 100, 8000)
    c.configure(s, True, False, True, 0, 0, "127.0.0.1", 4000, 77)
    c.flags(s, busy, True, False)
    return s, jb


def take(c: _rtpcore.Core, slots: list[int]) -> dict[str, np.ndarray]:
    n = len(slots)
    out = {"frames": np.zeros((n, 160), np.int16), "audio": np.empty(n, np.uint8), "energy": np.empty(n),
           "keys": np.empty(n, np.int8), "busy": np.empty(n, np.uint8), "prev": np.empty((n, 160), np.int16)}
    c.take(np.array(slots, np.int32), out["frames"], out["audio"], out["energy"], out["keys"], out["busy"],
           out["prev"])
    return out


def test_take_decodes_the_due_frame_and_hears_an_in_band_key() -> None:
    c = core()
    s, jb = slot(c)
    audio = dtmf_tone("5", 0.06, 8000.0)
    for k in range(3):
        jb.push(77, 160 * k, g711.encode(audio[160 * k:160 * (k + 1)], "PCMU"))
    first, second = take(c, [s]), take(c, [s])
    assert first["audio"][0] == 1 and first["energy"][0] > 0
    assert np.abs(first["frames"][0] - audio[:160]).max() < 600  # G.711 round trip
    assert first["keys"][0] == -1  # one frame of the key is not yet a 40 ms window of it
    assert key_name(int(second["keys"][0])) == "5"
    assert second["busy"][0] == 1  # a key: Python looks, though the owner is not busy
    nothing = take(c, [s, 99])  # the jitter buffer's third frame, then an unknown slot
    assert nothing["audio"][1] == 0 and nothing["busy"][1] == 0


@pytest.mark.parametrize("key", [k for row in DTMF_KEYS for k in row])
def test_the_core_and_the_single_stream_test_agree_on_every_key(key: str) -> None:
    window = dtmf_tone(key, 0.04, 8000.0)
    assert key_name(_rtpcore.dtmf_key(window)) == key
    assert _rtpcore.dtmf_key(tone((440.0,), 0.04, 8000.0)) == -1  # one tone is no key
    assert _rtpcore.dtmf_key(np.zeros(320, np.int16)) == -1  # silence


def test_quiet_ticks_record_both_directions_and_move_the_rtp_clock() -> None:
    c = core()
    a, jb = slot(c)
    b, _ = slot(c, busy=True)
    c.capture(a, True)
    heard = tone((300.0,), 0.02, 4000.0)
    jb.push(77, 0, g711.encode(heard, "PCMU"))
    t = take(c, [a, b])
    assert list(t["busy"]) == [0, 1]
    ts = SlotState(*c.state(a)).ts
    c.quiet(np.array([a, b], np.int32), t["busy"])  # b is Python's: left alone
    assert SlotState(*c.state(a)).ts == ts + 160 and SlotState(*c.state(b)).ts == 8000
    take(c, [a])
    c.quiet(np.array([a], np.int32), np.zeros(1, np.uint8))  # nothing arrived this tick
    speak, listen = (np.frombuffer(x, np.int16) for x in c.drain(a))
    assert len(speak) == len(listen) == 320
    assert np.array_equal(speak[:160], t["frames"][0]) and not speak[160:].any() and not listen.any()
    assert c.drain(a) == (b"", b"")  # drained


def test_a_python_tick_records_what_was_sent_even_when_it_is_not_transmitted() -> None:
    c = core()
    s, _ = slot(c, busy=True)
    c.capture(s, True)
    sent = tone((1000.0,), 0.02, 6000.0)
    take(c, [s])
    c.send(s, sent, False)  # on hold, or keys replaced the audio: recorded all the same
    c.advance(s, False)
    speak, listen = (np.frombuffer(x, np.int16) for x in c.drain(s))
    assert not speak.any() and np.array_equal(listen, sent)
    assert SlotState(*c.state(s)).packets_sent == 0  # nothing went out
    c.capture(s, False)
    take(c, [s])
    c.advance(s, False)
    assert c.drain(s) == (b"", b"")  # not capturing: nothing kept


def test_bad_arguments_are_errors_not_crashes() -> None:
    c = core()
    s, _ = slot(c)
    with pytest.raises(ValueError):
        c.take(np.array([s], np.int32), np.zeros((1, 10), np.int16), np.empty(1, np.uint8), np.empty(1),
               np.empty(1, np.int8), np.empty(1, np.uint8), np.empty((1, 160), np.int16))
    with pytest.raises(ValueError):
        c.send(s, np.zeros(10, np.int16), True)
    with pytest.raises(ValueError):
        c.configure(s, True, False, True, 0, 0, "not an address", 4000, -1)
    with pytest.raises(ValueError):
        _rtpcore.dtmf_key(np.zeros(100, np.int16))
    c.remove(s)
    with pytest.raises(KeyError):
        c.state(s)
    with pytest.raises(ValueError):
        _rtpcore.Core(b"", b"", b"", b"")


def test_random_packets_never_break_the_jitter_buffer() -> None:
    """Network input reaches the C jitter buffer directly: any length, timestamp, SSRC or order is taken
    without a crash, and what comes out is always one frame or nothing."""
    rng = np.random.default_rng(7)
    jb = JitterBuffer(delay_frames=2)
    ts = 0
    for _ in range(20_000):
        kind = rng.integers(6)
        if kind == 0:
            ts = int(rng.integers(0, 1 << 32))  # a jump anywhere (wrap included)
        elif kind == 1:
            ts = (ts + int(rng.integers(-20_000, 20_000))) & 0xFFFFFFFF
        else:
            ts = (ts + 160) & 0xFFFFFFFF
        jb.push(int(rng.integers(1, 4)), ts, rng.bytes(int(rng.integers(0, 2000))))
        for _ in range(int(rng.integers(0, 3))):
            frame = jb.pop()
            assert frame is None or len(frame) == 160
    stats = jb.stats
    assert stats.received == 20_000 and stats.resets > 0 and stats.late > 0


def test_random_datagrams_never_break_the_core() -> None:
    """Datagrams of every shape on a slot's socket: the usual packet (any length) is kept in C, the rest is
    handed back to Python as it came."""
    import socket

    rng = np.random.default_rng(11)
    c = core()
    rtp, rtcp_sock, far = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3))
    try:
        for sock in (rtp, rtcp_sock, far):
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        jb = JitterBuffer()
        s = c.add(rtp.fileno(), rtcp_sock.fileno(), jb, rtcp.ReceptionStats(), 1, 1, 1)
        host, port = far.getsockname()
        c.configure(s, True, False, True, 0, 0, host, port, 0x1234)
        handed, sent = 0, 0
        for round_ in range(40):
            for _ in range(50):
                header = bytes([0x80, 0]) + int(rng.integers(1 << 16)).to_bytes(2, "big") + \
                    int(rng.integers(1 << 32)).to_bytes(4, "big") + (0x1234).to_bytes(4, "big")
                usual = rng.integers(2) == 0
                data = (header if usual else b"") + rng.bytes(int(rng.integers(0, 1400)))
                far.sendto(data, rtp.getsockname() if round_ % 4 else rtcp_sock.getsockname())
                sent += 1
            handed += sum(1 for item in c.receive(float(round_)) if item[0] == s)
            take(c, [s])
        assert 0 < handed < sent  # some were the usual packet, kept in C
        assert SlotState(*c.state(s)).packets_received + handed <= sent  # each datagram counted once: kept or handed
    finally:
        for sock in (rtp, rtcp_sock, far):
            sock.close()
