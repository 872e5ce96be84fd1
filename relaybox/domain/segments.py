"""SMS segment counting as carriers do it (3GPP TS 23.038 / 23.040).

A body that only uses the GSM 03.38 default alphabet (plus its extension table, whose characters
cost two septets: ESC + char) travels as GSM-7: 160 septets in one SMS, 153 per part once it is
split (the user-data header takes 7). Anything else travels as UCS-2: 70 UTF-16 code units in one
SMS, 67 per part. Carriers never split an escape sequence or a surrogate pair across parts, so a
part can hold one unit less than its maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_costs(text: str) -> tuple[str, list[int]]:
    if is_gsm7(text):
        return "GSM-7", [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentInfo:
    """How many SMS parts `text` takes. An empty body (media only) counts as one message."""
    encoding, costs = _unit_costs(text)
    units = sum(costs)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if units <= single:
        return SegmentInfo(encoding, units, 1)
    segments, used = 1, 0
    for cost in costs:  # greedy packing: an escape sequence or surrogate pair never straddles two parts
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return SegmentInfo(encoding, units, segments)
