/**
 * TPM2_MakeCredential in software (TPM 2.0 Part 1 §24 "Credential Protection"; protocol §4.1,
 * §4.3): wraps `secret` so that only a TPM that holds the EK private key AND has an object named
 * `akName` loaded can recover it with TPM2_ActivateCredential.
 *
 *   seed, encSecret = secret sharing with the EK under "IDENTITY"         (secret-sharing.ts)
 *   symKey      = KDFa(nameAlg, seed, "STORAGE", akName, ∅, EK symmetric keyBits)     §24.4
 *   encIdentity = AES-CFB(symKey, IV = 0^16, TPM2B_DIGEST(secret))                        §24.4
 *   hmacKey     = KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, digestBits(nameAlg))          §24.5
 *   outerHMAC   = HMAC_nameAlg(hmacKey, encIdentity || akName)                           §24.5
 *   TPM2B_ID_OBJECT = u16 size || TPM2B(outerHMAC) || encIdentity
 *
 * Hash choice: the EK's nameAlg for everything, as the TPM does (it keys on the EK, the
 * `keyHandle` of ActivateCredential). go-tpm uses the AK name's algorithm instead; the two agree
 * when both are SHA-256. akName is hashed as opaque bytes, so its algorithm may differ from the
 * EK's; it must be one vouch knows so its length can be checked.
 */
import type { HashAlg } from '../crypto/provider.ts'
import { ByteWriter } from '../bytes/writer.ts'
import { CredentialError, Tpm2Error } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import type { CredentialEk } from './ek.ts'
import { DIGEST_BYTES, kdfa } from './kdf.ts'
import { makeSharedSeed } from './secret-sharing.ts'
import { concatBytes } from '../bytes/equal.ts'

/** TPM_ALG_ID of the name algorithms vouch accepts in an AK Name (Part 2 §6.3). */
const NAME_ALGS: Readonly<Record<number, HashAlg>> = { 0x0004: 'SHA-1', 0x000b: 'SHA-256', 0x000c: 'SHA-384', 0x000d: 'SHA-512' }

export interface MakeCredentialInput {
  /**
   * the EK: from a TPMT_PUBLIC via credentialEkOf (core/attestation/tpm.ts), or from a bare public
   * key / EK certificate via credentialEkFromPublicKey (TCG default template assumed)
   */
  readonly ekPublic: CredentialEk
  /** the AK's TPM2B_NAME contents: u16 nameAlg || H_nameAlg(TPMT_PUBLIC) */
  readonly akName: Uint8Array
  /** the challenge; 1..digestSize(EK nameAlg) bytes. 32 random bytes is the usual choice */
  readonly secret: Uint8Array
}

export interface MakeCredentialOptions {
  readonly platform?: Platform
  /**
   * RSA EKs only: the seed size. Default: the EK nameAlg digest size (32 for SHA-256), as the TCG
   * reference implementation does. go-tpm uses 16 (the AES block size); both activate.
   */
  readonly seedBytes?: number
}

export interface MadeCredential {
  /** TPM2B_ID_OBJECT including its u16 size (go-attestation wire format, tpm2-tools file) */
  readonly credentialBlob: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET including its u16 size */
  readonly encryptedSecret: Uint8Array
  /** TPM2B_ID_OBJECT contents without the size (SPIRE's `Credential` wire field) */
  readonly idObject: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET contents without the size (SPIRE's `Secret` wire field) */
  readonly encSecret: Uint8Array
}

/** Checks an AK Name: a supported nameAlg followed by exactly one digest of that algorithm. */
export function checkAkName(akName: Uint8Array): HashAlg {
  if (akName.length < 2) {
    throw new Tpm2Error('ERR_TPM2_MALFORMED', `ak name is ${akName.length} bytes, expected u16 nameAlg and a digest`)
  }
  const algId = (akName[0]! << 8) | akName[1]!
  const hash = NAME_ALGS[algId]
  if (hash === undefined) {
    throw new CredentialError(
      'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      `ak name algorithm 0x${algId.toString(16).padStart(4, '0')} is not supported; expected sha1, sha256, sha384 or sha512`,
      { detail: { akNameAlg: algId } },
    )
  }
  if (akName.length !== 2 + DIGEST_BYTES[hash]) {
    throw new Tpm2Error(
      'ERR_TPM2_MALFORMED',
      `ak name is ${akName.length} bytes, expected ${2 + DIGEST_BYTES[hash]} for ${hash.toLowerCase()}`,
    )
  }
  return hash
}

export async function makeCredential(input: MakeCredentialInput, options: MakeCredentialOptions = {}): Promise<MadeCredential> {
  const platform = options.platform ?? defaultPlatform()
  const { ekPublic: ek, akName, secret } = input
  checkEk(ek)
  checkAkName(akName)
  const digestBytes = DIGEST_BYTES[ek.nameAlg]
  if (secret.length < 1 || secret.length > digestBytes) {
    // caller misuse: the server picks the secret
    throw new RangeError(`makeCredential: secret must be 1..${digestBytes} bytes for ${ek.nameAlg}, got ${secret.length}`)
  }

  const { seed, encSecret } = await makeSharedSeed(ek, 'IDENTITY', platform, options.seedBytes)
  // independent derivations: run them concurrently (each is an awaited Web Crypto call)
  const [symKey, hmacKey] = await Promise.all([
    kdfa(ek.nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), ek.symmetricKeyBits, platform),
    kdfa(ek.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), digestBytes * 8, platform),
  ])
  const cv = new ByteWriter(2 + secret.length).sized(secret).finish()
  // IV: 16 zero bytes, always (go-tpm sizes it like the key, which breaks AES-256; protocol §4.1)
  const encIdentity = await platform.crypto.aesCfbEncrypt(symKey, new Uint8Array(16), cv)
  const outerHmac = await platform.crypto.hmac(ek.nameAlg, hmacKey, concatBytes(encIdentity, akName))

  const idObject = new ByteWriter(2 + outerHmac.length + encIdentity.length).sized(outerHmac).bytes(encIdentity).finish()
  return {
    credentialBlob: new ByteWriter(2 + idObject.length).sized(idObject).finish(),
    encryptedSecret: new ByteWriter(2 + encSecret.length).sized(encSecret).finish(),
    idObject,
    encSecret,
  }
}

function checkEk(ek: CredentialEk): void {
  if (!Object.hasOwn(DIGEST_BYTES, ek.nameAlg)) {
    throw new CredentialError('ERR_CREDENTIAL_UNSUPPORTED_KEY', `ek nameAlg ${String(ek.nameAlg)} is not supported`)
  }
  if (ek.symmetricKeyBits !== 128 && ek.symmetricKeyBits !== 192 && ek.symmetricKeyBits !== 256) {
    throw new CredentialError(
      'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      `ek symmetric key size ${String(ek.symmetricKeyBits)} is not supported; expected aes-128, aes-192 or aes-256`,
    )
  }
}
