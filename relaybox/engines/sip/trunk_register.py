"""Keeps the trunks that have `register` registered at their carrier: the asyncio glue around the sans-I/O
`relaybox.sip.register.Registration` (one per trunk; its REGISTERs go through the engine's transaction
layer, its refresh/retry deadline is a loop timer)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from relaybox.sip.message import Request, Response
from relaybox.sip.register import Account, Registration
from relaybox.sip.transaction import Transaction

if TYPE_CHECKING:
    from relaybox.engines.sip.engine import SipEngine
    from relaybox.storage.sip import Trunk

log = logging.getLogger("relaybox.sip")

UNREGISTER_WAIT = 2.0  # at shutdown, how long the Expires: 0 REGISTERs may take


class TrunkRegistration:
    """One trunk's registration: the transaction context of its REGISTERs."""

    def __init__(self, engine: SipEngine, trunk: Trunk) -> None:
        self.engine = engine
        self.trunk = trunk
        target = trunk.target
        self.addr = (engine.resolve_now(target.host), target.port or 5060)
        self.transport = target.transport.upper()
        user = trunk.username or ""
        t = ";transport=tcp" if self.transport == "TCP" else ""
        self.machine = Registration(Account(
            registrar=f"sip:{target.host}" + (f":{target.port}" if target.port else "") + t,
            aor=f"sip:{user}@{target.host}", contact=engine.contact_for(self.addr[0], self.transport, user),
            username=user, password=trunk.password or "", expires=trunk.register_expires,
            via_host=engine.local_host_for(self.addr[0]), via_port=engine.port, transport=self.transport))
        self._timer: asyncio.TimerHandle | None = None
        self._reported: str | None = None

    def same_config(self, trunk: Trunk) -> bool:
        t = self.trunk
        return (t.uri, t.username, t.password, t.register_expires) == \
            (trunk.uri, trunk.username, trunk.password, trunk.register_expires)

    def start(self) -> None:
        self._send(self.machine.start(self.engine.now()))

    def stop(self) -> None:
        self._send(self.machine.stop(self.engine.now()))

    def status(self) -> dict[str, Any]:
        m = self.machine
        expires_at = None if m.expires_at is None else round(time.time() + m.expires_at - self.engine.now(), 1)
        return {"state": m.state, "expires_at": expires_at, "last_error": m.last_error}

    # -- the engine's transaction callbacks ------------------------------------------------------------

    def on_response(self, response: Response, tx: Transaction | None) -> None:
        self._send(self.machine.on_response(response, self.engine.now()))

    def on_timeout(self, tx: Transaction, timer: str) -> None:
        if self.machine.pending is not None and tx.request is self.machine.pending:
            self._send(self.machine.on_timeout(self.engine.now()))

    # -- internals -------------------------------------------------------------------------------------

    def _poll(self) -> None:
        self._timer = None
        self._send(self.machine.poll(self.engine.now()))

    def _send(self, requests: list[Request]) -> None:
        for request in requests:
            self.engine.send_request(request, self.addr, self.transport, self)
        self._report()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.machine.deadline
        if deadline is not None and self.engine.loop is not None:
            self._timer = self.engine.loop.call_at(deadline, self._poll)

    def _report(self) -> None:
        """Log a change of state once (a failure as a warning naming the trunk and the reason)."""
        m = self.machine
        key = f"{m.state}:{m.last_error}"
        if key == self._reported or m.state in ("registering", "unregistering"):
            return
        self._reported = key
        if m.last_error and m.state in ("failed", "registered"):
            log.warning("sip: trunk %s: registration failed: %s (retrying in %ds)", self.trunk.name, m.last_error,
                        int((m.deadline or self.engine.now()) - self.engine.now()))
        elif m.state == "registered" and m.expires_at is not None:
            log.info("sip: trunk %s registered as %s (for %ds)", self.trunk.name, self.trunk.username,
                     int(m.expires_at - self.engine.now()))
        elif m.state == "unregistered":
            log.info("sip: trunk %s unregistered", self.trunk.name)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class TrunkRegistrations:
    """All registering trunks, kept in step with the store (`sync` after every trunk change)."""

    def __init__(self, engine: SipEngine) -> None:
        self.engine = engine
        self.by_name: dict[str, TrunkRegistration] = {}

    def sync(self) -> None:
        trunks = {t.name: t for t in self.engine.store.trunks.values() if t.register and t.username}
        for name, reg in list(self.by_name.items()):
            trunk = trunks.get(name)
            if trunk is None or not reg.same_config(trunk):
                del self.by_name[name]
                reg.stop()  # Expires: 0 (its answer still reaches REG: it is the transaction's context)
        for name, trunk in trunks.items():
            if name not in self.by_name:
                reg = self.by_name[name] = TrunkRegistration(self.engine, trunk)
                reg.start()
            else:
                self.by_name[name].trunk = trunk

    def status(self, name: str) -> dict[str, Any] | None:
        reg = self.by_name.get(name)
        return reg.status() if reg is not None else None

    async def close(self) -> None:
        """Unregister every trunk, waiting a moment for the registrars' answers (challenges included)."""
        regs = list(self.by_name.values())
        self.by_name.clear()
        for reg in regs:
            reg.stop()
        deadline = time.monotonic() + UNREGISTER_WAIT
        while time.monotonic() < deadline and any(r.machine.state == "unregistering" for r in regs):
            await asyncio.sleep(0.05)
        for reg in regs:
            reg.cancel_timer()
