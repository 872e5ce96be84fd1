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
    const f = await call.faxSend(process.env.DOC_URL, '+15551110000', 'hi')
    out('FAX_SEND', f.successful, f.pages, f.document, f.direction)
    const r = await call.faxReceive()
    out('FAX_RECEIVE', r.successful, r.pages, r.document, r.direction, r.remoteIdentity)
    const a = await call.faxReceiveAsync()
    await sleep(200)
    await a.stop()
    await until(a)
    out('FAX_ASYNC_STOPPED', a.completed, a.result.successful)
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
