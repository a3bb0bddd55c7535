/**
 * The TPM 2.0 key derivation functions (TPM 2.0 Library Part 1 §11.4.10):
 *
 * - KDFa (§11.4.10.2): SP 800-108 counter-mode KDF with HMAC as the PRF,
 *   `K(i) = HMAC_H(key, [i]32 || Label || 0x00 || Context_U || Context_V || [bits]32)`.
 * - KDFe (§11.4.10.3): SP 800-56A concatenation KDF with the hash as the PRF,
 *   `K(i) = H([i]32 || Z || Label || 0x00 || PartyUInfo || PartyVInfo)`.
 *
 * The output is the first ceil(bits/8) bytes (none for bits = 0, as in the reference implementation) of K(1) || K(2) || ...; when bits is not a multiple of
 * 8 the output is a big-endian number of `bits` bits, so the unused high bits of the FIRST byte are
 * cleared (§11.4.10.2: "the most significant bits are masked").
 *
 * Labels are NUL-terminated strings: the 0x00 is part of the hashed input. Like the TCG reference
 * implementation (CryptKDFa), a label that already ends in 0x00 gets no second terminator.
 */
import type { HashAlg } from '../crypto/provider.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { utf8 } from '../bytes/encoding.ts'
import { concatBytes } from '../bytes/equal.ts'

/** Digest sizes in bytes, per hash. */
export const DIGEST_BYTES: Readonly<Record<HashAlg, number>> = Object.freeze({
  'SHA-1': 20,
  'SHA-256': 32,
  'SHA-384': 48,
  'SHA-512': 64,
})

/** A label as hashed: its bytes followed by one 0x00 (unless it already ends in 0x00). */
export function labelBytes(label: string | Uint8Array): Uint8Array {
  if (typeof label === 'string') {
    // the protocol's labels are a handful of constants ("IDENTITY", "STORAGE", "INTEGRITY")
    let b = stringLabels.get(label)
    if (!b) {
      b = terminated(utf8(label))
      if (stringLabels.size < 64) stringLabels.set(label, b)
    }
    return b.slice()
  }
  return terminated(label)
}

const stringLabels = new Map<string, Uint8Array>()

function terminated(b: Uint8Array): Uint8Array {
  if (b.length > 0 && b[b.length - 1] === 0) return b
  return concatBytes(b, new Uint8Array(1))
}

function u32be(v: number): Uint8Array {
  return new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff])
}

function checkBits(bits: number): void {
  // caller misuse, not untrusted input: a RangeError (see core/errors.ts)
  if (!Number.isSafeInteger(bits) || bits < 0 || bits > 0xffff * 8) {
    throw new RangeError(`kdf: bits must be an integer in 0..${0xffff * 8}, got ${bits}`)
  }
}

/** Truncates the concatenated blocks to `bits` (§11.4.10.2: leading bits masked). */
function truncate(blocks: Uint8Array[], bits: number): Uint8Array<ArrayBuffer> {
  const out = concatBytes(...blocks).slice(0, Math.ceil(bits / 8))
  if (bits % 8 !== 0) out[0] = out[0]! & ((1 << (bits % 8)) - 1)
  return out
}

/**
 * KDFa(hashAlg, key, label, contextU, contextV, bits), TPM 2.0 Part 1 §11.4.10.2.
 * An empty `key` is legal (the TPM uses it, e.g. for unsalted sessions).
 */
export async function kdfa(
  hash: HashAlg,
  key: Uint8Array,
  label: string | Uint8Array,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
  platform: Platform = defaultPlatform(),
): Promise<Uint8Array<ArrayBuffer>> {
  checkBits(bits)
  const fixed = concatBytes(labelBytes(label), contextU, contextV, u32be(bits))
  const n = Math.ceil(bits / 8 / DIGEST_BYTES[hash])
  const blocks: Uint8Array[] = []
  for (let i = 1; i <= n; i++) {
    blocks.push(await platform.crypto.hmac(hash, key, concatBytes(u32be(i), fixed)))
  }
  return truncate(blocks, bits)
}

/**
 * KDFe(hashAlg, Z, label, partyUInfo, partyVInfo, bits), TPM 2.0 Part 1 §11.4.10.3.
 * For ECC secret sharing Z is the x-coordinate of the ECDH point, PartyUInfo the x-coordinate of
 * the ephemeral key and PartyVInfo the x-coordinate of the static (EK) key.
 */
export async function kdfe(
  hash: HashAlg,
  z: Uint8Array,
  label: string | Uint8Array,
  partyU: Uint8Array,
  partyV: Uint8Array,
  bits: number,
  platform: Platform = defaultPlatform(),
): Promise<Uint8Array<ArrayBuffer>> {
  checkBits(bits)
  const fixed = concatBytes(z, labelBytes(label), partyU, partyV)
  const n = Math.ceil(bits / 8 / DIGEST_BYTES[hash])
  const blocks: Uint8Array[] = []
  for (let i = 1; i <= n; i++) {
    blocks.push(await platform.crypto.digest(hash, concatBytes(u32be(i), fixed)))
  }
  return truncate(blocks, bits)
}
