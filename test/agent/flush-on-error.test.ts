// "Every transient object and session flushed, also on errors" (issue 4), proven by fault injection:
// the whole agent TPM flow (spec §7 steps 3-13) is run once to count its commands, then once per
// command with that command failing (a TPM error response, then a transport I/O error). After each
// failed run the TPM itself is asked (GetCapability HANDLES) for transient objects and loaded
// sessions: there must be none, and the client's own bookkeeping must be empty too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { credentialEkFromTpmtPublic } from '../../core/credential/ek.ts'
import { makeCredential } from '../../core/credential/make-credential.ts'
import { TcpTransport, type TpmTransport } from '../../agent/tpm/transport.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { provisionDevIdKey, type DevIdBlobs } from '../../agent/tpm/provision.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const TPM_RC_FAILURE = 0x101

/**
 * Forwards to swtpm; fails the `failAt`-th non-flush command (1-based) once, as `mode` says. A resend
 * after TPM_RC_RETRY (the client's bounded retry) is the same command and is not counted again.
 */
class FaultTransport implements TpmTransport {
  readonly description = 'fault-injection'
  commands: number[] = []
  private lastRetried: Uint8Array | undefined
  constructor(
    private readonly inner: TpmTransport,
    private readonly failAt = 0,
    private readonly mode: 'rc' | 'io' = 'rc',
  ) {}
  async send(command: Uint8Array): Promise<Uint8Array> {
    const code = new DataView(command.buffer, command.byteOffset).getUint32(6)
    const resend = this.lastRetried !== undefined && Buffer.from(this.lastRetried).equals(command)
    this.lastRetried = undefined
    if (code !== cmd.TPM_CC.FlushContext && !resend) {
      this.commands.push(code)
      if (this.commands.length === this.failAt) {
        if (this.mode === 'io') throw new Error('injected transport failure')
        const rsp = new Uint8Array(10)
        const v = new DataView(rsp.buffer)
        v.setUint16(0, 0x8001)
        v.setUint32(2, 10)
        v.setUint32(6, TPM_RC_FAILURE)
        return rsp
      }
    }
    const rsp = await this.inner.send(command)
    if (rsp.length >= 10 && new DataView(rsp.buffer, rsp.byteOffset).getUint32(6) === 0x922) this.lastRetried = command.slice()
    return rsp
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

let tpm: Swtpm
let devId: DevIdBlobs
beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-faults' })
  const c = new TpmClient(new TcpTransport('127.0.0.1', tpm.port))
  try {
    devId = await provisionDevIdKey(c, { kind: 'ecc', password: 'pw' })
  } finally {
    await c.close()
  }
}, 60_000)
afterAll(async () => {
  await tpm?.stop()
})

/** Steps 3-13 of spec §7 as the agent runs them. */
async function wholeFlow(c: TpmClient): Promise<void> {
  const s = await AgentTpmSession.open(c, { devIdPub: devId.pub, devIdPriv: devId.priv, devIdPassword: 'pw' })
  try {
    await s.readEkCertificate()
    await s.certifyDevId()
    await s.signWithDevId(new Uint8Array(32).fill(9))
    const secret = new Uint8Array(32).fill(5)
    const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(s.ek!.pub), akName: s.ak!.name, secret })
    expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(secret)
  } finally {
    await s.close()
  }
}

/** What the TPM holds: transient objects (0x80......) and loaded policy/HMAC sessions (0x02/0x03......). */
async function tpmHandles(): Promise<number[]> {
  const c = new TpmClient(new TcpTransport('127.0.0.1', tpm.port))
  try {
    const out: number[] = []
    for (const first of [0x80000000, 0x02000000, 0x03000000]) {
      const r = await c.run(cmd.getCapability(cmd.TPM_CAP.HANDLES, first, 64))
      out.push(...(r.handles ?? []).filter((h) => h >>> 24 === first >>> 24))
    }
    return out
  } finally {
    await c.close()
  }
}

let commandCount = 0

describe('flush on every failure path of the agent TPM flow', () => {
  it('the clean flow leaves nothing loaded', async () => {
    const t = new FaultTransport(new TcpTransport('127.0.0.1', tpm.port))
    const c = new TpmClient(t)
    try {
      await wholeFlow(c)
    } finally {
      await c.close()
    }
    commandCount = t.commands.length
    // CreatePrimary x3 (SRKs), Load x2, Create, CreatePrimary (EK), NV/GetCapability reads, Certify, Sign, session commands
    expect(commandCount).toBeGreaterThanOrEqual(14)
    expect(t.commands).toContain(cmd.TPM_CC.ActivateCredential)
    expect(await tpmHandles()).toEqual([])
  }, 30_000)

  for (const mode of ['rc', 'io'] as const) {
    it(`a ${mode === 'rc' ? 'TPM_RC_FAILURE response' : 'transport I/O error'} at each command: named error, TPM left empty`, async () => {
      expect(commandCount).toBeGreaterThan(0)
      for (let k = 1; k <= commandCount; k++) {
        const t = new FaultTransport(new TcpTransport('127.0.0.1', tpm.port), k, mode)
        const c = new TpmClient(t, { retryDelayMs: 1 })
        const err = await wholeFlow(c).then(
          () => undefined,
          (e: unknown) => e as Error,
        )
        expect(c.live.size, `command ${k}`).toBe(0)
        await c.close()
        expect(err, `command ${k} of [${t.commands.map((x) => x.toString(16)).join(',')}] should fail the flow`).toBeInstanceOf(Error)
        expect(err!.message).toMatch(mode === 'rc' ? /TPM2_\w+ failed: TPM_RC_FAILURE/ : /injected transport failure/)
        expect(await tpmHandles(), `handles left after failing command ${k}`).toEqual([])
      }
    }, 120_000)
  }
})
