"""T.30 fax over G.711 audio with Debian's libspandsp2 (through ctypes), and the document conversions
around it: PDF pages -> a fax TIFF (pypdfium2 renders, Pillow writes G4 at 204x196 dpi, 1728 px wide)
and a received TIFF -> PDF (Pillow).

`FaxSession` is sans-I/O: `rx(samples)` feeds what the far end sent, `tx()` gives the next 20 ms to
send; `result` is set once T.30 phase E has run (success, pages, bit rate, the far end's identity).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from relaybox.media import FRAME
from relaybox.media.errors import MediaUnavailable, missing

log = logging.getLogger("relaybox.media")

Samples = npt.NDArray[np.int16]
T30_ERR_OK = 0
FAX_WIDTH = 1728
FAX_DPI = (204, 196)

PhaseE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)

_lib: Any = None


def spandsp() -> Any:
    """The loaded libspandsp (MediaUnavailable naming the Debian package when it is absent)."""
    global _lib
    if _lib is not None:
        return _lib
    name = ctypes.util.find_library("spandsp") or "libspandsp.so.2"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise missing("the fax library libspandsp2", "apt-get install libspandsp2") from None
    vp, ci, cs = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    for fn, res, args in (
        ("fax_init", vp, [vp, ci]), ("fax_free", ci, [vp]), ("fax_get_t30_state", vp, [vp]),
        ("fax_tx", ci, [vp, vp, ci]), ("fax_rx", ci, [vp, vp, ci]), ("fax_set_transmit_on_idle", None, [vp, ci]),
        ("t30_set_tx_file", None, [vp, cs, ci, ci]), ("t30_set_rx_file", None, [vp, cs, ci]),
        ("t30_set_phase_e_handler", None, [vp, PhaseE, vp]), ("t30_get_transfer_statistics", None, [vp, vp]),
        ("t30_set_tx_ident", ci, [vp, cs]), ("t30_get_rx_ident", cs, [vp]),
        ("t30_set_tx_page_header_info", ci, [vp, cs]), ("t30_set_ecm_capability", None, [vp, ci]),
        ("t30_completion_code_to_str", cs, [ci]), ("t30_terminate", None, [vp]),
    ):
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


@dataclass(slots=True)
class FaxResult:
    success: bool
    code: int
    text: str
    pages: int
    bit_rate: int
    remote_identity: str


class FaxSession:
    """One side of a T.30 call. SENDING: transmit TIFF; else receive into TIFF. CALLING: we placed the call
    (we send CNG; the answerer sends CED)."""

    def __init__(self, tiff: Path, *, sending: bool, calling: bool, identity: str = "", header: str = "",
                 ecm: bool = True) -> None:
        lib = spandsp()
        self.lib = lib
        self.sending = sending
        self.tiff = tiff
        self.state = lib.fax_init(None, 1 if calling else 0)
        if not self.state:
            raise MediaUnavailable("libspandsp fax_init failed")
        self.t30 = lib.fax_get_t30_state(self.state)
        lib.fax_set_transmit_on_idle(self.state, 1)
        lib.t30_set_ecm_capability(self.t30, 1 if ecm else 0)
        if identity:
            lib.t30_set_tx_ident(self.t30, identity[:20].encode("ascii", "replace"))
        if header:
            lib.t30_set_tx_page_header_info(self.t30, header[:50].encode("ascii", "replace"))
        path = str(tiff).encode()
        if sending:
            lib.t30_set_tx_file(self.t30, path, -1, -1)
        else:
            lib.t30_set_rx_file(self.t30, path, -1)
        self.result: FaxResult | None = None
        self._handler = PhaseE(self._phase_e)  # keep a reference: spandsp calls it later
        lib.t30_set_phase_e_handler(self.t30, self._handler, None)
        self._buf = np.zeros(FRAME, dtype=np.int16)
        self.closed = False

    def _stats(self) -> tuple[int, int, int, int]:
        stats = (ctypes.c_int * 64)()
        self.lib.t30_get_transfer_statistics(self.t30, ctypes.byref(stats))
        return stats[0], stats[2], stats[3], stats[4]  # bit_rate, pages_tx, pages_rx, pages_in_file

    def _phase_e(self, _state: Any, _user: Any, code: int) -> None:
        bit_rate, tx, rx, _in_file = self._stats()
        text = (self.lib.t30_completion_code_to_str(code) or b"").decode(errors="replace")
        remote = (self.lib.t30_get_rx_ident(self.t30) or b"").decode(errors="replace")
        self.result = FaxResult(code == T30_ERR_OK, code, text, tx if self.sending else rx, bit_rate, remote)
        log.info("fax %s: phase E %s (%s), %d page(s) at %d bit/s", "tx" if self.sending else "rx", code, text,
                 self.result.pages, bit_rate)

    @property
    def pages(self) -> int:
        """Pages transferred so far."""
        if self.closed:
            return self.result.pages if self.result else 0
        _rate, tx, rx, _ = self._stats()
        return tx if self.sending else rx

    def rx(self, samples: Samples) -> None:
        if self.closed:
            return
        data = np.ascontiguousarray(samples, dtype=np.int16)
        self.lib.fax_rx(self.state, data.ctypes.data, len(data))

    def tx(self, n: int = FRAME) -> Samples:
        out = np.zeros(n, dtype=np.int16)
        if not self.closed:
            got = self.lib.fax_tx(self.state, out.ctypes.data, n)
            if got < n:
                out[got:] = 0
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.result is None:
                self.lib.t30_terminate(self.t30)
            self.lib.fax_free(self.state)


# -- documents ---------------------------------------------------------------------------------------

def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise missing("the image library Pillow", "pip install pillow") from None
    return Image


def pdf_to_tiff(pdf: bytes, tiff: Path) -> int:
    """Render every page of PDF into a multi-page G4 fax TIFF; returns the page count."""
    try:
        import pypdfium2
    except ImportError:
        raise missing("the PDF renderer pypdfium2", "pip install pypdfium2") from None
    _pil()
    doc = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in doc:
            width_pt, height_pt = page.get_size()
            scale = FAX_WIDTH / width_pt
            image = page.render(scale=scale, grayscale=True).to_pil()
            rows = max(1, round(height_pt / 72 * FAX_DPI[1]))
            image = image.convert("L").resize((FAX_WIDTH, rows))
            pages.append(image.point(lambda v: 255 if v > 160 else 0).convert("1"))
    finally:
        doc.close()
    if not pages:
        raise ValueError("the PDF has no pages")
    tiff.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(tiff, format="TIFF", compression="group4", dpi=FAX_DPI, save_all=True, append_images=pages[1:])
    return len(pages)


def tiff_pages(tiff: Path) -> int:
    Image = _pil()
    with Image.open(tiff) as im:
        return int(getattr(im, "n_frames", 1))


def tiff_to_pdf(tiff: Path) -> bytes:
    """A received fax TIFF as a PDF (one page per TIFF page, at the fax's resolution)."""
    Image = _pil()
    out = io.BytesIO()
    with Image.open(tiff) as im:
        frames = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(im.convert("1").copy())
    frames[0].save(out, format="PDF", resolution=float(FAX_DPI[0]), save_all=True, append_images=frames[1:])
    return out.getvalue()
