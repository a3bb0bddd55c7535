// Every TPM command encoder/decoder in core/tpm2/command against a live swtpm (raw TCP transport).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../../../core/tpm2/command/index.ts'
import { TPM_ALG, TPM_RH, TPM_ST, EK_CERT_NV_INDEX } from '../../../../core/tpm2/constants.ts'
import { parseTpmsAttest } from '../../../../core/tpm2/attest.ts'
import { computeName } from '../../../../core/tpm2/name.ts'
import { verifyTpmSignatureWithKey } from '../../../../core/tpm2/signature.ts'
import { publicKeyFromTpmtPublic } from '../../../../core/tpm2/public-key.ts'
import { credentialEkFromTpmtPublic } from '../../../../core/credential/ek.ts'
import { makeCredential } from '../../../../core/credential/make-credential.ts'
import { TpmResponseError } from '../../../../core/tpm2/rc.ts'
import { TcpTransport } from '../../../../agent/tpm/transport.ts'
import { TpmClient } from '../../../../agent/tpm/client.ts'
import { startSwtpm, type Swtpm } from '../../../support/swtpm.ts'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { VerifyError } from '../../../../core/errors.ts'

let tpm: Swtpm
let c: TpmClient
const recorded: [Uint8Array, Uint8Array][] = []
const sent = new Map<Uint8Array, cmd.TpmCommand<unknown>>()
const pw = cmd.passwordAuth

beforeAll(async () => {
  tpm = await startSwtpm()
  const tcp = new TcpTransport('127.0.0.1', tpm.port)
  // record every real (command, response) pair for the decoder property test at the end
  c = new TpmClient(
    {
      description: tcp.description,
      close: () => tcp.close(),
      async send(bytes) {
        const rsp = await tcp.send(bytes)
        recorded.push([bytes, rsp])
        return rsp
      },
    },
    { retryDelayMs: 50 },
  )
  const run = c.run.bind(c)
  c.run = <R>(k: cmd.TpmCommand<R>) => {
    sent.set(k.bytes, k as cmd.TpmCommand<unknown>)
    return run(k)
  }
}, 30_000)
afterAll(async () => {
  await c?.close()
  await tpm?.stop()
})
afterEach(async () => {
  await c?.flushAll()
})

async function primary(template = cmd.srkTemplateRsa(), userAuth = '') {
  const r = await c.run(cmd.createPrimary(TPM_RH.OWNER, pw(''), { template, userAuth }))
  c.track(r.handle)
  return r
}

