"""Speech recognition off the event loop: pocketsphinx in a persistent worker process.

pocketsphinx holds the GIL while it decodes (a 5 s utterance stalled the loop for 3.3 s in a thread),
which delays every call's RTP and SIP. So utterances (8 kHz PCM, a few seconds each) are sent to a
`ProcessPoolExecutor` whose workers each hold one `Recognizer`. The pool starts lazily, on the first
listener (`warm`) or utterance, comes back by itself if a worker dies, and `shutdown()` (the SIP
engine's close) ends it.

Free-form speech (no hints) goes to Whisper (relaybox.media.freeform, the optional `relaybox[freeform]`
extra) when it is installed, else to pocketsphinx's general model; RELAYBOX_FREEFORM forces either.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from relaybox.media import freeform
from relaybox.media.speech import Recognizer, Samples

log = logging.getLogger("relaybox.media")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_warming: Future[bool] | None = None


def workers() -> int:
    """RELAYBOX_ASR_WORKERS, else half the cores (at least one): the rest stays for the media loop."""
    try:
        return max(1, int(os.environ.get("RELAYBOX_ASR_WORKERS", "")))
    except ValueError:
        return max(1, (os.cpu_count() or 2) // 2)


def _load() -> bool:
    Recognizer.shared()  # raises MediaUnavailable (picklable: a RuntimeError) naming pocketsphinx
    if freeform.wanted():  # the listener may want free-form speech: load Whisper now too
        freeform.FreeformRecognizer.shared()
    return True


def _recognize(audio: bytes, hints: Sequence[str] | None) -> str:
    samples = np.frombuffer(audio, dtype=np.int16)
    if hints is None and freeform.wanted():
        return freeform.FreeformRecognizer.shared().transcribe(samples)
    return Recognizer.shared().recognize(samples, hints)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn: a clean interpreter, not a fork of the server's loop, sockets and threads
            _pool = ProcessPoolExecutor(workers(), mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _reset(broken: ProcessPoolExecutor) -> None:
    global _pool, _warming
    with _lock:
        if _pool is broken:
            _pool, _warming = None, None
    broken.shutdown(wait=False, cancel_futures=True)


def warm() -> None:
    """Something listens for speech: start the worker and load the model now, not at the first utterance."""
    global _warming
    pool = _executor()
    with _lock:
        if _warming is None:
            try:
                _warming = pool.submit(_load)
            except (BrokenProcessPool, RuntimeError):
                return


def started() -> bool:
    return _pool is not None


async def recognize(samples: Samples, hints: Sequence[str] | None) -> str:
    """The words in SAMPLES (8 kHz int16), decoded in a worker process; see `Recognizer.recognize` (HINTS
    None: free-form, by Whisper when `freeform.wanted()`)."""
    audio = np.ascontiguousarray(samples, dtype=np.int16).tobytes()
    hint_list = None if hints is None else list(hints)
    for attempt in (1, 2):
        pool = _executor()
        try:
            return await asyncio.wrap_future(pool.submit(_recognize, audio, hint_list))
        except BrokenProcessPool:
            log.warning("speech recogniser worker died; restarting it")
            _reset(pool)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def shutdown() -> None:
    """End the workers (the server's shutdown); a later utterance starts them again."""
    global _pool, _warming
    with _lock:
        pool, _pool, _warming = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
