// Messaging and tasks on the official RELAY v2 Node client (@signalwire/node 2.6.0), unmodified.
// A RelayConsumer on $CONTEXT printing onIncomingMessage, onMessageStateChange and onTask. Once ready it can
// send a message ($SEND_TO set: client.messaging.send) and deliver a task ($TASK_MESSAGE set: Task.deliver,
// which needs the http shim tests/clients/shims/node/relay-local.js). Runs until SIGTERM/SIGINT.
// Lines: see v2_python.py (the same, with True/False for booleans).
const { RelayConsumer, Task } = require('@signalwire/node')

const contexts = (process.env.CONTEXT || 'office').split(',').filter(Boolean)
const SCRIPT_TIMEOUT = +(process.env.SCRIPT_TIMEOUT || 60)
const out = (...args) => console.log(...args.map(a => (a === true ? 'True' : a === false ? 'False' : a === null || a === undefined ? 'None' : a)))

setTimeout(() => { out('SCRIPT TIMEOUT'); process.exit(3) }, SCRIPT_TIMEOUT * 1000).unref()

const project = process.env.SW_PROJECT || 'test-project'
const token = process.env.SW_TOKEN || 'test-token'
let sent = false
const options = {
  project,
  token,
  contexts,
  ready: async ({ client }) => {
    out('READY')
    if (sent) return
    sent = true
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
      const result = await client.messaging.send(params)
      out('SENT', result.successful, result.messageId)
    }
    if (process.env.TASK_MESSAGE) {
      const task = new Task(project, token)
      const ok = await task.deliver(process.env.TASK_CONTEXT || contexts[0], JSON.parse(process.env.TASK_MESSAGE))
        .then(() => true, () => false)
      out('TASK DELIVERED', ok)
    }
  },
  onIncomingMessage: (message) => {
    out('MESSAGE IN', message.id, message.from, message.to, message.state, message.direction, message.segments,
      JSON.stringify(message.body), JSON.stringify(message.media))
  },
  onMessageStateChange: (message) => { out('STATE', message.id, message.state, message.reason) },
  onTask: (message) => { out('TASK', JSON.stringify(sortKeys(message))) }
}
if (process.env.RELAY_HOST) options.host = process.env.RELAY_HOST

function sortKeys (value) {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map(k => [k, sortKeys(value[k])]))
  }
  return value
}

const consumer = new RelayConsumer(options)
consumer.run()
