/**
 * Secret sharing with an asymmetric key (TPM 2.0 Part 1 §24.4 / Annexes B.10.3 and C.6.1): the
 * caller makes a `seed` that only the holder of the EK private key can recover, and `encSecret`,
 * the TPMU_ENCRYPTED_SECRET the TPM takes to recover it.
 *
 * - RSA (B.10.3): seed = random; encSecret = RSAES-OAEP(EK, seed, hash = nameAlg, MGF1(nameAlg),
 *   label = "IDENTITY\0").
 * - ECC (C.6.1, one-pass Diffie-Hellman): (d_e, Q_e) ephemeral on the EK's curve,
 *   Z = x(d_e * Q_EK), seed = KDFe(nameAlg, Z, label, Q_e.x, Q_EK.x, digestBits(nameAlg)),
 *   encSecret = TPMS_ECC_POINT(Q_e) = u16 len(x) || x || u16 len(y) || y.
 */
import type { EcPublicKey, RsaPublicKey } from '../crypto/provider.ts'
import { ByteWriter } from '../bytes/writer.ts'
import { CredentialError } from '../errors.ts'
import type { Platform } from '../platform.ts'
import type { CredentialEk } from './ek.ts'
import { DIGEST_BYTES, kdfe, labelBytes } from './kdf.ts'

export interface SharedSeed {
  readonly seed: Uint8Array
  /** TPMU_ENCRYPTED_SECRET contents (the TPM2B_ENCRYPTED_SECRET without its size) */
  readonly encSecret: Uint8Array
}

/**
 * Makes a seed for `ek` under `label` ("IDENTITY" for credentials). `seedBytes` applies to RSA
 * only and defaults to the nameAlg digest size, as the TCG reference implementation does
 * (CryptSecretEncrypt); the TPM rejects a seed longer than that digest (TPM_RC_VALUE).
 */
export async function makeSharedSeed(ek: CredentialEk, label: string, platform: Platform, seedBytes?: number): Promise<SharedSeed> {
  const key = ek.publicKey
  return key.kty === 'RSA' ? rsaSeed(ek, key, label, platform, seedBytes) : eccSeed(ek, key, label, platform)
}

async function rsaSeed(ek: CredentialEk, key: RsaPublicKey, label: string, platform: Platform, seedBytes?: number): Promise<SharedSeed> {
  const hLen = DIGEST_BYTES[ek.nameAlg]
  const size = seedBytes ?? hLen
  if (!Number.isSafeInteger(size) || size < 1 || size > hLen) {
    throw new RangeError(`makeSharedSeed: seedBytes must be 1..${hLen} for ${ek.nameAlg}, got ${seedBytes}`)
  }
  // RFC 8017 §7.1.1: OAEP carries at most k - 2*hLen - 2 bytes
  let n = key.n
  let i = 0
  while (i < n.length - 1 && n[i] === 0) i++
  n = n.subarray(i)
  const modulusBits = Math.max(0, n.length * 8 - Math.clz32(n[0] ?? 0) + 24)
  if (n.length - 2 * hLen - 2 < size) {
    throw new CredentialError(
      'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      `rsa ek modulus of ${modulusBits} bits is too small for oaep with ${ek.nameAlg.toLowerCase()} and a ${size}-byte seed`,
      { detail: { modulusBits, nameAlg: ek.nameAlg } },
    )
  }
  const seed = platform.crypto.randomBytes(size)
  let encSecret: Uint8Array
  try {
    encSecret = await platform.crypto.rsaOaepEncrypt(key, ek.nameAlg, labelBytes(label), seed)
  } catch (cause) {
    throw new CredentialError(
      'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      `rsa ek public key of ${modulusBits} bits was refused for oaep with ${ek.nameAlg.toLowerCase()}`,
      {
        cause,
        detail: { modulusBits, nameAlg: ek.nameAlg },
      },
    )
  }
  return { seed, encSecret }
}

async function eccSeed(ek: CredentialEk, key: EcPublicKey, label: string, platform: Platform): Promise<SharedSeed> {
  let shared: Awaited<ReturnType<Platform['crypto']['ecdhEphemeral']>>
  try {
    shared = await platform.crypto.ecdhEphemeral(key)
  } catch (cause) {
    // e.g. a point that is not on the curve (an invalid-curve attack); Web Crypto refuses to import it
    throw new CredentialError('ERR_CREDENTIAL_UNSUPPORTED_KEY', `ecc ek public key is not a valid ${key.crv} point`, {
      cause,
      detail: { curve: key.crv },
    })
  }
  const { ephemeral, z } = shared
  const seed = await kdfe(ek.nameAlg, z, label, ephemeral.x, ek.eccX ?? key.x, DIGEST_BYTES[ek.nameAlg] * 8, platform)
  const encSecret = new ByteWriter().sized(ephemeral.x).sized(ephemeral.y).finish()
  return { seed, encSecret }
}
