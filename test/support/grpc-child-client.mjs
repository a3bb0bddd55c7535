// A gRPC client in its own process (node:http2 only, no imports from the repository), for tests that
// need a caller with another uid, or one that changes uid after connecting. Usage:
//   node grpc-child-client.mjs '<json>'  with { socket, method, request (hex), header (bool),
//   setuidAfterConnect (number, optional), become ({ uid, gid, groups } applied before connecting,
//   optional), messages (how many response messages to wait for) }
// Prints one JSON line: { status, message, messages: [hex...], pid, uid }.
import { connect } from 'node:http2'
import { connect as netConnect } from 'node:net'

const opts = JSON.parse(process.argv[2])
if (opts.become) {
  process.setgroups(opts.become.groups)
  process.setgid(opts.become.gid)
  process.setuid(opts.become.uid)
}
const session = connect('http://localhost', { createConnection: () => netConnect(opts.socket) })
session.on('error', (e) => {
  console.log(JSON.stringify({ status: -1, message: e.message, messages: [], pid: process.pid, uid: process.getuid() }))
  process.exit(0)
})
session.once('connect', () => {
  if (opts.setuidAfterConnect !== undefined) {
    process.setgid(opts.setuidAfterConnect)
    process.setuid(opts.setuidAfterConnect)
  }
  const headers = { ':method': 'POST', ':path': opts.method, 'content-type': 'application/grpc', te: 'trailers' }
  if (opts.header) headers['workload.spiffe.io'] = 'true'
  const stream = session.request(headers)
  const request = Buffer.from(opts.request ?? '', 'hex')
  const frame = Buffer.alloc(5 + request.length)
  frame.writeUInt32BE(request.length, 1)
  request.copy(frame, 5)
  stream.end(frame)
  let buf = Buffer.alloc(0)
  const messages = []
  let status
  let message = ''
  const done = () => {
    console.log(JSON.stringify({ status, message, messages, pid: process.pid, uid: process.getuid() }))
    session.destroy()
    process.exit(0)
  }
  stream.on('response', (h) => {
    if (h['grpc-status'] !== undefined) {
      status = Number(h['grpc-status'])
      message = decodeURIComponent(h['grpc-message'] ?? '')
    }
  })
  stream.on('trailers', (t) => {
    status = Number(t['grpc-status'])
    message = decodeURIComponent(t['grpc-message'] ?? '')
  })
  stream.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1)
      messages.push(buf.subarray(5, 5 + n).toString('hex'))
      buf = buf.subarray(5 + n)
    }
    if (messages.length >= (opts.messages ?? 1)) done()
  })
  stream.on('close', done)
  stream.on('error', () => {})
})