describe('TPM commands against swtpm', () => {
  it('GetRandom returns the requested bytes, differing each time', async () => {
    const a = await c.run(cmd.getRandom(16))
    const b = await c.run(cmd.getRandom(16))
    expect(a.length).toBe(16)
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
  })

  it('GetCapability reads TPM properties and handles', async () => {
    const cap = await c.run(cmd.getCapability(cmd.TPM_CAP.TPM_PROPERTIES, cmd.TPM_PT.FAMILY_INDICATOR, 1))
    expect(cap.properties?.get(cmd.TPM_PT.FAMILY_INDICATOR)).toBe(0x322e3000) // "2.0\0"
    const nvMax = await c.getProperty(cmd.TPM_PT.NV_BUFFER_MAX)
    expect(nvMax).toBeGreaterThan(0)
    const nv = await c.run(cmd.getCapability(cmd.TPM_CAP.HANDLES, 0x01000000, 64))
    expect(nv.handles).toContain(EK_CERT_NV_INDEX.RSA2048)
  })

  it('PCR_Read returns SHA-256 PCRs 0..2 (32 zero bytes after startup)', async () => {
    const r = await c.run(cmd.pcrRead([{ hash: TPM_ALG.SHA256, pcrs: [0, 1, 2] }]))
    expect(r.pcrValues).toHaveLength(3)
    for (const v of r.pcrValues) expect(v).toEqual(new Uint8Array(32))
    expect(r.pcrSelectionOut[0]?.hash).toBe(TPM_ALG.SHA256)
  })

  it('CreatePrimary SRK-High is deterministic; ReadPublic returns the same public and Name', async () => {
    const a = await primary()
    const rp = await c.run(cmd.readPublic(a.handle))
    expect(rp.outPublic.raw).toEqual(a.outPublic.raw)
    expect(rp.name).toEqual(await computeName(a.outPublic))
    await c.flush(a.handle)
    const b = await primary(cmd.srkTemplateRsa(), 'other password')
    expect(b.outPublic.raw).toEqual(a.outPublic.raw)
    await c.flush(b.handle)
  })

  it('Create + Load a DevID, Hash, Sign (NULL ticket), Certify by an AK and Quote', async () => {
    const srk = await primary()
    const devid = await c.run(cmd.create(srk.handle, pw(''), { template: cmd.devIdTemplate('ecc'), userAuth: 'devpw' }))
    const ak = await c.run(cmd.create(srk.handle, pw(''), { template: cmd.akTemplateRsa(), userAuth: 'akpw' }))
    const dl = await c.run(cmd.load(srk.handle, pw(''), devid.outPrivate, devid.outPublic.raw))
    c.track(dl.handle)
    const al = await c.run(cmd.load(srk.handle, pw(''), ak.outPrivate, ak.outPublic.raw))
    c.track(al.handle)
    await c.flush(srk.handle)
    expect(dl.name).toEqual(await computeName(devid.outPublic))

    const msg = new TextEncoder().encode('hello tpm')
    const h = await c.run(cmd.hash(msg, TPM_ALG.SHA256, TPM_RH.OWNER))
    expect(Buffer.from(h.outHash)).toEqual(createHash('sha256').update(msg).digest())
    expect(h.validation.tag).toBe(TPM_ST.HASHCHECK)

    const sig = await c.run(cmd.sign(dl.handle, pw('devpw'), h.outHash))
    await verifyTpmSignatureWithKey(publicKeyFromTpmtPublic(devid.outPublic), sig, msg)

    const nonce = new Uint8Array([1, 2, 3, 4, 5])
    const cert = await c.run(
      cmd.certify(dl.handle, pw('devpw'), al.handle, pw('akpw'), nonce, { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }),
    )
    const attest = parseTpmsAttest(cert.attest)
    expect(attest.extraData).toEqual(nonce)
    await verifyTpmSignatureWithKey(publicKeyFromTpmtPublic(ak.outPublic), cert.signature, cert.attest)

    const q = await c.run(cmd.quote(al.handle, pw('akpw'), nonce, [{ hash: TPM_ALG.SHA256, pcrs: [0, 7] }]))
    expect(parseTpmsAttest(q.attest).extraData).toEqual(nonce)
    await verifyTpmSignatureWithKey(publicKeyFromTpmtPublic(ak.outPublic), q.signature, q.attest)

    // wrong DevID password: TPM_RC_AUTH_FAIL on session 1
    const err = await c.run(cmd.sign(dl.handle, pw('nope'), h.outHash)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TpmResponseError)
    expect((err as TpmResponseError).rcName).toBe('TPM_RC_AUTH_FAIL')
    expect((err as TpmResponseError).decoded.session).toBe(1)
    await c.flush(dl.handle)
    await c.flush(al.handle)
  })

  it('NV_ReadPublic + chunked NV_Read return the EK certificate', async () => {
    const { nvPublic } = await c.run(cmd.nvReadPublic(EK_CERT_NV_INDEX.RSA2048))
    expect(nvPublic.nvIndex).toBe(EK_CERT_NV_INDEX.RSA2048)
    const cert = await c.readNv(EK_CERT_NV_INDEX.RSA2048)
    expect(cert.length).toBe(nvPublic.dataSize)
    expect(cert[0]).toBe(0x30)
    const part = await c.run(cmd.nvRead(EK_CERT_NV_INDEX.RSA2048, EK_CERT_NV_INDEX.RSA2048, pw(''), 16, 4))
    expect(part).toEqual(cert.subarray(4, 20))
    const missing = await c.run(cmd.nvReadPublic(0x01c0ffff)).catch((e: unknown) => e)
    expect((missing as TpmResponseError).rcName).toBe('TPM_RC_HANDLE')
  })

  it('StartAuthSession + PolicySecret(endorsement) + ActivateCredential recover the secret', async () => {
    const ek = await c.run(cmd.createPrimary(TPM_RH.ENDORSEMENT, pw(''), { template: cmd.ekTemplateRsa() }))
    c.track(ek.handle)
    const srk = await primary()
    const ak = await c.run(cmd.create(srk.handle, pw(''), { template: cmd.akTemplateRsa() }))
    const al = await c.run(cmd.load(srk.handle, pw(''), ak.outPrivate, ak.outPublic.raw))
    c.track(al.handle)
    await c.flush(srk.handle)
    const secret = crypto.getRandomValues(new Uint8Array(32))
    const made = await makeCredential({ ekPublic: credentialEkFromTpmtPublic(ek.outPublic), akName: al.name, secret })
    const s = await c.run(cmd.startAuthSession())
    expect(s.nonceTPM.length).toBe(16)
    const ps = await c.run(cmd.policySecret(TPM_RH.ENDORSEMENT, pw(''), s.handle))
    expect(ps.policyTicket.digest.length).toBe(0)
    const got = await c.run(cmd.activateCredential(al.handle, pw(''), ek.handle, cmd.policyAuth(s.handle), made.idObject, made.encSecret))
    expect(got).toEqual(secret)
    // the session is gone (continueSession clear): flushing it fails with TPM_RC_HANDLE or VALUE
    const gone = await c.run(cmd.flushContext(s.handle)).catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(TpmResponseError)
    await c.flush(al.handle)
    await c.flush(ek.handle)
  })

  it('EvictControl persists and evicts an SRK', async () => {
    const srk = await primary()
    await c.run(cmd.evictControl(TPM_RH.OWNER, pw(''), srk.handle, 0x81000010))
    const rp = await c.run(cmd.readPublic(0x81000010))
    expect(rp.outPublic.raw).toEqual(srk.outPublic.raw)
    await c.run(cmd.evictControl(TPM_RH.OWNER, pw(''), 0x81000010, 0x81000010))
    const gone = await c.run(cmd.readPublic(0x81000010)).catch((e: unknown) => e)
    expect((gone as TpmResponseError).rcName).toBe('TPM_RC_HANDLE')
    await c.flush(srk.handle)
  })

  it('decoders on the recorded real responses, truncated / extended / mutated: a result or a VerifyError (10,000 runs)', async () => {
    const pairs = recorded
      .map(([b, r]) => [sent.get(b), r] as const)
      .filter((p): p is readonly [cmd.TpmCommand<unknown>, Uint8Array] => p[0] !== undefined && p[1].length > 10)
    expect(pairs.length).toBeGreaterThan(15)
    expect(new Set(pairs.map(([k]) => k.name)).size).toBeGreaterThanOrEqual(15)
    fc.assert(
      fc.property(
        fc.nat(pairs.length - 1),
        fc.nat(600),
        fc.uint8Array({ maxLength: 6 }),
        fc.nat(700),
        fc.nat(255),
        (i, cut, tail, pos, val) => {
          const [k, rsp] = pairs[i]!
          const b = new Uint8Array([
            ...rsp.subarray(0, Math.max(0, rsp.length - (cut % 3 === 0 ? cut % 40 : 0))),
            ...(cut % 5 === 0 ? tail : []),
          ])
          if (pos < b.length) b[pos] = val
          try {
            k.decode(b)
          } catch (e) {
            if (!(e instanceof VerifyError)) throw e
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })

  it('a fourth transient object gives TPM_RC_OBJECT_MEMORY (3 slots)', async () => {
    const hs: number[] = []
    for (let i = 0; i < 3; i++) hs.push((await primary()).handle)
    const err = await primary().catch((e: unknown) => e)
    expect((err as TpmResponseError).rcName).toBe('TPM_RC_OBJECT_MEMORY')
    for (const h of hs) await c.flush(h)
    expect(c.live.size).toBe(0)
    await c.flush((await primary()).handle)
  })
})
