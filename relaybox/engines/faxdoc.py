"""Fax documents: count the pages of a PDF fetched over HTTP(S), and write the multi-page PDF a
virtual fax machine sends (served by relaybox under /media/faxes/)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
FETCH_SECONDS = 15.0
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_COUNT = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", re.S)


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF; ValueError when it is not one."""
    if not data.lstrip()[:5] == b"%PDF-":
        raise ValueError("the document is not a PDF")
    pages = len(_PAGE.findall(data))
    if pages:
        return pages
    counts = [int(a or b) for a, b in _COUNT.findall(data)]
    if counts:
        return max(counts)
    raise ValueError("the PDF has no pages that can be counted")


def make_pdf(lines_per_page: list[list[str]]) -> bytes:
    """A minimal valid PDF (Helvetica text), one page per entry."""
    objects: list[bytes] = []
    n = len(lines_per_page)
    font_id = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    for i, lines in enumerate(lines_per_page):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        text = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines
        ) + " ET"
        stream = text.encode("latin-1", errors="replace")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class FaxDocuments:
    """Implements the domain's `FaxDocs`: page counts of sent documents, storage of received ones."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def count_pages(self, url: str) -> int:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status != 200:
                raise ValueError(f"fetching the document answered HTTP {resp.status}")
            data = await resp.content.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError("the document is larger than 50 MB")
        return pdf_pages(data)

    def store_received(self, pages: int, sender: str, receiver: str) -> str:
        """Write the document a fax machine sent; returns its file name."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_urlsafe(24)}.pdf"
        doc = make_pdf(
            [[f"Fax from {sender} to {receiver}", f"Page {i} of {pages}", "Sent by a relaybox sandbox fax machine."]
             for i in range(1, pages + 1)]
        )
        (self.directory / name).write_bytes(doc)
        return name
