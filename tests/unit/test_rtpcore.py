"""The C core of the RTP pacer (`_rtpcore.Core`): a slot's jitter buffer fed directly, then `tick` (what the
clock's thread does every 20 ms: decode, energy, in-band DTMF, the records Python hears, one packet out, the
frames recorded), `push`/`push_event` (the frames Python prepares), `collect`, `capture`/`drain`, and the
clock's thread itself."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest

from relaybox.media import _rtpcore, g711, rtcp
from relaybox.media.endpoint import RECORD, SlotState
from relaybox.media.jitter import JitterBuffer
from relaybox.media.rtp import parse
from relaybox.media.tones import DTMF_KEYS, dtmf_tone, key_name, tone


def core() -> _rtpcore.Core:
    return _rtpcore.Core(g711.ULAW_DECODE.tobytes(), g711.ALAW_DECODE.tobytes(), g711.ULAW_BY_BITS.tobytes(),
                         g711.ALAW_BY_BITS.tobytes())


def slot(c: _rtpcore.Core, *, busy: bool = False, fd: int = -1, remote: tuple[str, int] = ("127.0.0.1", 4000),
         ) -> tuple[int, JitterBuffer]:
    jb = JitterBuffer(delay_frames=0)
    s = c.add(fd, -1, jb, rtcp.ReceptionStats(), 1234, 100, 8000)
    c.configure(s, True, False, True, 0, 0, remote[0], remote[1], 77)
    c.flags(s, busy, True, False)
    return s, jb


def records(c: _rtpcore.Core) -> np.ndarray:
    others, raw = c.collect()
    assert others == []
    return np.frombuffer(raw, dtype=RECORD)


@pytest.fixture
def far() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A slot's socket and the far end's, on loopback."""
    ours, theirs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for sock in (ours, theirs):
        sock.bind(("127.0.0.1", 0))
    theirs.settimeout(1.0)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_the_record_layout_is_the_cores() -> None:
    c = core()
    slot(c, busy=True)
    c.tick(0.0)
    assert len(c.collect()[1]) == RECORD.itemsize  # one busy slot, one record of numpy's size


def test_a_tick_decodes_the_due_frame_and_hears_an_in_band_key() -> None:
    c = core()
    s, jb = slot(c)
    audio = dtmf_tone("5", 0.06, 8000.0)
    for k in range(3):
        jb.push(77, 160 * k, g711.encode(audio[160 * k:160 * (k + 1)], "PCMU"))
    c.tick(0.0)
    assert len(records(c)) == 0  # a quiet slot, and one frame of the key is not yet a 40 ms window of it
    c.tick(0.02)
    (heard,) = records(c)
    assert key_name(int(heard["key"])) == "5" and heard["slot"] == s
    assert heard["busy"] == 0 and heard["audio"] == 1 and heard["energy"] > 0  # a key: Python hears it all the same
    assert np.abs(heard["frame"] - audio[160:320]).max() < 600  # G.711 round trip
    c.flags(s, True, True, False)
    c.tick(0.04)
    c.tick(0.06)  # the jitter buffer's third frame, then nothing playing
    third, nothing = records(c)
    assert third["audio"] == 1 and nothing["audio"] == 0 and not nothing["frame"].any()


@pytest.mark.parametrize("key", [k for row in DTMF_KEYS for k in row])
def test_the_core_and_the_single_stream_test_agree_on_every_key(key: str) -> None:
    window = dtmf_tone(key, 0.04, 8000.0)
    assert key_name(_rtpcore.dtmf_key(window)) == key
    assert _rtpcore.dtmf_key(tone((440.0,), 0.04, 8000.0)) == -1  # one tone is no key
    assert _rtpcore.dtmf_key(np.zeros(320, np.int16)) == -1  # silence


