"""`SipLeg`: one SIP dialog as a call leg (Leg, MediaLeg, ReferLeg) for the domain.

Signalling is here; media is the `relaybox.media` engine's: an `RtpEndpoint` carries the RTP the SDP
negotiated, and a `CallMedia` on it renders what the domain plays and reports DTMF/speech back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relaybox.sip import sdp
from relaybox.sip.auth import authorization
from relaybox.sip.dialog import ALLOW, Dialog, cancel_for, initial_request, new_call_id, new_tag
from relaybox.sip.message import Request, Response, SipParseError, make_response, parse_name_addr, parse_uri
from relaybox.sip.prack import ReliableProvisionals, requires_100rel
from relaybox.sip.transaction import Transaction

if TYPE_CHECKING:
    from relaybox.domain.calls import Call
    from relaybox.domain.legs import LegListener, MediaSink, ReferListener
    from relaybox.engines.sip.engine import SipEngine
    from relaybox.engines.sip.transport import Addr
    from relaybox.storage.sip import Trunk

log = logging.getLogger("relaybox.sip")

# platform end reason -> the final response an unanswered inbound INVITE gets
REJECT_STATUS = {"busy": 486, "decline": 603, "noAnswer": 480, "not_found": 404, "error": 500, "cancel": 487,
                 "hangup": 480, "abandoned": 487, "max_duration": 480}


def end_reason_for(status: int) -> str:
    """The platform end reason for a final failure response to our INVITE."""
    if status in (486, 600):
        return "busy"
    if status in (603, 403):
        return "decline"
    if status in (408, 480, 487):
        return "noAnswer"
    if status in (404, 410, 484, 604):
        return "not_found"
    return "error"


@dataclass(slots=True)
class Target:
    """Where an outbound leg goes."""
    request_uri: str
    addr: Addr
    transport: str
    from_: str
    to: str
    trunk: Trunk | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    codecs: list[str] | None = None


# optional media capabilities the domain's actions look up on a leg (`getattr`); a SipLeg lends its CallMedia's
MEDIA_CAPABILITIES = frozenset(
    {
        "prepare", "start_recording", "tap_opener", "expect_speech", "detect_machine", "watch_tones", "bridge_to",
        "unbridge", "join", "record_mix", "send_digits", "start_fax", "pause_playback", "set_volume",
    }
)


def make_media(endpoint: Any, leg: SipLeg) -> Any:
    """The media engine's CallMedia on ENDPOINT (None when relaybox.media has none: signalling only)."""
    try:
        from relaybox.media.callmedia import CallMedia
    except ImportError:
        return None
    return CallMedia(endpoint, **leg.engine.media_options)


