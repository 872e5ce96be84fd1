"""Session registry and the session-level commands: connect, setup, receive, resume, expiry."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from types import ModuleType

from relaybox.clock import Clock
from relaybox.domain.platform import Platform
from relaybox.domain.routing import Router
from relaybox.gateway.link import Link
from relaybox.gateway.session import Session
from relaybox.protocol import blade, flat, jsonrpc
from relaybox.protocol.commands import Connect, Setup
from relaybox.protocol.events import Event

log = logging.getLogger("relaybox.gateway")

SESSION_GRACE = 60.0  # wall seconds a detached session waits for its client to come back
RECEIVE_SETTLE = 0.05  # wall seconds between acknowledging a receive and routing work to it


class Gateway:
    def __init__(
        self,
        *,
        clock: Clock,
        router: Router,
        platform: Platform,
        node_id: str,
        check_credentials: Callable[[str, str], bool],
        session_grace: float = SESSION_GRACE,
    ) -> None:
        self.clock = clock
        self.router = router
        self.platform = platform
        self.node_id = node_id
        self.check_credentials = check_credentials
        self.session_grace = session_grace
        self.sessions: dict[str, Session] = {}  # by protocol
        self.links: set[Link] = set()
        self._secret = secrets.token_bytes(32)  # signs v4 authorization_state blobs

    def authorization_state(self, protocol: str) -> str:
        """The opaque blob a v4 client keeps and sends back when it reconnects."""
        mac = hmac.new(self._secret, protocol.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{base64.urlsafe_b64encode(protocol.encode()).decode()}:{mac}"

    def _valid_state(self, protocol: str, blob: str) -> bool:
        return hmac.compare_digest(blob, self.authorization_state(protocol))

    def signature(self, project: str) -> str:
        """Deterministic per project and free of '_' so v2 Node can ask for its protocol back."""
        return hashlib.sha256(f"relaybox:{project}".encode()).hexdigest()[:32]

    # ----------------------------------------------------------------- links

    def open_link(self, link: Link) -> None:
        self.links.add(link)

    def close_link(self, link: Link) -> None:
        link.connection_lost()
        self.links.discard(link)

    # ----------------------------------------------------------------- connect / setup

    def connect(self, link: Link, cmd: Connect) -> None:
        project, token = cmd.project, cmd.token
        if not project or not token or not self.check_credentials(project, token):
            log.warning("%s: authentication failed for project %r", link.peer, project)
            link.send(jsonrpc.error_frame(cmd.req_id, jsonrpc.AUTH_FAILED, "Authentication failed"))
            return
        link.project = project
        if link.dialect is blade:
            previous = self._by_sessionid(cmd.sessionid, project)
            link.sessionid = previous.sessionid if previous else str(uuid.uuid4())
            link.send(
                blade.connect_result(
                    cmd.req_id, sessionid=link.sessionid, node_id=self.node_id, project=project,
                    signature=self.signature(project), restored=previous is not None,
                )
            )
            log.info("%s: v2 client %r authenticated (project %s)", link.peer, cmd.agent, project)
            return
        session = self._resumable(cmd.protocol, project, flat)
        if session is not None and cmd.authorization_state and not self._valid_state(
            session.id, cmd.authorization_state
        ):
            log.warning("%s: authorization_state does not match protocol %s; new session", link.peer, cmd.protocol)
            session = None
        restored = session is not None
        if session is None:
            session = self._new_session(flat, project)
        session.agent = cmd.agent
        link.send(
            flat.connect_result(
                cmd.req_id, protocol=session.id, sessionid=session.sessionid, node_id=self.node_id,
                project=project, signature=self.signature(project), restored=restored,
            )
        )
        self._bind(link, session)  # after the reply: replayed events follow it
        log.info(
            "%s: v4 client %r %s session %s", link.peer, cmd.agent, "resumed" if restored else "opened", session.id
        )
        if restored:
            self.router.announce(session)
        else:
            state = {"authorization_state": self.authorization_state(session.id)}
            session.deliver(Event("signalwire.authorization.state", state))
        if cmd.contexts:
            self.subscribe_later(session, cmd.contexts)

    def setup(self, link: Link, cmd: Setup) -> None:
        assert link.project is not None
        session = self._resumable(cmd.protocol, link.project, blade)
        restored = session is not None
        if session is None:
            session = self._new_session(blade, link.project, link.sessionid)
        link.send(blade.setup_result(cmd.req_id, session.id, self.node_id))
        self._bind(link, session)  # after the reply: buffered events follow it
        log.info("%s: v2 %s session %s", link.peer, "resumed" if restored else "opened", session.id)
        if restored:
            self.router.announce(session)

    def _new_session(self, dialect: ModuleType, project: str, sessionid: str | None = None) -> Session:
        protocol = f"signalwire_{self.signature(project)}_{uuid.uuid4().hex}"
        session = Session(
            dialect=dialect,
            project=project,
            protocol=protocol,
            sessionid=sessionid or uuid.uuid4().hex,
            node_id=self.node_id,
            clock_ts=time.time,
        )
        self.sessions[protocol] = session
        self.router.register(session)
        return session

    def _bind(self, link: Link, session: Session) -> None:
        old = session.link
        if old is not None and old is not link:  # the client is back before we noticed it left
            old.session = None
            old.close(1000, "session taken over by a new connection")
        if link.session is not None and link.session is not session:
            self.detach(link.session)
        link.session = session
        session.attach(link)

    def _resumable(self, protocol: str | None, project: str, dialect: ModuleType) -> Session | None:
        """The session a reconnecting client names, if it is of the same project and dialect."""
        if not protocol:
            return None
        session = self.sessions.get(protocol)
        if session is None or session.dialect is not dialect or not hmac.compare_digest(session.project, project):
            return None
        return session

    def _by_sessionid(self, sessionid: str | None, project: str) -> Session | None:
        if not sessionid:
            return None
        return next(
            (s for s in self.sessions.values() if s.sessionid == sessionid and s.project == project), None
        )

    # ----------------------------------------------------------------- contexts

    def subscribe_later(self, session: Session, contexts: list[str]) -> None:
        """Route work to new contexts a moment after the acknowledgement (clients register handlers late)."""

        def subscribe() -> None:
            if self.sessions.get(session.id) is session:
                added = self.router.subscribe(session, contexts)
                if added:
                    log.info("session %s receives contexts %s", session.id, ", ".join(added))

        asyncio.get_running_loop().call_later(RECEIVE_SETTLE, subscribe)

    # ----------------------------------------------------------------- detach / resume / expiry

    def detach(self, session: Session) -> None:
        session.detach()
        log.info("session %s lost its connection; kept %gs for a resume", session.id, self.session_grace)
        self.platform.session_offline(session.id)
        session.expiry = asyncio.get_running_loop().call_later(self.session_grace, self.end_session, session)

    def end_session(self, session: Session) -> None:
        if self.sessions.pop(session.id, None) is None:
            return
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        log.info("session %s closed", session.id)
        if session.link is not None:
            link = session.link
            session.detach()
            link.session = None
        self.platform.session_gone(session.id)

    def adopt(self, old_protocol: str, session: Session) -> None:
        """A v2 client reconnected with a new protocol but still names its old one: merge them."""
        old = self.sessions.get(old_protocol)
        if old is None or old is session or old.online or old.project != session.project:
            return
        moved = self.platform.session_resumed(old.id, session.id)
        pending = list(old.buffer)
        old.buffer.clear()
        log.info("session %s continues as %s (%d calls)", old.id, session.id, moved)
        self.end_session(old)
        for event in pending:
            session.deliver(event)

    def drop_links(self, protocol: str | None = None) -> int:
        """Close client sockets as a network failure would; their sessions wait for a resume."""
        links = [link for link in self.links if protocol is None or (link.session and link.session.id == protocol)]
        for link in links:
            link.close(1012, "connection dropped by the sandbox")
        return len(links)

    # ----------------------------------------------------------------- shutdown

    def shutdown(self) -> None:
        for link in list(self.links):
            if link.dialect is blade:
                link.send(blade.disconnect_frame("disconnect-" + uuid.uuid4().hex))
            elif link.dialect is flat:
                link.send(flat.disconnect_frame("disconnect-" + uuid.uuid4().hex))
            link.close(1001, "relaybox is shutting down")
        for session in list(self.sessions.values()):
            self.end_session(session)
