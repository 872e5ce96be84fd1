"""Fax: `calling.send_fax` (a PDF from a URL, its pages counted) and `calling.receive_fax` (a virtual
fax machine's pages stored as a real PDF served by relaybox), each with `.stop`.

The far end must be a fax machine (a sandbox phone with a `fax` step): it is waited for up to
`ANSWER_SECONDS`. Events: `page` per page, then one `finished` (success true) or `error`; every event
carries `fax.params` with all the fields the clients index, and a top-level `state` for v4.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol

from relaybox.domain.actions.base import Action, CallMedia, MediaService, ok, soon
from relaybox.domain.actions.media import URL
from relaybox.domain.errors import RelayError, bad_request
from relaybox.domain.routing import Subscriber

log = logging.getLogger("relaybox.media")

ANSWER_SECONDS = 10.0  # how long a fax machine's tone is waited for
HANDSHAKE_SECONDS = 2.0
PAGE_SECONDS = 3.0


class FaxDocs(Protocol):
    async def count_pages(self, url: str) -> int: ...

    def store_received(self, pages: int, sender: str, receiver: str) -> str: ...


class FaxAction(Action):
    event_type = "calling.call.fax"

    def __init__(self, media: CallMedia, control_id: str, params: dict[str, Any], direction: str) -> None:
        super().__init__(media, control_id)
        if media.service.fax_docs is None:
            raise RelayError("500", "fax is not available on this server")
        self.direction = direction
        call = self.call
        ours, theirs = (call.from_, call.to) if call.direction == "outbound" else (call.to, call.from_)
        self.identity = ours
        self.remote_identity = theirs
        self.document = ""
        self.pages = 0
        self.sent = 0
        if direction == "send":
            document = params.get("document")
            if not isinstance(document, str) or not URL.match(document):
                raise bad_request(f"'document' must be the http(s) URL of a PDF, got {document!r}")
            self.document = document
            identity = params.get("identity")
            if identity is not None:
                if not isinstance(identity, str) or not identity:
                    raise bad_request("'identity' must be a string")
                self.identity = identity
            header = params.get("header_info")
            if header is not None and not isinstance(header, str):
                raise bad_request("'header_info' must be a string")
            self.header = header or ""
        self._waiting = False
        self.real: Any = None  # T.30 on a real-audio leg (`start_fax`)

    def fax_params(self, success: bool, result: str, text: str) -> dict[str, Any]:
        return {
            "direction": self.direction, "identity": self.identity, "remote_identity": self.remote_identity,
            "document": self.document, "success": success, "result": result, "result_text": text,
            "pages": self.sent,
        }

    def begin(self) -> None:
        start = getattr(self.media.leg, "start_fax", None)  # real audio: T.30 over the call itself
        if start is not None:
            try:
                self.real = start(self.direction, self.document or None, identity=self.identity,
                                  header=getattr(self, "header", ""), on_page=self._real_page,
                                  on_done=self._real_done)
            except Exception as exc:  # the engine cannot fax (libspandsp2 missing...): the event says why
                self._fail("3", str(exc))
            return
        if self.direction == "send":
            self.media.service.spawn(self._fetch())
        else:
            self._await_machine()

    async def _fetch(self) -> None:
        assert self.media.service.fax_docs is not None
        try:
            pages = await self.media.service.fax_docs.count_pages(self.document)
        except Exception as exc:
            if not self.done:
                self._fail("2", f"document error: {exc}")
            return
        if not self.done:
            self.pages = pages
            self._await_machine()

    def _await_machine(self) -> None:
        if self.media.fax is not None:
            self.later(HANDSHAKE_SECONDS, self._next_page)
            return
        self._waiting = True
        self.later(ANSWER_SECONDS, lambda: self._fail("3", "no fax machine answered"))

    def on_fax_tone(self, tone: str, pages: int) -> None:
        if self._waiting:
            self._waiting = False
            self.cancel_timers()
            self.later(HANDSHAKE_SECONDS, self._next_page)

    def _next_page(self) -> None:
        if self.direction == "receive" and not self.pages:
            assert self.media.fax is not None
            self.pages = self.media.fax[1]
        if self.sent >= self.pages:
            self._done()
            return

        def page() -> None:
            self.sent += 1
            self.emit(state="page", fax={"type": "page", "params": {"direction": self.direction,
                                                                     "number": self.sent}})
            self._next_page()

        self.later(PAGE_SECONDS, page)

    def _done(self) -> None:
        if self.direction == "receive":
            assert self.media.service.fax_docs is not None
            try:
                name = self.media.service.fax_docs.store_received(self.pages, self.remote_identity, self.identity)
            except Exception as exc:
                log.exception("call %s: received fax could not be stored", self.call.call_id)
                self._fail("4", f"storage error: {exc}")
                return
            self.document = self.media.service.public_url(f"/media/faxes/{name}")
        else:
            self.media.hear({"type": "fax", "pages": self.pages})
        self.emit(state="finished", fax={"type": "finished", "params": self.fax_params(True, "1231", "")})
        self.close()

    def _fail(self, result: str, text: str) -> None:
        self.emit(state="error", fax={"type": "error", "params": self.fax_params(False, result, text)})
        self.close()

    def stop(self) -> None:
        self._fail("5", "stopped")

    def close(self) -> None:
        super().close()
        if self.real is not None:
            self.real.stop()  # reports nothing more: the action is done

    def _real_page(self, number: int) -> None:
        if not self.done:
            self.sent = number
            self.emit(state="page", fax={"type": "page", "params": {"direction": self.direction, "number": number}})

    def _real_done(self, result: Any, pdf: bytes | None) -> None:
        if self.done:
            return
        self.sent = self.pages = result.pages
        self.remote_identity = result.remote_identity or self.remote_identity
        if not result.success:
            self._fail("2" if result.text.startswith("document error") else "3", result.text)
            return
        if self.direction == "receive":
            directory = getattr(self.media.service.fax_docs, "directory", None)
            try:
                if directory is None or pdf is None:
                    raise ValueError("no received document to store")
                name = f"{secrets.token_urlsafe(24)}.pdf"
                directory.mkdir(parents=True, exist_ok=True)
                (directory / name).write_bytes(pdf)
            except Exception as exc:
                self._fail("4", f"storage error: {exc}")
                return
            self.document = self.media.service.public_url(f"/media/faxes/{name}")
        self.emit(state="finished", fax={"type": "finished", "params": self.fax_params(True, "1231", "")})
        self.close()

    def call_ending(self) -> None:
        self._fail("6", "the call ended")


def handlers(service: MediaService) -> dict[str, Any]:
    def send(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(sub, params, lambda media, cid: FaxAction(media, cid, params, "send"), "Sending fax")

    def receive(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        return service.start(
            sub, params, lambda media, cid: FaxAction(media, cid, params, "receive"), "Receiving fax"
        )

    def stop(sub: Subscriber, params: dict[str, Any]) -> dict[str, Any]:
        action = service.control(sub, params, FaxAction)
        soon(action, action.stop)
        return ok("Stopping", control_id=action.control_id)

    return {
        "calling.send_fax": send,
        "calling.send_fax.stop": stop,
        "calling.receive_fax": receive,
        "calling.receive_fax.stop": stop,
    }
