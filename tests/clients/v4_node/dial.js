// Outbound dial on the official RELAY v4 Node client (@signalwire/realtime-api 4.x).
// client.voice.dialPhone($FROM -> $TO): a failed dial rejects. Hangs up an answered call. See tests/clients/README.md.
const { SignalWire } = require('@signalwire/realtime-api')

const FROM = process.env.FROM || '+15551110000'
const TO = process.env.TO || '+15553330000'
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))
const describe = e => (e && e.message) ? e.message : JSON.stringify(e)

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

async function main () {
  const client = await SignalWire({
    project: process.env.SW_PROJECT || 'test-project',
    token: process.env.SW_TOKEN || 'test-token',
    host: process.env.RELAY_HOST || 'ws://127.0.0.1:8080',
    logLevel: process.env.SW_LOG_LEVEL || 'warn'
  })
  out('READY')
  let status = 0
  let call = null
  try {
    call = await client.voice.dialPhone({ to: TO, from: FROM, timeout: +(process.env.DIAL_TIMEOUT || 30) })
  } catch (error) {
    out('DIAL successful:', false)
    out('DIAL error:', describe(error))
  }
  if (call) {
    out('DIAL successful:', true)
    out('CALL', call.id, 'state', call.state, 'direction', call.direction)
    try {
      await call.hangup()
      out('HANGUP', call.state === 'ended', call.state)  // realtime-api exposes no end reason: print the state
    } catch (error) {
      out('ERROR', describe(error))
      status = 1
    }
  }
  await client.disconnect()
  process.exit(status)
}

main().catch(error => { out('ERROR', describe(error)); process.exit(1) })
