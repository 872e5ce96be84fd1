// Workflow servers written with the OFFICIAL Relay JS SDK (@relaypro/sdk, found through NODE_PATH in
// tests/clients/relay/node_modules), run unmodified by tests/integration/test_workflows_sensors.py.
// Lines starting with "WF " are what the tests look for.
//
//   /trigger   reports its START trigger (type, source_uri, the other args), battery and indoor location
//   /options   an interaction with options (color, input_types, home_channel) and a listen with phrases
//   /timeout   an alert nobody acknowledges: reports the notification events
//   /inbox     the device's unread inbox size, then plays it (play_inbox_message events)
//   /answer    an inbound call workflow that answers at once (a group-call member's own workflow)
//   /incident  opens an incident for its device and reports how it ends
const { relay, Event } = require('@relaypro/sdk')

const app = relay()
const mark = (...parts) => process.stdout.write('WF ' + parts.join(' ') + '\n')
const onError = wf => wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))

app.workflow('trigger', wf => {
  wf.on(Event.START, async ({ trigger }) => {
    const { source_uri, ...rest } = trigger.args
    mark('START', trigger.type, source_uri, JSON.stringify(rest))
    mark('INFO', await wf.getDeviceBattery(source_uri), JSON.stringify(await wf.getDeviceIndoorLocation(source_uri)))
    await wf.terminate()
  })
  onError(wf)
})

app.workflow('options', wf => {
  let ix = null
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    await wf.startInteraction(source_uri, 'picker',
      { color: 'ff00aa', input_types: ['action_button_double_tap'], home_channel: 'normal' })
  })
  wf.on(Event.INTERACTION_STARTED, async ({ source_uri }) => {
    ix = source_uri
    mark('STARTED')
  })
  wf.on(Event.INTERACTION_RESUMED, async () => mark('RESUMED'))
  wf.on(Event.BUTTON, async ({ button, taps }) => {
    mark('BUTTON', button, taps)
    const heard = await wf.listen(ix, ['yes', 'no'])
    mark('HEARD', JSON.stringify(heard))
  })
  wf.on(Event.INTERACTION_SUSPENDED, async () => {
    mark('SUSPENDED')
    await wf.terminate()
  })
  wf.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  onError(wf)
})

app.workflow('timeout', wf => {
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    await wf.alert('urn:relay-resource:name:device:Bob', source_uri, 'fire', 'Fire in the kitchen')
    mark('SENT')
  })
  wf.on(Event.NOTIFICATION, async ({ event, name, source_uri, notification_state }) => {
    mark('NOTIFICATION', event, name, source_uri, JSON.stringify(notification_state))
    await wf.terminate()
  })
  onError(wf)
})

app.workflow('inbox', wf => {
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    mark('UNREAD', await wf.getUnreadInboxSize(source_uri))
    await wf.playUnreadInboxMessages(source_uri)
  })
  wf.on('play_inbox_message', async ({ action }) => {
    mark('INBOX', action)
    if (action === 'stopped') await wf.terminate()
  })
  onError(wf)
})

app.workflow('answer', wf => {
  let me = null
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    me = source_uri
  })
  wf.on(Event.CALL_RECEIVED, async ({ call_id, direction, device_name }) => {
    mark('CALL_RECEIVED', me, direction, device_name)
    await wf.answerCall(me, call_id)
  })
  wf.on(Event.CALL_CONNECTED, async ({ device_name }) => mark('CALL_CONNECTED', me, device_name))
  wf.on(Event.CALL_DISCONNECTED, async ({ reason }) => {
    mark('CALL_DISCONNECTED', me, reason)
    await wf.terminate()
  })
  onError(wf)
})

app.workflow('incident', wf => {
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    mark('OPENED', typeof await wf.createIncident(source_uri, 'sos'))
  })
  wf.on(Event.INCIDENT, async ({ type, reason }) => {
    mark('INCIDENT', type, reason)
    await wf.terminate()
  })
  onError(wf)
})

mark('READY', process.env.PORT)
