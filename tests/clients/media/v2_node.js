// Media actions on the official RELAY v2 Node client (@signalwire/node 2.6.0), unmodified.
// Dials $TO from $FROM, runs $SCENARIO on the answered call, prints one line per result, hangs up.
// Same scenarios and output lines as v2_python.py (see tests/integration/test_media_v2.py).
const { RelayClient } = require('@signalwire/node')

const FROM = process.env.FROM || '+15551110000'
const TO = process.env.TO || '+15553330000'
const PEER = process.env.PEER || '+15554440000'
const AUDIO = process.env.AUDIO_URL || 'https://example.invalid/a.mp3'
const SCENARIO = process.env.SCENARIO || 'play'
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a === undefined || a === null ? 'None' : a)))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const until = async (action, tries = 100) => { for (let i = 0; i < tries && !action.completed; i++) await sleep(50) }

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

const scenarios = {
  async play (call) {
    const a = await call.playAsync({ media: [{ type: 'audio', url: AUDIO }, { type: 'silence', params: { duration: 1 } }], volume: 2 })
    out('PLAY_ASYNC', a.controlId, (await a.pause()).successful, (await a.resume()).successful, (await a.volume(-3)).successful)
    out('PLAY_STOP', (await a.stop()).successful)
    await until(a)
    out('PLAY_ASYNC_DONE', a.completed, a.state)
    const p = await call.playTTS({ text: 'hello', gender: 'female' })
    out('PLAY_TTS', p.successful, p.event.name)
    out('PLAY_SILENCE', (await call.playSilence(1)).successful)
    out('PLAY_RINGTONE', (await call.playRingtone({ name: 'uk', duration: 2 })).successful)
    out('PLAY_AUDIO', (await call.playAudio(AUDIO)).successful)
    let bad
    try { bad = (await call.playRingtone({ name: 'xx' })).successful } catch (e) { bad = 'threw' }
    out('PLAY_BAD', bad)
    const t = await call.playTTSAsync({ text: 'a longer sentence to stop early' })
    await sleep(50)
    await t.stop()
    await until(t)
    out('PLAY_TTS_ASYNC', t.completed, t.result.successful)
  },
  async prompt (call) {
    const pr = await call.promptTTS({ type: 'digits', text: 'enter pin', digits_max: 4, digits_terminators: '#', digits_timeout: 5 })
    out('PROMPT', pr.successful, pr.type, pr.result, pr.terminator)
    const pr2 = await call.promptAudio({ type: 'speech', url: AUDIO, speech_language: 'en-US', end_silence_timeout: 1 })
    out('PROMPT2', pr2.successful, pr2.type, pr2.result, pr2.confidence)
    const a = await call.promptRingtoneAsync({ type: 'both', name: 'us', duration: 10, digits_max: 2 })
    await until(a)
    out('PROMPT_ASYNC', a.completed, a.result.successful, a.result.type, a.result.result)
    const pr3 = await call.promptTTS({ type: 'digits', text: 'anything?', digits_max: 1, initial_timeout: 1 })
    out('PROMPT_NO_INPUT', pr3.successful, pr3.event ? pr3.event.name : null)
  },
  async detect (call) {
    const d = await call.detectDigit({ digits: '123' })
    out('DIGITDETECT', d.successful, d.result)
    const a = await call.detectDigitAsync({ digits: '123' })
    await call.playTTS({ text: 'go' })
    await sleep(300)
    await a.stop()
    await until(a)
    out('DIGITDETECT_ASYNC', a.completed, a.result.result)
  },
  async amd (call) {
    const d = await call.amd({ wait_for_beep: process.env.BEEP === '1', initial_timeout: 4 })
    out('AMD', d.successful, d.result, d.type)
    const a = await call.amdAsync()
    await until(a)
    out('AMD_ASYNC', a.completed, a.result.result)
  },
  async fax_detect (call) {
    const d = await call.detectFax({ tone: 'CED' })
    out('FAXDETECT', d.successful, d.result)
  },
  async digits (call) {
    out('SEND_DIGITS', (await call.sendDigits('1w2')).successful)
    const a = await call.sendDigitsAsync('3#')
    await until(a)
    out('SEND_DIGITS_ASYNC', a.completed, a.result.successful)
    let bad
    try { bad = (await call.sendDigits('12x')).successful } catch (e) { bad = 'threw' }
    out('SEND_DIGITS_BAD', bad)
  },
  async record (call) {
    const rec = await call.record({ beep: true, format: process.env.FORMAT || 'mp3', direction: 'both', terminators: '#', end_silence_timeout: 1 })
    out('RECORD', rec.successful, rec.url, rec.duration, rec.size)
    const a = await call.recordAsync({ direction: 'speak', format: 'wav' })
    out('RECORD_ASYNC_URL', a.url)
    await call.playTTS({ text: 'thank you, goodbye' })
    await sleep(300)
    await a.stop()
    await until(a)
    out('RECORD_ASYNC', a.completed, a.result.successful, a.result.url, a.result.duration, a.result.size)
  },
  async tap (call) {
    const a = await call.tapAsync({ audio_direction: 'listen', target_type: 'rtp', target_addr: '127.0.0.1', target_port: +process.env.TAP_PORT, codec: 'PCMU' })
    out('TAP_SOURCE', a.sourceDevice.type, a.sourceDevice.params.port)
    await call.playTTS({ text: 'this audio goes to the tap' })
    await a.stop()
    await until(a)
    out('TAP', a.completed, a.result.successful, a.result.destinationDevice.params.port)
  },
  async fax (call) {
    const pages = []
    call.on('fax.page', (c, params) => pages.push(params.fax.params.number))
    const f = await call.faxSend(process.env.DOC_URL, '+15551110000', 'hi')
    out('FAX_SEND', f.successful, f.pages, f.document, f.direction)
    const r = await call.faxReceive()
    out('FAX_RECEIVE', r.successful, r.pages, r.document, r.direction, r.remoteIdentity)
    out('FAX_PAGES', pages.join(','))
    const a = await call.faxReceiveAsync()
    await sleep(200)
    await a.stop()
    await until(a)
    out('FAX_ASYNC_STOPPED', a.completed, a.result.successful)
  },
  async twins (call) {
    const p = await call.play({ media: [{ type: 'tts', params: { text: 'one' } }, { type: 'silence', params: { duration: 0.5 } }], volume: -6 })
    out('PLAY_LIST', p.successful)
    let a = await call.playAudioAsync({ url: AUDIO, volume: 3 })
    await until(a)
    out('PLAY_AUDIO_ASYNC', a.completed, a.result.successful)
    a = await call.playSilenceAsync(0.5)
    await until(a)
    out('PLAY_SILENCE_ASYNC', a.completed, a.result.successful)
    a = await call.playRingtoneAsync({ name: 'de', duration: 1 })
    await until(a)
    out('PLAY_RINGTONE_ASYNC', a.completed, a.result.successful)
    const pr = await call.prompt({ type: 'digits', digits_max: 2 }, { type: 'tts', params: { text: 'pin please' } })
    out('PROMPT_GENERIC', pr.successful, pr.result)
    a = await call.promptAsync({ type: 'digits', digits_max: 1 }, { type: 'silence', params: { duration: 5 } })
    await until(a)
    out('PROMPT_GENERIC_ASYNC', a.completed, a.result.result)
    a = await call.promptAudioAsync({ type: 'digits', digits_max: 1, url: AUDIO })
    await until(a)
    out('PROMPT_AUDIO_ASYNC', a.completed, a.result.result)
    a = await call.promptTTSAsync({ type: 'speech', text: 'say something', end_silence_timeout: 0.5 })
    await until(a)
    out('PROMPT_TTS_ASYNC', a.completed, a.result.type, a.result.result)
    await call.playTTSAsync({ text: 'go' })
    const d = await call.detect({ type: 'digit', digits: '9' })
    out('DETECT_GENERIC', d.successful, d.result)
    await call.playTTSAsync({ text: 'go' })
    a = await call.detectAsync({ type: 'digit', digits: '8', timeout: 2 })
    await until(a)
    out('DETECT_GENERIC_ASYNC', a.completed, a.result.result)
    await call.playTTSAsync({ text: 'go' })
    a = await call.detectFaxAsync({ tone: 'CED' })
    await until(a)
    out('DETECT_FAX_ASYNC', a.completed, a.result.result)
    a = await call.faxSendAsync(process.env.DOC_URL, null, 'twins')
    await until(a, 300)
    out('FAX_SEND_ASYNC', a.completed, a.result.successful, a.result.pages)
    a = await call.promptTTSAsync({ type: 'digits', digits_max: 3, text: 'a long prompt that will be stopped before anyone answers it' })
    const vol = await a.volume(5)
    const stop = await a.stop()
    await until(a)
    out('PROMPT_CONTROLS', vol.successful, stop.successful, a.completed, a.result.successful)
  },
  async connect_fail (call) {
    const c = await call.connect({ devices: [[{ type: 'phone', to: process.env.NOBODY, timeout: 1 }, { type: 'phone', to: process.env.BUSY }]] })
    out('CONNECT_FAIL', c.successful, c.call)
    out('STILL_UP', (await call.playTTS({ text: 'nobody answered' })).successful)
  },
  async amd_thresholds (call) {
    let d = await call.detectAnsweringMachine({ initial_timeout: 5 })
    out('AMD_DEFAULT', d.successful, d.result)
    await call.playTTSAsync({ text: 'again' })
    d = await call.detectAnsweringMachine({ initial_timeout: 5, machine_words_threshold: 2 })
    out('AMD_WORDS_2', d.successful, d.result)
  },
  async record_listen (call) {
    const a = await call.recordAsync({ direction: 'listen', format: 'wav', end_silence_timeout: 1 })
    const p = await call.playAudio(AUDIO)
    await until(a, 200)
    out('RECORD_LISTEN', p.successful && a.result.successful, a.result.url, a.result.duration, a.result.size)
  },
  async record_stereo (call) {
    const a = await call.recordAsync({ stereo: true, direction: 'both', format: 'wav', end_silence_timeout: 1 })
    await call.playTTS({ text: 'this is the platform talking' })
    await until(a, 200)
    out('RECORD_STEREO', a.result.successful, a.result.url, a.result.duration)
  },
  async tap_ws (call) {
    const a = await call.tapAsync({ audio_direction: 'listen', target_type: 'ws', target_uri: process.env.TAP_URI, codec: 'PCMU', rate: 8000 })
    await call.playTTS({ text: 'this audio goes to the websocket tap' })
    await a.stop()
    await until(a)
    out('TAP_WS', a.completed, a.result.successful, a.sourceDevice.type)
  },
  async tap_block (call) {
    const t = await call.tap({ audio_direction: 'speak', target_type: 'rtp', target_addr: '127.0.0.1', target_port: +process.env.TAP_PORT, target_ptime: 40, codec: 'PCMA' })
    out('TAP_BLOCK', t.successful, t.sourceDevice.type, t.destinationDevice.params.ptime, call.state)
  },
  async bad (call) {
    const attempt = async (label, promise) => {
      try {
        const r = await promise
        out(label, r.successful !== undefined ? r.successful : (r.completed && r.result.successful))  // an Action: its result
      } catch (e) { out(label, 'raised', e && e.name) }
    }
    const base = AUDIO.replace(/\/[^/]*$/, '')
    await attempt('BAD_TYPE', call.play({ media: [{ type: 'video', params: { url: AUDIO } }] }))
    await attempt('BAD_URL', call.playAudio('ftp://example.com/a.mp3'))
    await attempt('MISSING_URL', call.playAudio(base + '/missing.mp3'))
    await attempt('JUNK_AUDIO', call.playAudio(base + '/junk.mp3'))
    await attempt('BAD_RINGTONE', call.playRingtone({ name: 'zz' }))
    await attempt('BAD_VOLUME', call.playTTS({ text: 'too loud', volume: 41 }))
    await attempt('BAD_PROMPT_TIMEOUT', call.promptTTS({ type: 'digits', text: 'x', digits_max: 1, initial_timeout: -1 }))
    await attempt('BAD_RECORD_TIMEOUT', call.record({ end_silence_timeout: 99999 }))
    await attempt('BAD_DIGITS', call.sendDigits('1!2'))
    await attempt('BAD_TONE', call.detectFax({ tone: 'XYZ' }))
    await attempt('BAD_TAP', call.tapAsync({ audio_direction: 'listen', target_type: 'rtp', target_addr: '127.0.0.1', target_port: 70000 }))
    await attempt('STILL_PLAYS', call.playTTS({ text: 'still here' }))
    const h = await call.hangup()
    out('HANGUP', h.successful, h.reason)
    await attempt('AFTER_END_PLAY', call.playTTS({ text: 'too late' }))
    await attempt('AFTER_END_DIGITS', call.sendDigits('1'))
  },
  async refer (call) {
    const r = await call.refer({ to: process.env.REFER_TO, headers: [{ name: 'X-Transfer', value: 'yes' }] })
    out('REFER', r.successful, r.referTo, r.referResponseCode, r.referNotifyCode)
    const a = await call.referAsync({ to: process.env.REFER_BUSY })
    await until(a)
    out('REFER_ASYNC', a.completed, a.result.successful, a.result.referNotifyCode)
  },
  async connect (call) {
    const c = await call.connect({ devices: [{ type: 'phone', to: '+15559990000', timeout: 1 }, [{ type: 'phone', to: PEER }]], ringback: { type: 'ringtone', name: 'us' } })
    out('CONNECT', c.successful, c.call ? c.call.id : null, c.call ? c.call.state : null)
    out('PEER_LINKED', !!(call.peer && c.call && call.peer.id === c.call.id), !!(c.call && c.call.peer && c.call.peer.id === call.id))
    out('DISCONNECT', (await call.disconnect()).successful)
    const a = await call.connectAsync({ type: 'phone', to: PEER })
    await until(a)
    out('CONNECT_ASYNC', a.completed, a.result.successful, a.result.call ? a.result.call.id : null)
  }
}

const options = { project: process.env.SW_PROJECT || 'test-project', token: process.env.SW_TOKEN || 'test-token' }
if (process.env.RELAY_HOST) options.host = process.env.RELAY_HOST
const client = new RelayClient(options)
let started = false
let status = 0

client.on('signalwire.error', error => out('ERROR signalwire.error', String(error && error.message || JSON.stringify(error))))
client.on('signalwire.ready', async (client) => {
  if (started) { out('ERROR reconnected'); return }
  started = true
  out('READY')
  try {
    const device = TO.startsWith('sip:') ? { type: 'sip', from: process.env.SIP_FROM || 'sip:app@relaybox.test', to: TO } : { type: 'phone', from: FROM, to: TO }
    const { successful, call } = await client.calling.dial(device)
    out('DIAL', successful, call.id)
    if (successful) {
      await scenarios[SCENARIO](call)
      if (!['ending', 'ended'].includes(call.state)) {
        const h = await call.hangup()
        out('HANGUP', h.successful, h.reason)
      }
    }
  } catch (error) {
    out('ERROR', String(error && error.stack || error))
    status = 1
  }
  await client.disconnect()
  setTimeout(() => process.exit(status), 200)
})
client.connect()
