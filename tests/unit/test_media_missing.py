"""A missing piece of the media stack fails with a message naming it and how to install it: libspandsp2
(fax), espeak-ng (TTS), pocketsphinx (speech recognition), webrtcvad (voice activity), miniaudio (WAV/MP3
decoding), lameenc. Absence is simulated (the pieces are installed here)."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from relaybox.engines.audio import AudioRenderer, decode_audio
from relaybox.media import asr, audiofiles, check, fax, speech
from relaybox.media.errors import MediaUnavailable


def test_everything_is_installed_here() -> None:
    assert check.missing_components() == []


def no_spandsp(monkeypatch: pytest.MonkeyPatch) -> None:
    def cdll(name: str, *a: Any, **k: Any) -> Any:
        if "spandsp" in name:
            raise OSError(f"{name}: cannot open shared object file")
        return real(name, *a, **k)

    real = ctypes.CDLL
    monkeypatch.setattr(fax, "_lib", None)
    monkeypatch.setattr(ctypes, "CDLL", cdll)


def test_missing_libspandsp2_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    no_spandsp(monkeypatch)
    with pytest.raises(MediaUnavailable, match=r"libspandsp2 is not installed: run scripts/setup-media.sh "
                                                r"\(apt-get install libspandsp2\)"):
        fax.spandsp()
    assert any("libspandsp2" in m for m in check.missing_components())


def test_missing_espeak_ng_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "espeak-ng" else real_which(name))
    renderer = AudioRenderer(tmp_path)
    with pytest.raises(MediaUnavailable, match=r"espeak-ng is not installed: run scripts/setup-media\.sh"):
        renderer.speech("hello", "en-us")
    with pytest.raises(MediaUnavailable, match=r"apt-get install espeak-ng"):
        renderer.check("wav")
    assert [m for m in check.missing_components() if "espeak-ng" in m] == [
        "the offline TTS espeak-ng is not installed: run scripts/setup-media.sh (apt-get install espeak-ng)"]


def hide_module(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == name else real(n, *a))


def test_missing_pocketsphinx_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "pocketsphinx")
    monkeypatch.setattr(speech.Recognizer, "_shared", None)
    with pytest.raises(MediaUnavailable, match=r"pocketsphinx is not installed: run scripts/setup-media.sh "
                                                r"\(pip install pocketsphinx\)"):
        speech.Recognizer()
    with pytest.raises(MediaUnavailable, match="pocketsphinx"):
        asr._load()  # what the worker process runs first: the error crosses back to the caller as is
    assert any("pip install pocketsphinx" in m for m in check.missing_components())


def test_missing_webrtcvad_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "webrtcvad")
    with pytest.raises(MediaUnavailable, match=r"webrtcvad is not installed: .*pip install webrtcvad-wheels"):
        speech.Utterances()
    assert any("webrtcvad-wheels" in m for m in check.missing_components())


def test_missing_miniaudio_is_named_by_both_decoders(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "miniaudio")
    named = r"the audio decoder miniaudio is not installed: run scripts/setup-media\.sh \(pip install miniaudio\)"
    with pytest.raises(MediaUnavailable, match=named):
        audiofiles.decode(b"RIFF\x00\x00\x00\x00WAVE")  # the real-audio engine's plays
    with pytest.raises(MediaUnavailable, match=named):
        decode_audio(b"ID3\x03\x00")  # the sandbox's plays, recordings and taps
    assert [m for m in check.missing_components() if "miniaudio" in m] == [
        "the audio decoder miniaudio is not installed: run scripts/setup-media.sh (pip install miniaudio)"]


def test_missing_lameenc_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "lameenc")
    assert any("pip install lameenc" in m for m in check.missing_components())


def test_the_media_error_survives_the_trip_from_the_worker_process() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(MediaUnavailable("the speech recogniser pocketsphinx is not installed")))
    assert isinstance(err, MediaUnavailable) and "pocketsphinx" in str(err)
