"""Writes a pcap of RTP G.711 packets (20 ms each, paced by their timestamps) for sipp's
`play_pcap_audio`: the test's own caller audio (speech, in-band DTMF tones) instead of sip-tester's."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from relaybox.media import g711

FRAME = 160


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _packet(payload: bytes, src_port: int = 6000, dst_port: int = 6002) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    eth = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def write_pcap(path: Path, samples: np.ndarray, codec: str = "PCMA", ssrc: int = 0x5EED1234) -> float:
    """SAMPLES (8 kHz int16) as RTP packets of CODEC (PCMA, PT 8, or PCMU, PT 0); the audio's seconds."""
    pt = 8 if codec == "PCMA" else 0
    pad = (-len(samples)) % FRAME
    audio = np.concatenate([samples.astype(np.int16), np.zeros(pad, dtype=np.int16)])
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(len(audio) // FRAME):
        frame = audio[i * FRAME:(i + 1) * FRAME]
        rtp = struct.pack("!BBHII", 0x80, pt | (0x80 if i == 0 else 0), i & 0xFFFF, i * FRAME, ssrc)
        pkt = _packet(rtp + g711.encode(frame, codec))
        usec = i * 20_000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(pkt), len(pkt)) + pkt)
    path.write_bytes(b"".join(out))
    return len(audio) / 8000
