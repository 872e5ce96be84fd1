// Inbound-call consumer on the official RELAY v4 Node client (@signalwire/realtime-api 4.x) that answers and
// then waits for the FAR END to hang up (call.waitFor('ended')), for the reconnect tests.
// Prints `READY <protocol>` once listening, then the client's session events: RECONNECTING, `CONNECTED
// <protocol>` (after a reconnect), DISCONNECTED; INBOUND CALL, ANSWERED and `CALL ENDED <id> <state>` (realtime-api
// exposes no end reason). NO_ANSWER=1: print INBOUND CALL and leave the call alone.
// Runs until SIGTERM/SIGINT. See tests/clients/README.md.
const { SignalWire } = require('@signalwire/realtime-api')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const NO_ANSWER = !['', '0'].includes(process.env.NO_ANSWER || '')
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))
const describe = e => (e && e.message) ? e.message : JSON.stringify(e)

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

async function main () {
  let client = null
  // realtime-api has no public getter for its session protocol: read it from the (deprecated) internal store
  const protocol = () => { try { return client.client.store.getState().session.protocol || '?' } catch (e) { return '?' } }
  client = await SignalWire({
    project: process.env.SW_PROJECT || 'test-project',
    token: process.env.SW_TOKEN || 'test-token',
    host: process.env.RELAY_HOST || 'ws://127.0.0.1:8080',
    logLevel: process.env.SW_LOG_LEVEL || 'warn',
    listen: {
      onConnected: () => { if (client) out('CONNECTED', protocol()) }, // the first one fires inside SignalWire()
      onReconnecting: () => out('RECONNECTING'),
      onDisconnected: () => out('DISCONNECTED'),
      onAuthError: (e) => out('ERROR auth', describe(e))
    }
  })
  let finishing = false
  const finish = async (code) => {
    if (finishing) return
    finishing = true
    try { await client.disconnect() } catch (e) { out('ERROR disconnect', describe(e)) }
    out('TEARDOWN')
    process.exit(code)
  }
  process.on('SIGTERM', () => finish(0))
  process.on('SIGINT', () => finish(0))

  await client.voice.listen({
    topics: contexts,
    onCallReceived: async (call) => {
      try {
        out('INBOUND CALL', call.id, call.from, call.to)
        if (NO_ANSWER) return
        await call.answer()
        out('ANSWERED', call.id, call.state === 'answered')
        await call.waitFor('ended')
        out('CALL ENDED', call.id, call.state)
      } catch (error) {
        out('ERROR', call.id, describe(error))
      }
    }
  })
  out('READY', protocol())
}

main().catch(error => { out('ERROR', describe(error)); process.exit(1) })
