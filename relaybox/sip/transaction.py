"""RFC 3261 section 17 transactions as sans-I/O state machines (with the RFC 6026 Accepted state).

The layer never touches a socket or a clock: every call takes `now` (seconds) and returns actions
(`Send`, `Deliver`, `Timeout`). The owner calls `poll(now)` at `next_deadline()` to fire timers
A/B/D/E/F/G/H/I/J/K (and L/M for 2xx handling).
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from relaybox.sip.message import Headers, Request, Response, parse_via

T1 = 0.5
T2 = 4.0
T4 = 5.0
MAGIC = "z9hG4bK"

Addr = tuple[str, int]


def new_branch() -> str:
    return MAGIC + secrets.token_hex(8)


@dataclass(slots=True)
class Send:
    message: Request | Response
    addr: Addr
    transport: str


@dataclass(slots=True)
class Deliver:
    """Hand MESSAGE to the transaction user (TU); TX is the transaction it belongs to (or None)."""
    message: Request | Response
    tx: Transaction | None
    addr: Addr
    transport: str


@dataclass(slots=True)
class Timeout:
    """A client transaction got no final response (B/F), or a server one never got its ACK (H/L)."""
    tx: Transaction
    timer: str


Action = Send | Deliver | Timeout


@dataclass(eq=False)
class Transaction:
    kind: str  # "ict", "nict", "ist", "nist"
    key: tuple[str, ...]
    request: Request
    addr: Addr
    transport: str
    state: str = ""
    last_response: Response | None = None
    ack: Request | None = None
    interval: float = T1
    timers: dict[str, float] = field(default_factory=dict)
    context: Any = None  # the TU's own data (the call this transaction belongs to)

    @property
    def reliable(self) -> bool:
        return self.transport.upper() != "UDP"

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def terminated(self) -> bool:
        return self.state == "terminated"


def server_key(request: Request) -> tuple[str, ...]:
    """RFC 3261 17.2.3: branch + sent-by + method (ACK matches INVITE); RFC 2543 fallback otherwise."""
    vias = request.via
    top = parse_via(vias[0])
    method = "INVITE" if request.method == "ACK" else request.method
    branch = top.branch or ""
    if branch.startswith(MAGIC):
        return ("s", branch, f"{top.host}:{top.port or 5060}", method)
    to_tag = _tag(request.headers.get("To") or "") if request.method != "ACK" else ""
    return ("s2543", request.call_id, str(request.cseq[0]), _tag(request.headers.get("From") or ""),
            vias[0], method, to_tag or "")


def client_key(branch: str, method: str) -> tuple[str, ...]:
    return ("c", branch, "INVITE" if method == "ACK" else method)


def _tag(value: str) -> str:
    for part in value.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "tag":
            return v.strip()
    return ""


class TransactionLayer:
    def __init__(self, t1: float = T1, t2: float = T2, t4: float = T4) -> None:
        self.t1, self.t2, self.t4 = t1, t2, t4
        self.transactions: dict[tuple[str, ...], Transaction] = {}
        self._heap: list[tuple[float, int, Transaction, str]] = []
        self._seq = itertools.count()

    # -- timers ---------------------------------------------------------------------------------

    def _arm(self, tx: Transaction, name: str, at: float) -> None:
        tx.timers[name] = at
        heapq.heappush(self._heap, (at, next(self._seq), tx, name))

    def next_deadline(self) -> float | None:
        while self._heap:
            at, _, tx, name = self._heap[0]
            if tx.timers.get(name) == at and not tx.terminated:
                return at
            heapq.heappop(self._heap)
        return None

    def poll(self, now: float) -> list[Action]:
        out: list[Action] = []
        while self._heap and self._heap[0][0] <= now:
            at, _, tx, name = heapq.heappop(self._heap)
            if tx.timers.get(name) != at or tx.terminated:
                continue
            del tx.timers[name]
            self._fire(tx, name, now, out)
        return out

    def _terminate(self, tx: Transaction) -> None:
        tx.state = "terminated"
        tx.timers.clear()
        if self.transactions.get(tx.key) is tx:
            del self.transactions[tx.key]

    def _fire(self, tx: Transaction, name: str, now: float, out: list[Action]) -> None:
        if name in ("A", "E") and tx.state in ("calling", "trying", "proceeding"):
            out.append(Send(tx.request, tx.addr, tx.transport))
            tx.interval = tx.interval * 2 if name == "A" else min(tx.interval * 2, self.t2)
            if name == "E" and tx.state == "proceeding":
                tx.interval = self.t2
            self._arm(tx, name, now + tx.interval)
        elif name in ("B", "F"):
            if tx.state in ("calling", "trying", "proceeding"):
                self._terminate(tx)
                out.append(Timeout(tx, name))
        elif name == "G" and tx.state in ("completed", "accepted") and tx.last_response is not None:
            out.append(Send(tx.last_response, tx.addr, tx.transport))
            tx.interval = min(tx.interval * 2, self.t2)
            self._arm(tx, "G", now + tx.interval)
        elif name in ("H", "L"):
            if tx.state in ("completed", "accepted"):
                self._terminate(tx)
                out.append(Timeout(tx, name))  # no ACK came: for a 2xx the TU ends the dialog with BYE
        elif name in ("D", "I", "J", "K", "M"):
            self._terminate(tx)

    # -- client side ----------------------------------------------------------------------------

    def send_request(self, request: Request, addr: Addr, transport: str, now: float,
                     context: Any = None) -> tuple[Transaction | None, list[Action]]:
        """Start a client transaction for REQUEST (its top Via must carry a fresh branch).

        ACK for a 2xx is not a transaction: it is just sent."""
        if request.method == "ACK":
            return None, [Send(request, addr, transport)]
        branch = parse_via(request.via[0]).branch or ""
        kind = "ict" if request.method == "INVITE" else "nict"
        tx = Transaction(kind, client_key(branch, request.method), request, addr, transport,
                         state="calling" if kind == "ict" else "trying", interval=self.t1, context=context)
        self.transactions[tx.key] = tx
        if not tx.reliable:
            self._arm(tx, "A" if kind == "ict" else "E", now + self.t1)
        self._arm(tx, "B" if kind == "ict" else "F", now + 64 * self.t1)
        return tx, [Send(request, addr, transport)]

    def _client_response(self, response: Response, addr: Addr, transport: str, now: float) -> list[Action]:
        try:
            top = parse_via(response.via[0])
            _, method = response.cseq
        except (ValueError, IndexError):
            return []
        tx = self.transactions.get(client_key(top.branch or "", method))
        if tx is None:
            # a retransmitted 2xx after the transaction ended: the TU re-sends its ACK (RFC 3261 13.2.2.4)
            return [Deliver(response, None, addr, transport)] if 200 <= response.status < 300 else []
        status = response.status
        if tx.kind == "ict":
            if tx.state in ("calling", "proceeding"):
                if status < 200:
                    tx.state = "proceeding"
                    tx.timers.pop("A", None)
                    return [Deliver(response, tx, addr, transport)]
                tx.timers.clear()
                if status < 300:
                    tx.state = "accepted"
                    self._arm(tx, "M", now + 64 * self.t1)
                    return [Deliver(response, tx, addr, transport)]
                tx.state = "completed"
                tx.ack = self._ack_for(tx.request, response)
                self._arm(tx, "D", now + (0 if tx.reliable else max(32.0, 64 * self.t1)))
                return [Send(tx.ack, tx.addr, tx.transport), Deliver(response, tx, addr, transport)]
            if tx.state == "accepted" and 200 <= status < 300:
                return [Deliver(response, tx, addr, transport)]
            if tx.state == "completed" and status >= 300 and tx.ack is not None:
                return [Send(tx.ack, tx.addr, tx.transport)]
            return []
        if tx.state in ("trying", "proceeding"):
            if status < 200:
                tx.state = "proceeding"
                return [Deliver(response, tx, addr, transport)]
            tx.timers.clear()
            tx.state = "completed"
            self._arm(tx, "K", now + (0 if tx.reliable else self.t4))
            return [Deliver(response, tx, addr, transport)]
        return []

    @staticmethod
    def _ack_for(request: Request, response: Response) -> Request:
        """RFC 3261 17.1.1.3: the ACK for a non-2xx final response, same branch as the INVITE."""
        headers = Headers()
        headers.add("Via", request.via[0])
        for name in ("Max-Forwards", "From", "Call-ID"):
            value = request.headers.get(name)
            if value is not None:
                headers.add(name, value)
        headers.add("To", response.headers.get("To") or "")
        headers.add("CSeq", f"{request.cseq[0]} ACK")
        for route in request.headers.get_all("Route"):
            headers.add("Route", route)
        return Request(headers=headers, method="ACK", uri=request.uri)

    # -- server side ----------------------------------------------------------------------------

    def receive(self, message: Request | Response, addr: Addr, transport: str, now: float) -> list[Action]:
        """A parsed message arrived from ADDR over TRANSPORT."""
        if isinstance(message, Response):
            return self._client_response(message, addr, transport, now)
        request = message
        key = server_key(request)
        tx = self.transactions.get(key)
        if request.method == "ACK":
            if tx is not None and tx.kind == "ist":
                if tx.state == "completed":
                    tx.state = "confirmed"
                    tx.timers.clear()
                    self._arm(tx, "I", now + (0 if tx.reliable else self.t4))
                    return []
                if tx.state in ("confirmed", "terminated"):
                    return []
            # an ACK for a 2xx: its own branch; the TU matches it to the dialog
            return [Deliver(request, None, addr, transport)]
        if tx is not None:
            if tx.last_response is not None and tx.state in ("proceeding", "completed", "trying", "accepted"):
                if tx.kind == "ist" and tx.state == "accepted":
                    return []  # RFC 6026: retransmitted INVITE in Accepted is absorbed
                return [Send(tx.last_response, tx.addr, tx.transport)]
            return []
        kind = "ist" if request.method == "INVITE" else "nist"
        tx = Transaction(kind, key, request, _response_addr(request, addr), transport,
                         state="proceeding" if kind == "ist" else "trying", interval=self.t1)
        self.transactions[key] = tx
        return [Deliver(request, tx, addr, transport)]

    def find_invite(self, cancel: Request) -> Transaction | None:
        """The INVITE server transaction a CANCEL names (RFC 3261 9.2)."""
        key = server_key(cancel)
        tx = self.transactions.get((*key[:-1], "INVITE") if key[0] == "s" else (*key[:-2], "INVITE", ""))
        return tx if tx is not None and tx.kind == "ist" else None

    def respond(self, tx: Transaction, response: Response, now: float) -> list[Action]:
        """The TU answers the request of server transaction TX."""
        if tx.terminated or tx.state in ("completed", "confirmed", "accepted"):
            return []
        tx.last_response = response
        out: list[Action] = [Send(response, tx.addr, tx.transport)]
        status = response.status
        if tx.kind == "ist":
            if status < 200:
                return out
            if status < 300:
                tx.state = "accepted"
                tx.interval = self.t1
                if not tx.reliable:
                    self._arm(tx, "G", now + self.t1)  # 2xx retransmissions until the ACK (13.3.1.4)
                self._arm(tx, "L", now + 64 * self.t1)
                return out
            tx.state = "completed"
            tx.interval = self.t1
            if not tx.reliable:
                self._arm(tx, "G", now + self.t1)
            self._arm(tx, "H", now + 64 * self.t1)
            return out
        if status < 200:
            tx.state = "proceeding"
            return out
        tx.state = "completed"
        self._arm(tx, "J", now + (0 if tx.reliable else 64 * self.t1))
        return out

    def ack_2xx(self, tx: Transaction) -> None:
        """The TU matched an ACK to the 2xx of TX: stop retransmitting it."""
        if tx.state == "accepted":
            tx.state = "confirmed"
            tx.timers.clear()
            self._arm(tx, "I", 0.0)  # ends at the next poll

    def terminate(self, tx: Transaction) -> None:
        self._terminate(tx)


def _response_addr(request: Request, addr: Addr) -> Addr:
    """Where responses go: like RFC 3581 rport, always back to where the request came from."""
    return addr  # symmetric response routing: the source address works for UDP (NAT) and TCP alike
