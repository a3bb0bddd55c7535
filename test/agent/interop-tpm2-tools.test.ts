// Interop with tpm2-tools as an independent peer (spec §6.2, §7.1): the SPIRE SRK-High templates are
// bit-identical to what tpm2-tools sends for `-G rsa2048:null:aes128cfb` / `ecc256:null:aes128cfb`
// with the SRK attributes; DevID blobs written by tpm2_create (TPM2B-prefixed files) load in the agent
// session unchanged; blobs written by our provisioning load with tpm2_load; Names agree.
import { writeFile } from 'node:fs/promises'
import { createPublicKey, createVerify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { toTpm2bPublic } from '../../core/tpm2/public.ts'
import { publicKeyFromTpmtPublic } from '../../core/tpm2/public-key.ts'
import { TcpTransport } from '../../agent/tpm/transport.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { provisionDevIdKey } from '../../agent/tpm/provision.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { Tpm2Tools } from '../support/tpm2-tools.ts'

let tpm: Swtpm
let tools: Tpm2Tools
beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-interop' })
  tools = new Tpm2Tools(tpm)
}, 60_000)
afterAll(async () => {
  await tpm?.stop()
})

/** swtpm serves one client at a time: our connection is closed before tpm2-tools runs again. */
async function withClient<T>(fn: (c: TpmClient) => Promise<T>): Promise<T> {
  const c = new TpmClient(new TcpTransport('127.0.0.1', tpm.port), { retryDelayMs: 20 })
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')

function verifySha256(pub: ReturnType<typeof publicKeyFromTpmtPublic>, data: Uint8Array, sig: Uint8Array): boolean {
  const jwk =
    pub.kty === 'RSA' ? { kty: 'RSA', n: b64u(pub.n), e: b64u(pub.e) } : { kty: 'EC', crv: pub.crv, x: b64u(pub.x), y: b64u(pub.y) }
  return createVerify('sha256')
    .update(data)
    .verify(createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(sig))
}

describe('SPIRE SRK-High templates = tpm2-tools templates', () => {
  for (const kind of ['rsa', 'ecc'] as const) {
    it(`${kind}: our TPMT_PUBLIC template is byte-identical to the one tpm2_createprimary sent`, async () => {
      const srk = await tools.createSrk(kind, 'spire-high')
      const ours = kind === 'rsa' ? cmd.srkTemplateRsa() : cmd.srkTemplateEcc()
      expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(srk.template).toString('hex'))
      // and the TPM derives the same primary (same Name) from our template
      const name = await withClient(async (c) => {
        const r = await c.run(
          cmd.createPrimary(0x40000001, cmd.passwordAuth(''), { template: ours, userAuth: crypto.getRandomValues(new Uint8Array(32)) }),
        )
        await c.flush(r.handle)
        return r.name
      })
      expect(Buffer.from(name).toString('hex')).toBe(Buffer.from(srk.name).toString('hex'))
    }, 30_000)
  }
})

describe('DevID blobs cross-load between tpm2-tools and the agent', () => {
  for (const kind of ['rsa', 'ecc'] as const) {
    it(`${kind}: tpm2_create blobs (TPM2B-prefixed) load in the agent session, sign, certify and flush`, async () => {
      const srk = await tools.createSrk(kind, 'spire-high')
      const blobs = await tools.createKey(srk, { alg: kind === 'rsa' ? 'rsa' : 'ecc256' })
      const toolsLoaded = await tools.load(srk, blobs, 'devid')
      expect(blobs.pub[0]! * 256 + blobs.pub[1]!).toBe(blobs.pub.length - 2) // really prefixed
      await withClient(async (c) => {
        const s = await AgentTpmSession.open(c, { devIdPub: blobs.pub, devIdPriv: blobs.priv })
        try {
          const { name } = await c.run(cmd.readPublic(s.devId!.handle))
          expect(Buffer.from(name).toString('hex')).toBe(Buffer.from(toolsLoaded.name).toString('hex'))
          const msg = crypto.getRandomValues(new Uint8Array(64))
          const sig = await s.signWithDevId(msg)
          expect(verifySha256(publicKeyFromTpmtPublic(s.devId!.pub), msg, sig)).toBe(true)
          expect(
            verifySha256(
              publicKeyFromTpmtPublic(s.devId!.pub),
              msg.map((b, i) => (i === 0 ? b ^ 1 : b)),
              sig,
            ),
          ).toBe(false)
          const certified = await s.certifyDevId(new Uint8Array([1, 2, 3]))
          expect(certified.attest.length).toBeGreaterThan(0)
        } finally {
          await s.close()
        }
        // nothing of ours is left in the TPM
        const transient = await c.run(cmd.getCapability(cmd.TPM_CAP.HANDLES, 0x80000000, 16))
        expect(transient.handles).toEqual([])
      })
    }, 30_000)

    it(`${kind}: blobs from our provisioning load with tpm2_load under tpm2-tools' SRK-High`, async () => {
      const ours = await withClient((c) => provisionDevIdKey(c, { kind }))
      const pubPath = tools.path('our-devid.pub')
      const privPath = tools.path('our-devid.priv')
      await writeFile(pubPath, toTpm2bPublic(ours.pub))
      const priv = new Uint8Array(2 + ours.priv.length)
      new DataView(priv.buffer).setUint16(0, ours.priv.length)
      priv.set(ours.priv, 2)
      await writeFile(privPath, priv)
      const srk = await tools.createSrk(kind, 'spire-high')
      const loaded = await tools.load(srk, { pubPath, privPath }, 'our-devid')
      const name = await withClient(async (c) => {
        const s = await AgentTpmSession.open(c, { devIdPub: ours.pub, devIdPriv: ours.priv })
        try {
          return (await c.run(cmd.readPublic(s.devId!.handle))).name
        } finally {
          await s.close()
        }
      })
      expect(Buffer.from(loaded.name).toString('hex')).toBe(Buffer.from(name).toString('hex'))
    }, 30_000)
  }
})
