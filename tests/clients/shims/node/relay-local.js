// Preload shim for UNMODIFIED @signalwire/node 2.x scripts:
//   RELAY_WS_URL=ws://127.0.0.1:8080 node -r ./tests/clients/shims/node/relay-local.js your-example.js
// 1) every RelayClient / RelayConsumer connects to RELAY_WS_URL instead of wss://relay.signalwire.com
// 2) Task.deliver() (hard-wired to https://relay.signalwire.com:443/api/relay/rest/tasks) goes to
//    plain http on the same host:port as RELAY_WS_URL. Other https traffic is left alone.
// Without RELAY_WS_URL it does nothing. See relay-v2-official-clients.md section 2b.
const url = process.env.RELAY_WS_URL
if (url) {
  const path = require('path')
  const where = [process.cwd(), path.dirname(path.resolve(process.argv[1] || '.'))]
  const Conn = require(require.resolve('@signalwire/node/dist/common/src/services/Connection', { paths: where })).default
  const connect = Conn.prototype.connect
  Conn.prototype.connect = function () { this._host = url; return connect.call(this) }
  const { hostname, port } = new URL(url)
  const http = require('http'), https = require('https'), httpsRequest = https.request
  https.request = function (opts, cb) {
    if (opts && opts.path === '/api/relay/rest/tasks') {
      return http.request({ ...opts, host: hostname, port, agent: false }, cb)
    }
    return httpsRequest.apply(this, arguments)
  }
}
