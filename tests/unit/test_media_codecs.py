"""Sans-I/O media codecs: G.711, RTP, RFC 4733 telephone-events, RTCP, the jitter buffer, the mixer."""

from __future__ import annotations

import numpy as np
import pytest

from relaybox.engines.rtp import ALAW, ULAW
from relaybox.media import g711, rtcp
from relaybox.media.jitter import JitterBuffer
from relaybox.media.mixer import Mixer
from relaybox.media.rtp import RtpError, RtpPacket, parse
from relaybox.media.telephone_event import EventReceiver, TelephoneEvent, event_packets, parse_event


def sine(freq: float, n: int, amp: float = 8000) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / 8000)).astype(np.int16)


# -- G.711 -------------------------------------------------------------------------------------------

def test_g711_tables_match_the_reference_encoder_bit_for_bit() -> None:
    assert bytes(g711.ULAW_ENCODE) == ULAW
    assert bytes(g711.ALAW_ENCODE) == ALAW


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_round_trip_keeps_the_waveform(codec: str) -> None:
    x = sine(440, 8000)
    y = g711.decode(g711.encode(x, codec), codec)
    assert y.dtype == np.int16 and len(y) == len(x)
    assert np.corrcoef(x, y)[0, 1] > 0.999
    codes = bytes(range(256))
    again = g711.encode(g711.decode(codes, codec), codec)
    # every code decodes to a value that encodes back to it (µ-law has two zeros: 0x7F and 0xFF)
    assert sum(a != b for a, b in zip(codes, again, strict=True)) <= (1 if codec == "PCMU" else 0)


def test_known_g711_values() -> None:
    assert g711.encode(np.array([0], np.int16), "PCMU") == b"\xff"
    assert g711.encode(np.array([0], np.int16), "PCMA") == b"\xd5"
    assert g711.decode(b"\x00", "PCMU")[0] == -32124
    assert g711.decode(b"\x80", "PCMU")[0] == 32124
    assert g711.normalize_codec("pcma/8000") == "PCMA"
    with pytest.raises(ValueError, match="unsupported codec"):
        g711.normalize_codec("opus")


# -- RTP ----------------------------------------------------------------------------------------------

def test_rtp_build_parse_round_trip() -> None:
    pkt = RtpPacket(8, 65535, 0xFFFFFFF0, 0xDEADBEEF, b"abc", marker=True, csrcs=(1, 2))
    back = parse(pkt.build())
    assert back == pkt


def test_rtp_parse_skips_extension_and_padding() -> None:
    head = bytes([0x80 | 0x10 | 0x20, 0, 0, 1]) + (160).to_bytes(4, "big") + (7).to_bytes(4, "big")
    ext = b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04"
    data = head + ext + b"PAYLOAD" + b"\x00\x00\x03"
    pkt = parse(data)
    assert pkt.payload == b"PAYLOAD" and pkt.ssrc == 7 and pkt.timestamp == 160


@pytest.mark.parametrize("data", [b"", b"\x80" * 11, b"\x40" + b"\x00" * 11, bytes([0x8F]) + b"\x00" * 11,
                                  bytes([0xA0]) + b"\x00" * 10 + b"\xff"])
