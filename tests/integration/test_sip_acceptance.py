"""Issue 7's acceptance checks on loopback, end to end with real SIP and RTP:

* an inbound call from sipp answered by the official v2 Python client, which records (stereo), prompts with
  TTS and collects keys sent both as in-band tones and as RFC 4733 events; the recording transcribed back
  with the recogniser holds what the caller said and what relaybox said;
* a fax sent from one relaybox to another over SIP (T.30 over G.711 RTP, spandsp) arrives with the sent
  PDF's page count;
* a tap of a SIP call: RTP G.711 to a local UDP socket, decoded, non-silent and matching what was played.
"""

from __future__ import annotations

import contextlib
import io
import sys
import urllib.request
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import VENVS, Background, client_env, require_client
from test_sip_calls import (  # noqa: F401 - relaybox is a fixture
    OFFICE,
    PCAP_DIR,
    SIPP_DIR,
    _free_udp_tcp_port,
    add_trunk,
    relaybox,
    scenario,
    second_relaybox,
    sipp,
    sipp_in_background,
    sipp_log,
)

from relaybox.engines.audio import AudioRenderer
from relaybox.media import FRAME, RATE
from relaybox.media.speech import Recognizer, Utterance, Utterances
from relaybox.media.tones import dtmf_tone

sys.path.insert(0, str(SIPP_DIR))
from mkpcap import write_pcap

CALLER_VOICE = "en-us+klatt4"  # espeak-ng's voice that pocketsphinx's digit grammar recognises reliably
CALLER_SAYS = "seven eight nine one two three four"
PLATFORM_SAYS = "one two three four"  # the v2 app's goodbye, in the male voice (en-us+m3)


