// The quoted PCR digest (Part 3 §18.4.2): H(PCR values concatenated in selection order), where H
// is the signing scheme's hash, not the hash of the PCR bank.
import type { HashAlg } from '../crypto/provider.ts'
import { concatBytes } from '../bytes/equal.ts'
import { QuoteError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { algName, digestSizeOf } from '../tpm2/constants.ts'
import type { TPML_PCR_SELECTION } from '../tpm2/pcr-selection.ts'

/** Checks that `values` fits `selection` (one value per selected PCR, each its bank's size). */
export function checkPcrValues(selection: TPML_PCR_SELECTION, values: readonly Uint8Array[]): void {
  const expected = selection.reduce((n, s) => n + s.pcrs.length, 0)
  if (values.length !== expected) {
    throw new QuoteError('ERR_QUOTE_PCR_SELECTION', `expected ${expected} PCR values for the quoted selection, got ${values.length}`)
  }
  let i = 0
  for (const s of selection) {
    for (const pcr of s.pcrs) {
      const v = values[i++]!
      if (v.length !== digestSizeOf(s.hash)) {
        throw new QuoteError(
          'ERR_QUOTE_PCR_SELECTION',
          `PCR ${pcr} of the ${algName(s.hash)} bank is ${v.length} bytes, expected ${digestSizeOf(s.hash)}`,
        )
      }
    }
  }
}

/** Splits values concatenated in selection order (tpm2_quote -F values) into one per PCR. */
export function splitPcrValues(selection: TPML_PCR_SELECTION, concatenated: Uint8Array): Uint8Array[] {
  const sizes = selection.flatMap((s) => s.pcrs.map(() => digestSizeOf(s.hash)))
  const total = sizes.reduce((a, b) => a + b, 0)
  if (concatenated.length !== total) {
    throw new QuoteError('ERR_QUOTE_PCR_SELECTION', `PCR values are ${concatenated.length} bytes, the selection needs ${total}`)
  }
  const out: Uint8Array[] = []
  let o = 0
  for (const n of sizes) {
    out.push(concatenated.subarray(o, o + n))
    o += n
  }
  return out
}

export async function computePcrDigest(
  values: readonly Uint8Array[],
  hash: HashAlg,
  platform: Platform = defaultPlatform(),
): Promise<Uint8Array> {
  return platform.crypto.digest(hash, concatBytes(...values))
}
