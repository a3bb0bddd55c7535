import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VerifyError } from '../../../core/errors.ts'
import { parseTpmsAttest } from '../../../core/tpm2/attest.ts'
import { parsePcrSelection } from '../../../core/tpm2/pcr-selection.ts'
import { parsePublicArea, parseTpm2bPublic, parseTpmtPublic } from '../../../core/tpm2/public.ts'
import { parseTpmtSignature } from '../../../core/tpm2/signature.ts'

// Every TPM structure parser, fed truncated, extended and mutated real inputs: the answer is a
// valid parse or a VerifyError, never a TypeError/RangeError and never a hang.
const v = (p: string) => new Uint8Array(readFileSync(new URL(`../../vectors/real-tpm/${p}`, import.meta.url)))
const seeds = {
  public: [
    v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/ak_pub.tpmt_public.bin'),
    v('google-go-attestation/derived/activation_gce_vtpm_ecc_ak/ak_public.tpmt_public.bin'),
    v('webauthn-tpm/py_webauthn/test_verify_tpm_with_ecc_public_area_type/pubArea.tpmt_public.bin'),
  ],
  attest: [
    v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/quote_sha256.tpms_attest.bin'),
    v('webauthn-tpm/py_webauthn/test_verify_attestation_dell_xps_13/certInfo.tpms_attest.bin'),
    v('google-go-attestation/derived/windows_gcp_shielded_vm/ak_create_attestation.tpms_attest.bin'),
  ],
  signature: [
    v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/quote_sha256.tpmt_signature.bin'),
    v('google-go-attestation/derived/activation_gce_vtpm_ecc_ak/ak_create_signature.tpmt_signature.bin'),
  ],
  selection: [new Uint8Array([0, 0, 0, 2, 0, 0x0b, 3, 0x87, 0, 0, 0, 0x04, 3, 0xff, 0xff, 0xff])],
}

/** A mutation of a seed: truncate, extend, flip/set bytes, or splice. */
function mutant(pool: Uint8Array[]) {
  return fc
    .tuple(
      fc.constantFrom(...pool),
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: 0, max: 3 }),
    )
    .map(([seed, cut, edits, tail, mode]) => {
      let b = Uint8Array.from(seed)
      if (mode === 0) b = b.subarray(0, cut % (b.length + 1))
      if (mode === 1) b = Uint8Array.from([...b, ...tail])
      for (const [i, val] of edits) if (b.length) b[i % b.length] = val
      if (mode === 3 && b.length) b = Uint8Array.from([...b.subarray(0, cut % b.length), ...tail, ...b.subarray(cut % b.length)])
      return b
    })
}

function neverThrowsOtherThanVerifyError(parse: (b: Uint8Array) => unknown) {
  return (b: Uint8Array) => {
    try {
      parse(b)
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      expect(e.message).toMatch(/^[A-Za-z0-9_ ]/)
    }
  }
}

const RUNS = 10_000

describe('TPM structure parsers under mutation', () => {
  it('seeds parse', () => {
    for (const s of seeds.public) expect(parseTpmtPublic(s).raw.length).toBe(s.length)
    for (const s of seeds.attest) expect(parseTpmsAttest(s).raw.length).toBe(s.length)
    for (const s of seeds.signature) expect(parseTpmtSignature(s).raw.length).toBe(s.length)
    expect(parsePcrSelection(seeds.selection[0]!).map((x) => x.pcrs)).toEqual([[0, 1, 2, 7], Array.from({ length: 24 }, (_, i) => i)])
  })
  it('TPMT_PUBLIC / TPM2B_PUBLIC', () => {
    fc.assert(
      fc.property(mutant(seeds.public), (b) => {
        neverThrowsOtherThanVerifyError(parseTpmtPublic)(b)
        neverThrowsOtherThanVerifyError(parseTpm2bPublic)(b)
        neverThrowsOtherThanVerifyError(parsePublicArea)(b)
      }),
      { numRuns: RUNS },
    )
  })
  it('TPMS_ATTEST', () => {
    fc.assert(fc.property(mutant(seeds.attest), neverThrowsOtherThanVerifyError(parseTpmsAttest)), { numRuns: RUNS })
  })
  it('TPMT_SIGNATURE', () => {
    fc.assert(fc.property(mutant(seeds.signature), neverThrowsOtherThanVerifyError(parseTpmtSignature)), { numRuns: RUNS })
  })
  it('TPML_PCR_SELECTION', () => {
    fc.assert(fc.property(mutant(seeds.selection), neverThrowsOtherThanVerifyError(parsePcrSelection)), { numRuns: RUNS })
  })
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        for (const p of [parseTpmtPublic, parseTpmsAttest, parseTpmtSignature, parsePcrSelection]) neverThrowsOtherThanVerifyError(p)(b)
      }),
      { numRuns: RUNS },
    )
  })
})
