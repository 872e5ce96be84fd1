"""An N-party mixer, sans-I/O: each party puts in its 20 ms frame; each party takes out the sum of
everyone else's (so nobody hears their own echo), clipped to 16 bits. Connect is the 2-party case."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME

Samples = npt.NDArray[np.int16]


class Mixer:
    def __init__(self, frame: int = FRAME) -> None:
        self.frame = frame
        self.inputs: dict[Hashable, npt.NDArray[np.int32]] = {}
        self.gains: dict[Hashable, float] = {}

    def join(self, party: Hashable, gain_db: float = 0.0) -> None:
        self.inputs[party] = np.zeros(self.frame, dtype=np.int32)
        self.gains[party] = 10 ** (gain_db / 20)

    def leave(self, party: Hashable) -> None:
        self.inputs.pop(party, None)
        self.gains.pop(party, None)

    def __len__(self) -> int:
        return len(self.inputs)

    def put(self, party: Hashable, frame: Samples) -> None:
        """PARTY's latest frame (replaces the previous one)."""
        if party in self.inputs:
            data = frame.astype(np.int32)
            gain = self.gains[party]
            self.inputs[party] = data if gain == 1.0 else (data * gain).astype(np.int32)

    def take(self, party: Hashable) -> Samples:
        """What PARTY hears: all the other inputs, summed and clipped."""
        total = np.zeros(self.frame, dtype=np.int32)
        for other, data in self.inputs.items():
            if other != party:
                total += data
        return np.clip(total, -32768, 32767).astype(np.int16)

    def mix(self) -> dict[Hashable, Samples]:
        """Every party's output at once (N-1 sums from one total)."""
        total = np.zeros(self.frame, dtype=np.int32)
        for data in self.inputs.values():
            total += data
        return {p: np.clip(total - data, -32768, 32767).astype(np.int16) for p, data in self.inputs.items()}
