// DeviceTransport (the /dev/tpmrm0 path) against a live swtpm. There is no kernel TPM here, so a
// character device is stood in for by a pseudo-terminal in raw mode: a small python3 proxy (python3
// is a node-gyp prerequisite, so CI has it) owns the pty master and relays whole commands to swtpm's
// raw data port and whole responses back, as the kernel TPM driver does (one write = one command,
// one read = one response). The slave side is linked into a fake /dev folder as `tpmrm0`, so SPIRE's
// auto-detection, openTransport('') and the whole agent TPM flow run over the device transport.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { credentialEkFromTpmtPublic } from '../../core/credential/ek.ts'
import { makeCredential } from '../../core/credential/make-credential.ts'
import { DeviceTransport, TcpTransport } from '../../agent/tpm/transport.ts'
import { openTransport } from '../../agent/tpm/open.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { provisionDevIdKey } from '../../agent/tpm/provision.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const PROXY = `
import os, pty, socket, struct, sys, tty
master, slave = pty.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
def frame(read):
    buf = b''
    while len(buf) < 10 or len(buf) < struct.unpack('>I', buf[2:6])[0]:
        d = read()
        if not d: sys.exit(0)
        buf += d
    return buf
while True:
    command = frame(lambda: os.read(master, 65536))
    # one swtpm connection per command: swtpm serves one client at a time, others may use it too
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
    s.sendall(command)
    os.write(master, frame(lambda: s.recv(65536)))
    s.close()
`

let tpm: Swtpm
let dir: string
let proxy: ChildProcess
let devicePath: string

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'device-transport' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-devtpm-'))
  await writeFile(join(dir, 'proxy.py'), PROXY)
  proxy = spawn('python3', [join(dir, 'proxy.py'), String(tpm.port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  devicePath = await new Promise<string>((resolve, reject) => {
    proxy.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))
    proxy.once('error', reject)
  })
  await symlink(devicePath, join(dir, 'tpmrm0'))
}, 60_000)

afterAll(async () => {
  if (proxy?.pid && proxy.exitCode === null) proxy.kill('SIGTERM')
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('DeviceTransport on a character device', () => {
  it('auto-detects the device and gives the same answers as the raw TCP socket', async () => {
    const t = await openTransport('', { devDir: dir })
    expect(t).toBeInstanceOf(DeviceTransport)
    expect(t.description).toBe(`device:${join(dir, 'tpmrm0')}`)
    const dev = new TpmClient(t)
    const viaDevice = await dev.run(cmd.createPrimary(0x40000001, cmd.passwordAuth(''), { template: cmd.srkTemplateRsa() }))
    await dev.flush(viaDevice.handle)
    const nvErr = await dev.run(cmd.nvReadPublic(0x01c0fff0)).catch((e: Error) => e.message)
    const cert = await dev.readNv(0x01c00002)
    await dev.close()

    const tcp = new TpmClient(new TcpTransport('127.0.0.1', tpm.port))
    const viaTcp = await tcp.run(cmd.createPrimary(0x40000001, cmd.passwordAuth(''), { template: cmd.srkTemplateRsa() }))
    await tcp.flush(viaTcp.handle)
    expect(await tcp.readNv(0x01c00002)).toEqual(cert)
    await tcp.close()

    expect(viaDevice.name).toEqual(viaTcp.name)
    expect(nvErr).toMatch(/^TPM2_NV_ReadPublic failed: TPM_RC_HANDLE \(handle 1, 0x18b\)/)
    expect(cert.length).toBeGreaterThan(1000) // several NV_Read chunks, each a device write + read
  }, 30_000)

  it('runs the whole agent TPM flow over the device', async () => {
    const c = new TpmClient(new DeviceTransport(devicePath), { retryDelayMs: 20 })
    try {
      const blobs = await provisionDevIdKey(c, { kind: 'rsa', password: 'pw' })
      const s = await AgentTpmSession.open(c, { devIdPub: blobs.pub, devIdPriv: blobs.priv, devIdPassword: 'pw' })
      try {
        expect((await s.readEkCertificate())[0]).toBe(0x30)
        expect((await s.certifyDevId()).attest.length).toBeGreaterThan(0)
        expect((await s.signWithDevId(new Uint8Array(40).fill(3))).length).toBe(256)
        const secret = new Uint8Array(32).fill(4)
        const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(s.ek!.pub), akName: s.ak!.name, secret })
        expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(secret)
      } finally {
        await s.close()
      }
      expect(c.live.size).toBe(0)
    } finally {
      await c.close()
    }
  }, 30_000)
})
