// Inbound-call consumer on the official RELAY v4 Node client (@signalwire/realtime-api 4.x).
// client.voice.listen({topics: $CONTEXT}): answers every call, optionally waits $HOLD s, hangs up.
// Exits after $CALLS calls (0 = until SIGTERM/SIGINT). See tests/clients/README.md.
const { SignalWire } = require('@signalwire/realtime-api')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const CALLS = +(process.env.CALLS || 0)
const HOLD = +(process.env.HOLD || 0)
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a)))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const describe = e => (e && e.message) ? e.message : JSON.stringify(e)

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

async function main () {
  const client = await SignalWire({
    project: process.env.SW_PROJECT || 'test-project',
    token: process.env.SW_TOKEN || 'test-token',
    host: process.env.RELAY_HOST || 'ws://127.0.0.1:8080',
    logLevel: process.env.SW_LOG_LEVEL || 'warn'
  })
  let handled = 0
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
        await call.answer()
        out('ANSWERED', call.id, call.state === 'answered')
        if (HOLD) await sleep(HOLD * 1000)
        await call.hangup()
        out('HANGUP', call.id, call.state === 'ended', call.state)  // realtime-api exposes no end reason: print the state
      } catch (error) {
        out('ERROR', call.id, describe(error))
      }
      handled += 1
      if (CALLS && handled >= CALLS) {
        out('DONE', handled)
        await finish(0)
      }
    }
  })
  out('READY')
}

main().catch(error => { out('ERROR', describe(error)); process.exit(1) })