def utterances(samples: np.ndarray) -> list[Utterance]:
    """The speech segments of SAMPLES (8 kHz), as the media engine's VAD finds them."""
    seg = Utterances(hangover=0.5)
    found: list[Utterance] = []
    samples = np.concatenate([samples, np.zeros(RATE, dtype=np.int16)])  # the last one ends too
    for i in range(len(samples) // FRAME):
        event = seg.feed((i + 1) * FRAME / RATE, samples[i * FRAME:(i + 1) * FRAME].copy())
        if isinstance(event, Utterance):
            found.append(event)
    return found


def caller_audio() -> np.ndarray:
    """0.5 s of silence, the caller's sentence, then the keys 5 and 6 as in-band DTMF tones."""
    pcm = AudioRenderer(Path(".")).speech(CALLER_SAYS, CALLER_VOICE)
    speech = np.frombuffer(pcm.tobytes(), dtype=np.int16)
    gap = np.zeros(int(0.15 * RATE), dtype=np.int16)
    parts = [np.zeros(RATE // 2, dtype=np.int16), speech, np.zeros(int(0.8 * RATE), dtype=np.int16)]
    for key in "56":
        parts += [dtmf_tone(key, 0.12), gap]
    return np.concatenate(parts)


def test_official_v2_ivr_collects_inband_and_rfc4733_keys_and_the_recording_transcribes_back(
        relaybox: Any, tmp_path: Path) -> None:  # noqa: F811
    if not Path(PCAP_DIR, "dtmf_2833_7.pcap").exists():
        pytest.skip(f"sip-tester's pcaps are not in {PCAP_DIR}")
    require_client("v2_python")
    seconds = write_pcap(tmp_path / "caller.pcap", caller_audio(), "PCMA")
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")
    env = {**client_env("v2_python", relaybox), "CONTEXT": "office", "STEREO": "1", "DIGITS_MAX": "6",
           "GOODBYE": PLATFORM_SAYS, "GENDER": "male", "END_SILENCE": "20",
           "TERMINATORS": "*"}
    ivr = Background("ivr", [str(VENVS / "sw2" / "bin" / "python"), "-u", str(SIPP_DIR / "ivr_v2.py")], env,
                     tmp_path)
    try:
        ivr.wait_for(r"^READY\b", timeout=20)
        xml = scenario(tmp_path, "uac_speech_keys.xml", pcapdir=PCAP_DIR, callerpcap=str(tmp_path / "caller.pcap"),
                       callerms=int(seconds * 1000) + 300)
        done = sipp(relaybox, tmp_path, "-sf", xml, "-s", OFFICE, "-mp", str(_free_udp_tcp_port()), port=sipp_port,
                    timeout=40)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:] + sipp_log(tmp_path)
        ivr.wait_for(r"^HANGUP ", timeout=15)
    finally:
        ivr.stop()
    lines = ivr.lines
    assert "ANSWERED True" in lines, lines
    # 5 and 6 came as in-band tones in the caller's audio, 7 8 # as RFC 4733 events; the caller's talk
    # before them did not end the keys-only collect
    assert "PROMPT True 5678 #" in lines, lines
    assert "PLAY True" in lines, lines
    record = next(line.split() for line in lines if line.startswith("RECORD "))
    assert record[1] == "True", lines
    started = float(next(line.split()[1] for line in lines if line.startswith("RECORDING ")))
    stopping = float(next(line.split()[1] for line in lines if line.startswith("STOPPING ")))
    with urllib.request.urlopen(record[2], timeout=10) as resp:
        data = resp.read()
    (tmp_path / "recording.wav").write_bytes(data)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
    length = len(pcm) / RATE
    assert abs(length - float(record[3])) < 0.1, (length, record)
    # the whole call is in the recording (no frame lost to a stalled event loop); the record's defaults
    # (end_silence_timeout 1 s, terminators "#*") would end it at the caller's # key, hence the env above
    assert abs(length - (stopping - started)) < 0.6, (length, stopping - started)
    assert length > seconds + 1.0
    caller, platform = pcm[:, 0].copy(), pcm[:, 1].copy()
    recognizer = Recognizer.shared()
    said = utterances(caller)
    assert said, "no speech from the caller in the recording"
    assert recognizer.recognize(said[0].audio, []) == CALLER_SAYS
    heard = utterances(platform)
    assert heard, "no speech from relaybox in the recording"
    assert recognizer.recognize(heard[-1].audio, []) == PLATFORM_SAYS
    # relaybox's prompt came before its goodbye on the right channel, the caller's speech first on the left
    assert len(heard) >= 2 and said[0].start < heard[-1].start


SAID_TO_ALICE = "one two three four"


def test_dial_a_registered_user_carries_media_both_ways_and_a_tap_of_it_decodes(
        relaybox: Any, tmp_path: Path) -> None:  # noqa: F811
    """alice registers (sipp UAS with its RTP echo); relaybox dials sip:alice, taps what it sends to her as
    RTP to a local UDP socket, plays TTS and records what comes back from her: the tap decodes to the
    played audio, and the echo recorded from alice transcribes back to the spoken text."""
    import asyncio
    import socket

    import aiohttp
    from relayws import V4Ws
    from test_sip_calls import register_scenario

    from relaybox.media import g711
    from relaybox.media.rtp import parse

    relaybox.api("POST", "/api/sip-users", {"username": "alice", "password": "alice-pw"})
    uas_port = _free_udp_tcp_port()
    uas = sipp(relaybox, tmp_path, "-sn", "uas", "-rtp_echo", "-mp", str(_free_udp_tcp_port()), port=uas_port,
               background=True, timeout=40)
    tap_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tap_sock.bind(("127.0.0.1", 0))
    tap_sock.setblocking(False)
    packets: list[bytes] = []
    with sipp_in_background(uas, tmp_path), contextlib.closing(tap_sock):
        reg = sipp(relaybox, tmp_path, "-sf", register_scenario(tmp_path, 200), "-key", "user", "alice", "-key",
                   "contact_port", str(uas_port), "-au", "alice", "-ap", "alice-pw", port=_free_udp_tcp_port())
        assert reg.returncode == 0, reg.stdout.decode(errors="replace")[-3000:]

        async def app() -> dict[str, Any]:
            loop = asyncio.get_running_loop()
            async with aiohttp.ClientSession() as http:
                ws = await V4Ws.open(http, relaybox.ws_url)
                await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
                device = {"type": "sip", "params": {"to": "sip:alice@127.0.0.1", "from": "sip:app@relaybox"}}
                await ws.command("calling.dial", {"tag": "alice", "devices": [[device]]})
                dialed = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.dial")
                                                         if e["params"]["dial_state"] != "dialing"), None),
                                           timeout=15)
                assert dialed["dial_state"] == "answered", dialed
                ids = {"call_id": dialed["call"]["call_id"], "node_id": dialed["call"]["node_id"]}
                await ws.command("calling.tap", {**ids, "control_id": "t", "tap": {
                    "type": "audio", "params": {"direction": "listen"}}, "device": {
                    "type": "rtp", "params": {"addr": "127.0.0.1", "port": tap_sock.getsockname()[1],
                                              "codec": "PCMU"}}})
                await ws.command("calling.record", {**ids, "control_id": "r", "record": {"audio": {
                    "format": "wav", "direction": "speak", "initial_timeout": 10, "end_silence_timeout": 10,
                    "terminators": ""}}})
                await ws.command("calling.play", {**ids, "control_id": "p", "play": [
                    {"type": "tts", "params": {"text": SAID_TO_ALICE, "voice": CALLER_VOICE}}]})
                end = loop.time() + 15
                while not any(e["params"].get("state") == "finished" for e in ws.events("calling.call.play")):
                    assert loop.time() < end, ws.events("calling.call.play")
                    with contextlib.suppress(BlockingIOError):
                        while True:
                            packets.append(tap_sock.recv(2048))
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.6)
                await ws.command("calling.record.stop", {**ids, "control_id": "r"})
                await ws.command("calling.tap.stop", {**ids, "control_id": "t"})
                record = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.record")
                                                         if e["params"].get("state") == "finished"), None),
                                           timeout=10)
                with contextlib.suppress(BlockingIOError):
                    while True:
                        packets.append(tap_sock.recv(2048))
                await ws.command("calling.end", {**ids, "reason": "hangup"})
                await ws.wait_state(ids["call_id"], "ended")
                await ws.close()
                return dict(record)

        record = asyncio.run(app())
    played = np.frombuffer(AudioRenderer(Path(".")).speech(SAID_TO_ALICE, CALLER_VOICE).tobytes(), dtype=np.int16)
    # the tap: RTP PCMU, in sequence order, decoded
    assert len(packets) > len(played) / FRAME, len(packets)
    rtp = sorted((parse(p) for p in packets), key=lambda r: r.seq)
    assert {r.payload_type for r in rtp} == {0}
    tapped = np.concatenate([g711.decode(r.payload, "PCMU") for r in rtp]).astype(np.float64)
    assert np.sqrt((tapped ** 2).mean()) > 300  # not silence
    ref = played.astype(np.float64)
    corr = np.correlate(tapped, ref, "valid")
    energy = np.sqrt(np.convolve(tapped ** 2, np.ones(len(ref)), "valid"))
    best = float((corr / (energy * np.linalg.norm(ref) + 1e-9)).max())
    assert best > 0.9, best  # the tap is what was played
    # what came back from alice (her RTP echo of the TTS) transcribes back to the spoken text
    with urllib.request.urlopen(record["url"], timeout=10) as resp, wave.open(io.BytesIO(resp.read())) as w:
        heard = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    segments = utterances(heard)
    assert segments, "nothing came back from alice"
    assert Recognizer.shared().recognize(segments[0].audio, []) == SAID_TO_ALICE


