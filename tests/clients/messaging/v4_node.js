// Messaging and tasks on the official RELAY v4 Node client (@signalwire/realtime-api 4.x), unmodified.
// client.messaging.listen({topics: $CONTEXT}) prints received messages (onMessageReceived) and state updates
// (onMessageUpdated); client.task.listen({topics: $CONTEXT}) prints tasks (onTaskReceived). With $SEND_TO set it
// sends one message (client.messaging.send, context $SEND_CONTEXT or the first of $CONTEXT).
// Runs until SIGTERM/SIGINT. Lines: see v2_python.py; a refused send prints SEND ERROR <code> <message>.
const { SignalWire } = require('@signalwire/realtime-api')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a === null || a === undefined ? 'None' : a)))
const describe = e => (e && e.message) ? `${e.code || '?'} ${e.message}` : JSON.stringify(e)

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

function sortKeys (value) {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map(k => [k, sortKeys(value[k])]))
  }
  return value
}

async function main () {
  const client = await SignalWire({
    project: process.env.SW_PROJECT || 'test-project',
    token: process.env.SW_TOKEN || 'test-token',
    host: process.env.RELAY_HOST || 'ws://127.0.0.1:8080',
    logLevel: process.env.SW_LOG_LEVEL || 'warn'
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

  await client.messaging.listen({
    topics: contexts,
    onMessageReceived: (message) => {
      out('MESSAGE IN', message.id, message.from, message.to, message.state, message.direction, message.segments,
        JSON.stringify(message.body), JSON.stringify(message.media))
    },
    onMessageUpdated: (message) => { out('STATE', message.id, message.state, message.reason) }
  })
  await client.task.listen({
    topics: contexts,
    onTaskReceived: (payload) => { out('TASK', JSON.stringify(sortKeys(payload))) }
  })
  out('READY')
  if (process.env.SEND_TO) {
    const params = {
      context: process.env.SEND_CONTEXT || contexts[0],
      from: process.env.SEND_FROM || '+15552220000',
      to: process.env.SEND_TO,
      tags: ['relaybox-test']
    }
    if (process.env.SEND_BODY) params.body = process.env.SEND_BODY
    const media = (process.env.SEND_MEDIA || '').split(',').filter(Boolean)
    if (media.length) params.media = media
    try {
      const result = await client.messaging.send(params)
      out('SENT', result.messageId, result.code)
    } catch (error) {
      out('SEND ERROR', describe(error))
    }
  }
}

main().catch(error => { out('ERROR', describe(error)); process.exit(1) })
