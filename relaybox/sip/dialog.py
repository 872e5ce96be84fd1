"""SIP dialogs (RFC 3261 section 12): ids, tags, CSeq, route set and remote target; request builders.

Sans-I/O: a `Dialog` only builds and checks messages; the engine sends them.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field

from relaybox.sip.message import Headers, NameAddr, Request, Response, SipParseError, parse_name_addr
from relaybox.sip.transaction import new_branch

USER_AGENT = "relaybox"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, UPDATE, PRACK"


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


@dataclass(eq=False)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # the From of our requests (an address spec, possibly with display name)
    remote_uri: str
    remote_target: str  # the far end's Contact URI
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int | None = None
    local_contact: str = ""

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, request: Request, local_tag: str, local_contact: str) -> Dialog:
        """The dialog an incoming INVITE creates (RFC 3261 12.1.1)."""
        frm = parse_name_addr(request.headers.get("From") or "")
        to = parse_name_addr(request.headers.get("To") or "")
        contacts = request.headers.get_all("Contact")
        if not contacts:
            raise SipParseError("an INVITE needs a Contact header")
        target = parse_name_addr(contacts[0]).uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=frm.tag or "",
            local_uri=_plain(to),
            remote_uri=_plain(frm),
            remote_target=target,
            route_set=request.headers.get_all("Record-Route"),
            local_cseq=secrets.randbelow(10_000) + 1,
            remote_cseq=request.cseq[0],
            local_contact=local_contact,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a 2xx (or 1xx with a tag) to our INVITE creates (RFC 3261 12.1.2)."""
        frm = parse_name_addr(request.headers.get("From") or "")
        to = parse_name_addr(response.headers.get("To") or "")
        contacts = response.headers.get_all("Contact")
        target = parse_name_addr(contacts[0]).uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=frm.tag or "",
            remote_tag=to.tag or "",
            local_uri=_plain(frm),
            remote_uri=_plain(to),
            remote_target=target,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_cseq=request.cseq[0],
            local_contact=(request.headers.get_all("Contact") or [""])[0],
        )

    def update_target(self, request_or_response: Request | Response) -> None:
        """A target refresh (re-INVITE, its 2xx) may change the remote Contact."""
        contacts = request_or_response.headers.get_all("Contact")
        if contacts:
            with contextlib.suppress(SipParseError):
                self.remote_target = parse_name_addr(contacts[0]).uri

    def check_remote_cseq(self, request: Request) -> bool:
        """RFC 3261 12.2.2: a lower CSeq than the last one is out of order (500)."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def request(self, method: str, via_host: str, via_port: int, transport: str, *,
                extra: list[tuple[str, str]] | None = None, body: bytes = b"", content_type: str | None = None,
                cseq: int | None = None) -> Request:
        """A request inside the dialog (RFC 3261 12.2.1.1) with loose routing."""
        if cseq is None:
            if method not in ("ACK", "CANCEL"):
                self.local_cseq += 1
            cseq = self.local_cseq
        headers = Headers()
        headers.add("Via", f"SIP/2.0/{transport.upper()} {via_host}:{via_port};branch={new_branch()};rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{self.local_uri};tag={self.local_tag}")
        headers.add("To", f"{self.remote_uri};tag={self.remote_tag}" if self.remote_tag else self.remote_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and ";lr" not in routes[0].lower():
            uri = parse_name_addr(routes[0]).uri  # strict router (RFC 3261 12.2.1.1)
            routes = [*routes[1:], f"<{self.remote_target}>"]
        for route in routes:
            headers.add("Route", route)
        if self.local_contact and method in ("INVITE", "REFER", "UPDATE", "NOTIFY"):
            headers.add("Contact", self.local_contact)
        headers.add("User-Agent", USER_AGENT)
        for name, value in extra or []:
            headers.add(name, value)
        if content_type and body:
            headers.add("Content-Type", content_type)
        return Request(headers=headers, body=body, method=method, uri=uri)

    def next_hop(self) -> str:
        """The URI whose host/port the request goes to: the first route, else the remote target."""
        if self.route_set:
            return parse_name_addr(self.route_set[0]).uri
        return self.remote_target


def _plain(addr: NameAddr) -> str:
    """The address without its tag (tags are added per request)."""
    params = {k: v for k, v in addr.params.items() if k != "tag"}
    return str(NameAddr(addr.uri, addr.display, params))


def initial_request(method: str, uri: str, from_: str, to: str, via_host: str, via_port: int, transport: str, *,
                    call_id: str, cseq: int = 1, from_tag: str | None = None, contact: str | None = None,
                    extra: list[tuple[str, str]] | None = None, body: bytes = b"",
                    content_type: str | None = None) -> Request:
    """An out-of-dialog request (INVITE, REGISTER, OPTIONS) per RFC 3261 8.1.1."""
    headers = Headers()
    headers.add("Via", f"SIP/2.0/{transport.upper()} {via_host}:{via_port};branch={new_branch()};rport")
    headers.add("Max-Forwards", "70")
    headers.add("From", f"{from_};tag={from_tag or new_tag()}")
    headers.add("To", to)
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    if contact:
        headers.add("Contact", contact)
    headers.add("Allow", ALLOW)
    headers.add("User-Agent", USER_AGENT)
    for name, value in extra or []:
        headers.add(name, value)
    if content_type and body:
        headers.add("Content-Type", content_type)
    return Request(headers=headers, body=body, method=method, uri=uri)


def cancel_for(invite: Request) -> Request:
    """RFC 3261 9.1: CANCEL with the INVITE's Request-URI, Call-ID, From, To, CSeq number, top Via."""
    headers = Headers()
    headers.add("Via", invite.via[0])
    headers.add("Max-Forwards", "70")
    for name in ("From", "To", "Call-ID"):
        headers.add(name, invite.headers.get(name) or "")
    headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    return Request(headers=headers, method="CANCEL", uri=invite.uri)