def test_fax_from_one_relaybox_to_another_arrives_with_the_same_page_count(
        relaybox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """relaybox A dials a number routed over a SIP trunk to relaybox B (two processes); B's application
    answers and receives a fax, A's sends a 3-page PDF: real T.30 (spandsp) over G.711 RTP. The PDF that B
    stores has 3 pages, and both sides report 3 pages."""
    import asyncio
    import functools
    import http.server
    import threading

    import aiohttp
    from relayws import V4Ws
    from test_sip_calls import TRUNKED

    from relaybox.engines.faxdoc import make_pdf, pdf_pages
    from relaybox.media.fax import spandsp

    spandsp()  # fails naming libspandsp2 when it is missing
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "sent.pdf").write_bytes(make_pdf([["relaybox fax page one"], ["page two"], ["page three", "end"]]))
    assert pdf_pages((docs / "sent.pdf").read_bytes()) == 3
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(docs)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    document = f"http://127.0.0.1:{server.server_address[1]}/sent.pdf"

    box_b, b_sip = second_relaybox(tmp_path, monkeypatch)

    async def fax_event(ws: V4Ws, state: str) -> dict[str, Any]:
        return dict(await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.fax")
                                                    if e["params"].get("state") in (state, "error")), None),
                                      timeout=120))

    async def run() -> tuple[dict[str, Any], dict[str, Any], list[int], bytes]:
        async with aiohttp.ClientSession() as http_session:
            wa = await V4Ws.open(http_session, relaybox.ws_url)
            await wa.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
            wb = await V4Ws.open(http_session, box_b.ws_url)
            await wb.connect(contexts=["office"], project=box_b.project, token=box_b.token)
            device = {"type": "phone", "params": {"to_number": TRUNKED, "from_number": OFFICE}}
            await wa.command("calling.dial", {"tag": "fax", "devices": [[device]]})
            offer = await wb.wait_for(lambda: next((e["params"] for e in wb.events("calling.call.receive")), None),
                                      timeout=15)
            b_ids = {"call_id": offer["call_id"], "node_id": offer["node_id"]}
            await wb.command("calling.answer", b_ids)
            await wb.command("calling.receive_fax", {**b_ids, "control_id": "rx"})
            dialed = await wa.wait_for(lambda: next((e["params"] for e in wa.events("calling.call.dial")
                                                     if e["params"]["dial_state"] != "dialing"), None), timeout=15)
            assert dialed["dial_state"] == "answered", dialed
            a_ids = {"call_id": dialed["call"]["call_id"], "node_id": dialed["call"]["node_id"]}
            await wa.command("calling.send_fax", {**a_ids, "control_id": "tx", "document": document,
                                                  "identity": "+15550001111"})
            sent = await fax_event(wa, "finished")
            received = await fax_event(wb, "finished")
            pages = [e["params"]["fax"]["params"]["number"] for e in wb.events("calling.call.fax")
                     if e["params"].get("state") == "page"]
            pdf = b""
            if received.get("state") == "finished":  # B serves the PDF it stored
                async with http_session.get(received["fax"]["params"]["document"]) as resp:
                    assert resp.status == 200
                    pdf = await resp.read()
            await wa.command("calling.end", {**a_ids, "reason": "hangup"})
            await wa.wait_state(a_ids["call_id"], "ended")
            await wa.close()
            await wb.close()
            return sent, received, pages, pdf

    try:
        add_trunk(relaybox, "box-b", b_sip, ["+1555999"])  # A: numbers +1555999... go to B
        add_trunk(box_b, "box-a", relaybox.sip_port)  # B: trusts A's SIP address
        box_b.add_number(TRUNKED, "office")
        sent, received, pages, pdf = asyncio.run(run())
    finally:
        server.shutdown()
        assert box_b.stop() == 0, box_b.log()
    rx = received["fax"]["params"]
    tx = sent["fax"]["params"]
    assert sent["state"] == "finished" and tx["success"] and tx["pages"] == 3, sent
    assert received["state"] == "finished" and rx["success"] and rx["pages"] == 3, received
    assert rx["remote_identity"] == "+15550001111"
    assert pages == [1, 2, 3]
    assert pdf_pages(pdf) == 3