def test_ticks_record_both_directions_and_move_the_rtp_clock() -> None:
    c = core()
    a, jb = slot(c)
    b, _ = slot(c, busy=True)
    idle = c.add(-1, -1, JitterBuffer(), rtcp.ReceptionStats(), 1, 1, 500)  # not started: not ticked
    c.capture(a, True)
    heard = tone((300.0,), 0.02, 4000.0)
    jb.push(77, 0, g711.encode(heard, "PCMU"))
    c.tick(0.0)
    c.tick(0.02)  # nothing arrived this tick
    assert [SlotState(*c.state(x)).ts for x in (a, b, idle)] == [8320, 8320, 500]
    both = np.frombuffer(c.drain(a), np.int16)  # interleaved: (speak, listen) per instant
    speak, listen = both[0::2], both[1::2]
    assert len(speak) == len(listen) == 320
    assert np.abs(speak[:160] - heard).max() < 300 and not speak[160:].any() and not listen.any()
    assert c.drain(a) == b""  # drained
    c.capture(a, False)
    c.tick(0.04)
    assert c.drain(a) == b""  # not capturing: nothing kept


def test_prepared_frames_go_out_in_order_on_the_clock(far: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = far
    c = core()
    s, _ = slot(c, busy=True, fd=ours.fileno(), remote=theirs.getsockname())
    c.capture(s, True)
    sent = tone((1000.0,), 0.02, 6000.0)
    other = tone((500.0,), 0.02, 6000.0)
    assert c.push(s, sent, True) == 1
    assert c.push(s, None, True) == 2
    assert c.push(s, other, False) == 3  # on hold, or keys replaced the audio: recorded, not sent
    assert c.queued(s) == 3
    for k in range(5):
        c.tick(0.02 * k)
    packets = [parse(theirs.recv(2048)) for _ in range(4)]
    assert [p.seq for p in packets] == [100, 101, 102, 103]
    assert [p.timestamp for p in packets] == [8000, 8160, 8480, 8640]  # the untransmitted frame kept its time
    assert [p.marker for p in packets] == [True, False, False, False]
    assert np.abs(g711.decode(packets[0].payload, "PCMU") - sent).max() < 300
    assert packets[1].payload == packets[2].payload == b"\xff" * 160  # silence prepared, then nothing prepared
    listen = np.frombuffer(c.drain(s), np.int16)[1::2]
    assert np.array_equal(listen[:160], sent) and np.array_equal(listen[320:480], other) and not listen[480:].any()
    stats = c.stats()
    assert stats["underruns"] == 2 and stats["ticks"] == 5 and stats["frames"] == 5  # audio going, then nothing
    c.push(s, None, True)
    c.tick(0.1)
    c.tick(0.12)
    assert c.stats()["underruns"] == 2  # Python had only silence to send: nothing was late
    c.push(s, sent, True)
    assert c.clear(s) == 1 and c.queued(s) == 0  # barge-in: what was prepared is dropped


def test_rfc4733_packets_keep_their_events_timestamp_and_mark_the_next_talkspurt(
        far: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = far
    c = core()
    s, _ = slot(c, busy=True, fd=ours.fileno(), remote=theirs.getsockname())
    c.push(s, None, True)
    c.push_event(s, 101, True, True, False, bytes([5, 10, 0, 160]))
    c.push_event(s, 101, False, False, False, bytes([5, 10, 1, 64]))
    c.push_event(s, 101, False, False, True, bytes([5, 0x8A, 1, 224]))
    c.push(s, tone((700.0,), 0.02, 6000.0), True)
    for k in range(5):
        c.tick(0.02 * k)
    packets = [parse(theirs.recv(2048)) for _ in range(5)]
    assert [p.payload_type for p in packets] == [0, 101, 101, 101, 0]
    assert [p.timestamp for p in packets[1:4]] == [8160] * 3  # the event's start, for all its packets
    assert [p.marker for p in packets] == [True, True, False, False, True]  # talkspurts: the first, after the key
    assert [p.seq for p in packets] == list(range(100, 105)) and packets[4].timestamp == 8000 + 4 * 160


def test_the_clock_thread_sends_while_the_interpreter_is_busy(far: tuple[socket.socket, socket.socket]) -> None:
    """The point of the thread: a Python stall (a garbage collection, a slow callback) holds the GIL, and the
    packets go out all the same."""
    ours, theirs = far
    c = core()
    slot(c, fd=ours.fileno(), remote=theirs.getsockname())
    theirs.setblocking(False)
    c.start()
    try:
        end = time.monotonic() + 0.3
        spins = 0
        while time.monotonic() < end:  # pure Python: the GIL is never released on purpose
            spins += 1
        got = 0
        while True:
            try:
                theirs.recv(2048)
                got += 1
            except BlockingIOError:
                break
        assert got >= 5  # 15 ticks in 0.3 s; a loaded machine may delay some, not stop them
    finally:
        c.stop()
    ticks = c.stats()["ticks"]
    time.sleep(0.05)
    assert c.stats()["ticks"] == ticks  # stopped
    c.start()
    c.stop()  # restartable, and stopping is prompt (the thread is woken)


def test_a_python_call_waiting_for_the_lock_gets_it_between_two_groups_of_a_tick() -> None:
    """The clock holds the core's lock for a whole tick; a Python call that has to wait is let in between two
    groups of slots (a handover) instead of waiting for the rest of the tick, and the tick goes on."""
    c = core()
    slots = [slot(c)[0] for _ in range(20_000)]  # quiet slots without sockets: a long tick all the same
    c.start()
    try:
        deadline = time.monotonic() + 5.0
        calls = 0
        while c.stats()["handovers"] == 0 and time.monotonic() < deadline:
            assert c.queued(slots[calls % len(slots)]) == 0
            calls += 1
            time.sleep(0.0007)  # out of step with the 20 ms ticks
        stats = c.stats()
    finally:
        c.stop()
    assert stats["handovers"] > 0 and stats["frames"] >= stats["ticks"] * len(slots) - len(slots)


def test_collect_hands_over_what_the_ticks_left_and_the_fd_says_when(far: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = far
    c = core()
    s, _ = slot(c, busy=True, fd=ours.fileno(), remote=theirs.getsockname())
    theirs.sendto(b"not rtp", ours.getsockname())
    time.sleep(0.05)
    c.tick(0.0)
    c.tick(0.02)
    import select

    assert select.select([c.fd], [], [], 0)[0] == [c.fd]
    others, raw = c.collect()
    assert [(slot_, data, addr, rtcp_) for slot_, data, addr, rtcp_ in others] == \
        [(s, b"not rtp", theirs.getsockname(), False)]
    assert list(np.frombuffer(raw, RECORD)["slot"]) == [s, s]
    assert select.select([c.fd], [], [], 0)[0] == []  # collected
    assert c.collect() == ([], b"")
    theirs.sendto(b"stale", ours.getsockname())
    time.sleep(0.05)
    c.tick(0.04)
    c.remove(s)  # an endpoint closed before the loop collected its last tick
    assert c.collect() == ([], b"")  # nothing of it reaches the endpoint that gets its slot next


def test_bad_arguments_are_errors_not_crashes() -> None:
    c = core()
    s, jb = slot(c)
    with pytest.raises(ValueError):
        c.push(s, np.zeros(10, np.int16), True)
    with pytest.raises(ValueError):
        c.push_event(s, 101, True, True, True, bytes(17))
    for _ in range(16):
        c.push(s, None, True)
    with pytest.raises(OverflowError):
        c.push(s, None, True)
    with pytest.raises(ValueError):
        c.configure(s, True, False, True, 0, 0, "not an address", 4000, -1)
    with pytest.raises(ValueError):
        _rtpcore.dtmf_key(np.zeros(100, np.int16))
    with pytest.raises(ValueError):
        c.add(-1, -1, jb, rtcp.ReceptionStats(), 1, 1, 1)  # another slot's jitter buffer
    with pytest.raises(RuntimeError):
        jb.__init__()  # type: ignore[misc]  # the clock's thread uses it
    c.remove(s)
    jb.__init__()  # type: ignore[misc]  # free again
    with pytest.raises(KeyError):
        c.state(s)
    with pytest.raises(KeyError):
        c.push(s, None, True)
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
            c.tick(float(round_))
            handed += sum(1 for item in c.collect()[0] if item[0] == s)
        assert 0 < handed < sent  # some were the usual packet, kept in C
        assert SlotState(*c.state(s)).packets_received + handed <= sent  # each datagram counted once: kept or handed
    finally:
        for sock in (rtp, rtcp_sock, far):
            sock.close()
