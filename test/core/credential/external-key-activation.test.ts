/**
 * Credential activation cannot be faked with an external key (issue 12 item 9; docs/protocol.md
 * "Why an external AK cannot pass"). On a live swtpm, against vouch's MakeCredential and AK checks:
 *
 * (a) the genuine AK's public area loaded with TPM2_LoadExternal, public only, has the AK's exact
 *     Name, but TPM2_ActivateCredential refuses to use it (no authValue without a sensitive area),
 *     even with the AK's real password; the genuine AK activates the same credential;
 * (b) an external key with a software private part cannot carry the attributes of an AK:
 *     LoadExternal refuses fixedTPM, fixedParent and restricted with a sensitive area (and any
 *     hierarchy but NULL); with them clear it loads and would activate a credential made for its
 *     Name, but the verifier's AK attribute check refuses that public area before any credential
 *     is made.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TpmClient } from '../../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../../agent/tpm/session.ts'
import { TcpTransport } from '../../../agent/tpm/transport.ts'
import { ByteWriter } from '../../../core/bytes/writer.ts'
import { credentialEkFromTpmtPublic } from '../../../core/credential/ek.ts'
import { makeCredential } from '../../../core/credential/make-credential.ts'
import { Tpm2Error, type VerifyError } from '../../../core/errors.ts'
import { checkAkPublic } from '../../../core/tpm2/attributes.ts'
import * as cmd from '../../../core/tpm2/command/index.ts'
import { TPM_ALG, TPM_RH, TPMA_OBJECT } from '../../../core/tpm2/constants.ts'
import { computeName } from '../../../core/tpm2/name.ts'
import { encodeTpmtPublic, parseTpmtPublic } from '../../../core/tpm2/public.ts'
import { TpmResponseError } from '../../../core/tpm2/rc.ts'
import { defaultPlatform } from '../../../core/platform.ts'
import { startSwtpm, type Swtpm } from '../../support/swtpm.ts'

let tpm: Swtpm
let client: TpmClient
let agent: AgentTpmSession
const platform = defaultPlatform()

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'external-ak', ekCert: false })
  client = new TpmClient(new TcpTransport('127.0.0.1', tpm.port), { retryDelayMs: 20 })
  agent = await AgentTpmSession.open(client, {}) // the genuine AK (TPM2_Create under SRK-High) and the EK
}, 60_000)
afterAll(async () => {
  await agent?.close()
  await client?.close()
  await tpm?.stop()
})

/** vouch's challenge for the agent's EK, bound to `akName`. */
async function challenge(akName: Uint8Array) {
  const secret = platform.crypto.randomBytes(32)
  const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(agent.ek!.pub), akName, secret }, { platform })
  return { secret, made }
}

/** TPM2_ActivateCredential(activateHandle, EK) through PolicySecret(endorsement), as the agent does. */
async function activate(activateHandle: number, password: Uint8Array, made: { idObject: Uint8Array; encSecret: Uint8Array }) {
  const { handle: session } = await client.run(cmd.startAuthSession())
  try {
    await client.run(cmd.policySecret(TPM_RH.ENDORSEMENT, cmd.passwordAuth(''), session))
    return await client.run(
      cmd.activateCredential(
        activateHandle,
        cmd.passwordAuth(password),
        agent.ek!.handle,
        cmd.policyAuth(session),
        made.idObject,
        made.encSecret,
      ),
    )
  } finally {
    await client.flushQuiet(session)
  }
}

async function refusal(p: Promise<unknown>): Promise<TpmResponseError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(TpmResponseError)
  return e as TpmResponseError
}

/** A software RSA-2048 key: TPMT_PUBLIC with `attributes` and the AK's RSASSA-SHA256 scheme, and its TPMT_SENSITIVE. */
function softwareKey(attributes: number): { pub: Uint8Array; sensitive: Uint8Array } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = privateKey.export({ format: 'jwk' })
  const b = (s: string | undefined) => new Uint8Array(Buffer.from(s!, 'base64url'))
  const pub = encodeTpmtPublic({
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: attributes,
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 },
      scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 },
      keyBits: 2048,
      exponent: 0,
    },
    unique: b(jwk.n),
  })
  // TPMT_SENSITIVE (Part 2 §11.3.2.4): sensitiveType, authValue (empty), seedValue (empty), one prime
  const sensitive = new ByteWriter().u16(TPM_ALG.RSA).sized(new Uint8Array(0)).sized(new Uint8Array(0)).sized(b(jwk.p)).finish()
  return { pub, sensitive }
}

