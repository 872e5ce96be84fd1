"""An N-party mixer, sans-I/O: each party puts in its 20 ms frame; each party takes out the sum of
everyone else's (so nobody hears their own echo), clipped to 16 bits. Connect is the 2-party case.

A party may be heard by some parties only (`join(..., heard_by=...)`): a conference coach whispers to the
participant it coaches, whom alone it reaches, while it hears everyone. `room()` is everyone's input summed
(what a recording of the whole conference hears); `recorders` get it once per tick, when the first party
takes its frame (every party takes one each RTP tick)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME

Samples = npt.NDArray[np.int16]


class Mixer:
    def __init__(self, frame: int = FRAME) -> None:
        self.frame = frame
        self.inputs: dict[Hashable, npt.NDArray[np.int32]] = {}
        self.gains: dict[Hashable, float] = {}
        self.audience: dict[Hashable, frozenset[Hashable]] = {}  # a party heard only by these parties
        self.recorders: list[Callable[[Samples], None]] = []  # fed `room()` once per tick

    def join(self, party: Hashable, gain_db: float = 0.0, *, heard_by: Iterable[Hashable] | None = None) -> None:
        """PARTY joins; HEARD_BY: the only parties that hear it (None: everyone)."""
        self.inputs[party] = np.zeros(self.frame, dtype=np.int32)
        self.gains[party] = 10 ** (gain_db / 20)
        if heard_by is not None:
            self.audience[party] = frozenset(heard_by)
        else:
            self.audience.pop(party, None)

    def leave(self, party: Hashable) -> None:
        self.inputs.pop(party, None)
        self.gains.pop(party, None)
        self.audience.pop(party, None)

    def __len__(self) -> int:
        return len(self.inputs)

    def put(self, party: Hashable, frame: Samples) -> None:
        """PARTY's latest frame (replaces the previous one)."""
        if party in self.inputs:
            data = frame.astype(np.int32)
            gain = self.gains[party]
            self.inputs[party] = data if gain == 1.0 else (data * gain).astype(np.int32)

    def _hears(self, listener: Hashable, speaker: Hashable) -> bool:
        if listener == speaker:
            return False
        audience = self.audience.get(speaker)
        return audience is None or listener in audience

    def take(self, party: Hashable) -> Samples:
        """What PARTY hears: the other inputs it may hear, summed and clipped."""
        if self.recorders and party == next(iter(self.inputs), None):
            room = self.room()
            for record in self.recorders:
                record(room)
        total = np.zeros(self.frame, dtype=np.int32)
        for other, data in self.inputs.items():
            if self._hears(party, other):
                total += data
        return np.clip(total, -32768, 32767).astype(np.int16)

    def mix(self) -> dict[Hashable, Samples]:
        """Every party's output at once (N-1 sums from one total of the parties everyone hears)."""
        total = np.zeros(self.frame, dtype=np.int32)
        for party, data in self.inputs.items():
            if party not in self.audience:
                total += data
        out = {}
        for party, data in self.inputs.items():
            heard = total - data if party not in self.audience else total.copy()
            for speaker, audience in self.audience.items():
                if party in audience and speaker != party:
                    heard += self.inputs[speaker]
            out[party] = np.clip(heard, -32768, 32767).astype(np.int16)
        return out

    def room(self) -> Samples:
        """Every input summed and clipped: the whole room, as a recording of it hears it."""
        total = np.zeros(self.frame, dtype=np.int32)
        for data in self.inputs.values():
            total += data
        return np.clip(total, -32768, 32767).astype(np.int16)
