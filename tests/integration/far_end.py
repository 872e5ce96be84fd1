"""Test helper: overhear what a `CallMedia`'s endpoint receives, every tick."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from relaybox.media.callmedia import CallMedia


def overhear(media: CallMedia, sink: Callable[[np.ndarray], None]) -> None:
    """Every frame MEDIA's endpoint receives goes to SINK too. The endpoint is kept busy: a quiet call is
    ticked by the pacer's core alone, without its Python callbacks."""
    ep = media.endpoint
    inner_audio, inner_sent = ep.on_audio, ep.on_sent
    assert inner_audio is not None and inner_sent is not None

    def on_audio(frame: np.ndarray) -> None:
        sink(frame)
        inner_audio(frame)

    def on_sent(frame: np.ndarray) -> None:
        inner_sent(frame)
        ep.busy = True

    ep.on_audio, ep.on_sent = on_audio, on_sent
    ep.busy = True