def test_speech_collect_on_a_sip_call_is_recognised_by_the_served_worker_process(
        relaybox: Any, tmp_path: Path) -> None:  # noqa: F811
    """A sipp caller says digits; the application's speech collect gets the words, recognised in the
    `relaybox serve` process's ASR worker (a spawned process), not on the event loop."""
    import asyncio

    import aiohttp
    from relayws import V4Ws

    if not Path(PCAP_DIR, "dtmf_2833_7.pcap").exists():
        pytest.skip(f"sip-tester's pcaps are not in {PCAP_DIR}")
    seconds = write_pcap(tmp_path / "caller.pcap", caller_audio(), "PCMA")
    sipp_port = _free_udp_tcp_port()
    add_trunk(relaybox, "sipp", sipp_port)
    relaybox.add_number(OFFICE, "office")
    xml = scenario(tmp_path, "uac_speech_keys.xml", pcapdir=PCAP_DIR, callerpcap=str(tmp_path / "caller.pcap"),
                   callerms=int(seconds * 1000) + 300)
    caller = sipp(relaybox, tmp_path, "-sf", xml, "-s", OFFICE, "-mp", str(_free_udp_tcp_port()), port=sipp_port,
                  timeout=40, background=True)

    async def app() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            ws = await V4Ws.open(http, relaybox.ws_url)
            await ws.connect(contexts=["office"], project=relaybox.project, token=relaybox.token)
            offer = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.receive")), None),
                                      timeout=15)
            ids = {"call_id": offer["call_id"], "node_id": offer["node_id"]}
            await ws.command("calling.answer", ids)
            answered_at = asyncio.get_running_loop().time()
            await ws.command("calling.collect", {**ids, "control_id": "s", "initial_timeout": 10,
                                                 "speech": {"end_silence_timeout": 0.5, "hints": ["sales"]}})
            result = await ws.wait_for(lambda: next((e["params"] for e in ws.events("calling.call.collect")
                                                     if e["params"].get("final", True) and e["params"].get("result")
                                                     and e["params"]["result"]["type"] != "start_of_input"), None),
                                       timeout=20)
            # the caller's scenario sends its keys after the speech, then waits for our BYE
            await asyncio.sleep(max(0.0, answered_at + seconds + 1.5 - asyncio.get_running_loop().time()))
            await ws.command("calling.end", {**ids, "reason": "hangup"})
            await ws.wait_state(ids["call_id"], "ended")
            await ws.close()
            return dict(result)

    with sipp_in_background(caller, tmp_path, 30):
        result = asyncio.run(app())
    assert result["result"]["type"] == "speech", result
    assert result["result"]["params"]["text"] == CALLER_SAYS, result