def test_rtp_parse_rejects_garbage(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse(data)


# -- RFC 4733 -------------------------------------------------------------------------------------------

def test_event_packets_start_continue_end_three_times() -> None:
    pkts = event_packets("5", duration_ms=100)
    events = [parse_event(p.payload) for p in pkts]
    assert [p.marker for p in pkts] == [True, False, False, False, False, False, False]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert {e.event for e in events} == {5}
    assert events[0].volume == 10


def test_event_codes_and_bad_keys() -> None:
    assert parse_event(TelephoneEvent(11, True, 7, 400).build()) == TelephoneEvent(11, True, 7, 400)
    assert parse_event(TelephoneEvent(11, True, 7, 400).build()).digit == "#"
    with pytest.raises(ValueError):
        event_packets("x")
    with pytest.raises(ValueError):
        parse_event(b"\x01\x02")


def test_receiver_reports_each_event_once_even_with_retransmissions() -> None:
    rx = EventReceiver()
    got = []
    for ts, key in ((1000, "1"), (3000, "1"), (5000, "#")):  # the same key twice is two presses
        for p in event_packets(key):
            got.append(rx.feed(42, ts, p.payload))
    assert [g for g in got if g] == ["1", "1", "#"]
    # a lost start: the first packet seen (an end) still reports the key
    end_only = event_packets("7")[-1].payload
    assert rx.feed(42, 9000, end_only) == "7"
    assert rx.feed(42, 9000, end_only) is None


# -- jitter buffer --------------------------------------------------------------------------------------

def frames_of(jb: JitterBuffer, n: int) -> list[int | None]:
    """The first byte of each frame popped (None: nothing playing)."""
    out: list[int | None] = []
    for _ in range(n):
        f = jb.pop()
        out.append(None if f is None else f[0])
    return out


def payload(value: int) -> bytes:
    return bytes([value]) * 160


def silent(jb: JitterBuffer) -> JitterBuffer:
    jb.fill = b"\x00"  # missing frames play as zero bytes
    return jb


def test_jitter_buffer_reorders_and_conceals_a_loss() -> None:
    jb = silent(JitterBuffer(delay_frames=2))
    jb.push(1, 0, payload(1))
    jb.push(1, 320, payload(3))  # arrives before 160
    jb.push(1, 160, payload(2))
    jb.push(1, 640, payload(5))  # 480 lost
    assert frames_of(jb, 7) == [0, 0, 1, 2, 3, 0, 5]
    assert jb.stats.concealed == 3 and jb.stats.played == 4


def test_jitter_buffer_drops_late_and_duplicate_packets() -> None:
    jb = silent(JitterBuffer(delay_frames=1))
    jb.push(1, 1600, payload(1))
    assert frames_of(jb, 2) == [0, 1]
    jb.push(1, 1600, payload(9))  # already played: late
    jb.push(1, 1760, payload(2))
    jb.push(1, 1760, payload(8))  # duplicate
    assert frames_of(jb, 1) == [2]
    assert jb.stats.late == 1 and jb.stats.duplicates == 1


def test_jitter_buffer_resets_on_a_new_ssrc_and_after_a_pause() -> None:
    jb = silent(JitterBuffer(delay_frames=0, idle_ticks=3))
    jb.push(1, 0, payload(1))
    assert frames_of(jb, 1) == [1]
    jb.push(2, 999_999, payload(7))  # another source (rtpengine's play media, a transfer)
    assert frames_of(jb, 1) == [7] and jb.stats.resets == 1
    assert frames_of(jb, 3) == [0, 0, None]  # paused
    jb.push(2, 5_000_000, payload(4))  # the stream resumes elsewhere in time
    assert frames_of(jb, 1) == [4]


def test_jitter_buffer_splits_long_packets_and_caps_its_depth() -> None:
    jb = silent(JitterBuffer(delay_frames=0, max_frames=4))
    jb.push(1, 0, payload(1) + payload(2) + payload(3))  # 60 ms packet
    assert frames_of(jb, 3) == [1, 2, 3]
    for i in range(10):  # a burst: the sender ran ahead
        jb.push(1, 480 + 160 * i, payload(10 + i))
    assert jb.stats.overflows > 0
    assert frames_of(jb, 1)[0] >= 14  # type: ignore[operator]


def test_jitter_buffer_keeps_the_newest_audio_of_a_packet_longer_than_its_depth() -> None:
    jb = silent(JitterBuffer(delay_frames=0, max_frames=2))
    jb.push(1, 0, payload(1))
    jb.push(1, 160, payload(2) + payload(3) + payload(4) + payload(5))  # 80 ms at once: only 3 frames fit
    assert frames_of(jb, 4) == [3, 4, 5, 0]
    assert jb.stats.overflows == 2


def test_jitter_buffer_reframes_30_ms_packets_onto_the_20_ms_grid() -> None:
    """sipp's pcaps and many phones send 30 ms packets: every sample plays once, in order, no gaps."""
    jb = silent(JitterBuffer(delay_frames=2))
    audio = bytes(1 + i % 251 for i in range(240 * 20))
    out: list[bytes] = []
    for i in range(20):
        jb.push(7, 1000 + 240 * i, audio[240 * i:240 * (i + 1)])
        for _ in range(2 if i % 2 else 1):  # 3 frames of 20 ms play for every 2 packets of 30 ms
            got = jb.pop()
            assert got is not None
            out.append(got)
    played = b"".join(out)
    first = len(played) - len(played.lstrip(b"\x00"))
    assert first == 320  # the buffer's 40 ms delay, then every sample in order
    assert played[first:] == audio[:len(played) - first]
    assert jb.stats.late == 0 and jb.stats.duplicates == 0 and jb.stats.overflows == 0


def test_jitter_buffer_fills_the_gaps_of_30_ms_packets_with_the_codecs_silence() -> None:
    jb = JitterBuffer(delay_frames=0)
    jb.fill = b"\xd5"  # A-law silence
    payload = bytes(range(240))
    jb.push(3, 0, payload)
    first, second = jb.pop(), jb.pop()
    assert first == payload[:160]
    assert second == payload[160:] + b"\xd5" * 80  # the next packet is late
    jb.push(3, 240, payload)  # its first 80 samples belonged to the frame already played
    assert jb.stats.late == 0 and jb.pop() == payload[80:240]


# -- RTCP -------------------------------------------------------------------------------------------------

def test_rtcp_sender_report_round_trip_with_sdes() -> None:
    block = rtcp.ReportBlock(0xABC, 12, 34, 70000, 55, 0x1234, 0x5678)
    data = rtcp.build_sr(0x1111, rtcp.ntp_now(1_700_000_000.5), 8000, 50, 8000, [block])
    data += rtcp.build_sdes(0x1111, "relaybox@host")
    (report,) = rtcp.parse(data)
    assert report.kind == rtcp.SR and report.ssrc == 0x1111 and report.packets == 50 and report.octets == 8000
    assert report.blocks == [block]
    assert report.ntp >> 32 == 1_700_000_000 + rtcp.NTP_EPOCH_OFFSET


def test_rtcp_receiver_report_and_malformed_input() -> None:
    (report,) = rtcp.parse(rtcp.build_rr(7))
    assert report.kind == rtcp.RR and report.blocks == []
    with pytest.raises(ValueError):
        rtcp.parse(rtcp.build_rr(7)[:-1] + b"")  # truncated
    with pytest.raises(ValueError):
        rtcp.parse(b"\x00" * 8)


def test_reception_stats_count_loss_and_jitter() -> None:
    stats = rtcp.ReceptionStats()
    for i in range(100):
        if i % 10 == 5:
            continue  # 10 packets lost
        stats.update(9, (65500 + i) & 0xFFFF, i * 160, i * 0.02 + (0.005 if i % 2 else 0.0))
    block = stats.block(now=3.0)
    assert block is not None
    assert block.cumulative_lost == 10
    assert block.fraction_lost == 10 * 256 // 100
    assert block.highest_seq == 65500 + 99  # wrapped once: cycles count
    assert block.jitter > 0


def frame(value: int) -> np.ndarray:
    return np.full(160, value, dtype=np.int16)


# -- mixer --------------------------------------------------------------------------------------------------

def test_mixer_gives_each_party_everyone_else() -> None:
    m = Mixer()
    for p in "abc":
        m.join(p)
    m.put("a", frame(100))
    m.put("b", frame(20))
    m.put("c", frame(3))
    assert int(m.take("a")[0]) == 23 and int(m.take("b")[0]) == 103 and int(m.take("c")[0]) == 120
    assert {k: int(v[0]) for k, v in m.mix().items()} == {"a": 23, "b": 103, "c": 120}
    m.put("b", frame(32000))
    m.put("c", frame(32000))
    assert int(m.take("a")[0]) == 32767  # clipped, not wrapped
    m.leave("b")
    assert int(m.take("a")[0]) == 32000 and len(m) == 2
