"""G.711 µ-law (PCMU) and A-law (PCMA) with numpy lookup tables (the stdlib `audioop` is deprecated).

Encoding uses a 64 Ki-entry table indexed by the 16-bit sample; decoding a 256-entry table. The
encoders are bit-exact with ITU-T G.711 / the classic Sun reference (`relaybox.engines.rtp` agrees).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    s = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(s < 0, 0x80, 0)
    mag = np.minimum(np.abs(s), 32635) + 0x84
    exponent = np.zeros_like(mag)
    for e in range(7, 0, -1):
        hit = (exponent == 0) & ((mag & (0x80 << e)) != 0)
        exponent = np.where(hit, e, exponent)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    s = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(s < 0, 0x00, 0x80)
    mag = np.minimum(np.abs(s), 32767) >> 3
    exponent = np.zeros_like(mag)
    for e in range(7, 0, -1):
        hit = (exponent == 0) & (mag >= (16 << e))
        exponent = np.where(hit, e, exponent)
    value = np.where(mag < 32, mag >> 1, (exponent << 4) | ((mag >> np.maximum(exponent, 1)) & 0x0F))
    return ((value | sign) ^ 0x55).astype(np.uint8)


def _ulaw_decode_table() -> Samples:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def _alaw_decode_table() -> Samples:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    mag = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(sign != 0, mag, -mag).astype(np.int16)


ULAW_ENCODE = _ulaw_encode_table()
ALAW_ENCODE = _alaw_encode_table()
ULAW_DECODE = _ulaw_decode_table()
ALAW_DECODE = _alaw_decode_table()
# the same tables indexed by the sample's bits read as uint16 (no widening or offset per call)
ULAW_BY_BITS = ULAW_ENCODE[np.arange(65536) ^ 0x8000]
ALAW_BY_BITS = ALAW_ENCODE[np.arange(65536) ^ 0x8000]
CODECS = ("PCMU", "PCMA")
STATIC_PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}


def normalize_codec(codec: str) -> str:
    """'pcmu', 'PCMU/8000' -> 'PCMU'; ValueError for anything but G.711."""
    name = codec.split("/")[0].strip().upper()
    if name not in CODECS:
        raise ValueError(f"unsupported codec {codec!r}: PCMU or PCMA")
    return name


def encode(samples: npt.ArrayLike, codec: str) -> bytes:
    """int16 samples -> G.711 bytes."""
    s = np.asarray(samples, dtype=np.int16)
    table = ULAW_BY_BITS if codec == "PCMU" else ALAW_BY_BITS
    return table[s.view(np.uint16)].tobytes()


def decode(payload: bytes | bytearray, codec: str) -> Samples:
    """G.711 bytes -> int16 samples."""
    table = ULAW_DECODE if codec == "PCMU" else ALAW_DECODE
    return table[np.frombuffer(payload, dtype=np.uint8)]


def silence(codec: str, n: int = 160) -> bytes:
    """N samples of digital silence in CODEC."""
    return encode(np.zeros(n, dtype=np.int16), codec)
