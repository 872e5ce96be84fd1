"""Reliable provisional responses (RFC 3262, PRACK / 100rel), UAS side, sans-I/O.

relaybox sends its 18x reliably only when the INVITE has `Require: 100rel`. An INVITE that merely lists
100rel in `Supported` gets ordinary (unreliable) 18x: RFC 3262 lets the UAS choose, and a plain 180 is
the simplest answer every caller understands.

`ReliableProvisionals` holds one INVITE's state: it stamps each reliable 18x with `Require: 100rel` and an
`RSeq` (random start, +1 each), says when to retransmit it (T1 doubling, capped at T2) and when to give up
(64*T1 without PRACK: the UAS rejects the INVITE with a 5xx, RFC 3262 section 3), matches a PRACK's `RAck`,
and tells the owner whether a 2xx may go now (not while a reliable 18x is unacknowledged). Like the
transaction layer it never touches a clock or a socket: the owner calls `poll(now)` at `next_deadline()`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from relaybox.sip.message import Request, Response
from relaybox.sip.transaction import T1, T2

EXTENSION = "100rel"


def tokens(request: Request | Response, header: str) -> set[str]:
    """The option tags of HEADER (Require, Supported), lower case, across all its lines."""
    return {t.strip().lower() for line in request.headers.get_all(header) for t in line.split(",") if t.strip()}


def requires_100rel(request: Request) -> bool:
    return EXTENSION in tokens(request, "Require")


def parse_rack(value: str | None) -> tuple[int, int, str] | None:
    """`RAck: 4711 1 INVITE` -> (4711, 1, "INVITE"); None when malformed."""
    parts = (value or "").split()
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1]), parts[2].upper()


@dataclass(eq=False)
class ReliableProvisionals:
    invite_cseq: int
    t1: float = T1
    t2: float = T2
    rseq: int = field(default_factory=lambda: secrets.randbelow(2**31 - 1) + 1)  # the next RSeq to use
    pending: Response | None = None  # the reliable 18x not yet PRACKed
    interval: float = T1
    retransmit_at: float | None = None
    give_up_at: float | None = None
    acked: set[int] = field(default_factory=set)  # RSeqs already PRACKed (a retransmitted PRACK gets 200 again)

    def __post_init__(self) -> None:
        self.interval = self.t1

    @property
    def outstanding(self) -> bool:
        """A reliable 18x waits for its PRACK: no other reliable 18x and no 2xx may go (RFC 3262 section 3)."""
        return self.pending is not None

    def stamp(self, response: Response, now: float) -> Response:
        """Make the 18x RESPONSE reliable (adds Require and RSeq) and start its retransmissions."""
        response.headers.add("Require", EXTENSION)
        response.headers.add("RSeq", str(self.rseq))
        self.rseq += 1
        self.pending = response
        self.interval = self.t1
        self.retransmit_at = now + self.t1
        self.give_up_at = now + 64 * self.t1
        return response

    def prack(self, request: Request) -> bool:
        """Does this PRACK's RAck acknowledge a reliable 18x of ours? (False: the PRACK gets 481.)"""
        rack = parse_rack(request.headers.get("RAck"))
        if rack is None:
            return False
        rseq, cseq, method = rack
        if cseq != self.invite_cseq or method != "INVITE":
            return False
        if self.pending is not None and rseq == int(self.pending.headers.get("RSeq") or 0):
            self.acked.add(rseq)
            self.stop()
            return True
        return rseq in self.acked

    def stop(self) -> None:
        """No more retransmissions (PRACKed, or the INVITE got its final response)."""
        self.pending = None
        self.retransmit_at = self.give_up_at = None

    def next_deadline(self) -> float | None:
        times = [t for t in (self.retransmit_at, self.give_up_at) if t is not None]
        return min(times) if times else None

    def poll(self, now: float) -> str | None:
        """"retransmit" (send `pending` again), "timeout" (no PRACK: reject the INVITE with a 5xx) or None."""
        if self.pending is None:
            return None
        if self.give_up_at is not None and now >= self.give_up_at:
            self.stop()
            return "timeout"
        if self.retransmit_at is not None and now >= self.retransmit_at:
            self.interval = min(self.interval * 2, self.t2)
            self.retransmit_at = now + self.interval
            return "retransmit"
        return None
