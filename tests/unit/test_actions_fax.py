"""calling.send_fax / receive_fax with virtual fax machines, on the ManualClock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mediaworld import World, heard, world

from relaybox.engines.faxdoc import FaxDocuments, make_pdf, pdf_pages

__all__ = ["world"]


class Docs(FaxDocuments):
    """Real storage; page counts from a table instead of HTTP."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.pages: dict[str, int] = {}

    async def count_pages(self, url: str) -> int:
        if url not in self.pages:
            raise ValueError("HTTP 404")
        return self.pages[url]


@pytest.fixture
def docs(world: World, tmp_path: Path) -> Docs:
    d = Docs(tmp_path)
    world.media.fax_docs = d
    world.media.public_url = lambda path: "http://box.test" + path
    return d


def faxes(world: World, control_id: str) -> list[dict[str, Any]]:
    return [e["fax"] for e in world.sub.of(control_id)]


def test_pdf_pages_and_writer() -> None:
    doc = make_pdf([["one"], ["two (2)"], ["three"]])
    assert pdf_pages(doc) == 3
    assert doc.startswith(b"%PDF-1.4") and doc.rstrip().endswith(b"%%EOF")
    with pytest.raises(ValueError):
        pdf_pages(b"<html>")


async def test_send_fax_to_a_fax_machine(world: World, docs: Docs) -> None:
    docs.pages["https://docs.test/a.pdf"] = 3
    phone, cid = await world.answered_call([{"fax": {"pages": 1}}])
    reply = world.execute(
        "calling.send_fax",
        {
            "call_id": cid,
            "control_id": "f",
            "document": "https://docs.test/a.pdf",
            "identity": "+15550001111",
            "header_info": "ACME",
        },
    )
    assert reply["code"] == "200"
    await world.run(20)
    events = faxes(world, "f")
    assert [e["type"] for e in events] == ["page", "page", "page", "finished"]
    assert [e["params"]["number"] for e in events[:3]] == [1, 2, 3]
    final = events[-1]["params"]
    assert final == {
        "direction": "send",
        "identity": "+15550001111",
        "remote_identity": "+15551110000",
        "document": "https://docs.test/a.pdf",
        "success": True,
        "result": "1231",
        "result_text": "",
        "pages": 3,
    }
    assert world.sub.of("f")[-1]["state"] == "finished"
    assert {"type": "fax", "pages": 3} in heard(phone)


async def test_send_fax_failures(world: World, docs: Docs) -> None:
    docs.pages["https://docs.test/a.pdf"] = 1
    _, cid = await world.answered_call()  # a phone, not a fax machine
    world.execute("calling.send_fax", {"call_id": cid, "control_id": "f", "document": "https://docs.test/a.pdf"})
    world.execute("calling.send_fax", {"call_id": cid, "control_id": "g", "document": "https://docs.test/404.pdf"})
    await world.run(11)
    assert faxes(world, "f")[-1]["type"] == "error"
    assert faxes(world, "f")[-1]["params"]["result_text"] == "no fax machine answered"
    assert faxes(world, "g")[-1]["type"] == "error" and "404" in faxes(world, "g")[-1]["params"]["result_text"]
    for bad in ({"document": "file:///etc/passwd"}, {"document": None}, {"document": "https://x/a.pdf", "identity": 5}):
        assert world.execute("calling.send_fax", {"call_id": cid, **bad})["code"] == "400"


async def test_receive_fax_stores_a_real_pdf(world: World, docs: Docs, tmp_path: Path) -> None:
    _, cid = await world.answered_call([{"fax": {"pages": 2}}])
    world.execute("calling.receive_fax", {"call_id": cid, "control_id": "r"})
    await world.run(10)
    events = faxes(world, "r")
    assert [e["type"] for e in events] == ["page", "page", "finished"]
    final = events[-1]["params"]
    assert final["success"] is True and final["pages"] == 2 and final["direction"] == "receive"
    assert final["document"].startswith("http://box.test/media/faxes/")
    stored = tmp_path / final["document"].rsplit("/", 1)[1]
    assert pdf_pages(stored.read_bytes()) == 2


async def test_stop_and_hangup_end_with_error(world: World, docs: Docs) -> None:
    _, cid = await world.answered_call([{"fax": {"pages": 5}}])
    world.execute("calling.receive_fax", {"call_id": cid, "control_id": "s"})
    await world.run(6)
    assert world.execute("calling.receive_fax.stop", {"call_id": cid, "control_id": "s"})["code"] == "200"
    await world.run(0)
    assert faxes(world, "s")[-1]["type"] == "error" and faxes(world, "s")[-1]["params"]["pages"] == 1
    world.execute("calling.receive_fax", {"call_id": cid, "control_id": "h"})
    await world.run(1)
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    assert world.sub.kinds()[-3:] == ["fax:error", "state:ending", "state:ended"]
