// Inbound-call consumer on the official RELAY v2 Node client (@signalwire/node 2.6.0).
// Answers every call on $CONTEXT, optionally waits $HOLD s, hangs up. Exits after $CALLS calls (0 = never).
// See tests/clients/README.md for the environment and the output lines.
const { RelayConsumer } = require('@signalwire/node')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const CALLS = +(process.env.CALLS || 0)
const HOLD = +(process.env.HOLD || 0)
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

let handled = 0
let finishing = false
const options = {
  project: process.env.SW_PROJECT || 'test-project',
  token: process.env.SW_TOKEN || 'test-token',
  contexts,
  ready: () => out('READY'),
  teardown: () => out('TEARDOWN'),
  onIncomingCall: async (call) => {
    try {
      out('INBOUND CALL', call.id, call.from, call.to)
      const answered = await call.answer()
      out('ANSWERED', call.id, answered.successful)
      if (answered.successful) {
        if (HOLD) await sleep(HOLD * 1000)
        const hung = await call.hangup()
        out('HANGUP', call.id, hung.successful, hung.reason)
      }
    } catch (error) {
      out('ERROR', call.id, String(error && error.stack || error))
    }
    handled += 1
    if (CALLS && handled >= CALLS && !finishing) {
      finishing = true
      out('DONE', handled)
      await consumer.client.disconnect()
      setTimeout(() => process.exit(0), 200)
    }
  }
}
// without RELAY_HOST the SDK default host is used, and shims/node/relay-local.js (RELAY_WS_URL) redirects it
if (process.env.RELAY_HOST) options.host = process.env.RELAY_HOST
const consumer = new RelayConsumer(options)
consumer.run()
