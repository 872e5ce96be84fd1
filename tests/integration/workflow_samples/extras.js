// More workflow servers written with the OFFICIAL Relay JS SDK (@relaypro/sdk, found through NODE_PATH in
// tests/clients/relay/node_modules), run unmodified by tests/integration/test_workflows_js.py.
// Lines starting with "WF " are what the tests look for.
//
//   /notify     groups and notifications: group members, broadcast to a group, alert, acknowledgement, cancel
//   /timers     named and unnamed timers, incidents
//   /started    reports its START event (HTTP and timer triggers) and terminates
//   /groupcall  places a call to a group URN from an interaction
//   /absorb     a call workflow that stays running and takes in further calls (absorb_triggers)
//   /power      location on, device info, power a device off and restart another
const { relay, Event, Uri } = require('@relaypro/sdk')

const app = relay()
const mark = (...parts) => process.stdout.write('WF ' + parts.join(' ') + '\n')
const DESK = Uri.groupName('Front Desk')

app.workflow('notify', wf => {
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    mark('MEMBERS', (await wf.getGroupMembers(DESK)).join(','))
    mark('IS_MEMBER', await wf.isGroupMember(DESK, Uri.deviceName('Bob')), await wf.isGroupMember(DESK, Uri.deviceName('Alice')))
    await wf.broadcast(DESK, source_uri, 'lunch', 'Lunch is ready')
    await wf.alert(Uri.deviceName('Carol'), source_uri, 'fire', 'Fire in the kitchen')
    mark('SENT')
  })
  wf.on(Event.NOTIFICATION, async ({ event, name, source_uri, notification_state }) => {
    mark('NOTIFICATION', event, name, source_uri, JSON.stringify(notification_state))
    if (name === 'lunch') {
      await wf.cancelAlert(Uri.deviceName('Carol'), 'fire')
      mark('CANCELLED')
      await wf.terminate()
    }
  })
  wf.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

app.workflow('timers', wf => {
  let ticks = 0
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    await wf.setTimer('interval', 'tick', 2, 'secs')
    const incident = await wf.createIncident(source_uri, 'help')
    mark('INCIDENT_CREATED', typeof incident)
    await wf.resolveIncident(incident, 'all good')
  })
  wf.on('timer_fired', async ({ name }) => {
    ticks += 1
    mark('TIMER_FIRED', name, ticks)
    if (ticks === 3) {
      await wf.clearTimer('tick')
      await wf.startTimer(5)
    }
  })
  wf.on(Event.TIMER, async () => {
    mark('TIMER', ticks)
    await wf.terminate()
  })
  wf.on(Event.INCIDENT, async ({ type, reason }) => mark('INCIDENT', type, reason))
  wf.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

app.workflow('started', wf => {
  wf.on(Event.START, async ({ trigger }) => {
    mark('START', trigger.type, trigger.args.source_uri, JSON.stringify(trigger.args.args || null))
    await wf.terminate()
  })
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

app.workflow('groupcall', wf => {
  let ix = null
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    await wf.startInteraction(source_uri, 'group call')
  })
  wf.on(Event.INTERACTION_STARTED, async ({ source_uri }) => {
    ix = source_uri
    await wf.placeCall(ix, { uri: DESK })
  })
  wf.on(Event.CALL_RINGING, async ({ device_name, uri }) => mark('CALL_RINGING', device_name, uri))
  wf.on(Event.CALL_CONNECTED, async ({ device_name, uri }) => mark('CALL_CONNECTED', device_name, uri))
  wf.on(Event.CALL_DISCONNECTED, async ({ reason }) => {
    mark('CALL_DISCONNECTED', reason)
    await wf.terminate()
  })
  wf.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

app.workflow('absorb', wf => {
  let me = null
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    me = source_uri
    mark('START', source_uri)
  })
  wf.on(Event.CALL_RECEIVED, async ({ call_id, device_name }) => {
    mark('CALL_RECEIVED', device_name)
    await wf.answerCall(me, call_id)
  })
  wf.on(Event.CALL_DISCONNECTED, async ({ device_name }) => mark('CALL_DISCONNECTED', device_name))
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

app.workflow('power', wf => {
  wf.on(Event.START, async ({ trigger: { args: { source_uri } } }) => {
    await wf.enableLocation(source_uri)
    mark('LOCATION', await wf.getDeviceLocationEnabled(source_uri), JSON.stringify(await wf.getDeviceLatLong(source_uri)))
    await wf.powerDownDevice(Uri.deviceName('Bob'))
    await wf.restartDevice(Uri.deviceName('Carol'))
    mark('POWERED')
    await wf.terminate()
  })
  wf.on(Event.ERROR, async (e) => mark('ERROR', e && e.error && e.error.message))
})

mark('READY', process.env.PORT)
