// SPIRE agent test cases (spec §9.2) not covered elsewhere, against a live swtpm without EK
// certificates whose NV indices this file writes with tpm2-tools:
// - GetEKCert: a padded index (only the first DER element is kept; read in TPM_PT_NV_BUFFER_MAX
//   chunks), a truncated index, an index holding no DER;
// - NewSession with garbage DevID blobs;
// - ActivateCredential with a malformed credential: a named TPM error, the policy session flushed.
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { parsePemCertificates } from '../../core/bytes/pem.ts'
import { credentialEkFromTpmtPublic } from '../../core/credential/ek.ts'
import { makeCredential } from '../../core/credential/make-credential.ts'
import { VerifyError } from '../../core/errors.ts'
import { TcpTransport } from '../../agent/tpm/transport.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { provisionDevIdKey } from '../../agent/tpm/provision.ts'
import { run, startSwtpm, type Swtpm } from '../support/swtpm.ts'

let tpm: Swtpm
let cert: Uint8Array
const PADDED = 0x01c00002 // the RSA EK certificate index the agent reads by default
const TRUNCATED = 0x01c10001
const GARBAGE = 0x01c10002

async function defineNv(index: number, data: Uint8Array): Promise<void> {
  const path = `${tpm.workDir}/nv-${index.toString(16)}.bin`
  await writeFile(path, data)
  const idx = `0x${index.toString(16)}`
  await run('tpm2_nvdefine', ['-C', 'p', '-s', String(data.length), '-a', 'ppwrite|ppread|ownerread|authread|no_da|platformcreate', idx], {
    env: tpm.env,
  })
  await run('tpm2_nvwrite', ['-C', 'p', '-i', path, idx], { env: tpm.env })
}

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-edges', ekCert: false })
  // a real DER certificate larger than one NV_Read chunk: the EK CA's RSA-3072 root
  cert = parsePemCertificates(tpm.ekCa.rootPem)[0]!
  const padded = new Uint8Array(2048)
  padded.set(cert)
  padded.fill(0xff, cert.length)
  await defineNv(PADDED, padded)
  await defineNv(TRUNCATED, cert.slice(0, cert.length - 40))
  await defineNv(GARBAGE, new Uint8Array(64).fill(0x42))
}, 60_000)
afterAll(async () => {
  await tpm?.stop()
})

async function withClient<T>(fn: (c: TpmClient) => Promise<T>): Promise<T> {
  const c = new TpmClient(new TcpTransport('127.0.0.1', tpm.port), { retryDelayMs: 20 })
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

describe('EK certificate from NV', () => {
  it('a padded index gives exactly the certificate, read in TPM_PT_NV_BUFFER_MAX chunks', async () => {
    await withClient(async (c) => {
      const max = await c.getProperty(cmd.TPM_PT.NV_BUFFER_MAX)
      expect(max).toBeGreaterThan(0)
      expect(cert.length).toBeGreaterThan(max!) // more than one NV_Read
      const s = await AgentTpmSession.open(c, {})
      try {
        expect(Buffer.from(await s.readEkCertificate()).equals(Buffer.from(cert))).toBe(true)
      } finally {
        await s.close()
      }
    })
  }, 30_000)

  it('a truncated index and an index without DER are errors, and nothing stays loaded', async () => {
    await withClient(async (c) => {
      const s = await AgentTpmSession.open(c, {})
      try {
        for (const index of [TRUNCATED, GARBAGE]) {
          const err = await s.readEkCertificate(index).catch((e: unknown) => e)
          expect(err, `index 0x${index.toString(16)}`).toBeInstanceOf(VerifyError)
          expect((err as Error).message).toMatch(/^EK certificate NV data/)
        }
      } finally {
        await s.close()
      }
      expect(c.live.size).toBe(0)
    })
  }, 30_000)
})

describe('DevID blobs and credentials that do not parse', () => {
  it('a garbage DevID public is a parse error naming it; nothing is loaded', async () => {
    await withClient(async (c) => {
      const err = await AgentTpmSession.open(c, { devIdPub: new Uint8Array([0, 1, 0, 11, 9, 9]), devIdPriv: new Uint8Array(40) }).catch(
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(VerifyError)
      expect((err as Error).message).toMatch(/DevID public/)
      expect(c.live.size).toBe(0)
    })
  })

  it('a garbage DevID private is a named TPM error from TPM2_Load; nothing is loaded', async () => {
    const blobs = await withClient((c) => provisionDevIdKey(c, { kind: 'ecc' }))
    await withClient(async (c) => {
      const priv = blobs.priv.slice()
      priv[priv.length - 1]! ^= 0x01 // a flipped bit in the encrypted sensitive area
      await expect(AgentTpmSession.open(c, { devIdPub: blobs.pub, devIdPriv: priv })).rejects.toThrow(
        /^TPM2_Load failed: TPM_RC_INTEGRITY \(parameter 1, 0x1df\): DevID/,
      )
      expect(c.live.size).toBe(0)
    })
  }, 30_000)

  it('a malformed credential: ActivateCredential names the TPM error, the policy session is flushed', async () => {
    await withClient(async (c) => {
      const s = await AgentTpmSession.open(c, {})
      try {
        const made = await makeCredential({
          ekPublic: credentialEkFromTpmtPublic(s.ek!.pub),
          akName: s.ak!.name,
          secret: new Uint8Array(32).fill(1),
        })
        await expect(s.activateCredential(made.idObject.slice(0, made.idObject.length - 3), made.encSecret)).rejects.toThrow(
          /^TPM2_ActivateCredential failed: TPM_RC_\w+ \(parameter 1, /,
        )
        await expect(s.activateCredential(made.idObject, made.encSecret.slice(1))).rejects.toThrow(
          /^TPM2_ActivateCredential failed: TPM_RC_\w+ \(parameter 2, /,
        )
        expect(c.live.size).toBe(2) // AK, EK: no session left behind
        const sessions = await c.run(cmd.getCapability(cmd.TPM_CAP.HANDLES, 0x03000000, 16))
        expect((sessions.handles ?? []).filter((h) => h >>> 24 === 0x03)).toEqual([])
        // and the good credential still activates afterwards
        expect(await s.activateCredential(made.idObject, made.encSecret)).toEqual(new Uint8Array(32).fill(1))
      } finally {
        await s.close()
      }
    })
  }, 30_000)
})
