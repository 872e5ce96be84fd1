"""Basic RTCP (RFC 3550 §6.4): sender and receiver reports with one report block, and SDES CNAME
(a compound packet must carry it), sans-I/O. `ReceptionStats` keeps what a report block needs."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from relaybox.media import _rtpcore

SR, RR, SDES, BYE = 200, 201, 202, 203
NTP_EPOCH_OFFSET = 2208988800


@dataclass(slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int  # /256
    cumulative_lost: int
    highest_seq: int  # extended
    jitter: int
    lsr: int = 0
    dlsr: int = 0

    def build(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return struct.pack("!IIIIII", self.ssrc, (self.fraction_lost & 0xFF) << 24 | lost, self.highest_seq,
                           self.jitter, self.lsr, self.dlsr)


@dataclass(slots=True)
class Report:
    """A parsed SR or RR."""

    kind: int  # SR or RR
    ssrc: int
    ntp: int = 0  # 64-bit NTP timestamp (SR only)
    rtp_ts: int = 0
    packets: int = 0
    octets: int = 0
    blocks: list[ReportBlock] = field(default_factory=list)


def ntp_now(now: float | None = None) -> int:
    t = time.time() if now is None else now
    secs = int(t) + NTP_EPOCH_OFFSET
    frac = int((t % 1) * (1 << 32))
    return (secs & 0xFFFFFFFF) << 32 | frac


def _header(pt: int, count: int, words: int) -> bytes:
    return struct.pack("!BBH", 0x80 | count, pt, words)


def build_sr(ssrc: int, ntp: int, rtp_ts: int, packets: int, octets: int,
             blocks: list[ReportBlock] | None = None) -> bytes:
    blocks = blocks or []
    body = struct.pack("!IIIIII", ssrc, ntp >> 32, ntp & 0xFFFFFFFF, rtp_ts & 0xFFFFFFFF, packets & 0xFFFFFFFF,
                       octets & 0xFFFFFFFF) + b"".join(b.build() for b in blocks)
    return _header(SR, len(blocks), (4 + len(body)) // 4 - 1) + body


def build_rr(ssrc: int, blocks: list[ReportBlock] | None = None) -> bytes:
    blocks = blocks or []
    body = struct.pack("!I", ssrc) + b"".join(b.build() for b in blocks)
    return _header(RR, len(blocks), (4 + len(body)) // 4 - 1) + body


def build_sdes(ssrc: int, cname: str) -> bytes:
    item = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(item)) + item + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _header(SDES, 1, (4 + len(chunk)) // 4 - 1) + chunk


def parse(data: bytes) -> list[Report]:
    """The SR/RR reports of a compound packet (other packet types are skipped). ValueError if malformed."""
    out: list[Report] = []
    pos = 0
    while pos + 4 <= len(data):
        first, pt, words = struct.unpack_from("!BBH", data, pos)
        if first >> 6 != 2:
            raise ValueError("not RTCP version 2")
        end = pos + 4 * (words + 1)
        if end > len(data):
            raise ValueError("truncated RTCP packet")
        count = first & 0x1F
        if pt in (SR, RR):
            (ssrc,) = struct.unpack_from("!I", data, pos + 4)
            report = Report(pt, ssrc)
            at = pos + 8
            if pt == SR:
                if at + 20 > end:
                    raise ValueError("truncated sender info")
                hi, lo, report.rtp_ts, report.packets, report.octets = struct.unpack_from("!IIIII", data, at)
                report.ntp = hi << 32 | lo
                at += 20
            for _ in range(count):
                if at + 24 > end:
                    raise ValueError("truncated report block")
                bssrc, lost, hseq, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, at)
                cum = lost & 0xFFFFFF
                if cum & 0x800000:
                    cum -= 0x1000000
                report.blocks.append(ReportBlock(bssrc, lost >> 24, cum, hseq, jitter, lsr, dlsr))
                at += 24
            out.append(report)
        pos = end
    if pos != len(data):
        raise ValueError("trailing bytes after RTCP packets")
    return out


class ReceptionStats(_rtpcore.Reception):
    """Loss and interarrival jitter of the stream we receive (RFC 3550 appendix A.3 and A.8): `update(ssrc,
    seq, timestamp, arrival)` is C's (the RTP pacer counts the usual packets without the interpreter)."""

    def __init__(self, rate: int = 8000) -> None:
        super().__init__(rate)
        self.expected_prior = 0
        self.received_prior = 0
        self.last_sr = 0  # middle 32 bits of the last SR's NTP timestamp
        self.last_sr_at = 0.0

    def sender_report(self, report: Report, arrival: float) -> None:
        self.last_sr = (report.ntp >> 16) & 0xFFFFFFFF
        self.last_sr_at = arrival

    def block(self, now: float) -> ReportBlock | None:
        if self.ssrc is None:
            return None
        extended = self.cycles + self.max_seq
        expected = extended - self.base_seq + 1
        lost = expected - self.received
        exp_int = expected - self.expected_prior
        rec_int = self.received - self.received_prior
        self.expected_prior, self.received_prior = expected, self.received
        lost_int = exp_int - rec_int
        fraction = (lost_int << 8) // exp_int if exp_int > 0 and lost_int > 0 else 0
        dlsr = int((now - self.last_sr_at) * 65536) if self.last_sr else 0
        return ReportBlock(self.ssrc, min(fraction, 255), max(-(1 << 23), min(lost, (1 << 23) - 1)),
                           extended & 0xFFFFFFFF, int(self.jitter), self.last_sr, dlsr)
