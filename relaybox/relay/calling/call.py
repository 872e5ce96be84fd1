"""`Relay.Calling.Call`: a connection between SignalWire and another device."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from .._emitter import Emitter, Handler
from .actions import (
    ConnectAction,
    DetectAction,
    FaxAction,
    PlayAction,
    PromptAction,
    RecordAction,
    SendDigitsAction,
    TapAction,
)
from .components import (
    CONNECT_FINAL,
    DETECT_FINAL,
    PLAY_FINAL,
    PROMPT_FINAL,
    Answer,
    Awaiter,
    BaseComponent,
    Connect,
    Detect,
    Dial,
    Disconnect,
    FaxReceive,
    FaxSend,
    Hangup,
    Play,
    Prompt,
    Record,
    SendDigits,
    Tap,
)
from .constants import (
    CallFaxState,
    CallRecordState,
    CallSendDigitsState,
    CallState,
    CallTapState,
    DetectType,
    DisconnectReason,
    MediaType,
    RecordType,
)
from .helpers import prepare_record_params
from .results import (
    AnswerResult,
    ConnectResult,
    DetectResult,
    DialResult,
    DisconnectResult,
    FaxResult,
    HangupResult,
    PlayResult,
    PromptResult,
    RecordResult,
    SendDigitsResult,
    TapResult,
)

if TYPE_CHECKING:
    from . import Calling

Media = dict[str, Any]
Device = dict[str, Any]


def _args(params: dict[str, Any]) -> dict[str, Any]:
    """A method's own arguments (its `locals()`, taken before anything else) without `self`.

    A blocking method and its `_async` twin hand them on alike, so the component alone maps them to the wire.
    """
    return {name: value for name, value in params.items() if name != "self"}


def _tts(text: str, language: str | None, gender: str | None) -> Media:
    media: Media = {"type": MediaType.TTS, "text": text}
    if language:
        media["language"] = language
    if gender:
        media["gender"] = gender
    return media


def _ringtone(name: str, duration: float | None) -> Media:
    media: Media = {"type": MediaType.RINGTONE, "name": name}
    if duration:
        media["duration"] = float(duration)
    return media


class Call:
    """Relay.Calling.Call.

    | property | type | description |
    | --- | --- | --- |
    | `id` | string | The unique identifier of the call. |
    | `call_type` | string | The type of call. Only `phone` is currently supported. |
    | `from_number` | string | The phone number that the call is coming from. |
    | `to_number` | string | The phone number you are attempting to call. |
    | `timeout` | number | The seconds the call rings before being transferred to voicemail. |
    | `state` | string | The current state of the call (created, ringing, answered, ending, ended). |
    | `prev_state` | string | The previous state of the call. |
    | `context` | string | The context the call belongs to. |
    | `active` | boolean | Whether the call is active. |
    | `ended` | boolean | Whether the call has ended. |
    | `answered` | boolean | Whether the call has been answered. |
    | `failed` | boolean | Whether the call has failed. |
    | `busy` | boolean | Whether the call was busy. |

    Also `node_id`, `tag`, `direction`, `peer` (the connected Call) and `device`.

    Events (`call.on(event, callback)`): `stateChange`, `created`, `ringing`, `answered`, `ending`, `ended`;
    `connect.stateChange`, `connect.connecting|connected|failed|disconnected`; `play.stateChange`,
    `play.playing|error|finished`; `record.stateChange`, `record.recording|no_input|finished`; `prompt`;
    `fax.stateChange`, `fax.error|finished|page`; `detect.error|finished|update`; `tap.tapping|finished`;
    `sendDigits.finished`.
    """

    def __init__(self, *, calling: Calling, **kwargs: Any) -> None:
        self.calling = calling
        self.tag: str = str(uuid4())
        self.id: str | None = kwargs.get("call_id")
        self.node_id: str | None = kwargs.get("node_id")
        self.context: str | None = kwargs.get("context")
        self.direction: str | None = kwargs.get("direction")
        self.call_type: str | None = "phone"
        self.from_number: str | None = None
        self.to_number: str | None = None
        self.timeout: int | float | None = None
        device = kwargs.get("device")
        if isinstance(device, dict):
            params: dict[str, Any] = device["params"] if isinstance(device.get("params"), dict) else {}
            self.call_type = device.get("type")
            self.from_number = params.get("from_number", params.get("from"))
            self.to_number = params.get("to_number", params.get("to"))
            self.timeout = params.get("timeout")
        self.prev_state: str | None = None
        self.state: str | None = kwargs.get("call_state")
        self.peer: Call | None = None
        self.failed = False
        self.busy = False
        self.end_reason: str | None = None
        self._seen: set[str] = {self.state} if self.state else set()
        self._events = Emitter(calling.client._tasks)
        self._components: list[BaseComponent] = []
        if self.id is not None:
            calling.add_call(self)

    def __repr__(self) -> str:
        return (
            f"Call(id={self.id!r}, state={self.state!r}, from_number={self.from_number!r}, "
            f"to_number={self.to_number!r}, context={self.context!r})"
        )

    # -- properties ------------------------------------------------------------------------------------

    @property
    def device(self) -> Device:
        device: Device = {
            "type": self.call_type or "phone",
            "params": {"from_number": self.from_number, "to_number": self.to_number},
        }
        if self.timeout is not None:
            device["params"]["timeout"] = self.timeout
        return device

    @property
    def answered(self) -> bool:
        return self.state == CallState.ANSWERED

    @property
    def active(self) -> bool:
        return not self.ended

    @property
    def ended(self) -> bool:
        return self.state in (CallState.ENDING, CallState.ENDED)

    # -- events ----------------------------------------------------------------------------------------

    def on(self, event: str, callback: Handler) -> Call:
        """Attach CALLBACK (called with the event params, or with nothing if it takes no argument)."""
        self._events.on(event, callback)
        return self

    def off(self, event: str, callback: Handler | None = None) -> Call:
        """Remove CALLBACK (by reference), or every callback, of EVENT."""
        self._events.off(event, callback)
        return self

    def _emit(self, event: str, params: Any) -> None:
        self._events.emit(event, params)

    def _register_component(self, component: BaseComponent) -> None:
        if component not in self._components:
            self._components.append(component)

    def _unregister_component(self, component: BaseComponent) -> None:
        if component in self._components:
            self._components.remove(component)

    def _route(self, event_type: str, params: dict[str, Any]) -> None:
        control_id = params.get("control_id")
        for component in list(self._components):
            if component.event_type != event_type:
                continue
            if component.by_control_id and component.control_id != control_id:
                continue
            component.notification_handler(params)

    def _state_changed(self, params: dict[str, Any]) -> None:
        self.prev_state = self.state
        self.state = params["call_state"]
        self._seen.add(self.state)
        if "device" in params and isinstance(params["device"], dict) and self.from_number is None:
            dev = params["device"].get("params") or {}
            self.from_number = dev.get("from_number", dev.get("from"))
            self.to_number = dev.get("to_number", dev.get("to"))
        if params.get("direction"):
            self.direction = params["direction"]
        self._emit("stateChange", params)
        self._emit(self.state, params)
        if self.state == CallState.ENDED:
            self.end_reason = params.get("end_reason", "")
            self.failed = self.end_reason == DisconnectReason.ERROR
            self.busy = self.end_reason == DisconnectReason.BUSY
            for component in list(self._components):
                component.terminate(params)
            self._events.clear()
            self.calling.remove_call(self)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def dial(self) -> DialResult:
        """Start a call created with `new_call` and wait until it is answered or hung up. Returns a DialResult."""
        component = Dial(self)
        await component.wait_for(CallState.ANSWERED, CallState.ENDING, CallState.ENDED)
        return DialResult(component)

    async def answer(self) -> AnswerResult:
        """Answer an inbound call. Returns an AnswerResult."""
        component = Answer(self)
        await component.wait_for(CallState.ANSWERED, CallState.ENDING, CallState.ENDED)
        return AnswerResult(component)

    async def hangup(self, reason: str = "hangup") -> HangupResult:
        """Hang up the call (`reason` defaults to "hangup"). Returns a HangupResult."""
        component = Hangup(self, reason)
        await component.wait_for(CallState.ENDED)
        return HangupResult(component)

    async def connect(
        self, device_list: Sequence[Device | Sequence[Device]], ringback_list: Sequence[Media] | None = None
    ) -> ConnectResult:
        """Connect the call to a new outbound call; wait until a remote party answers or the connect fails.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `device_list` | list | required | List or nested list of dict: a dict is one device tried in series, a nested list devices rung in parallel. |

        Each device dict:

        | key | type | required | description |
        | --- | --- | --- | --- |
        | `call_type` | string | optional | The device type. Only `phone` is currently supported and is the default. |
        | `from_number` | string | optional | The party the call is coming from. Defaults to the `from_number` of the originator call. |
        | `to_number` | string | required | The party you are attempting to connect with. |
        | `timeout` | number | optional | The time, in seconds, the call will ring before going to voicemail. |

        `ringback_list` (optional): media to play to the caller while connecting. Returns a ConnectResult.
        """
        component = Connect(self, list(device_list), list(ringback_list or []))
        await component.wait_for(*CONNECT_FINAL)
        return ConnectResult(component)

    async def connect_async(
        self, device_list: Sequence[Device | Sequence[Device]], ringback_list: Sequence[Media] | None = None
    ) -> ConnectAction:
        """Asynchronous version of `connect`: returns a ConnectAction at once."""
        component = Connect(self, list(device_list), list(ringback_list or []))
        await component.execute()
        return ConnectAction(component)

    async def disconnect(self) -> DisconnectResult:
        """Disconnect (unbridge) a connected call. Returns a DisconnectResult."""
        component = Disconnect(self)
        await component.wait_for(*CONNECT_FINAL[:2])
        return DisconnectResult(component)

    # -- detect ----------------------------------------------------------------------------------------

    async def detect(
        self,
        detect_type: str,
        wait_for_beep: bool = False,
        timeout: float | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
        tone: str | None = None,
        digits: str | None = None,
    ) -> DetectResult:
        """Start a detector and wait until it has finished or failed. Returns a DetectResult.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `detect_type` | string | required | `machine`, `digit` or `fax`. |
        | `timeout` | number | optional | Number of seconds to run the detector. Defaults to 30.0. |
        | `wait_for_beep` | boolean | optional | (machine) Whether to wait until the AM is ready for voicemail delivery. Defaults to false. |
        | `initial_timeout` | number | optional | (machine) Seconds to wait for initial voice before giving up. Defaults to 4.5. |
        | `end_silence_timeout` | number | optional | (machine) Seconds to wait for voice to finish. Defaults to 1.0. |
        | `machine_voice_threshold` | number | optional | (machine) Seconds of voice to decide is a machine. Defaults to 1.25. |
        | `machine_words_threshold` | number | optional | (machine) Words to count to decide is a machine. Defaults to 6. |
        | `digits` | string | optional | (digit) The digits to detect. Defaults to "0123456789#*". |
        | `tone` | string | optional | (fax) The fax tone to detect: `CED` or `CNG`. Defaults to "CED". |

        Defaults left as None are not sent: the server applies the documented default.
        """
        component = Detect(self, **_args(locals()))
        await component.wait_for(*DETECT_FINAL)
        return DetectResult(component)

    async def detect_async(
        self,
        detect_type: str,
        wait_for_beep: bool = False,
        timeout: float | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
        tone: str | None = None,
        digits: str | None = None,
    ) -> DetectAction:
        """Asynchronous version of `detect`: returns a DetectAction at once (see `detect` for parameters)."""
        component = Detect(self, **_args(locals()))
        await component.execute()
        return DetectAction(component)

    async def detect_answering_machine(
        self,
        wait_for_beep: bool = False,
        timeout: float | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
    ) -> DetectResult:
        """Detect who answered: `result.result` is MACHINE, HUMAN or UNKNOWN (parameters as `detect`)."""
        return await self.detect(DetectType.MACHINE, **_args(locals()))

    async def detect_answering_machine_async(
        self,
        wait_for_beep: bool = False,
        timeout: float | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
    ) -> DetectAction:
        """Asynchronous version of `detect_answering_machine`."""
        return await self.detect_async(DetectType.MACHINE, **_args(locals()))

    amd = detect_answering_machine
    amd_async = detect_answering_machine_async

    async def detect_digit(self, digits: str | None = None, timeout: float | None = None) -> DetectResult:
        """Detect digits (`digits` defaults to "0123456789#*", `timeout` to 30.0)."""
        return await self.detect(DetectType.DIGIT, digits=digits, timeout=timeout)

    async def detect_digit_async(self, digits: str | None = None, timeout: float | None = None) -> DetectAction:
        """Asynchronous version of `detect_digit`."""
        return await self.detect_async(DetectType.DIGIT, digits=digits, timeout=timeout)

    async def detect_fax(self, tone: str | None = None, timeout: float | None = None) -> DetectResult:
        """Detect a fax (`tone` CED or CNG, default "CED"; `timeout` default 30.0)."""
        return await self.detect(DetectType.FAX, tone=tone, timeout=timeout)

    async def detect_fax_async(self, tone: str | None = None, timeout: float | None = None) -> DetectAction:
        """Asynchronous version of `detect_fax`."""
        return await self.detect_async(DetectType.FAX, tone=tone, timeout=timeout)

    # -- fax -------------------------------------------------------------------------------------------

    async def fax_receive(self) -> FaxResult:
        """Receive an inbound fax; wait until it has been received or failed. Returns a FaxResult."""
        component = FaxReceive(self)
        await component.wait_for(CallFaxState.ERROR, CallFaxState.FINISHED)
        return FaxResult(component)

    async def fax_receive_async(self) -> FaxAction:
        """Asynchronous version of `fax_receive`: returns a FaxAction."""
        component = FaxReceive(self)
        await component.execute()
        return FaxAction(component)

    @staticmethod
    def _fax_document(url: str | None, document: str | None) -> str:
        doc = document if document is not None else url
        if not doc:
            raise TypeError("fax_send() needs the document URL (`document`, or `url` as in the examples)")
        return doc

    async def fax_send(
        self,
        url: str | None = None,
        identity: str | None = None,
        header: str | None = None,
        *,
        document: str | None = None,
    ) -> FaxResult:
        """Send a fax; wait until it has been sent or failed. Returns a FaxResult.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `document` (or `url`) | string | required | Http(s) URL to the document to send. PDF format only. |
        | `identity` | string | optional | Identity to display on receiving fax. Defaults to SignalWire DID. |
        | `header` | string | optional | Custom string to add to header of each fax page. Set to empty string to disable sending any header. |
        """
        component = FaxSend(self, self._fax_document(url, document), identity, header)
        await component.wait_for(CallFaxState.ERROR, CallFaxState.FINISHED)
        return FaxResult(component)

    async def fax_send_async(
        self,
        url: str | None = None,
        identity: str | None = None,
        header: str | None = None,
        *,
        document: str | None = None,
    ) -> FaxAction:
        """Asynchronous version of `fax_send`: returns a FaxAction."""
        component = FaxSend(self, self._fax_document(url, document), identity, header)
        await component.execute()
        return FaxAction(component)

    # -- play ------------------------------------------------------------------------------------------

    async def play(self, media_list: Sequence[Media], volume: float = 0) -> PlayResult:
        """Play one or more media and wait until the playing has ended. Returns a PlayResult.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `media_list` | list | required | List of media to play (below). |
        | `volume` | float | optional | Volume value between -40dB and +40dB where 0 is unchanged. Default is 0. |

        Media: `{'type': 'audio', 'url'}`; `{'type': 'tts', 'text', 'language'? (default en-US),
        'gender'? (male or female, default female)}`; `{'type': 'silence', 'duration'}`;
        `{'type': 'ringtone', 'name', 'duration'?}`.
        """
        component = Play(self, list(media_list), volume)
        await component.wait_for(*PLAY_FINAL)
        return PlayResult(component)

    async def play_async(self, media_list: Sequence[Media], volume: float = 0) -> PlayAction:
        """Asynchronous version of `play`: returns a PlayAction (stop, pause, resume, volume)."""
        component = Play(self, list(media_list), volume)
        await component.execute()
        return PlayAction(component)

    async def play_audio(self, url: str, volume: float = 0) -> PlayResult:
        """Play an audio file (`url`: http(s) URL; `volume` -40..+40 dB, default 0)."""
        return await self.play([{"type": MediaType.AUDIO, "url": url}], volume)

    async def play_audio_async(self, url: str, volume: float = 0) -> PlayAction:
        """Asynchronous version of `play_audio`."""
        return await self.play_async([{"type": MediaType.AUDIO, "url": url}], volume)

    async def play_silence(self, duration: float) -> PlayResult:
        """Play `duration` seconds of silence."""
        return await self.play([{"type": MediaType.SILENCE, "duration": float(duration)}])

    async def play_silence_async(self, duration: float) -> PlayAction:
        """Asynchronous version of `play_silence`."""
        return await self.play_async([{"type": MediaType.SILENCE, "duration": float(duration)}])

    async def play_ringtone(self, name: str, duration: float | None = None, volume: float = 0) -> PlayResult:
        """Play a ringtone (`name`: a country code such as "us"; `duration` default one iteration; `volume`)."""
        return await self.play([_ringtone(name, duration)], volume)

    async def play_ringtone_async(self, name: str, duration: float | None = None, volume: float = 0) -> PlayAction:
        """Asynchronous version of `play_ringtone`."""
        return await self.play_async([_ringtone(name, duration)], volume)

    async def play_tts(
        self, text: str, language: str | None = None, gender: str | None = None, volume: float = 0
    ) -> PlayResult:
        """Play text to speech (`language` default en-US, `gender` male or female default female, `volume`)."""
        return await self.play([_tts(text, language, gender)], volume)

    async def play_tts_async(
        self, text: str, language: str | None = None, gender: str | None = None, volume: float = 0
    ) -> PlayAction:
        """Asynchronous version of `play_tts`."""
        return await self.play_async([_tts(text, language, gender)], volume)

    # -- prompt ----------------------------------------------------------------------------------------

    async def prompt(
        self,
        prompt_type: str,
        media_list: Sequence[Media],
        initial_timeout: float | None = None,
        volume: float | None = None,
        digits_max: int | None = None,
        digits_terminators: str | None = None,
        digits_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        speech_timeout: float | None = None,
        speech_language: str | None = None,
        speech_hints: list[str] | None = None,
    ) -> PromptResult:
        """Play media while collecting digits and/or speech; wait until collected or timed out.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `prompt_type` | string | required | `digits`, `speech` or `both`. |
        | `media_list` | list | required | List of media elements to play (as for `play`). |
        | `initial_timeout` | number | optional | Initial timeout in seconds. Default to 4 seconds. |
        | `volume` | number | optional | Volume value between -40dB and +40dB where 0 is unchanged. Default is 0. |
        | `digits_max` | number | required (digits) | Max digits to collect. |
        | `digits_terminators` | string | optional | DTMF digits that will end the recording. Default not set. |
        | `digits_timeout` | number | optional | Timeout in seconds between each digit. |
        | `end_silence_timeout` | number | optional | How much silence to wait for end of speech. Default to 1 second. |
        | `speech_timeout` | number | optional | Maximum time to collect speech. Default to 60 seconds. |
        | `speech_language` | string | optional | Language to detect. Default to en-US. |
        | `speech_hints` | array | optional | Array of expected phrases to detect. |

        Returns a PromptResult.
        """
        component = Prompt(self, **_args(locals()))
        await component.wait_for(*PROMPT_FINAL)
        return PromptResult(component)

    async def prompt_async(
        self,
        prompt_type: str,
        media_list: Sequence[Media],
        initial_timeout: float | None = None,
        volume: float | None = None,
        digits_max: int | None = None,
        digits_terminators: str | None = None,
        digits_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        speech_timeout: float | None = None,
        speech_language: str | None = None,
        speech_hints: list[str] | None = None,
    ) -> PromptAction:
        """Asynchronous version of `prompt`: returns a PromptAction (stop, volume)."""
        component = Prompt(self, **_args(locals()))
        await component.execute()
        return PromptAction(component)

    async def prompt_audio(self, prompt_type: str, url: str, **kwargs: Any) -> PromptResult:
        """`prompt` playing the audio file `url` (all other `prompt` parameters accepted)."""
        return await self.prompt(prompt_type, [{"type": MediaType.AUDIO, "url": url}], **kwargs)

    async def prompt_audio_async(self, prompt_type: str, url: str, **kwargs: Any) -> PromptAction:
        """Asynchronous version of `prompt_audio`."""
        return await self.prompt_async(prompt_type, [{"type": MediaType.AUDIO, "url": url}], **kwargs)

    async def prompt_ringtone(
        self, prompt_type: str, name: str, duration: float | None = None, **kwargs: Any
    ) -> PromptResult:
        """`prompt` playing the ringtone `name` for `duration` seconds (default one iteration)."""
        return await self.prompt(prompt_type, [_ringtone(name, duration)], **kwargs)

    async def prompt_ringtone_async(
        self, prompt_type: str, name: str, duration: float | None = None, **kwargs: Any
    ) -> PromptAction:
        """Asynchronous version of `prompt_ringtone`."""
        return await self.prompt_async(prompt_type, [_ringtone(name, duration)], **kwargs)

    async def prompt_tts(
        self, prompt_type: str, text: str, language: str | None = None, gender: str | None = None, **kwargs: Any
    ) -> PromptResult:
        """`prompt` playing text to speech (`language` default en-US, `gender` default female)."""
        return await self.prompt(prompt_type, [_tts(text, language, gender)], **kwargs)

    async def prompt_tts_async(
        self, prompt_type: str, text: str, language: str | None = None, gender: str | None = None, **kwargs: Any
    ) -> PromptAction:
        """Asynchronous version of `prompt_tts`."""
        return await self.prompt_async(prompt_type, [_tts(text, language, gender)], **kwargs)

    # -- record ----------------------------------------------------------------------------------------

    async def record(
        self,
        record_type: str = RecordType.AUDIO,
        beep: bool | None = None,
        record_format: str | None = None,
        stereo: bool | None = None,
        direction: str | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        terminators: str | None = None,
    ) -> RecordResult:
        """Record the call; wait until the recording ends or fails. Returns a RecordResult.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `beep` | boolean | optional | Default to false. |
        | `stereo` | boolean | optional | Default to false. |
        | `record_format` | string | optional | `mp3` or `wav`. Default `mp3`. |
        | `direction` | string | optional | `listen`, `speak` or `both`. Default to `speak`. |
        | `initial_timeout` | number | optional | Seconds until something is heard. Disable with 0. Default 5.0. |
        | `end_silence_timeout` | number | optional | Seconds until caller has stopped speaking. Disable with 0. Default 1.0. |
        | `terminators` | string | optional | DTMF digits that will end the recording. Default `#*`. |
        """
        component = Record(self, prepare_record_params(**_args(locals())))
        await component.wait_for(CallRecordState.NO_INPUT, CallRecordState.FINISHED)
        return RecordResult(component)

    async def record_async(
        self,
        record_type: str = RecordType.AUDIO,
        beep: bool | None = None,
        record_format: str | None = None,
        stereo: bool | None = None,
        direction: str | None = None,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        terminators: str | None = None,
    ) -> RecordAction:
        """Asynchronous version of `record`: returns a RecordAction (`url` known at once)."""
        component = Record(self, prepare_record_params(**_args(locals())))
        result = await component.execute()
        if result and "url" in result:
            component.url = result["url"]
        return RecordAction(component)

    # -- digits and tap --------------------------------------------------------------------------------

    async def send_digits(self, digits: str) -> SendDigitsResult:
        """Send DTMF `digits` (1234567890*#ABCD, w/W for short/long waits). Returns a SendDigitsResult."""
        component = SendDigits(self, digits)
        await component.wait_for(CallSendDigitsState.FINISHED)
        return SendDigitsResult(component)

    async def send_digits_async(self, digits: str) -> SendDigitsAction:
        """Asynchronous version of `send_digits`: returns a SendDigitsAction."""
        component = SendDigits(self, digits)
        await component.execute()
        return SendDigitsAction(component)

    async def tap(
        self,
        audio_direction: str,
        target_type: str,
        target_addr: str | None = None,
        target_port: int | None = None,
        target_ptime: int | None = None,
        target_uri: str | None = None,
        rate: int | None = None,
        codec: str | None = None,
    ) -> TapResult:
        """Stream the call's media to an endpoint; waits until the tap ends. Returns a TapResult.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `audio_direction` | string | required | `listen` what the caller hears, `speak` what the caller says or `both`. |
        | `target_type` | string | required | Protocol to use: `rtp` or `ws`, defaults to `rtp`. |
        | `target_ptime` | number | optional | Packetization time in ms. Same as the tapped media if not set. |
        | `codec` | string | optional | Codec to use. Same as the tapped media if not set. |
        | `target_addr` | string | required (rtp) | RTP IP v4 address. |
        | `target_port` | number | required (rtp) | RTP port. |
        | `target_uri` | string | required (ws) | WebSocket URI. |
        | `rate` | number | optional (ws) | Sample rate. |
        """
        component = Tap(self, **_args(locals()))
        await component.wait_for(CallTapState.FINISHED)
        return TapResult(component)

    async def tap_async(
        self,
        audio_direction: str,
        target_type: str,
        target_addr: str | None = None,
        target_port: int | None = None,
        target_ptime: int | None = None,
        target_uri: str | None = None,
        rate: int | None = None,
        codec: str | None = None,
    ) -> TapAction:
        """Asynchronous version of `tap`: returns a TapAction."""
        component = Tap(self, **_args(locals()))
        await component.execute()
        return TapAction(component)

    # -- waiting ---------------------------------------------------------------------------------------

    def _reached(self, event: str) -> bool | None:
        """True if the call reached EVENT, False if it never can, None if it may still."""
        if event in self._seen or (event == CallState.ENDING and CallState.ENDED in self._seen):
            return True
        if self.state == CallState.ENDED:
            return False
        if (
            self.state in CallState.ALL
            and event in CallState.ALL
            and CallState.ALL.index(event) < CallState.ALL.index(self.state)
        ):
            return True  # passed it (e.g. `ringing` of a call first seen answered)
        return None

    async def wait_for(self, *events: str | Sequence[str]) -> bool:
        """Wait for one of the call state EVENTS; False if the call ends without reaching them.

        `events` may be given as separate arguments or as one list (default: "ended").
        """
        wanted: list[str] = []
        for ev in events:
            if isinstance(ev, str):
                wanted.append(ev)
            else:
                wanted.extend(ev)
        wanted = wanted or [CallState.ENDED]
        outcomes = [self._reached(ev) for ev in wanted]
        if any(o is True for o in outcomes):
            return True
        if all(o is False for o in outcomes):
            return False
        component = Awaiter(self)
        await component.wait_for(*wanted)
        return component.successful

    async def wait_for_ringing(self) -> bool:
        """Wait for the ringing state."""
        return await self.wait_for(CallState.RINGING)

    async def wait_for_answered(self) -> bool:
        """Wait for the answered state."""
        return await self.wait_for(CallState.ANSWERED)

    async def wait_for_ending(self) -> bool:
        """Wait for the ending state."""
        return await self.wait_for(CallState.ENDING)

    async def wait_for_ended(self) -> bool:
        """Wait for the ended state."""
        return await self.wait_for(CallState.ENDED)

    # camelCase spellings used by some documentation examples
    waitFor = wait_for
    waitForEnding = wait_for_ending
