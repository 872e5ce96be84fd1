"""The SIP engine: transports + the sans-I/O transaction layer + registrar + call legs.

Who may call in (the rule, also in the README):
- a configured trunk: requests whose source IP is the trunk's host (and port, when the trunk URI
  names one) are trusted;
- a registered SIP user: requests from the address its REGISTER came from (IP and port) are trusted;
- anyone else must answer a digest challenge (407) with a SIP user's credentials.
REGISTER always needs the user's digest credentials (401 challenge).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relaybox.domain.devices import is_phone_number
from relaybox.engines.sip.leg import SipLeg, Target
from relaybox.engines.sip.transport import Addr, SipTransports
from relaybox.engines.sip.trunk_register import TrunkRegistrations
from relaybox.sip import sdp
from relaybox.sip.auth import DigestServer
from relaybox.sip.dialog import ALLOW
from relaybox.sip.message import (
    Request,
    Response,
    SipParseError,
    SipUri,
    make_response,
    parse_name_addr,
    parse_uri,
)
from relaybox.sip.transaction import Deliver, Send, Timeout, Transaction, TransactionLayer

if TYPE_CHECKING:
    from relaybox.domain.calling import Calling
    from relaybox.domain.calls import Call
    from relaybox.domain.legs import LegListener, NumberDirectory
    from relaybox.storage.sip import SipStore, Trunk

log = logging.getLogger("relaybox.sip")

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 10
MAX_EXPIRES = 7200
MAX_LEGS = 5000  # live SIP dialogs; more INVITEs get 503 (each holds two UDP ports and a media engine)
SUPPORTED_METHODS = frozenset(ALLOW.replace(" ", "").split(","))


@dataclass(slots=True)
class Binding:
    username: str
    contact: str  # the Contact URI
    expires_at: float  # loop time
    source: Addr
    transport: str

    def target(self) -> tuple[Addr, str]:
        uri = parse_uri(self.contact)
        transport = uri.params.get("transport") or self.transport
        return (uri.host, uri.port or 5060), (transport or "UDP").upper()


class SipEngine:
    def __init__(self, *, host: str, port: int, calling: Calling, numbers: NumberDirectory, store: SipStore,
                 project: Any, media_host: str | None = None) -> None:
        self.host = host
        self.port = port
        self.calling = calling
        self.numbers = numbers
        self.store = store
        self.project = project  # callable returning the project inbound calls belong to
        self.media_host = media_host or host
        self.transports = SipTransports(host, port, self.on_message)
        self.layer = TransactionLayer()
        self.digest = DigestServer(store.realm)
        self.bindings: dict[str, Binding] = {}
        self.registrations = TrunkRegistrations(self)  # relaybox's own REGISTERs to carriers
        self.legs: dict[tuple[str, str], SipLeg] = {}  # (Call-ID, our tag) -> leg
        self.stats: Counter[str] = Counter()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._resolved: dict[str, str] = {}
        self.media_options: dict[str, Any] = {}  # CallMedia keyword arguments (clock, renderer)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.transports.start()
        self.loop = asyncio.get_running_loop()
        self.port = self.transports.port
        log.info("sip: listening on %s:%d (UDP and TCP)", self.host, self.port)
        self.restore_registrations()
        self.registrations.sync()
        from relaybox.media.check import missing_components, missing_optional

        for message in missing_components():  # real calls will lack this feature until it is installed
            log.warning("sip calls' media: %s", message)
        for message in missing_optional():
            log.info("sip calls' media (optional): %s", message)

    async def close(self) -> None:
        if self.loop is not None:
            await self.registrations.close()
        for leg in list(self.legs.values()):
            leg.shutdown()
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.transports.close()
        self._write_rtp_stats()
        from relaybox.media import asr

        if asr.started():  # the speech recogniser's worker processes end with the engine
            await asyncio.get_running_loop().run_in_executor(None, asr.shutdown)

    def _write_rtp_stats(self) -> None:
        """RELAYBOX_RTP_STATS=path: the RTP clock's counters as JSON at shutdown (bench/media.py reads how
        many 20 ms ticks ran more than 20 ms late under load, and how often Python left a busy call's frame
        unprepared)."""
        path = os.environ.get("RELAYBOX_RTP_STATS")
        if not path or self.loop is None:
            return
        from relaybox.media.endpoint import Pacer

        pacer = Pacer.for_loop(self.loop)
        stats = pacer.stats
        stats["max_late_ms"] = round(stats.pop("max_late") * 1000, 1)
        stats["max_lag_ms"] = round(stats.pop("max_lag") * 1000, 1)
        try:
            Path(path).write_text(json.dumps(stats))
        except OSError as exc:
            log.warning("RELAYBOX_RTP_STATS: cannot write %s: %s", path, exc)

    def now(self) -> float:
        assert self.loop is not None
        return self.loop.time()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sip: task failed", exc_info=task.exception())

    # -- the transaction layer's actions ---------------------------------------------------------

    def run(self, actions: list[Send | Deliver | Timeout]) -> None:
        for action in actions:
            try:
                if isinstance(action, Send):
                    self.transports.send(action.message, action.addr, action.transport)
                elif isinstance(action, Deliver):
                    self._deliver(action)
                else:
                    self._timeout(action.tx, action.timer)
            except Exception:
                self.stats["errors"] += 1
                log.exception("sip: handling %s failed", type(action).__name__)
        self._rearm()

    def _rearm(self) -> None:
        deadline = self.layer.next_deadline()
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self.loop is not None
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.run(self.layer.poll(self.now()))

    def respond(self, tx: Transaction, status: int, reason: str | None = None, *, to_tag: str | None = None,
                extra: list[tuple[str, str]] | None = None, body: bytes = b"",
                content_type: str | None = None) -> Response:
        assert isinstance(tx.request, Request)
        resp = make_response(tx.request, status, reason, to_tag=to_tag, extra=extra, body=body,
                             content_type=content_type)
        self.run(self.layer.respond(tx, resp, self.now()))
        return resp

    def send_request(self, request: Request, addr: Addr, transport: str, context: Any) -> Transaction | None:
        tx, actions = self.layer.send_request(request, addr, transport, self.now(), context)
        self.run(actions)
        return tx

    def local_host_for(self, remote_host: str) -> str:
        return self.transports.local_host_for(remote_host)

    def contact_for(self, remote_host: str, transport: str, user: str = "relaybox") -> str:
        t = ";transport=tcp" if transport.upper() == "TCP" else ""
        return f"<sip:{user}@{self.local_host_for(remote_host)}:{self.port}{t}>"

    # -- incoming -------------------------------------------------------------------------------

    def on_message(self, msg: Request | Response | SipParseError, addr: Addr, transport: str) -> None:
        try:
            if isinstance(msg, SipParseError):
                self.stats["malformed"] += 1
                log.info("sip: dropped a malformed message from %s:%d: %s", addr[0], addr[1], msg)
                return
            if isinstance(msg, Request) and not self._sane(msg, addr, transport):
                return
            self.run(self.layer.receive(msg, addr, transport, self.now()))
        except Exception:  # nothing a peer sends may take the engine down
            self.stats["errors"] += 1
            log.exception("sip: failed on a message from %s:%d", addr[0], addr[1])

    def _sane(self, req: Request, addr: Addr, transport: str) -> bool:
        """Stateless checks before a transaction exists (RFC 3261 8.2.1-8.2.2)."""
        status = 0
        reason: str | None = None
        extra: list[tuple[str, str]] = []
        try:
            uri = parse_uri(req.uri)
            if uri.scheme != "sip":
                status, reason = 416, "Unsupported URI Scheme"
        except SipParseError:
            status, reason = 416, "Unsupported URI Scheme"
        mf = req.headers.get("Max-Forwards")
        if not status and mf is not None and int(mf) == 0 and req.method not in ("ACK", "OPTIONS"):
            status = 483
        known = ("timer", "100rel") if req.method == "INVITE" else ("timer",)  # 100rel: reliable 18x to INVITE
        unsupported = [r for r in req.headers.get_all("Require") if r.lower() not in known]
        if not status and unsupported and req.method not in ("ACK", "CANCEL"):
            status = 420
            extra = [("Unsupported", ", ".join(unsupported))]
        if not status and req.method not in SUPPORTED_METHODS and req.method not in ("REGISTER", "ACK"):
            status = 405
            extra = [("Allow", ALLOW + ", REGISTER")]
        if status:
            if req.method != "ACK":
                self.transports.send(make_response(req, status, reason, extra=extra), addr, transport)
            return False
        return True

    def _deliver(self, action: Deliver) -> None:
        msg = action.message
        if isinstance(msg, Response):
            ctx = action.tx.context if action.tx is not None else self._leg_for_response(msg)
            if ctx is not None:
                ctx.on_response(msg, action.tx)
            return
        tx = action.tx
        if msg.method == "ACK":
            leg = self._leg_for_request(msg)
            if leg is not None:
                leg.on_ack(msg)
            return
        assert tx is not None
        handler = getattr(self, "_on_" + msg.method.lower(), None)
        if handler is None:
            self.respond(tx, 405, extra=[("Allow", ALLOW + ", REGISTER")])
            return
        handler(msg, tx, action.addr, action.transport)

    def _timeout(self, tx: Transaction, timer: str) -> None:
        ctx = tx.context
        if ctx is not None:
            ctx.on_timeout(tx, timer)

    def _leg_for_request(self, req: Request) -> SipLeg | None:
        to_tag = parse_name_addr(req.headers.get("To") or "").tag or ""
        return self.legs.get((req.call_id, to_tag))

    def _leg_for_response(self, resp: Response) -> SipLeg | None:
        from_tag = parse_name_addr(resp.headers.get("From") or "").tag or ""
        return self.legs.get((resp.call_id, from_tag))

    # -- methods ----------------------------------------------------------------------------------

    def _on_options(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        self.respond(tx, 200, extra=[("Allow", ALLOW + ", REGISTER"), ("Accept", "application/sdp"),
                                     ("Supported", "replaces, 100rel")])

    def _on_register(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        to = parse_name_addr(req.headers.get("To") or "")
        try:
            aor = parse_uri(to.uri)
        except SipParseError:
            self.respond(tx, 404, "Unknown user")
            return
        user = aor.user or ""
        verdict, name = self.digest.verify(req.headers.get("Authorization"), "REGISTER", time.time(),
                                           self.store.ha1_for(user))
        if verdict in ("missing", "stale") or (verdict == "bad" and name is None):
            self.stats["register_challenged"] += 1
            self.respond(tx, 401, extra=[("WWW-Authenticate",
                                          self.digest.challenge(time.time(), stale=verdict == "stale"))])
            return
        if verdict != "ok" or name != user:
            self.stats["register_refused"] += 1
            log.info("sip: REGISTER for %r from %s:%d refused (bad credentials)", user, addr[0], addr[1])
            self.respond(tx, 403, "Bad credentials")
            return
        contacts = req.headers.get_all("Contact")
        header_expires = req.headers.get("Expires")
        default = int(header_expires) if header_expires and header_expires.isdigit() else DEFAULT_EXPIRES
        if contacts == ["*"]:
            self._unbind(user)
            self.respond(tx, 200, to_tag=self._tag())
            return
        if not contacts:
            binding = self.bindings.get(user)
            extra = [("Contact", f"<{binding.contact}>;expires={int(binding.expires_at - self.now())}")] \
                if binding else []
            self.respond(tx, 200, to_tag=self._tag(), extra=extra)
            return
        contact = parse_name_addr(contacts[-1])
        value = contact.params.get("expires")
        expires = int(value) if value and value.isdigit() else default
        if expires == 0:
            self._unbind(user)
            log.info("sip: %s unregistered", user)
            self.respond(tx, 200, to_tag=self._tag())
            return
        if expires < MIN_EXPIRES:
            self.respond(tx, 423, extra=[("Min-Expires", str(MIN_EXPIRES))])
            return
        expires = min(expires, MAX_EXPIRES)
        try:
            parse_uri(contact.uri)
        except SipParseError:
            self.respond(tx, 400, "Bad Contact")
            return
        self._bind(Binding(user, contact.uri, self.now() + expires, addr, transport))
        self.stats["registered"] += 1
        log.info("sip: %s registered at %s for %ds (from %s:%d)", user, contact.uri, expires, addr[0], addr[1])
        self.respond(tx, 200, to_tag=self._tag(), extra=[("Contact", f"<{contact.uri}>;expires={expires}"),
                                                          ("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                                                 time.gmtime()))])

    @staticmethod
    def _tag() -> str:
        from relaybox.sip.dialog import new_tag

        return new_tag()

    def binding(self, username: str) -> Binding | None:
        binding = self.bindings.get(username)
        if binding is not None and (binding.expires_at <= self.now() or username not in self.store.users):
            self._unbind(username)
            return None
        return binding

    def _bind(self, binding: Binding) -> None:
        """A registration, kept in memory and in the store (with its expiry on the wall clock)."""
        self.bindings[binding.username] = binding
        self.store.save_registration(binding.username, {
            "contact": binding.contact, "expires": time.time() + binding.expires_at - self.now(),
            "source": list(binding.source), "transport": binding.transport})

    def _unbind(self, username: str) -> None:
        if self.bindings.pop(username, None) is not None:
            self.store.delete_registration(username)

    def restore_registrations(self) -> int:
        """The registrations stored before a restart that have not expired (of users that still exist)."""
        restored = 0
        wall, now = time.time(), self.now()
        for username, record in self.store.registrations().items():
            try:
                left = float(record["expires"]) - wall
                source = (str(record["source"][0]), int(record["source"][1]))
                binding = Binding(username, str(record["contact"]), now + left, source, str(record["transport"]))
            except (KeyError, TypeError, ValueError, IndexError):
                left, binding = 0.0, None
            if binding is None or left <= 0 or username not in self.store.users:
                self.store.delete_registration(username)
                continue
            self.bindings[username] = binding
            restored += 1
        if restored:
            log.info("sip: %d registration(s) restored from before the restart", restored)
        return restored

    def _trusted(self, req: Request, addr: Addr) -> tuple[str, str] | None:
        """Who the caller is, if the rule above trusts it: ("trunk", name) or ("user", name)."""
        for trunk in self.store.trunks.values():
            target = trunk.target
            if self.resolve_now(target.host) == addr[0] and (target.port is None or target.port == addr[1]):
                return ("trunk", trunk.name)
        for binding in list(self.bindings.values()):
            if binding.source == addr and binding.expires_at > self.now():
                return ("user", binding.username)
        return None

    def _on_invite(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        to = parse_name_addr(req.headers.get("To") or "")
        if to.tag:
            leg = self._leg_for_request(req)
            if leg is None:
                self.respond(tx, 481)
                return
            leg.on_reinvite(req, tx)
            return
        if len(self.legs) >= MAX_LEGS:
            self.respond(tx, 503, "Too many calls", extra=[("Retry-After", "5")])
            return
        who = self._trusted(req, addr)
        if who is None:
            from_user = user_host(parse_name_addr(req.headers.get("From") or "").uri)[0]
            verdict, name = self.digest.verify(req.headers.get("Proxy-Authorization"), "INVITE", time.time(),
                                               self.store.ha1_for(from_user))
            if verdict == "ok" and name == from_user:
                who = ("user", from_user)
            elif verdict in ("missing", "stale"):
                self.stats["invite_challenged"] += 1
                self.respond(tx, 407, extra=[("Proxy-Authenticate",
                                              self.digest.challenge(time.time(), stale=verdict == "stale"))])
                return
            else:
                self.stats["invite_refused"] += 1
                log.info("sip: INVITE from %s:%d refused (bad credentials)", addr[0], addr[1])
                self.respond(tx, 403, "Bad credentials")
                return
        contacts = req.headers.get_all("Contact")
        try:
            contact_ok = bool(contacts) and parse_name_addr(contacts[0]).uri != "*"
        except SipParseError:
            contact_ok = False
        if not contact_ok:
            self.respond(tx, 400, "Missing or bad Contact")
            return
        offer: sdp.Session | None = None
        choice: sdp.Choice | None = None
        if req.body:  # else a late offer (RFC 3261 13.2.1): relaybox offers in its 200 OK, the ACK answers
            if (req.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/sdp":
                self.respond(tx, 415, extra=[("Accept", "application/sdp")])
                return
            try:
                offer = sdp.parse(req.body)
                choice = sdp.negotiate_answer(offer)
            except sdp.SdpError as exc:
                self.respond(tx, 488, extra=[("Warning", f'304 relaybox "{exc}"')])
                return
        self.respond(tx, 100)
        leg = SipLeg.inbound(self, req, tx, addr, transport, offer, choice, who)
        self.spawn(leg.setup_inbound())

    def _on_cancel(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        invite = self.layer.find_invite(req)
        if invite is None:
            self.respond(tx, 481)
            return
        self.respond(tx, 200)
        leg = invite.context
        if isinstance(leg, SipLeg):
            leg.on_cancel()
        elif invite.state == "proceeding":
            self.respond(invite, 487)

    def _in_dialog(self, req: Request, tx: Transaction) -> SipLeg | None:
        leg = self._leg_for_request(req)
        if leg is None:
            self.respond(tx, 481)
            return None
        if leg.dialog is not None and not leg.dialog.check_remote_cseq(req):
            self.respond(tx, 500, "CSeq out of order")
            return None
        return leg

    def _on_bye(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        leg = self._in_dialog(req, tx)
        if leg is not None:
            self.respond(tx, 200)
            leg.on_bye()

    def _on_notify(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        leg = self._in_dialog(req, tx)
        if leg is not None:
            self.respond(tx, 200)
            leg.on_notify(req)

    def _on_info(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        leg = self._in_dialog(req, tx)
        if leg is not None:
            self.respond(tx, 200)
            leg.on_info(req)

    def _on_update(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        leg = self._in_dialog(req, tx)
        if leg is not None:
            self.respond(tx, 200)

    def _on_prack(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        """RFC 3262: 200 for the PRACK of a reliable 18x of ours (the leg may then send its held 2xx), 481 for
        a PRACK that matches no early dialog or no reliable 18x."""
        leg = self._in_dialog(req, tx)
        if leg is None:
            return
        if leg.on_prack(req):
            self.respond(tx, 200)
            leg.after_prack()
        else:
            self.respond(tx, 481, "No matching reliable provisional response")

    def _on_refer(self, req: Request, tx: Transaction, addr: Addr, transport: str) -> None:
        if self._in_dialog(req, tx) is not None:
            self.respond(tx, 603, "Transfers into relaybox are not supported")

    # -- outbound ---------------------------------------------------------------------------------

    def is_ours(self, host: str) -> bool:
        if host in ("localhost", "relaybox", self.host) or host == self.local_host_for("127.0.0.1"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback or host == self.local_host_for("192.0.2.1")
        except ValueError:
            return False

    def route(self, device: dict[str, Any]) -> Target | None:
        """Whether the SIP engine carries a call to DEVICE: a registered user, a trunk's host or a
        number routed to a trunk. Anything else is the sandbox's (unregistered sip: URIs included)."""
        params = device.get("params", {})
        dtype = device.get("type")
        headers = [(h["name"], h["value"]) for h in params.get("headers") or []
                   if str(h.get("name", "")).lower().startswith("x-")]
        codecs = params.get("codecs") or None
        if dtype == "phone":
            number = str(params.get("to_number") or "")
            trunk = self.store.trunk_for_number(number)
            if trunk is None:
                return None
            t = trunk.target
            uri = SipUri("sip", number, t.host, t.port, {k: v for k, v in t.params.items() if k == "transport"})
            frm = str(params.get("from_number") or "")
            return Target(str(uri), (t.host, t.port or 5060), t.transport.upper(), frm, str(params.get("to_number")),
                          trunk, headers, codecs)
        if dtype != "sip":
            return None
        to = str(params.get("to") or "")
        try:
            uri = parse_uri(to)
        except SipParseError:
            return None
        frm = str(params.get("from") or "")
        trunk = self._trunk_for_host(uri)
        if trunk is not None:
            return Target(to, (self.resolve_now(uri.host), uri.port or 5060), uri.transport.upper(), frm, to,
                          trunk, headers, codecs)
        if uri.user and self.is_ours(uri.host):
            binding = self.binding(uri.user)
            if binding is None:
                return None
            addr, transport = binding.target()
            return Target(binding.contact, addr, transport, frm, to, None, headers, codecs)
        return None

    def _trunk_for_host(self, uri: SipUri) -> Trunk | None:
        for trunk in self.store.trunks.values():
            t = trunk.target
            if t.host == uri.host and (t.port or 5060) == (uri.port or 5060):
                return trunk
        return None

    def place(self, call: Call, listener: LegListener, target: Target) -> SipLeg:
        leg = SipLeg.outbound(self, call, listener, target)
        self.spawn(leg.run_outbound())
        return leg

    def resolve_now(self, host: str) -> str:
        """HOST as an IP address (cached; names are looked up once, blocking briefly)."""
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        if host not in self._resolved:
            try:
                self._resolved[host] = socket.gethostbyname(host)
            except OSError:
                self._resolved[host] = host
        return self._resolved[host]

    # -- inbound routing --------------------------------------------------------------------------

    def inbound_device(self, req: Request, origin: tuple[str, str] | None = None) -> tuple[dict[str, Any], str]:
        """The device of an inbound call and its context (a number's, else a sip: URI's, else default).

        A carrier calling the Contact a registering trunk registered puts the account in the Request-URI:
        the called party is then To's user."""
        ruri = parse_uri(req.uri)
        from_user, from_host = user_host(parse_name_addr(req.headers.get("From") or "").uri)
        to_user = ruri.user or ""
        trunk = self.store.trunks.get(origin[1]) if origin is not None and origin[0] == "trunk" else None
        if trunk is not None and trunk.register and to_user == trunk.username:
            to_user = user_host(parse_name_addr(req.headers.get("To") or "").uri)[0] or to_user
        to_number = _as_number(to_user)
        from_number = _as_number(from_user)
        headers = [{"name": n, "value": v} for n, v in req.headers.items if n.lower().startswith("x-")]
        to_uri = f"sip:{to_user}@{ruri.host}" if to_user else f"sip:{ruri.host}"
        from_uri = f"sip:{from_user}@{from_host}" if from_user else f"sip:{from_host or 'anonymous.invalid'}"
        if to_number and from_number:
            device: dict[str, Any] = {"type": "phone", "params": {"from_number": from_number, "to_number": to_number}}
        else:
            device = {"type": "sip", "params": {"from": from_uri, "to": to_uri, "headers": headers}}
        context = None
        if to_number:
            context = self.numbers.context_for(to_number)
        if context is None:
            context = self.numbers.context_for(to_uri) or self.numbers.context_for(f"sip:{to_user}@relaybox")
        return device, context or "default"


def user_host(uri: str) -> tuple[str, str]:
    """(user, host) of a From/To URI: sip:/sips: parsed, tel:NUMBER as a user; anything else anonymous."""
    if uri.lower().startswith("tel:"):
        return uri[4:].split(";")[0].strip(), ""
    try:
        parsed = parse_uri(uri)
    except SipParseError:
        return "", ""
    return parsed.user or "", parsed.host


def _as_number(user: str) -> str | None:
    if is_phone_number(user):
        return user
    if user.isdigit() and is_phone_number("+" + user) and len(user) >= 8:
        return "+" + user
    return None
