// The agent TPM flow (spec §7) against live swtpm instances: DevID load under SPIRE SRK-High, AK,
// EK, EK cert, certify, DevID signature, credential activation; and the named failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_RH } from '../../core/tpm2/constants.ts'
import { parseTpmsAttest } from '../../core/tpm2/attest.ts'
import { computeName } from '../../core/tpm2/name.ts'
import { verifyTpmSignatureWithKey } from '../../core/tpm2/signature.ts'
import { publicKeyFromTpmtPublic } from '../../core/tpm2/public-key.ts'
import { credentialEkFromTpmtPublic } from '../../core/credential/ek.ts'
import { makeCredential } from '../../core/credential/make-credential.ts'
import { TcpTransport } from '../../agent/tpm/transport.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { provisionDevIdKey } from '../../agent/tpm/provision.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { createVerify, createPublicKey } from 'node:crypto'

let a: Swtpm
let b: Swtpm
let noCert: Swtpm
const clientFor = (t: Swtpm) => new TpmClient(new TcpTransport('127.0.0.1', t.port), { retryDelayMs: 20 })

beforeAll(async () => {
  ;[a, b, noCert] = await Promise.all([
    startSwtpm({ name: 'agent-a' }),
    startSwtpm({ name: 'agent-b' }),
    startSwtpm({ name: 'agent-nocert', ekCert: false }),
  ])
}, 60_000)
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), noCert?.stop()])
})

