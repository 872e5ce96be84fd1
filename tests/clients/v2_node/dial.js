// Outbound dial on the official RELAY v2 Node client (@signalwire/node 2.6.0).
// client.calling.dial($FROM -> $TO); prints the result, the call's busy/failed/state, hangs up an answered call.
// See tests/clients/README.md for the environment and the output lines.
const { RelayClient } = require('@signalwire/node')

const FROM = process.env.FROM || '+15551110000'
const TO = process.env.TO || '+15553330000'
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

const options = { project: process.env.SW_PROJECT || 'test-project', token: process.env.SW_TOKEN || 'test-token' }
// without RELAY_HOST the SDK default host is used, and shims/node/relay-local.js (RELAY_WS_URL) redirects it
if (process.env.RELAY_HOST) options.host = process.env.RELAY_HOST
const client = new RelayClient(options)
let started = false
let status = 0

client.on('signalwire.error', error => out('ERROR signalwire.error', String(error && error.message || JSON.stringify(error))))
client.on('signalwire.ready', async (client) => {
  if (started) { out('ERROR reconnected while dialing'); return } // 'ready' fires again after a reconnect
  started = true
  out('READY')
  try {
    const device = { type: 'phone', from: FROM, to: TO }
    if (process.env.DIAL_TIMEOUT) device.timeout = +process.env.DIAL_TIMEOUT
    const { successful, call } = await client.calling.dial(device)
    out('DIAL successful:', successful)
    out('CALL', call.id, 'state', call.state, 'busy', call.busy, 'failed', call.failed)
    if (successful) {
      const hung = await call.hangup()
      out('HANGUP', hung.successful, hung.reason)
    }
  } catch (error) {
    out('ERROR', String(error && error.stack || error))
    status = 1
  }
  await client.disconnect()
  setTimeout(() => process.exit(status), 200)
})
client.connect()
