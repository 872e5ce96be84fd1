"""Segment counting (GSM-7 / UCS-2) and the validation of `messaging.send` content."""

from __future__ import annotations

import pytest

from relaybox.domain.errors import RelayError
from relaybox.domain.messaging import MAX_BODY_CHARS, MAX_MEDIA, validate_content
from relaybox.domain.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("Hello", "GSM-7", 5, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€", "GSM-7", 154, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("é@£¥èùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", "GSM-7", 40, 1),  # national letters of GSM 03.38
        ("é" * 160, "GSM-7", 160, 1),
        ("ç", "UCS-2", 1, 1),  # only the capital Ç is in the GSM alphabet
        ("Привет", "UCS-2", 6, 1),
        ("ж" * 70, "UCS-2", 70, 1),
        ("ж" * 71, "UCS-2", 71, 2),
        ("ж" * 134, "UCS-2", 134, 2),
        ("ж" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # astral characters are surrogate pairs: two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 159 + "😀", "UCS-2", 161, 3),  # one emoji turns the whole body into UCS-2
    ],
)
def test_count_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_escape_sequence_never_straddles_two_parts() -> None:
    # 152 plain septets + one 2-septet char = 154 > 153: the "€" moves to the second part
    assert count_segments("a" * 152 + "€" + "a" * 10).segments == 2
    # 153 * 2 = 306 septets exactly fill two parts; with a euro at the boundary a third part is needed
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3


def test_surrogate_pair_never_straddles_two_parts() -> None:
    assert count_segments("ж" * 66 + "😀" + "ж" * 66).segments == 3  # 66+2 > 67 moves the emoji
    assert count_segments("ж" * 65 + "😀" + "ж" * 67).segments == 2


def test_is_gsm7() -> None:
    assert is_gsm7("Hello {world} [x] ~ | ^ \\ €\n")
    assert not is_gsm7("Hello `backtick`")
    assert not is_gsm7("ñ ç")


def test_validate_content_accepts_body_media_or_both() -> None:
    assert validate_content("hi", None) == ("hi", [])
    assert validate_content(None, ["https://example.com/cat.jpg"]) == ("", ["https://example.com/cat.jpg"])
    assert validate_content("hi", ["http://x.test/a.png"]) == ("hi", ["http://x.test/a.png"])


@pytest.mark.parametrize(
    ("body", "media", "fragment"),
    [
        (None, None, "needs a 'body' or 'media'"),
        ("", [], "needs a 'body' or 'media'"),
        (12, None, "'body' must be a string"),
        ("x" * (MAX_BODY_CHARS + 1), None, "the limit is 1600"),
        ("hi", "https://example.com/a.jpg", "must be a list of strings"),
        ("hi", [1], "must be a list of strings"),
        ("hi", ["ftp://example.com/a.jpg"], "http(s) URLs"),
        ("hi", ["https:///nohost"], "http(s) URLs"),
        ("hi", ["cat.jpg"], "http(s) URLs"),
        ("hi", ["https://example.com/a b.jpg"], "http(s) URLs"),
        ("hi", ["https://example.com/a.jpg"] * (MAX_MEDIA + 1), "at most 10"),
    ],
)
def test_validate_content_refuses(body: object, media: object, fragment: str) -> None:
    with pytest.raises(RelayError) as exc:
        validate_content(body, media)
    assert exc.value.code == "400"
    assert fragment in exc.value.message


def test_longest_body_is_accepted() -> None:
    text, _ = validate_content("x" * MAX_BODY_CHARS, None)
    assert count_segments(text).segments == 11
