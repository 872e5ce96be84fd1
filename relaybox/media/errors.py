"""One exception for every missing piece of the media stack, with what to install in the message."""

from __future__ import annotations

SETUP_HINT = "run scripts/setup-media.sh"


class MediaUnavailable(RuntimeError):
    """A piece of the media stack is missing; the message names it and how to install it."""


def missing(piece: str, how: str) -> MediaUnavailable:
    """The error for PIECE being absent, saying HOW to install it."""
    return MediaUnavailable(f"{piece} is not installed: {SETUP_HINT} ({how})")
