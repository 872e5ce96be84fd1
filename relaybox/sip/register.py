"""Outbound registration (RFC 3261 10.2) as a sans-I/O state machine: relaybox registering to a carrier.

Many carriers deliver inbound calls only to an account that REGISTERs. `Registration` builds the
REGISTERs (one Call-ID, rising CSeq), answers one digest challenge per request, schedules the refresh at
about half the granted expiry, backs off on failure (30 s doubling to 5 min) and unregisters (Expires: 0).
It never touches a socket or a clock: every call takes `now` and returns the requests to send; the owner
calls `poll(now)` at `deadline` and feeds the final responses (or a transaction timeout) back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from relaybox.sip.auth import authorization, parse_params
from relaybox.sip.dialog import initial_request, new_call_id, new_tag
from relaybox.sip.message import Request, Response, SipParseError, parse_name_addr, parse_uri

RETRY_FIRST = 30.0
RETRY_MAX = 300.0
REFRESH_MARGIN = 5.0  # refresh at least this long before the binding expires


@dataclass(slots=True)
class Account:
    """Who registers where: the REGISTER's Request-URI, the AOR (From/To), our Contact, the credentials."""
    registrar: str  # sip:host[:port]
    aor: str  # sip:user@host
    contact: str  # <sip:user@our-host:port>
    username: str
    password: str
    expires: int = 3600
    via_host: str = "127.0.0.1"
    via_port: int = 5060
    transport: str = "UDP"


class Registration:
    """STATE: `registering`, `registered`, `failed` (retrying later), `unregistering`, `unregistered`."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.state = "unregistered"
        self.expires_at: float | None = None  # when the registrar's binding ends (the caller's clock)
        self.last_error: str | None = None
        self.deadline: float | None = None  # when poll() has something to do
        self.retry_delay = RETRY_FIRST
        self.pending: Request | None = None  # the REGISTER whose final response is awaited
        self._call_id = new_call_id(account.via_host)
        self._tag = new_tag()
        self._cseq = secrets.randbelow(10_000)
        self._expires = account.expires  # asked for; raised by a 423's Min-Expires
        self._authed = False  # the pending request carries credentials (a second challenge is a refusal)

    # -- inputs -------------------------------------------------------------------------------------

    def start(self, now: float) -> list[Request]:
        self.state = "registering"
        return [self._register(self._expires)]

    def poll(self, now: float) -> list[Request]:
        """The refresh or retry is due (or the binding ran out while nothing was pending)."""
        if self.deadline is None or now < self.deadline or self.state in ("unregistering", "unregistered"):
            return []
        self.deadline = None
        if self.expires_at is not None and now >= self.expires_at:
            self.expires_at = None
        self.state = "registering" if self.expires_at is None else self.state
        return [self._register(self._expires)]

    def stop(self, now: float) -> list[Request]:
        """Unregister (Expires: 0) if a binding may exist; else just stop."""
        self.deadline = None
        was = self.state
        if was in ("unregistering", "unregistered"):
            return []
        if was == "failed" and self.expires_at is None:
            self.state = "unregistered"
            return []
        self.state = "unregistering"
        return [self._register(0)]

    def on_response(self, response: Response, now: float) -> list[Request]:
        pending = self.pending
        if pending is None or response.status < 200 or response.cseq != pending.cseq \
                or response.call_id != self._call_id:
            return []
        self.pending = None
        status = response.status
        unregistering = self.state == "unregistering"
        if status in (401, 407):
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenge = response.headers.get(header) or ""
            stale = parse_params(challenge)[1].get("stale", "").lower() == "true"
            if not self._authed or stale:
                value = authorization(challenge, "REGISTER", pending.uri, self.account.username,
                                      self.account.password)
                if value is not None:
                    reply = "Authorization" if status == 401 else "Proxy-Authorization"
                    return [self._register(self._expires_of(pending), (reply, value))]
                return self._failed(f"{status} with a challenge relaybox cannot answer", now)
            return self._failed(f"{status} {response.reason} (credentials refused)", now)
        if status == 423 and not unregistering:
            value = response.headers.get("Min-Expires") or ""
            if value.isdigit() and int(value) > self._expires_of(pending):
                self._expires = int(value)
                return [self._register(self._expires)]
        if 200 <= status < 300:
            if unregistering:
                self._done()
                return []
            granted = self._granted(response, self._expires_of(pending))
            if granted <= 0:
                return self._failed("200 OK without a binding for our Contact", now)
            self.state = "registered"
            self.last_error = None
            self.retry_delay = RETRY_FIRST
            self.expires_at = now + granted
            self.deadline = now + max(1.0, min(granted / 2, granted - REFRESH_MARGIN))
            return []
        return self._failed(f"{status} {response.reason}".strip(), now)

    def on_timeout(self, now: float) -> list[Request]:
        """The pending REGISTER's transaction got no final response."""
        if self.pending is None:
            return []
        self.pending = None
        return self._failed("no response from the registrar (timeout)", now)

    # -- internals ----------------------------------------------------------------------------------

    def _failed(self, reason: str, now: float) -> list[Request]:
        self.last_error = reason
        if self.state == "unregistering":
            self._done()
            return []
        if self.expires_at is not None and now < self.expires_at:
            self.state = "registered"  # a refresh failed: the binding holds until it expires
        else:
            self.state, self.expires_at = "failed", None
        self.deadline = now + self.retry_delay
        if self.expires_at is not None:
            self.deadline = min(self.deadline, self.expires_at)
        self.retry_delay = min(self.retry_delay * 2, RETRY_MAX)
        return []

    def _done(self) -> None:
        self.state = "unregistered"
        self.expires_at = None
        self.deadline = None

    def _register(self, expires: int, auth: tuple[str, str] | None = None) -> Request:
        a = self.account
        self._cseq += 1
        self._authed = auth is not None
        contact = f"{a.contact};expires={expires}"
        extra = [("Expires", str(expires))] + ([auth] if auth else [])
        self.pending = initial_request(
            "REGISTER", a.registrar, f"<{a.aor}>", f"<{a.aor}>", a.via_host, a.via_port, a.transport,
            call_id=self._call_id, cseq=self._cseq, from_tag=self._tag, contact=contact, extra=extra)
        return self.pending

    @staticmethod
    def _expires_of(request: Request) -> int:
        value = request.headers.get("Expires") or ""
        return int(value) if value.isdigit() else 0

    def _granted(self, response: Response, asked: int) -> int:
        """The expiry the registrar granted our Contact: its Contact's expires, else Expires, else asked."""
        try:
            ours = parse_uri(parse_name_addr(self.account.contact).uri)
        except SipParseError:
            ours = None
        for value in response.headers.get_all("Contact"):
            try:
                contact = parse_name_addr(value)
                uri = parse_uri(contact.uri)
            except SipParseError:
                continue
            if ours is None or (uri.user, uri.host, uri.port or 5060) == (ours.user, ours.host, ours.port or 5060):
                param = contact.params.get("expires") or ""
                if param.isdigit():
                    return int(param)
        header = response.headers.get("Expires") or ""
        return int(header) if header.isdigit() else asked
