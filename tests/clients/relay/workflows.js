// Workflow servers written with the OFFICIAL Relay JS SDK (@relaypro/sdk), run unmodified by relaybox's
// integration tests (tests/integration/test_workflows_js.py). Port from PORT (the SDK reads it).
// Lines starting with "WF " are what the tests look for; the SDK itself logs every frame on stdout.
//
//   /autoanswer  the device calling guide's inbound-call sample (auto-answer)
//   /outbound    the guide's outbound-call sample (CALL_START_REQUEST -> interaction -> placeCall)
//   /hello       a wider tour: say/listen/LED/vibrate/vars/device info/timers, a bad request, a button
const { relay, Event, Uri } = require('@relaypro/sdk')

const app = relay()
const mark = (...parts) => process.stdout.write('WF ' + parts.join(' ') + '\n')

// -- the guide's inbound sample (only change: the CALL_RECEIVED handler does not shadow `workflow` with a
//    field of the event, which the SDK does not provide)
app.workflow('autoanswer', workflow => {
  const interactionName = `answering_interaction`
  var receivingDevice = null
  var myInteractionUri = null

  workflow.on(Event.START, async (event) => {
    const { trigger: { args: { source_uri } } } = event
    receivingDevice = source_uri
    mark('START', event.trigger.type, source_uri)
    await workflow.startInteraction(receivingDevice, interactionName)
  })

  workflow.on(Event.CALL_RECEIVED, async ({ call_id, device_id, device_name, direction, onnet, start_time_epoch, uri }) => {
    mark('CALL_RECEIVED', call_id, direction, device_name, uri, onnet, typeof start_time_epoch)
    await workflow.answerCall(receivingDevice, call_id)
  })

  workflow.on(Event.INTERACTION_STARTED, async ({ source_uri }) => {
    myInteractionUri = source_uri
    mark('INTERACTION_STARTED', source_uri)
  })

  workflow.on(Event.INTERACTION_ENDED, async () => {
    await workflow.terminate()
  })

  workflow.on(Event.CALL_CONNECTED, async ({ call_id, direction, device_name }) => {
    mark('CALL_CONNECTED', call_id, direction, device_name)
  })

  workflow.on(Event.CALL_FAILED, async ({ call_id, reason }) => {
    mark('CALL_FAILED', call_id, reason)
    await workflow.terminate()
  })

  workflow.on(Event.CALL_DISCONNECTED, async ({ call_id, direction, device_id, device_name,
                                               uri, onnet, reason, start_time_epoch, connect_time_epoch, end_time_epoch }) => {
    var secondsConnected = parseInt(end_time_epoch) - parseInt(start_time_epoch)
    mark('CALL_DISCONNECTED', call_id, reason, secondsConnected >= 0)
    await workflow.terminate()
    mark('TERMINATED')
  })

  workflow.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  workflow.on(Event.ERROR, async (e) => mark('ERROR', e && e.message))
})

// -- the guide's outbound sample, as written (placeCall with the destination URI as a plain string)
app.workflow('outbound', workflow => {
  const interactionName = `outbound_interaction`
  var destinationUri = null
  var myInteractionUri = null
  var outBoundDevice = null

  workflow.on(Event.START, async (event) => {
    const { trigger: { args: { source_uri } } } = event
    outBoundDevice = source_uri
    mark('START', event.trigger.type, source_uri)
  })

  workflow.on(Event.CALL_START_REQUEST, async ({ destination }) => {
    destinationUri = destination
    mark('CALL_START_REQUEST', destination)
    await workflow.startInteraction(outBoundDevice, interactionName)
  })

  workflow.on(Event.INTERACTION_STARTED, async ({ source_uri }) => {
    myInteractionUri = source_uri
    await workflow.sayAndWait(myInteractionUri, "calling from dispatch")
    await workflow.placeCall(myInteractionUri, destinationUri)
    mark('PLACED')
  })

  workflow.on(Event.INTERACTION_ENDED, async () => {
    await workflow.terminate()
  })

  workflow.on(Event.CALL_RINGING, async ({ call_id, direction, device_name }) => {
    mark('CALL_RINGING', call_id, direction, device_name)
    await workflow.sayAndWait(myInteractionUri, "ring ring")
  })

  workflow.on(Event.CALL_CONNECTED, async ({ call_id, direction, device_name }) => {
    mark('CALL_CONNECTED', call_id, direction, device_name)
    await workflow.sayAndWait(myInteractionUri, "connected")
  })

  workflow.on(Event.CALL_FAILED, async ({ call_id, reason }) => {
    mark('CALL_FAILED', call_id, reason)
    workflow.terminate()
  })

  workflow.on(Event.CALL_DISCONNECTED, async ({ call_id, reason }) => {
    mark('CALL_DISCONNECTED', call_id, reason)
    workflow.terminate()
  })

  workflow.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  workflow.on(Event.ERROR, async (e) => mark('ERROR', e && e.message))
})

// -- a tour of the rest of the protocol
app.workflow('hello', workflow => {
  let ix = null
  workflow.on(Event.START, async ({ trigger }) => {
    mark('START', trigger.type, trigger.args.source_uri, trigger.args.phrase || trigger.args.action || '')
    try {
      await workflow.sayAndWait(trigger.args.source_uri, 'no interaction yet')
    } catch (e) {
      mark('SAY_ERROR', e.message)
    }
    await workflow.startInteraction([trigger.args.source_uri], 'hello interaction')
  })
  workflow.on(Event.INTERACTION_STARTED, async ({ source_uri }) => {
    ix = source_uri
    mark('INTERACTION_STARTED', source_uri)
    await workflow.sayAndWait(ix, 'hello world')
    await workflow.switchAllLedOn(ix, '00ff00')
    await workflow.vibrate(ix, [100, 500, 500, 500])
    mark('NAME', await workflow.getDeviceName(ix))
    await workflow.setVar('k', 'v')
    mark('VARS', await workflow.getVar('k'), await workflow.getVar('greeting'), await workflow.getVar('nope', 'dflt'))
    const heard = await workflow.listen(ix, ['yes', 'no'])
    mark('HEARD', JSON.stringify(heard))
    await workflow.say(ix, 'press the talk button twice')
  })
  workflow.on(Event.BUTTON, async ({ button, taps, source_uri }) => {
    mark('BUTTON', button, taps, source_uri === ix)
    try {
      await workflow.answerCall(ix, 'no-such-call')
    } catch (e) {
      mark('ANSWER_ERROR', e.message)
    }
    await workflow.endInteraction(ix)
  })
  workflow.on(Event.INTERACTION_ENDED, async ({ source_uri }) => {
    mark('INTERACTION_ENDED', source_uri === ix)
    await workflow.terminate()
    mark('TERMINATED')
  })
  workflow.on(Event.STOP, async ({ reason }) => mark('STOP', reason))
  workflow.on(Event.ERROR, async (e) => mark('ERROR', e && e.message))
})

mark('READY', process.env.PORT)
