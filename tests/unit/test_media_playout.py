"""CallMedia's outgoing queue: segments in order, 20 ms at a time, loops (ringback) until something else
or their time limit, pause, and gain applied per frame."""

from __future__ import annotations

import numpy as np

from relaybox.media import callmedia
from relaybox.media.callmedia import _Playout, tts_voice


def seg(value: int, n: int) -> np.ndarray:
    return np.full(n, value, dtype=np.int16)


def test_segments_play_in_order_across_frame_boundaries() -> None:
    p = _Playout()
    p.add(seg(1, 100))
    p.add(seg(2, 300))
    first = p.next()
    assert first is not None and list(first[:100]) == [1] * 100 and list(first[100:]) == [2] * 60
    second = p.next()
    assert second is not None and (second == 2).all()
    last = p.next()
    assert last is not None and list(last[:80]) == [2] * 80 and not last[80:].any()
    assert p.next() is None and p.remaining == 0


def test_pause_holds_the_position_and_gain_scales_only_what_asks_for_it() -> None:
    p = _Playout()
    p.add(seg(1000, 320))
    assert p.next(0.5) is not None
    p.paused = True
    assert p.next() is None
    p.paused = False
    out = p.next(0.1)
    assert out is not None and int(out[0]) == 100
    p.add(seg(1000, 160), gain=False)  # keys and beeps keep their level
    out = p.next(0.1)
    assert out is not None and int(out[0]) == 1000


def test_a_loop_repeats_until_something_follows_or_its_time_is_up(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = _Playout()
    p.add(seg(7, 160), loop=True)
    assert all(int(p.next()[0]) == 7 for _ in range(20))  # type: ignore[index]
    p.add(seg(9, 160))  # queued after the loop: the loop ends at the end of its current cycle
    assert int(p.next()[0]) == 7  # type: ignore[index]
    assert int(p.next()[0]) == 9  # type: ignore[index]
    assert p.next() is None
    monkeypatch.setattr(callmedia, "LOOP_SECONDS", 0.1)
    p.add(seg(7, 160), loop=True)
    frames = [p.next() for _ in range(10)]
    assert sum(f is not None for f in frames) == 4  # 0.1 s = 5 frames budget, the last one drops it
    p.add(seg(7, 160), loop=True)
    p.stop_loops()
    assert p.next() is None


def test_tts_voice_from_the_item() -> None:
    assert tts_voice({"language": "en-US", "gender": "male"}) == "en-us+m3"
    assert tts_voice({"language": "fr-FR", "gender": "female"}) == "fr+f3"
    assert tts_voice({"voice": "en-us+klatt4"}) == "en-us+klatt4"
    assert tts_voice({"voice": "x; rm -rf /"}) == "en-us+f3"  # not a voice name: the default