async function withClient<T>(t: Swtpm, fn: (c: TpmClient) => Promise<T>): Promise<T> {
  const c = clientFor(t)
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

describe('agent TPM session', () => {
  for (const kind of ['rsa', 'ecc'] as const) {
    it(`runs the whole tpm_devid flow with a ${kind} DevID (with TPM2B-prefixed blobs)`, async () => {
      const blobs = await withClient(a, (c) => provisionDevIdKey(c, { kind, password: 'devpw' }))
      await withClient(a, async (c) => {
        const s = await AgentTpmSession.open(c, {
          devIdPub: kind === 'rsa' ? new Uint8Array([blobs.pub.length >> 8, blobs.pub.length & 0xff, ...blobs.pub]) : blobs.pub,
          devIdPriv: blobs.priv,
          devIdPassword: 'devpw',
        })
        try {
          expect(c.live.size).toBe(3) // DevID, AK, EK; SRKs flushed
          const ekCert = await s.readEkCertificate()
          expect(ekCert[0]).toBe(0x30)
          const cert = await s.certifyDevId()
          const attest = parseTpmsAttest(cert.attest)
          expect(attest.type).toBe(0x8017)
          if (attest.type === 0x8017) expect(attest.attested.name).toEqual(await computeName(s.devId!.pub))
          await verifyTpmSignatureWithKey(publicKeyFromTpmtPublic(s.ak!.pub), cert.signature, cert.attest)

          const nonce = crypto.getRandomValues(new Uint8Array(32))
          const sig = await s.signWithDevId(nonce)
          const pub = publicKeyFromTpmtPublic(s.devId!.pub)
          const jwk =
            pub.kty === 'RSA'
              ? { kty: 'RSA', n: Buffer.from(pub.n).toString('base64url'), e: Buffer.from(pub.e).toString('base64url') }
              : { kty: 'EC', crv: pub.crv, x: Buffer.from(pub.x).toString('base64url'), y: Buffer.from(pub.y).toString('base64url') }
          const v = createVerify('sha256').update(nonce)
          expect(v.verify(createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(sig))).toBe(true)

          const secret = crypto.getRandomValues(new Uint8Array(32))
          const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(s.ek!.pub), akName: s.ak!.name, secret })
          expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(secret)
          expect(c.live.size).toBe(3)
          // a credential for another AK name fails and the session is still flushed
          const bad = await makeCredential({
            ekPublic: credentialEkFromTpmtPublic(s.ek!.pub),
            akName: await computeName(s.devId!.pub),
            secret,
          })
          await expect(s.activateCredential(bad.idObject, bad.encSecret)).rejects.toThrow(/TPM2_ActivateCredential failed: TPM_RC_/)
          expect(c.live.size).toBe(3)
        } finally {
          await s.close()
        }
        expect(c.live.size).toBe(0)
      })
    }, 30_000)
  }

  it('an ECC EK (TCG L-2) can be created and activates', async () => {
    await withClient(a, async (c) => {
      const s = await AgentTpmSession.open(c, { ekKind: 'ecc' })
      try {
        expect(s.ek!.pub.type).toBe(0x0023)
        const secret = crypto.getRandomValues(new Uint8Array(16))
        const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(s.ek!.pub), akName: s.ak!.name, secret })
        expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(secret)
      } finally {
        await s.close()
      }
    })
  }, 30_000)

  it('names the wrong DevID password', async () => {
    const blobs = await withClient(a, (c) => provisionDevIdKey(c, { kind: 'ecc', password: 'right' }))
    await withClient(a, async (c) => {
      const s = await AgentTpmSession.open(c, { devIdPub: blobs.pub, devIdPriv: blobs.priv, devIdPassword: 'wrong' })
      try {
        await expect(s.certifyDevId()).rejects.toThrow(
          'TPM2_Certify failed: TPM_RC_AUTH_FAIL (session 1, 0x98e): the devIDKeyPassword is wrong',
        )
      } finally {
        await s.close()
      }
      expect(c.live.size).toBe(0)
    })
  })

  it('names wrong owner and endorsement hierarchy passwords', async () => {
    await withClient(b, async (c) => {
      await c.run(cmd.hierarchyChangeAuth(TPM_RH.OWNER, 'owner-secret'))
      await c.run(cmd.hierarchyChangeAuth(TPM_RH.ENDORSEMENT, 'endorsement-secret'))
      await expect(AgentTpmSession.open(c, { ownerHierarchyPassword: 'x' })).rejects.toThrow(
        /TPM2_CreatePrimary failed: TPM_RC_(BAD_AUTH|AUTH_FAIL) .*: the ownerHierarchyPassword is wrong/,
      )
      expect(c.live.size).toBe(0)
      await expect(AgentTpmSession.open(c, { ownerHierarchyPassword: 'owner-secret', endorsementHierarchyPassword: 'y' })).rejects.toThrow(
        /the endorsementHierarchyPassword is wrong/,
      )
      expect(c.live.size).toBe(0)
      const s = await AgentTpmSession.open(c, {
        ownerHierarchyPassword: 'owner-secret',
        endorsementHierarchyPassword: 'endorsement-secret',
      })
      try {
        const secret = new Uint8Array(32).fill(7)
        const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(s.ek!.pub), akName: s.ak!.name, secret })
        expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(secret)
      } finally {
        await s.close()
      }
    })
  }, 30_000)

  it('names a DevID blob from another TPM (TPM_RC_INTEGRITY) and flushes everything', async () => {
    const blobs = await withClient(a, (c) => provisionDevIdKey(c, { kind: 'rsa' }))
    await withClient(b, async (c) => {
      await expect(
        AgentTpmSession.open(c, {
          devIdPub: blobs.pub,
          devIdPriv: blobs.priv,
          ownerHierarchyPassword: 'owner-secret',
          endorsementHierarchyPassword: 'endorsement-secret',
        }),
      ).rejects.toThrow(
        /TPM2_Load failed: TPM_RC_INTEGRITY \(parameter 1, 0x1df\): DevID \(devIDPrivPath\/devIDPubPath\) blob does not belong to this TPM/,
      )
      expect(c.live.size).toBe(0)
    })
  })

  it('names a missing EK certificate NV index', async () => {
    await withClient(noCert, async (c) => {
      const s = await AgentTpmSession.open(c, {})
      try {
        await expect(s.readEkCertificate()).rejects.toThrow(
          'TPM2_NV_ReadPublic failed: TPM_RC_HANDLE (handle 1, 0x18b): no EK certificate at NV index 0x01c00002',
        )
      } finally {
        await s.close()
      }
    })
  })

  it('handles 3-slot pressure: a 4th object fails with TPM_RC_OBJECT_MEMORY until one is flushed', async () => {
    await withClient(a, async (c) => {
      const k1 = await provisionDevIdKey(c, { kind: 'ecc' })
      const k2 = await provisionDevIdKey(c, { kind: 'ecc' })
      // pub and priv of two different keys do not load together; nothing stays loaded
      await expect(AgentTpmSession.open(c, { devIdPub: k1.pub, devIdPriv: k2.priv })).rejects.toThrow(/TPM2_Load failed/)
      expect(c.live.size).toBe(0)
      const ok = await AgentTpmSession.open(c, { devIdPub: k1.pub, devIdPriv: k1.priv })
      expect(c.live.size).toBe(3)
      try {
        const err = await c
          .run(cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(''), { template: cmd.srkTemplateRsa() }))
          .catch((e: unknown) => e)
        expect(String(err)).toMatch(/TPM_RC_OBJECT_MEMORY/)
        await c.flush(ok.ek!.handle)
        const again = await c.run(cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(''), { template: cmd.srkTemplateRsa() }))
        await c.flush(again.handle)
      } finally {
        await ok.close()
      }
      expect(c.live.size).toBe(0)
    })
  }, 30_000)
})
