"""The recordings spool (`_spool`, C): a thread that opens, writes, finishes and drops files in order."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from relaybox.media import _spool


def test_writes_land_in_order_and_finish_puts_the_header_and_renames(tmp_path: Path) -> None:
    part, path = tmp_path / "deep" / "er" / "a.wav.part", tmp_path / "deep" / "er" / "a.wav"
    f = _spool.File(str(part), str(path))
    f.write(b"HHHH")
    f.write(np.arange(4, dtype="<i2"))  # any buffer: copied when handed over
    buf = bytearray(b"xyz")
    f.write(buf)
    buf[:] = b"!!!"  # changing it afterwards does not change the file
    f.finish(b"AB")
    f.wait()
    assert not part.exists()
    assert path.read_bytes() == b"ABHH" + np.arange(4, dtype="<i2").tobytes() + b"xyz"


def test_finish_without_header_keeps_the_bytes_as_written(tmp_path: Path) -> None:
    f = _spool.File(str(tmp_path / "b.part"), str(tmp_path / "b.mp3"))
    for k in range(100):
        f.write(bytes([k]) * 1000)
    f.finish(None)
    f.wait()
    data = (tmp_path / "b.mp3").read_bytes()
    assert len(data) == 100_000 and data[::1000] == bytes(range(100))


def test_a_disk_error_is_raised_by_wait_with_the_path_and_drop_cleans_up(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a folder should be")
    f = _spool.File(str(tmp_path / "taken" / "r.part"), str(tmp_path / "taken" / "r.wav"))
    f.write(b"data")  # skipped: the file never opened
    f.finish(b"h")
    with pytest.raises(OSError) as raised:
        f.wait()
    assert raised.value.errno in (20, 17)  # ENOTDIR (or EEXIST on the folder's creation)
    assert "taken" in str(raised.value.filename)
    f.drop()
    with pytest.raises(OSError):
        f.wait()  # the error stays the file's
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_drop_removes_the_part_file(tmp_path: Path) -> None:
    f = _spool.File(str(tmp_path / "c.part"), str(tmp_path / "c.wav"))
    f.write(b"123")
    f.drop()
    f.wait()
    assert list(tmp_path.iterdir()) == []


def _open_on(path: Path) -> int:
    """How many of this process's descriptors are open on PATH."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, gone already
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return links.count(str(path))


def test_a_file_collected_unfinished_is_closed_with_its_audio(tmp_path: Path) -> None:
    f = _spool.File(str(tmp_path / "d.part"), str(tmp_path / "d.wav"))
    f.write(b"so far")
    f.wait()
    assert _open_on(tmp_path / "d.part") == 1
    del f
    gc.collect()
    witness = _spool.File(str(tmp_path / "e.part"), str(tmp_path / "e.wav"))
    witness.drop()
    witness.wait()  # the spool works in order: the collected file's close came first
    assert (tmp_path / "d.part").read_bytes() == b"so far"
    assert _open_on(tmp_path / "d.part") == 0


def test_nothing_more_once_finished_and_bad_arguments(tmp_path: Path) -> None:
    f = _spool.File(str(tmp_path / "x.part"), str(tmp_path / "x"))
    f.finish(None)
    with pytest.raises(ValueError, match="already finished"):
        f.write(b"late")
    with pytest.raises(ValueError, match="already finished"):
        f.finish(None)
    f.wait()
    assert (tmp_path / "x").read_bytes() == b""
    with pytest.raises(TypeError):
        _spool.File(1, 2)
    with pytest.raises(TypeError):
        _spool.File(str(tmp_path / "a.part"), str(tmp_path / "a")).write("text is not a buffer")


def test_wait_releases_the_gil_while_the_thread_writes(tmp_path: Path) -> None:
    files = [_spool.File(str(tmp_path / f"{i}.part"), str(tmp_path / f"{i}.wav")) for i in range(50)]
    block = bytes(64_000)
    for f in files:
        for _ in range(10):
            f.write(block)
        f.finish(None)
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    files[-1].wait()
    stop.set()
    counter.join()
    assert ticks > 0 and all((tmp_path / f"{i}.wav").stat().st_size == 640_000 for i in range(50))