class SipLeg:
    def __init__(self, engine: SipEngine, direction: str, transport: str, addr: Addr) -> None:
        self.engine = engine
        self.direction = direction
        self.transport = transport
        self.addr = addr  # where requests to the far end go
        self.call: Call | None = None
        self.listener: LegListener | None = None
        self.dialog: Dialog | None = None
        self.local_tag = new_tag()
        self.call_id = ""
        self.state = "init"  # init, early, answered (2xx sent/received), confirmed, ended
        self.endpoint: Any = None
        self.media: Any = None
        self.sink: MediaSink | None = None
        self.choice: sdp.Choice | None = None
        self.offer: sdp.Session | None = None
        self.session_id = secrets.randbelow(2**31)
        self.sdp_version = 1
        self.awaiting_answer = False  # our offer went in a 200 OK (late offer): the ACK carries the answer
        self.on_hold = False
        self.held_by_far_end = False
        # inbound
        self.invite: Request | None = None
        self.invite_tx: Transaction | None = None
        self.origin: tuple[str, str] | None = None
        self.pending_2xx: Transaction | None = None
        self.reliable: ReliableProvisionals | None = None  # the INVITE had Require: 100rel (RFC 3262)
        self.answer_held = False  # the app answered while a reliable 18x waited for its PRACK
        self._reliable_timer: asyncio.TimerHandle | None = None
        # outbound
        self.target: Target | None = None
        self.client_tx: Transaction | None = None
        self.cancel_pending = False
        self.auth_tried = False
        self.offered: list[str] = []
        self._reinvite: Request | None = None
        self.reinvite_tx: Transaction | None = None
        self.refers: dict[int, ReferListener] = {}
        self.refer_listener: ReferListener | None = None
        self.transcript: list[str] = []  # what happened, for logs and tests

    # ------------------------------------------------------------------ construction

    @classmethod
    def inbound(cls, engine: SipEngine, req: Request, tx: Transaction, addr: Addr, transport: str,
                offer: sdp.Session | None, choice: sdp.Choice | None, origin: tuple[str, str]) -> SipLeg:
        """OFFER/CHOICE None: the INVITE had no SDP (a late offer: ours goes in the 200 OK)."""
        leg = cls(engine, "inbound", transport, addr)
        leg.invite, leg.invite_tx, leg.offer, leg.choice, leg.origin = req, tx, offer, choice, origin
        leg.call_id = req.call_id
        tx.context = leg
        contact = engine.contact_for(addr[0], transport)
        leg.dialog = Dialog.as_uas(req, leg.local_tag, contact)
        if requires_100rel(req):
            leg.reliable = ReliableProvisionals(req.cseq[0])
        engine.legs[(leg.call_id, leg.local_tag)] = leg
        return leg

    @classmethod
    def outbound(cls, engine: SipEngine, call: Call, listener: LegListener, target: Target) -> SipLeg:
        leg = cls(engine, "outbound", target.transport, target.addr)
        leg.call, leg.listener, leg.target = call, listener, target
        leg.call_id = new_call_id(engine.local_host_for(target.addr[0]))
        engine.legs[(leg.call_id, leg.local_tag)] = leg
        return leg

    def note(self, what: str) -> None:
        self.transcript.append(what)
        log.info("sip %s %s: %s", self.direction, self.call_id[:16], what)

    # ------------------------------------------------------------------ inbound

    async def setup_inbound(self) -> None:
        try:
            await self._setup_inbound()
        except Exception:
            log.exception("sip: setting up inbound call %s failed", self.call_id)
            if self.invite_tx is not None and self.state in ("init", "early"):
                self.engine.respond(self.invite_tx, 500, to_tag=self.local_tag)
            if self.call is not None and self.state != "ended":
                self._ended_by_far_end("error", "the SIP call could not be set up")
            self.state = "ended"
            self._close_media()
            self._forget()

    async def _setup_inbound(self) -> None:
        from relaybox.media.endpoint import RtpEndpoint

        assert self.invite is not None and self.invite_tx is not None
        try:
            self.endpoint = await RtpEndpoint.open(self.engine.media_host)
        except OSError as exc:
            self.note(f"no RTP port: {exc}")
            self.engine.respond(self.invite_tx, 503, "No media port")
            self._forget()
            return
        if self.state == "ended":  # cancelled while the port opened
            self._close_media()
            return
        self.media = make_media(self.endpoint, self)
        device, context = self.engine.inbound_device(self.invite, self.origin)
        self.state = "early"
        self.provisional(180)
        self.listener = self.engine.calling
        self.note(f"INVITE from {self.origin} -> context {context}")
        self.call = self.engine.calling.inbound(project=self.engine.project(), device=device, context=context,
                                                leg=self)

    def provisional(self, status: int) -> None:
        """A 18x to the INVITE: reliable (Require: 100rel, RSeq, retransmitted until PRACKed) when the INVITE
        required it, and then only one at a time (a second one while the first waits is not sent)."""
        assert self.invite is not None and self.invite_tx is not None and self.dialog is not None
        if self.reliable is None:
            self.engine.respond(self.invite_tx, status, to_tag=self.local_tag)
            return
        if self.reliable.outstanding:
            return
        now = self.engine.now()
        resp = self.reliable.stamp(make_response(self.invite, status, to_tag=self.local_tag,
                                                 extra=[("Contact", self.dialog.local_contact)]), now)
        self.note(f"reliable {status} (RSeq {resp.headers.get('RSeq')})")
        self.engine.run(self.engine.layer.respond(self.invite_tx, resp, now))
        self._arm_reliable()

    def _arm_reliable(self) -> None:
        if self._reliable_timer is not None:
            self._reliable_timer.cancel()
            self._reliable_timer = None
        deadline = self.reliable.next_deadline() if self.reliable is not None else None
        if deadline is not None and self.engine.loop is not None:
            self._reliable_timer = self.engine.loop.call_at(deadline, self._reliable_fire)

    def _reliable_fire(self) -> None:
        self._reliable_timer = None
        if self.reliable is None or self.invite_tx is None or self.state != "early":
            return
        now = self.engine.now()
        what = self.reliable.poll(now)
        pending = self.reliable.pending
        if what == "retransmit" and pending is not None:
            self.engine.run(self.engine.layer.respond(self.invite_tx, pending, now))
        elif what == "timeout":  # RFC 3262 section 3: no PRACK in 64*T1, reject the INVITE with a 5xx
            self.note("no PRACK for our reliable provisional response: 504")
            self.engine.respond(self.invite_tx, 504, "No PRACK", to_tag=self.local_tag)
            self._ended_by_far_end("error", "the caller never acknowledged the reliable provisional response")
            return
        self._arm_reliable()

    def on_prack(self, req: Request) -> bool:
        """A PRACK in the early dialog: True if its RAck matches a reliable 18x of ours (200), else 481."""
        if self.reliable is None or not self.reliable.prack(req):
            return False
        self._arm_reliable()  # nothing outstanding: the timer goes
        self.note("PRACK")
        return True

    def after_prack(self) -> None:
        """The PRACK got its 200: a 2xx held for it goes now."""
        if self.answer_held:
            self.answer_held = False
            self.answer()

    def answer(self) -> None:
        """The application answered: 200 OK with our SDP answer, media starts (after the PRACK of an
        outstanding reliable 18x: RFC 3262 section 3)."""
        if self.direction != "inbound" or self.state != "early" or self.invite_tx is None:
            return
        if self.reliable is not None and self.reliable.outstanding:
            self.answer_held = True
            self.note("answer waits for the PRACK")
            return
        assert self.endpoint is not None and self.dialog is not None
        if self.offer is None or self.choice is None:
            body = self._late_offer()
        else:
            body = sdp.answer_for(self.offer, self.choice, self._media_address(), self.endpoint.port,
                                  session_id=self.session_id, version=self.sdp_version)
        self.engine.respond(self.invite_tx, 200, to_tag=self.local_tag, body=body, content_type="application/sdp",
                            extra=[("Contact", self.dialog.local_contact), ("Allow", ALLOW),
                                   ("Supported", "100rel")])
        self.pending_2xx = self.invite_tx
        self.state = "answered"
        if self.choice is not None and not self.awaiting_answer:
            self._apply_sdp(self.choice)
        self.note("answered" + (" with our SDP offer (late offer)" if self.awaiting_answer else ""))

    def _late_offer(self) -> bytes:
        """Our offer for a 200 OK to an INVITE without SDP; the ACK must carry the answer (`on_ack`)."""
        assert self.endpoint is not None
        codecs = sdp.offer_codecs([self.choice.codec] if self.choice else None)
        self.offered = [c for c, _ in codecs]
        self.awaiting_answer = True
        return sdp.build(self._media_address(), self.endpoint.port, codecs, session_id=self.session_id,
                         version=self.sdp_version, direction="sendonly" if self.on_hold else "sendrecv")

    def on_ack(self, req: Request) -> None:
        if self.pending_2xx is not None:
            self.engine.layer.ack_2xx(self.pending_2xx)
            self.pending_2xx = None
        if self.awaiting_answer:
            self.awaiting_answer = False
            try:
                if not req.body:
                    raise sdp.SdpError("the ACK carries no SDP answer")
                choice = sdp.read_answer(sdp.parse(req.body), self.offered)
            except sdp.SdpError as exc:  # RFC 3261 13.3.1.4: a UAS that gets no acceptable answer ends the call
                self.note(f"late offer not answered: {exc}; BYE")
                self._send_bye()
                self._ended_by_far_end("error", f"no usable SDP answer in the ACK: {exc}")
                return
            self.choice = choice
            self._apply_sdp(choice)
            self.note(f"late offer answered in the ACK: {choice.codec} to {choice.remote_host}:{choice.remote_port}")
        if self.state == "answered":
            self.state = "confirmed"
            self.note("ACK")

    def on_cancel(self) -> None:
        if self.state in ("init", "early") and self.invite_tx is not None:
            self.engine.respond(self.invite_tx, 487, to_tag=self.local_tag)
            self.note("CANCEL")
            self._ended_by_far_end("cancel")

    # ------------------------------------------------------------------ outbound

    async def run_outbound(self) -> None:
        from relaybox.media.endpoint import RtpEndpoint

        target = self.target
        assert target is not None
        try:
            self.endpoint = await RtpEndpoint.open(self.engine.media_host)
        except OSError as exc:
            self.note(f"no RTP port: {exc}")
            self._ended_by_far_end("error", "no RTP port")
            return
        if self.state == "ended":
            self._close_media()
            return
        self.media = make_media(self.endpoint, self)
        if self.sink is not None and self.media is not None:
            self.media.attach_media(self.sink)
        local = self.engine.local_host_for(target.addr[0])
        codecs = sdp.offer_codecs(target.codecs)
        self.offered = [c for c, _ in codecs]
        body = sdp.build(self._media_address(local), self.endpoint.port, codecs, session_id=self.session_id)
        self.invite = initial_request(
            "INVITE", target.request_uri, f"<{self._from_uri(local)}>", f"<{self._to_uri()}>", local,
            self.engine.port, target.transport, call_id=self.call_id, from_tag=self.local_tag,
            contact=self.engine.contact_for(target.addr[0], target.transport), extra=target.headers, body=body,
            content_type="application/sdp")
        self.state = "calling"
        self.note(f"INVITE {target.request_uri} via {target.addr[0]}:{target.addr[1]}/{target.transport}")
        self.client_tx = self.engine.send_request(self.invite, target.addr, target.transport, self)

    def _from_uri(self, local: str) -> str:
        assert self.target is not None
        frm = self.target.from_
        if frm.startswith(("sip:", "sips:")):
            return frm
        user = frm or "relaybox"
        return f"sip:{user}@{local}"

    def _to_uri(self) -> str:
        assert self.target is not None
        to = self.target.to
        if to.startswith(("sip:", "sips:")):
            return to
        return self.target.request_uri

    def on_response(self, resp: Response, tx: Transaction | None) -> None:
        method = resp.cseq[1]
        if method == "INVITE" and self.invite is not None and resp.cseq[0] == self.invite.cseq[0]:
            self._invite_response(resp)
        elif method == "INVITE":
            self._reinvite_response(resp)
        elif method == "REFER":
            self._refer_response(resp)
        elif method == "BYE" and self.state != "ended":
            pass

    def _invite_response(self, resp: Response) -> None:
        status = resp.status
        if status < 200:
            if self.cancel_pending:
                self._send_cancel()
            elif status in (180, 183) and self.state == "calling":
                self.state = "early"
                self.note(f"{status}")
                if self.call is not None and self.listener is not None:
                    self.listener.leg_ringing(self.call)
            return
        if status < 300:
            if self.dialog is not None:  # a retransmitted 2xx: ACK again
                self._send_ack()
                return
            assert self.invite is not None
            self.dialog = Dialog.as_uac(self.invite, resp)
            self.dialog.local_contact = self.invite.headers.get("Contact") or ""
            self.engine.legs[(self.call_id, self.local_tag)] = self
            self._send_ack()
            if self.state == "ended" or self.cancel_pending:
                self.state = "answered"
                self._send_bye()
                return
            try:
                self.choice = sdp.read_answer(sdp.parse(resp.body), self.offered)
            except sdp.SdpError as exc:
                self.note(f"bad answer SDP: {exc}")
                self.state = "confirmed"
                self._send_bye()
                self._ended_by_far_end("error", f"unusable SDP answer: {exc}")
                return
            self.state = "confirmed"
            self._apply_sdp(self.choice)
            self.note(f"200 OK ({self.choice.codec})")
            if self.call is not None and self.listener is not None:
                self.listener.leg_answered(self.call)
            return
        if status in (401, 407) and not self.auth_tried and self.target is not None and self.target.trunk \
                and self.target.trunk.username and self.state != "ended":
            self._retry_with_auth(resp)
            return
        self.note(f"{status} {resp.reason}")
        self._ended_by_far_end(end_reason_for(status), f"SIP {status} {resp.reason}")  # after a CANCEL: forgets

    def _retry_with_auth(self, resp: Response) -> None:
        assert self.invite is not None and self.target is not None and self.target.trunk is not None
        self.auth_tried = True
        header = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
        reply = "Authorization" if resp.status == 401 else "Proxy-Authorization"
        trunk = self.target.trunk
        value = authorization(resp.headers.get(header) or "", "INVITE", self.invite.uri, trunk.username or "",
                              trunk.password or "")
        if value is None:
            self._ended_by_far_end("error", "cannot answer the trunk's challenge")
            return
        local = self.engine.local_host_for(self.target.addr[0])
        old = self.invite
        self.invite = initial_request(
            "INVITE", old.uri, (old.headers.get("From") or "").split(";tag=")[0], old.headers.get("To") or "",
            local, self.engine.port, self.target.transport, call_id=self.call_id, cseq=old.cseq[0] + 1,
            from_tag=self.local_tag, contact=old.headers.get("Contact"),
            extra=[*self.target.headers, (reply, value)], body=old.body, content_type="application/sdp")
        self.note(f"{resp.status}: retrying with credentials")
        self.client_tx = self.engine.send_request(self.invite, self.target.addr, self.target.transport, self)

    def _send_ack(self) -> None:
        assert self.dialog is not None and self.invite is not None
        ack = self.dialog.request("ACK", self._via_host(), self.engine.port, self.transport, cseq=self.invite.cseq[0])
        self.engine.send_request(ack, self._dest(), self.transport, None)

    def _send_cancel(self) -> None:
        if self.invite is None or self.dialog is not None:
            return
        self.cancel_pending = False
        self.note("CANCEL")
        assert self.target is not None
        self.engine.send_request(cancel_for(self.invite), self.target.addr, self.target.transport, self)

    def on_timeout(self, tx: Transaction, timer: str) -> None:
        if tx is self.client_tx and self.state in ("calling", "early"):
            self.note(f"no final response (timer {timer})")
            self._ended_by_far_end("noAnswer" if self.state == "early" else "error", "no response from the far end")
        elif tx is self.client_tx:
            self._forget()  # hung up before any provisional: nothing more will come
        elif tx is self.pending_2xx:
            self.note("no ACK for our 200 OK")
            self.pending_2xx = None
            self._send_bye()
            self._ended_by_far_end("error", "the far end never acknowledged the answer")

    # ------------------------------------------------------------------ both

    def hangup(self, reason: str, detail: str | None = None) -> None:
        """The platform ends the call: final response, CANCEL or BYE depending on the state."""
        if self.state == "ended":
            return
        if self.direction == "inbound" and self.state in ("init", "early") and self.invite_tx is not None:
            status = REJECT_STATUS.get(reason, 480)
            self.engine.respond(self.invite_tx, status, to_tag=self.local_tag)
            self.note(f"rejected {status} ({reason})")
        elif self.direction == "outbound" and self.state in ("init", "calling", "early"):
            if self.state == "early":
                self._send_cancel()
            elif self.state == "calling":
                self.cancel_pending = True  # CANCEL waits for a provisional (RFC 3261 9.1); a 2xx gets a BYE
        elif self.state in ("answered", "confirmed"):
            self._send_bye()
        self.state = "ended"
        self._close_media()
        if not self.cancel_pending:
            self._forget()

    def _send_bye(self) -> None:
        if self.dialog is None:
            return
        bye = self.dialog.request("BYE", self._via_host(), self.engine.port, self.transport)
        self.note("BYE sent")
        self.engine.send_request(bye, self._dest(), self.transport, self)

    def on_bye(self) -> None:
        self.note("BYE received")
        self.pending_2xx = None
        self._ended_by_far_end("hangup")

    def _ended_by_far_end(self, reason: str, detail: str | None = None) -> None:
        if self.state == "ended":
            self._forget()
            return
        self.state = "ended"
        self._close_media()
        self._forget()
        if self.call is not None and self.listener is not None:
            self.listener.leg_ended(self.call, reason, detail)

    def shutdown(self) -> None:
        self._close_media()

    def _forget(self) -> None:
        if self._reliable_timer is not None:
            self._reliable_timer.cancel()
            self._reliable_timer = None
        if self.reliable is not None:
            self.reliable.stop()
        self.engine.legs.pop((self.call_id, self.local_tag), None)

    # ------------------------------------------------------------------ media

    def _media_address(self, local: str | None = None) -> str:
        host = self.engine.media_host
        if host in ("0.0.0.0", "::", ""):
            return local or self.engine.local_host_for(self.addr[0])
        return host

    def _apply_sdp(self, choice: sdp.Choice) -> None:
        """Send and receive as CHOICE says: start the endpoint, or move it (a re-INVITE, an answer in an ACK)."""
        self.held_by_far_end = choice.on_hold
        ep = self.endpoint
        if ep is None:
            return
        if ep.started:
            ep.update(choice.remote_host, choice.remote_port, choice.codec, choice.payload_type,
                      choice.dtmf_payload_type)
        else:
            ep.start(choice.remote_host, choice.remote_port, choice.codec, choice.payload_type,
                     choice.dtmf_payload_type)
        ep.hold(choice.on_hold or self.on_hold)

    def _close_media(self) -> None:
        if self.media is not None:
            close = getattr(self.media, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("sip: closing call media failed")
            self.media = None
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None

    def attach_media(self, sink: MediaSink) -> None:
        self.sink = sink
        if self.media is not None:
            self.media.attach_media(sink)

    def hear(self, entry: dict[str, Any]) -> None:
        kind = entry.get("type")
        if kind in ("hold", "unhold"):
            self.hold(kind == "hold")
        if self.media is not None:
            self.media.hear(entry)

    def cue(self, name: str) -> None:
        if self.media is not None:
            self.media.cue(name)

    def bridge_to(self, other: Any) -> bool:
        """Connect: bridge this leg's audio to OTHER's (a leg or a CallMedia); False without real audio."""
        if self.media is None:
            return False
        return bool(self.media.bridge_to(getattr(other, "media", other)))

    def __getattr__(self, name: str) -> Any:
        if name in MEDIA_CAPABILITIES:
            media = self.__dict__.get("media")
            if media is not None:
                return getattr(media, name)
        raise AttributeError(name)

    # ------------------------------------------------------------------ re-INVITE (hold)

    def on_reinvite(self, req: Request, tx: Transaction) -> None:
        assert self.dialog is not None
        if not self.dialog.check_remote_cseq(req):
            self.engine.respond(tx, 500, "CSeq out of order")
            return
        if self.state not in ("answered", "confirmed"):
            self.engine.respond(tx, 491)
            return
        if not req.body:  # a late offer in a re-INVITE (a session refresh, a PBX asking where we are)
            self.dialog.update_target(req)
            self.sdp_version += 1
            self.engine.respond(tx, 200, to_tag=self.local_tag, body=self._late_offer(),
                                content_type="application/sdp", extra=[("Contact", self.dialog.local_contact)])
            self.pending_2xx = tx
            tx.context = self
            self.note("re-INVITE without SDP: our offer in the 200 OK")
            return
        prefs = [self.choice.codec] if self.choice else None
        try:
            offer = sdp.parse(req.body)
            choice = sdp.negotiate_answer(offer, prefs)
        except sdp.SdpError as exc:
            self.engine.respond(tx, 488, extra=[("Warning", f'304 relaybox "{exc}"')])
            return
        self.dialog.update_target(req)
        self.offer, self.choice = offer, choice
        self.sdp_version += 1
        body = sdp.answer_for(offer, choice, self._media_address(), self.endpoint.port if self.endpoint else 9,
                              hold=self.on_hold, session_id=self.session_id, version=self.sdp_version)
        self.engine.respond(tx, 200, to_tag=self.local_tag, body=body, content_type="application/sdp",
                            extra=[("Contact", self.dialog.local_contact)])
        self.pending_2xx = tx
        tx.context = self
        self._apply_sdp(choice)
        self.note("re-INVITE: " + ("held by the far end" if choice.on_hold else "resumed by the far end"))

    def hold(self, on: bool) -> None:
        """Put the far end on hold (a=sendonly) or take it off (a=sendrecv) with a re-INVITE."""
        if self.state not in ("answered", "confirmed") or self.dialog is None or self.choice is None:
            return
        if on == self.on_hold:
            return
        self.on_hold = on
        self.sdp_version += 1
        body = sdp.build(self._media_address(), self.endpoint.port if self.endpoint else 9,
                         [(self.choice.codec, self.choice.payload_type)], dtmf_pt=self.choice.dtmf_payload_type or 101,
                         direction="sendonly" if on else "sendrecv", session_id=self.session_id,
                         version=self.sdp_version)
        req = self.dialog.request("INVITE", self._via_host(), self.engine.port, self.transport, body=body,
                                  content_type="application/sdp")
        self.note("re-INVITE sent: " + ("hold" if on else "unhold"))
        self.reinvite_tx = self.engine.send_request(req, self._dest(), self.transport, self)
        self._reinvite = req
        if self.endpoint is not None:
            self.endpoint.hold(on or self.held_by_far_end)

    def _reinvite_response(self, resp: Response) -> None:
        if 200 <= resp.status < 300 and self.dialog is not None:
            ack = self.dialog.request("ACK", self._via_host(), self.engine.port, self.transport, cseq=resp.cseq[0])
            self.engine.send_request(ack, self._dest(), self.transport, None)
            self.dialog.update_target(resp)

    # ------------------------------------------------------------------ REFER

    def refer(self, to: str, headers: list[dict[str, str]], listener: ReferListener) -> None:
        """Ask the far end to call TO (blind transfer); progress comes back as NOTIFY sipfrags."""
        if self.dialog is None or self.state not in ("answered", "confirmed"):
            listener.refer_state("error", "", "")
            return
        extra = [("Refer-To", f"<{to}>"), ("Referred-By", f"<{parse_name_addr(self.dialog.local_uri).uri}>")]
        extra += [(h["name"], h["value"]) for h in headers if h.get("name", "").lower().startswith("x-")]
        req = self.dialog.request("REFER", self._via_host(), self.engine.port, self.transport, extra=extra)
        self.refers[req.cseq[0]] = listener
        self.refer_listener = listener
        self.note(f"REFER to {to}")
        self.engine.send_request(req, self._dest(), self.transport, self)

    def _refer_response(self, resp: Response) -> None:
        listener = self.refers.get(resp.cseq[0])
        if listener is None or resp.status < 200:
            return
        if resp.status < 300:
            listener.refer_state("inProgress", str(resp.status))
        else:
            self.refers.pop(resp.cseq[0], None)
            listener.refer_state("error", str(resp.status))

    def on_notify(self, req: Request) -> None:
        event = (req.headers.get("Event") or "").split(";")[0].strip().lower()
        listener = self.refer_listener
        if event != "refer" or listener is None:
            return
        frag = req.body.decode("utf-8", "replace").strip().split("\r\n")[0].split("\n")[0]
        parts = frag.split()
        if len(parts) < 2 or not parts[1].isdigit():
            return
        code = int(parts[1])
        self.note(f"NOTIFY sipfrag {code}")
        if code < 200:
            return
        state = "success" if code < 300 else {486: "busy", 600: "busy", 408: "noAnswer", 480: "noAnswer",
                                              487: "cancel"}.get(code, "error")
        self.refer_listener = None
        listener.refer_state(state, "202", str(code))

    def on_info(self, req: Request) -> None:
        """SIP INFO DTMF (application/dtmf-relay), for phones that do not send RFC 4733."""
        ctype = (req.headers.get("Content-Type") or "").lower()
        if "dtmf" not in ctype or self.sink is None:
            return
        for line in req.body.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal" and value.strip():
                self.sink.dtmf(value.strip()[0].upper())

    # ------------------------------------------------------------------ addressing

    def _dest(self) -> Addr:
        """Where in-dialog requests go: the first route / remote target, or where the far end is."""
        if self.dialog is not None:
            try:
                uri = parse_uri(self.dialog.next_hop())
            except SipParseError:
                return self.addr
            if self.direction == "inbound":
                return self.addr  # symmetric: the caller's source address (NAT-friendly, and TCP reuses it)
            return (self.engine.resolve_now(uri.host), uri.port or 5060)
        return self.addr

    def _via_host(self) -> str:
        return self.engine.local_host_for(self.addr[0])
