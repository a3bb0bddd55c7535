// TcpTransport against a scripted TCP peer that behaves like a TPM (one command at a time, answers
// in order): responses split across TCP segments, a peer that closes, and a response that arrives
// after its command timed out, which must never be handed to the next command.
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { TcpTransport } from '../../agent/tpm/transport.ts'
import { TpmClient } from '../../agent/tpm/client.ts'

/** GetRandom response with `n` bytes of value `n`. */
function randomResponse(n: number): Uint8Array {
  const r = new Uint8Array(12 + n)
  const v = new DataView(r.buffer)
  v.setUint16(0, 0x8001)
  v.setUint32(2, r.length)
  v.setUint32(6, 0)
  v.setUint16(10, n)
  r.fill(n, 12)
  return r
}

type Behaviour = (command: Uint8Array, socket: Socket, index: number) => void

/** A TPM-like peer: reads whole commands (size at offset 2) and lets `behave` answer each. */
async function fakeTpm(behave: Behaviour): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0
  let index = 0
  const server = createServer((socket) => {
    connections++
    sockets.push(socket)
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 10 && buf.length >= buf.readUInt32BE(2)) {
        const size = buf.readUInt32BE(2)
        behave(new Uint8Array(buf.subarray(0, size)), socket, index++)
        buf = buf.subarray(size)
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as { port: number }).port, connections: () => connections }
}

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

const requested = (command: Uint8Array) => new DataView(command.buffer, command.byteOffset).getUint16(10)

describe('TcpTransport', () => {
  it('reassembles a response split into 1-byte segments', async () => {
    const t = await fakeTpm((command, socket) => {
      const rsp = randomResponse(requested(command))
      let i = 0
      const tick = () => {
        if (i < rsp.length) {
          socket.write(rsp.subarray(i, ++i))
          setImmediate(tick)
        }
      }
      tick()
    })
    servers.push(t.server)
    const c = new TpmClient(new TcpTransport('127.0.0.1', t.port))
    expect(await c.run(cmd.getRandom(20))).toEqual(new Uint8Array(20).fill(20))
    expect(await c.run(cmd.getRandom(3))).toEqual(new Uint8Array(3).fill(3))
    await c.close()
    expect(t.connections()).toBe(1) // one connection for the whole session
  })

  it('a peer that closes mid-command is an error naming the TPM, not a hang', async () => {
    const t = await fakeTpm((_c, socket) => socket.destroy())
    servers.push(t.server)
    const tr = new TcpTransport('127.0.0.1', t.port, 5_000)
    await expect(tr.send(cmd.getRandom(4).bytes)).rejects.toThrow(/TPM at 127\.0\.0\.1:\d+ closed the connection/)
    await tr.close()
  })

  it('a late response to a timed-out command is never given to the next command', async () => {
    // the peer answers in order, like a TPM: the first answer comes late, after the client gave up
    let inOrder = Promise.resolve()
    const t = await fakeTpm((command, socket, index) => {
      const rsp = randomResponse(requested(command))
      inOrder = inOrder.then(
        () =>
          new Promise<void>((r) =>
            setTimeout(
              () => {
                if (!socket.destroyed) socket.write(rsp)
                r()
              },
              index === 0 ? 300 : 0,
            ),
          ),
      )
    })
    servers.push(t.server)
    const tr = new TcpTransport('127.0.0.1', t.port, 200)
    await expect(tr.send(cmd.getRandom(4).bytes)).rejects.toThrow(/no response in 200 ms/)
    await new Promise((r) => setTimeout(r, 50))
    const c = new TpmClient(tr)
    // the answer to GetRandom(8) must have 8 bytes, not the stale 4 of the timed-out command
    expect(await c.run(cmd.getRandom(8))).toEqual(new Uint8Array(8).fill(8))
    await new Promise((r) => setTimeout(r, 400))
    expect(await c.run(cmd.getRandom(2))).toEqual(new Uint8Array(2).fill(2))
    await c.close()
  })
})
