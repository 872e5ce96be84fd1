// Inbound-call consumer on the official RELAY v2 Node client (@signalwire/node 2.6.0) that answers and then
// waits for the FAR END to hang up (call.waitForEnded()), for the reconnect tests.
// Prints `READY <protocol>` on every ready (after each reconnect too), INBOUND CALL, ANSWERED and
// `CALL ENDED <id> <state>` (the client keeps no end reason). NO_ANSWER=1: print INBOUND CALL and leave the
// call alone. Runs until SIGTERM/SIGINT. See tests/clients/README.md.
const { RelayConsumer } = require('@signalwire/node')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const NO_ANSWER = !['', '0'].includes(process.env.NO_ANSWER || '')
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

const options = {
  project: process.env.SW_PROJECT || 'test-project',
  token: process.env.SW_TOKEN || 'test-token',
  contexts,
  ready: (consumer) => out('READY', consumer.client.relayProtocol),
  teardown: () => out('TEARDOWN'),
  onIncomingCall: async (call) => {
    try {
      out('INBOUND CALL', call.id, call.from, call.to)
      if (NO_ANSWER) return
      const answered = await call.answer()
      out('ANSWERED', call.id, answered.successful)
      if (!answered.successful) return
      await call.waitForEnded()
      out('CALL ENDED', call.id, call.state)
    } catch (error) {
      out('ERROR', call.id, String(error && error.stack || error))
    }
  }
}
// without RELAY_HOST the SDK default host is used, and shims/node/relay-local.js (RELAY_WS_URL) redirects it
if (process.env.RELAY_HOST) options.host = process.env.RELAY_HOST
const consumer = new RelayConsumer(options)
consumer.run()
// @signalwire/node 2.6.0 disconnects on SIGTERM/SIGINT, but after a reconnect its previous keep-alive timer
// chain is still armed and keeps the process alive 10-20 s more: exit once the SDK has closed the socket
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => setTimeout(() => process.exit(0), 300))
