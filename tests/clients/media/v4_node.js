// Media actions on the official RELAY v4 Node client (@signalwire/realtime-api 4.x), unmodified.
// Dials $TO from $FROM, runs $SCENARIO on the answered call, prints one line per result, hangs up
// (see tests/integration/test_media_v4_node.py). v4 Node has no fax methods.
const { SignalWire, Voice } = require('@signalwire/realtime-api')

const FROM = process.env.FROM || '+15551110000'
const TO = process.env.TO || '+15553330000'
const PEER = process.env.PEER || '+15554440000'
const SCENARIO = process.env.SCENARIO || 'play'
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a === undefined || a === null ? 'None' : a)))
const describe = e => (e && e.message) ? e.message : JSON.stringify(e)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

const scenarios = {
  async play (call) {
    const pb = await call.play({ playlist: new Voice.Playlist({ volume: 2 }).add(Voice.Playlist.Silence({ duration: 30 })) }).onStarted()
    await pb.pause()
    await pb.resume()
    await pb.setVolume(-3)
    await pb.stop()
    await pb.ended()
    out('PLAY_STOPPED', pb.state)
    const t = await call.playTTS({ text: 'hello from v4 node' }).onStarted()
    await t.ended()
    out('PLAY_TTS', t.state)
    const r = await call.playRingtone({ name: 'it', duration: 1 }).onStarted()
    await r.ended()
    out('PLAY_RINGTONE', r.state)
    const a = await call.playAudio({ url: process.env.AUDIO_URL }).onStarted()
    await a.ended()
    out('PLAY_AUDIO', a.state)
    try {
      await call.playRingtone({ name: 'xx' }).onStarted()
      out('PLAY_BAD', 'accepted')
    } catch (e) { out('PLAY_BAD', 'rejected') }
  },
  async prompt (call) {
    const p = await call.promptTTS({ text: 'enter pin', digits: { max: 4, digitTimeout: 5, terminators: '#' } }).onStarted()
    await p.ended()
    out('PROMPT', p.type, p.digits, p.terminator)
    const c = await call.collect({ speech: { endSilenceTimeout: 1 }, initialTimeout: 5 }).onStarted()
    await c.ended()
    out('COLLECT', c.type, c.text)
  },
  async collect_stream (call) {
    // partialResults + continuous + sendStartOfInput: every collect.updated, then stop() for the final result
    const updates = []
    let starts = 0
    const c = await call.collect({
      digits: { max: 3, digitTimeout: 5, terminators: '#' },
      speech: { endSilenceTimeout: 0.5 },
      initialTimeout: 10,
      partialResults: true,
      continuous: true,
      sendStartOfInput: true,
      listen: {
        onInputStarted: () => { starts++ },
        onUpdated: col => updates.push([col.final === false ? 'partial' : col.state, col.type, col.digits ?? col.text])
      }
    }).onStarted()
    while (updates.filter(u => u[0] === 'collecting').length < 2) await sleep(50)
    out('COLLECT_ENDED_EARLY', c.hasEnded)
    await c.stop()
    await c.ended()
    out('COLLECT_UPDATES', JSON.stringify(updates))
    out('COLLECT_STARTS', starts)
    out('COLLECT_FINAL', c.type, c.text, c.state, c.final)
  },
  async amd (call) {
    const d = await call.amd({ waitForBeep: true }).onStarted()
    await d.ended()
    out('AMD', d.type, d.result)
  },
  async detect (call) {
    const d = await call.detectDigit({ digits: '123' }).onStarted()
    await sleep(1500)
    await d.stop()
    await d.ended()
    out('DETECT_DIGIT', d.type, d.result)
    const f = await call.detectFax({ tone: 'CED' }).onStarted()
    await f.ended()
    out('DETECT_FAX', f.type, f.result)
  },
  async digits (call) {
    await call.sendDigits('1w2#')
    out('SEND_DIGITS', 'ok')
    try {
      await call.sendDigits('12x')
      out('SEND_DIGITS_BAD', 'accepted')
    } catch (e) { out('SEND_DIGITS_BAD', 'rejected') }
  },
  async connect (call) {
    const peer = await call.connectPhone({ to: PEER, from: FROM, timeout: 10, ringback: new Voice.Playlist().add(Voice.Playlist.Ringtone({ name: 'us' })) })
    out('CONNECTED', peer.id, peer.state)
    await call.disconnect()
    out('DISCONNECTED', 'ok')
    if (peer.state !== 'ended') await peer.hangup()
  },
  async record (call) {
    const r = await call.recordAudio({ format: 'wav', direction: 'speak', terminators: '#' }).onStarted()
    await r.ended()
    out('RECORD', r.state, r.url, r.duration, r.size)
  },
  async tap (call) {
    const t = await call.tapAudio({ direction: 'listen', device: { type: 'rtp', addr: '127.0.0.1', port: +process.env.TAP_PORT, codec: 'PCMA', ptime: 30 } }).onStarted()
    const p = await call.playTTS({ text: 'this audio goes to the tap' }).onStarted()
    await p.ended()
    await t.stop()
    await t.ended()
    out('TAP', t.state)
  }
}

async function main () {
  const client = await SignalWire({
    project: process.env.SW_PROJECT || 'test-project',
    token: process.env.SW_TOKEN || 'test-token',
    host: process.env.RELAY_HOST || 'ws://127.0.0.1:8080',
    logLevel: process.env.SW_LOG_LEVEL || 'warn'
  })
  out('READY')
  let status = 0
  try {
    const call = await client.voice.dialPhone({ to: TO, from: FROM, timeout: 30 })
    out('DIAL True', call.id)
    await scenarios[SCENARIO](call)
    await call.hangup()
    out('HANGUP', call.state)
  } catch (error) {
    out('ERROR', describe(error))
    status = 1
  }
  await client.disconnect()
  process.exit(status)
}

main().catch(error => { out('ERROR', describe(error)); process.exit(1) })
