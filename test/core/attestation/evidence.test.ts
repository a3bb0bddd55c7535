import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTpmDevidAnswer, decodeTpmDevidEvidence, decodeTpmEkEvidence, EVIDENCE_LIMITS } from '../../../core/attestation/evidence.ts'
import { checkAkKey, checkDevIdKey, parseTpmKey, verifyDevIdCertification } from '../../../core/attestor/tpm.ts'
import { VerifyError } from '../../../core/errors.ts'
import { defaultPlatform } from '../../../core/platform.ts'
import { evidenceSet, vector } from './live-agent.ts'
import { mutate, mutation } from './mutation.ts'

const good = evidenceSet('tpm-a-devid-rsa')
const b64 = (s: unknown) => new Uint8Array(Buffer.from(s as string, 'base64'))

function onlyVerifyErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e
  }
}

describe('evidence decoding', () => {
  it('decodes the SPIRE AttestationRequest of a fixture exactly', () => {
    const ev = decodeTpmDevidEvidence(good)
    expect(ev.devIdCerts).toHaveLength(2)
    expect(Buffer.from(ev.devIdCerts[0]!)).toEqual(Buffer.from(vector('tpm-a/devid-rsa.crt.der')))
    expect(Buffer.from(ev.devIdPub)).toEqual(Buffer.from(vector('tpm-a/devid-rsa.tpmt')))
    expect(ev.ekIntermediates).toEqual([])
  })

  it('ignores unknown keys and treats null as absent (Go encoding/json)', () => {
    const ev = decodeTpmDevidEvidence({ ...good, Extra: { x: 1 }, EKCert: null })
    expect(ev.ekCert).toBeUndefined()
    const ek = decodeTpmEkEvidence({ EKPub: good.EKPub, AKPub: good.AKPub })
    expect(ek.ekCert).toBeUndefined()
  })

  it('bounds every field before decoding', () => {
    const cert = 'A'.repeat(Math.ceil(EVIDENCE_LIMITS.certificate / 3) * 4 + 4)
    expect(() => decodeTpmDevidEvidence({ ...good, EKCert: cert })).toThrow(/exceed the bound of 8192 bytes/)
    expect(() => decodeTpmDevidEvidence({ ...good, CertifiedDevID: 'A'.repeat(1368) })).toThrow(/exceed the bound of 1024/)
    // exactly at the bound in base64 but decoding to more bytes than allowed cannot happen; just under passes the size gate
    expect(() => decodeTpmDevidAnswer({ DevID: 'AAAA', CredActivation: Buffer.alloc(65).toString('base64') })).toThrow(
      /65 bytes exceed the bound of 64|exceed the bound of 64/,
    )
    expect(decodeTpmDevidAnswer({ DevID: 'AAAA', CredActivation: Buffer.alloc(64).toString('base64') }).credActivation).toHaveLength(64)
  })

  it('property: any JSON value as evidence gives a decode or a VerifyError, never another exception (10,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.dictionary(
          fc.constantFrom(
            'DevIDCert',
            'DevIDPub',
            'EKCert',
            'EKPub',
            'AKPub',
            'CertifiedDevID',
            'CertificationSignature',
            'EKIntermediates',
          ),
          fc.jsonValue(),
        ),
        (v, partial) => {
          onlyVerifyErrors(() => decodeTpmDevidEvidence(v))
          onlyVerifyErrors(() => decodeTpmDevidEvidence({ ...good, ...partial }))
          onlyVerifyErrors(() => decodeTpmEkEvidence({ ...good, ...partial }))
          onlyVerifyErrors(() => decodeTpmDevidAnswer(partial))
        },
      ),
      { numRuns: 10_000 },
    )
  })
})

describe('TPM structures the attestors read (core/attestor/tpm.ts)', () => {
  const platform = defaultPlatform()
  const devid = b64(good.DevIDPub)
  const ak = b64(good.AKPub)
  const ek = b64(good.EKPub)
  const attest = b64(good.CertifiedDevID)
  const sig = b64(good.CertificationSignature)

  it('parses the fixture keys and verifies the fixture certify', async () => {
    const d = parseTpmKey(devid, 'DevID public')
    const a = parseTpmKey(ak, 'AK public')
    expect(d.summary).toBe('RSA-2048 RSASSA-SHA256, nameAlg SHA256, attributes 0x00040072')
    expect(a.summary).toBe('RSA-2048 RSASSA-SHA256, nameAlg SHA256, attributes 0x00050072')
    expect(parseTpmKey(ek, 'EK public').aesCfbKeyBits).toBe(128)
    checkDevIdKey(d)
    checkAkKey(a)
    expect(() => checkAkKey(d)).toThrow(/missing restricted/)
    expect(() => checkDevIdKey(a)).toThrow(/must not have restricted/)
    const r = await verifyDevIdCertification(a, d, attest, sig, platform)
    expect(r.extraData).toHaveLength(0)
    // tpm2_certify 5.4 output: extraData 00ff55aa, recorded and accepted
    const tools = await verifyDevIdCertification(
      a,
      d,
      vector('tpm-a/certify-devid-rsa-by-ak-rsa.tools.attest'),
      vector('tpm-a/certify-devid-rsa-by-ak-rsa.tools.sig'),
      platform,
    )
    expect(Buffer.from(tools.extraData).toString('hex')).toBe('00ff55aa')
  })

  it('property: mutated TPMT_PUBLICs parse or throw VerifyError (10,000 runs)', () => {
    const seeds = [devid, ak, ek, vector('tpm-a/devid-p256.tpmt'), vector('tpm-a/ak-ecc.tpmt'), vector('tpm-a/ek-p256.tpmt')]
    fc.assert(
      fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
        let bytes: Uint8Array = seeds[i]!
        for (const m of muts) if (bytes.length > 0) bytes = mutate(bytes, m)
        onlyVerifyErrors(() => {
          const k = parseTpmKey(bytes, 'mutated')
          onlyVerifyErrors(() => checkAkKey(k))
          onlyVerifyErrors(() => checkDevIdKey(k))
        })
      }),
      { numRuns: 10_000 },
    )
  })

  it('property: a mutated TPMS_ATTEST or TPMT_SIGNATURE never verifies and never throws anything but VerifyError (2,000 runs)', async () => {
    const a = parseTpmKey(ak, 'AK public')
    const d = parseTpmKey(devid, 'DevID public')
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (which, muts) => {
        let bytes: Uint8Array = which ? attest : sig
        for (const m of muts) if (bytes.length > 0) bytes = mutate(bytes, m)
        if (Buffer.compare(Buffer.from(bytes), Buffer.from(which ? attest : sig)) === 0) return
        const e = await verifyDevIdCertification(a, d, which ? bytes : attest, which ? sig : bytes, platform).then(
          () => undefined,
          (x: unknown) => x,
        )
        expect(e).toBeInstanceOf(VerifyError)
      }),
      { numRuns: 2_000 },
    )
  })
})