const AK = cmd.AK_ATTRIBUTES_TEMPLATE // restricted|sign|fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth

describe('credential activation with an external key', () => {
  it('(a) a public-only LoadExternal of the genuine AK has its Name but cannot activate: TPM_RC_AUTH_UNAVAILABLE', async () => {
    const ak = agent.ak!
    expect(ak.pub.objectAttributes & TPMA_OBJECT.fixedTPM).not.toBe(0)
    const { secret, made } = await challenge(ak.name)

    // the attacker's copy: the same public area, no sensitive area, in the NULL hierarchy
    const external = await client.run(cmd.loadExternal(new Uint8Array(0), ak.pub.raw, TPM_RH.NULL))
    try {
      expect(Buffer.from(external.name).equals(Buffer.from(ak.name))).toBe(true)
      for (const password of [new Uint8Array(0), ak.password]) {
        const e = await refusal(activate(external.handle, password, made))
        expect(e.rcName).toBe('TPM_RC_AUTH_UNAVAILABLE')
        expect(e.rc & 0xfff).toBe(0x12f) // TPM_RC_AUTH_UNAVAILABLE, format-zero
      }
    } finally {
      await client.flushQuiet(external.handle)
    }

    // the genuine AK activates the very same credential: the refusal is about the external object
    const activated = await activate(ak.handle, ak.password, made)
    expect(Buffer.from(activated).equals(Buffer.from(secret))).toBe(true)
  })

  it('(b) a software AK is refused fixedTPM, fixedParent and restricted by LoadExternal; the loadable rest is refused by the AK check', async () => {
    const plain = TPMA_OBJECT.sign | TPMA_OBJECT.userWithAuth
    for (const attributes of [AK, plain | TPMA_OBJECT.fixedTPM, plain | TPMA_OBJECT.fixedParent, plain | TPMA_OBJECT.restricted]) {
      const key = softwareKey(attributes)
      const e = await refusal(client.run(cmd.loadExternal(key.sensitive, key.pub, TPM_RH.NULL)))
      expect(e.rcName, `attributes 0x${attributes.toString(16)}`).toBe('TPM_RC_ATTRIBUTES')
      expect(e.rc, 'parameter 2 (inPublic)').toBe(0x2c2)
    }
    // nor may it live in a hierarchy other than NULL
    const owned = softwareKey(plain)
    expect((await refusal(client.run(cmd.loadExternal(owned.sensitive, owned.pub, TPM_RH.OWNER)))).rcName).toBe('TPM_RC_HIERARCHY')

    // the most AK-like external key the TPM takes: sign, userWithAuth, sensitiveDataOrigin
    const key = softwareKey(AK & ~TPMA_OBJECT.fixedTPM & ~TPMA_OBJECT.fixedParent & ~TPMA_OBJECT.restricted)
    const loaded = await client.run(cmd.loadExternal(key.sensitive, key.pub, TPM_RH.NULL))
    try {
      const pub = parseTpmtPublic(key.pub, 'external AK')
      expect(Buffer.from(loaded.name).equals(Buffer.from(await computeName(pub, platform)))).toBe(true)
      // the Name covers the attributes, and a credential made for this Name is one the attacker
      // can activate with the genuine EK ...
      const { secret, made } = await challenge(loaded.name)
      expect(Buffer.from(await activate(loaded.handle, new Uint8Array(0), made)).equals(Buffer.from(secret))).toBe(true)
      // ... which is why vouch never makes one: the AK attribute check refuses this public area
      let refused: unknown
      try {
        checkAkPublic(pub, 'AK public')
      } catch (err) {
        refused = err
      }
      expect(refused).toBeInstanceOf(Tpm2Error)
      expect((refused as VerifyError).code).toBe('ERR_TPM2_ATTRIBUTES')
      for (const bit of ['fixedTPM', 'fixedParent', 'restricted']) expect((refused as VerifyError).message).toContain(bit)
    } finally {
      await client.flushQuiet(loaded.handle)
    }
  })
})
