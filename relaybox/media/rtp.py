"""RTP packets (RFC 3550): parse and build, sans-I/O. CSRCs, header extensions and padding are
parsed (and skipped) so packets from any sender can be read; we build plain 12-byte headers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """Not a (valid) RTP packet."""


@dataclass(slots=True)
class RtpPacket:
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()

    def build(self) -> bytes:
        """The packet's bytes (no padding, no extension)."""
        if not 0 <= self.payload_type <= 127:
            raise RtpError(f"payload type {self.payload_type} out of range")
        first = 0x80 | len(self.csrcs)
        second = self.payload_type | (0x80 if self.marker else 0)
        head = HEADER.pack(first, second, self.seq & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF)
        if self.csrcs:
            head += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        return head + self.payload


def is_rtcp(data: bytes) -> bool:
    """RTCP multiplexed on the RTP port (RFC 5761): packet types 192..223 in the second byte."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse(data: bytes) -> RtpPacket:
    """Parse an RTP packet; RtpError when it is not one."""
    if len(data) < 12:
        raise RtpError("shorter than an RTP header")
    first, second, seq, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    cc = first & 0x0F
    pos = 12 + 4 * cc
    if len(data) < pos:
        raise RtpError("truncated CSRC list")
    csrcs = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
    if first & 0x10:  # header extension
        if len(data) < pos + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, pos + 2)
        pos += 4 + 4 * words
        if len(data) < pos:
            raise RtpError("truncated header extension")
    end = len(data)
    if first & 0x20:  # padding
        pad = data[-1]
        if pad == 0 or end - pad < pos:
            raise RtpError("bad padding")
        end -= pad
    return RtpPacket(second & 0x7F, seq, timestamp, ssrc, bytes(data[pos:end]), bool(second & 0x80), tuple(csrcs))
